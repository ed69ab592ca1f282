//! The app's models: what `db migrate` compares with the database. They
//! register themselves (`#[derive(Model)]`); nothing lists them.

use aludel::Model;

/// A policy holder.
#[derive(Model, Clone, Debug)]
#[aludel(table = "holder")]
pub struct Holder {
    /// The key.
    #[aludel(primary_key)]
    pub id: i64,
    /// The holder's name.
    #[aludel(length = 100)]
    pub name: String,
    /// Where to write; one holder per address.
    #[aludel(unique, length = 200)]
    pub email: String,
}

/// A home-insurance policy.
#[derive(Model, Clone, Debug)]
#[aludel(table = "policy")]
pub struct Policy {
    /// The key.
    #[aludel(primary_key)]
    pub id: i64,
    /// Who holds it.
    #[aludel(foreign_key = "holder.id", index)]
    pub holder_id: i64,
    /// The insured address.
    #[aludel(length = 200)]
    pub address: String,
    /// The model change (feature `premium`): the yearly premium in cents,
    /// indexed for the renewal report.
    #[cfg(feature = "premium")]
    #[aludel(index, server_default = 0)]
    pub premium: i64,
}
