//! What the server's integration tests share: the whole application on a random port over a fresh
//! SQLite file or a fresh PostgreSQL schema, with an agent's and an intake token, driven with a
//! real HTTP client; and `on_both_backends!`, which runs a test on each.
#![allow(dead_code)]

pub mod mail;
#[path = "../../../otklik-store/tests/support/postgres.rs"]
pub mod postgres;

use std::sync::Arc;

use otklik_core::Role;
use otklik_server::auth::mint_token;
use otklik_server::{Application, Config};
use reqwest::StatusCode;
use serde_json::Value;
use time::OffsetDateTime;

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub agent: String,
    pub intake: String,
    pub store: Arc<dyn otklik_store::Store>,
    _dir: tempfile::TempDir,
    schema: Option<postgres::TestSchema>,
}

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Runs each named `async fn name(db: Db)` as two tests, `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::support::Db::Sqlite).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::support::Db::Postgres).await;
            })*
        }
    };
}

impl TestApp {
    pub async fn start() -> TestApp {
        TestApp::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        TestApp::start_on(Db::Sqlite, adjust).await.expect("SQLite is always there")
    }

    /// The app on `db`; none when PostgreSQL is asked for and cannot be reached outside CI.
    /// A test on PostgreSQL ends with [`TestApp::finish`], which drops its schema.
    pub async fn start_on(db: Db, adjust: impl FnOnce(&mut Config)) -> Option<TestApp> {
        TestApp::start_with_channels(db, adjust, None).await
    }

    /// The app on `db` with these channel drivers instead of the configured ones.
    pub async fn start_with_channels(
        db: Db,
        adjust: impl FnOnce(&mut Config),
        channels: Option<otklik_channels::Registry>,
    ) -> Option<TestApp> {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config { data_dir: dir.path().to_owned(), ..Config::default() };
        config.listen = "127.0.0.1:0".parse().unwrap();
        adjust(&mut config);
        let (app, schema) = match db {
            Db::Sqlite => (Application::build(&config).await.expect("app builds"), None),
            Db::Postgres => {
                let schema = postgres::TestSchema::fresh().await?;
                let store = otklik_store::open(&schema.url, &schema.options()).await.expect("postgres opens");
                let clock = Arc::new(otklik_server::SystemClock);
                (Application::build_with(&config, store, clock).await.expect("app builds"), Some(schema))
            }
        };
        let store = app.state().store().clone();
        let (agent, digest) = mint_token();
        store.create_token("agent-token", Role::Agent, None, &digest, OffsetDateTime::now_utc()).await.unwrap();
        let (intake, digest) = mint_token();
        store.create_token("web-form", Role::Intake, None, &digest, OffsetDateTime::now_utc()).await.unwrap();
        store.create_user("olga", None, Role::Agent, "unused", OffsetDateTime::now_utc()).await.unwrap();
        let base = format!("http://{}", app.local_addr());
        let app = match channels {
            Some(channels) => app.with_channels(channels),
            None => app,
        };
        tokio::spawn(app.run_until_stopped(std::future::pending()));
        Some(TestApp { base, client: reqwest::Client::new(), agent, intake, store, _dir: dir, schema })
    }

    /// Ends a test: drops its PostgreSQL schema, if it has one.
    pub async fn finish(self) {
        if let Some(schema) = self.schema {
            drop(self.store);
            schema.drop().await;
        }
    }

    /// Runs one SQL statement on the app's database (to play a database changed behind
    /// Otklik's back).
    pub async fn sql(&self, statement: &str) {
        match &self.schema {
            None => {
                let url = format!("sqlite://{}", self._dir.path().join("otklik.db").display());
                let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
                sqlx::query(statement).execute(&pool).await.unwrap();
            }
            Some(schema) => {
                let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(&schema.url).await.unwrap();
                sqlx::query(&format!("SET search_path TO {}", schema.name)).execute(&mut connection).await.unwrap();
                sqlx::query(statement).execute(&mut connection).await.unwrap();
            }
        }
    }

    /// Every value in every table of the app's database (search index and its internals too),
    /// as lowercase text: what a test looks through for data that must be gone.
    pub async fn all_text(&self) -> String {
        use sqlx::{Row, TypeInfo, ValueRef};
        let mut all = String::new();
        match &self.schema {
            None => {
                let url = format!("sqlite://{}", self._dir.path().join("otklik.db").display());
                let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
                let tables: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
                    .fetch_all(&pool)
                    .await
                    .unwrap();
                for table in tables {
                    let rows = sqlx::query(&format!("SELECT * FROM \"{table}\"")).fetch_all(&pool).await.unwrap();
                    for row in rows {
                        for i in 0..row.len() {
                            let raw = row.try_get_raw(i).unwrap();
                            let text = match raw.type_info().name() {
                                "TEXT" => row.get::<String, _>(i),
                                "BLOB" => String::from_utf8_lossy(&row.get::<Vec<u8>, _>(i)).into_owned(),
                                _ => continue,
                            };
                            all.push_str(&text.to_lowercase());
                            all.push('\n');
                        }
                    }
                }
            }
            Some(schema) => {
                let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(&schema.url).await.unwrap();
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1",
                )
                .bind(&schema.name)
                .fetch_all(&mut connection)
                .await
                .unwrap();
                for table in tables {
                    let rows: Vec<String> =
                        sqlx::query_scalar(&format!("SELECT t::text FROM {}.\"{table}\" t", schema.name))
                            .fetch_all(&mut connection)
                            .await
                            .unwrap();
                    for row in rows {
                        all.push_str(&row.to_lowercase());
                        all.push('\n');
                    }
                }
            }
        }
        all
    }

    /// The data directory (the SQLite file is `otklik.db` in it).
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self.client.post(self.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let response = self.client.get(self.url(path)).bearer_auth(token).send().await.unwrap();
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self.client.patch(self.url(path)).bearer_auth(&self.agent).json(&body).send().await.unwrap();
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }

    pub async fn raw_post(&self, body: Vec<u8>, content_type: &str) -> (StatusCode, Value, String) {
        let response = self
            .client
            .post(self.url("/api/v1/feedback"))
            .bearer_auth(&self.intake)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let kind = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        (status, response.json().await.unwrap_or(Value::Null), kind)
    }

    pub async fn case_count(&self) -> usize {
        let (status, list) = self.get(&self.agent, "/api/v1/feedback?include_hidden=true&limit=200").await;
        assert_eq!(status, StatusCode::OK);
        list["items"].as_array().unwrap().len()
    }
}

/// A person signed in to the workspace: the session cookie and the session's CSRF token.
pub struct Person {
    pub username: String,
    pub cookie: String,
    pub csrf: String,
}

impl TestApp {
    /// Creates a person with `role` and signs them in through the sign-in form.
    pub async fn person(&self, username: &str, role: Role) -> Person {
        let password = "correct horse battery";
        let hash = otklik_server::auth::hash_password(password).unwrap();
        self.store.create_user(username, None, role, &hash, OffsetDateTime::now_utc()).await.unwrap();
        self.sign_in(username, password).await
    }

    /// Signs in through the form; the CSRF token is read from the settings page.
    pub async fn sign_in(&self, username: &str, password: &str) -> Person {
        let client = no_redirects();
        let response = client
            .post(self.url("/login"))
            .header("Origin", self.base.as_str())
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{username} signs in");
        let set_cookie = response.headers()[reqwest::header::SET_COOKIE].to_str().unwrap();
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        let html =
            client.get(self.url("/settings")).header("Cookie", &cookie).send().await.unwrap().text().await.unwrap();
        let csrf = html.split("name=\"csrf\" value=\"").nth(1).expect("a form").split('"').next().unwrap().to_owned();
        Person { username: username.to_owned(), cookie, csrf }
    }

    /// A page as `person` (or as nobody), without following redirects.
    pub async fn page(&self, person: Option<&Person>, path: &str) -> reqwest::Response {
        let mut request = no_redirects().get(self.url(path));
        if let Some(person) = person {
            request = request.header("Cookie", &person.cookie);
        }
        request.send().await.unwrap()
    }

    /// A form posted as `person` (or as nobody) with its CSRF token added, unless `csrf` says
    /// otherwise.
    pub async fn form(
        &self,
        person: Option<&Person>,
        path: &str,
        fields: &[(&str, &str)],
        csrf: Option<&str>,
    ) -> reqwest::Response {
        let mut fields: Vec<(&str, &str)> = fields.to_vec();
        if let Some(csrf) = csrf.or(person.map(|p| p.csrf.as_str())) {
            fields.push(("csrf", csrf));
        }
        let mut request = no_redirects().post(self.url(path)).form(&fields);
        if let Some(person) = person {
            request = request.header("Cookie", &person.cookie);
        }
        request.send().await.unwrap()
    }
}

pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}
