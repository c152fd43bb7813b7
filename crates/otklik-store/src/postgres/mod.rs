//! The PostgreSQL backend: for a business that outgrows one machine, several stateless
//! `otklik serve` nodes share one database. New feedback goes through a group commit
//! (`intake.rs`); claims lock the rows they take, so two nodes never claim the same job.

mod intake;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

use crate::sql::exec::Commit;
use crate::sql::intake::{Intake, Outcome};
use crate::sql::{Backend, Dialect, SqlStore};
use crate::{OpenOptions, StoreError};

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Otklik on a PostgreSQL database.
pub(crate) struct PgBackend {
    pool: PgPool,
    intake: intake::GroupWriter,
}

/// Connects to a `postgres://` URL and migrates the database (migrations take a lock, so several
/// nodes starting together apply them once). With `options.postgres_schema`, Otklik works in
/// that schema (created if missing).
pub(crate) async fn connect(url: &str, options: &OpenOptions) -> Result<SqlStore<PgBackend>, StoreError> {
    let mut connect_options =
        PgConnectOptions::from_str(url).map_err(|e| StoreError::Config(format!("invalid PostgreSQL URL: {e}")))?;
    if let Some(schema) = &options.postgres_schema {
        let plain = !schema.is_empty()
            && schema.len() <= 63
            && schema.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !schema.as_bytes()[0].is_ascii_digit();
        if !plain {
            return Err(StoreError::Config(format!(
                "schema `{schema}` must be 1 to 63 lowercase letters, digits and `_`, not starting with a digit"
            )));
        }
        let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect_with(&connect_options).await?;
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}")).execute(&mut admin).await?;
        connect_options = connect_options.options([("search_path", schema.as_str())]);
    }
    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections.max(intake::WRITERS as u32 + 2))
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(connect_options)
        .await?;
    MIGRATOR.run(&pool).await?;
    let intake = intake::GroupWriter::start(pool.clone());
    Ok(SqlStore { backend: PgBackend { pool, intake } })
}

#[async_trait]
impl Backend for PgBackend {
    type Read = sqlx::pool::PoolConnection<Postgres>;
    type Write = Transaction<'static, Postgres>;

    const DIALECT: Dialect = Dialect::Postgres;

    async fn intake(&self, items: Vec<Intake>) -> Result<Vec<Outcome>, StoreError> {
        self.intake.write(items).await
    }

    async fn write(&self) -> Result<Self::Write, StoreError> {
        Ok(self.pool.begin().await?)
    }

    async fn read(&self) -> Result<Self::Read, StoreError> {
        Ok(self.pool.acquire().await?)
    }

    fn try_read(&self) -> Option<Self::Read> {
        self.pool.try_acquire()
    }
}

#[async_trait]
impl Commit for Transaction<'static, Postgres> {
    async fn commit(self) -> Result<(), StoreError> {
        Ok(Transaction::commit(self).await?)
    }
}
