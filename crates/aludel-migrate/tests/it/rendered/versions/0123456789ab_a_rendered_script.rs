// a rendered script
//
// Revision ID: 0123456789ab
// Revises: 1975ea83b712
// Create Date: 2024-05-04 10:00:00.000000
//
// The prelude of aludel_migrate is in scope (Ops, Revision, Table, Column,
// SqlType, AlterColumn, params!, Connection, Result…).

pub const REVISION: Revision = Revision::new("0123456789ab", &["1975ea83b712"], "a rendered script")
    .created("2024-05-04 10:00:00.000000")
    .upgrade(upgrade)
    .downgrade(downgrade);

fn upgrade(op: &mut Ops) -> Result<()> {
    let _ = op;
    Ok(())
}

fn downgrade(op: &mut Ops) -> Result<()> {
    let _ = op;
    Ok(())
}
