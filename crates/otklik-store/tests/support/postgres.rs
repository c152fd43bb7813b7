//! A fresh PostgreSQL schema for one test, shared by the storage suite and the server's tests
//! (which include this file by path). Under CI (`CI=true`) PostgreSQL must be reachable; elsewhere
//! a test that needs it is skipped with a message when it is not.

use otklik_store::OpenOptions;

/// Where the PostgreSQL tests connect: `OTKLIK_TEST_POSTGRES_URL`, or the local server.
pub fn postgres_url() -> String {
    std::env::var("OTKLIK_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A schema of its own for one test; drop it with [`TestSchema::drop`] when done.
pub struct TestSchema {
    pub url: String,
    pub name: String,
}

impl TestSchema {
    /// A new schema name, or none (with a message) when PostgreSQL cannot be reached outside CI.
    pub async fn fresh() -> Option<TestSchema> {
        let url = postgres_url();
        match <sqlx::PgConnection as sqlx::Connection>::connect(&url).await {
            Ok(_) => {}
            Err(error) if std::env::var("CI").as_deref() != Ok("true") => {
                eprintln!("skipping the PostgreSQL test: {url} is not reachable ({error})");
                return None;
            }
            Err(error) => panic!("CI=true requires PostgreSQL at {url}: {error}"),
        }
        use std::hash::{BuildHasher, RandomState};
        let salt = RandomState::new().hash_one((std::process::id(), std::time::SystemTime::now()));
        Some(TestSchema { url, name: format!("otklik_test_{salt:016x}") })
    }

    /// Store options that put Otklik in this schema.
    pub fn options(&self) -> OpenOptions {
        OpenOptions { postgres_schema: Some(self.name.clone()), ..OpenOptions::default() }
    }

    /// Drops the schema and everything in it.
    pub async fn drop(self) {
        if let Ok(mut connection) = <sqlx::PgConnection as sqlx::Connection>::connect(&self.url).await {
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name)).execute(&mut connection).await;
        }
    }
}
