//! Textual SQL with named bind parameters: the parser behind [`text`].
//!
//! `:name` marks a bind parameter, as in SQLAlchemy. A colon preceded by a word
//! character, another colon or a backslash is not a bind, and `::` (a PostgreSQL
//! cast) never is. Unlike SQLAlchemy, colons inside string literals, quoted
//! identifiers, comments and PostgreSQL dollar-quoted strings are left alone.
//! `\:` is an escaped colon and is sent as a plain `:`.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::error::{Error, ErrorKind, Result};

/// A textual SQL statement, parsed once into literal SQL and named bind parameters.
#[derive(Clone, Debug)]
pub struct Text {
    sql: String,
    segments: Vec<Segment>,
    names: Vec<String>,
    /// Position of each name in `names`, so binding N parameters is O(N).
    index: HashMap<String, usize>,
    /// The rendering per placeholder style, made on first use, so a statement
    /// executed many times is rendered once.
    rendered: [OnceLock<Compiled>; 3],
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.sql == other.sql
    }
}

impl Eq for Text {}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    /// Literal SQL, with `\:` escapes already resolved.
    Sql(String),
    /// A bind parameter: an index into `names`.
    Bind(usize),
}

/// The placeholder syntax a driver expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Placeholder {
    /// PostgreSQL: `$1`, `$2`, … ; a repeated name reuses its number.
    Dollar,
    /// SQLite: `?1`, `?2`, … ; a repeated name reuses its number.
    QuestionNumbered,
    /// MySQL: a bare `?` for every occurrence, in order.
    Question,
}

/// A statement rendered for one placeholder style.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compiled {
    /// The SQL with driver placeholders in place of `:name`.
    pub sql: String,
    /// `binds[i]` is the index into [`Text::param_names`] of the value for the
    /// i-th placeholder to send.
    pub binds: Vec<usize>,
}

/// Build a [`Text`] from SQL with `:name` bind parameters.
///
/// ```
/// use aludel_core::sql::text::{text, Placeholder};
/// let stmt = text("SELECT * FROM t WHERE id = :id AND name = :name");
/// assert_eq!(stmt.param_names(), ["id", "name"]);
/// let compiled = stmt.compile(Placeholder::Dollar);
/// assert_eq!(compiled.sql, "SELECT * FROM t WHERE id = $1 AND name = $2");
/// assert_eq!(compiled.binds, [0, 1]);
/// ```
pub fn text(sql: impl Into<String>) -> Text {
    Text::new(sql)
}

impl Text {
    /// Parse `sql`; the same as [`text`].
    pub fn new(sql: impl Into<String>) -> Self {
        let sql = sql.into();
        let (segments, names, index) = parse(&sql);
        Text {
            sql,
            segments,
            names,
            index,
            rendered: Default::default(),
        }
    }

    /// The original SQL, exactly as given.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The unique bind parameter names, in order of first appearance.
    pub fn param_names(&self) -> &[String] {
        &self.names
    }

    /// The statement rendered with `style` placeholders, cached in `self`.
    pub fn compiled(&self, style: Placeholder) -> &Compiled {
        let slot = match style {
            Placeholder::Dollar => 0,
            Placeholder::QuestionNumbered => 1,
            Placeholder::Question => 2,
        };
        self.rendered[slot].get_or_init(|| self.compile(style))
    }

    /// Render the statement with `style` placeholders.
    pub fn compile(&self, style: Placeholder) -> Compiled {
        let mut sql = String::with_capacity(self.sql.len());
        // Names are numbered by first appearance, so a name's number is its index + 1.
        let (mut binds, prefix) = match style {
            Placeholder::Dollar => ((0..self.names.len()).collect(), "$"),
            Placeholder::QuestionNumbered => ((0..self.names.len()).collect(), "?"),
            Placeholder::Question => (Vec::new(), "?"),
        };
        for seg in &self.segments {
            match seg {
                Segment::Sql(s) => sql.push_str(s),
                Segment::Bind(i) if style == Placeholder::Question => {
                    sql.push('?');
                    binds.push(*i);
                }
                Segment::Bind(i) => sql.push_str(&format!("{prefix}{}", i + 1)),
            }
        }
        Compiled { sql, binds }
    }

    /// Order named values by [`Text::param_names`].
    ///
    /// Fails with [`ErrorKind::Bind`] when a name is given twice, when a given
    /// name is not used by the statement (suggesting a close match), or when a
    /// used name is not given.
    ///
    /// ```
    /// use aludel_core::sql::text::text;
    /// let stmt = text("UPDATE t SET name = :name WHERE id = :id");
    /// let values = stmt.bind_order(&[("id", 7), ("name", 8)]).unwrap();
    /// assert_eq!(values, [&8, &7]);
    /// ```
    pub fn bind_order<'a, K: AsRef<str>, V>(&self, given: &'a [(K, V)]) -> Result<Vec<&'a V>> {
        self.slot(given.iter().map(|(k, v)| (k.as_ref(), v)))
    }

    /// Like [`bind_order`](Text::bind_order), but moves the values: the
    /// result holds one value per name, in [`Text::param_names`] order.
    ///
    /// ```
    /// use aludel_core::sql::text::text;
    /// let stmt = text("UPDATE t SET name = :name WHERE id = :id");
    /// let values = stmt.bind_owned(vec![("id", 7), ("name", 8)]).unwrap();
    /// assert_eq!(values, [8, 7]);
    /// ```
    ///
    /// # Errors
    /// The same as [`bind_order`](Text::bind_order).
    pub fn bind_owned<K: AsRef<str>, V>(&self, given: Vec<(K, V)>) -> Result<Vec<V>> {
        let mut slots: Vec<Option<V>> = std::iter::repeat_with(|| None)
            .take(self.names.len())
            .collect();
        for (key, value) in given {
            // Keys are owned here, so they cannot go through `slot`'s borrowed iterator.
            self.place(&mut slots, key.as_ref(), value)?;
        }
        self.filled(slots)
    }

    /// Put each named value in its name's slot.
    fn slot<'k, V>(&self, given: impl Iterator<Item = (&'k str, V)>) -> Result<Vec<V>> {
        let mut slots: Vec<Option<V>> = std::iter::repeat_with(|| None)
            .take(self.names.len())
            .collect();
        for (key, value) in given {
            self.place(&mut slots, key, value)?;
        }
        self.filled(slots)
    }

    fn place<V>(&self, slots: &mut [Option<V>], key: &str, value: V) -> Result<()> {
        match self.index.get(key).copied() {
            Some(i) if slots[i].is_some() => {
                let msg = format!("bind parameter \"{key}\" was given more than once");
                Err(Error::new(ErrorKind::Bind, msg))
            }
            Some(i) => {
                slots[i] = Some(value);
                Ok(())
            }
            None => Err(self.unexpected(key)),
        }
    }

    fn filled<V>(&self, slots: Vec<Option<V>>) -> Result<Vec<V>> {
        slots
            .into_iter()
            .zip(&self.names)
            .map(|(slot, name)| slot.ok_or_else(|| self.missing(name)))
            .collect()
    }

    fn missing(&self, name: &str) -> Error {
        let msg = format!("missing bind parameter \"{name}\" for SQL: {}", self.sql);
        Error::new(ErrorKind::Bind, msg)
    }

    fn unexpected(&self, key: &str) -> Error {
        let quoted: Vec<String> = self.names.iter().map(|n| format!("\"{n}\"")).collect();
        let has = if quoted.is_empty() {
            "no parameters".into()
        } else {
            format!("parameters {}", quoted.join(", "))
        };
        let mut msg = format!("unexpected bind parameter \"{key}\": the statement has {has}");
        let best = self
            .names
            .iter()
            .map(|n| (edit_distance(key, n), n))
            .filter(|(d, _)| *d <= 2)
            .min_by_key(|(d, _)| *d);
        if let Some((_, name)) = best {
            msg.push_str(&format!("; did you mean \"{name}\"?"));
        }
        Error::new(ErrorKind::Bind, msg)
    }
}

fn parse(sql: &str) -> (Vec<Segment>, Vec<String>, HashMap<String, usize>) {
    let (b, mut lit) = (sql.as_bytes(), String::new());
    let (mut segments, mut names) = (Vec::new(), Vec::<String>::new());
    let mut index = HashMap::new();
    // `start` is where the pending, not yet copied literal SQL begins.
    let (mut i, mut start) = (0, 0);
    while i < b.len() {
        let next = b.get(i + 1).copied();
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => i = skip_past(b, i + 1, &[q]),
            b'-' if next == Some(b'-') => i = skip_past(b, i + 2, b"\n"),
            b'/' if next == Some(b'*') => i = skip_past(b, i + 2, b"*/"),
            b'$' if !prev_is(sql, i, |c| is_word(c) || c == '$') => match dollar_tag(b, i) {
                Some(end) => i = skip_past(b, end, &b[i..end]),
                None => i += 1,
            },
            b'\\' if next == Some(b':') => {
                lit.push_str(&sql[start..i]);
                start = i + 1;
                i += 2;
            }
            b':' if next == Some(b':') => i += 2,
            b':' if next.is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
                && !prev_is(sql, i, |c| is_word(c) || c == ':' || c == '\\') =>
            {
                let end = (i + 1..b.len())
                    .find(|&j| !(b[j].is_ascii_alphanumeric() || b[j] == b'_'))
                    .unwrap_or(b.len());
                lit.push_str(&sql[start..i]);
                if !lit.is_empty() {
                    segments.push(Segment::Sql(std::mem::take(&mut lit)));
                }
                let name = &sql[i + 1..end];
                let idx = *index.entry(name.to_owned()).or_insert_with(|| {
                    names.push(name.to_owned());
                    names.len() - 1
                });
                segments.push(Segment::Bind(idx));
                (i, start) = (end, end);
            }
            _ => i += 1,
        }
    }
    lit.push_str(&sql[start..]);
    if !lit.is_empty() {
        segments.push(Segment::Sql(lit));
    }
    (segments, names, index)
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether the character before byte `i` (an ASCII position) satisfies `f`.
fn prev_is(sql: &str, i: usize, f: impl Fn(char) -> bool) -> bool {
    sql[..i].chars().next_back().is_some_and(f)
}

/// The index just past the first `pat` at or after `from`, or the end of input.
fn skip_past(b: &[u8], from: usize, pat: &[u8]) -> usize {
    (from..b.len())
        .find(|&j| b[j..].starts_with(pat))
        .map_or(b.len(), |j| j + pat.len())
}

/// If a dollar-quote opener (`$$` or `$tag$`) starts at `i`, the index just past it.
fn dollar_tag(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    if b.get(j)
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
    {
        while b
            .get(j)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            j += 1;
        }
    }
    (b.get(j) == Some(&b'$')).then_some(j + 1)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use Placeholder::*;

    fn c(sql: &str, style: Placeholder) -> (String, Vec<usize>) {
        let Compiled { sql, binds } = text(sql).compile(style);
        (sql, binds)
    }

    fn pg(sql: &str) -> String {
        c(sql, Dollar).0
    }

    fn unchanged(sql: &str) {
        assert_eq!(c(sql, Dollar), (sql.to_owned(), vec![]), "{sql}");
        assert!(text(sql).param_names().is_empty());
    }

    fn err(sql: &str, given: &[(&str, i32)]) -> String {
        let e = text(sql).bind_order(given).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Bind);
        e.message().to_owned()
    }

    #[test]
    fn simple_binds_all_styles() {
        let sql = "SELECT * FROM t WHERE id = :id AND name = :name";
        assert_eq!(text(sql).sql(), sql);
        assert_eq!(text(sql).param_names(), ["id", "name"]);
        for (style, want) in [
            (Dollar, "SELECT * FROM t WHERE id = $1 AND name = $2"),
            (
                QuestionNumbered,
                "SELECT * FROM t WHERE id = ?1 AND name = ?2",
            ),
            (Question, "SELECT * FROM t WHERE id = ? AND name = ?"),
        ] {
            assert_eq!(c(sql, style), (want.to_owned(), vec![0, 1]));
        }
    }

    #[test]
    fn repeated_names() {
        let sql = "SELECT :a, :b, :a, :_c1, :b";
        assert_eq!(text(sql).param_names(), ["a", "b", "_c1"]);
        for (style, want, binds) in [
            (Dollar, "SELECT $1, $2, $1, $3, $2", vec![0, 1, 2]),
            (QuestionNumbered, "SELECT ?1, ?2, ?1, ?3, ?2", vec![0, 1, 2]),
            (Question, "SELECT ?, ?, ?, ?, ?", vec![0, 1, 0, 2, 1]),
        ] {
            assert_eq!(c(sql, style), (want.to_owned(), binds));
        }
    }

    #[test]
    fn casts() {
        let want = ("SELECT $1::int".to_owned(), vec![0]);
        assert_eq!(c("SELECT :x::int", Dollar), want);
        let want = "SELECT ($1)::int, $2::text[]";
        assert_eq!(pg("SELECT (:x)::int, :y::text[]"), want);
        unchanged("SELECT a::text FROM t");
        unchanged("SELECT '1'::int, x ::int");
    }

    #[test]
    fn not_binds() {
        unchanged("SELECT '12:30', 'a:b', 'it''s :x' FROM t");
        unchanged("WHERE t > '10:00:00'");
        unchanged("SELECT \"col:x\", \"a\"\":y\" FROM t");
        unchanged("SELECT `a:b` FROM t");
        unchanged("SELECT 1 -- :x\n/* :y\n:z */");
        unchanged("SELECT $$ :x $$, $fn$ :y $x$ :z $fn$");
        unchanged("SELECT a:b, x : y, 1:2, é:x, ':");
        unchanged("SELECT 'unterminated :x");
    }

    #[test]
    fn binds_after_skipped_regions() {
        let sql = "SELECT '10:00' || :a /* :b */ , $$:c$$, -- :d\n :e";
        let want = "SELECT '10:00' || $1 /* :b */ , $$:c$$, -- :d\n $2";
        assert_eq!(pg(sql), want);
        assert_eq!(text(sql).param_names(), ["a", "e"]);
        let want = "SELECT $1, a$b, 'it''s' || $1";
        assert_eq!(pg("SELECT $1, a$b, 'it''s' || :x"), want);
    }

    #[test]
    fn escaped_colon() {
        let t = text(r"SELECT '\:' , a\:b, \:x, :y");
        assert_eq!(t.param_names(), ["y"]);
        assert_eq!(t.compile(Question).sql, r"SELECT '\:' , a:b, :x, ?");
    }

    #[test]
    fn bind_positions() {
        assert_eq!(pg("SELECT :a"), "SELECT $1");
        assert_eq!(pg("f(:a,:b)"), "f($1,$2)");
        assert_eq!(pg(":a"), "$1");
    }

    #[test]
    fn unicode_around_binds() {
        let sql = "SELECT 'héllo :x', «:ä», :名, ä=:a→, «:b» FROM tä WHERE c = :a";
        assert_eq!(text(sql).param_names(), ["a", "b"]);
        let want = "SELECT 'héllo :x', «:ä», :名, ä=$1→, «$2» FROM tä WHERE c = $1";
        assert_eq!(pg(sql), want);
    }

    #[test]
    fn bind_order_values() {
        let given = vec![("a".to_owned(), 1), ("b".to_owned(), 2)];
        let t = text("SELECT :b, :a, :b");
        assert_eq!(t.bind_order(&given).unwrap(), [&2, &1]);
        let none: &[(&str, i32)] = &[];
        assert!(text("SELECT 1").bind_order(none).unwrap().is_empty());
    }

    #[test]
    fn bind_order_errors() {
        let sql = "SELECT * FROM t WHERE id = :id AND name = :name";
        let expected = format!("missing bind parameter \"id\" for SQL: {sql}");
        assert_eq!(err(sql, &[("name", 1)]), expected);
        let has = "the statement has parameters \"id\", \"name\"";
        let expected = format!("unexpected bind parameter \"idd\": {has}; did you mean \"id\"?");
        assert_eq!(err(sql, &[("id", 1), ("name", 2), ("idd", 3)]), expected);
        let expected = format!("unexpected bind parameter \"nmae\": {has}; did you mean \"name\"?");
        assert_eq!(err(sql, &[("nmae", 1)]), expected);
        let expected = format!("unexpected bind parameter \"zzzz\": {has}");
        assert_eq!(err(sql, &[("zzzz", 1)]), expected);
        let expected = "bind parameter \"id\" was given more than once";
        assert_eq!(err(sql, &[("id", 1), ("id", 2)]), expected);
        let expected = "unexpected bind parameter \"x\": the statement has no parameters";
        assert_eq!(err("SELECT 1", &[("x", 1)]), expected);
        assert_eq!(
            (edit_distance("", "abc"), edit_distance("kitten", "sitting")),
            (3, 3)
        );
    }
}
