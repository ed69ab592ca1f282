// A relationship cannot share its name with a column field.
use aludel::Model;

#[derive(Model, Clone)]
#[aludel(belongs_to(owner: User))]
struct Post {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(foreign_key = "user.id")]
    owner: i64,
}

#[derive(Model, Clone)]
struct User {
    #[aludel(primary_key)]
    id: i64,
}

fn main() {}
