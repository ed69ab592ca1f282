//! Flask-SQLAlchemy's `get_or_404`, `first_or_404` and `one_or_404`, as
//! extension traits on [`Session`] and [`ModelQuery`].

use std::future::Future;

use aludel_core::{ErrorKind, Value};
use aludel_orm::{Key, Model, ModelQuery, Session};

use crate::error::AppError;

/// `get_or_404` on a [`Session`] (and so on a [`DbSession`](crate::DbSession)).
pub trait SessionExt {
    /// The object with primary key `pk` (from the identity map without SQL
    /// when already loaded), or a 404 problem naming the table and key.
    ///
    /// ```
    /// # use aludel::Model;
    /// use aludel_axum::SessionExt;
    /// # #[derive(Model, Clone)] #[aludel(table = "notes")] struct Note { #[aludel(primary_key)] id: i64 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> aludel::Result<()> {
    /// # let db = aludel_axum::Db::new(aludel::create_engine("sqlite://")?); db.create_all().await?;
    /// let mut session = db.session();
    /// let err = session.get_or_404::<Note>(7).await.unwrap_err();
    /// assert_eq!(err.status(), 404);
    /// assert_eq!(err.body()["detail"], r#"no "notes" row with primary key 7"#);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// 404 when there is no such row; the database's error mapped by
    /// [`AppError`] otherwise.
    fn get_or_404<T: Model>(
        &mut self,
        pk: impl Into<Value> + Send,
    ) -> impl Future<Output = Result<Key<T>, AppError>> + Send;
}

impl SessionExt for Session {
    async fn get_or_404<T: Model>(
        &mut self,
        pk: impl Into<Value> + Send,
    ) -> Result<Key<T>, AppError> {
        let pk = pk.into();
        let shown = pk.to_string();
        match self.get::<T>(pk).await? {
            Some(key) => Ok(key),
            None => Err(AppError::not_found(format!(
                "no {:?} row with primary key {shown}",
                T::table().name()
            ))),
        }
    }
}

/// `first_or_404` and `one_or_404` on a [`ModelQuery`].
pub trait QueryExt<T> {
    /// The first object, or a 404 problem when the query matches nothing.
    ///
    /// # Errors
    /// 404 when nothing matches; the database's error otherwise.
    fn first_or_404(self) -> impl Future<Output = Result<Key<T>, AppError>> + Send;

    /// The one object, or a 404 problem when the query matches nothing or
    /// more than one row (as Flask-SQLAlchemy's `one_or_404`).
    ///
    /// ```
    /// # use aludel::Model;
    /// use aludel_axum::QueryExt;
    /// # #[derive(Model, Clone)] #[aludel(table = "notes")] struct Note { #[aludel(primary_key)] id: i64, tag: String }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> aludel::Result<()> {
    /// # let db = aludel_axum::Db::new(aludel::create_engine("sqlite://")?); db.create_all().await?;
    /// let mut session = db.session();
    /// session.add_all([Note { id: 0, tag: "a".into() }, Note { id: 0, tag: "a".into() }]);
    /// let err = session.query::<Note>().filter(Note::tag.eq("a")).one_or_404().await.unwrap_err();
    /// assert_eq!(err.status(), 404);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// 404 for no row or several; the database's error otherwise.
    fn one_or_404(self) -> impl Future<Output = Result<Key<T>, AppError>> + Send;
}

impl<T: Model> QueryExt<T> for ModelQuery<'_, T> {
    async fn first_or_404(self) -> Result<Key<T>, AppError> {
        match self.first().await? {
            Some(key) => Ok(key),
            None => Err(AppError::not_found(format!(
                "no {:?} row matched",
                T::table().name()
            ))),
        }
    }

    async fn one_or_404(self) -> Result<Key<T>, AppError> {
        match self.one().await {
            Ok(key) => Ok(key),
            Err(e) if e.kind() == ErrorKind::NoRow => Err(AppError::not_found(format!(
                "no {:?} row matched",
                T::table().name()
            ))),
            Err(e) if e.kind() == ErrorKind::MultipleRows => Err(AppError::not_found(format!(
                "more than one {:?} row matched where one was expected",
                T::table().name()
            ))),
            Err(e) => Err(e.into()),
        }
    }
}
