//! Rows, their columns, and decoding rows into Rust types.

use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};
use crate::value::{FromValue, Value};

/// A result column: its name and the SQL type the server reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultColumn {
    name: String,
    type_name: String,
}

impl ResultColumn {
    pub(crate) fn new(name: impl Into<String>, type_name: impl Into<String>) -> Self {
        ResultColumn {
            name: name.into(),
            type_name: type_name.into(),
        }
    }

    /// The column's name (or label) in the result.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The SQL type the server reported, e.g. `INT4`, `VARCHAR`, `INTEGER`.
    /// Empty where the backend gives none (an SQLite expression).
    pub fn type_name(&self) -> &str {
        &self.type_name
    }
}

/// The columns of a result, shared by all of its rows.
pub(crate) type Columns = Arc<[ResultColumn]>;

/// Columns for `sql` from a per-connection cache, rebuilt only when the
/// statement's columns changed (a schema change under a cached statement).
/// `names` lists the statement's current column names; `build` makes the
/// full list.
#[cfg(any(feature = "sqlite", feature = "mysql"))]
pub(crate) fn cached_columns<'n>(
    cache: &mut std::collections::HashMap<String, Columns>,
    sql: &str,
    names: impl ExactSizeIterator<Item = &'n str>,
    build: impl FnOnce() -> Columns,
) -> Columns {
    if let Some(cols) = cache.get(sql) {
        let mut names = names;
        if cols.len() == names.len() && cols.iter().all(|c| names.next() == Some(c.name())) {
            return cols.clone();
        }
    }
    if cache.len() >= 512 {
        cache.clear();
    }
    let cols = build();
    cache.insert(sql.to_string(), cols.clone());
    cols
}

/// One row of a result: values by position and by column name.
///
/// ```
/// # aludel_core::doctest::run(|mut conn| async move {
/// use aludel_core::text;
/// let row = conn.execute(text("SELECT 1 AS id, 'Ada' AS name"), ()).await?.one()?;
/// assert_eq!(row.get::<i64, _>(0)?, 1);
/// assert_eq!(row.get::<String, _>("name")?, "Ada");
/// assert_eq!(row.keys().collect::<Vec<_>>(), ["id", "name"]);
/// # Ok(()) });
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    columns: Columns,
    values: Vec<Value>,
}

impl Row {
    pub(crate) fn new(columns: Columns, values: Vec<Value>) -> Self {
        Row { columns, values }
    }

    pub(crate) fn values_mut(&mut self) -> &mut Vec<Value> {
        &mut self.values
    }

    /// The columns and the values, to refill both.
    pub(crate) fn parts_mut(&mut self) -> (&mut Columns, &mut Vec<Value>) {
        (&mut self.columns, &mut self.values)
    }

    /// Move the values out into a new row, leaving this one empty (used to
    /// hand out rows from a reused buffer).
    pub(crate) fn detach(&mut self) -> Row {
        let values = std::mem::replace(&mut self.values, Vec::with_capacity(self.columns.len()));
        Row::new(self.columns.clone(), values)
    }

    /// The columns of this row.
    pub fn columns(&self) -> &[ResultColumn] {
        &self.columns
    }

    /// The column names, in order (SQLAlchemy's `row._fields`).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(ResultColumn::name)
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The raw values, in column order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The values, consuming the row.
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }

    /// The raw value at `index` (a position or a column name).
    ///
    /// # Errors
    /// [`ErrorKind::Decode`] naming the column when there is no such column.
    pub fn value<I: RowIndex>(&self, index: I) -> Result<&Value> {
        let i = index.position(self)?;
        Ok(&self.values[i])
    }

    /// Decode the value at `index` (a position or a column name) into `T`.
    ///
    /// # Errors
    /// [`ErrorKind::Decode`] naming the column, its SQL type and `T` when the
    /// value does not convert, or when there is no such column.
    pub fn get<T: FromValue, I: RowIndex>(&self, index: I) -> Result<T> {
        let i = index.position(self)?;
        T::from_value(self.values[i].clone()).map_err(|e| self.decode_error::<T>(i, e.0))
    }

    /// Like [`get`](Row::get), but moves the value out of the row, leaving NULL
    /// behind; used by [`FromRow`] implementations to avoid a copy.
    pub fn take<T: FromValue, I: RowIndex>(&mut self, index: I) -> Result<T> {
        let i = index.position(self)?;
        let v = std::mem::replace(&mut self.values[i], Value::Null);
        T::from_value(v).map_err(|e| self.decode_error::<T>(i, e.0))
    }

    /// Decode the whole row into `T` (a [`FromRow`] struct or a tuple).
    pub fn decode<T: FromRow>(self) -> Result<T> {
        T::from_row(self)
    }

    fn decode_error<T: FromValue>(&self, i: usize, detail: String) -> Error {
        decode_error::<T>(&self.columns[i], detail)
    }
}

/// The error for a value of `col` that did not convert into `T`.
pub(crate) fn decode_error<T: FromValue>(col: &ResultColumn, detail: String) -> Error {
    let sql_type = if col.type_name.is_empty() {
        "unknown"
    } else {
        &col.type_name
    };
    Error::new(
        ErrorKind::Decode,
        format!(
            "cannot decode column \"{}\" (SQL type {}) into {}: {}",
            col.name,
            sql_type,
            T::type_name(),
            detail
        ),
    )
    .with_column(Some(col.name.clone()))
}

/// The error for a position beyond a row of `len` columns.
pub(crate) fn index_error(i: usize, len: usize) -> Error {
    Error::new(
        ErrorKind::Decode,
        format!("no column at index {i} in a row of {len} columns"),
    )
}

/// The position of the column called `name`, or an error listing the columns.
pub(crate) fn position_of(columns: &[ResultColumn], name: &str) -> Result<usize> {
    columns.iter().position(|c| c.name == name).ok_or_else(|| {
        let names: Vec<String> = columns.iter().map(|c| format!("\"{}\"", c.name)).collect();
        Error::new(
            ErrorKind::Decode,
            format!(
                "no column named \"{}\" in the row; columns are {}",
                name,
                names.join(", ")
            ),
        )
        .with_column(Some(name.to_string()))
    })
}

/// Something that picks a column of a [`Row`]: a position (`usize`) or a name (`&str`).
pub trait RowIndex {
    /// The position of the column in `row`.
    ///
    /// # Errors
    /// [`ErrorKind::Decode`] when the row has no such column.
    fn position(&self, row: &Row) -> Result<usize>;
}

impl RowIndex for usize {
    fn position(&self, row: &Row) -> Result<usize> {
        if *self < row.values.len() {
            Ok(*self)
        } else {
            Err(index_error(*self, row.values.len()))
        }
    }
}

impl RowIndex for &str {
    fn position(&self, row: &Row) -> Result<usize> {
        position_of(&row.columns, self)
    }
}

impl RowIndex for &String {
    fn position(&self, row: &Row) -> Result<usize> {
        self.as_str().position(row)
    }
}

/// A Rust type built from a whole [`Row`]: structs with `#[derive(FromRow)]`,
/// tuples, and any single [`FromValue`] type wrapped in a 1-tuple.
///
/// ```
/// # aludel_core::doctest::run(|mut conn| async move {
/// use aludel_core::text;
/// let (id, name): (i64, String) = conn
///     .execute(text("SELECT 7, 'Grace'"), ())
///     .await?
///     .one_as()?;
/// assert_eq!((id, name.as_str()), (7, "Grace"));
/// # Ok(()) });
/// ```
pub trait FromRow: Sized {
    /// Build `Self` from `row`.
    ///
    /// # Errors
    /// [`ErrorKind::Decode`] naming the column that did not convert.
    fn from_row(row: Row) -> Result<Self>;

    /// Work out once per result where each field's column is, so decoding
    /// many rows does not look columns up by name again for every row.
    /// The default plans nothing.
    fn plan(columns: &[ResultColumn]) -> RowPlan {
        let _ = columns;
        RowPlan::default()
    }

    /// Build `Self` from `row` using a [`plan`](FromRow::plan) made for the
    /// row's columns, taking the values it needs (the row may be a buffer
    /// reused for the next row). The default ignores the plan.
    ///
    /// # Errors
    /// As [`from_row`](FromRow::from_row).
    fn from_row_planned(row: &mut Row, plan: &RowPlan) -> Result<Self> {
        let _ = plan;
        Self::from_row(row.detach())
    }

    /// Build `Self` straight from a driver's cells, with a
    /// [`plan`](FromRow::plan) made for their columns: the derives decode
    /// each field from its cell without an intermediate [`Value`] where
    /// the driver allows it (PostgreSQL). The default makes a [`Row`] and
    /// calls [`from_row_planned`](FromRow::from_row_planned).
    ///
    /// # Errors
    /// As [`from_row`](FromRow::from_row).
    #[doc(hidden)]
    fn from_cells<C: Cells>(cells: &mut C, plan: &RowPlan) -> Result<Self> {
        Self::from_row_planned(&mut cells.to_row()?, plan)
    }
}

/// The cells of one result row as a driver holds them, read one field at a
/// time by [`FromRow::from_cells`]: a [`Row`] of [`Value`]s, or a driver's
/// own row decoded cell by cell.
#[doc(hidden)]
pub trait Cells {
    /// How many columns the row has.
    fn width(&self) -> usize;

    /// Decode the cell at position `i` into `T` (a cell is read once).
    ///
    /// # Errors
    /// [`ErrorKind::Decode`] naming the column, its SQL type and `T`.
    fn take_at<T: FromValue>(&mut self, i: usize) -> Result<T>;

    /// Decode the cell of the column called `name` into `T`.
    ///
    /// # Errors
    /// As [`take_at`](Cells::take_at), or when there is no such column.
    fn take_named<T: FromValue>(&mut self, name: &str) -> Result<T>;

    /// The cells not yet taken, as a [`Row`].
    ///
    /// # Errors
    /// [`ErrorKind::Decode`] when a cell cannot be read as a [`Value`].
    fn to_row(&mut self) -> Result<Row>;
}

impl Cells for Row {
    fn width(&self) -> usize {
        self.values.len()
    }

    fn take_at<T: FromValue>(&mut self, i: usize) -> Result<T> {
        self.take::<T, usize>(i)
    }

    fn take_named<T: FromValue>(&mut self, name: &str) -> Result<T> {
        self.take::<T, &str>(name)
    }

    fn to_row(&mut self) -> Result<Row> {
        Ok(self.detach())
    }
}

/// ResultColumn positions resolved once per result for a [`FromRow`] type: one
/// entry per field, `None` where the result has no such column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowPlan(Vec<Option<usize>>);

impl RowPlan {
    /// A plan giving the position of each of `names` among `columns`.
    pub fn for_names(columns: &[ResultColumn], names: &[&str]) -> Self {
        RowPlan(
            names
                .iter()
                .map(|n| columns.iter().position(|c| c.name == *n))
                .collect(),
        )
    }

    /// A plan from explicit positions, one per field (`None`: the result
    /// has no such column). Lets a row holding several models' columns (a
    /// JOIN) be decoded one model at a time.
    pub fn from_positions(positions: Vec<Option<usize>>) -> Self {
        RowPlan(positions)
    }

    /// The column position of field `i`, if the result has it.
    pub fn get(&self, i: usize) -> Option<usize> {
        self.0.get(i).copied().flatten()
    }
}

impl FromRow for Row {
    fn from_row(row: Row) -> Result<Self> {
        Ok(row)
    }
}

macro_rules! tuple_from_row {
    ($len:expr; $($t:ident $i:tt),+) => {
        impl<$($t: FromValue),+> FromRow for ($($t,)+) {
            fn from_row(mut row: Row) -> Result<Self> {
                Self::from_cells(&mut row, &RowPlan::default())
            }

            fn from_row_planned(row: &mut Row, plan: &RowPlan) -> Result<Self> {
                Self::from_cells(row, plan)
            }

            fn from_cells<Src: Cells>(cells: &mut Src, _plan: &RowPlan) -> Result<Self> {
                if cells.width() != $len {
                    return Err(Error::new(
                        ErrorKind::Decode,
                        format!("cannot decode a row of {} columns into a tuple of {}", cells.width(), $len),
                    ));
                }
                Ok(($(cells.take_at::<$t>($i)?,)+))
            }
        }
    };
}
tuple_from_row!(1; A 0);
tuple_from_row!(2; A 0, B 1);
tuple_from_row!(3; A 0, B 1, C 2);
tuple_from_row!(4; A 0, B 1, C 2, D 3);
tuple_from_row!(5; A 0, B 1, C 2, D 3, E 4);
tuple_from_row!(6; A 0, B 1, C 2, D 3, E 4, F 5);
tuple_from_row!(7; A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_from_row!(8; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_from_row!(9; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_from_row!(10; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_from_row!(11; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple_from_row!(12; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);

/// A row as an ordered map from column name to value (SQLAlchemy's `RowMapping`).
#[derive(Debug, Clone, PartialEq)]
pub struct RowMapping(Row);

impl RowMapping {
    pub(crate) fn new(row: Row) -> Self {
        RowMapping(row)
    }

    /// The value of column `name`, if there is one.
    pub fn get(&self, name: &str) -> Option<&Value> {
        name.position(&self.0).ok().map(|i| &self.0.values[i])
    }

    /// `(name, value)` pairs in column order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.keys().zip(self.0.values.iter())
    }

    /// The column names.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys()
    }

    /// The underlying row.
    pub fn into_row(self) -> Row {
        self.0
    }
}

impl std::ops::Index<&str> for RowMapping {
    type Output = Value;
    fn index(&self, name: &str) -> &Value {
        self.get(name)
            .unwrap_or_else(|| panic!("no column named {name:?} in the row"))
    }
}
