//! Protect's models: what `db migrate` compares with the database and what
//! the handlers read and write. They register themselves
//! (`#[derive(Model)]`); nothing lists them.
//!
//! ```text
//! customers 1──* homes 1──1 policies *──* riders      (through policy_riders)
//!     1                          1
//!     └────────────*─────────────┘
//!                                1──* claims 1──* claim_status_changes
//! ```
//!
//! Every relationship kind the ORM has is used where it is natural:
//! one-to-many (a customer's homes and policies, a policy's claims, a
//! claim's history), many-to-one (their `belongs_to` mirrors), one-to-one
//! (a home is insured by at most one policy: `policies.home_id` is unique;
//! a renewal extends the policy's term) and many-to-many (a policy's
//! optional riders, through the `policy_riders` association model).

use aludel::types::chrono::{DateTime, NaiveDate, Utc};
use aludel::types::Decimal;
use aludel::{DbEnum, Model};
use serde::{Deserialize, Serialize, Serializer};

/// Where a policy is in its life.
#[derive(DbEnum, Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[aludel(name = "policy_status")]
pub enum PolicyStatus {
    /// Priced and offered, not yet in force.
    Quoted,
    /// In force.
    Active,
    /// Stopped for non-payment.
    Lapsed,
    /// Ended early at the customer's or the insurer's request.
    Cancelled,
    /// Its term ended without renewal.
    Expired,
}

impl PolicyStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [PolicyStatus; 5] = [
        PolicyStatus::Quoted,
        PolicyStatus::Active,
        PolicyStatus::Lapsed,
        PolicyStatus::Cancelled,
        PolicyStatus::Expired,
    ];

    /// The status as stored and as written in JSON (`"active"`).
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyStatus::Quoted => "quoted",
            PolicyStatus::Active => "active",
            PolicyStatus::Lapsed => "lapsed",
            PolicyStatus::Cancelled => "cancelled",
            PolicyStatus::Expired => "expired",
        }
    }
}

/// Where a claim is in its handling.
#[derive(DbEnum, Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[aludel(name = "claim_status")]
pub enum ClaimStatus {
    /// Received, not yet looked at.
    Filed,
    /// An adjuster is assessing it.
    UnderReview,
    /// Accepted, to be paid.
    Approved,
    /// Refused (final).
    Denied,
    /// Paid out (final).
    Paid,
    /// Taken back by the customer (final).
    Withdrawn,
}

impl ClaimStatus {
    /// Every status, in handling order.
    pub const ALL: [ClaimStatus; 6] = [
        ClaimStatus::Filed,
        ClaimStatus::UnderReview,
        ClaimStatus::Approved,
        ClaimStatus::Denied,
        ClaimStatus::Paid,
        ClaimStatus::Withdrawn,
    ];

    /// The status as stored and as written in JSON (`"under_review"`).
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::Filed => "filed",
            ClaimStatus::UnderReview => "under_review",
            ClaimStatus::Approved => "approved",
            ClaimStatus::Denied => "denied",
            ClaimStatus::Paid => "paid",
            ClaimStatus::Withdrawn => "withdrawn",
        }
    }

    /// The statuses a claim may move to from this one (the adjusters'
    /// workflow): filed → under review → approved → paid, with denial and
    /// withdrawal along the way; denied, paid and withdrawn are final.
    pub fn next(self) -> &'static [ClaimStatus] {
        use ClaimStatus::*;
        match self {
            Filed => &[UnderReview, Denied, Withdrawn],
            UnderReview => &[Approved, Denied, Withdrawn],
            Approved => &[Paid],
            Denied | Paid | Withdrawn => &[],
        }
    }
}

/// Money in JSON: a string with exactly two decimals (`"1234.50"`), the
/// same on every backend whatever scale the database hands back.
pub fn money<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&money_text(*d))
}

/// `d` rounded to cents, written with two decimals.
pub fn money_text(d: Decimal) -> String {
    let mut d = d.round_dp(2);
    d.rescale(2);
    d.to_string()
}

/// A policy holder.
#[derive(Model, Clone, Debug, Serialize)]
#[aludel(table = "customers")]
#[aludel(has_many(homes: Home, back_populates = "owner"))]
#[aludel(has_many(policies: Policy, back_populates = "customer"))]
pub struct Customer {
    /// The key.
    #[aludel(primary_key)]
    pub id: i64,
    /// Full name.
    #[aludel(length = 100)]
    pub name: String,
    /// Where to write; one customer per address.
    #[aludel(unique, length = 200)]
    pub email: String,
    /// A phone number, as the customer wrote it.
    #[aludel(length = 40)]
    pub phone: Option<String>,
    /// When the customer was registered.
    pub created_at: DateTime<Utc>,
}

/// An insured (or insurable) home.
#[derive(Model, Clone, Debug, Serialize)]
#[aludel(table = "homes")]
#[aludel(belongs_to(owner: Customer, back_populates = "homes"))]
#[aludel(has_one(policy: Policy, back_populates = "home"))]
pub struct Home {
    /// The key.
    #[aludel(primary_key)]
    pub id: i64,
    /// The owner.
    #[aludel(foreign_key = "customers.id", index)]
    pub customer_id: i64,
    /// Street address.
    #[aludel(length = 200)]
    pub address: String,
    /// City.
    #[aludel(length = 100)]
    pub city: String,
    /// Country.
    #[aludel(length = 60)]
    pub country: String,
    /// The year it was built.
    pub year_built: i32,
    /// Its estimated value.
    #[aludel(precision = 12, scale = 2)]
    #[serde(serialize_with = "money")]
    pub value: Decimal,
}

/// A home-insurance policy: one home, one customer, a term and a price.
#[derive(Model, Clone, Debug, Serialize)]
#[aludel(table = "policies")]
#[aludel(belongs_to(customer: Customer, back_populates = "policies"))]
#[aludel(belongs_to(home: Home, back_populates = "policy"))]
#[aludel(has_many(claims: Claim, back_populates = "policy"))]
#[aludel(many_to_many(riders: Rider, through = PolicyRider, back_populates = "policies"))]
pub struct Policy {
    /// The key.
    #[aludel(primary_key)]
    pub id: i64,
    /// The policy number printed on documents (`PRT-0000042`).
    #[aludel(unique, length = 20)]
    pub number: String,
    /// The policy holder.
    #[aludel(foreign_key = "customers.id", index)]
    pub customer_id: i64,
    /// The insured home (at most one policy per home).
    #[aludel(foreign_key = "homes.id", unique)]
    pub home_id: i64,
    /// The most the policy pays for one loss.
    #[aludel(precision = 12, scale = 2)]
    #[serde(serialize_with = "money")]
    pub coverage: Decimal,
    /// The yearly premium.
    #[aludel(precision = 10, scale = 2)]
    #[serde(serialize_with = "money")]
    pub premium: Decimal,
    /// What the customer bears of each loss before the policy pays (the
    /// second revision added it; existing policies got 0).
    #[aludel(precision = 10, scale = 2, server_default = 0)]
    #[serde(serialize_with = "money")]
    pub deductible: Decimal,
    /// The first day of cover.
    pub start_date: NaiveDate,
    /// The last day of cover.
    pub end_date: NaiveDate,
    /// Where the policy is in its life.
    #[aludel(index)]
    pub status: PolicyStatus,
    /// Optimistic locking: two concurrent edits cannot both win.
    #[aludel(version)]
    pub version: i64,
}

/// An optional extension of cover (flood, valuables, …) sold with policies.
#[derive(Model, Clone, Debug, Serialize)]
#[aludel(table = "riders")]
#[aludel(many_to_many(policies: Policy, through = PolicyRider, back_populates = "riders"))]
pub struct Rider {
    /// The key.
    #[aludel(primary_key)]
    pub id: i64,
    /// A short stable code (`flood`), used in the API.
    #[aludel(unique, length = 40)]
    pub code: String,
    /// The name shown to customers.
    #[aludel(length = 100)]
    pub name: String,
    /// What it adds to the yearly premium.
    #[aludel(precision = 10, scale = 2)]
    #[serde(serialize_with = "money")]
    pub annual_price: Decimal,
}

/// The association between policies and riders.
#[derive(Model, Clone, Debug)]
#[aludel(table = "policy_riders")]
pub struct PolicyRider {
    /// The policy.
    #[aludel(
        primary_key,
        autoincrement = false,
        foreign_key = "policies.id",
        on_delete = "cascade"
    )]
    pub policy_id: i64,
    /// The rider.
    #[aludel(
        primary_key,
        autoincrement = false,
        foreign_key = "riders.id",
        on_delete = "cascade"
    )]
    pub rider_id: i64,
}

/// A claim against a policy.
#[derive(Model, Clone, Debug, Serialize)]
#[aludel(table = "claims")]
#[aludel(belongs_to(policy: Policy, back_populates = "claims"))]
#[aludel(has_many(history: ClaimStatusChange, back_populates = "claim", cascade = "all, delete-orphan", passive_deletes))]
pub struct Claim {
    /// The key.
    #[aludel(primary_key)]
    pub id: i64,
    /// The policy claimed against.
    #[aludel(foreign_key = "policies.id", index)]
    pub policy_id: i64,
    /// The amount claimed.
    #[aludel(precision = 12, scale = 2)]
    #[serde(serialize_with = "money")]
    pub amount: Decimal,
    /// What happened.
    #[aludel(length = 500)]
    pub description: String,
    /// Where the claim is in its handling.
    #[aludel(index)]
    pub status: ClaimStatus,
    /// When the claim was filed (UTC, whole seconds).
    #[aludel(index)]
    pub filed_at: DateTime<Utc>,
    /// Optimistic locking: two adjusters cannot both move the claim.
    #[aludel(version)]
    pub version: i64,
}

/// One change of a claim's status: the audit trail, appended in the same
/// transaction as the change.
#[derive(Model, Clone, Debug, Serialize)]
#[aludel(table = "claim_status_changes")]
#[aludel(belongs_to(claim: Claim, back_populates = "history"))]
pub struct ClaimStatusChange {
    /// The key.
    #[aludel(primary_key)]
    pub id: i64,
    /// The claim.
    #[aludel(foreign_key = "claims.id", index, on_delete = "cascade")]
    pub claim_id: i64,
    /// The status before (`None` when the claim was filed).
    pub from_status: Option<ClaimStatus>,
    /// The status after.
    pub to_status: ClaimStatus,
    /// When it changed (UTC, whole seconds).
    pub changed_at: DateTime<Utc>,
    /// Why, when someone said.
    #[aludel(length = 500)]
    pub note: Option<String>,
}

/// The current time in UTC, to the second: every backend stores it the
/// same (MySQL's `DATETIME` keeps no fraction by default).
pub fn now() -> DateTime<Utc> {
    let t = Utc::now();
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

/// Check every model's relationships (their foreign keys exist and are
/// unambiguous): called at startup so a mistake fails there, not in a
/// request.
///
/// # Errors
/// The first relationship whose foreign key cannot be found, naming both
/// models.
pub fn check_relationships() -> aludel::Result<()> {
    use aludel::orm::Model as _;
    Customer::check_relationships()?;
    Home::check_relationships()?;
    Policy::check_relationships()?;
    Rider::check_relationships()?;
    Claim::check_relationships()?;
    ClaimStatusChange::check_relationships()
}
