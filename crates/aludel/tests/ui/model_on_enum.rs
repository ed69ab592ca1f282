// An enum is not a table; derive(DbEnum) stores one in a column.
use aludel::Model;

#[derive(Model, Clone)]
enum Role {
    Admin,
    Member,
}

fn main() {}
