// create policy table
//
// Revision ID: 3f1c9a2b7d40
// Revises: <base>
// Create Date: 2026-11-25 10:00:00.000000
//
// The prelude of aludel_migrate is in scope (Ops, Revision, Table, Column,
// SqlType, AlterColumn, params!, Connection, Result…).

pub const REVISION: Revision = Revision::new("3f1c9a2b7d40", &[], "create policy table")
    .created("2026-11-25 10:00:00.000000")
    .upgrade(upgrade)
    .downgrade(downgrade);

fn upgrade(op: &mut Ops) -> Result<()> {
    let policy = Table::builder("policy")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("holder", SqlType::string(100)).not_null())
        .column(Column::new("address", SqlType::string(200)).not_null())
        .build()?;
    op.create_table(&policy);
    op.bulk_insert(
        &policy,
        [
            params! { "id": 1, "holder": "Ada Lovelace", "address": "12 St James's Square" },
            params! { "id": 2, "holder": "Charles Babbage", "address": "1 Dorset Street" },
        ],
    );
    Ok(())
}

fn downgrade(op: &mut Ops) -> Result<()> {
    op.drop_table("policy");
    Ok(())
}
