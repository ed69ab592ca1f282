// create invoice table
//
// Revision ID: 27c6a30d7c24
// Revises: ae1027a6acf0
// Create Date: 2024-05-03 10:00:00.000000

pub const REVISION: Revision =
    Revision::new("27c6a30d7c24", &["ae1027a6acf0"], "create invoice table")
        .created("2024-05-03 10:00:00.000000")
        .upgrade(upgrade)
        .downgrade(downgrade);

fn upgrade(op: &mut Ops) -> Result<()> {
    let invoice = Table::builder("invoice")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(
            Column::new("account_id", SqlType::Integer)
                .not_null()
                .references("account.id"),
        )
        .column(Column::new("total", SqlType::Integer).not_null())
        .build()?;
    op.create_table(&invoice);
    op.bulk_insert(&account(), [params! { "id": 1, "name": "Ada" }]);
    op.bulk_insert(&invoice, [params! { "id": 1, "account_id": 1, "total": 42 }]);
    Ok(())
}

fn account() -> Table {
    Table::builder("account")
        .column(Column::new("id", SqlType::Integer))
        .column(Column::new("name", SqlType::string(50)))
        .build()
        .expect("a table of two columns builds")
}

fn downgrade(op: &mut Ops) -> Result<()> {
    op.drop_table("invoice");
    op.execute("DELETE FROM account WHERE id = 1");
    Ok(())
}
