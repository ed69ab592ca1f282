// A referential action must be one SQL knows.
use aludel::Model;

#[derive(Model, Clone)]
struct Post {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(foreign_key = "users.id", on_delete = "delete")]
    user_id: i64,
}

fn main() {}
