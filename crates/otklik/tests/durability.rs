//! Nothing acknowledged is lost: the real `otklik` binary on SQLite is killed with SIGKILL in the
//! middle of a load run, started again, and every case it answered 201 for must be there.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_otklik");

fn create_token(data_dir: &Path, role: &str) -> String {
    let output = Command::new(BINARY)
        .args(["token", "create", "--name", role, "--role", role, "--data-dir"])
        .arg(data_dir)
        .output()
        .expect("run otklik token create");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// Starts `otklik serve` on a random port and returns it with its base URL.
fn serve(data_dir: &Path) -> (Child, String) {
    let mut child = Command::new(BINARY)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start otklik serve");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read the first line");
    let address = line
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in `{line}`"))
        .to_owned();
    (child, address)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_case_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let intake = create_token(dir.path(), "intake");
    let agent = create_token(dir.path(), "agent");
    let (mut server, base) = serve(dir.path());
    let client = reqwest::Client::new();
    let acknowledged: Arc<Mutex<Vec<(i64, String)>>> = Arc::default();

    let mut writers = Vec::new();
    for writer in 0..16 {
        let (client, base, intake, acknowledged) = (client.clone(), base.clone(), intake.clone(), acknowledged.clone());
        writers.push(tokio::spawn(async move {
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
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.lock().unwrap().len() < 400 {
        assert!(Instant::now() < deadline, "the server acknowledged too little in 60 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill().expect("SIGKILL the server");
    server.wait().unwrap();
    for writer in writers {
        writer.await.unwrap();
    }

    let (mut server, base) = serve(dir.path());
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 400);
    for (id, text) in &acknowledged {
        let response = client.get(format!("{base}/api/v1/feedback/{id}")).bearer_auth(&agent).send().await.unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK, "case {id} was acknowledged but is gone");
        let case: Value = response.json().await.unwrap();
        assert_eq!(case["messages"][0]["body"], text.as_str());
    }
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn first_start_prints_the_address_and_how_to_sign_in_and_that_password_signs_in() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BINARY)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let second = lines.next().unwrap().unwrap();
    let third = lines.next().unwrap().unwrap();
    assert!(first.contains("listening on http://127.0.0.1:"), "{first}");
    let base = first.split("listening on ").nth(1).unwrap().split(' ').next().unwrap().to_owned();
    assert_eq!(second, format!("Sign in at {base}/login"));
    assert!(third.contains(&format!("sign in at {base}/login as `admin` with password `")), "{third}");
    let password = third.split("with password `").nth(1).unwrap().split('`').next().unwrap().to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let status = runtime.block_on(async {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let form = [("username", "admin"), ("password", password.as_str())];
        client.post(format!("{base}/login")).form(&form).send().await.unwrap().status()
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status, reqwest::StatusCode::SEE_OTHER, "the printed password signs in");
}

#[test]
fn bad_configuration_is_refused_with_the_setting_named() {
    let output = Command::new(BINARY).args(["serve", "--database-url", "mysql://localhost/otklik"]).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("database_url"), "{stderr}");
}
