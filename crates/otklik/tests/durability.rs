//! Nothing acknowledged is lost: the real `otklik` binary on SQLite is killed with SIGKILL in the
//! middle of a load run, started again, and every case it answered 201 for must be there.

mod binary;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use binary::{BINARY, all_there, create_token, load, serve};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_case_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap().to_owned();
    let database = ["--data-dir", data_dir.as_str()];
    let intake = create_token(&database, "intake");
    let agent = create_token(&database, "agent");
    let (mut server, base) = serve(&database);
    let (acknowledged, writers) = load(&base, &intake, 16);
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

    let (mut server, base) = serve(&database);
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 400);
    all_there(&base, &agent, &acknowledged, "it was acknowledged before the kill").await;
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
