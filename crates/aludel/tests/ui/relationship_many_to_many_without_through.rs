// A many-to-many relationship needs its association model.
use aludel::Model;

#[derive(Model, Clone)]
#[aludel(many_to_many(tags: Tag))]
struct Post {
    #[aludel(primary_key)]
    id: i64,
}

#[derive(Model, Clone)]
struct Tag {
    #[aludel(primary_key)]
    id: i64,
}

fn main() {}
