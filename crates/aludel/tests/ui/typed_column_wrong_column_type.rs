// Two typed columns compare only when their Rust types agree.
use aludel::sql::Col;

fn main() {
    let age: Col<i32> = Col::new("users", "age");
    let name: Col<String> = Col::new("users", "name");
    let _ = age.eq(name);
}
