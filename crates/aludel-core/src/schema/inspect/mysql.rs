//! MySQL and MariaDB: `information_schema`, in the current database.

use super::*;

type ColumnRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

pub(super) async fn columns(conn: &mut Connection, table: &str) -> Result<Vec<ReflectedColumn>> {
    let sql = "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, \
         COLUMN_COMMENT, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE \
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :t \
         ORDER BY ORDINAL_POSITION";
    let rows: Vec<ColumnRow> = conn
        .execute(text(sql), table_param(table))
        .await?
        .all_as()?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mariadb = conn.dialect().is_mariadb();
    let json_checks: Vec<CheckConstraint> = if mariadb {
        check_constraints(conn, table)
            .await?
            .into_iter()
            .filter(is_json_check)
            .collect()
    } else {
        Vec::new()
    };
    Ok(rows
        .into_iter()
        .map(
            |(
                name,
                data_type,
                column_type,
                nullable,
                default,
                extra,
                comment,
                length,
                precision,
                scale,
            )| {
                let data_type = data_type.to_ascii_lowercase();
                let json = json_checks.iter().any(|ck| ck.name == name);
                let sql_type = if json {
                    SqlType::Json
                } else {
                    sql_type(&name, &data_type, &column_type, length, precision, scale)
                };
                let default = default.filter(|d| !(mariadb && d == "NULL")).map(|d| {
                    if mariadb || is_expression_default(&d, &extra) || is_number(&data_type) {
                        d
                    } else {
                        // MySQL reports literal defaults unquoted.
                        format!("'{}'", d.replace('\'', "''"))
                    }
                });
                ReflectedColumn {
                    name,
                    sql_type,
                    type_name: column_type,
                    nullable: nullable.eq_ignore_ascii_case("YES"),
                    default,
                    autoincrement: extra.to_ascii_lowercase().contains("auto_increment"),
                    comment: comment.filter(|c| !c.is_empty()),
                }
            },
        )
        .collect())
}

fn is_expression_default(d: &str, extra: &str) -> bool {
    extra.to_ascii_uppercase().contains("DEFAULT_GENERATED")
        || d.to_ascii_uppercase().starts_with("CURRENT_TIMESTAMP")
}

fn is_number(data_type: &str) -> bool {
    matches!(
        data_type,
        "tinyint"
            | "smallint"
            | "mediumint"
            | "int"
            | "integer"
            | "bigint"
            | "decimal"
            | "numeric"
            | "float"
            | "double"
            | "real"
            | "bit"
    )
}

fn to_u32(v: Option<i64>) -> Option<u32> {
    v.and_then(|v| u32::try_from(v).ok())
}

fn sql_type(
    name: &str,
    data_type: &str,
    column_type: &str,
    length: Option<i64>,
    precision: Option<i64>,
    scale: Option<i64>,
) -> SqlType {
    let original = column_type;
    let column_type = column_type.to_ascii_lowercase();
    match data_type {
        "tinyint" if column_type.starts_with("tinyint(1)") => SqlType::Boolean,
        "bool" | "boolean" => SqlType::Boolean,
        "tinyint" | "smallint" => SqlType::SmallInteger,
        "mediumint" | "int" | "integer" => SqlType::Integer,
        "bigint" => SqlType::BigInteger,
        "varchar" | "char" => SqlType::String(to_u32(length)),
        "tinytext" | "text" | "mediumtext" | "longtext" => SqlType::Text,
        "decimal" | "numeric" => SqlType::Numeric {
            precision: to_u32(precision),
            scale: to_u32(scale),
        },
        "double" | "float" | "real" => SqlType::Float,
        "date" => SqlType::Date,
        "time" => SqlType::Time,
        "datetime" | "timestamp" => SqlType::DateTime { timezone: false },
        "json" => SqlType::Json,
        "uuid" => SqlType::Uuid,
        "tinyblob" | "blob" | "mediumblob" | "longblob" | "binary" | "varbinary" => {
            SqlType::LargeBinary
        }
        "enum" => SqlType::Enum {
            name: name.to_string(),
            variants: enum_labels(original),
        },
        _ => SqlType::Text,
    }
}

/// The labels of `enum('a','b''c')`.
pub(super) fn enum_labels(column_type: &str) -> Vec<String> {
    let Some(start) = column_type.find('(') else {
        return Vec::new();
    };
    let body = &column_type[start + 1..];
    let mut labels = Vec::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            if c == ')' {
                break;
            }
            continue;
        }
        let mut label = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\'' if chars.peek() == Some(&'\'') => {
                    chars.next();
                    label.push('\'');
                }
                '\'' => break,
                '\\' => {
                    if let Some(n) = chars.next() {
                        label.push(n);
                    }
                }
                c => label.push(c),
            }
        }
        labels.push(label);
    }
    labels
}

/// MariaDB's check behind a JSON column: named after the column,
/// `json_valid(`column`)`.
pub(super) fn is_json_check(ck: &CheckConstraint) -> bool {
    let clause: String = ck.sql.chars().filter(|c| !c.is_whitespace()).collect();
    let quoted = crate::Dialect::new(Backend::Mysql).quote_identifier(&ck.name);
    clause.eq_ignore_ascii_case(&format!("json_valid({quoted})"))
}

pub(super) async fn primary_key(conn: &mut Connection, table: &str) -> Result<ReflectedPrimaryKey> {
    let sql = "SELECT COLUMN_NAME FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :t AND INDEX_NAME = 'PRIMARY' \
         ORDER BY SEQ_IN_INDEX";
    let columns: Vec<String> = conn
        .execute(text(sql), table_param(table))
        .await?
        .scalars()?;
    Ok(ReflectedPrimaryKey {
        name: None,
        columns,
    })
}

pub(super) async fn foreign_keys(conn: &mut Connection, table: &str) -> Result<Vec<ForeignKey>> {
    let sql = "SELECT k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, \
         k.REFERENCED_COLUMN_NAME, r.DELETE_RULE, r.UPDATE_RULE \
         FROM information_schema.KEY_COLUMN_USAGE k \
         JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
           ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
           AND r.TABLE_NAME = k.TABLE_NAME \
         WHERE k.TABLE_SCHEMA = DATABASE() AND k.TABLE_NAME = :t \
           AND k.REFERENCED_TABLE_NAME IS NOT NULL \
         ORDER BY k.CONSTRAINT_NAME, k.ORDINAL_POSITION";
    let rows: Vec<(String, String, String, String, String, String)> = conn
        .execute(text(sql), table_param(table))
        .await?
        .all_as()?;
    let mut fks = fold_fks(rows);
    // RESTRICT is MySQL's default and means NO ACTION there.
    for fk in &mut fks {
        for a in [&mut fk.on_delete, &mut fk.on_update] {
            if *a == Some(ReferentialAction::Restrict) {
                *a = None;
            }
        }
    }
    Ok(fks)
}

async fn statistics(conn: &mut Connection, table: &str) -> Result<Vec<(String, Index)>> {
    let sql = "SELECT INDEX_NAME, NON_UNIQUE = 0, COLUMN_NAME FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :t AND INDEX_NAME <> 'PRIMARY' \
         ORDER BY INDEX_NAME, SEQ_IN_INDEX";
    let rows: Vec<(String, bool, Option<String>)> = conn
        .execute(text(sql), table_param(table))
        .await?
        .all_as()?;
    Ok(fold_indexes(rows.into_iter().map(|(n, u, c)| (n, (u, c)))))
}

pub(super) async fn indexes(conn: &mut Connection, table: &str) -> Result<Vec<(String, Index)>> {
    let fks = foreign_keys(conn, table).await?;
    Ok(statistics(conn, table)
        .await?
        .into_iter()
        .filter(|(name, ix)| {
            !ix.unique
                && !fks
                    .iter()
                    .any(|fk| fk.name.as_deref() == Some(name) && fk.columns == ix.columns)
        })
        .collect())
}

pub(super) async fn unique_constraints(
    conn: &mut Connection,
    table: &str,
) -> Result<Vec<UniqueConstraint>> {
    Ok(statistics(conn, table)
        .await?
        .into_iter()
        .filter(|(_, ix)| ix.unique)
        .map(|(_, ix)| UniqueConstraint {
            name: ix.name,
            columns: ix.columns,
        })
        .collect())
}

pub(super) async fn check_constraints(
    conn: &mut Connection,
    table: &str,
) -> Result<Vec<CheckConstraint>> {
    let sql = if conn.dialect().is_mariadb() {
        "SELECT CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
         WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = :t ORDER BY CONSTRAINT_NAME"
    } else {
        "SELECT cc.CONSTRAINT_NAME, cc.CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS cc \
         JOIN information_schema.TABLE_CONSTRAINTS tc \
           ON tc.CONSTRAINT_SCHEMA = cc.CONSTRAINT_SCHEMA AND tc.CONSTRAINT_NAME = cc.CONSTRAINT_NAME \
         WHERE tc.TABLE_SCHEMA = DATABASE() AND tc.TABLE_NAME = :t \
           AND tc.CONSTRAINT_TYPE = 'CHECK' ORDER BY cc.CONSTRAINT_NAME"
    };
    let rows: Vec<(String, String)> = conn
        .execute(text(sql), table_param(table))
        .await?
        .all_as()?;
    Ok(rows
        .into_iter()
        .map(|(name, clause)| CheckConstraint {
            name,
            sql: unwrap_parens(&clause).to_string(),
        })
        .collect())
}
