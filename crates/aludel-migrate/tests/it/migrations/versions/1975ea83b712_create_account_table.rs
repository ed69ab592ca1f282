// create account table
//
// Revision ID: 1975ea83b712
// Revises: <base>
// Create Date: 2024-05-01 10:00:00.000000
//
// The Alembic interop test (tests/it/alembic.rs) runs Alembic scripts with
// these same ids; keep the two in step.

pub const REVISION: Revision = Revision::new("1975ea83b712", &[], "create account table")
    .created("2024-05-01 10:00:00.000000")
    .upgrade(upgrade)
    .downgrade(downgrade);

fn upgrade(op: &mut Ops) -> Result<()> {
    op.create_table(
        &Table::builder("account")
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(Column::new("name", SqlType::string(50)).not_null())
            .build()?,
    );
    Ok(())
}

fn downgrade(op: &mut Ops) -> Result<()> {
    op.drop_table("account");
    Ok(())
}
