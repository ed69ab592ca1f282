// An unknown field attribute is an error at the attribute, listing the valid ones.
use aludel::Model;

#[derive(Model, Clone)]
struct User {
    #[aludel(primary_key, uniq)]
    id: i64,
}

fn main() {}
