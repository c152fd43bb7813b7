//! The server as a hostile client meets it: half-sent and idle connections, more connections than
//! the cap, made-up methods, slow bodies, anonymous floods, control characters, out-of-range
//! numbers, broken stored tokens — and every error in one shape. At the end of each, the server
//! still answers `/healthz` quickly.

mod support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Db, TestApp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Opens a connection and sends the start of a request that never ends.
async fn half_sent(app: &TestApp) -> TcpStream {
    let address = app.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nX: ").await.unwrap();
    stream
}

/// True when the server closed the connection (end of stream or a reset) within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buffer = [0u8; 1024];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// `/healthz` answers 200 within `within`, on a new connection.
async fn healthy_within(app: &TestApp, within: Duration) -> bool {
    let client = reqwest::Client::builder().timeout(within).build().unwrap();
    client.get(app.url("/healthz")).send().await.is_ok_and(|response| response.status() == StatusCode::OK)
}

async fn half_sent_requests_are_closed_after_the_header_read_timeout(db: Db) {
    let Some(app) = TestApp::start_on(db, |config| config.header_read_timeout_secs = 1).await else { return };
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(half_sent(&app).await);
    }
    let address = app.base.trim_start_matches("http://");
    held.push(TcpStream::connect(address).await.unwrap());
    for stream in &mut held {
        assert!(closed_within(stream, Duration::from_secs(5)).await, "a half-sent or idle connection stayed open");
    }
    assert!(healthy_within(&app, Duration::from_millis(100)).await);
    app.finish().await;
}

async fn connections_over_the_cap_wait_and_are_served_once_the_held_ones_time_out(db: Db) {
    let Some(app) = TestApp::start_on(db, |config| {
        config.header_read_timeout_secs = 1;
        config.max_client_connections = 4;
    })
    .await
    else {
        return;
    };
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(half_sent(&app).await);
    }
    let started = Instant::now();
    assert!(healthy_within(&app, Duration::from_secs(5)).await, "a new client is served after the timeout");
    assert!(started.elapsed() >= Duration::from_millis(500), "the cap did not hold: served before the timeout");
    app.finish().await;
}

async fn made_up_methods_share_one_metric_label(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    for i in 0..300 {
        let method = reqwest::Method::from_bytes(format!("MADEUP{i}").as_bytes()).unwrap();
        let path = if i % 2 == 0 { "/healthz" } else { "/api/v1/feedback" };
        let response = app.client.request(method, app.url(path)).bearer_auth(&app.agent).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(!metrics.contains("MADEUP"), "a made-up method became a label");
    assert!(metrics.contains("method=\"other\""), "{metrics}");
    assert!(metrics.len() < 64 * 1024, "/metrics is {} bytes", metrics.len());
    app.finish().await;
}

async fn every_error_is_a_problem_document(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let cases: [(reqwest::Method, &str, StatusCode); 6] = [
        (reqwest::Method::GET, "/nowhere", StatusCode::NOT_FOUND),
        (reqwest::Method::GET, "/api/v1/nowhere", StatusCode::NOT_FOUND),
        (reqwest::Method::DELETE, "/api/v1/feedback", StatusCode::METHOD_NOT_ALLOWED),
        (reqwest::Method::PATCH, "/api/v1/tasks/not-a-number", StatusCode::BAD_REQUEST),
        (reqwest::Method::GET, "/api/v1/feedback?no_such_parameter=1", StatusCode::BAD_REQUEST),
        (reqwest::Method::GET, "/api/v1/feedback/%FF%FE", StatusCode::BAD_REQUEST),
    ];
    for (method, path, expected) in cases {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth(&app.agent)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let status = response.status();
        let kind = response.headers()["content-type"].to_str().unwrap().to_owned();
        let nosniff = response.headers().get("x-content-type-options").map(|v| v.to_str().unwrap().to_owned());
        let problem: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, expected, "{method} {path}: {problem}");
        assert_eq!(kind, "application/problem+json", "{method} {path}");
        assert_eq!(problem["status"], expected.as_u16(), "{method} {path}: {problem}");
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()), "{method} {path}: {problem}");
        assert_eq!(nosniff.as_deref(), Some("nosniff"), "{method} {path}");
    }
    app.finish().await;
}

async fn a_slow_body_is_cut_off_with_a_408(db: Db) {
    let Some(app) = TestApp::start_on(db, |config| config.request_timeout_secs = 1).await else { return };
    let address = app.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /api/v1/feedback HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{\"text\":",
        app.intake
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the slow request was never answered");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert_eq!(app.case_count().await, 0);
    app.finish().await;
}

async fn anonymous_requests_are_rate_limited_per_address_but_health_probes_are_not(db: Db) {
    let Some(app) = TestApp::start_on(db, |config| config.anonymous_rate_limit = 5).await else { return };
    for _ in 0..5 {
        let response = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let response = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    // A token holder and the probes are not held back.
    let (status, _) = app.get(&app.agent, "/api/v1/feedback").await;
    assert_eq!(status, StatusCode::OK);
    assert!(healthy_within(&app, Duration::from_millis(100)).await);
    app.finish().await;
}

async fn control_characters_in_a_text_are_refused_with_the_field_named(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let (status, problem) = app.post(&app.intake, "/api/v1/feedback", json!({"text": "a\u{0}b"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem["detail"].as_str().unwrap().starts_with("text: "), "{problem}");
    let (status, created) = app.post(&app.intake, "/api/v1/feedback", json!({"text": "Line one\nline two\ttab"})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let path = format!("/api/v1/feedback/{}/messages", created["id"]);
    let (status, problem) = app.post(&app.agent, &path, json!({"kind": "note", "body": "esc \u{1b}[31m"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem["detail"].as_str().unwrap().starts_with("body: "), "{problem}");
    assert_eq!(app.case_count().await, 1);
    app.finish().await;
}

async fn a_stored_token_with_an_unknown_role_is_401(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let (token, digest) = otklik_server::auth::mint_token();
    app.store
        .create_token("odd", otklik_core::Role::Agent, None, &digest, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    app.sql("UPDATE api_tokens SET role = 'wizard' WHERE name = 'odd'").await;
    let (status, problem) = app.get(&token, "/api/v1/feedback").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
    app.finish().await;
}

async fn a_compensation_too_large_to_store_is_refused(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let (_, created) =
        app.post(&app.intake, "/api/v1/feedback", json!({"text": "Курьер опоздал", "kind": "complaint"})).await;
    let actions = format!("/api/v1/feedback/{}/actions", created["id"]);
    let apology = json!({"note": "Приносим извинения! Мы привезём заказ сегодня до 19:00.", "apology_form": "call"});
    let (status, _) = app.post(&app.agent, &format!("{actions}/acknowledge"), apology).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.post(&app.agent, &format!("{actions}/start_work"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let path = format!("{actions}/offer_solution");
    let body = json!({
        "note": "Приносим извинения! Курьер привезёт новый заказ сегодня до 19:00.",
        "override_standard": true,
        "compensation": {"kind": "discount", "amount": u64::MAX},
    });
    let (status, problem) = app.post(&app.agent, &path, body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("compensation.amount"), "{problem}");
    let (_, case) = app.get(&app.agent, &format!("/api/v1/feedback/{}", created["id"])).await;
    assert_eq!(case["stage"], "in_progress", "nothing of the refused step was stored: {case}");
    app.finish().await;
}

/// A token for `role` named `name`: a person's when `person` is set (the user is created), an
/// integration's otherwise.
async fn token(app: &TestApp, name: &str, role: otklik_core::Role, person: bool) -> String {
    let (token, digest) = otklik_server::auth::mint_token();
    let now = time::OffsetDateTime::now_utc();
    if person {
        app.store.create_user(name, None, role, "unused", now).await.unwrap();
    }
    app.store.create_token(name, role, person.then_some(name), &digest, now).await.unwrap();
    token
}

async fn a_second_source_reusing_an_external_id_gets_its_own_case_and_a_reused_id_with_other_text_is_refused(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let other = token(&app, "partner-form", otklik_core::Role::Intake, false).await;
    let tweet = json!({"text": "Плохой сервис", "channel": "social", "external_id": "tweet-1"});
    let (status, first) = app.post(&app.intake, "/api/v1/feedback", tweet.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, second) = app.post(&other, "/api/v1/feedback", tweet.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "another source's id is its own: {second}");
    assert_ne!(second["id"], first["id"]);
    assert_ne!(second["status_url"], first["status_url"], "no source learns another's status link");
    let reused = json!({"text": "Совсем другой текст", "channel": "social", "external_id": "tweet-1"});
    let (status, problem) = app.post(&app.intake, "/api/v1/feedback", reused).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let (status, again) = app.post(&app.intake, "/api/v1/feedback", tweet).await;
    assert_eq!((status, &again["id"]), (StatusCode::OK, &first["id"]), "a true redelivery is still a replay");
    assert_eq!(app.case_count().await, 2);
    app.finish().await;
}

async fn a_tokens_name_grants_nothing_tasks_and_notifications_follow_the_person(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let ivan = token(&app, "ivan", otklik_core::Role::Executor, true).await;
    let impostor = token(&app, "ivan", otklik_core::Role::Sales, false).await;
    let (_, created) =
        app.post(&app.intake, "/api/v1/feedback", json!({"text": "Курьер опоздал", "kind": "complaint"})).await;
    let task = json!({"title": "Позвонить курьеру", "assignee": "ivan"});
    let (status, task) = app.post(&app.agent, &format!("/api/v1/feedback/{}/tasks", created["id"]), task).await;
    assert_eq!(status, StatusCode::CREATED, "{task}");
    let path = format!("/api/v1/tasks/{}", task["id"]);
    let cancel =
        |token: &str| app.client.patch(app.url(&path)).bearer_auth(token).json(&json!({"status": "cancelled"})).send();
    assert_eq!(cancel(&impostor).await.unwrap().status(), StatusCode::FORBIDDEN, "a name is not a person");
    let (status, mine) = app.get(&ivan, "/api/v1/tasks").await;
    assert_eq!((status, mine.as_array().map(Vec::len)), (StatusCode::OK, Some(1)), "{mine}");
    assert_eq!(cancel(&ivan).await.unwrap().status(), StatusCode::OK);

    // A compensation above an agent's limit waits for a manager: the managers are told.
    let manager = token(&app, "boris", otklik_core::Role::Manager, true).await;
    let named_manager = token(&app, "manager", otklik_core::Role::Executor, false).await;
    let actions = format!("/api/v1/feedback/{}/actions", created["id"]);
    let apology = json!({"note": "Приносим извинения! Мы привезём заказ сегодня до 19:00.", "apology_form": "call"});
    assert_eq!(app.post(&app.agent, &format!("{actions}/acknowledge"), apology).await.0, StatusCode::OK);
    assert_eq!(app.post(&app.agent, &format!("{actions}/start_work"), json!({})).await.0, StatusCode::OK);
    let offer = json!({"note": "Приносим извинения! Вернём деньги сегодня до 19:00.", "override_standard": true,
        "compensation": {"kind": "refund", "amount": 10_000_000}});
    let (status, offered) = app.post(&app.agent, &format!("{actions}/offer_solution"), offer).await;
    assert_eq!(status, StatusCode::OK, "{offered}");
    let approvals = |found: &Value| found.as_array().unwrap().iter().filter(|n| n["what"] == "approval").count();
    let (_, for_manager) = app.get(&manager, "/api/v1/notifications").await;
    assert_eq!(approvals(&for_manager), 1, "{for_manager}");
    let (_, for_impostor) = app.get(&named_manager, "/api/v1/notifications").await;
    assert_eq!(approvals(&for_impostor), 0, "a token named `manager` is not the managers: {for_impostor}");
    app.finish().await;
}

/// Every route of the API with the right it needs (`None`: open to anyone).
fn routes(
    case: &str,
    task: &str,
    customer: &str,
) -> Vec<(reqwest::Method, String, Option<Value>, Option<otklik_core::Right>)> {
    use otklik_core::Right::*;
    use reqwest::Method;
    let feedback = json!({"text": "Курьер опоздал"});
    let apology = json!({"note": "Приносим извинения! Мы привезём заказ сегодня до 19:00.", "apology_form": "call"});
    vec![
        (Method::GET, "/api/v1/feedback".into(), None, Some(ReadCases)),
        (Method::POST, "/api/v1/feedback".into(), Some(feedback), Some(SubmitFeedback)),
        (Method::GET, format!("/api/v1/feedback/{case}"), None, Some(ReadCases)),
        (Method::PATCH, format!("/api/v1/feedback/{case}"), Some(json!({"priority": "high"})), Some(WorkCases)),
        (
            Method::POST,
            format!("/api/v1/feedback/{case}/messages"),
            Some(json!({"kind": "note", "body": "x"})),
            Some(WorkCases),
        ),
        (Method::GET, format!("/api/v1/feedback/{case}/actions"), None, Some(ReadCases)),
        (Method::POST, format!("/api/v1/feedback/{case}/actions/acknowledge"), Some(apology), Some(WorkCases)),
        (Method::GET, format!("/api/v1/feedback/{case}/work"), None, Some(ReadCases)),
        (Method::POST, format!("/api/v1/feedback/{case}/tasks"), Some(json!({"title": "Позвонить"})), Some(WorkCases)),
        (Method::GET, "/api/v1/tasks?assignee=olga".into(), None, Some(WorkAnyTask)),
        (Method::PATCH, format!("/api/v1/tasks/{task}"), Some(json!({"comment": "звоню"})), Some(WorkAnyTask)),
        (Method::GET, "/api/v1/notifications".into(), None, Some(ReadCases)),
        (Method::GET, "/api/v1/playbooks".into(), None, Some(ReadCases)),
        (Method::GET, format!("/api/v1/customers/{customer}"), None, Some(ReadCases)),
        (Method::PATCH, format!("/api/v1/customers/{customer}"), Some(json!({"vip": true})), Some(ManageCustomers)),
        (Method::GET, "/api/v1/nps/campaigns".into(), None, Some(ManageCustomers)),
        (Method::GET, "/api/v1/nps/campaigns/1".into(), None, Some(ManageCustomers)),
        (
            Method::POST,
            "/api/v1/replies/check".into(),
            Some(json!({"text": "Спасибо!", "kind": "praise"})),
            Some(WorkCases),
        ),
        (Method::GET, "/api/v1/replies/templates".into(), None, Some(WorkCases)),
        (Method::GET, "/api/v1/openapi.json".into(), None, None),
        (Method::GET, "/healthz".into(), None, None),
        (Method::GET, "/readyz".into(), None, None),
        (Method::GET, "/metrics".into(), None, None),
    ]
}

async fn every_route_holds_the_permission_table_for_every_role_and_refuses_no_token(db: Db) {
    use otklik_core::Role;
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let (_, created) =
        app.post(&app.intake, "/api/v1/feedback", json!({"text": "Курьер опоздал", "kind": "complaint"})).await;
    let case = created["id"].to_string();
    let (_, task) = app
        .post(&app.agent, &format!("/api/v1/feedback/{case}/tasks"), json!({"title": "Позвонить", "assignee": "olga"}))
        .await;
    let (_, detail) = app.get(&app.agent, &format!("/api/v1/feedback/{case}")).await;
    let customer = detail["customer"]["id"].to_string();
    // The weakest roles first, so that a step the strong ones take does not move the case away
    // from the weak ones' test.
    let mut tokens = Vec::new();
    for role in Role::ALL.iter().rev() {
        tokens.push((*role, token(&app, &format!("{role}-integration"), *role, false).await));
    }
    for (method, path, body, right) in routes(&case, &task["id"].to_string(), &customer) {
        let send = |token: Option<&str>| {
            let mut request = app.client.request(method.clone(), app.url(&path));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some(body) = &body {
                request = request.json(body);
            }
            request.send()
        };
        let anonymous = send(None).await.unwrap().status();
        match right {
            Some(_) => assert_eq!(anonymous, StatusCode::UNAUTHORIZED, "{method} {path} without a token"),
            None => assert_eq!(anonymous, StatusCode::OK, "{method} {path} is open"),
        }
        for (role, token) in &tokens {
            let status = send(Some(token)).await.unwrap().status();
            let allowed = right.is_none_or(|right| role.has(right));
            if allowed {
                assert!(
                    status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED && !status.is_server_error(),
                    "{method} {path} as {role}: {status}"
                );
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path} as {role}");
            }
        }
    }
    assert!(healthy_within(&app, Duration::from_millis(100)).await);
    app.finish().await;
}

async fn bad_input_on_every_route_is_refused_in_one_shape_and_changes_nothing(db: Db) {
    use otklik_core::Role;
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let (_, created) =
        app.post(&app.intake, "/api/v1/feedback", json!({"text": "Курьер опоздал", "kind": "complaint"})).await;
    let case = created["id"].to_string();
    let task_body = json!({"title": "Позвонить", "assignee": "olga"});
    let (_, task) = app.post(&app.agent, &format!("/api/v1/feedback/{case}/tasks"), task_body).await;
    let (_, before) = app.get(&app.agent, &format!("/api/v1/feedback/{case}")).await;
    let customer = before["customer"]["id"].to_string();
    let admin = token(&app, "root", Role::Admin, false).await;
    let with_body = routes(&case, &task["id"].to_string(), &customer).into_iter().filter(|route| route.2.is_some());
    for (method, path, _, _) in with_body {
        let bad: [(&str, &[u8], StatusCode); 4] = [
            ("application/json", b"{", StatusCode::BAD_REQUEST),
            ("application/json", b"\xff\xfe", StatusCode::BAD_REQUEST),
            ("text/plain", b"{}", StatusCode::UNSUPPORTED_MEDIA_TYPE),
            ("application/json", br#"{"no_such_field": 1}"#, StatusCode::UNPROCESSABLE_ENTITY),
        ];
        for (content_type, body, expected) in bad {
            let response = app
                .client
                .request(method.clone(), app.url(&path))
                .bearer_auth(&admin)
                .header("content-type", content_type)
                .body(body.to_vec())
                .send()
                .await
                .unwrap();
            let status = response.status();
            let kind = response.headers()["content-type"].to_str().unwrap().to_owned();
            assert_eq!(status, expected, "{method} {path} with {content_type} {:?}", String::from_utf8_lossy(body));
            assert_eq!(kind, "application/problem+json", "{method} {path}");
        }
    }
    let (_, after) = app.get(&app.agent, &format!("/api/v1/feedback/{case}")).await;
    assert_eq!(after, before, "nothing about the case changed");
    assert_eq!(app.case_count().await, 1);
    assert!(healthy_within(&app, Duration::from_millis(100)).await);
    app.finish().await;
}

on_both_backends!(
    half_sent_requests_are_closed_after_the_header_read_timeout,
    connections_over_the_cap_wait_and_are_served_once_the_held_ones_time_out,
    made_up_methods_share_one_metric_label,
    every_error_is_a_problem_document,
    a_slow_body_is_cut_off_with_a_408,
    anonymous_requests_are_rate_limited_per_address_but_health_probes_are_not,
    control_characters_in_a_text_are_refused_with_the_field_named,
    a_stored_token_with_an_unknown_role_is_401,
    a_compensation_too_large_to_store_is_refused,
    a_second_source_reusing_an_external_id_gets_its_own_case_and_a_reused_id_with_other_text_is_refused,
    a_tokens_name_grants_nothing_tasks_and_notifications_follow_the_person,
    every_route_holds_the_permission_table_for_every_role_and_refuses_no_token,
    bad_input_on_every_route_is_refused_in_one_shape_and_changes_nothing,
);
