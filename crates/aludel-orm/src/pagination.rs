//! Pagination of model queries: Flask-SQLAlchemy's page numbers
//! ([`ModelQuery::paginate`], [`Page`], [`Page::iter_pages`]) with
//! `max_per_page` clamping on by default and a `has_next` that needs no
//! COUNT, and keyset (cursor) pagination ([`ModelQuery::keyset`]) for large
//! tables where OFFSET degrades.

use std::marker::PhantomData;

use aludel_core::sql::{and, or, Col, Expr, OrderBy};
use aludel_core::types::serde_json::{self, json, Value as Json};
use aludel_core::{Error, ErrorKind, Result, Value};

use crate::session::{Key, ModelQuery};
use crate::Model;

/// The page size used when `per_page` is 0 and `error_out` is off
/// (Flask-SQLAlchemy's default of 20).
pub const DEFAULT_PER_PAGE: u64 = 20;

/// The default `max_per_page`: unlike Flask-SQLAlchemy (whose effective
/// default is no limit), Aludel clamps page sizes to 100 unless told otherwise.
pub const DEFAULT_MAX_PER_PAGE: u64 = 100;

/// Options of [`ModelQuery::paginate_with`], Flask-SQLAlchemy's
/// `paginate(page=, per_page=, max_per_page=, error_out=, count=)`.
///
/// ```
/// use aludel_orm::PaginateOptions;
/// let o = PaginateOptions::new(3, 50).max_per_page(None).count(false);
/// assert_eq!((o.page, o.per_page, o.max_per_page, o.error_out, o.count), (3, 50, None, true, false));
/// assert_eq!(PaginateOptions::default().max_per_page, Some(100));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaginateOptions {
    /// The 1-based page number (default 1).
    pub page: u64,
    /// Items per page (default 20).
    pub per_page: u64,
    /// The largest `per_page` allowed; a larger one is lowered to it
    /// (default `Some(100)`; `None` allows any size).
    pub max_per_page: Option<u64>,
    /// Fail with [`ErrorKind::NoRow`] for page 0, a `per_page` of 0, or a
    /// page past the last one (page 1 of an empty result is fine) — what
    /// Flask-SQLAlchemy answers with 404. When off, page 0 becomes 1, a
    /// `per_page` of 0 becomes 20 and a page past the end is empty.
    /// Default on.
    pub error_out: bool,
    /// Run a COUNT for [`Page::total`] (default on). Off, `total` is `None`,
    /// [`Page::pages`] is 0, and [`Page::has_next`] is still right.
    pub count: bool,
}

impl Default for PaginateOptions {
    fn default() -> Self {
        PaginateOptions {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
            max_per_page: Some(DEFAULT_MAX_PER_PAGE),
            error_out: true,
            count: true,
        }
    }
}

impl PaginateOptions {
    /// Page `page` of `per_page` items, with the other options at their defaults.
    pub fn new(page: u64, per_page: u64) -> Self {
        PaginateOptions {
            page,
            per_page,
            ..PaginateOptions::default()
        }
    }

    /// Set [`max_per_page`](PaginateOptions::max_per_page).
    pub fn max_per_page(mut self, max: Option<u64>) -> Self {
        self.max_per_page = max;
        self
    }

    /// Set [`error_out`](PaginateOptions::error_out).
    pub fn error_out(mut self, on: bool) -> Self {
        self.error_out = on;
        self
    }

    /// Set [`count`](PaginateOptions::count).
    pub fn count(mut self, on: bool) -> Self {
        self.count = on;
        self
    }

    /// The page and page size after Flask-SQLAlchemy's rules (clamp to
    /// `max_per_page`; page 0 → 1 and `per_page` 0 → 20 unless `error_out`).
    /// The fallback page size is clamped too, so `max_per_page` always holds.
    fn resolve(&self) -> Result<(u64, u64)> {
        let clamp = |n: u64| match self.max_per_page {
            Some(max) => n.min(max),
            None => n,
        };
        if self.max_per_page == Some(0) {
            return Err(Error::new(
                ErrorKind::Config,
                "max_per_page must be at least 1",
            ));
        }
        let mut page = self.page;
        let mut per_page = clamp(self.per_page);
        if page < 1 {
            if self.error_out {
                return Err(not_found(
                    "page 0 does not exist: pages are numbered from 1",
                ));
            }
            page = 1;
        }
        if per_page < 1 {
            if self.error_out {
                return Err(not_found("per_page must be at least 1"));
            }
            per_page = clamp(DEFAULT_PER_PAGE);
        }
        Ok((page, per_page))
    }
}

fn not_found(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::NoRow, message)
}

/// One page of a query's objects (Flask-SQLAlchemy's `Pagination`), from
/// [`ModelQuery::paginate`].
///
/// ```
/// use aludel_orm::Page;
/// // Flask-SQLAlchemy's example: 45 rows, 20 per page, page 3 holds 5.
/// let p = Page::<()>::new(Vec::new(), 3, 20, Some(45), false);
/// assert_eq!((p.pages(), p.has_prev(), p.prev_num(), p.has_next(), p.next_num()), (3, true, Some(2), false, None));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The page's objects.
    pub items: Vec<Key<T>>,
    /// The 1-based page number (after page 0 became 1 without `error_out`).
    pub page: u64,
    /// Items per page (after clamping to `max_per_page`).
    pub per_page: u64,
    /// The number of rows the query matches, or `None` when counting was off.
    pub total: Option<u64>,
    /// Whether a row follows this page (fetched as row `per_page + 1`).
    more: bool,
}

impl<T> Page<T> {
    /// A page from its parts; `more` says whether a row follows the page
    /// (used by [`has_next`](Page::has_next) when `total` is `None`).
    pub fn new(
        items: Vec<Key<T>>,
        page: u64,
        per_page: u64,
        total: Option<u64>,
        more: bool,
    ) -> Self {
        Page {
            items,
            page,
            per_page,
            total,
            more,
        }
    }

    /// The number of pages: `ceil(total / per_page)`, 0 when there are no
    /// rows or the total was not counted.
    pub fn pages(&self) -> u64 {
        match self.total {
            Some(total) if total > 0 && self.per_page > 0 => total.div_ceil(self.per_page),
            _ => 0,
        }
    }

    /// Whether there is a page before this one.
    pub fn has_prev(&self) -> bool {
        self.page > 1
    }

    /// Whether there is a page after this one: from the total when counted,
    /// else from the extra row fetched past the page (Flask-SQLAlchemy says
    /// `false` whenever `count` is off; Aludel knows).
    pub fn has_next(&self) -> bool {
        match self.total {
            Some(_) => self.page < self.pages(),
            None => self.more,
        }
    }

    /// The previous page's number, if there is one.
    pub fn prev_num(&self) -> Option<u64> {
        self.has_prev().then(|| self.page - 1)
    }

    /// The next page's number, if there is one.
    pub fn next_num(&self) -> Option<u64> {
        self.has_next().then(|| self.page + 1)
    }

    /// The 1-based number of the page's first item among all rows; 0 when
    /// the page is empty (Flask-SQLAlchemy 3.1's `first`).
    pub fn first(&self) -> u64 {
        if self.items.is_empty() {
            0
        } else {
            (self.page - 1) * self.per_page + 1
        }
    }

    /// The 1-based number of the page's last item; 0 when the page is empty
    /// (Flask-SQLAlchemy 3.1's `last`).
    pub fn last(&self) -> u64 {
        let first = self.first();
        (first + self.items.len() as u64)
            .saturating_sub(1)
            .max(first)
    }

    /// Page numbers for a pagination widget with `None` for each gap,
    /// exactly as Flask-SQLAlchemy 3.1's `iter_pages`: `left_edge` pages at
    /// the start, `left_current` before the current page, `right_current`
    /// after it, `right_edge` at the end. Empty when [`pages`](Page::pages)
    /// is 0 (including when the total was not counted).
    ///
    /// ```
    /// use aludel_orm::Page;
    /// let page = |n| Page::<()>::new(Vec::new(), n, 10, Some(200), false);
    /// assert_eq!(
    ///     page(7).iter_pages(2, 2, 4, 2),
    ///     [Some(1), Some(2), None, Some(5), Some(6), Some(7), Some(8), Some(9), Some(10), Some(11), None, Some(19), Some(20)]
    /// );
    /// assert_eq!(page(20).iter_pages_default(), [Some(1), Some(2), None, Some(18), Some(19), Some(20)]);
    /// ```
    pub fn iter_pages(
        &self,
        left_edge: u64,
        left_current: u64,
        right_current: u64,
        right_edge: u64,
    ) -> Vec<Option<u64>> {
        let mut out = Vec::new();
        let pages_end = self.pages() + 1;
        if pages_end == 1 {
            return out;
        }
        let left_end = (1 + left_edge).min(pages_end);
        out.extend((1..left_end).map(Some));
        if left_end == pages_end {
            return out;
        }
        let mid_start = left_end.max(self.page.saturating_sub(left_current));
        let mid_end = (self.page + right_current + 1).min(pages_end);
        if mid_start > left_end {
            out.push(None);
        }
        out.extend((mid_start..mid_end).map(Some));
        if mid_end == pages_end {
            return out;
        }
        let right_start = mid_end.max(pages_end - right_edge.min(pages_end));
        if right_start > mid_end {
            out.push(None);
        }
        out.extend((right_start..pages_end).map(Some));
        out
    }

    /// [`iter_pages`](Page::iter_pages) with Flask-SQLAlchemy's defaults
    /// (2, 2, 4, 2).
    pub fn iter_pages_default(&self) -> Vec<Option<u64>> {
        self.iter_pages(2, 2, 4, 2)
    }

    /// The page's objects.
    pub fn iter(&self) -> std::slice::Iter<'_, Key<T>> {
        self.items.iter()
    }
}

impl<T> IntoIterator for Page<T> {
    type Item = Key<T>;
    type IntoIter = std::vec::IntoIter<Key<T>>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a Page<T> {
    type Item = &'a Key<T>;
    type IntoIter = std::slice::Iter<'a, Key<T>>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

/// One page of a keyset walk, from [`ModelQuery::keyset`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeysetPage<T> {
    /// The page's objects, in (sort key, primary key) order.
    pub items: Vec<Key<T>>,
    /// The cursor for the next page (pass it as `after`), `None` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> KeysetPage<T> {
    /// Whether another page follows.
    pub fn has_next(&self) -> bool {
        self.next_cursor.is_some()
    }
}

const CURSOR_VERSION: u64 = 1;

impl<T: Model> ModelQuery<'_, T> {
    /// Page `page` (1-based) of `per_page` objects, with the other
    /// [`PaginateOptions`] at their defaults: page sizes clamped to 100,
    /// out-of-range pages an error, and a COUNT for the total.
    ///
    /// Rows are ordered by the query's ORDER BY and then by the primary key,
    /// so pages are stable even where the ORDER BY has ties.
    ///
    /// # Errors
    /// [`ErrorKind::NoRow`], naming the page, for page 0, a `per_page` of 0
    /// or a page past the last (page 1 of an empty result is not an error);
    /// a web layer maps it to 404. The database's error otherwise.
    pub async fn paginate(self, page: u64, per_page: u64) -> Result<Page<T>> {
        self.paginate_with(PaginateOptions::new(page, per_page))
            .await
    }

    /// [`paginate`](ModelQuery::paginate) with every option of
    /// Flask-SQLAlchemy's (see [`PaginateOptions`]).
    ///
    /// # Errors
    /// As [`paginate`](ModelQuery::paginate) when `error_out` is on;
    /// [`ErrorKind::Config`] for a `max_per_page` of 0.
    pub async fn paginate_with(self, options: PaginateOptions) -> Result<Page<T>> {
        let (page, per_page) = options.resolve()?;
        let ModelQuery {
            session,
            select,
            options: load_options,
            bind,
            ..
        } = self;
        let offset = (page - 1)
            .checked_mul(per_page)
            .filter(|&o| o <= i64::MAX as u64);
        let (items, more) = match offset {
            Some(offset) => {
                let t = T::table();
                let pk: Vec<OrderBy> = T::primary_key_positions()
                    .iter()
                    .map(|&i| t.c(T::column_names()[i]).asc())
                    .collect();
                let stmt = select
                    .clone()
                    .order_by(pk)
                    .limit(per_page.saturating_add(1))
                    .offset(offset);
                // Boxed: the query's future is deep, and a handler awaiting
                // this one inside its own could hit rustc's query depth limit.
                let mut keys = Box::pin(
                    ModelQuery::<T> {
                        session: &mut *session,
                        select: stmt,
                        filters: Vec::new(),
                        options: load_options,
                        limited: true,
                        bind,
                        _t: PhantomData,
                    }
                    .all(),
                )
                .await?;
                let more = keys.len() as u64 > per_page;
                keys.truncate(per_page as usize);
                (keys, more)
            }
            // Past any table a database can hold.
            None => (Vec::new(), false),
        };
        if items.is_empty() && page != 1 && options.error_out {
            {
                return Err(not_found(format!(
                    "page {page} does not exist: the query has no rows there ({per_page} per page)"
                )));
            }
        }
        let total = if options.count {
            let n = ModelQuery::<T> {
                session,
                select,
                filters: Vec::new(),
                options: Vec::new(),
                limited: false,
                bind,
                _t: PhantomData,
            }
            .count()
            .await?;
            Some(u64::try_from(n).unwrap_or(0))
        } else {
            None
        };
        Ok(Page::new(items, page, per_page, total, more))
    }

    /// Keyset (cursor) pagination: up to `limit` objects ordered by `order`
    /// ascending, ties broken by the primary key, starting after the row
    /// `after` points at (`None`: from the start). Pass the returned
    /// [`KeysetPage::next_cursor`] as `after` for the next page. The query's
    /// filters apply; its ORDER BY, LIMIT and OFFSET are replaced.
    ///
    /// Unlike OFFSET, each page is an index range scan on
    /// `(order, primary key)`, and rows inserted or deleted while walking do
    /// not shift later pages. The cursor is an opaque URL-safe string (hex
    /// of a small JSON document holding the last row's sort key and primary
    /// key); it is not signed, so treat it as user input.
    ///
    /// `order` must be a NOT NULL column of `T`'s table (NULLs have no
    /// portable place in the order).
    ///
    /// # Errors
    /// [`ErrorKind::Decode`] for a malformed cursor or one made for another
    /// column; [`ErrorKind::Config`] when `order` is not a NOT NULL column of
    /// the model or `limit` is 0; the database's error otherwise.
    pub async fn keyset<K>(
        self,
        order: Col<K>,
        after: Option<&str>,
        limit: u64,
    ) -> Result<KeysetPage<T>> {
        let t = T::table();
        let names = T::column_names();
        let sort_name = order.name();
        let Some(sort_pos) = names.iter().position(|c| *c == sort_name) else {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "keyset pagination orders by a column of {}; it has no column {sort_name}",
                    t.name()
                ),
            ));
        };
        if t.column(sort_name)?.is_nullable() {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "keyset pagination needs a NOT NULL sort column; {}.{sort_name} allows NULL",
                    t.name()
                ),
            ));
        }
        if limit == 0 {
            return Err(Error::new(
                ErrorKind::Config,
                "keyset limit must be at least 1",
            ));
        }
        // The sort key, then the primary key columns not already in it.
        let mut positions = vec![sort_pos];
        positions.extend(
            T::primary_key_positions()
                .iter()
                .copied()
                .filter(|&p| p != sort_pos),
        );
        let cols: Vec<Expr> = positions.iter().map(|&p| t.c(names[p])).collect();
        let ModelQuery {
            session,
            select,
            options,
            bind,
            ..
        } = self;
        let mut stmt = select
            .clear_order_by()
            .clear_limit()
            .order_by(cols.iter().cloned().map(Expr::asc))
            .limit(limit.saturating_add(1));
        if let Some(cursor) = after {
            let values = decode_cursor(cursor, sort_name, positions.len())?;
            stmt = stmt.filter(after_condition(&cols, &values));
        }
        let mut keys = Box::pin(
            ModelQuery::<T> {
                session: &mut *session,
                select: stmt,
                filters: Vec::new(),
                options,
                limited: true,
                bind,
                _t: PhantomData,
            }
            .all(),
        )
        .await?;
        let next_cursor = if keys.len() as u64 > limit {
            keys.truncate(limit as usize);
            let last = keys.last().expect("a page before the extra row");
            let values = session.try_get(*last)?.to_values();
            let key: Vec<&Value> = positions.iter().map(|&p| &values[p]).collect();
            Some(encode_cursor(sort_name, &key)?)
        } else {
            None
        };
        Ok(KeysetPage {
            items: keys,
            next_cursor,
        })
    }
}

/// `(c1, c2, …) > (v1, v2, …)`, spelled out as
/// `c1 > v1 OR (c1 = v1 AND c2 > v2) OR …` so every backend can use an index.
fn after_condition(cols: &[Expr], values: &[Value]) -> Expr {
    or((0..cols.len()).map(|i| {
        let mut terms: Vec<Expr> = (0..i)
            .map(|j| cols[j].clone().eq(Expr::from(values[j].clone())))
            .collect();
        terms.push(cols[i].clone().gt(Expr::from(values[i].clone())));
        and(terms)
    }))
}

fn encode_cursor(column: &str, key: &[&Value]) -> Result<String> {
    let key: Vec<Json> = key
        .iter()
        .map(|v| value_to_json(v))
        .collect::<Result<_>>()?;
    let doc = json!({ "v": CURSOR_VERSION, "c": column, "k": key });
    Ok(hex_encode(doc.to_string().as_bytes()))
}

fn bad_cursor(why: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Decode,
        format!("malformed pagination cursor: {why}"),
    )
}

fn decode_cursor(cursor: &str, column: &str, len: usize) -> Result<Vec<Value>> {
    let bytes = hex_decode(cursor).ok_or_else(|| bad_cursor("not a hex string"))?;
    let doc: Json =
        serde_json::from_slice(&bytes).map_err(|e| bad_cursor(format!("not JSON ({e})")))?;
    if doc.get("v").and_then(Json::as_u64) != Some(CURSOR_VERSION) {
        return Err(bad_cursor("unknown cursor version"));
    }
    match doc.get("c").and_then(Json::as_str) {
        Some(c) if c == column => {}
        Some(c) => {
            return Err(bad_cursor(format!(
                "it was made for ordering by {c}, not {column}"
            )))
        }
        None => return Err(bad_cursor("no sort column")),
    }
    let key = doc
        .get("k")
        .and_then(Json::as_array)
        .ok_or_else(|| bad_cursor("no key"))?;
    if key.len() != len {
        return Err(bad_cursor(format!(
            "{} key values where {len} were expected",
            key.len()
        )));
    }
    key.iter().map(json_to_value).collect()
}

/// A value as `[tag, payload]`, keeping its exact type so it binds as the
/// column's own type on every backend.
fn value_to_json(v: &Value) -> Result<Json> {
    Ok(match v {
        Value::Bool(b) => json!(["bool", b]),
        Value::I16(n) => json!(["i16", n]),
        Value::I32(n) => json!(["i32", n]),
        Value::I64(n) => json!(["i64", n]),
        Value::F32(n) => json!(["f32", n]),
        Value::F64(n) => json!(["f64", n]),
        Value::String(s) => json!(["str", s]),
        Value::Bytes(b) => json!(["bytes", hex_encode(b)]),
        Value::Uuid(u) => json!(["uuid", u.to_string()]),
        Value::Decimal(d) => json!(["dec", d.to_string()]),
        #[cfg(feature = "chrono")]
        Value::Date(d) => json!(["date", d.to_string()]),
        #[cfg(feature = "chrono")]
        Value::Time(t) => json!(["time", t.to_string()]),
        #[cfg(feature = "chrono")]
        Value::DateTime(t) => json!(["datetime", t.to_string()]),
        #[cfg(feature = "chrono")]
        Value::DateTimeTz(t) => json!(["datetimetz", t.to_rfc3339()]),
        other => {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "keyset pagination cannot order by a {} value",
                    other.kind_name()
                ),
            ))
        }
    })
}

fn json_to_value(j: &Json) -> Result<Value> {
    let pair = j.as_array().filter(|a| a.len() == 2);
    let (tag, payload) = match pair {
        Some(a) => (a[0].as_str().unwrap_or(""), &a[1]),
        None => return Err(bad_cursor("a key value is not a [type, value] pair")),
    };
    let wrong = || bad_cursor(format!("bad {tag} value {payload}"));
    let int = || payload.as_i64().ok_or_else(wrong);
    let text = || payload.as_str().ok_or_else(wrong);
    Ok(match tag {
        "bool" => Value::Bool(payload.as_bool().ok_or_else(wrong)?),
        "i16" => Value::I16(i16::try_from(int()?).map_err(|_| wrong())?),
        "i32" => Value::I32(i32::try_from(int()?).map_err(|_| wrong())?),
        "i64" => Value::I64(int()?),
        "f32" => Value::F32(payload.as_f64().ok_or_else(wrong)? as f32),
        "f64" => Value::F64(payload.as_f64().ok_or_else(wrong)?),
        "str" => Value::String(text()?.to_string()),
        "bytes" => Value::Bytes(hex_decode(text()?).ok_or_else(wrong)?),
        "uuid" => Value::Uuid(text()?.parse().map_err(|_| wrong())?),
        "dec" => Value::Decimal(text()?.parse().map_err(|_| wrong())?),
        #[cfg(feature = "chrono")]
        "date" => Value::Date(text()?.parse().map_err(|_| wrong())?),
        #[cfg(feature = "chrono")]
        "time" => Value::Time(text()?.parse().map_err(|_| wrong())?),
        #[cfg(feature = "chrono")]
        "datetime" => Value::DateTime(text()?.parse().map_err(|_| wrong())?),
        #[cfg(feature = "chrono")]
        "datetimetz" => Value::DateTimeTz(
            aludel_core::types::chrono::DateTime::parse_from_rfc3339(text()?)
                .map_err(|_| wrong())?
                .to_utc(),
        ),
        _ => return Err(bad_cursor(format!("unknown value type {tag:?}"))),
    })
}

fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(n: u64, pages: u64) -> Page<()> {
        Page::new(Vec::new(), n, 10, Some(pages * 10), false)
    }

    fn pages(v: &[u64]) -> Vec<Option<u64>> {
        v.iter().map(|&n| (n != 0).then_some(n)).collect()
    }

    /// Flask-SQLAlchemy 3.1's worked examples, 0 standing for a gap.
    #[test]
    fn iter_pages_matches_flask_sqlalchemy() {
        let d = |n, total| page(n, total).iter_pages_default();
        assert_eq!(
            d(7, 20),
            pages(&[1, 2, 0, 5, 6, 7, 8, 9, 10, 11, 0, 19, 20])
        );
        assert_eq!(d(1, 20), pages(&[1, 2, 3, 4, 5, 0, 19, 20]));
        assert_eq!(d(20, 20), pages(&[1, 2, 0, 18, 19, 20]));
        assert_eq!(
            d(10, 20),
            pages(&[1, 2, 0, 8, 9, 10, 11, 12, 13, 14, 0, 19, 20])
        );
        assert_eq!(d(2, 3), pages(&[1, 2, 3]));
        assert_eq!(d(1, 0), pages(&[]));
        // No gap where the ranges touch, and edges of 0.
        assert_eq!(d(5, 20), pages(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 19, 20]));
        assert_eq!(page(10, 20).iter_pages(0, 0, 0, 0), pages(&[0, 10, 0]));
        assert_eq!(page(1, 1).iter_pages_default(), pages(&[1]));
        // Counting off: no page numbers.
        let uncounted = Page::<()>::new(Vec::new(), 2, 10, None, true);
        assert!(uncounted.iter_pages_default().is_empty());
    }

    #[test]
    fn attributes_match_flask_sqlalchemy() {
        // 45 rows, 20 per page, page 3: 5 items numbered 41..=45.
        let p = Page::<()>::new(Vec::new(), 3, 20, Some(45), false);
        assert_eq!(p.pages(), 3);
        assert_eq!((p.first(), p.last()), (0, 0), "empty page");
        assert!(p.has_prev() && !p.has_next());
        assert_eq!((p.prev_num(), p.next_num()), (Some(2), None));
        let p1 = Page::<()>::new(Vec::new(), 1, 20, Some(45), true);
        assert_eq!((p1.prev_num(), p1.next_num()), (None, Some(2)));
        let none = Page::<()>::new(Vec::new(), 1, 20, Some(0), false);
        assert_eq!((none.pages(), none.has_next()), (0, false));
        let uncounted = Page::<()>::new(Vec::new(), 4, 20, None, true);
        assert_eq!((uncounted.pages(), uncounted.next_num()), (0, Some(5)));
    }

    #[test]
    fn options_follow_flask_sqlalchemy_rules() {
        let r = |o: PaginateOptions| o.resolve().map_err(|e| e.kind());
        assert_eq!(
            r(PaginateOptions::new(2, 500)),
            Ok((2, 100)),
            "clamped by default"
        );
        assert_eq!(
            r(PaginateOptions::new(2, 500).max_per_page(None)),
            Ok((2, 500))
        );
        assert_eq!(r(PaginateOptions::new(0, 10)), Err(ErrorKind::NoRow));
        assert_eq!(r(PaginateOptions::new(1, 0)), Err(ErrorKind::NoRow));
        let lax = PaginateOptions::default().error_out(false);
        assert_eq!(
            r(PaginateOptions {
                page: 0,
                per_page: 0,
                ..lax
            }),
            Ok((1, 20))
        );
        assert_eq!(
            r(PaginateOptions {
                page: 1,
                per_page: 0,
                ..lax
            }
            .max_per_page(Some(5))),
            Ok((1, 5)),
            "the fallback size is clamped too"
        );
        assert_eq!(r(lax.max_per_page(Some(0))), Err(ErrorKind::Config));
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() -> Result<()> {
        let key = [Value::I32(-5), Value::I64(7), Value::String("a\"b".into())];
        let c = encode_cursor("karma", &key.iter().collect::<Vec<_>>())?;
        assert!(c.bytes().all(|b| b.is_ascii_hexdigit()), "URL-safe: {c}");
        assert_eq!(decode_cursor(&c, "karma", 3)?, key);
        let kind = |s: &str, col: &str, n| decode_cursor(s, col, n).map_err(|e| e.kind());
        assert_eq!(kind(&c, "name", 3), Err(ErrorKind::Decode), "other column");
        assert_eq!(
            kind(&c, "karma", 2),
            Err(ErrorKind::Decode),
            "other key length"
        );
        assert_eq!(kind("zz", "karma", 3), Err(ErrorKind::Decode));
        assert_eq!(kind("abc", "karma", 3), Err(ErrorKind::Decode));
        assert_eq!(
            kind(&hex_encode(b"{\"v\":1}"), "karma", 3),
            Err(ErrorKind::Decode)
        );
        assert_eq!(
            kind(&hex_encode(b"[1,2"), "karma", 3),
            Err(ErrorKind::Decode)
        );
        let err = decode_cursor("nothex!", "karma", 3).unwrap_err();
        assert!(
            err.to_string().contains("malformed pagination cursor"),
            "{err}"
        );
        Ok(())
    }
}
