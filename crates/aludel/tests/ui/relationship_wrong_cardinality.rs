// Appending to a many-to-one relationship (not a collection) does not compile.
use aludel::orm::Session;
use aludel::Model;

#[derive(Model, Clone)]
#[aludel(has_many(posts: Post))]
struct User {
    #[aludel(primary_key)]
    id: i64,
}

#[derive(Model, Clone)]
#[aludel(belongs_to(author: User))]
struct Post {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(foreign_key = "user.id")]
    user_id: i64,
}

fn link(s: &mut Session, u: aludel::orm::Key<User>, p: aludel::orm::Key<Post>) {
    let _ = s.append(p, Post::author, u);
}

fn main() {}
