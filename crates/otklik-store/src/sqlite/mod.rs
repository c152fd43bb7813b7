//! The SQLite backend: one file under the data directory, WAL, foreign keys on. New feedback is
//! written by the intake writer thread in group commits (`writer.rs`); the other writes go
//! through one sqlx writer connection (SQLite has one writer at a time anyway, and waits its
//! turn with a busy timeout); a pool of read-only connections serves reads alongside.

mod writer;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, Transaction};

use crate::sql::exec::Commit;
use crate::sql::intake::{Intake, Outcome};
use crate::sql::{Backend, Dialect, SqlStore};
use crate::{OpenOptions, SqliteSync, StoreError};

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How much of the database file each connection maps into memory (the operating system
/// shares the pages between them).
const MMAP_BYTES: u64 = 1 << 30;
/// Each connection's page cache, in KiB.
const CACHE_KIB: u32 = 8 * 1024;

/// Otklik on an embedded SQLite file.
pub(crate) struct SqliteBackend {
    intake: writer::IntakeWriter,
    writer: SqlitePool,
    reader: SqlitePool,
}

/// Opens (creating if missing) the database at a `sqlite://PATH` URL and migrates it.
pub(crate) async fn connect(url: &str, options: &OpenOptions) -> Result<SqlStore<SqliteBackend>, StoreError> {
    let synchronous = match options.sqlite_synchronous {
        SqliteSync::Normal => SqliteSynchronous::Normal,
        SqliteSync::Full => SqliteSynchronous::Full,
    };
    let base = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Config(format!("invalid SQLite URL: {e}")))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(synchronous)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        // Reads (a report scans hundreds of thousands of index entries) go through memory-mapped
        // pages and a larger page cache rather than a read call per page.
        .pragma("mmap_size", MMAP_BYTES.to_string())
        .pragma("cache_size", format!("-{CACHE_KIB}"));
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(base.clone())
        .await?;
    MIGRATOR.run(&writer).await?;
    let intake = writer::IntakeWriter::start(base.get_filename(), options.sqlite_synchronous)?;
    let reader = SqlitePoolOptions::new()
        .max_connections(options.max_connections.max(1))
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(base.read_only(true))
        .await?;
    Ok(SqlStore { backend: SqliteBackend { intake, writer, reader } })
}

#[async_trait]
impl Backend for SqliteBackend {
    type Read = sqlx::pool::PoolConnection<Sqlite>;
    type Write = Transaction<'static, Sqlite>;

    const DIALECT: Dialect = Dialect::Sqlite;

    async fn read(&self) -> Result<Self::Read, StoreError> {
        Ok(self.reader.acquire().await?)
    }

    fn try_read(&self) -> Option<Self::Read> {
        self.reader.try_acquire()
    }

    async fn write(&self) -> Result<Self::Write, StoreError> {
        // IMMEDIATE takes the write lock now, so a transaction that reads first never finds the
        // intake writer holding it at its first write (which SQLite could only answer with BUSY).
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    async fn intake(&self, items: Vec<Intake>) -> Result<Vec<Outcome>, StoreError> {
        self.intake.write(items).await
    }
}

#[async_trait]
impl Commit for Transaction<'static, Sqlite> {
    async fn commit(self) -> Result<(), StoreError> {
        Ok(Transaction::commit(self).await?)
    }
}
