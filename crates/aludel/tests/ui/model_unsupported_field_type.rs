// A field type without an SQL type is an error at the field's type.
use aludel::Model;

#[derive(Clone)]
struct Money(i64);

#[derive(Model, Clone)]
struct Account {
    #[aludel(primary_key)]
    id: i64,
    balance: Money,
}

fn main() {}
