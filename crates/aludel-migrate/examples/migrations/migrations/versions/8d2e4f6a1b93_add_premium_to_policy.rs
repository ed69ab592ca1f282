// add premium to policy
//
// Revision ID: 8d2e4f6a1b93
// Revises: 3f1c9a2b7d40
// Create Date: 2026-11-25 11:00:00.000000
//
// The model change: a policy gets a yearly premium (in cents), indexed.

pub const REVISION: Revision =
    Revision::new("8d2e4f6a1b93", &["3f1c9a2b7d40"], "add premium to policy")
        .created("2026-11-25 11:00:00.000000")
        .upgrade(upgrade)
        .downgrade(downgrade);

fn upgrade(op: &mut Ops) -> Result<()> {
    op.add_column(
        "policy",
        Column::new("premium", SqlType::Integer)
            .not_null()
            .server_default(0),
    );
    op.create_index("ix_policy_premium", "policy", ["premium"], false);
    op.execute("UPDATE policy SET premium = 12000 WHERE premium = 0");
    Ok(())
}

fn downgrade(op: &mut Ops) -> Result<()> {
    op.drop_index("ix_policy_premium", "policy");
    op.drop_column("policy", "premium");
    Ok(())
}
