// A typed column compares only with values of its own Rust type.
use aludel::sql::Col;

fn main() {
    let age: Col<i32> = Col::new("users", "age");
    let _ = age.eq("thirty");
}
