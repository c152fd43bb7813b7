//! Upgrades from every schema ever released: for each migration step, a database is built with
//! the migrations up to it, filled with data through that step's own tables, and opened by
//! this Otklik, which migrates it to the current schema; the data must read back whole. On
//! SQLite and PostgreSQL. (Restoring an older backup goes the same way.)

mod support;

use std::borrow::Cow;
use std::path::Path;

use otklik_store::{OpenOptions, Store};
use sqlx::migrate::Migrator;

/// 2026-11-23 10:00 UTC, in milliseconds.
const AT: i64 = 1_795_428_000_000;

/// The data an early database holds, in the tables of step 1 (and of step 2 from there on).
fn fixture(step: i64, sqlite: bool) -> Vec<String> {
    let (yes, no) = if sqlite { ("1", "0") } else { ("TRUE", "FALSE") };
    let search = if sqlite {
        "INSERT INTO case_search (rowid, terms) VALUES (1, 'курьер опоздал')".to_owned()
    } else {
        "INSERT INTO case_search (case_id, terms) VALUES (1, 'курьер опоздал')".to_owned()
    };
    let mut statements = vec![
        format!(
            "INSERT INTO customers (id, name, followers, vip, locale, created_at) VALUES (1, 'Анна', NULL, {no}, 'ru', {AT})"
        ),
        "INSERT INTO customer_identities (kind, value, customer_id) VALUES ('email', 'anna@example.com', 1)".to_owned(),
        format!(
            "INSERT INTO users (id, username, display_name, role, password_hash, created_at) VALUES (1, 'olga', 'Ольга', 'manager', 'x', {AT})"
        ),
        format!(
            "INSERT INTO api_tokens (id, name, role, token_hash, created_at) VALUES (1, 'site', 'intake', 'digest-1', {AT})"
        ),
        format!(
            "INSERT INTO cases (id, channel, kind, audience, sentiment, language, priority, status, subject, location, \
             product, assignee, public, hidden, external_id, customer_id, status_token, created_at, updated_at) \
             VALUES (1, 'web', 'complaint', 'none', 'negative', 'ru', 'normal', 'new', 'Опоздание', 'Тверская', NULL, \
             'olga', {no}, {no}, NULL, 1, 'token-1', {AT}, {AT})"
        ),
        format!(
            "INSERT INTO messages (id, case_id, direction, public, channel, author, body, created_at) \
             VALUES (1, 1, 'inbound', {yes}, 'web', 'customer', 'Курьер опоздал', {AT})"
        ),
        format!(
            "INSERT INTO events (id, case_id, at, actor, action, new_value) VALUES (1, 1, {AT}, 'site', 'created', 'complaint')"
        ),
        search,
    ];
    if step >= 2 {
        statements.push(format!(
            "INSERT INTO outbox (id, case_id, template, channel, body, status, attempts, next_attempt_at, created_at) \
             VALUES (1, 1, 'complaint.received', 'web', 'Спасибо', 'pending', 0, {AT}, {AT})"
        ));
        statements.push(format!(
            "INSERT INTO tasks (id, case_id, title, assignee, due_on, status, created_by, created_at) \
             VALUES (1, 1, 'Позвонить', 'olga', '2026-11-24', 'open', 'olga', {AT})"
        ));
    }
    statements
}

async fn steps(backend: &str) -> Vec<sqlx::migrate::Migration> {
    migrator(backend).await.migrations.to_vec()
}

/// The migrations of a backend, as this Otklik has them.
async fn migrator(backend: &str) -> Migrator {
    Migrator::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(backend)).await.unwrap()
}

/// Checks what a migrated database reads back.
async fn reads_back(store: &dyn Store, step: i64) {
    let detail = store.case(1).await.unwrap_or_else(|e| panic!("from step {step}: {e}"));
    assert_eq!(detail.case.subject.as_deref(), Some("Опоздание"), "from step {step}");
    assert_eq!(detail.messages[0].body, "Курьер опоздал", "from step {step}");
    assert_eq!(detail.customer.name.as_deref(), Some("Анна"), "from step {step}");
    assert_eq!(detail.customer.identities[0].value, "anna@example.com", "from step {step}");
    assert_eq!(detail.events[0].action, "created", "from step {step}");
    assert_eq!(store.user_by_name("olga").await.unwrap().unwrap().display_name.as_deref(), Some("Ольга"));
    assert!(store.token_by_hash("digest-1").await.unwrap().is_some(), "from step {step}");
    let filter = otklik_core::CaseFilter { query: Some("курьер".into()), ..otklik_core::CaseFilter::default() };
    assert_eq!(store.list_cases(&filter).await.unwrap().items.len(), 1, "search from step {step}");
    if step >= 2 {
        let outbox: i64 = store.outbox_counts().await.unwrap().iter().map(|(_, _, n)| n).sum();
        assert_eq!(outbox, 1, "the outbox from step {step}");
        assert_eq!(store.tasks_for("olga").await.unwrap().len(), 1, "tasks from step {step}");
    }
}

#[tokio::test]
async fn every_earlier_sqlite_schema_upgrades_with_its_data() {
    let all = steps("sqlite").await;
    for step in 1..all.len() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("otklik.db").display());
        {
            let options = url.parse::<sqlx::sqlite::SqliteConnectOptions>().unwrap().create_if_missing(true);
            let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
            let mut migrator = migrator("sqlite").await;
            migrator.migrations = Cow::Owned(all[..step].to_vec());
            migrator.run(&pool).await.unwrap();
            for statement in fixture(all[step - 1].version, true) {
                sqlx::query(&statement)
                    .execute(&pool)
                    .await
                    .unwrap_or_else(|e| panic!("step {step}: {statement}: {e}"));
            }
            pool.close().await;
        }
        let store = otklik_store::open(&url, &OpenOptions::default()).await.unwrap();
        reads_back(&*store, all[step - 1].version).await;
    }
}

/// A backup made by an earlier Otklik is restored at the current schema.
#[tokio::test]
async fn an_older_backup_restores_migrated() {
    let all = steps("sqlite").await;
    let step = 1;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("old-backup.db");
    {
        let options = format!("sqlite://{}", file.display())
            .parse::<sqlx::sqlite::SqliteConnectOptions>()
            .unwrap()
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        let mut migrator = migrator("sqlite").await;
        migrator.migrations = Cow::Owned(all[..step].to_vec());
        migrator.run(&pool).await.unwrap();
        for statement in fixture(all[step - 1].version, true) {
            sqlx::query(&statement).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }
    let url = format!("sqlite://{}", dir.path().join("data").join("otklik.db").display());
    let restored = otklik_store::maintenance::restore(&file, &url, &OpenOptions::default()).await.unwrap();
    assert_eq!(restored.schema_version, otklik_store::maintenance::latest_schema_version(false));
    let store = otklik_store::open(&url, &OpenOptions::default()).await.unwrap();
    reads_back(&*store, all[step - 1].version).await;
    drop(store);
    // The backup itself is left as it was, and a second restore over the first is refused.
    let error = otklik_store::maintenance::restore(&file, &url, &OpenOptions::default()).await.unwrap_err();
    assert!(error.to_string().contains("exists already"), "{error}");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display())).await.unwrap();
    let version: i64 = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations").fetch_one(&pool).await.unwrap();
    assert_eq!(version, all[0].version);
}

/// A backup restores straight into an empty PostgreSQL database.
#[tokio::test]
async fn a_backup_restores_into_postgres() {
    let Some(schema) = support::postgres::TestSchema::fresh().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("otklik.db").display());
    {
        let options = url.parse::<sqlx::sqlite::SqliteConnectOptions>().unwrap().create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        migrator("sqlite").await.run(&pool).await.unwrap();
        for statement in fixture(99, true) {
            sqlx::query(&statement).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }
    let file = dir.path().join("backup.db");
    otklik_store::maintenance::backup(&url, &file).await.unwrap();
    otklik_store::maintenance::restore(&file, &schema.url, &schema.options()).await.unwrap();
    let store = otklik_store::open(&schema.url, &schema.options()).await.unwrap();
    reads_back(&*store, 99).await;
    drop(store);
    let again = otklik_store::maintenance::restore(&file, &schema.url, &schema.options()).await.unwrap_err();
    assert!(again.to_string().contains("not empty"), "{again}");
    schema.drop().await;
}

#[tokio::test]
async fn every_earlier_postgres_schema_upgrades_with_its_data() {
    let all = steps("postgres").await;
    for step in 1..all.len() {
        let Some(schema) = support::postgres::TestSchema::fresh().await else { return };
        {
            let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&schema.url).await.unwrap();
            sqlx::query(&format!("CREATE SCHEMA {}", schema.name)).execute(&mut admin).await.unwrap();
            let options = schema
                .url
                .parse::<sqlx::postgres::PgConnectOptions>()
                .unwrap()
                .options([("search_path", schema.name.as_str())]);
            let pool = sqlx::PgPool::connect_with(options).await.unwrap();
            let mut migrator = migrator("postgres").await;
            migrator.migrations = Cow::Owned(all[..step].to_vec());
            migrator.run(&pool).await.unwrap();
            for statement in fixture(all[step - 1].version, false) {
                sqlx::query(&statement)
                    .execute(&pool)
                    .await
                    .unwrap_or_else(|e| panic!("step {step}: {statement}: {e}"));
            }
            pool.close().await;
        }
        let store = otklik_store::open(&schema.url, &schema.options()).await.unwrap();
        reads_back(&*store, all[step - 1].version).await;
        drop(store);
        schema.drop().await;
    }
}
