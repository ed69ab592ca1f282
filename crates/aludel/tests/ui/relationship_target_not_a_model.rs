// The related type must be a model.
use aludel::Model;

#[derive(Model, Clone)]
#[aludel(has_many(posts: String))]
struct User {
    #[aludel(primary_key)]
    id: i64,
}

fn main() {
    let _ = User::posts;
}
