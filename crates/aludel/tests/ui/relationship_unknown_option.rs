// An unknown relationship option is an error at the option, listing the valid ones.
use aludel::Model;

#[derive(Model, Clone)]
#[aludel(has_many(posts: Post, backref = "user"))]
struct User {
    #[aludel(primary_key)]
    id: i64,
}

#[derive(Model, Clone)]
struct Post {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(foreign_key = "user.id")]
    user_id: i64,
}

fn main() {}
