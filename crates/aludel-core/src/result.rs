//! Results of executed statements: buffered ([`CursorResult`]) and streamed
//! ([`RowStream`]).

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::driver::{NextRow, QueryOutput, RowBuf, RowSource};
use crate::engine::pool::ConnFlags;
use crate::error::{Error, ErrorKind, Result};
use crate::row::{Columns, FromRow, ResultColumn, Row, RowMapping, RowPlan};
use crate::value::FromValue;

/// The rows and counts a statement produced (SQLAlchemy's `CursorResult`).
///
/// The consuming methods follow SQLAlchemy's names: [`all`](Self::all),
/// [`first`](Self::first), [`one`](Self::one),
/// [`one_or_none`](Self::one_or_none), [`scalar`](Self::scalar),
/// [`scalars`](Self::scalars), [`mappings`](Self::mappings); the `_as`
/// variants decode into a [`FromRow`] type.
///
/// ```
/// # aludel_core::doctest::run(|mut conn| async move {
/// use aludel_core::{text, ErrorKind};
/// let one = conn.execute(text("SELECT 1 AS x UNION ALL SELECT 2"), ()).await?;
/// assert_eq!(one.one().unwrap_err().kind(), ErrorKind::MultipleRows);
/// let none = conn.execute(text("SELECT 1 WHERE 1 = 0"), ()).await?;
/// assert_eq!(none.one().unwrap_err().kind(), ErrorKind::NoRow);
/// # Ok(()) });
/// ```
pub struct CursorResult {
    columns: Columns,
    rows: RowBuf,
    rows_affected: u64,
    last_insert_id: Option<i64>,
}

impl std::fmt::Debug for CursorResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CursorResult")
            .field("columns", &self.columns)
            .field("rows", &self.rows.len())
            .field("rows_affected", &self.rows_affected)
            .field("last_insert_id", &self.last_insert_id)
            .finish()
    }
}

fn no_row() -> Error {
    Error::new(ErrorKind::NoRow, "no row was found when one was required")
}

fn multiple_rows(n: usize) -> Error {
    Error::new(
        ErrorKind::MultipleRows,
        format!("{n} rows were found when exactly one was required"),
    )
}

impl CursorResult {
    pub(crate) fn from_output(out: QueryOutput) -> Self {
        CursorResult {
            columns: out.columns,
            rows: out.rows,
            rows_affected: out.rows_affected,
            last_insert_id: out.last_insert_id,
        }
    }

    /// The result's columns (empty for a statement that returns no rows).
    pub fn columns(&self) -> &[ResultColumn] {
        &self.columns
    }

    /// The column names.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(ResultColumn::name)
    }

    /// Rows changed by an INSERT, UPDATE or DELETE (as the server counts
    /// them: MySQL does not count rows updated to the values they had), or
    /// rows returned by a query.
    pub fn rows_affected(&self) -> u64 {
        self.rows_affected
    }

    /// The id the database generated for the last inserted row, where the
    /// backend reports one without RETURNING (SQLite's rowid, MySQL's
    /// `LAST_INSERT_ID()`); on PostgreSQL use `RETURNING id` and read the row.
    pub fn last_insert_id(&self) -> Option<i64> {
        self.last_insert_id
    }

    /// The number of rows returned.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when no row was returned.
    pub fn is_empty(&self) -> bool {
        self.rows.len() == 0
    }

    /// All rows.
    ///
    /// # Errors
    /// [`ErrorKind::Decode`] when a value of a type Aludel cannot read
    /// arrives (rows are converted from the driver's form when read).
    pub fn all(self) -> Result<Vec<Row>> {
        self.rows.into_rows(&self.columns)
    }

    /// The first row, or `None`; the rest are discarded.
    pub fn first(self) -> Result<Option<Row>> {
        self.rows.into_first(&self.columns)
    }

    /// Exactly one row.
    ///
    /// # Errors
    /// [`ErrorKind::NoRow`] for none, [`ErrorKind::MultipleRows`] for more.
    pub fn one(self) -> Result<Row> {
        match self.rows.len() {
            1 => Ok(self.first()?.expect("one row")),
            0 => Err(no_row()),
            n => Err(multiple_rows(n)),
        }
    }

    /// One row or none.
    ///
    /// # Errors
    /// [`ErrorKind::MultipleRows`] for more than one.
    pub fn one_or_none(self) -> Result<Option<Row>> {
        match self.rows.len() {
            0 | 1 => self.first(),
            n => Err(multiple_rows(n)),
        }
    }

    /// The first column of the first row, or `None` when there is no row.
    pub fn scalar<T: FromValue>(self) -> Result<Option<T>> {
        self.first()?.map(|mut r| r.take(0usize)).transpose()
    }

    /// The first column of exactly one row.
    ///
    /// # Errors
    /// [`ErrorKind::NoRow`], [`ErrorKind::MultipleRows`] or [`ErrorKind::Decode`].
    pub fn scalar_one<T: FromValue>(self) -> Result<T> {
        self.one()?.take(0usize)
    }

    /// The first column of one row or none.
    pub fn scalar_one_or_none<T: FromValue>(self) -> Result<Option<T>> {
        self.one_or_none()?.map(|mut r| r.take(0usize)).transpose()
    }

    /// The first column of every row.
    pub fn scalars<T: FromValue>(self) -> Result<Vec<T>> {
        let mut out = Vec::with_capacity(self.rows.len());
        self.rows.for_each(&self.columns, |r| {
            out.push(r.take(0usize)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Every row as a name → value mapping.
    pub fn mappings(self) -> Result<Vec<RowMapping>> {
        Ok(self.all()?.into_iter().map(RowMapping::new).collect())
    }

    /// Every row decoded into `T`, in one pass over the driver's rows.
    pub fn all_as<T: FromRow>(self) -> Result<Vec<T>> {
        let plan = T::plan(&self.columns);
        self.rows.decode(&self.columns, &plan, false)
    }

    /// The first row decoded into `T`, or `None`.
    pub fn first_as<T: FromRow>(self) -> Result<Option<T>> {
        let plan = T::plan(&self.columns);
        Ok(self.rows.decode(&self.columns, &plan, true)?.pop())
    }

    /// Exactly one row decoded into `T`.
    pub fn one_as<T: FromRow>(self) -> Result<T> {
        match self.rows.len() {
            1 => Ok(self.first_as()?.expect("one row")),
            0 => Err(no_row()),
            n => Err(multiple_rows(n)),
        }
    }

    /// One row or none, decoded into `T`.
    pub fn one_or_none_as<T: FromRow>(self) -> Result<Option<T>> {
        match self.rows.len() {
            0 | 1 => self.first_as(),
            n => Err(multiple_rows(n)),
        }
    }
}

/// Rows read one at a time from a running query; it borrows the connection
/// until dropped or exhausted.
///
/// It is a [`Stream`] of `Result<Row>`; [`next`](RowStream::next) and
/// [`try_next_as`](RowStream::try_next_as) read without extra imports.
/// Dropping it early is safe: the connection is reset before reuse.
pub struct RowStream<'c> {
    /// Reused for every row: the driver writes each row's cells here.
    buf: Row,
    inner: RowSource<'c>,
    flags: &'c mut ConnFlags,
    finished: bool,
    /// The plan of the last type decoded by `try_next_as`.
    plan: Option<(std::any::TypeId, RowPlan)>,
    /// Times the columns changed under the stream (plans must be remade).
    replanned: u32,
}

impl<'c> RowStream<'c> {
    pub(crate) fn new(columns: Columns, inner: RowSource<'c>, flags: &'c mut ConnFlags) -> Self {
        let width = columns.len();
        RowStream {
            buf: Row::new(columns, Vec::with_capacity(width)),
            inner,
            flags,
            finished: false,
            plan: None,
            replanned: 0,
        }
    }

    /// The columns of the rows to come.
    pub fn columns(&self) -> &[ResultColumn] {
        self.buf.columns()
    }

    /// The next row, or `None` at the end.
    pub async fn next(&mut self) -> Option<Result<Row>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// The next row decoded into `T`, or `None` at the end. Rows are read
    /// into one reused buffer and decoded by a plan made once per stream, so
    /// a long stream allocates only what the decoded values need.
    pub async fn try_next_as<T: FromRow + 'static>(&mut self) -> Result<Option<T>> {
        match std::future::poll_fn(|cx| self.poll_row(cx)).await {
            None => Ok(None),
            Some(Err(e)) => Err(e),
            Some(Ok(next)) => {
                let id = std::any::TypeId::of::<T>();
                if self.plan.as_ref().is_none_or(|(t, _)| *t != id) {
                    self.plan = Some((id, T::plan(self.buf.columns())));
                }
                let (_, plan) = self.plan.as_ref().expect("plan set above");
                next.decode(&mut self.buf, plan).map(Some)
            }
        }
    }

    /// Decode every row into `T` as it arrives: a [`Stream`] of
    /// `Result<T>` (and [`TypedRowStream::try_next`]), planned once.
    ///
    /// ```
    /// # aludel_core::doctest::run(|mut conn| async move {
    /// use aludel_core::text;
    /// let mut rows = conn
    ///     .stream(text("SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, 'y'"), ())
    ///     .await?
    ///     .typed::<(i64, String)>();
    /// let mut got = Vec::new();
    /// while let Some(pair) = rows.try_next().await? {
    ///     got.push(pair);
    /// }
    /// assert_eq!(got, [(1, "x".to_string()), (2, "y".to_string())]);
    /// # Ok(()) });
    /// ```
    pub fn typed<T: FromRow>(self) -> TypedRowStream<'c, T> {
        let plan = T::plan(self.buf.columns());
        TypedRowStream {
            planned_at: self.replanned,
            rows: self,
            plan,
            _t: std::marker::PhantomData,
        }
    }

    /// Read the next row into the buffer.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<()>>> {
        match self.poll_row(cx) {
            Poll::Ready(Some(Ok(next))) => Poll::Ready(Some(next.fill(&mut self.buf))),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Read the next row and decode it into `T` with `plan` (the plan is
    /// remade first when the columns changed under the stream).
    fn poll_decode<T: FromRow>(
        &mut self,
        cx: &mut Context<'_>,
        plan: &mut RowPlan,
        planned_at: &mut u32,
    ) -> Poll<Option<Result<T>>> {
        match self.poll_row(cx) {
            Poll::Ready(Some(Ok(next))) => {
                if *planned_at != self.replanned {
                    *plan = T::plan(self.buf.columns());
                    *planned_at = self.replanned;
                }
                Poll::Ready(Some(next.decode(&mut self.buf, plan)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Read the next row (SQLite's into the buffer).
    fn poll_row(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<NextRow>>> {
        if self.finished {
            return Poll::Ready(None);
        }
        let before = self.buf.columns().as_ptr();
        let polled = self.inner.poll_row(cx, &mut self.buf);
        if self.buf.columns().as_ptr() != before {
            // The statement was prepared again (a schema change): plans
            // made for the old columns are void.
            self.plan = None;
            self.replanned += 1;
        }
        match &polled {
            Poll::Ready(None) => {
                self.finished = true;
                self.flags.in_flight = false;
            }
            Poll::Ready(Some(Err(e))) if e.is_disconnect() => self.flags.broken = true,
            _ => {}
        }
        polled
    }
}

impl Stream for RowStream<'_> {
    type Item = Result<Row>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        this.poll_fill(cx)
            .map(|r| r.map(|r| r.map(|()| this.buf.detach())))
    }
}

/// A [`RowStream`] decoding each row into `T` (from [`RowStream::typed`]).
pub struct TypedRowStream<'c, T> {
    rows: RowStream<'c>,
    plan: RowPlan,
    /// `rows.replanned` when `plan` was made.
    planned_at: u32,
    _t: std::marker::PhantomData<fn() -> T>,
}

impl<T: FromRow> TypedRowStream<'_, T> {
    /// The columns of the rows to come.
    pub fn columns(&self) -> &[ResultColumn] {
        self.rows.columns()
    }

    /// The next row decoded into `T`, or `None` at the end.
    pub async fn try_next(&mut self) -> Result<Option<T>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx))
            .await
            .transpose()
    }
}

impl<T: FromRow> Stream for TypedRowStream<'_, T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        this.rows
            .poll_decode(cx, &mut this.plan, &mut this.planned_at)
    }
}
