//! Values: every type Aludel binds and reads, round-tripped through a real
//! column of each backend's own type, NULL included. Where a backend stores a
//! type its own way (booleans as integers, UUIDs as hex text, instants without
//! a zone), the raw stored [`Value`] is asserted too.

use std::fmt::Debug;

use aludel::types::chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use aludel::types::serde_json::{self, json};
use aludel::types::{Decimal, Uuid};
use aludel::{params, text, Connection, ErrorKind, FromRow, FromValue, Value};

use crate::harness::{Kind, TestDb};

/// A column's SQL type on each backend.
#[derive(Clone, Copy, Debug)]
struct Ty {
    sqlite: &'static str,
    postgres: &'static str,
    mysql: &'static str,
}

impl Ty {
    fn on(&self, kind: Kind) -> &'static str {
        match kind {
            Kind::Sqlite => self.sqlite,
            Kind::Postgres => self.postgres,
            Kind::Mysql => self.mysql,
        }
    }
}

const fn ty(sqlite: &'static str, postgres: &'static str, mysql: &'static str) -> Ty {
    Ty {
        sqlite,
        postgres,
        mysql,
    }
}

const TEXT: Ty = ty("TEXT", "TEXT", "TEXT");
const SMALLINT: Ty = ty("SMALLINT", "SMALLINT", "SMALLINT");
const INTEGER: Ty = ty("INTEGER", "INTEGER", "INT");
const BIGINT: Ty = ty("BIGINT", "BIGINT", "BIGINT");
const REAL: Ty = ty("REAL", "REAL", "FLOAT");
const DOUBLE: Ty = ty("DOUBLE PRECISION", "DOUBLE PRECISION", "DOUBLE");
const BOOLEAN: Ty = ty("BOOLEAN", "BOOLEAN", "BOOLEAN");
const BYTES: Ty = ty("BLOB", "BYTEA", "LONGBLOB");
// SQLite's NUMERIC affinity turns well-formed numeric text into a REAL (15
// significant digits), so an exact decimal needs a TEXT-affinity column there;
// `decimals` asserts what NUMERIC(30,8) does to it.
const DECIMAL: Ty = ty("VARCHAR(40)", "NUMERIC(30,8)", "DECIMAL(30,8)");
const DATE: Ty = ty("DATE", "DATE", "DATE");
const TIME: Ty = ty("TIME", "TIME", "TIME(6)");
const DATETIME: Ty = ty("TIMESTAMP", "TIMESTAMP", "DATETIME(6)");
const DATETIME_TZ: Ty = ty("TIMESTAMP", "TIMESTAMPTZ", "DATETIME(6)");
const UUID: Ty = ty("CHAR(32)", "UUID", "CHAR(32)");
const JSON: Ty = ty("JSON", "JSONB", "JSON");

/// Create `table (id, v <ty>)`, insert each input with a bound parameter and
/// then a NULL, and read every row back: each as `O` must equal its expected
/// value, also through `Option<O>`, and the NULL must read as `None` (and fail
/// as a bare `O`). Returns the raw stored values, NULL last.
async fn round_trip_as<I, O>(
    db: &TestDb,
    conn: &mut Connection,
    table: &str,
    ty: Ty,
    cases: Vec<(I, O)>,
) -> aludel::Result<Vec<Value>>
where
    I: Into<Value> + Clone,
    O: FromValue + PartialEq + Debug + Clone,
{
    let sql_type = ty.on(db.kind);
    conn.execute(
        text(format!(
            "CREATE TABLE {table} (id INTEGER PRIMARY KEY, v {sql_type})"
        )),
        (),
    )
    .await?;
    let insert = text(format!("INSERT INTO {table} (id, v) VALUES (:id, :v)"));
    for (i, (input, _)) in cases.iter().enumerate() {
        conn.execute(&insert, params! { "id": i as i64 + 1, "v": input.clone() })
            .await?;
    }
    let null_id = cases.len() as i64 + 1;
    conn.execute(&insert, params! { "id": null_id, "v": None::<I> })
        .await?;
    conn.commit().await?;

    let rows = conn
        .execute(text(format!("SELECT v FROM {table} ORDER BY id")), ())
        .await?
        .all()?;
    assert_eq!(rows.len(), cases.len() + 1, "{table} on {:?}", db.kind);
    let ctx = |i: usize| format!("{table} row {} as {sql_type} on {:?}", i + 1, db.kind);
    for (i, (_, expected)) in cases.iter().enumerate() {
        let raw = rows[i].value(0)?;
        assert_eq!(
            &rows[i].get::<O, _>("v")?,
            expected,
            "{} (stored {raw:?})",
            ctx(i)
        );
        assert_eq!(
            rows[i].get::<Option<O>, _>(0)?.as_ref(),
            Some(expected),
            "{}",
            ctx(i)
        );
    }
    let null = &rows[cases.len()];
    assert_eq!(null.value(0)?, &Value::Null, "{}", ctx(cases.len()));
    assert_eq!(null.get::<Option<O>, _>(0)?, None, "{}", ctx(cases.len()));
    let err = assert_err!(null.get::<O, _>(0), ErrorKind::Decode);
    assert!(err.to_string().contains("Option"), "{err}");

    // Decoded whole rows at a time (`all_as`, `one_as`): on PostgreSQL the
    // driver's cells go straight into the fields without a Value; the
    // answers and errors must be the same.
    let expected: Vec<(Option<O>,)> = cases
        .iter()
        .map(|(_, o)| (Some(o.clone()),))
        .chain([(None,)])
        .collect();
    let select = text(format!("SELECT v FROM {table} ORDER BY id"));
    let whole: Vec<(Option<O>,)> = conn.execute(&select, ()).await?.all_as()?;
    assert_eq!(whole, expected, "{table} by all_as on {:?}", db.kind);
    let mut streamed = Vec::new();
    let mut stream = conn.stream(&select, ()).await?.typed::<(Option<O>,)>();
    while let Some(row) = stream.try_next().await? {
        streamed.push(row);
    }
    drop(stream);
    assert_eq!(streamed, expected, "{table} streamed on {:?}", db.kind);
    let by_id = text(format!("SELECT v FROM {table} WHERE id = :id"));
    for (i, (_, o)) in cases.iter().enumerate() {
        let (got,): (O,) = conn
            .execute(&by_id, params! { "id": i as i64 + 1 })
            .await?
            .one_as()?;
        assert_eq!(&got, o, "{} by one_as", ctx(i));
    }
    let null_row = conn.execute(&by_id, params! { "id": null_id }).await?;
    let err = assert_err!(null_row.one_as::<(O,)>(), ErrorKind::Decode);
    assert!(
        err.to_string().contains("Option") && err.to_string().contains("\"v\""),
        "{err}"
    );
    Ok(rows
        .into_iter()
        .map(|r| r.into_values().remove(0))
        .collect())
}

/// [`round_trip_as`] where what goes in is what comes out.
async fn round_trip<T>(
    db: &TestDb,
    conn: &mut Connection,
    table: &str,
    ty: Ty,
    values: &[T],
) -> aludel::Result<Vec<Value>>
where
    T: Into<Value> + FromValue + PartialEq + Debug + Clone,
{
    let cases = values.iter().map(|v| (v.clone(), v.clone())).collect();
    round_trip_as(db, conn, table, ty, cases).await
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn time(h: u32, m: u32, s: u32, us: u32) -> NaiveTime {
    NaiveTime::from_hms_micro_opt(h, m, s, us).expect("valid time")
}

fn datetime(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, us: u32) -> NaiveDateTime {
    date(y, mo, d).and_time(time(h, mi, s, us))
}

fn dec(s: &str) -> Decimal {
    s.parse().expect("valid decimal")
}

async fn text_and_null(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    let values = [
        String::new(),
        "plain ascii".to_string(),
        "héllo wörld, ñ, ß".to_string(),
        "中文 日本語 한국어".to_string(),
        // Outside the Basic Multilingual Plane: four bytes in UTF-8, which
        // MySQL's three-byte `utf8` would reject.
        "emoji 😀🎉 and a clef 𝄞".to_string(),
        "quotes ' \" \\ and :colons :x and ? marks".to_string(),
        "tabs\tand\nnewlines\r\n".to_string(),
        "x".repeat(10_000),
    ];
    let raw = round_trip(&db, &mut conn, "texts", TEXT, &values).await?;
    // The empty string is a value, not NULL, on all three.
    assert_eq!(raw[0], Value::String(String::new()));
    assert_eq!(raw[4].as_str(), Some("emoji 😀🎉 and a clef 𝄞"));
    assert_eq!("𝄞".len(), 4);
    // &str binds too, and a bound NULL compares as NULL.
    let n: i64 = conn
        .execute(
            text("SELECT count(*) FROM texts WHERE v = :v"),
            params! { "v": "emoji 😀🎉 and a clef 𝄞" },
        )
        .await?
        .scalar_one()?;
    assert_eq!(n, 1);
    let n: i64 = conn
        .execute(
            text("SELECT count(*) FROM texts WHERE v IS NULL"),
            params! {},
        )
        .await?
        .scalar_one()?;
    assert_eq!(n, 1);
    Ok(())
}

async fn integers(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    let raw = round_trip(
        &db,
        &mut conn,
        "bigints",
        BIGINT,
        &[i64::MIN, -1, 0, 1, i64::MAX],
    )
    .await?;
    assert_eq!(raw[0], Value::I64(i64::MIN));
    assert_eq!(raw[4], Value::I64(i64::MAX));

    let raw = round_trip(
        &db,
        &mut conn,
        "ints",
        INTEGER,
        &[i32::MIN, -7, 0, i32::MAX],
    )
    .await?;
    // PostgreSQL keeps the column's width; SQLite has one INTEGER storage
    // class, and mysql_async reads every integer column as an i64.
    let want = match db.kind {
        Kind::Postgres => Value::I32(i32::MAX),
        Kind::Sqlite | Kind::Mysql => Value::I64(i32::MAX as i64),
    };
    assert_eq!(raw[3], want);

    let raw = round_trip(
        &db,
        &mut conn,
        "smallints",
        SMALLINT,
        &[i16::MIN, 0, i16::MAX],
    )
    .await?;
    let want = match db.kind {
        Kind::Postgres => Value::I16(i16::MIN),
        Kind::Sqlite | Kind::Mysql => Value::I64(i16::MIN as i64),
    };
    assert_eq!(raw[0], want);

    // Narrower and wider Rust types read the same columns, range-checked.
    let row = conn
        .execute(text("SELECT v FROM smallints WHERE id = 3"), ())
        .await?
        .one()?;
    assert_eq!(row.get::<i64, _>(0)?, i16::MAX as i64);
    assert_eq!(row.get::<i32, _>(0)?, i16::MAX as i32);
    assert_eq!(row.get::<u16, _>(0)?, i16::MAX as u16);
    assert_err!(row.get::<i8, _>(0), ErrorKind::Decode);
    Ok(())
}

async fn floats(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    let raw = round_trip(
        &db,
        &mut conn,
        "doubles",
        DOUBLE,
        &[0.1 + 0.2, -1.0e300, 1.0e-300, 1.0 / 3.0, 0.0, 42.0],
    )
    .await?;
    assert_eq!(raw[0], Value::F64(0.30000000000000004));

    let singles = [1.5_f32, -0.1, 1.0e-30, 123_456.79, 3.0e38];
    let raw = round_trip(&db, &mut conn, "singles", REAL, &singles).await?;
    // SQLite has one 8-byte REAL storage class.
    let want = match db.kind {
        Kind::Sqlite => Value::F64(-0.1_f32 as f64),
        Kind::Postgres | Kind::Mysql => Value::F32(-0.1),
    };
    assert_eq!(raw[1], want);
    Ok(())
}

async fn booleans(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    let raw = round_trip(&db, &mut conn, "flags", BOOLEAN, &[true, false]).await?;
    // Only PostgreSQL has a boolean type: MariaDB's BOOLEAN is TINYINT(1) and
    // SQLite's has INTEGER storage; both hold 1 and 0.
    let want = match db.kind {
        Kind::Postgres => [Value::Bool(true), Value::Bool(false)],
        Kind::Sqlite | Kind::Mysql => [Value::I64(1), Value::I64(0)],
    };
    assert_eq!(raw[..2], want);
    let result = conn
        .execute(text("SELECT v FROM flags WHERE id = 1"), ())
        .await?;
    let want_type = match db.kind {
        Kind::Postgres => "BOOL",
        Kind::Sqlite => "BOOLEAN",
        Kind::Mysql => "TINYINT",
    };
    assert_eq!(result.columns()[0].type_name(), want_type);
    // Where it is an integer, other integers are not booleans.
    if db.kind != Kind::Postgres {
        conn.execute(text("UPDATE flags SET v = 2 WHERE id = 1"), ())
            .await?;
        let row = conn
            .execute(text("SELECT v FROM flags WHERE id = 1"), ())
            .await?
            .one()?;
        assert_eq!(row.get::<i64, _>(0)?, 2);
        let err = assert_err!(row.get::<bool, _>(0), ErrorKind::Decode);
        assert!(err.to_string().contains("not a boolean"), "{err}");
    }
    Ok(())
}

async fn bytes(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    let every_byte: Vec<u8> = (0..=255).collect();
    let values = vec![
        Vec::new(),
        vec![0x00],
        vec![0xFF],
        vec![0x00, 0xFF, 0x00, 0xFF],
        b"not utf-8: \xC3\x28 \x80".to_vec(),
        every_byte.clone(),
        every_byte.repeat(1000),
    ];
    let raw = round_trip(&db, &mut conn, "blobs", BYTES, &values).await?;
    assert_eq!(raw[0], Value::Bytes(Vec::new()), "empty, not NULL");
    assert_eq!(raw[5], Value::Bytes(every_byte));
    Ok(())
}

async fn decimals(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    let big = dec("12345678901234567890.12345678");
    let values = [
        big,
        -big,
        dec("0.00000001"),
        dec("0"),
        dec("-1.5"),
        dec("99999999999999999999.99999999"),
    ];
    let raw = round_trip(&db, &mut conn, "decimals", DECIMAL, &values).await?;
    match db.kind {
        Kind::Postgres | Kind::Mysql => {
            assert_eq!(raw[0], Value::Decimal(big));
            // NUMERIC(30,8) keeps its scale: 8 digits after the point.
            let Value::Decimal(d) = &raw[4] else {
                panic!("{:?}", raw[4])
            };
            assert_eq!(d.to_string(), "-1.50000000");
        }
        Kind::Sqlite => assert_eq!(raw[0], Value::String(big.to_string())),
    }
    // All 28 digits survive as text.
    let row = conn
        .execute(text("SELECT v FROM decimals WHERE id = 1"), ())
        .await?
        .one()?;
    assert_eq!(
        row.get::<String, _>(0)?.trim_end_matches('0'),
        "12345678901234567890.12345678"
    );

    // NUMERIC(30,8) on SQLite is NUMERIC affinity: the text Aludel binds is
    // well-formed, so SQLite stores it as an 8-byte REAL and the low digits
    // are gone. The two servers keep them all.
    conn.execute(text("CREATE TABLE numerics (v NUMERIC(30,8))"), ())
        .await?;
    conn.execute(
        text("INSERT INTO numerics (v) VALUES (:v)"),
        params! { "v": big },
    )
    .await?;
    let v = conn
        .execute(text("SELECT v FROM numerics"), ())
        .await?
        .scalar_one::<Value>()?;
    match db.kind {
        Kind::Sqlite => {
            assert_eq!(v, Value::F64(12345678901234567890.12345678));
            assert_ne!(Decimal::from_value(v).unwrap(), big);
        }
        Kind::Postgres | Kind::Mysql => assert_eq!(v, Value::Decimal(big)),
    }

    // Forty digits are more than a Decimal holds (28): they are bound from a
    // String and read back as text on every backend, never rounded.
    let wide = "12345678901234567890.12345678901234567890";
    let wide_ty = ty("VARCHAR(60)", "NUMERIC(40,20)", "DECIMAL(40,20)");
    conn.execute(
        text(format!("CREATE TABLE wide (v {})", wide_ty.on(db.kind))),
        (),
    )
    .await?;
    conn.execute(
        text("INSERT INTO wide (v) VALUES (:v)"),
        params! { "v": wide },
    )
    .await?;
    let row = conn.execute(text("SELECT v FROM wide"), ()).await?.one()?;
    assert_eq!(row.value(0)?, &Value::String(wide.into()));
    assert_eq!(row.get::<String, _>(0)?, wide);
    let err = assert_err!(row.get::<Decimal, _>(0), ErrorKind::Decode);
    assert!(err.to_string().contains("more significant digits"), "{err}");
    assert_eq!(row.get::<f64, _>(0)?, 12345678901234567890.123456789);

    if db.kind == Kind::Postgres {
        // NaN is a NUMERIC too: text, and a float.
        let row = conn
            .execute(
                text("SELECT 'NaN'::numeric AS n, 1e300::numeric AS big"),
                (),
            )
            .await?
            .one()?;
        assert_eq!(row.value("n")?, &Value::String("NaN".into()));
        assert!(row.get::<f64, _>("n")?.is_nan());
        assert_eq!(row.get::<f64, _>("big")?, 1e300);
        assert_err!(row.get::<Decimal, _>("big"), ErrorKind::Decode);
    }
    conn.commit().await?;
    Ok(())
}

async fn dates_and_times(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    let dates = [date(1970, 1, 1), date(2024, 2, 29), date(9999, 12, 31)];
    let raw = round_trip(&db, &mut conn, "dates", DATE, &dates).await?;
    let want = match db.kind {
        Kind::Sqlite => Value::String("2024-02-29".into()),
        Kind::Postgres | Kind::Mysql => Value::Date(dates[1]),
    };
    assert_eq!(raw[1], want);

    let times = [
        time(0, 0, 0, 0),
        time(12, 30, 5, 1),
        time(23, 59, 59, 999_999),
    ];
    let raw = round_trip(&db, &mut conn, "times", TIME, &times).await?;
    let want = match db.kind {
        Kind::Sqlite => Value::String("23:59:59.999999".into()),
        Kind::Postgres | Kind::Mysql => Value::Time(times[2]),
    };
    assert_eq!(raw[2], want);

    let datetimes = [
        datetime(2024, 2, 29, 23, 59, 58, 123_456),
        datetime(1999, 12, 31, 0, 0, 0, 0),
        datetime(2038, 1, 19, 3, 14, 8, 1),
        datetime(1900, 1, 1, 12, 0, 0, 500_000),
    ];
    let raw = round_trip(&db, &mut conn, "datetimes", DATETIME, &datetimes).await?;
    let want = match db.kind {
        Kind::Sqlite => Value::String("2024-02-29 23:59:58.123456".into()),
        Kind::Postgres | Kind::Mysql => Value::DateTime(datetimes[0]),
    };
    assert_eq!(raw[0], want);
    Ok(())
}

async fn datetimes_with_time_zone(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    let ist = FixedOffset::east_opt(5 * 3600 + 1800).unwrap();
    let pdt = FixedOffset::west_opt(7 * 3600).unwrap();
    let local = datetime(2024, 2, 29, 23, 59, 58, 123_456);
    let in_india = local.and_local_timezone(ist).unwrap();
    let in_california = local.and_local_timezone(pdt).unwrap();
    let utc = datetime(2024, 2, 29, 18, 29, 58, 123_456).and_utc();
    assert_eq!(in_india, utc);
    let cases = vec![
        (in_india, utc),
        (
            in_california,
            datetime(2024, 3, 1, 6, 59, 58, 123_456).and_utc(),
        ),
        (utc.fixed_offset(), utc),
    ];
    let raw = round_trip_as(&db, &mut conn, "instants", DATETIME_TZ, cases).await?;
    // Only PostgreSQL has a zone-aware type; Aludel writes instants in UTC on
    // the other two: MariaDB's DATETIME holds the UTC wall time, SQLite text
    // with a +00:00 offset.
    let want = match db.kind {
        Kind::Postgres => Value::DateTimeTz(utc),
        Kind::Mysql => Value::DateTime(utc.naive_utc()),
        Kind::Sqlite => Value::String("2024-02-29 18:29:58.123456+00:00".into()),
    };
    assert_eq!(raw[0], want);
    // DateTime<Utc> in, DateTime<FixedOffset> out: the same instant, in UTC.
    let row = conn
        .execute(text("SELECT v FROM instants WHERE id = 2"), ())
        .await?
        .one()?;
    let back: DateTime<FixedOffset> = row.get(0)?;
    assert_eq!(back, in_california);
    assert_eq!(back.offset().local_minus_utc(), 0);
    // Read without a zone, an instant is its UTC wall time on every backend.
    let naive: NaiveDateTime = row.get(0)?;
    assert_eq!(naive, datetime(2024, 3, 1, 6, 59, 58, 123_456));
    // And the DateTime<Utc> round trip itself.
    let raw = round_trip(&db, &mut conn, "utc_instants", DATETIME_TZ, &[utc]).await?;
    assert_eq!(raw[0], want);
    Ok(())
}

async fn uuids(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    let u = Uuid::from_u128(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210);
    let values = [u, Uuid::nil(), Uuid::max()];
    let raw = round_trip(&db, &mut conn, "uuids", UUID, &values).await?;
    // SQLAlchemy's Uuid type on a backend without one: CHAR(32) of hex digits.
    let want = match db.kind {
        Kind::Postgres => Value::Uuid(u),
        Kind::Sqlite | Kind::Mysql => Value::String("0123456789abcdeffedcba9876543210".into()),
    };
    assert_eq!(raw[0], want);
    // A UUID parameter compares against the stored form on every backend.
    let id: i64 = conn
        .execute(
            text("SELECT id FROM uuids WHERE v = :u"),
            params! { "u": Uuid::max() },
        )
        .await?
        .scalar_one()?;
    assert_eq!(id, 3);
    Ok(())
}

async fn json_documents(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    let doc = json!({
        "name": "Ada 𝄞",
        "tags": ["a", "b"],
        "nested": {"n": 1, "f": 2.5, "t": true, "none": null},
        "big": 9007199254740993_i64,
    });
    // JSON null is a document, not SQL NULL.
    let values = [
        doc.clone(),
        json!([1, "two", 3.5]),
        json!("text"),
        json!(null),
    ];
    let raw = round_trip(&db, &mut conn, "docs", JSON, &values).await?;
    // MariaDB's JSON is LONGTEXT with a validity check; SQLite's is text.
    match db.kind {
        Kind::Postgres => assert_eq!(raw[0], Value::Json(doc)),
        Kind::Sqlite | Kind::Mysql => {
            let Value::String(s) = &raw[0] else {
                panic!("{:?}", raw[0])
            };
            assert_eq!(serde_json::from_str::<serde_json::Value>(s).unwrap(), doc);
        }
    }
    assert!(!raw[3].is_null(), "JSON null is stored as a document");
    Ok(())
}

/// Values that are not text, bound into a text column: each driver writes
/// the same text for them.
async fn text_forms(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    conn.execute(text("CREATE TABLE notes (id INTEGER, v TEXT)"), ())
        .await?;
    conn.commit().await?;
    let insert = text("INSERT INTO notes (id, v) VALUES (:id, :v)");
    let cases: [(Value, &str); 4] = [
        (json!("say \"hi\"").into(), r#""say \"hi\"""#),
        (json!({"k": [1, 2]}).into(), r#"{"k":[1,2]}"#),
        (dec("-1.50").into(), "-1.50"),
        (
            b"utf-8 bytes \xF0\x9D\x84\x9E".to_vec().into(),
            "utf-8 bytes 𝄞",
        ),
    ];
    for (i, (v, _)) in cases.iter().enumerate() {
        conn.execute(&insert, params! { "id": i as i64, "v": v.clone() })
            .await?;
    }
    conn.commit().await?;
    let got: Vec<String> = conn
        .execute(text("SELECT v FROM notes ORDER BY id"), ())
        .await?
        .scalars()?;
    let want: Vec<&str> = cases.iter().map(|(_, t)| *t).collect();
    assert_eq!(got, want);
    // A JSON document written to text reads back as the same document.
    let doc: serde_json::Value = conn
        .execute(text("SELECT v FROM notes WHERE id = 0"), ())
        .await?
        .scalar_one()?;
    assert_eq!(doc, json!("say \"hi\""));
    // Bytes keep their storage class in SQLite's dynamic typing; the servers
    // store text.
    let raw = conn
        .execute(text("SELECT v FROM notes WHERE id = 3"), ())
        .await?
        .scalar_one::<Value>()?;
    let want = match db.kind {
        Kind::Sqlite => Value::Bytes("utf-8 bytes 𝄞".into()),
        Kind::Postgres | Kind::Mysql => Value::String("utf-8 bytes 𝄞".into()),
    };
    assert_eq!(raw, want);

    // Bytes that are not UTF-8: SQLite keeps a BLOB, PostgreSQL refuses to
    // send them as text, MariaDB's utf8mb4 column rejects them.
    let bad = params! { "id": 9, "v": vec![0xFF_u8, 0xFE] };
    let res = conn.execute(&insert, bad).await;
    match db.kind {
        Kind::Sqlite => {
            res?;
        }
        Kind::Postgres => {
            let err = assert_err!(res, ErrorKind::Bind);
            assert!(err.to_string().contains("not UTF-8"), "{err}");
        }
        Kind::Mysql => {
            let err = assert_err!(res, ErrorKind::Database);
            assert_eq!(err.code(), Some("1366"), "{err:?}");
        }
    }
    conn.rollback().await?;
    Ok(())
}

/// Everything at once, through `#[derive(FromRow)]`.
#[derive(FromRow, Debug, PartialEq, Clone)]
struct Record {
    id: i64,
    name: String,
    nick: Option<String>,
    small: i16,
    count: i32,
    big: i64,
    ratio: f64,
    single: f32,
    active: bool,
    data: Vec<u8>,
    price: Decimal,
    born: NaiveDate,
    alarm: NaiveTime,
    at: NaiveDateTime,
    seen: DateTime<Utc>,
    key: Uuid,
    doc: serde_json::Value,
    #[aludel(rename = "full name")]
    display: String,
    #[aludel(default)]
    score: i64,
    #[aludel(default)]
    missing: Option<i32>,
    #[aludel(default)]
    absent_list: Vec<u8>,
}

#[derive(FromRow, Debug, PartialEq)]
struct Pair(i64, Option<String>);

fn record() -> Record {
    Record {
        id: 1,
        name: "Grace 😀".into(),
        nick: None,
        small: -12,
        count: i32::MIN,
        big: i64::MAX,
        ratio: 0.1 + 0.2,
        single: 1.5,
        active: true,
        data: vec![0x00, 0xFF, 0x10],
        price: dec("12345678901234567890.12345678"),
        born: date(1906, 12, 9),
        alarm: time(6, 30, 0, 250_000),
        at: datetime(2024, 2, 29, 23, 59, 58, 123_456),
        seen: datetime(2024, 2, 29, 18, 29, 58, 654_321).and_utc(),
        key: Uuid::from_u128(42),
        doc: json!({"k": [1, 2]}),
        display: "Rear Admiral Grace Hopper".into(),
        score: 7,
        missing: None,
        absent_list: Vec::new(),
    }
}

async fn from_row_derive(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    let q = |name: &str| match db.kind {
        Kind::Mysql => format!("`{name}`"),
        _ => format!("\"{name}\""),
    };
    let columns = [
        ("name", TEXT),
        ("nick", TEXT),
        ("small", SMALLINT),
        ("count", INTEGER),
        ("big", BIGINT),
        ("ratio", DOUBLE),
        ("single", REAL),
        ("active", BOOLEAN),
        ("data", BYTES),
        ("price", DECIMAL),
        ("born", DATE),
        ("alarm", TIME),
        ("at", DATETIME),
        ("seen", DATETIME_TZ),
        ("key", UUID),
        ("doc", JSON),
        ("full name", TEXT),
        ("score", BIGINT),
    ];
    let defs: Vec<String> = columns
        .iter()
        .map(|(n, t)| format!("{} {}", q(n), t.on(db.kind)))
        .collect();
    conn.execute(
        text(format!(
            "CREATE TABLE records (id {}, {})",
            db.serial_pk(),
            defs.join(", ")
        )),
        (),
    )
    .await?;
    let names: Vec<String> = columns.iter().map(|(n, _)| q(n)).collect();
    let binds: Vec<String> = (0..columns.len()).map(|i| format!(":p{i}")).collect();
    let r = record();
    let values: Vec<Value> = vec![
        r.name.clone().into(),
        r.nick.clone().into(),
        r.small.into(),
        r.count.into(),
        r.big.into(),
        r.ratio.into(),
        r.single.into(),
        r.active.into(),
        r.data.clone().into(),
        r.price.into(),
        r.born.into(),
        r.alarm.into(),
        r.at.into(),
        r.seen.into(),
        r.key.into(),
        r.doc.clone().into(),
        r.display.clone().into(),
        r.score.into(),
    ];
    let params: Vec<(String, Value)> = values
        .into_iter()
        .enumerate()
        .map(|(i, v)| (format!("p{i}"), v))
        .collect();
    let insert = text(format!(
        "INSERT INTO records ({}) VALUES ({})",
        names.join(", "),
        binds.join(", ")
    ));
    conn.execute(&insert, params.clone()).await?;
    conn.commit().await?;

    let all = format!("SELECT id, {} FROM records", names.join(", "));
    let got: Record = conn.execute(text(&all), ()).await?.one_as()?;
    assert_eq!(got, r);

    // `default` fields take Default::default() when the column is absent…
    let without_score = all.replace(&format!(", {}", q("score")), "");
    let got: Record = conn.execute(text(&without_score), ()).await?.one_as()?;
    assert_eq!(
        got,
        Record {
            score: 0,
            ..r.clone()
        }
    );
    // …but a present column is still decoded, and still checked.
    let bad = format!(
        "SELECT id, {}, {} AS absent_list FROM records",
        names.join(", "),
        q("count")
    );
    let err = assert_err!(
        conn.execute(text(&bad), ()).await?.one_as::<Record>(),
        ErrorKind::Decode
    );
    assert!(err.to_string().contains("\"absent_list\""), "{err}");

    // A field without `default` whose column is absent names the column.
    let no_name = all.replace(&format!(", {}", q("full name")), "");
    let err = assert_err!(
        conn.execute(text(&no_name), ()).await?.one_as::<Record>(),
        ErrorKind::Decode
    );
    assert!(err.to_string().contains("\"full name\""), "{err}");

    // A tuple struct reads by position.
    let pairs: Vec<Pair> = conn
        .execute(text("SELECT id, nick FROM records"), ())
        .await?
        .all_as()?;
    assert_eq!(pairs, [Pair(1, None)]);

    // Tuples: by position, with Option for nullable columns.
    let t: (i64, String, Option<String>, bool, Uuid, DateTime<Utc>) = conn
        .execute(
            text(format!(
                "SELECT id, name, nick, active, {}, seen FROM records",
                q("key")
            )),
            (),
        )
        .await?
        .one_as()?;
    assert_eq!(t, (1, r.name.clone(), None, true, r.key, r.seen));
    let (one,): (Vec<u8>,) = conn
        .execute(text("SELECT data FROM records"), ())
        .await?
        .one_as()?;
    assert_eq!(one, r.data);
    let err = assert_err!(
        conn.execute(text("SELECT id, name FROM records"), ())
            .await?
            .one_as::<(i64, String, bool)>(),
        ErrorKind::Decode
    );
    assert!(err.to_string().contains("2 columns"), "{err}");
    Ok(())
}

/// Values bound straight into a SELECT, with no column to give them a type.
async fn bound_and_selected(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    let sql = match db.kind {
        Kind::Postgres => "SELECT :i::bigint AS i, :s::text AS s, :n::text AS n",
        _ => "SELECT :i AS i, :s AS s, :n AS n",
    };
    let row = conn
        .execute(
            text(sql),
            params! { "i": i64::MIN, "s": "𝄞 ok", "n": None::<String> },
        )
        .await?
        .one()?;
    assert_eq!(row.get::<i64, _>("i")?, i64::MIN);
    assert_eq!(row.get::<String, _>("s")?, "𝄞 ok");
    assert_eq!(row.get::<Option<String>, _>("n")?, None);
    assert_eq!(row.keys().collect::<Vec<_>>(), ["i", "s", "n"]);
    Ok(())
}

/// MySQL types with no counterpart elsewhere: BIT(n) reads as an integer;
/// a TIME outside a day and the zero date read as MySQL's own text.
async fn mysql_only_types(db: TestDb) -> aludel::Result<()> {
    assert_eq!(db.kind, Kind::Mysql);
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    conn.execute(
        text("CREATE TABLE odd (flag BIT(1), mask BIT(16), span TIME(6), at DATETIME, day DATE)"),
        (),
    )
    .await?;
    // The zero date needs a permissive sql_mode (this test's own engine).
    conn.execute(text("SET SESSION sql_mode = ''"), ()).await?;
    conn.execute(
        text(
            "INSERT INTO odd VALUES \
             (b'1', b'1000000000000001', '-01:02:03', '0000-00-00 00:00:00', '0000-00-00'), \
             (b'0', b'0', '100:00:00.5', NULL, NULL)",
        ),
        (),
    )
    .await?;
    conn.commit().await?;
    let rows = conn
        .execute(text("SELECT flag, mask, span, at, day FROM odd"), ())
        .await?
        .all()?;
    assert_eq!(
        rows[0].values(),
        [
            Value::I64(1),
            Value::I64(0x8001),
            Value::String("-01:02:03".into()),
            Value::String("0000-00-00 00:00:00".into()),
            Value::String("0000-00-00".into()),
        ]
    );
    assert!(rows[0].get::<bool, _>("flag")?);
    assert!(!rows[1].get::<bool, _>("flag")?);
    assert_eq!(
        rows[1].value("span")?,
        &Value::String("100:00:00.500000".into())
    );
    let err = assert_err!(rows[1].get::<NaiveTime, _>("span"), ErrorKind::Decode);
    assert!(err.to_string().contains("100:00:00.500000"), "{err}");
    assert_err!(rows[0].get::<NaiveDateTime, _>("at"), ErrorKind::Decode);
    Ok(())
}

mod mysql_only_types {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mysql() {
        use crate::harness::{run, Kind};
        run(Kind::Mysql, module_path!(), super::mysql_only_types).await
    }
}

all_backends!(
    text_and_null,
    integers,
    floats,
    booleans,
    bytes,
    decimals,
    dates_and_times,
    datetimes_with_time_zone,
    uuids,
    json_documents,
    text_forms,
    from_row_derive,
    bound_and_selected,
);
