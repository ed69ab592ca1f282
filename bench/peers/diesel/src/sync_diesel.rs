//! Sync Diesel (contender `diesel`): an r2d2 pool of 5, the workloads on
//! the main thread. The workloads are written once
//! (`sync_workloads.rs`) and compiled for each backend's connection type;
//! what differs per backend (getting generated ids, streaming, the catalog
//! query for `stream_rows`) is written here.

use diesel::prelude::*;

use crate::schema::{stream_table_query, users, Count, NewUser, StreamRow};
use crate::Backend;

pub mod sqlite {
    use super::*;
    use diesel::connection::DefaultLoadingMode;
    use diesel::SqliteConnection as Conn;

    /// The database path of a `sqlite:///abs/path.db` URL.
    fn connect_url(url: &str) -> String {
        url.strip_prefix("sqlite://").unwrap_or(url).to_string()
    }

    /// One multi-row INSERT … RETURNING id.
    fn insert_user_ids(conn: &mut Conn, rows: &[NewUser]) -> QueryResult<Vec<i64>> {
        diesel::insert_into(users::table)
            .values(rows)
            .returning(users::id)
            .get_results(conn)
    }

    fn stream_table_exists(conn: &mut Conn) -> QueryResult<bool> {
        let c: Count = diesel::sql_query(stream_table_query(Backend::Sqlite)).get_result(conn)?;
        Ok(c.n > 0)
    }

    /// `load_iter` steps the SQLite statement row by row.
    fn stream_sum(conn: &mut Conn) -> QueryResult<(usize, i64)> {
        let (mut rows, mut sum) = (0usize, 0i64);
        let iter = crate::schema::stream_rows::table
            .select(StreamRow::as_select())
            .load_iter::<StreamRow, DefaultLoadingMode>(conn)?;
        for row in iter {
            let row = row?;
            sum += i64::from(row.a);
            rows += 1;
            std::hint::black_box((row.id, &row.b));
        }
        Ok((rows, sum))
    }

    const STREAM_SKIP: Option<&str> = None;

    fn check_backend(_conn: &mut Conn) -> crate::Res<()> {
        Ok(())
    }

    include!("sync_workloads.rs");
}

pub mod pg {
    use super::*;
    use diesel::pg::PgRowByRowLoadingMode;
    use diesel::PgConnection as Conn;

    fn connect_url(url: &str) -> String {
        url.to_string()
    }

    /// One multi-row INSERT … RETURNING id.
    fn insert_user_ids(conn: &mut Conn, rows: &[NewUser]) -> QueryResult<Vec<i64>> {
        diesel::insert_into(users::table)
            .values(rows)
            .returning(users::id)
            .get_results(conn)
    }

    fn stream_table_exists(conn: &mut Conn) -> QueryResult<bool> {
        let c: Count = diesel::sql_query(stream_table_query(Backend::Postgres)).get_result(conn)?;
        Ok(c.n > 0)
    }

    /// `load_iter` in libpq's single-row mode (`PgRowByRowLoadingMode`);
    /// the default mode would hold the whole result in libpq first.
    fn stream_sum(conn: &mut Conn) -> QueryResult<(usize, i64)> {
        let (mut rows, mut sum) = (0usize, 0i64);
        let iter = crate::schema::stream_rows::table
            .select(StreamRow::as_select())
            .load_iter::<StreamRow, PgRowByRowLoadingMode>(conn)?;
        for row in iter {
            let row = row?;
            sum += i64::from(row.a);
            rows += 1;
            std::hint::black_box((row.id, &row.b));
        }
        Ok((rows, sum))
    }

    const STREAM_SKIP: Option<&str> = None;

    fn check_backend(_conn: &mut Conn) -> crate::Res<()> {
        Ok(())
    }

    include!("sync_workloads.rs");
}

pub mod mysql {
    use super::*;
    use diesel::MysqlConnection as Conn;

    use crate::schema::{last_insert_id, AUTO_INCREMENT_STEP};

    fn connect_url(url: &str) -> String {
        url.to_string()
    }

    /// MySQL has no RETURNING: one multi-row INSERT, then
    /// `SELECT LAST_INSERT_ID()` (the first generated id) on the same
    /// connection; InnoDB gives a multi-row "simple insert" consecutive ids
    /// (`auto_increment_increment` = 1 is checked when the pool opens).
    fn insert_user_ids(conn: &mut Conn, rows: &[NewUser]) -> QueryResult<Vec<i64>> {
        let n = diesel::insert_into(users::table)
            .values(rows)
            .execute(conn)?;
        let first: u64 = diesel::select(last_insert_id()).get_result(conn)?;
        let first = first as i64;
        Ok((first..first + n as i64).collect())
    }

    fn stream_table_exists(conn: &mut Conn) -> QueryResult<bool> {
        let c: Count = diesel::sql_query(stream_table_query(Backend::Mysql)).get_result(conn)?;
        Ok(c.n > 0)
    }

    /// Diesel's `MysqlConnection` runs every prepared statement with
    /// `mysql_stmt_store_result`, which reads the whole result set into
    /// client memory before the first row is handed out: `load_iter`
    /// iterates rows one by one but memory is not bounded.
    const STREAM_SKIP: Option<&str> = Some(
        "Diesel's MysqlConnection buffers the whole result (mysql_stmt_store_result) \
         before load_iter yields a row, so memory is not bounded",
    );

    fn stream_sum(_conn: &mut Conn) -> QueryResult<(usize, i64)> {
        unreachable!("stream_rows is skipped on MySQL")
    }

    /// The ids [`insert_user_ids`] computes are consecutive only with an
    /// auto-increment step of 1.
    fn check_backend(conn: &mut Conn) -> crate::Res<()> {
        let c: Count = diesel::sql_query(AUTO_INCREMENT_STEP).get_result(conn)?;
        crate::schema::check(c.n == 1, "auto_increment_increment is 1")
    }

    include!("sync_workloads.rs");
}
