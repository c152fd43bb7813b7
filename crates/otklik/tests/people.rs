//! A new person through the binary, as an admin would add one: `otklik user create --link`
//! prints a one-time link; the person opens it, sets a password (once), and signs in with it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use reqwest::StatusCode;

const BINARY: &str = env!("CARGO_BIN_EXE_otklik");

#[tokio::test]
async fn a_new_person_sets_their_password_with_the_link_once_and_signs_in() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Command::new(BINARY)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line.split_whitespace().find(|word| word.starts_with("http://")).unwrap().to_owned();

    let created = Command::new(BINARY)
        .args(["user", "create", "--username", "ivan", "--role", "executor", "--link", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let link = String::from_utf8(created.stdout).unwrap().trim().to_owned();
    assert!(link.contains("/password/"), "{link}");
    // The link names the configured public address; this server chose its port itself.
    let path = link.split("/password/").nth(1).map(|secret| format!("{base}/password/{secret}")).unwrap();

    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let form = client.get(&path).header("Accept-Language", "en").send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    assert_eq!(form.headers()["referrer-policy"], "same-origin");
    assert!(form.text().await.unwrap().contains("name=\"repeat\""));
    let post = |password: &'static str, repeat: &'static str| {
        client.post(&path).header("Accept-Language", "en").form(&[("password", password), ("repeat", repeat)]).send()
    };
    assert_eq!(
        post("a long password 1", "a long password 2").await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(post("short", "short").await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
    let set = post("a long password 1", "a long password 1").await.unwrap();
    assert_eq!(set.status(), StatusCode::OK);
    assert!(set.text().await.unwrap().contains("You can sign in now"));
    let again = post("another password 2", "another password 2").await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND, "the link works once");

    let sign_in = |password: &'static str| {
        client.post(format!("{base}/login")).form(&[("username", "ivan"), ("password", password)]).send()
    };
    assert_eq!(sign_in("another password 2").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in("a long password 1").await.unwrap().status(), StatusCode::SEE_OTHER);
    server.kill().unwrap();
    server.wait().unwrap();
}
