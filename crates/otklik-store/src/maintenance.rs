//! Running Otklik for years: a consistent backup of the SQLite file while the server runs, its
//! restore into an empty data directory (or an empty PostgreSQL database), and moving everything
//! from one backend to the other, verified table by table.
//!
//! A backup is SQLite's `VACUUM INTO` copy: one read transaction, so it is a consistent snapshot
//! however many writers are busy, and it is itself an SQLite database that carries its schema
//! version (`_sqlx_migrations`). Restoring copies it into place and migrates it, so an older
//! backup comes back at the current schema.
//!
//! A move copies every table row by row, keeping ids, into a database migrated to the same
//! schema, then compares each table's row count and digest (an order-free sum of the rows'
//! SHA-256, over values as both backends read them: a boolean is 0 or 1). The search index is
//! copied as data (its terms), PostgreSQL's sequences are moved past the copied ids.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions, SqliteRow};
use sqlx::{Column, PgPool, Row, SqlitePool, TypeInfo, ValueRef};

use crate::{OpenOptions, StoreError};

/// The first bytes of every SQLite database file.
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";

/// What a backup or a restore holds: its schema version and each table's rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The newest migration applied.
    pub schema_version: i64,
    pub tables: Vec<TableSummary>,
}

/// One table's row count and digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSummary {
    pub table: String,
    pub rows: u64,
    /// Hex of an order-free digest of the rows (the same rows give the same digest on both
    /// backends).
    pub digest: String,
}

/// The path of a `sqlite://PATH` URL.
pub fn sqlite_path(url: &str) -> Result<PathBuf, StoreError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|error| StoreError::Config(format!("invalid SQLite URL: {error}")))?;
    Ok(options.get_filename().to_owned())
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The newest schema version this build knows, per backend.
pub fn latest_schema_version(postgres: bool) -> i64 {
    let migrator = if postgres { &crate::postgres::MIGRATOR } else { &crate::sqlite::MIGRATOR };
    migrator.migrations.iter().map(|m| m.version).max().unwrap_or(0)
}

/// Takes a consistent copy of the SQLite database at `url` into `out` while the server may be
/// running: SQLite's `VACUUM INTO`, written beside `out` and renamed into place when complete.
/// Refuses to overwrite an existing file. Returns what the copy holds.
pub async fn backup(url: &str, out: &Path) -> Result<Snapshot, StoreError> {
    if is_postgres(url) {
        return Err(StoreError::Config(
            "on PostgreSQL take backups with pg_dump (docs/operations.md, \"Backups\")".into(),
        ));
    }
    let source = sqlite_path(url)?;
    if !source.exists() {
        return Err(StoreError::Config(format!("there is no database at {}", source.display())));
    }
    if out.exists() {
        return Err(StoreError::Config(format!("{} exists already; a backup never overwrites a file", out.display())));
    }
    let partial = out.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let pool = sqlite_pool(url, true).await?;
    let target = partial.to_str().ok_or_else(|| StoreError::Config("the backup's path is not UTF-8".into()))?;
    sqlx::query("VACUUM INTO $1").bind(target).execute(&pool).await?;
    pool.close().await;
    let copy = format!("sqlite://{target}");
    let snapshot = check_sqlite_file(&copy).await?;
    std::fs::rename(&partial, out)
        .map_err(|error| StoreError::Config(format!("cannot move the backup to {}: {error}", out.display())))?;
    Ok(snapshot)
}

/// Restores a backup made by [`backup`] into `url`, which must be empty: on SQLite no database
/// file yet; on PostgreSQL no Otklik table with a row. The restored database is migrated to the
/// current schema (an older backup is upgraded). Returns what the database holds afterwards.
pub async fn restore(file: &Path, url: &str, options: &OpenOptions) -> Result<Snapshot, StoreError> {
    let mut head = [0u8; 16];
    let read = std::fs::File::open(file)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .map_err(|error| StoreError::Config(format!("cannot read {}: {error}", file.display())));
    if read.is_err() || head != SQLITE_MAGIC {
        return Err(StoreError::Config(format!("{} is not an Otklik backup (an SQLite file)", file.display())));
    }
    let backup_url = format!("sqlite://{}", file.display());
    let held = check_sqlite_file(&backup_url).await?;
    if held.schema_version > latest_schema_version(false) {
        return Err(StoreError::Config(format!(
            "the backup's schema ({}) is newer than this Otklik's ({}): restore it with the Otklik that made it",
            held.schema_version,
            latest_schema_version(false)
        )));
    }
    if is_postgres(url) {
        // The backup is migrated on a copy (the file itself is left as it was), then moved.
        let dir = file.parent().unwrap_or(Path::new("."));
        let copy = dir.join(format!(".otklik-restore-{}.db", std::process::id()));
        std::fs::copy(file, &copy).map_err(|error| StoreError::Config(format!("cannot copy the backup: {error}")))?;
        let copy_url = format!("sqlite://{}", copy.display());
        let moved = move_database(&copy_url, url, options).await;
        let _ = std::fs::remove_file(&copy);
        return moved;
    }
    let target = sqlite_path(url)?;
    if target.exists() && std::fs::metadata(&target).map(|m| m.len() > 0).unwrap_or(true) {
        return Err(StoreError::Config(format!(
            "{} exists already: restore into an empty data directory",
            target.display()
        )));
    }
    for suffix in ["-wal", "-shm"] {
        let leftover = PathBuf::from(format!("{}{suffix}", target.display()));
        if leftover.exists() {
            return Err(StoreError::Config(format!(
                "{} exists already (it belongs to a database): restore into an empty data directory",
                leftover.display()
            )));
        }
    }
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|error| StoreError::Config(format!("cannot create {}: {error}", dir.display())))?;
    }
    let partial = target.with_extension("restoring");
    std::fs::copy(file, &partial).map_err(|error| StoreError::Config(format!("cannot copy the backup: {error}")))?;
    std::fs::rename(&partial, &target)
        .map_err(|error| StoreError::Config(format!("cannot move the restored file into place: {error}")))?;
    // Opening migrates it.
    drop(crate::open(url, options).await?);
    snapshot(url, options).await
}

/// Copies everything from the database at `from` into the empty database at `to` (SQLite to
/// PostgreSQL or back), keeping ids and references, and verifies the copy: each table's row
/// count and digest must match. `to` is migrated first; `from` must be at the current schema
/// (opening it migrates it). Returns the copy's tables.
pub async fn move_database(from: &str, to: &str, options: &OpenOptions) -> Result<Snapshot, StoreError> {
    if from == to {
        return Err(StoreError::Config("the source and the target are the same database".into()));
    }
    drop(crate::open(from, options).await?);
    drop(crate::open(to, options).await?);
    let source = Db::connect(from, options, true).await?;
    let target = Db::connect(to, options, false).await?;
    let result = copy_all(&source, &target).await;
    source.close().await;
    target.close().await;
    result
}

async fn copy_all(source: &Db, target: &Db) -> Result<Snapshot, StoreError> {
    let version = source.schema_version().await?;
    let target_version = target.schema_version().await?;
    if version != target_version {
        return Err(StoreError::Config(format!(
            "the source's schema ({version}) and the target's ({target_version}) differ"
        )));
    }
    let tables = source.tables().await?;
    for table in &tables {
        if target.count(table).await? > 0 {
            return Err(StoreError::Config(format!(
                "the target is not empty (`{table}` has rows): move into an empty database"
            )));
        }
    }
    let order = match (source, target) {
        (Db::Postgres(_), _) => source.load_order(&tables).await?,
        _ => target.load_order(&tables).await?,
    };
    let mut copied = Vec::with_capacity(order.len());
    for table in &order {
        let columns = target.columns(table).await?;
        let source_columns = source.columns(table).await?;
        let names: BTreeSet<&String> = columns.iter().map(|c| &c.name).collect();
        let source_names: BTreeSet<&String> = source_columns.iter().map(|c| &c.name).collect();
        if names != source_names {
            return Err(StoreError::Config(format!("`{table}` has other columns in the target")));
        }
        let mut rows = source.rows(table, &columns).await?;
        // A row may name a later row of its own table (a customer merged into a newer one, a
        // case linked to a newer incident): those columns are set once every row is in.
        let mut later = Vec::new();
        for (n, column) in columns.iter().enumerate() {
            if SELF_REFERENCES.contains(&(table.as_str(), column.name.as_str())) {
                for row in &mut rows {
                    if let (Value::Int(id), Value::Int(points_to)) = (&row[key_of(&columns)], &row[n]) {
                        later.push((column.name.clone(), *id, *points_to));
                        row[n] = Value::Null;
                    }
                }
            }
        }
        target.insert(table, &columns, &rows).await?;
        target.point(table, &later).await?;
        copied.push(table.clone());
    }
    target.after_load(&order).await?;
    let before = summarize(source).await?;
    let after = summarize(target).await?;
    for (a, b) in before.tables.iter().zip(&after.tables) {
        if a != b {
            return Err(StoreError::Internal(format!(
                "`{}` differs after the copy: {} rows ({}) against {} ({})",
                a.table, a.rows, a.digest, b.rows, b.digest
            )));
        }
    }
    if before.tables.len() != after.tables.len() {
        return Err(StoreError::Internal("the target has other tables than the source".into()));
    }
    Ok(after)
}

/// Each table's rows and digest, and the schema version.
pub async fn snapshot(url: &str, options: &OpenOptions) -> Result<Snapshot, StoreError> {
    let db = Db::connect(url, options, true).await?;
    let snapshot = summarize(&db).await;
    db.close().await;
    snapshot
}

async fn summarize(db: &Db) -> Result<Snapshot, StoreError> {
    let schema_version = db.schema_version().await?;
    let mut tables = Vec::new();
    for table in db.tables().await? {
        let columns = db.columns(&table).await?;
        let rows = db.rows(&table, &columns).await?;
        let mut sum: u128 = 0;
        for row in &rows {
            let mut hasher = Sha256::new();
            for (column, value) in columns.iter().zip(row) {
                hasher.update(column.name.as_bytes());
                hasher.update([0]);
                value.feed(&mut hasher);
            }
            let digest = hasher.finalize();
            let mut first = [0u8; 16];
            first.copy_from_slice(&digest[..16]);
            sum = sum.wrapping_add(u128::from_be_bytes(first));
        }
        tables.push(TableSummary { table, rows: rows.len() as u64, digest: format!("{sum:032x}") });
    }
    Ok(Snapshot { schema_version, tables })
}

/// Checks an SQLite file (`PRAGMA integrity_check`) and summarizes it.
async fn check_sqlite_file(url: &str) -> Result<Snapshot, StoreError> {
    let pool = sqlite_pool(url, true).await?;
    let verdict: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&pool).await?;
    if verdict != "ok" {
        pool.close().await;
        return Err(StoreError::Corrupt(format!("the copy fails SQLite's integrity check: {verdict}")));
    }
    let snapshot = summarize(&Db::Sqlite(pool.clone())).await;
    pool.close().await;
    snapshot
}

async fn sqlite_pool(url: &str, read_only: bool) -> Result<SqlitePool, StoreError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|error| StoreError::Config(format!("invalid SQLite URL: {error}")))?
        .read_only(read_only)
        .foreign_keys(false)
        .busy_timeout(std::time::Duration::from_secs(30));
    Ok(SqlitePoolOptions::new().max_connections(1).connect_with(options).await?)
}

/// A value as both backends read it.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bytes(Vec<u8>),
}

impl Value {
    fn feed(&self, hasher: &mut Sha256) {
        match self {
            Value::Null => hasher.update([0]),
            Value::Int(n) => {
                hasher.update([1]);
                hasher.update(n.to_be_bytes());
            }
            Value::Real(x) => {
                hasher.update([2]);
                hasher.update(x.to_be_bytes());
            }
            Value::Text(text) => {
                hasher.update([3]);
                hasher.update((text.len() as u64).to_be_bytes());
                hasher.update(text.as_bytes());
            }
            Value::Bytes(bytes) => {
                hasher.update([4]);
                hasher.update((bytes.len() as u64).to_be_bytes());
                hasher.update(bytes);
            }
        }
    }
}

/// A column to copy: its name and (on PostgreSQL) its type.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ColumnInfo {
    name: String,
    kind: String,
}

/// One side of a move, on its own connections (foreign keys off on SQLite while loading).
enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Columns that name a row of their own table.
const SELF_REFERENCES: &[(&str, &str)] = &[("customers", "merged_into"), ("cases", "parent_id")];

/// Where a table's `id` is among its columns.
fn key_of(columns: &[ColumnInfo]) -> usize {
    columns.iter().position(|c| c.name == "id").unwrap_or(0)
}

/// The search index: an FTS5 table on SQLite (the case id is its rowid), a table with a
/// generated column on PostgreSQL; copied as (case id, terms).
const SEARCH: &str = "case_search";

impl Db {
    async fn connect(url: &str, options: &OpenOptions, read_only: bool) -> Result<Db, StoreError> {
        if is_postgres(url) {
            let mut connect = PgConnectOptions::from_str(url)
                .map_err(|error| StoreError::Config(format!("invalid PostgreSQL URL: {error}")))?;
            if let Some(schema) = &options.postgres_schema {
                connect = connect.options([("search_path", schema.as_str())]);
            }
            Ok(Db::Postgres(PgPoolOptions::new().max_connections(1).connect_with(connect).await?))
        } else {
            Ok(Db::Sqlite(sqlite_pool(url, read_only).await?))
        }
    }

    async fn close(&self) {
        match self {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
    }

    async fn schema_version(&self) -> Result<i64, StoreError> {
        let sql = "SELECT coalesce(max(version), 0) FROM _sqlx_migrations WHERE success";
        Ok(match self {
            Db::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await?,
            Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await?,
        })
    }

    /// Otklik's tables, by name (not the migrations' own, nor SQLite's or FTS5's internals).
    async fn tables(&self) -> Result<Vec<String>, StoreError> {
        let names: Vec<String> = match self {
            Db::Sqlite(pool) => {
                sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
                     AND name NOT LIKE '\\_sqlx%' ESCAPE '\\' AND name NOT LIKE 'case_search_%' ORDER BY name",
                )
                .fetch_all(pool)
                .await?
            }
            Db::Postgres(pool) => {
                sqlx::query_scalar(
                    "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() \
                     AND table_type = 'BASE TABLE' AND table_name NOT LIKE '\\_sqlx%' ORDER BY table_name",
                )
                .fetch_all(pool)
                .await?
            }
        };
        let mut names = names;
        // By bytes, as both backends' collations would not agree.
        names.sort();
        Ok(names)
    }

    async fn count(&self, table: &str) -> Result<i64, StoreError> {
        let sql = format!("SELECT count(*) FROM {}", quoted(table));
        Ok(match self {
            Db::Sqlite(pool) => sqlx::query_scalar(&sql).fetch_one(pool).await?,
            Db::Postgres(pool) => sqlx::query_scalar(&sql).fetch_one(pool).await?,
        })
    }

    /// The columns a table's rows are copied by (PostgreSQL's generated ones left out), by name.
    async fn columns(&self, table: &str) -> Result<Vec<ColumnInfo>, StoreError> {
        if table == SEARCH {
            return Ok(vec![
                ColumnInfo { name: "case_id".into(), kind: "int8".into() },
                ColumnInfo { name: "terms".into(), kind: "text".into() },
            ]);
        }
        let mut columns: Vec<ColumnInfo> = match self {
            Db::Sqlite(pool) => {
                let rows: Vec<(String, String)> =
                    sqlx::query_as(&format!("SELECT name, type FROM pragma_table_info('{table}')"))
                        .fetch_all(pool)
                        .await?;
                rows.into_iter().map(|(name, kind)| ColumnInfo { name, kind: kind.to_lowercase() }).collect()
            }
            Db::Postgres(pool) => {
                let rows: Vec<(String, String)> = sqlx::query_as(
                    "SELECT column_name::text, udt_name::text FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER'",
                )
                .bind(table)
                .fetch_all(pool)
                .await?;
                rows.into_iter().map(|(name, kind)| ColumnInfo { name, kind }).collect()
            }
        };
        columns.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(columns)
    }

    /// The columns as a statement names them (the search index's case id is FTS5's `rowid`).
    fn column_list(&self, table: &str, columns: &[ColumnInfo]) -> String {
        columns
            .iter()
            .map(|c| match self {
                Db::Sqlite(_) if table == SEARCH && c.name == "case_id" => "rowid".to_owned(),
                _ => quoted(&c.name),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Every row of a table, by its first key.
    async fn rows(&self, table: &str, columns: &[ColumnInfo]) -> Result<Vec<Vec<Value>>, StoreError> {
        let order = match self {
            Db::Sqlite(_) if table == SEARCH => "rowid".to_owned(),
            _ if columns.iter().any(|c| c.name == "id") => "id".to_owned(),
            _ => "1".to_owned(),
        };
        let sql = format!("SELECT {} FROM {} ORDER BY {order}", self.column_list(table, columns), quoted(table));
        match self {
            Db::Sqlite(pool) => {
                let rows: Vec<SqliteRow> = sqlx::query(&sql).fetch_all(pool).await?;
                rows.iter().map(|row| (0..columns.len()).map(|i| sqlite_value(row, i)).collect()).collect()
            }
            Db::Postgres(pool) => {
                let rows: Vec<PgRow> = sqlx::query(&sql).fetch_all(pool).await?;
                rows.iter().map(|row| (0..columns.len()).map(|i| pg_value(row, i)).collect()).collect()
            }
        }
    }

    /// The tables in an order their foreign keys allow loading in (referenced ones first).
    async fn load_order(&self, tables: &[String]) -> Result<Vec<String>, StoreError> {
        let edges: Vec<(String, String)> = match self {
            Db::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c \
                     JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'f' AND n.nspname = current_schema()",
                )
                .fetch_all(pool)
                .await?
            }
            Db::Sqlite(pool) => {
                let mut edges = Vec::new();
                for table in tables {
                    let parents: Vec<String> =
                        sqlx::query_scalar(&format!("SELECT \"table\" FROM pragma_foreign_key_list('{table}')"))
                            .fetch_all(pool)
                            .await?;
                    edges.extend(parents.into_iter().map(|parent| (table.clone(), parent)));
                }
                edges
            }
        };
        let strip = |name: &str| name.rsplit('.').next().unwrap_or(name).trim_matches('"').to_owned();
        let mut needs: BTreeMap<String, BTreeSet<String>> =
            tables.iter().map(|t| (t.clone(), BTreeSet::new())).collect();
        for (child, parent) in edges {
            let (child, parent) = (strip(&child), strip(&parent));
            if child != parent && needs.contains_key(&parent) {
                needs.entry(child).or_default().insert(parent);
            }
        }
        let mut order = Vec::with_capacity(tables.len());
        while !needs.is_empty() {
            let ready: Vec<String> =
                needs.iter().filter(|(_, parents)| parents.is_empty()).map(|(t, _)| t.clone()).collect();
            if ready.is_empty() {
                return Err(StoreError::Internal("the tables' foreign keys go round in a circle".into()));
            }
            for table in ready {
                needs.remove(&table);
                for parents in needs.values_mut() {
                    parents.remove(&table);
                }
                order.push(table);
            }
        }
        Ok(order)
    }

    /// Inserts rows, a few hundred a statement, in one transaction.
    async fn insert(&self, table: &str, columns: &[ColumnInfo], rows: &[Vec<Value>]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let names = self.column_list(table, columns);
        let per_statement = (10_000 / columns.len().max(1)).max(1);
        match self {
            Db::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                for chunk in rows.chunks(per_statement) {
                    let sql = insert_sql(table, &names, columns.len(), chunk.len());
                    let mut query = sqlx::query(&sql);
                    for value in chunk.iter().flatten() {
                        query = match value {
                            Value::Null => query.bind(None::<i64>),
                            Value::Int(n) => query.bind(*n),
                            Value::Real(x) => query.bind(*x),
                            Value::Text(text) => query.bind(text.clone()),
                            Value::Bytes(bytes) => query.bind(bytes.clone()),
                        };
                    }
                    query.execute(&mut *tx).await?;
                }
                tx.commit().await?;
            }
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                for chunk in rows.chunks(per_statement) {
                    let sql = insert_sql(table, &names, columns.len(), chunk.len());
                    let mut query = sqlx::query(&sql);
                    for row in chunk {
                        for (column, value) in columns.iter().zip(row) {
                            query = bind_pg(query, &column.kind, value)?;
                        }
                    }
                    query.execute(&mut *tx).await?;
                }
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// Sets the self-references held back while loading: (column, row id, the id it names).
    async fn point(&self, table: &str, later: &[(String, i64, i64)]) -> Result<(), StoreError> {
        for (column, id, points_to) in later {
            let sql = format!("UPDATE {} SET {} = $1 WHERE id = $2", quoted(table), quoted(column));
            match self {
                Db::Sqlite(pool) => {
                    sqlx::query(&sql).bind(*points_to).bind(*id).execute(pool).await?;
                }
                Db::Postgres(pool) => {
                    sqlx::query(&sql).bind(*points_to).bind(*id).execute(pool).await?;
                }
            }
        }
        Ok(())
    }

    /// After loading: PostgreSQL's id sequences continue after the copied ids.
    async fn after_load(&self, tables: &[String]) -> Result<(), StoreError> {
        if let Db::Postgres(pool) = self {
            for table in tables {
                let sequence: Option<String> = sqlx::query_scalar("SELECT pg_get_serial_sequence($1, 'id')")
                    .bind(table)
                    .fetch_optional(pool)
                    .await
                    .ok()
                    .flatten();
                if let Some(sequence) = sequence {
                    sqlx::query(&format!(
                        "SELECT setval($1, coalesce((SELECT max(id) FROM {}), 1), \
                         (SELECT max(id) FROM {}) IS NOT NULL)",
                        quoted(table),
                        quoted(table)
                    ))
                    .bind(sequence)
                    .execute(pool)
                    .await?;
                }
            }
        }
        Ok(())
    }
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn insert_sql(table: &str, names: &str, columns: usize, rows: usize) -> String {
    let mut sql = format!("INSERT INTO {} ({names}) VALUES ", quoted(table));
    let mut n = 0;
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            n += 1;
            sql.push_str(&format!("${n}"));
        }
        sql.push(')');
    }
    sql
}

fn sqlite_value(row: &SqliteRow, i: usize) -> Result<Value, StoreError> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let kind = raw.type_info().name().to_owned();
    Ok(match kind.as_str() {
        "INTEGER" | "BOOLEAN" => Value::Int(row.try_get::<i64, _>(i)?),
        "REAL" => Value::Real(row.try_get::<f64, _>(i)?),
        "BLOB" => Value::Bytes(row.try_get::<Vec<u8>, _>(i)?),
        _ => Value::Text(row.try_get::<String, _>(i)?),
    })
}

fn pg_value(row: &PgRow, i: usize) -> Result<Value, StoreError> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let kind = row.columns()[i].type_info().name().to_owned();
    Ok(match kind.as_str() {
        "INT8" => Value::Int(row.try_get::<i64, _>(i)?),
        "INT4" => Value::Int(i64::from(row.try_get::<i32, _>(i)?)),
        "INT2" => Value::Int(i64::from(row.try_get::<i16, _>(i)?)),
        "BOOL" => Value::Int(i64::from(row.try_get::<bool, _>(i)?)),
        "FLOAT8" => Value::Real(row.try_get::<f64, _>(i)?),
        "FLOAT4" => Value::Real(f64::from(row.try_get::<f32, _>(i)?)),
        "BYTEA" => Value::Bytes(row.try_get::<Vec<u8>, _>(i)?),
        _ => Value::Text(row.try_get::<String, _>(i)?),
    })
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// Binds a value as the PostgreSQL column's type wants it.
fn bind_pg<'q>(query: PgQuery<'q>, kind: &str, value: &Value) -> Result<PgQuery<'q>, StoreError> {
    let mismatch = || StoreError::Corrupt(format!("a `{kind}` column cannot take {value:?}"));
    Ok(match (kind, value) {
        ("bool", Value::Null) => query.bind(None::<bool>),
        ("bool", Value::Int(n)) => query.bind(*n != 0),
        ("int8", Value::Null) => query.bind(None::<i64>),
        ("int8", Value::Int(n)) => query.bind(*n),
        ("int4", Value::Null) => query.bind(None::<i32>),
        ("int4", Value::Int(n)) => query.bind(i32::try_from(*n).map_err(|_| mismatch())?),
        ("int2", Value::Null) => query.bind(None::<i16>),
        ("int2", Value::Int(n)) => query.bind(i16::try_from(*n).map_err(|_| mismatch())?),
        ("float8", Value::Null) => query.bind(None::<f64>),
        ("float8", Value::Real(x)) => query.bind(*x),
        ("float8", Value::Int(n)) => query.bind(*n as f64),
        ("bytea", Value::Null) => query.bind(None::<Vec<u8>>),
        ("bytea", Value::Bytes(bytes)) => query.bind(bytes.clone()),
        ("text" | "varchar", Value::Null) => query.bind(None::<String>),
        ("text" | "varchar", Value::Text(text)) => query.bind(text.clone()),
        _ => return Err(mismatch()),
    })
}
