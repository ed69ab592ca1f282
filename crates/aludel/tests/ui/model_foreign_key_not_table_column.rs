// A foreign key names its target as "table.column".
use aludel::Model;

#[derive(Model, Clone)]
struct Post {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(foreign_key = "users")]
    user_id: i64,
}

fn main() {}
