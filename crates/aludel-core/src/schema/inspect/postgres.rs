//! PostgreSQL: `pg_catalog`, with the table's oid looked up by name in the
//! current schema.

use super::*;

/// The table's oid (NULL when there is no such table): bound by name.
pub(super) const TABLE: &str = "(SELECT c.oid FROM pg_catalog.pg_class c \
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
    WHERE n.nspname = current_schema() AND c.relname = :t AND c.relkind IN ('r', 'p'))";

type ColumnRow = (
    String,
    String,
    String,
    i64,
    bool,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    String,
);

pub(super) async fn columns(conn: &mut Connection, table: &str) -> Result<Vec<ReflectedColumn>> {
    let sql = format!(
        "SELECT a.attname::text, t.typname::text, t.typtype::text, a.atttypmod::int8, \
         a.attnotnull, pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, \
         pg_catalog.col_description(a.attrelid, a.attnum), \
         CASE WHEN t.typtype = 'e' THEN (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder)::text \
           FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid) END, \
         pg_catalog.format_type(a.atttypid, a.atttypmod) \
         FROM pg_catalog.pg_attribute a \
         JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
         LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         WHERE a.attrelid = {TABLE} AND a.attnum > 0 AND NOT a.attisdropped \
         ORDER BY a.attnum"
    );
    let rows: Vec<ColumnRow> = conn
        .execute(text(sql), table_param(table))
        .await?
        .all_as()?;
    Ok(rows
        .into_iter()
        .map(
            |(
                name,
                typname,
                typtype,
                typmod,
                notnull,
                default,
                identity,
                comment,
                labels,
                formatted,
            )| {
                let serial = default
                    .as_deref()
                    .is_some_and(|d| d.starts_with("nextval("));
                let sql_type = if typtype == "e" {
                    let variants: Vec<String> = labels
                        .and_then(|l| serde_json::from_str(&l).ok())
                        .unwrap_or_default();
                    SqlType::Enum {
                        name: typname,
                        variants,
                    }
                } else {
                    sql_type(&typname, typmod)
                };
                ReflectedColumn {
                    name,
                    sql_type,
                    type_name: formatted,
                    nullable: !notnull,
                    default: if serial { None } else { default },
                    autoincrement: serial || !identity.is_empty(),
                    comment,
                }
            },
        )
        .collect())
}

fn sql_type(typname: &str, typmod: i64) -> SqlType {
    let length = (typmod >= 4).then(|| (typmod - 4) as u32);
    match typname {
        "int2" => SqlType::SmallInteger,
        "int4" => SqlType::Integer,
        "int8" => SqlType::BigInteger,
        "bool" => SqlType::Boolean,
        "varchar" | "bpchar" => SqlType::String(length),
        "text" => SqlType::Text,
        "numeric" => match length {
            Some(m) => SqlType::Numeric {
                precision: Some((m >> 16) & 0xffff),
                scale: Some(m & 0xffff),
            },
            None => SqlType::Numeric {
                precision: None,
                scale: None,
            },
        },
        "float4" | "float8" => SqlType::Float,
        "date" => SqlType::Date,
        "time" | "timetz" => SqlType::Time,
        "timestamp" => SqlType::DateTime { timezone: false },
        "timestamptz" => SqlType::DateTime { timezone: true },
        "uuid" => SqlType::Uuid,
        "json" | "jsonb" => SqlType::Json,
        "bytea" => SqlType::LargeBinary,
        _ => SqlType::Text,
    }
}

pub(super) async fn primary_key(conn: &mut Connection, table: &str) -> Result<ReflectedPrimaryKey> {
    let sql = format!(
        "SELECT con.conname::text, a.attname::text FROM pg_catalog.pg_constraint con \
         CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord) \
         JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum \
         WHERE con.conrelid = {TABLE} AND con.contype = 'p' ORDER BY k.ord"
    );
    let rows: Vec<(String, String)> = conn
        .execute(text(sql), table_param(table))
        .await?
        .all_as()?;
    Ok(ReflectedPrimaryKey {
        name: rows.first().map(|r| r.0.clone()),
        columns: rows.into_iter().map(|r| r.1).collect(),
    })
}

pub(super) async fn foreign_keys(conn: &mut Connection, table: &str) -> Result<Vec<ForeignKey>> {
    let sql = format!(
        "SELECT con.conname::text, a.attname::text, rc.relname::text, ra.attname::text, \
         con.confdeltype::text, con.confupdtype::text \
         FROM pg_catalog.pg_constraint con \
         CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(attnum, fattnum, ord) \
         JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum \
         JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid \
         JOIN pg_catalog.pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.fattnum \
         WHERE con.conrelid = {TABLE} AND con.contype = 'f' ORDER BY con.conname, k.ord"
    );
    let rows: Vec<(String, String, String, String, String, String)> = conn
        .execute(text(sql), table_param(table))
        .await?
        .all_as()?;
    Ok(fold_fks(rows))
}

pub(super) async fn indexes(conn: &mut Connection, table: &str) -> Result<Vec<(String, Index)>> {
    let sql = format!(
        "SELECT ic.relname::text, i.indisunique, a.attname::text \
         FROM pg_catalog.pg_index i \
         JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid \
         CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
         LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
         WHERE i.indrelid = {TABLE} AND NOT i.indisprimary AND k.ord <= i.indnkeyatts \
         AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint con \
           WHERE con.conrelid = i.indrelid AND con.conindid = i.indexrelid \
           AND con.contype IN ('p', 'u', 'x')) \
         ORDER BY ic.relname, k.ord"
    );
    let rows: Vec<(String, bool, Option<String>)> = conn
        .execute(text(sql), table_param(table))
        .await?
        .all_as()?;
    Ok(fold_indexes(rows.into_iter().map(|(n, u, c)| (n, (u, c)))))
}

pub(super) async fn unique_constraints(
    conn: &mut Connection,
    table: &str,
) -> Result<Vec<UniqueConstraint>> {
    let sql = format!(
        "SELECT con.conname::text, a.attname::text FROM pg_catalog.pg_constraint con \
         CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord) \
         JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum \
         WHERE con.conrelid = {TABLE} AND con.contype = 'u' ORDER BY con.conname, k.ord"
    );
    let rows: Vec<(String, String)> = conn
        .execute(text(sql), table_param(table))
        .await?
        .all_as()?;
    Ok(group(rows)
        .into_iter()
        .map(|(name, columns)| UniqueConstraint {
            name: Some(name),
            columns,
        })
        .collect())
}

pub(super) async fn check_constraints(
    conn: &mut Connection,
    table: &str,
) -> Result<Vec<CheckConstraint>> {
    let sql = format!(
        "SELECT con.conname::text, pg_catalog.pg_get_constraintdef(con.oid, true) \
         FROM pg_catalog.pg_constraint con \
         WHERE con.conrelid = {TABLE} AND con.contype = 'c' ORDER BY con.conname"
    );
    let rows: Vec<(String, String)> = conn
        .execute(text(sql), table_param(table))
        .await?
        .all_as()?;
    Ok(rows
        .into_iter()
        .map(|(name, def)| CheckConstraint {
            name,
            sql: strip_check(&def),
        })
        .collect())
}
