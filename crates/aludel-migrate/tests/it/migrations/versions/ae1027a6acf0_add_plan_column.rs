// add plan column
//
// Revision ID: ae1027a6acf0
// Revises: 1975ea83b712
// Create Date: 2024-05-02 10:00:00.000000

pub const REVISION: Revision = Revision::new("ae1027a6acf0", &["1975ea83b712"], "add plan column")
    .created("2024-05-02 10:00:00.000000")
    .upgrade(upgrade)
    .downgrade(downgrade);

fn upgrade(op: &mut Ops) -> Result<()> {
    op.add_column(
        "account",
        Column::new("plan", SqlType::string(20)).server_default("free"),
    );
    Ok(())
}

fn downgrade(op: &mut Ops) -> Result<()> {
    op.drop_column("account", "plan");
    Ok(())
}
