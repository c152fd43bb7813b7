//! Running Otklik for years, through the real `otklik` binary: a backup taken while the server is
//! under load restores elsewhere with every case acknowledged before it began; a populated SQLite
//! database moves to PostgreSQL and back with every table equal, and the server carries on there.

#[allow(dead_code)]
#[path = "../../otklik-store/tests/support/postgres.rs"]
mod postgres;

mod binary;

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use binary::{all_there, create_token, load, otklik, serve, succeeded};
use otklik_store::OpenOptions;
use otklik_store::maintenance::snapshot;
use serde_json::{Value, json};

fn stop(mut server: Child) {
    server.kill().unwrap();
    server.wait().unwrap();
}

fn path_arg(dir: &Path) -> String {
    dir.to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_restores_every_case_acknowledged_before_it_began() {
    let (live, elsewhere, backups) =
        (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let live_dir = path_arg(live.path());
    let database = ["--data-dir", live_dir.as_str()];
    let intake = create_token(&database, "intake");
    let agent = create_token(&database, "agent");
    let (server, base) = serve(&database);
    let (acknowledged, writers) = load(&base, &intake, 8);
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.lock().unwrap().len() < 200 {
        assert!(Instant::now() < deadline, "the server acknowledged too little in 60 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Every case acknowledged before the backup starts must be in it; the writers go on.
    let before = acknowledged.lock().unwrap().clone();
    let file = backups.path().join("otklik-backup.db");
    let file_arg = path_arg(&file);
    let args: Vec<String> = ["backup", "--out", &file_arg, "--data-dir", &live_dir].map(String::from).to_vec();
    let output = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        otklik(&args)
    })
    .await
    .unwrap();
    let printed = succeeded(&output);
    assert!(printed.contains("schema version"), "{printed}");
    let during = acknowledged.lock().unwrap().len();
    assert!(during > before.len(), "the load went on while the backup ran");
    // A second backup to the same file is refused: nothing is overwritten.
    assert!(!otklik(&["backup", "--out", file_arg.as_str(), "--data-dir", live_dir.as_str()]).status.success());
    stop(server);
    for writer in writers {
        writer.await.unwrap();
    }

    let restored_dir = path_arg(elsewhere.path());
    let printed = succeeded(&otklik(&["restore", file_arg.as_str(), "--data-dir", restored_dir.as_str()]));
    assert!(printed.contains("restored: schema version"), "{printed}");
    let again = otklik(&["restore", file_arg.as_str(), "--data-dir", restored_dir.as_str()]);
    assert!(!again.status.success(), "a restore into a data directory with a database is refused");
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    let (server, base) = serve(&["--data-dir", restored_dir.as_str()]);
    all_there(&base, &agent, &before, "it was acknowledged before the backup began").await;
    stop(server);
}

/// Fills a database through the API: cases of every kind, playbook steps (events, outbox,
/// tasks), a person who signed in (a session). Returns a complaint's id.
async fn populate(base: &str, intake: &str, agent: &str) -> i64 {
    let client = reqwest::Client::new();
    let mut complaint = 0;
    let texts = [
        ("complaint", "Курьер опоздал на два часа, пицца холодная"),
        ("idea", "Добавьте оплату картой курьеру"),
        ("question", "Во сколько вы открываетесь?"),
        ("praise", "Спасибо кассиру Марии!"),
        ("complaint", "Грубый охранник на входе"),
    ];
    for (n, (kind, text)) in texts.iter().enumerate() {
        let body = json!({"text": text, "kind": kind, "channel": "web", "subject": format!("№{n}"),
            "customer": {"email": format!("c{n}@example.com"), "name": "Анна"}});
        let created: Value = client
            .post(format!("{base}/api/v1/feedback"))
            .bearer_auth(intake)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if complaint == 0 {
            complaint = created["id"].as_i64().unwrap();
        }
    }
    // The first customer turns out to be the last one again: merged into the newer record.
    let case: Value =
        client.get(format!("{base}/api/v1/feedback/5")).bearer_auth(agent).send().await.unwrap().json().await.unwrap();
    let newer = case["customer"]["id"].as_i64().unwrap();
    let merged = client
        .post(format!("{base}/api/v1/customers/{newer}/merge"))
        .bearer_auth(agent)
        .json(&json!({"from": 1}))
        .send()
        .await
        .unwrap();
    assert!(merged.status().is_success(), "{}", merged.text().await.unwrap());
    let act = |action: &str, body: Value| {
        client
            .post(format!("{base}/api/v1/feedback/{complaint}/actions/{action}"))
            .bearer_auth(agent)
            .json(&body)
            .send()
    };
    let note = "Приносим извинения за опоздание. Мы проверим заказ и позвоним вам сегодня до 18:00.";
    assert!(act("acknowledge", json!({"apology_form": "email", "note": note})).await.unwrap().status().is_success());
    assert!(act("start_work", json!({})).await.unwrap().status().is_success());
    let task = json!({"note": "Поговорить с курьером", "due_date": "2030-01-02"});
    assert!(act("add_task", task).await.unwrap().status().is_success());
    complaint
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_populated_database_moves_to_postgres_and_back_with_every_table_equal() {
    let Some(schema) = postgres::TestSchema::fresh().await else { return };
    {
        let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&schema.url).await.unwrap();
        sqlx::query(&format!("CREATE SCHEMA {}", schema.name)).execute(&mut admin).await.unwrap();
    }
    let pg_url = format!("{}?options=-c%20search_path%3D{}", schema.url, schema.name);
    let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first_dir = path_arg(first.path());
    let database = ["--data-dir", first_dir.as_str()];
    let intake = create_token(&database, "intake");
    let agent = create_token(&database, "agent");
    let created =
        succeeded(&otklik(&["user", "create", "--username", "olga", "--role", "manager", "--data-dir", &first_dir]));
    let password = created.trim().rsplit("password: ").next().unwrap().to_owned();
    let (server, base) = serve(&database);
    let complaint = populate(&base, &intake, &agent).await;
    // A person signs in: their session moves too.
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let form = [("username", "olga"), ("password", password.as_str())];
    let signed_in = browser.post(format!("{base}/login")).form(&form).send().await.unwrap();
    assert_eq!(signed_in.status(), reqwest::StatusCode::SEE_OTHER);
    stop(server);

    let printed = succeeded(&otklik(&["move", "--to", pg_url.as_str(), "--data-dir", first_dir.as_str()]));
    assert!(printed.contains("every table's rows and digest match"), "{printed}");
    assert!(printed.contains("cases"), "{printed}");
    let refused = otklik(&["move", "--to", pg_url.as_str(), "--data-dir", first_dir.as_str()]);
    assert!(!refused.status.success(), "a move into a database with rows is refused");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not empty"), "{refused:?}");

    let back = format!("sqlite://{}", second.path().join("otklik.db").display());
    succeeded(&otklik(&["move", "--to", back.as_str(), "--database-url", pg_url.as_str()]));
    let options = OpenOptions::default();
    let original = snapshot(&format!("sqlite://{}", first.path().join("otklik.db").display()), &options).await.unwrap();
    let on_postgres = snapshot(&pg_url, &options).await.unwrap();
    let returned = snapshot(&back, &options).await.unwrap();
    assert!(original.tables.iter().any(|t| t.table == "events" && t.rows > 0), "{original:?}");
    for (table, rows) in [("case_search", 5), ("sessions", 1), ("tasks", 1), ("api_tokens", 2), ("users", 1)] {
        assert!(original.tables.iter().any(|t| t.table == table && t.rows == rows), "{table}: {original:?}");
    }
    assert_eq!(on_postgres, original, "PostgreSQL holds every row of every table");
    assert_eq!(returned, original, "and so does the SQLite it came back to");

    // Nodes on PostgreSQL carry on where the SQLite server stopped: old cases, old tokens, the
    // next id after the copied ones.
    let (server, base) = serve(&["--database-url", pg_url.as_str()]);
    let client = reqwest::Client::new();
    let case: Value = client
        .get(format!("{base}/api/v1/feedback/{complaint}"))
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(case["stage"], "in_progress", "{case}");
    let created: Value = client
        .post(format!("{base}/api/v1/feedback"))
        .bearer_auth(&intake)
        .json(&json!({"text": "Ещё одна жалоба: опоздали", "channel": "web"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["id"], 6, "{created}");
    stop(server);
    schema.drop().await;
}
