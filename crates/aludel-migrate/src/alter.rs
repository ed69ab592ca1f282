//! `ALTER TABLE` forms Aludel Core's DDL compiler does not have yet:
//! altering a column per dialect, and the refusal of constraint changes
//! on SQLite (which needs a table rebuild).

use aludel_core::schema::ServerDefault;
use aludel_core::url::Backend;
use aludel_core::{params, text, Connection, Dialect, Error, ErrorKind, Result};

use crate::ops::AlterColumn;

/// An error for `op` on SQLite, which cannot change a table's
/// constraints or columns in place.
pub(crate) fn no_sqlite(dialect: &Dialect, op: &str, table: &str) -> Result<()> {
    if dialect.backend() != Backend::Sqlite {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Unsupported,
        format!(
            "{op} on table \"{table}\": sqlite cannot change a table's constraints or column \
             definitions in place; it needs the table rebuilt (batch mode: create the new table, \
             copy the rows, drop the old one, rename), which aludel-migrate does not do yet; \
             write those ops in the revision instead"
        ),
    )
    .with_table(Some(table.to_string())))
}

fn render_default(dialect: &Dialect, d: &ServerDefault) -> Result<String> {
    match d {
        ServerDefault::Value(v) => dialect.render_literal(v),
        ServerDefault::Sql(s) => Ok(s.clone()),
        _ => Err(Error::new(
            ErrorKind::Unsupported,
            "unknown kind of server default",
        )),
    }
}

/// The statements that apply `change` to `table`.`column`.
pub(crate) async fn alter_column(
    conn: &mut Connection,
    table: &str,
    column: &str,
    change: &AlterColumn,
) -> Result<Vec<String>> {
    let dialect = conn.dialect().clone();
    let q = |s: &str| dialect.quote_identifier(s);
    let (t, c) = (q(table), q(column));
    let mut out = Vec::new();
    match dialect.backend() {
        Backend::Postgres => {
            if let Some(ty) = &change.sql_type {
                let ty = dialect.column_type(ty, column)?;
                out.push(format!("ALTER TABLE {t} ALTER COLUMN {c} TYPE {ty}"));
            }
            if let Some(n) = change.nullable {
                let verb = if n { "DROP" } else { "SET" };
                out.push(format!("ALTER TABLE {t} ALTER COLUMN {c} {verb} NOT NULL"));
            }
            match &change.default {
                Some(Some(d)) => out.push(format!(
                    "ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT {}",
                    render_default(&dialect, d)?
                )),
                Some(None) => out.push(format!("ALTER TABLE {t} ALTER COLUMN {c} DROP DEFAULT")),
                None => {}
            }
            if let Some(n) = &change.new_name {
                out.push(format!("ALTER TABLE {t} RENAME COLUMN {c} TO {}", q(n)));
            }
        }
        Backend::Mysql => out.push(mysql_change(conn, &dialect, table, column, change).await?),
        _ => {
            let only_rename =
                change.sql_type.is_none() && change.nullable.is_none() && change.default.is_none();
            match &change.new_name {
                Some(n) if only_rename => {
                    out.push(format!("ALTER TABLE {t} RENAME COLUMN {c} TO {}", q(n)))
                }
                _ => no_sqlite(&dialect, "alter_column", table)?,
            }
        }
    }
    Ok(out)
}

/// MySQL restates the whole column in `CHANGE COLUMN`: what the change
/// leaves alone is read from `information_schema`.
async fn mysql_change(
    conn: &mut Connection,
    dialect: &Dialect,
    table: &str,
    column: &str,
    change: &AlterColumn,
) -> Result<String> {
    type Existing = (String, String, Option<String>, String, String);
    let found: Option<Existing> = conn
        .execute(
            text(
                "SELECT COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, COLUMN_COMMENT \
                 FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :t AND COLUMN_NAME = :c",
            ),
            params! { "t": table.to_string(), "c": column.to_string() },
        )
        .await?
        .all_as::<Existing>()?
        .into_iter()
        .next();
    let Some((ty, nullable, default, extra, comment)) = found else {
        return Err(Error::new(
            ErrorKind::Syntax,
            format!("alter_column: no column \"{column}\" on table \"{table}\""),
        )
        .with_table(Some(table.to_string()))
        .with_column(Some(column.to_string())));
    };
    let q = |s: &str| dialect.quote_identifier(s);
    let name = change.new_name.as_deref().unwrap_or(column);
    let ty = match &change.sql_type {
        Some(t) => dialect.column_type(t, column)?,
        None => ty,
    };
    let mut def = format!(
        "ALTER TABLE {} CHANGE COLUMN {} {} {ty}",
        q(table),
        q(column),
        q(name)
    );
    let nullable = change.nullable.unwrap_or(nullable == "YES");
    def.push_str(if nullable { " NULL" } else { " NOT NULL" });
    let default = match &change.default {
        Some(Some(d)) => Some(render_default(dialect, d)?),
        Some(None) => None,
        // MariaDB reports defaults as SQL (strings quoted, NULL as NULL);
        // MySQL reports the bare value, or the expression for generated
        // defaults.
        None => match default {
            Some(d) if dialect.is_mariadb() => (d != "NULL").then_some(d),
            Some(d) if extra.contains("DEFAULT_GENERATED") => Some(d),
            Some(d) => Some(dialect.render_literal(&d.into())?),
            None => None,
        },
    };
    if let Some(d) = default {
        def.push_str(" DEFAULT ");
        def.push_str(&d);
    }
    if extra.to_ascii_lowercase().contains("auto_increment") {
        def.push_str(" AUTO_INCREMENT");
    }
    if !comment.is_empty() {
        def.push_str(" COMMENT ");
        def.push_str(&dialect.render_literal(&comment.into())?);
    }
    Ok(def)
}
