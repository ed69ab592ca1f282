//! Pagination from `?page=&per_page=`: [`PageParams`] reads them with
//! Flask-SQLAlchemy's rules, runs [`ModelQuery::paginate_with`], and
//! renders a [`Paginated`] JSON object with prev/next links.

use std::convert::Infallible;

use aludel_orm::{
    Key, Model, ModelQuery, Page, PaginateOptions, DEFAULT_MAX_PER_PAGE, DEFAULT_PER_PAGE,
};
use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use serde::Serialize;

use crate::error::AppError;

/// The largest page size honoured when `max_per_page` is `None`.
const UNCLAMPED_LIMIT: u64 = u32::MAX as u64;

/// The `page` and `per_page` query parameters of a request, and the
/// pagination options a handler sets (Flask-SQLAlchemy's
/// `db.paginate(select, page=None, per_page=None, max_per_page=…,
/// error_out=True, count=True)`).
///
/// The rules, with `error_out` on (the default):
///
/// | query | result |
/// | --- | --- |
/// | no `page` | page 1 |
/// | `page=0`, `page=-1` | 404 (pages are numbered from 1) |
/// | `page=abc`, `page=1.5` | 404, as Flask-SQLAlchemy (whose `int()` fails) |
/// | `page=1000000000` (past the last page) | 404; page 1 of an empty result is a 200 with no items |
/// | no `per_page`, `per_page=0`, `per_page=-5` | the default page size (20) |
/// | `per_page=1000000` | clamped to `max_per_page` (100 unless set) |
/// | `per_page=abc` | 404 |
///
/// With `error_out(false)` none is an error: a bad or too-small `page` is 1,
/// a bad `per_page` the default, and a page past the end is empty.
/// Flask-SQLAlchemy answers `per_page=0` with 404; here 0 (or less) means
/// "the default", and `max_per_page` defaults to 100 where Flask-SQLAlchemy
/// has no limit.
///
/// ```
/// use aludel::orm::Model;
/// use aludel::Model;
/// use aludel_axum::{AppError, DbSession, PageParams, Paginated};
/// use axum::Json;
///
/// #[derive(Model, Clone, serde::Serialize)]
/// #[aludel(table = "notes")]
/// struct Note { #[aludel(primary_key)] id: i64, text: String }
///
/// async fn list(mut session: DbSession, pages: PageParams) -> Result<Json<Paginated<Note>>, AppError> {
///     let pages = pages.max_per_page(Some(50));
///     let page = pages.paginate(Note::query(&mut session).order_by([Note::id.asc()])).await?;
///     Ok(Json(pages.render(&page, |key| session[key].clone())))
/// }
/// # let _: axum::routing::MethodRouter = axum::routing::get(list);
/// ```
///
/// **Rejection**: none; errors come from [`options`](PageParams::options)
/// and [`paginate`](PageParams::paginate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageParams {
    page: Option<String>,
    per_page: Option<String>,
    path: String,
    query: String,
    default_per_page: u64,
    max_per_page: Option<u64>,
    error_out: bool,
    count: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for PageParams {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        // The URI as the client sent it, also under a nested Router.
        let uri = match parts.extensions.get::<OriginalUri>() {
            Some(o) => o.0.clone(),
            None => parts.uri.clone(),
        };
        Ok(PageParams::from_uri(uri.path(), uri.query().unwrap_or("")))
    }
}

impl PageParams {
    /// The parameters of a request for `path?query` (what the extractor
    /// does), with the default options.
    ///
    /// ```
    /// use aludel_axum::PageParams;
    /// let p = PageParams::from_uri("/notes", "tag=x&page=3&per_page=1000000");
    /// let o = p.options()?;
    /// assert_eq!((o.page, o.per_page, o.max_per_page), (3, 1_000_000, Some(100))); // the query clamps it
    /// assert_eq!(PageParams::from_uri("/notes", "page=abc").options().unwrap_err().status(), 404);
    /// assert_eq!(PageParams::from_uri("/notes", "per_page=0").options()?.per_page, 20);
    /// # Ok::<(), aludel_axum::AppError>(())
    /// ```
    pub fn from_uri(path: &str, query: &str) -> PageParams {
        let mut page = None;
        let mut per_page = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match decode(k).as_str() {
                "page" if page.is_none() => page = Some(decode(v)),
                "per_page" if per_page.is_none() => per_page = Some(decode(v)),
                _ => {}
            }
        }
        PageParams {
            page,
            per_page,
            path: path.to_string(),
            query: query.to_string(),
            default_per_page: DEFAULT_PER_PAGE,
            max_per_page: Some(DEFAULT_MAX_PER_PAGE),
            error_out: true,
            count: true,
        }
    }

    /// The largest page size (default `Some(100)`; `None`: no limit).
    pub fn max_per_page(mut self, max: Option<u64>) -> Self {
        self.max_per_page = max;
        self
    }

    /// The page size when the request gives none, or 0 (default 20).
    pub fn default_per_page(mut self, n: u64) -> Self {
        self.default_per_page = n.max(1);
        self
    }

    /// 404 for a bad or out-of-range page (default on); off, fall back.
    pub fn error_out(mut self, on: bool) -> Self {
        self.error_out = on;
        self
    }

    /// Count the rows for `total` and `pages` (default on); off, saves the
    /// COUNT, `total` is `None` and `has_next` still right.
    pub fn count(mut self, on: bool) -> Self {
        self.count = on;
        self
    }

    /// The options for [`ModelQuery::paginate_with`] under these rules.
    ///
    /// # Errors
    /// 404 for a page below 1, or a `page`/`per_page` that is not a whole
    /// number, when `error_out` is on.
    pub fn options(&self) -> Result<PaginateOptions, AppError> {
        let page = match parse(self.page.as_deref()) {
            Num::Absent => 1,
            Num::Int(n) if n >= 1 => n as u64,
            Num::Huge => u64::MAX,
            Num::Int(n) => {
                if self.error_out {
                    return Err(AppError::not_found(format!(
                        "page {n} does not exist: pages are numbered from 1"
                    ))
                    .with("parameter", "page"));
                }
                1
            }
            Num::Invalid(s) => {
                if self.error_out {
                    return Err(
                        AppError::not_found(format!("page {s:?} is not a page number"))
                            .with("parameter", "page"),
                    );
                }
                1
            }
        };
        let per_page = match parse(self.per_page.as_deref()) {
            Num::Absent => self.default_per_page,
            Num::Int(n) if n >= 1 => n as u64,
            Num::Int(_) => self.default_per_page,
            Num::Huge => u64::MAX,
            Num::Invalid(s) => {
                if self.error_out {
                    return Err(AppError::not_found(format!(
                        "per_page {s:?} is not a whole number"
                    ))
                    .with("parameter", "per_page"));
                }
                self.default_per_page
            }
        };
        Ok(PaginateOptions::new(page, per_page.min(UNCLAMPED_LIMIT))
            .max_per_page(self.max_per_page)
            .error_out(self.error_out)
            .count(self.count))
    }

    /// Run `query` for the requested page.
    ///
    /// # Errors
    /// As [`options`](PageParams::options); 404 for a page past the last
    /// when `error_out` is on; the database's error otherwise.
    pub async fn paginate<T: Model>(&self, query: ModelQuery<'_, T>) -> Result<Page<T>, AppError> {
        let options = self.options()?;
        // Boxed: the ORM's paginate future is deep enough that a handler
        // awaiting it inline can pass rustc's layout query depth limit.
        Ok(Box::pin(query.paginate_with(options)).await?)
    }

    /// The URL of page `n` of the same listing: this request's path and
    /// query with `page` set (and `per_page` set to `per_page` when the
    /// request gave one); other parameters (filters) are kept as sent.
    ///
    /// ```
    /// use aludel_axum::PageParams;
    /// let p = PageParams::from_uri("/notes", "tag=a%20b&page=2&per_page=500");
    /// assert_eq!(p.url_for(3, 100), "/notes?tag=a%20b&page=3&per_page=100");
    /// assert_eq!(PageParams::from_uri("/notes", "").url_for(2, 20), "/notes?page=2");
    /// ```
    pub fn url_for(&self, n: u64, per_page: u64) -> String {
        let mut out: Vec<String> = Vec::new();
        let (mut saw_page, mut saw_per_page) = (false, false);
        for pair in self.query.split('&').filter(|p| !p.is_empty()) {
            let key = decode(pair.split_once('=').map_or(pair, |(k, _)| k));
            match key.as_str() {
                "page" => {
                    if !saw_page {
                        out.push(format!("page={n}"));
                        saw_page = true;
                    }
                }
                "per_page" => {
                    if !saw_per_page {
                        out.push(format!("per_page={per_page}"));
                        saw_per_page = true;
                    }
                }
                _ => out.push(pair.to_string()),
            }
        }
        if !saw_page {
            out.push(format!("page={n}"));
        }
        format!("{}?{}", self.path, out.join("&"))
    }

    /// The JSON page object for `page`, each key turned into an item by
    /// `item` (typically `|key| session[key].clone()` or a response type
    /// built from `&session[key]`).
    pub fn render<T, I>(&self, page: &Page<T>, item: impl FnMut(Key<T>) -> I) -> Paginated<I> {
        Paginated {
            items: page.items.iter().copied().map(item).collect(),
            page: page.page,
            per_page: page.per_page,
            total: page.total,
            pages: page.pages(),
            has_prev: page.has_prev(),
            has_next: page.has_next(),
            prev_num: page.prev_num(),
            next_num: page.next_num(),
            prev: page.prev_num().map(|n| self.url_for(n, page.per_page)),
            next: page.next_num().map(|n| self.url_for(n, page.per_page)),
        }
    }
}

/// One page of a listing as JSON (Flask-SQLAlchemy's `Pagination`):
///
/// ```json
/// {"items": [...], "page": 2, "per_page": 20, "total": 45, "pages": 3,
///  "has_prev": true, "has_next": true, "prev_num": 1, "next_num": 3,
///  "prev": "/notes?page=1", "next": "/notes?page=3"}
/// ```
///
/// `total` is `null` when counting was off; then `pages` is 0 and
/// `has_next` comes from fetching one row past the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Paginated<I> {
    /// The page's items.
    pub items: Vec<I>,
    /// The 1-based page number.
    pub page: u64,
    /// Items per page, after clamping.
    pub per_page: u64,
    /// Rows matched by the query, if counted.
    pub total: Option<u64>,
    /// The number of pages (0 when not counted or empty).
    pub pages: u64,
    /// Whether a page comes before this one.
    pub has_prev: bool,
    /// Whether a page comes after this one.
    pub has_next: bool,
    /// The previous page's number.
    pub prev_num: Option<u64>,
    /// The next page's number.
    pub next_num: Option<u64>,
    /// The previous page's URL (path and query).
    pub prev: Option<String>,
    /// The next page's URL (path and query).
    pub next: Option<String>,
}

enum Num {
    Absent,
    Int(i64),
    /// A positive whole number too large for `i64`.
    Huge,
    Invalid(String),
}

fn parse(s: Option<&str>) -> Num {
    let Some(s) = s.map(str::trim) else {
        return Num::Absent;
    };
    if s.is_empty() {
        return Num::Absent;
    }
    match s.parse::<i64>() {
        Ok(n) => Num::Int(n),
        Err(_) => {
            let digits = s.strip_prefix('+').unwrap_or(s);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                Num::Huge
            } else if s.starts_with('-')
                && s.len() > 1
                && s[1..].bytes().all(|b| b.is_ascii_digit())
            {
                Num::Int(i64::MIN)
            } else {
                Num::Invalid(s.to_string())
            }
        }
    }
}

/// Percent-decoding of a query component (`+` is a space).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(q: &str) -> Result<(u64, u64), u16> {
        PageParams::from_uri("/x", q)
            .options()
            .map(|o| (o.page, o.per_page))
            .map_err(|e| e.status().as_u16())
    }

    #[test]
    fn flask_rules() {
        assert_eq!(opts(""), Ok((1, 20)));
        assert_eq!(opts("page=0"), Err(404));
        assert_eq!(opts("page=-1"), Err(404));
        assert_eq!(opts("page=abc"), Err(404));
        assert_eq!(opts("page=1.5"), Err(404));
        assert_eq!(opts("page=99999999999999999999999"), Ok((u64::MAX, 20)));
        assert_eq!(opts("page=-99999999999999999999999"), Err(404));
        assert_eq!(opts("per_page=0"), Ok((1, 20)));
        assert_eq!(opts("per_page=-3"), Ok((1, 20)));
        assert_eq!(opts("per_page=abc"), Err(404));
        assert_eq!(opts("page=%32&per_page=5"), Ok((2, 5)));
        assert_eq!(opts("page=2&page=3"), Ok((2, 20)), "the first value wins");
        let lenient = |q| {
            PageParams::from_uri("/x", q)
                .error_out(false)
                .options()
                .map(|o| (o.page, o.per_page))
                .ok()
        };
        assert_eq!(lenient("page=abc&per_page=x"), Some((1, 20)));
        assert_eq!(lenient("page=-4"), Some((1, 20)));
    }

    #[test]
    fn decoding() {
        assert_eq!(decode("a%20b+c"), "a b c");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz"), "%zz");
        assert_eq!(decode("%4"), "%4");
    }
}
