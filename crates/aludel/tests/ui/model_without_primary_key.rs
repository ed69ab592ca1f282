// A model needs a primary key: the error is on the struct's name.
use aludel::Model;

#[derive(Model, Clone)]
struct User {
    id: i64,
    name: String,
}

fn main() {}
