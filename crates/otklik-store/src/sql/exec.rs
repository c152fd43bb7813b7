//! How the one SQL store talks to either database: a statement with its arguments (`Query`), and
//! a connection that runs it (`Conn`). The SQL is the same on both backends (`$n` placeholders,
//! `RETURNING`, `ON CONFLICT`); what differs between them lives in `Backend`. sqlx stays inside
//! this module and the two backend modules.

use std::borrow::Cow;
use std::ops::DerefMut;

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Type};

use crate::StoreError;

/// One value bound to a `$n` placeholder. Each kind keeps its type when it is null, so
/// PostgreSQL is told a typed null.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(Option<bool>),
    Bytes(Option<Vec<u8>>),
}

impl From<Vec<u8>> for Arg {
    fn from(value: Vec<u8>) -> Arg {
        Arg::Bytes(Some(value))
    }
}

impl From<i64> for Arg {
    fn from(value: i64) -> Arg {
        Arg::Int(Some(value))
    }
}

impl From<&i64> for Arg {
    fn from(value: &i64) -> Arg {
        Arg::Int(Some(*value))
    }
}

impl From<Option<i64>> for Arg {
    fn from(value: Option<i64>) -> Arg {
        Arg::Int(value)
    }
}

impl From<bool> for Arg {
    fn from(value: bool) -> Arg {
        Arg::Bool(Some(value))
    }
}

impl From<Option<bool>> for Arg {
    fn from(value: Option<bool>) -> Arg {
        Arg::Bool(value)
    }
}

impl From<&str> for Arg {
    fn from(value: &str) -> Arg {
        Arg::Text(Some(value.to_owned()))
    }
}

impl From<String> for Arg {
    fn from(value: String) -> Arg {
        Arg::Text(Some(value))
    }
}

impl From<&String> for Arg {
    fn from(value: &String) -> Arg {
        Arg::Text(Some(value.clone()))
    }
}

impl From<Option<&str>> for Arg {
    fn from(value: Option<&str>) -> Arg {
        Arg::Text(value.map(str::to_owned))
    }
}

impl From<&otklik_core::StageName> for Arg {
    fn from(value: &otklik_core::StageName) -> Arg {
        Arg::Text(Some(value.to_string()))
    }
}

impl From<Option<String>> for Arg {
    fn from(value: Option<String>) -> Arg {
        Arg::Text(value)
    }
}

impl From<&Option<String>> for Arg {
    fn from(value: &Option<String>) -> Arg {
        Arg::Text(value.clone())
    }
}

/// A statement and its arguments, built with `bind` (placeholders written in the text) or
/// `push`/`push_bind` (a placeholder numbered after the arguments so far).
#[derive(Debug, Clone)]
pub(crate) struct Query<'s> {
    sql: Cow<'s, str>,
    args: Vec<Arg>,
}

/// A statement to run: `query("… $1 …").bind(x)`.
pub(crate) fn query<'s>(sql: impl Into<Cow<'s, str>>) -> Query<'s> {
    Query { sql: sql.into(), args: Vec::new() }
}

impl<'s> Query<'s> {
    pub(crate) fn bind(mut self, value: impl Into<Arg>) -> Self {
        self.args.push(value.into());
        self
    }

    pub(crate) fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.to_mut().push_str(sql);
        self
    }

    pub(crate) fn push_bind(&mut self, value: impl Into<Arg>) -> &mut Self {
        self.args.push(value.into());
        let placeholder = format!("${}", self.args.len());
        self.sql.to_mut().push_str(&placeholder);
        self
    }

    /// Runs the statement; the number of rows it changed.
    pub(crate) async fn execute<C: Conn + ?Sized>(self, conn: &mut C) -> Result<u64, StoreError> {
        conn.execute(self).await
    }

    pub(crate) async fn fetch_all<T: Record, C: Conn + ?Sized>(self, conn: &mut C) -> Result<Vec<T>, StoreError> {
        conn.fetch_all(self).await
    }

    pub(crate) async fn fetch_optional<T: Record, C: Conn + ?Sized>(
        self,
        conn: &mut C,
    ) -> Result<Option<T>, StoreError> {
        conn.fetch_optional(self).await
    }

    /// The one row the statement must return (a missing row is a broken invariant, not a
    /// "not found" for the caller to show).
    pub(crate) async fn fetch_one<T: Record, C: Conn + ?Sized>(self, conn: &mut C) -> Result<T, StoreError> {
        let sql = self.sql.to_string();
        conn.fetch_optional(self).await?.ok_or_else(|| StoreError::Internal(format!("no row from `{sql}`")))
    }

    /// The first column of the one row the statement must return.
    pub(crate) async fn scalar<T, C: Conn + ?Sized>(self, conn: &mut C) -> Result<T, StoreError>
    where
        (T,): Record,
    {
        self.fetch_one::<(T,), C>(conn).await.map(|(value,)| value)
    }

    /// The first column of the row, if there is one.
    pub(crate) async fn scalar_optional<T, C: Conn + ?Sized>(self, conn: &mut C) -> Result<Option<T>, StoreError>
    where
        (T,): Record,
    {
        Ok(self.fetch_optional::<(T,), C>(conn).await?.map(|(value,)| value))
    }
}

/// A row type both backends can decode (every `#[derive(sqlx::FromRow)]` struct of plain
/// columns, and tuples of them).
pub(crate) trait Record:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static
{
}

impl<T> Record for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin + 'static {}

/// A backend's row, which decodes any `Record`.
pub(crate) trait DecodeRow: sqlx::Row {
    fn decode<T: Record>(&self) -> Result<T, sqlx::Error>;
}

impl DecodeRow for SqliteRow {
    fn decode<T: Record>(&self) -> Result<T, sqlx::Error> {
        <T as FromRow<'_, SqliteRow>>::from_row(self)
    }
}

impl DecodeRow for PgRow {
    fn decode<T: Record>(&self) -> Result<T, sqlx::Error> {
        <T as FromRow<'_, PgRow>>::from_row(self)
    }
}

/// A connection of either backend: a pooled one for reads, or a write transaction.
#[async_trait]
pub(crate) trait Conn: Send {
    async fn execute(&mut self, query: Query<'_>) -> Result<u64, StoreError>;
    async fn fetch_all<T: Record>(&mut self, query: Query<'_>) -> Result<Vec<T>, StoreError>;
    async fn fetch_optional<T: Record>(&mut self, query: Query<'_>) -> Result<Option<T>, StoreError>;
}

/// Which database a sqlx connection handle belongs to (a pooled connection or a transaction).
pub(crate) trait OnDatabase {
    type Db: Database;
}

impl<DB: Database> OnDatabase for sqlx::pool::PoolConnection<DB> {
    type Db = DB;
}

impl<DB: Database> OnDatabase for sqlx::Transaction<'static, DB> {
    type Db = DB;
}

fn bind_all<'q, DB>(
    mut query: sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>,
    args: Vec<Arg>,
) -> sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>
where
    DB: Database,
    Option<i64>: Type<DB> + Encode<'q, DB>,
    Option<String>: Type<DB> + Encode<'q, DB>,
    Option<bool>: Type<DB> + Encode<'q, DB>,
    Option<Vec<u8>>: Type<DB> + Encode<'q, DB>,
{
    for arg in args {
        query = match arg {
            Arg::Int(value) => query.bind(value),
            Arg::Text(value) => query.bind(value),
            Arg::Bool(value) => query.bind(value),
            Arg::Bytes(value) => query.bind(value),
        };
    }
    query
}

#[async_trait]
impl<H> Conn for H
where
    H: OnDatabase + DerefMut<Target = <H::Db as Database>::Connection> + Send,
    for<'c> &'c mut <H::Db as Database>::Connection: Executor<'c, Database = H::Db>,
    for<'q> <H::Db as Database>::Arguments<'q>: IntoArguments<'q, H::Db>,
    <H::Db as Database>::Row: DecodeRow,
    <H::Db as Database>::QueryResult: RowsAffected,
    for<'q> Option<i64>: Type<H::Db> + Encode<'q, H::Db>,
    for<'q> Option<String>: Type<H::Db> + Encode<'q, H::Db>,
    for<'q> Option<bool>: Type<H::Db> + Encode<'q, H::Db>,
    for<'q> Option<Vec<u8>>: Type<H::Db> + Encode<'q, H::Db>,
{
    async fn execute(&mut self, query: Query<'_>) -> Result<u64, StoreError> {
        let Query { sql, args } = query;
        Ok(bind_all(sqlx::query(&sql), args).execute(&mut **self).await?.rows_affected())
    }

    async fn fetch_all<T: Record>(&mut self, query: Query<'_>) -> Result<Vec<T>, StoreError> {
        let Query { sql, args } = query;
        let rows = bind_all(sqlx::query(&sql), args).fetch_all(&mut **self).await?;
        Ok(rows.iter().map(DecodeRow::decode).collect::<Result<_, _>>()?)
    }

    async fn fetch_optional<T: Record>(&mut self, query: Query<'_>) -> Result<Option<T>, StoreError> {
        let Query { sql, args } = query;
        let row = bind_all(sqlx::query(&sql), args).fetch_optional(&mut **self).await?;
        Ok(row.as_ref().map(DecodeRow::decode).transpose()?)
    }
}

/// How many rows a statement changed, on either backend.
pub(crate) trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        sqlx::sqlite::SqliteQueryResult::rows_affected(self)
    }
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        sqlx::postgres::PgQueryResult::rows_affected(self)
    }
}

/// A write transaction that can be committed.
#[async_trait]
pub(crate) trait Commit: Conn + Sized {
    async fn commit(self) -> Result<(), StoreError>;
}
