//! diesel-async (contender `diesel-async`) on PostgreSQL (over
//! tokio-postgres) and MySQL/MariaDB (over mysql_async): a deadpool pool of
//! 5, the workloads on a multi-threaded tokio runtime. As for sync Diesel,
//! the workloads are written once (`async_workloads.rs`) and compiled per
//! connection type; what differs per backend is here.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::schema::{stream_table_query, users, Count, NewUser};
use crate::{Args, Backend, Res};

fn runtime() -> Res<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

pub fn run_pg(args: &Args) -> Res<()> {
    runtime()?.block_on(pg::run(args))
}

pub fn run_mysql(args: &Args) -> Res<()> {
    runtime()?.block_on(mysql::run(args))
}

mod pg {
    use super::*;
    use diesel_async::AsyncPgConnection as Conn;

    const BACKEND: Backend = Backend::Postgres;

    /// One multi-row INSERT … RETURNING id.
    async fn insert_user_ids(conn: &mut Conn, rows: &[NewUser]) -> QueryResult<Vec<i64>> {
        diesel::insert_into(users::table)
            .values(rows)
            .returning(users::id)
            .get_results(conn)
            .await
    }

    async fn check_backend(_conn: &mut Conn) -> Res<()> {
        Ok(())
    }

    include!("async_workloads.rs");
}

mod mysql {
    use super::*;
    use crate::schema::{last_insert_id, AUTO_INCREMENT_STEP};
    use diesel_async::AsyncMysqlConnection as Conn;

    const BACKEND: Backend = Backend::Mysql;

    /// MySQL has no RETURNING: one multi-row INSERT, then
    /// `SELECT LAST_INSERT_ID()` (the first generated id) on the same
    /// connection; InnoDB gives a multi-row "simple insert" consecutive ids.
    async fn insert_user_ids(conn: &mut Conn, rows: &[NewUser]) -> QueryResult<Vec<i64>> {
        let n = diesel::insert_into(users::table)
            .values(rows)
            .execute(conn)
            .await?;
        let first: u64 = diesel::select(last_insert_id()).get_result(conn).await?;
        let first = first as i64;
        Ok((first..first + n as i64).collect())
    }

    /// The ids [`insert_user_ids`] computes are consecutive only with an
    /// auto-increment step of 1.
    async fn check_backend(conn: &mut Conn) -> Res<()> {
        let c: Count = diesel::sql_query(AUTO_INCREMENT_STEP)
            .get_result(conn)
            .await?;
        crate::schema::check(c.n == 1, "auto_increment_increment is 1")
    }

    include!("async_workloads.rs");
}
