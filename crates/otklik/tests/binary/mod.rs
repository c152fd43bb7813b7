//! What the tests of the real `otklik` binary share: running a command, starting `otklik serve`
//! on a random port, and a load of writers posting complaints and keeping what was acknowledged.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

pub const BINARY: &str = env!("CARGO_BIN_EXE_otklik");

/// Runs `otklik ARGS` to its end.
pub fn otklik(args: &[&str]) -> Output {
    Command::new(BINARY).args(args).output().expect("run otklik")
}

/// The standard output of a command that must succeed.
pub fn succeeded(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

/// A new API token with `role` (its name is the role) on `database` (`--data-dir D` or
/// `--database-url U`).
pub fn create_token(database: &[&str], role: &str) -> String {
    let mut args = vec!["token", "create", "--name", role, "--role", role];
    args.extend(database);
    succeeded(&otklik(&args)).trim().to_owned()
}

/// Starts `otklik serve` on a random port over `database`; returns it with its base URL.
pub fn serve(database: &[&str]) -> (Child, String) {
    let mut child = Command::new(BINARY)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(database)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start otklik serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("read the first line");
    let address =
        line.split_whitespace().find(|word| word.starts_with("http://")).unwrap_or_else(|| panic!("{line}")).to_owned();
    (child, address)
}

/// The cases a load's writers were answered 201 for: (id, text).
pub type Acknowledged = Arc<Mutex<Vec<(i64, String)>>>;

/// `writers` tasks posting complaints to `base` until the server stops answering 201.
pub fn load(base: &str, intake: &str, writers: usize) -> (Acknowledged, Vec<tokio::task::JoinHandle<()>>) {
    let client = reqwest::Client::new();
    let acknowledged: Acknowledged = Arc::default();
    let mut handles = Vec::new();
    for writer in 0..writers {
        let (client, base, intake, acknowledged) =
            (client.clone(), base.to_owned(), intake.to_owned(), acknowledged.clone());
        handles.push(tokio::spawn(async move {
            for n in 0.. {
                let text = format!("Жалоба {writer}-{n}: курьер опоздал");
                let sent = client
                    .post(format!("{base}/api/v1/feedback"))
                    .bearer_auth(&intake)
                    .json(&json!({"text": text, "channel": "web"}))
                    .send()
                    .await;
                let Ok(response) = sent else { break };
                if response.status() != reqwest::StatusCode::CREATED {
                    break;
                }
                let Ok(body) = response.json::<Value>().await else { break };
                acknowledged.lock().unwrap().push((body["id"].as_i64().unwrap(), text));
            }
        }));
    }
    (acknowledged, handles)
}

/// Checks that every case in `cases` is served by `base` with its text.
pub async fn all_there(base: &str, agent: &str, cases: &[(i64, String)], why: &str) {
    let client = reqwest::Client::new();
    for (id, text) in cases {
        let response = client.get(format!("{base}/api/v1/feedback/{id}")).bearer_auth(agent).send().await.unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK, "case {id} is gone: {why}");
        let case: Value = response.json().await.unwrap();
        assert_eq!(case["messages"][0]["body"], text.as_str());
    }
}
