// A model's fields name its columns, so a tuple struct cannot be one.
use aludel::Model;

#[derive(Model, Clone)]
struct User(i64, String);

fn main() {}
