//! The JSON API end to end: the whole application on a random port over a fresh SQLite file,
//! driven with a real HTTP client.

mod support;

use std::sync::Arc;

use otklik_core::Role;
use otklik_server::auth::mint_token;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Db, TestApp};
use time::OffsetDateTime;

fn complaint() -> Value {
    json!({
        "text": "Курьер опоздал на два часа, пицца холодная",
        "channel": "telegram",
        "subject": "Опоздание",
        "customer": {"name": "Анна", "email": "anna@example.com", "telegram": "@anna", "followers": 120},
        "location": "Тверская, 1",
        "product": "pizza",
    })
}

async fn submitted_feedback_is_acknowledged_with_reference_and_status_link(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let (status, created) = app.post(&app.intake, "/api/v1/feedback", complaint()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let reference = created["reference"].as_str().unwrap();
    assert!(reference.starts_with("OT-20") && reference.len() == "OT-2026-000001".len(), "{reference}");
    assert_eq!(created["status"], "new");
    let link = created["status_url"].as_str().unwrap();
    let secret = link.rsplit('/').next().unwrap();
    assert!(link.starts_with(&app.base) && secret.len() >= 22, "{link}");

    let (status, case) = app.get(&app.agent, &format!("/api/v1/feedback/{reference}")).await;
    assert_eq!(status, StatusCode::OK, "{case}");
    assert_eq!(case["id"], created["id"]);
    assert_eq!(case["channel"], "telegram");
    assert_eq!(case["location"], "Тверская, 1");
    assert_eq!(case["customer"]["name"], "Анна");
    assert_eq!(case["customer"]["followers"], 120);
    assert_eq!(case["messages"][0]["body"], "Курьер опоздал на два часа, пицца холодная");
    assert_eq!(case["events"][0]["action"], "created");
    assert_eq!(case["events"][0]["actor"], "web-form");
    app.finish().await;
}

async fn a_reference_with_another_year_is_not_found(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let (_, created) = app.post(&app.intake, "/api/v1/feedback", complaint()).await;
    let id = created["id"].as_i64().unwrap();
    let (status, problem) = app.get(&app.agent, &format!("/api/v1/feedback/OT-1999-{id:06}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    let (status, _) = app.get(&app.agent, "/api/v1/feedback/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.finish().await;
}

async fn missing_or_unknown_token_is_401_and_a_weak_role_is_403(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let response = app.client.get(app.url("/api/v1/feedback")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let (status, _) = app.get("otk_not-a-real-token", "/api/v1/feedback").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, problem) = app.get(&app.intake, "/api/v1/feedback").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(problem["detail"].as_str().unwrap().contains("intake"), "{problem}");
    let (_, created) = app.post(&app.intake, "/api/v1/feedback", complaint()).await;
    let (status, _) = app.patch(&format!("/api/v1/feedback/{}", created["id"]), json!({"kind": "idea"})).await;
    assert_eq!(status, StatusCode::OK);
    let response = app
        .client
        .patch(app.url(&format!("/api/v1/feedback/{}", created["id"])))
        .bearer_auth(&app.intake)
        .json(&json!({"kind": "praise"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    app.finish().await;
}

async fn bad_input_gets_a_clear_problem_and_creates_nothing(db: Db) {
    let Some(app) = TestApp::start_on(db, |config| config.max_body_bytes = 4096).await else { return };
    let cases = [
        (b"{\"text\": ".to_vec(), "application/json", StatusCode::BAD_REQUEST, "invalid JSON"),
        (br#"{"channel": "web"}"#.to_vec(), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "text"),
        (
            br#"{"text": "   "}"#.to_vec(),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            "text: must not be empty",
        ),
        (br#"{"text": "x", "channel": "fax"}"#.to_vec(), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "fax"),
        (br#"{"text": "x", "kind": "rant"}"#.to_vec(), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "kind"),
        (br#"{"text": "x", "colour": "red"}"#.to_vec(), "application/json", StatusCode::UNPROCESSABLE_ENTITY, "colour"),
        (
            br#"{"text": "x", "customer": {"email": "nope"}}"#.to_vec(),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            "customer.email",
        ),
        (b"{\"text\": \"\xff\xfe\"}".to_vec(), "application/json", StatusCode::BAD_REQUEST, "invalid JSON"),
        (br#"{"text": "x"}"#.to_vec(), "text/plain", StatusCode::UNSUPPORTED_MEDIA_TYPE, "application/json"),
        (
            format!(r#"{{"text": "{}"}}"#, "a".repeat(5000)).into_bytes(),
            "application/json",
            StatusCode::PAYLOAD_TOO_LARGE,
            "too large",
        ),
    ];
    for (body, content_type, expected, words) in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
        let (status, problem, kind) = app.raw_post(body, content_type).await;
        assert_eq!(status, expected, "{shown}: {problem}");
        assert_eq!(kind, "application/problem+json", "{shown}");
        assert_eq!(problem["status"], expected.as_u16());
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(words), "{shown}: `{detail}` should mention `{words}`");
    }
    assert_eq!(app.case_count().await, 0);
    app.finish().await;
}

async fn the_same_idempotency_key_returns_the_first_case_even_concurrently(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let app = Arc::new(app);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let response = app
                .client
                .post(app.url("/api/v1/feedback"))
                .bearer_auth(&app.intake)
                .header("idempotency-key", "form-submission-42")
                .json(&complaint())
                .send()
                .await
                .unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap()["id"].as_i64().unwrap())
        }));
    }
    let mut created = 0;
    let mut ids = Vec::new();
    for task in tasks {
        let (status, id) = task.await.unwrap();
        assert!(status == StatusCode::CREATED || status == StatusCode::OK, "{status}");
        created += usize::from(status == StatusCode::CREATED);
        ids.push(id);
    }
    ids.dedup();
    assert_eq!((created, ids.len()), (1, 1));
    assert_eq!(app.case_count().await, 1);

    let mut other = complaint();
    other["text"] = json!("another text under the same key");
    let response = app
        .client
        .post(app.url("/api/v1/feedback"))
        .bearer_auth(&app.intake)
        .header("idempotency-key", "form-submission-42")
        .json(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.case_count().await, 1);
    if let Ok(app) = Arc::try_unwrap(app) {
        app.finish().await;
    }
}

async fn redelivery_by_channel_and_external_id_answers_200_with_the_same_case(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let body = json!({"text": "Ужасный сервис", "channel": "social", "external_id": "post-777", "public": true});
    let (first_status, first) = app.post(&app.intake, "/api/v1/feedback", body.clone()).await;
    let (again_status, again) = app.post(&app.intake, "/api/v1/feedback", body).await;
    assert_eq!((first_status, again_status), (StatusCode::CREATED, StatusCode::OK));
    assert_eq!(first, again);
    assert_eq!(app.case_count().await, 1);
    app.finish().await;
}

async fn search_filters_and_pages_through_the_api(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    for (text, channel) in [
        ("Жалоба на доставку: курьер нагрубил", "telegram"),
        ("Скарга на доставку, кур'єр запізнився", "email"),
        ("Delivery was late again", "email"),
        ("Спасибо за быструю доставку!", "web"),
    ] {
        let (status, _) = app.post(&app.intake, "/api/v1/feedback", json!({"text": text, "channel": channel})).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, found) = app.get(&app.agent, "/api/v1/feedback?q=доставка&limit=2").await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["items"].as_array().unwrap().len(), 2);
    let cursor = found["next_cursor"].as_str().unwrap().to_owned();
    let (_, rest) = app.get(&app.agent, &format!("/api/v1/feedback?q=доставка&limit=2&cursor={cursor}")).await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());
    let (_, by_email) = app.get(&app.agent, "/api/v1/feedback?q=доставку&channel=email").await;
    assert_eq!(by_email["items"].as_array().unwrap().len(), 1);
    let (_, english) = app.get(&app.agent, "/api/v1/feedback?q=delivery").await;
    assert_eq!(english["items"][0]["channel"], "email");
    let (status, problem) = app.get(&app.agent, "/api/v1/feedback?status=lost").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(problem["detail"].as_str().unwrap().contains("lost"), "{problem}");
    let (status, _) = app.get(&app.agent, "/api/v1/feedback?cursor=zzz").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app.get(&app.agent, "/api/v1/feedback?from=yesterday").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    app.finish().await;
}

async fn patch_and_messages_are_recorded_as_events(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let (_, created) = app.post(&app.intake, "/api/v1/feedback", complaint()).await;
    let path = format!("/api/v1/feedback/{}", created["id"]);
    let (status, case) = app
        .patch(&path, json!({"kind": "question", "priority": "urgent", "assignee": "olga", "tags": ["Late", "pizza"]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{case}");
    assert_eq!(case["tags"], json!(["late", "pizza"]));
    let fields: Vec<&str> = case["events"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
    // The complaint's cause goes with its kind.
    assert_eq!(fields, ["kind", "priority", "cause", "assignee", "tags"]);
    let (status, problem) = app.patch(&path, json!({"status": "resolved"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the status follows the playbook: {problem}");
    let (status, problem) = app.patch(&path, json!({"assignee": "ghost"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, _) = app.patch(&path, json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app.patch(&path, json!({"assignee": null})).await;
    assert_eq!(status, StatusCode::OK);

    let messages = format!("{path}/messages");
    let reply = json!({"kind": "reply", "body": "Приносим извинения! Курьер привезёт новую пиццу сегодня до 19:00."});
    let (status, message) = app.post(&app.agent, &messages, reply).await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    assert_eq!((message["direction"].as_str(), message["public"].as_bool()), (Some("outbound"), Some(true)));
    assert_eq!(message["author"], "agent-token");
    let (status, note) = app.post(&app.agent, &messages, json!({"kind": "note", "body": "Позвонить в филиал"})).await;
    assert_eq!((status, note["public"].as_bool()), (StatusCode::CREATED, Some(false)));
    let (status, _) = app.post(&app.agent, &messages, json!({"kind": "note", "body": "x", "public": true})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, case) = app.get(&app.agent, &path).await;
    assert_eq!(case["messages"].as_array().unwrap().len(), 3);
    assert_eq!(case["assignee"], Value::Null);
    app.finish().await;
}

async fn customer_shows_cases_from_every_channel(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let (_, first) = app.post(&app.intake, "/api/v1/feedback", complaint()).await;
    let second = json!({"text": "И ещё вопрос", "channel": "email", "customer": {"email": "Anna@Example.com"}});
    let (_, second) = app.post(&app.intake, "/api/v1/feedback", second).await;
    let (_, case) = app.get(&app.agent, &format!("/api/v1/feedback/{}", first["id"])).await;
    let (status, customer) = app.get(&app.agent, &format!("/api/v1/customers/{}", case["customer_id"])).await;
    assert_eq!(status, StatusCode::OK, "{customer}");
    let ids: Vec<&Value> = customer["cases"].as_array().unwrap().iter().map(|c| &c["id"]).collect();
    assert_eq!(ids, [&second["id"], &first["id"]]);
    assert_eq!(customer["identities"].as_array().unwrap().len(), 2);
    app.finish().await;
}

async fn a_manager_makes_a_customer_vip_and_their_next_case_is_raised(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let (manager, digest) = mint_token();
    let store = app.store.clone();
    store.create_token("manager-token", Role::Manager, None, &digest, OffsetDateTime::now_utc()).await.unwrap();
    let question = json!({
        "text": "Подскажите, во сколько вы открываетесь в субботу?",
        "kind": "question",
        "customer": {"email": "vip@example.com"}
    });
    let (_, first) = app.post(&app.intake, "/api/v1/feedback", question.clone()).await;
    let (_, case) = app.get(&app.agent, &format!("/api/v1/feedback/{}", first["id"])).await;
    assert_eq!(case["priority"], "normal", "{case}");
    let path = format!("/api/v1/customers/{}", case["customer_id"]);

    let request = |token: &str, body: Value| app.client.patch(app.url(&path)).bearer_auth(token).json(&body).send();
    let response = request(&app.agent, json!({"vip": true})).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "agents do not change customers");
    for wrong in [json!({}), json!({"vip": "yes"}), json!({"vip": true, "tier": "gold"}), json!({"name": "a\nb"})] {
        let response = request(&manager, wrong.clone()).await.unwrap();
        let status = response.status();
        assert!(status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST, "{wrong}: {status}");
    }
    let (_, unchanged) = app.get(&app.agent, &path).await;
    assert_eq!(unchanged["vip"], false, "a refused patch changes nothing");

    let response = request(&manager, json!({"vip": true, "name": " Анна "})).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let customer: Value = response.json().await.unwrap();
    assert_eq!((customer["vip"].as_bool(), customer["name"].as_str()), (Some(true), Some("Анна")));

    let mut next = question.clone();
    next["text"] = json!("А в воскресенье во сколько открываетесь?");
    let (_, second) = app.post(&app.intake, "/api/v1/feedback", next).await;
    let (_, case) = app.get(&app.agent, &format!("/api/v1/feedback/{}", second["id"])).await;
    assert_eq!(case["priority"], "high", "a VIP's question: {case}");
    let response = request(&manager, json!({"vip": true})).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (_, history) = app.get(&app.agent, &path).await;
    let changes: Vec<(&str, &str)> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(changes, [("name", "manager-token"), ("vip", "manager-token")], "each change once: {history}");
    let missing =
        app.client.patch(app.url("/api/v1/customers/999999")).bearer_auth(&manager).json(&json!({"vip": true}));
    assert_eq!(missing.send().await.unwrap().status(), StatusCode::NOT_FOUND);
    app.finish().await;
}

async fn a_complaint_carries_its_cause_and_only_a_complaint_may(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let body = json!({"text": "The courier was rude and threw my parcel at the door", "kind": "complaint"});
    let (status, created) = app.post(&app.intake, "/api/v1/feedback", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let path = format!("/api/v1/feedback/{}", created["id"]);
    let (_, case) = app.get(&app.agent, &path).await;
    assert_eq!(case["cause"], "service", "triage tells the cause of a complaint: {case}");

    let (status, case) = app.patch(&path, json!({"cause": "quality"})).await;
    assert_eq!((status, case["cause"].as_str()), (StatusCode::OK, Some("quality")), "{case}");
    let (status, _) = app.patch(&path, json!({"cause": "weather"})).await;
    assert!(status.is_client_error(), "an unknown cause is refused: {status}");
    let (status, problem) = app.patch(&path, json!({"kind": "question", "cause": "service"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (_, unchanged) = app.get(&app.agent, &path).await;
    assert_eq!((unchanged["kind"].as_str(), unchanged["cause"].as_str()), (Some("complaint"), Some("quality")));

    let (status, case) = app.patch(&path, json!({"kind": "question"})).await;
    assert_eq!(status, StatusCode::OK, "{case}");
    assert_eq!(case["cause"], Value::Null, "a case that is no complaint loses its cause");
    let (_, question) = app.post(&app.intake, "/api/v1/feedback", json!({"text": "What time do you open?"})).await;
    let (_, question) = app.get(&app.agent, &format!("/api/v1/feedback/{}", question["id"])).await;
    assert_eq!(question["cause"], Value::Null);
    app.finish().await;
}

async fn health_readiness_metrics_and_openapi_are_served(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    app.post(&app.intake, "/api/v1/feedback", complaint()).await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains(r#"otklik_cases_created_total{channel="telegram"} 1"#), "{metrics}");
    assert!(metrics.contains(r#"route="/api/v1/feedback""#), "{metrics}");
    assert!(metrics.contains("otklik_http_request_duration_seconds_bucket"), "{metrics}");
    let (status, document) = app.get(&app.agent, "/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        "/api/v1/feedback",
        "/api/v1/feedback/{id}",
        "/api/v1/feedback/{id}/messages",
        "/api/v1/customers/{id}",
        "/api/v1/feedback/{id}/actions",
        "/api/v1/feedback/{id}/actions/{action}",
        "/api/v1/feedback/{id}/work",
        "/api/v1/feedback/{id}/tasks",
        "/api/v1/tasks",
        "/api/v1/tasks/{task_id}",
        "/api/v1/notifications",
        "/api/v1/playbooks",
        "/api/v1/replies/check",
    ] {
        assert!(document["paths"][path].is_object(), "{path} missing from OpenAPI");
    }
    assert!(document["components"]["schemas"]["SubmitRequest"].is_object());
    let (status, _) = app.get(&app.agent, "/api/v1/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.finish().await;
}

async fn replies_are_checked_against_the_house_standard(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let (_, created) =
        app.post(&app.intake, "/api/v1/feedback", json!({"text": "Курьер опоздал", "kind": "complaint"})).await;
    let messages = format!("/api/v1/feedback/{}/messages", created["id"]);
    let blaming = json!({"kind": "reply", "body": "Вы сами допустили ошибку в адресе."});
    let (status, problem) = app.post(&app.agent, &messages, blaming.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let rules: Vec<&str> = problem["findings"].as_array().unwrap().iter().filter_map(|f| f["rule"].as_str()).collect();
    assert!(rules.contains(&"blame_customer"), "{rules:?}");
    let (_, case) = app.get(&app.agent, &format!("/api/v1/feedback/{}", created["id"])).await;
    assert_eq!(case["messages"].as_array().unwrap().len(), 1, "a refused reply is not recorded");
    let mut overridden = blaming;
    overridden["override_standard"] = json!(true);
    let (status, _) = app.post(&app.agent, &messages, overridden).await;
    assert_eq!(status, StatusCode::CREATED);

    let response = app
        .client
        .post(app.url("/api/v1/replies/check"))
        .bearer_auth(&app.agent)
        .header("accept-language", "uk-UA,uk;q=0.9")
        .json(&json!({"text": "You made a mistake in the form. Prove it.", "kind": "question"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let checked: Value = response.json().await.unwrap();
    assert_eq!(checked["ok"], false);
    assert_eq!(checked["language"], "en");
    let explanation = checked["findings"][0]["explanation"].as_str().unwrap();
    assert!(explanation.chars().any(|c| ('а'..='я').contains(&c)), "explained in Ukrainian: {explanation}");
    // By purpose: a confirmation request needs no apology; the first reply does; a refusal
    // needs its reason and an alternative; an unknown purpose is refused with the known ones.
    let check =
        |text: &str, purpose: &str| json!({"text": text, "kind": "complaint", "purpose": purpose, "language": "ru"});
    let asking = "Подскажите, пожалуйста, всё ли теперь в порядке с заказом?";
    let (status, checked) = app.post(&app.agent, "/api/v1/replies/check", check(asking, "confirmation_request")).await;
    assert_eq!((status, &checked["ok"]), (StatusCode::OK, &json!(true)), "{checked}");
    let (_, checked) = app.post(&app.agent, "/api/v1/replies/check", check(asking, "apology")).await;
    assert_eq!(checked["ok"], false, "{checked}");
    let (_, checked) =
        app.post(&app.agent, "/api/v1/replies/check", check("Вернуть деньги мы не можем.", "refusal")).await;
    let rules: Vec<&str> = checked["findings"].as_array().unwrap().iter().filter_map(|f| f["rule"].as_str()).collect();
    assert_eq!(rules, ["refusal_without_reason", "refusal_without_alternative"], "{checked}");
    let (status, problem) = app.post(&app.agent, "/api/v1/replies/check", check(asking, "gossip")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("purpose") && detail.contains("confirmation_request"), "{detail}");
    // The OpenAPI document lists exactly the purposes the built-in playbooks and rules know.
    let known: Vec<&str> = detail.rsplit("is not one of ").next().unwrap().split(", ").collect();
    let (_, document) = app.get(&app.agent, "/api/v1/openapi.json").await;
    let listed: Vec<&str> = document["components"]["schemas"]["Purpose"]["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", document["components"]["schemas"]["Purpose"]))
        .iter()
        .map(|value| value.as_str().unwrap())
        .collect();
    assert_eq!(listed, known);

    // A public reply to the misinformed must carry the fact.
    let rumour = json!({"text": "Это неправда.", "kind": "unclassified", "public": true, "audience": "misinformed"});
    let (_, checked) = app.post(&app.agent, "/api/v1/replies/check", rumour).await;
    let rules: Vec<&str> = checked["findings"].as_array().unwrap().iter().filter_map(|f| f["rule"].as_str()).collect();
    assert!(rules.contains(&"misinformed_without_fact"), "{checked}");
    let fact = json!({"text": "На самом деле доставка бесплатная от 1000 рублей.", "kind": "unclassified",
        "public": true, "audience": "misinformed"});
    let (_, checked) = app.post(&app.agent, "/api/v1/replies/check", fact).await;
    assert_eq!(checked["ok"], true, "{checked}");

    // The `refuse` action's message is checked as a refusal: without an alternative it is held.
    let id = created["id"].as_i64().unwrap();
    for action in ["acknowledge", "start_work"] {
        let body = json!({"apology_form": "email", "note": null});
        let (status, answer) = app.post(&app.agent, &format!("/api/v1/feedback/{id}/actions/{action}"), body).await;
        assert_eq!(status, StatusCode::OK, "{action}: {answer}");
    }
    let refuse = format!("/api/v1/feedback/{id}/actions/refuse");
    let bare = json!({"reason": "Закон о защите прав потребителей", "note": "Вернуть деньги мы не можем по закону."});
    let (status, problem) = app.post(&app.agent, &refuse, bare).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["findings"][0]["rule"], "refusal_without_alternative", "{problem}");
    let full = json!({
        "reason": "Закон о защите прав потребителей",
        "note": "Вернуть деньги за вскрытый товар мы не можем: по закону о защите прав потребителей он обмену не подлежит. Вместо этого мы можем предложить скидку 15% на следующий заказ."
    });
    let (status, answer) = app.post(&app.agent, &refuse, full).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["stage"], "solution_offered", "{answer}");

    let (status, templates) =
        app.get(&app.agent, "/api/v1/replies/templates?kind=complaint&language=ru&public=true").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!templates.as_array().unwrap().is_empty());
    app.finish().await;
}

async fn unclassified_feedback_is_triaged_at_intake(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let praise = json!({"text": "Огромное спасибо вашему курьеру, всё привёз вовремя и очень вежливо!"});
    let (status, created) = app.post(&app.intake, "/api/v1/feedback", praise).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["kind"], "praise");
    let (_, case) = app.get(&app.agent, &format!("/api/v1/feedback/{}", created["id"])).await;
    assert_eq!(case["language"], "ru");
    assert_eq!(case["sentiment"], "positive");
    assert_eq!(case["audience"], "none");
    let given = json!({"text": "Дякую, все чудово", "kind": "idea"});
    let (_, created) = app.post(&app.intake, "/api/v1/feedback", given).await;
    assert_eq!(created["kind"], "idea", "a kind the source gives is kept");
    app.finish().await;
}

async fn a_repeated_complaint_by_the_same_customer_gets_a_higher_priority(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let mut body = complaint();
    body["kind"] = json!("complaint");
    let mut priorities = Vec::new();
    for _ in 0..2 {
        let (status, created) = app.post(&app.intake, "/api/v1/feedback", body.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let (_, case) = app.get(&app.agent, &format!("/api/v1/feedback/{}", created["id"])).await;
        priorities.push(case["priority"].as_str().unwrap().to_owned());
    }
    assert_eq!(priorities, ["normal", "high"]);
    app.finish().await;
}

async fn a_reply_written_on_a_case_meets_its_first_response_clock(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let (_, created) =
        app.post(&app.intake, "/api/v1/feedback", json!({"text": "Когда вы открываетесь?", "kind": "question"})).await;
    let id = created["id"].as_i64().unwrap();
    let clock = |work: &Value| {
        work["clocks"].as_array().unwrap().iter().find(|c| c["milestone"] == "first_response").unwrap()["state"].clone()
    };
    let (_, work) = app.get(&app.agent, &format!("/api/v1/feedback/{id}/work")).await;
    assert_ne!(clock(&work), "met", "{work}");
    let reply = json!({"kind": "reply", "body": "Мы открываемся в 9:00, ждём вас!", "override_standard": true});
    let (status, message) = app.post(&app.agent, &format!("/api/v1/feedback/{id}/messages"), reply).await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    let (_, work) = app.get(&app.agent, &format!("/api/v1/feedback/{id}/work")).await;
    assert_eq!(clock(&work), "met", "{work}");
    app.finish().await;
}

async fn intake_puts_a_case_in_its_playbooks_initial_stage(db: Db) {
    let playbooks = otklik_core::Workflow::builtin_toml().replacen(
        "[playbook.complaint]\ninitial = \"new\"",
        "[playbook.complaint]\ninitial = \"received\"\n\n[[playbook.complaint.stage]]\nname = \"received\"\n\
         status = \"new\"\n\n[[playbook.complaint.action]]\nname = \"screen\"\nfrom = [\"received\"]\nto = \"new\"\n\
         roles = [\"agent\"]\n",
        1,
    );
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), playbooks).unwrap();
    let Some(app) = TestApp::start_on(db, |config| config.playbooks_file = Some(file.path().to_owned())).await else {
        return;
    };
    let (status, created) =
        app.post(&app.intake, "/api/v1/feedback", json!({"text": "Курьер опоздал", "kind": "complaint"})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (_, case) = app.get(&app.agent, &format!("/api/v1/feedback/{}", created["id"])).await;
    assert_eq!(case["stage"], "received", "{case}");
    let (_, actions) = app.get(&app.agent, &format!("/api/v1/feedback/{}/actions", created["id"])).await;
    assert_eq!(actions["actions"][0]["name"], "screen", "{actions}");
    app.finish().await;
}

async fn who_may_submit_comes_from_the_permission_table(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let (executor, digest) = mint_token();
    app.store.create_token("ivan", Role::Executor, None, &digest, OffsetDateTime::now_utc()).await.unwrap();
    let (status, problem) = app.post(&executor, "/api/v1/feedback", json!({"text": "Привет"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("submit_feedback"), "{problem}");
    assert_eq!(app.case_count().await, 0);
    app.finish().await;
}

async fn an_agent_cannot_reopen_a_closed_case_by_changing_its_kind_there_and_back(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let (admin, digest) = mint_token();
    app.store.create_token("root", Role::Admin, None, &digest, OffsetDateTime::now_utc()).await.unwrap();
    let (_, created) = app.post(&app.intake, "/api/v1/feedback", json!({"text": "Спасибо!", "kind": "praise"})).await;
    let path = format!("/api/v1/feedback/{}", created["id"]);
    let response =
        app.client.patch(app.url(&path)).bearer_auth(&admin).json(&json!({"status": "closed"})).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (status, problem) = app.patch(&path, json!({"kind": "complaint"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (_, case) = app.get(&app.agent, &path).await;
    assert_eq!((case["kind"].as_str(), case["status"].as_str()), (Some("praise"), Some("closed")), "{case}");
    app.finish().await;
}

async fn the_status_link_opens_the_customers_page_in_their_language_with_the_replies_escaped(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let (_, created) = app.post(&app.intake, "/api/v1/feedback", complaint()).await;
    let reply =
        json!({"kind": "reply", "body": "Привезём к 19:00 <script>alert(1)</script>", "override_standard": true});
    let (status, _) = app.post(&app.agent, &format!("/api/v1/feedback/{}/messages", created["id"]), reply).await;
    assert_eq!(status, StatusCode::CREATED);
    let note = json!({"kind": "note", "body": "внутренняя заметка"});
    app.post(&app.agent, &format!("/api/v1/feedback/{}/messages", created["id"]), note).await;

    let response = app.client.get(created["status_url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "same-origin");
    assert!(headers["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    let page = response.text().await.unwrap();
    assert!(page.contains(created["reference"].as_str().unwrap()), "{page}");
    assert!(page.contains("Статус") && page.contains("получено"), "in the customer's language: {page}");
    assert!(
        page.contains("Привезём к 19:00 &#60;script&#62;") || page.contains("Привезём к 19:00 &lt;script&gt;"),
        "{page}"
    );
    assert!(!page.contains("<script>"), "escaped: {page}");
    assert!(!page.contains("внутренняя заметка"), "notes stay inside: {page}");

    for unknown in ["AAAAAAAAAAAAAAAAAAAAAA", "not-a-secret", "%3Cscript%3E"] {
        let response = app.client.get(app.url(&format!("/s/{unknown}"))).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{unknown}");
        assert!(response.text().await.unwrap().contains("Обращение не найдено"));
    }
    app.finish().await;
}

/// A manager approves compensation only within their own listed limit, and may reject an offer
/// with a reason, which the case's work shows.
async fn a_managers_limit_holds_for_approvals_and_an_offer_can_be_rejected_with_a_reason(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("playbooks.toml");
    let limits = otklik_core::Workflow::builtin_toml().replace("agent = 500_000", "agent = 100_000\nmanager = 500_000");
    std::fs::write(&file, limits).unwrap();
    let Some(app) = TestApp::start_on(db, |config| config.playbooks_file = Some(file.clone())).await else { return };
    let (manager, digest) = mint_token();
    app.store.create_token("boris", Role::Manager, None, &digest, OffsetDateTime::now_utc()).await.unwrap();
    let (_, created) = app
        .post(&app.intake, "/api/v1/feedback", json!({"text": "Курьер опоздал на три часа", "kind": "complaint"}))
        .await;
    let id = created["id"].as_i64().unwrap();
    let act = |action: &str| format!("/api/v1/feedback/{id}/actions/{action}");
    let offer = |amount: u64| {
        json!({
            "note": "Приносим извинения за опоздание. Мы вернём стоимость доставки сегодня до 18:00.",
            "compensation": {"kind": "refund", "amount": amount}
        })
    };
    for (action, body) in [
        ("acknowledge", json!({"apology_form": "email"})),
        ("start_work", json!({})),
        ("offer_solution", offer(600_000)),
    ] {
        let (status, answer) = app.post(&app.agent, &act(action), body).await;
        assert_eq!(status, StatusCode::OK, "{action}: {answer}");
    }
    // 6,000.00 is above the manager's 5,000.00: the admins are asked, not the managers, and a
    // manager approving it is refused, naming both figures.
    let notes = app.store.notifications(&otklik_store::Recipient::Role(Role::Admin)).await.unwrap();
    assert!(notes.iter().any(|n| n.what == "approval"), "{notes:?}");
    let notes = app.store.notifications(&otklik_store::Recipient::Role(Role::Manager)).await.unwrap();
    assert!(!notes.iter().any(|n| n.what == "approval"), "{notes:?}");
    let (status, problem) = app.post(&manager, &act("approve_compensation"), json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("600000") && detail.contains("500000"), "{detail}");
    // Rejecting needs the reason; with it, the offer is rejected and the reason kept.
    let (status, problem) = app.post(&manager, &act("reject_compensation"), json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, answer) =
        app.post(&manager, &act("reject_compensation"), json!({"reason": "Выше политики возвратов"})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (_, work) = app.get(&app.agent, &format!("/api/v1/feedback/{id}/work")).await;
    let rejected = &work["compensations"][0];
    assert_eq!((rejected["status"].as_str(), rejected["decided_by"].as_str()), (Some("rejected"), Some("boris")));
    assert_eq!(rejected["decision_reason"], "Выше политики возвратов", "{work}");
    // The case is back at work: the agent offers something else, within the manager's limit.
    assert_eq!(answer["stage"], "in_progress", "{answer}");
    let (status, answer) = app.post(&app.agent, &act("offer_solution"), offer(200_000)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = app.post(&manager, &act("approve_compensation"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    app.finish().await;
}

/// Who was involved: a case names the employees and the product it concerns, apart from the
/// assignee; each change is an event, a name with a comma or a blank one is refused.
async fn a_case_names_the_employees_and_the_product_concerned(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let (_, created) = app
        .post(
            &app.intake,
            "/api/v1/feedback",
            json!({"text": "Официант нагрубил, суп был холодный", "kind": "complaint"}),
        )
        .await;
    let path = format!("/api/v1/feedback/{}", created["id"]);
    let patch = json!({"employees": [" Пётр Иванов ", "Анна Смирнова", "Пётр Иванов"], "product": "Борщ"});
    let (status, case) = app.patch(&path, patch).await;
    assert_eq!(status, StatusCode::OK, "{case}");
    assert_eq!(case["employees"], json!(["Анна Смирнова", "Пётр Иванов"]), "trimmed, sorted, each once: {case}");
    assert_eq!(case["product"], "Борщ");
    let (_, listed) = app.get(&app.agent, "/api/v1/feedback?limit=5").await;
    assert_eq!(listed["items"][0]["employees"], json!(["Анна Смирнова", "Пётр Иванов"]), "{listed}");
    for wrong in [json!({"employees": ["Иванов, Пётр"]}), json!({"employees": ["  "]}), json!({"employees": null})]
    {
        let (status, problem) = app.patch(&path, wrong.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{wrong}: {problem}");
        assert!(problem["detail"].as_str().unwrap().contains("employees"), "{problem}");
    }
    let (_, case) = app.patch(&path, json!({"employees": []})).await;
    assert_eq!(case["employees"], json!([]));
    let (_, detail) = app.get(&app.agent, &path).await;
    let changes: Vec<&Value> =
        detail["events"].as_array().unwrap().iter().filter(|e| e["field"] == "employees").collect();
    assert_eq!(changes.len(), 2, "{detail}");
    assert_eq!(changes[0]["new_value"], "Анна Смирнова, Пётр Иванов");
    app.finish().await;
}

/// Get the contact, take it private: under a public complaint the agent posts the brand's line
/// asking for a phone or an e-mail; what the customer sends is added to their record, and an
/// address another customer has joins that customer into this one, recorded on both.
async fn a_public_complainer_is_asked_for_a_contact_which_joins_their_other_record(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let (manager, digest) = mint_token();
    app.store.create_token("boris", Role::Manager, None, &digest, OffsetDateTime::now_utc()).await.unwrap();
    let post = json!({"text": "Третий раз привозят холодную пиццу, позор!", "kind": "complaint", "channel": "social",
        "public": true, "customer": {"handle": "@pizza_lover", "name": "Ольга"}});
    let (status, public) = app.post(&app.intake, "/api/v1/feedback", post).await;
    assert_eq!(status, StatusCode::CREATED, "{public}");
    let earlier = json!({"text": "Где мой заказ?", "kind": "question", "customer": {"email": "olga@example.test"}});
    let (_, private) = app.post(&app.intake, "/api/v1/feedback", earlier).await;
    let id = public["id"].as_i64().unwrap();
    let (status, answer) = app.post(&app.agent, &format!("/api/v1/feedback/{id}/actions/ask_contact"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["stage"], "acknowledged");
    let (_, work) = app.get(&app.agent, &format!("/api/v1/feedback/{id}/work")).await;
    let templates: Vec<&str> =
        work["outbox"].as_array().unwrap().iter().filter_map(|m| m["template"].as_str()).collect();
    assert_eq!(templates, ["public.received", "complaint.ask_contact"], "{work}");

    let (_, detail) = app.get(&app.agent, &format!("/api/v1/feedback/{id}")).await;
    let customer = detail["customer"]["id"].as_i64().unwrap();
    let (_, other) = app.get(&app.agent, &format!("/api/v1/feedback/{}", private["id"])).await;
    let other = other["customer"]["id"].as_i64().unwrap();
    let path = format!("/api/v1/customers/{customer}");
    let add = json!({"identities": [{"kind": "phone", "value": "+7 999 123-45-67"}, {"kind": "email", "value": "OLGA@example.test"}]});
    let send = |token: &str, body: Value| app.client.patch(app.url(&path)).bearer_auth(token).json(&body).send();
    assert_eq!(send(&app.agent, add.clone()).await.unwrap().status(), StatusCode::FORBIDDEN);
    let wrong = json!({"identities": [{"kind": "phone", "value": "not a phone"}]});
    let response = send(&manager, wrong).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = send(&manager, add).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let joined: Value = response.json().await.unwrap();
    let mut kinds: Vec<&str> =
        joined["identities"].as_array().unwrap().iter().map(|i| i["kind"].as_str().unwrap()).collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["email", "handle", "phone"], "{joined}");
    // The other record is this customer now: its case came along, and both histories say so.
    let (_, found) = app.get(&app.agent, &format!("/api/v1/customers/{other}")).await;
    assert_eq!(found["id"].as_i64(), Some(customer), "{found}");
    assert_eq!(found["cases"].as_array().unwrap().len(), 2, "{found}");
    assert!(found["events"].as_array().unwrap().iter().any(|e| e["action"] == "merged"), "{found}");
    app.finish().await;
}

on_both_backends!(
    a_public_complainer_is_asked_for_a_contact_which_joins_their_other_record,
    a_case_names_the_employees_and_the_product_concerned,
    a_managers_limit_holds_for_approvals_and_an_offer_can_be_rejected_with_a_reason,
    null_is_refused_where_the_document_says_a_field_is_never_null,
    submitted_feedback_is_acknowledged_with_reference_and_status_link,
    a_reference_with_another_year_is_not_found,
    missing_or_unknown_token_is_401_and_a_weak_role_is_403,
    bad_input_gets_a_clear_problem_and_creates_nothing,
    the_same_idempotency_key_returns_the_first_case_even_concurrently,
    redelivery_by_channel_and_external_id_answers_200_with_the_same_case,
    search_filters_and_pages_through_the_api,
    patch_and_messages_are_recorded_as_events,
    customer_shows_cases_from_every_channel,
    a_manager_makes_a_customer_vip_and_their_next_case_is_raised,
    a_complaint_carries_its_cause_and_only_a_complaint_may,
    health_readiness_metrics_and_openapi_are_served,
    replies_are_checked_against_the_house_standard,
    unclassified_feedback_is_triaged_at_intake,
    a_repeated_complaint_by_the_same_customer_gets_a_higher_priority,
    a_reply_written_on_a_case_meets_its_first_response_clock,
    intake_puts_a_case_in_its_playbooks_initial_stage,
    who_may_submit_comes_from_the_permission_table,
    an_agent_cannot_reopen_a_closed_case_by_changing_its_kind_there_and_back,
    the_status_link_opens_the_customers_page_in_their_language_with_the_replies_escaped,
);

async fn null_is_refused_where_the_document_says_a_field_is_never_null(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let (_, created) = app.post(&app.intake, "/api/v1/feedback", complaint()).await;
    let path = format!("/api/v1/feedback/{}", created["id"]);
    for body in [json!({"kind": null}), json!({"priority": null, "assignee": null}), json!({"tags": null})] {
        let (status, problem) = app.patch(&path, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {problem}");
    }
    let (status, _) = app.patch(&path, json!({"assignee": null})).await;
    assert_eq!(status, StatusCode::OK, "null clears a clearable field");
    app.finish().await;
}
