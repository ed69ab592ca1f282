//! SQLite: the `pragma_*` table-valued functions, and the `CREATE TABLE`
//! text in `sqlite_master` for what they do not report (constraint names,
//! CHECKs, AUTOINCREMENT).

use super::*;

async fn create_sql(conn: &mut Connection, table: &str) -> Result<Option<TableDdl>> {
    let sql: Option<Option<String>> = conn
        .execute(
            text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"),
            table_param(table),
        )
        .await?
        .scalar()?;
    Ok(sql.flatten().map(|s| TableDdl::parse(&s)))
}

pub(super) async fn columns(conn: &mut Connection, table: &str) -> Result<Vec<ReflectedColumn>> {
    let rows: Vec<(String, String, bool, Option<String>, i64)> = conn
        .execute(
            text(
                "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(:t) \
                 ORDER BY cid",
            ),
            table_param(table),
        )
        .await?
        .all_as()?;
    let pk_count = rows.iter().filter(|r| r.4 > 0).count();
    // A WITHOUT ROWID table has no rowid for its key to alias.
    let has_rowid = pk_count != 1
        || !create_sql(conn, table)
            .await?
            .is_some_and(|d| d.without_rowid);
    Ok(rows
        .into_iter()
        .map(|(name, declared, notnull, default, pk)| {
            // A single-column INTEGER PRIMARY KEY is an alias of the
            // rowid: SQLite assigns it, with or without AUTOINCREMENT.
            let rowid =
                has_rowid && pk > 0 && pk_count == 1 && declared.eq_ignore_ascii_case("INTEGER");
            ReflectedColumn {
                sql_type: sql_type(&declared),
                name,
                type_name: declared,
                nullable: !notnull && pk == 0,
                default,
                autoincrement: rowid,
                comment: None,
            }
        })
        .collect())
}

/// SQLAlchemy's and Aludel's type names, then SQLite's affinity rules.
pub(super) fn sql_type(declared: &str) -> SqlType {
    let (base, args) = split_type(declared);
    let first = args.first().copied();
    let numeric = || SqlType::Numeric {
        precision: first,
        scale: args.get(1).copied(),
    };
    match base.as_str() {
        "BOOLEAN" | "BOOL" => return SqlType::Boolean,
        "SMALLINT" | "INT2" | "TINYINT" => return SqlType::SmallInteger,
        "INTEGER" | "INT" | "INT4" | "MEDIUMINT" => return SqlType::Integer,
        "BIGINT" | "INT8" => return SqlType::BigInteger,
        "VARCHAR" | "NVARCHAR" | "CHAR" | "NCHAR" | "CHARACTER" | "CHARACTER VARYING"
        | "VARYING CHARACTER" | "NATIVE CHARACTER" => return SqlType::String(first),
        "TEXT" | "CLOB" => return SqlType::Text,
        "NUMERIC" | "DECIMAL" => return numeric(),
        "FLOAT" | "REAL" | "DOUBLE" | "DOUBLE PRECISION" => return SqlType::Float,
        "DATE" => return SqlType::Date,
        "TIME" => return SqlType::Time,
        "DATETIME" | "TIMESTAMP" => return SqlType::DateTime { timezone: false },
        "UUID" => return SqlType::Uuid,
        "JSON" | "JSONB" => return SqlType::Json,
        "BLOB" | "" => return SqlType::LargeBinary,
        _ => {}
    }
    if base.contains("INT") {
        SqlType::Integer
    } else if base.contains("CHAR") || base.contains("CLOB") || base.contains("TEXT") {
        SqlType::Text
    } else if base.contains("BLOB") {
        SqlType::LargeBinary
    } else if base.contains("REAL") || base.contains("FLOA") || base.contains("DOUB") {
        SqlType::Float
    } else {
        numeric()
    }
}

pub(super) async fn primary_key(conn: &mut Connection, table: &str) -> Result<ReflectedPrimaryKey> {
    let rows: Vec<(String, i64)> = conn
        .execute(
            text("SELECT name, pk FROM pragma_table_info(:t) WHERE pk > 0 ORDER BY pk"),
            table_param(table),
        )
        .await?
        .all_as()?;
    let name = if rows.is_empty() {
        None
    } else {
        create_sql(conn, table).await?.and_then(|d| {
            d.constraints
                .into_iter()
                .find(|c| c.kind == Kind::PrimaryKey)
                .and_then(|c| c.name)
        })
    };
    Ok(ReflectedPrimaryKey {
        name,
        columns: rows.into_iter().map(|r| r.0).collect(),
    })
}

pub(super) async fn foreign_keys(conn: &mut Connection, table: &str) -> Result<Vec<ForeignKey>> {
    let rows: Vec<(i64, String, String, Option<String>, String, String)> = conn
        .execute(
            text(
                "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete \
                 FROM pragma_foreign_key_list(:t) ORDER BY id DESC, seq",
            ),
            table_param(table),
        )
        .await?
        .all_as()?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ddl = create_sql(conn, table).await?.unwrap_or_default();
    let mut fks = Vec::new();
    for (_, members) in group(rows.into_iter().map(|r| (r.0, r))) {
        let referred_table = members[0].1.clone();
        let columns: Vec<String> = members.iter().map(|m| m.2.clone()).collect();
        let mut referred_columns: Vec<String> =
            members.iter().filter_map(|m| m.3.clone()).collect();
        if referred_columns.len() != columns.len() {
            // `REFERENCES t` without columns: the referred primary key.
            referred_columns = primary_key(conn, &referred_table).await?.columns;
        }
        let name = ddl
            .constraints
            .iter()
            .find(|c| c.kind == Kind::ForeignKey && same_columns(&c.columns, &columns))
            .and_then(|c| c.name.clone());
        fks.push(ForeignKey {
            name,
            columns,
            referred_table,
            referred_columns,
            on_delete: action(&members[0].5),
            on_update: action(&members[0].4),
        });
    }
    Ok(fks)
}

fn same_columns(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
}

/// Indexes with their origin: `c` (CREATE INDEX), `u` (UNIQUE), `pk`.
pub(super) async fn indexes(
    conn: &mut Connection,
    table: &str,
    uniques: bool,
) -> Result<Vec<(String, Index)>> {
    let list: Vec<(String, bool, String)> = conn
        .execute(
            text("SELECT name, \"unique\", origin FROM pragma_index_list(:t) ORDER BY name"),
            table_param(table),
        )
        .await?
        .all_as()?;
    let mut out = Vec::new();
    for (name, unique, origin) in list {
        if (origin == "u") != uniques || origin == "pk" {
            continue;
        }
        let cols: Vec<Option<String>> = conn
            .execute(
                text("SELECT name FROM pragma_index_info(:i) ORDER BY seqno"),
                Params::new().bind("i", name.clone()),
            )
            .await?
            .scalars()?;
        let Some(columns) = cols.into_iter().collect::<Option<Vec<String>>>() else {
            continue; // an expression index
        };
        out.push((
            name.clone(),
            Index {
                name: Some(name),
                columns,
                unique,
            },
        ));
    }
    Ok(out)
}

pub(super) async fn unique_constraints(
    conn: &mut Connection,
    table: &str,
) -> Result<Vec<UniqueConstraint>> {
    let found = indexes(conn, table, true).await?;
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let ddl = create_sql(conn, table).await?.unwrap_or_default();
    Ok(found
        .into_iter()
        .map(|(_, ix)| {
            let name = ddl
                .constraints
                .iter()
                .find(|c| c.kind == Kind::Unique && same_columns(&c.columns, &ix.columns))
                .and_then(|c| c.name.clone());
            UniqueConstraint {
                name,
                columns: ix.columns,
            }
        })
        .collect())
}

pub(super) async fn check_constraints(
    conn: &mut Connection,
    table: &str,
) -> Result<Vec<CheckConstraint>> {
    let ddl = create_sql(conn, table).await?.unwrap_or_default();
    let mut checks: Vec<CheckConstraint> = ddl
        .constraints
        .into_iter()
        .filter(|c| c.kind == Kind::Check)
        .filter_map(|c| {
            Some(CheckConstraint {
                name: c.name?,
                sql: c.check_sql?,
            })
        })
        .collect();
    checks.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(checks)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    PrimaryKey,
    Unique,
    Check,
    ForeignKey,
}

/// A constraint found in a `CREATE TABLE` statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Constraint {
    pub name: Option<String>,
    pub kind: Kind,
    pub columns: Vec<String>,
    pub check_sql: Option<String>,
}

/// What reflection needs from a `CREATE TABLE` statement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct TableDdl {
    pub constraints: Vec<Constraint>,
    /// `WITHOUT ROWID` follows the column list.
    pub without_rowid: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// A bare word, or a quoted identifier (`"x"`, `` `x` ``, `[x]`).
    Ident {
        text: String,
        quoted: bool,
    },
    /// A string literal.
    Str(String),
    Open,
    Close,
    Comma,
    Other,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

impl Token {
    fn keyword(&self, word: &str) -> bool {
        matches!(&self.tok, Tok::Ident { text, quoted: false } if text.eq_ignore_ascii_case(word))
    }

    fn name(&self) -> Option<String> {
        match &self.tok {
            Tok::Ident { text, .. } | Tok::Str(text) => Some(text.clone()),
            _ => None,
        }
    }
}

fn tokenize(sql: &str) -> Vec<Token> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let tok = match c {
            c if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i = (i + 2).min(b.len());
                continue;
            }
            b'\'' | b'"' | b'`' | b'[' => {
                let close = if c == b'[' { b']' } else { c };
                let mut text = Vec::new();
                i += 1;
                while i < b.len() {
                    if b[i] == close {
                        if close != b']' && b.get(i + 1) == Some(&close) {
                            text.push(close);
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    text.push(b[i]);
                    i += 1;
                }
                i = (i + 1).min(b.len());
                let text = String::from_utf8_lossy(&text).into_owned();
                if c == b'\'' {
                    Tok::Str(text)
                } else {
                    Tok::Ident { text, quoted: true }
                }
            }
            b'(' => {
                i += 1;
                Tok::Open
            }
            b')' => {
                i += 1;
                Tok::Close
            }
            b',' => {
                i += 1;
                Tok::Comma
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 => {
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric()
                        || b[i] == b'_'
                        || b[i] == b'$'
                        || b[i] >= 0x80)
                {
                    i += 1;
                }
                Tok::Ident {
                    text: sql[start..i].to_string(),
                    quoted: false,
                }
            }
            _ => {
                i += 1;
                Tok::Other
            }
        };
        out.push(Token { tok, start, end: i });
    }
    out
}

/// The tokens inside the parenthesised group opening at `open`, and the
/// index just past its close.
fn group_at(tokens: &[Token], open: usize) -> (&[Token], usize) {
    let mut depth = 0;
    for (j, t) in tokens.iter().enumerate().skip(open) {
        match t.tok {
            Tok::Open => depth += 1,
            Tok::Close => {
                depth -= 1;
                if depth == 0 {
                    return (&tokens[open + 1..j], j + 1);
                }
            }
            _ => {}
        }
    }
    (&tokens[(open + 1).min(tokens.len())..], tokens.len())
}

/// The first name of each comma-separated item: `(a, "b c" DESC)` → a, b c.
fn column_list(tokens: &[Token]) -> Vec<String> {
    let mut out = Vec::new();
    let mut take = true;
    for t in tokens {
        match t.tok {
            Tok::Comma => take = true,
            _ if take => {
                if let Some(n) = t.name() {
                    out.push(n);
                }
                take = false;
            }
            _ => {}
        }
    }
    out
}

impl TableDdl {
    pub(super) fn parse(sql: &str) -> TableDdl {
        let tokens = tokenize(sql);
        let Some(open) = tokens.iter().position(|t| t.tok == Tok::Open) else {
            return TableDdl::default();
        };
        let (body, after) = group_at(&tokens, open);
        let without_rowid = tokens[after.min(tokens.len())..]
            .windows(2)
            .any(|w| w[0].keyword("WITHOUT") && w[1].keyword("ROWID"));
        // Split the body into column definitions and table constraints.
        let mut elements: Vec<&[Token]> = Vec::new();
        let mut depth = 0;
        let mut from = 0;
        for (j, t) in body.iter().enumerate() {
            match t.tok {
                Tok::Open => depth += 1,
                Tok::Close => depth -= 1,
                Tok::Comma if depth == 0 => {
                    elements.push(&body[from..j]);
                    from = j + 1;
                }
                _ => {}
            }
        }
        elements.push(&body[from..]);
        let mut constraints = Vec::new();
        for el in elements.into_iter().filter(|e| !e.is_empty()) {
            let table_level = ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"]
                .iter()
                .any(|k| el[0].keyword(k));
            let (column, rest) = if table_level {
                (None, el)
            } else {
                (el[0].name(), &el[1..])
            };
            scan(sql, column, rest, &mut constraints);
        }
        TableDdl {
            constraints,
            without_rowid,
        }
    }
}

/// Find the constraints in one element: a column definition's
/// (`column` is its name) or a table constraint.
fn scan(sql: &str, column: Option<String>, tokens: &[Token], out: &mut Vec<Constraint>) {
    let mut i = 0;
    let mut name: Option<String> = None;
    while i < tokens.len() {
        let t = &tokens[i];
        if t.keyword("CONSTRAINT") {
            name = tokens.get(i + 1).and_then(Token::name);
            i += 2;
            continue;
        }
        let kind = if t.keyword("PRIMARY") {
            Some(Kind::PrimaryKey)
        } else if t.keyword("UNIQUE") {
            Some(Kind::Unique)
        } else if t.keyword("CHECK") {
            Some(Kind::Check)
        } else if t.keyword("FOREIGN") || t.keyword("REFERENCES") {
            Some(Kind::ForeignKey)
        } else {
            None
        };
        let Some(kind) = kind else {
            if matches!(t.tok, Tok::Open) {
                i = group_at(tokens, i).1;
            } else {
                i += 1;
            }
            continue;
        };
        // PRIMARY KEY (…), UNIQUE (…), CHECK (…), FOREIGN KEY (…): the
        // group that follows, if any (a column constraint has none).
        let mut j = i + 1;
        if tokens.get(j).is_some_and(|k| k.keyword("KEY")) {
            j += 1;
        }
        let has_group =
            !t.keyword("REFERENCES") && tokens.get(j).is_some_and(|k| k.tok == Tok::Open);
        let (inner, next) = if has_group {
            group_at(tokens, j)
        } else {
            (&tokens[0..0], j)
        };
        let mut c = Constraint {
            name: name.take(),
            kind,
            columns: match &column {
                Some(c) => vec![c.clone()],
                None => column_list(inner),
            },
            check_sql: None,
        };
        if kind == Kind::Check && has_group {
            if let (Some(first), Some(last)) = (inner.first(), inner.last()) {
                c.check_sql = Some(sql[first.start..last.end].trim().to_string());
            }
            c.columns = Vec::new();
        }
        // Skip a foreign key's REFERENCES clause so it is not read twice.
        let mut next = next;
        if kind == Kind::ForeignKey {
            if tokens.get(next).is_some_and(|k| k.keyword("REFERENCES")) {
                next += 1;
            }
            while next < tokens.len()
                && !["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "NOT", "DEFAULT"]
                    .iter()
                    .any(|k| tokens[next].keyword(k))
            {
                next = if matches!(tokens[next].tok, Tok::Open) {
                    group_at(tokens, next).1
                } else {
                    next + 1
                };
            }
        }
        out.push(c);
        i = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_named_constraints() {
        let ddl = TableDdl::parse(
            "CREATE TABLE \"order\" (\n  id INTEGER CONSTRAINT pk_order PRIMARY KEY AUTOINCREMENT,\n\
             \"select\" TEXT CONSTRAINT uq_sel UNIQUE,\n  [my col é] INT CONSTRAINT fk_x REFERENCES t(id) ON DELETE CASCADE,\n\
             a INT CHECK (a > 0), -- unnamed\n\
             CONSTRAINT ck_order_a CHECK (a < (10 + 1)),\n\
             CONSTRAINT fk_ab FOREIGN KEY (a, \"select\") REFERENCES u (x, y),\n\
             CONSTRAINT uq_ab UNIQUE (a, \"select\")\n)",
        );
        type Found<'a> = (Option<&'a str>, Kind, Vec<&'a str>, Option<&'a str>);
        let got: Vec<Found> = ddl
            .constraints
            .iter()
            .map(|c| {
                (
                    c.name.as_deref(),
                    c.kind,
                    c.columns.iter().map(String::as_str).collect(),
                    c.check_sql.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (Some("pk_order"), Kind::PrimaryKey, vec!["id"], None),
                (Some("uq_sel"), Kind::Unique, vec!["select"], None),
                (Some("fk_x"), Kind::ForeignKey, vec!["my col é"], None),
                (None, Kind::Check, vec![], Some("a > 0")),
                (
                    Some("ck_order_a"),
                    Kind::Check,
                    vec![],
                    Some("a < (10 + 1)")
                ),
                (Some("fk_ab"), Kind::ForeignKey, vec!["a", "select"], None),
                (Some("uq_ab"), Kind::Unique, vec!["a", "select"], None),
            ]
        );
    }

    #[test]
    fn sqlite_types_follow_names_then_affinity() {
        assert_eq!(sql_type("VARCHAR(200)"), SqlType::String(Some(200)));
        assert_eq!(sql_type("numeric(20, 4)"), SqlType::numeric(20, 4));
        assert_eq!(sql_type("CHAR(32)"), SqlType::String(Some(32)));
        assert_eq!(sql_type("DATETIME"), SqlType::datetime());
        assert_eq!(sql_type("BOOLEAN"), SqlType::Boolean);
        assert_eq!(sql_type("JSON"), SqlType::Json);
        assert_eq!(sql_type(""), SqlType::LargeBinary);
        assert_eq!(sql_type("UNSIGNED BIG INT"), SqlType::Integer);
        assert_eq!(sql_type("LONG VARCHAR"), SqlType::Text);
        assert_eq!(sql_type("DOUBLE PRECISION"), SqlType::Float);
        assert_eq!(
            sql_type("MONEY"),
            SqlType::Numeric {
                precision: None,
                scale: None
            }
        );
    }
}
