//! What the server's integration tests share: the whole application on a random port over a fresh
//! SQLite file, with an agent's and an intake token, driven with a real HTTP client.
#![allow(dead_code)]

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
    pub store: std::sync::Arc<dyn otklik_store::Store>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn start() -> TestApp {
        TestApp::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config { data_dir: dir.path().to_owned(), ..Config::default() };
        config.listen = "127.0.0.1:0".parse().unwrap();
        adjust(&mut config);
        let app = Application::build(&config).await.expect("app builds");
        let store = app.state().store().clone();
        let (agent, digest) = mint_token();
        store.create_token("agent-token", Role::Agent, None, &digest, OffsetDateTime::now_utc()).await.unwrap();
        let (intake, digest) = mint_token();
        store.create_token("web-form", Role::Intake, None, &digest, OffsetDateTime::now_utc()).await.unwrap();
        store.create_user("olga", None, Role::Agent, "unused", OffsetDateTime::now_utc()).await.unwrap();
        let base = format!("http://{}", app.local_addr());
        tokio::spawn(app.run_until_stopped(std::future::pending()));
        TestApp { base, client: reqwest::Client::new(), agent, intake, store, _dir: dir }
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
