//! A customer's personal data, on both databases: an admin exports everything stored about them
//! and erases it; afterwards none of their identities or names is anywhere in the database (the
//! search index and the outbox included), the reports count the same, and every case's history
//! still verifies. A changed event is named by the audit.

mod support;

use otklik_core::Role;
use otklik_server::auth::mint_token;
use reqwest::StatusCode;
use serde_json::json;
use support::{Db, TestApp};
use time::OffsetDateTime;

on_both_backends!(erasing_a_customer_leaves_no_trace_and_the_same_figures, a_changed_event_breaks_its_chain);

const NAME: &str = "Анна Петрова";
const EMAIL: &str = "anna.petrova@example.com";
const PHONE: &str = "+79160001122";

async fn token(app: &TestApp, role: Role) -> String {
    let (token, digest) = mint_token();
    app.store.create_token(&format!("{role}-token"), role, None, &digest, OffsetDateTime::now_utc()).await.unwrap();
    token
}

/// Two cases of one customer (by e-mail, then by phone), with her name, address and phone in
/// what she wrote, in an answer, a task and the outbox; and a case of someone else.
async fn her_cases(app: &TestApp) -> (i64, i64, i64, i64) {
    let text = format!(
        "Меня зовут {NAME} (@anna_petrova). Курьер опоздал! Пишите на {EMAIL} или звоните +7 (916) 000-11-22 2 раза."
    );
    let body = json!({"text": text, "kind": "complaint", "channel": "web", "subject": "Анна: опоздание",
        "customer": {"name": NAME, "email": EMAIL, "phone": PHONE, "handle": "@anna_petrova"}});
    let (status, first) = app.post(&app.intake, "/api/v1/feedback", body).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let first = first["id"].as_i64().unwrap();
    let body = json!({"text": "Снова холодная пицца, это Анна", "kind": "complaint", "channel": "web",
        "customer": {"phone": PHONE}});
    let second = app.post(&app.intake, "/api/v1/feedback", body).await.1["id"].as_i64().unwrap();
    let body = json!({"text": "Курьер опоздал", "kind": "complaint", "channel": "web", "customer": {"email": "boris@example.com", "name": "Борис"}});
    let other = app.post(&app.intake, "/api/v1/feedback", body).await.1["id"].as_i64().unwrap();
    let note = "Анна, приносим извинения за опоздание. Мы проверим заказ и позвоним вам сегодня до 18:00.";
    let (status, view) = app
        .post(
            &app.agent,
            &format!("/api/v1/feedback/{first}/actions/acknowledge"),
            json!({"apology_form": "email", "note": note}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    app.post(&app.agent, &format!("/api/v1/feedback/{first}/actions/start_work"), json!({})).await;
    let task = json!({"note": format!("Позвонить: Анна Петрова, {PHONE}"), "due_date": "2030-01-02"});
    let (status, view) = app.post(&app.agent, &format!("/api/v1/feedback/{first}/actions/add_task"), task).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let customer =
        app.get(&app.agent, &format!("/api/v1/feedback/{first}")).await.1["customer"]["id"].as_i64().unwrap();
    (customer, first, second, other)
}

async fn erasing_a_customer_leaves_no_trace_and_the_same_figures(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let (admin, manager) = (token(&app, Role::Admin).await, token(&app, Role::Manager).await);
    let (customer, first, _second, other) = her_cases(&app).await;
    let today = OffsetDateTime::now_utc().date();
    let report_path = format!(
        "/api/v1/reports/summary?from={}&to={}",
        today - time::Duration::days(1),
        today + time::Duration::days(1)
    );
    let before = app.get(&manager, &report_path).await.1["current"].clone();
    assert_eq!(before["cases"], 3, "{before}");

    // The export: everything about her, for an admin only.
    assert_eq!(app.get(&manager, &format!("/api/v1/customers/{customer}/export")).await.0, StatusCode::FORBIDDEN);
    let (status, export) = app.get(&admin, &format!("/api/v1/customers/{customer}/export")).await;
    assert_eq!(status, StatusCode::OK, "{export}");
    assert_eq!(export["customer"]["name"], NAME);
    assert_eq!(export["customer"]["identities"].as_array().unwrap().len(), 3, "{export}");
    assert_eq!(export["cases"].as_array().unwrap().len(), 2, "{export}");
    let bodies = export["cases"].as_array().unwrap().iter().map(|case| case["messages"][0]["body"].as_str().unwrap());
    assert_eq!(bodies.filter(|body| body.contains(EMAIL)).count(), 1, "{export}");
    assert!(app.all_text().await.contains("петрова"), "the data is there before");

    // Erasing: an agent or a manager may not; an admin may.
    assert_eq!(
        app.post(&manager, &format!("/api/v1/customers/{customer}/erase"), json!({})).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.post(&admin, "/api/v1/customers/99999/erase", json!({})).await.0, StatusCode::NOT_FOUND);
    let (status, erased) = app.post(&admin, &format!("/api/v1/customers/{customer}/erase"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{erased}");
    assert_eq!((erased["cases"].as_u64(), erased["identities"].as_u64()), (Some(2), Some(3)), "{erased}");

    let everything = app.all_text().await;
    for trace in ["анна", "петров", EMAIL, "anna.petrova", "anna_petrova", PHONE, "000-11-22", "9160001122"] {
        assert!(!everything.contains(trace), "`{trace}` is still in the database");
    }
    assert!(everything.contains("борис"), "the other customer is untouched");
    // Search no longer finds her; the other case still is found by its words.
    let (_, found) = app.get(&app.agent, "/api/v1/feedback?q=Петрова").await;
    assert!(found["items"].as_array().unwrap().is_empty(), "{found}");
    let (_, found) = app.get(&app.agent, "/api/v1/feedback?q=опоздал").await;
    assert!(found["items"].as_array().unwrap().iter().any(|c| c["id"] == other), "{found}");

    // The figures are the same; the cases stay, with who erased and when.
    let after = app.get(&manager, &report_path).await.1["current"].clone();
    assert_eq!(after, before);
    let (_, case) = app.get(&app.agent, &format!("/api/v1/feedback/{first}")).await;
    assert_eq!(case["kind"], "complaint");
    assert!(
        case["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "personal_data_erased" && e["actor"] == "admin-token"),
        "{case}"
    );
    let (_, her) = app.get(&admin, &format!("/api/v1/customers/{customer}")).await;
    assert!(her["events"].as_array().unwrap().iter().any(|e| e["action"] == "erased"), "{her}");

    // Every history still verifies once sealed.
    app.store.seal_events(OffsetDateTime::now_utc() + time::Duration::minutes(1), 10_000).await.unwrap();
    let audit = app.store.verify_events().await.unwrap();
    assert_eq!(audit.first_mismatch, None, "{audit:?}");
    assert_eq!(audit.unsealed, 0);
    assert!(audit.sealed >= 8, "{audit:?}");
    // Blanking another case's event as if erased is no erasure: the audit names it.
    let (_, theirs) = app.get(&app.agent, &format!("/api/v1/feedback/{other}")).await;
    let blanked = theirs["events"][0]["id"].as_i64().unwrap();
    app.sql(&format!("UPDATE events SET new_value = '[erased]', erased_at = 1 WHERE id = {blanked}")).await;
    let audit = app.store.verify_events().await.unwrap();
    let (case_id, event, problem) = audit.first_mismatch.expect("the blanking is found");
    assert_eq!((case_id, event), (other, blanked), "{problem}");
    app.finish().await;
}

async fn a_changed_event_breaks_its_chain(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let (_, first, second, other) = her_cases(&app).await;
    app.post(&app.agent, &format!("/api/v1/feedback/{other}/actions/ask_contact"), json!({})).await;
    let later = OffsetDateTime::now_utc() + time::Duration::minutes(1);
    app.store.seal_events(later, 10_000).await.unwrap();
    let clean = app.store.verify_events().await.unwrap();
    assert_eq!((clean.first_mismatch.clone(), clean.unsealed), (None, 0), "{clean:?}");
    let (_, case) = app.get(&app.agent, &format!("/api/v1/feedback/{first}")).await;
    let events: Vec<i64> = case["events"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(events.len() >= 3, "{case}");
    // Someone removes an event from the middle of a case's history: the one after it no
    // longer follows.
    app.sql(&format!("DELETE FROM events WHERE id = {}", events[1])).await;
    let audit = app.store.verify_events().await.unwrap();
    let (case_id, event, problem) = audit.first_mismatch.clone().expect("the removal is found");
    assert_eq!((case_id, event), (first, events[2]), "{problem}");
    assert_eq!(audit.mismatched_cases, 1, "{audit:?}");
    // Someone rewrites who did something on another case.
    let (_, case) = app.get(&app.agent, &format!("/api/v1/feedback/{second}")).await;
    let target = case["events"][0]["id"].as_i64().unwrap();
    app.sql(&format!("UPDATE events SET actor = 'mallory' WHERE id = {target}")).await;
    let audit = app.store.verify_events().await.unwrap();
    assert_eq!(audit.mismatched_cases, 2, "{audit:?}");
    // Someone removes a seal to have the event sealed again as changed: the sealed one after
    // it gives it away.
    let (_, third) = app.get(&app.agent, &format!("/api/v1/feedback/{other}")).await;
    assert!(third["events"].as_array().unwrap().len() >= 2, "{third}");
    let unsealed = third["events"][0]["id"].as_i64().unwrap();
    app.sql(&format!("UPDATE events SET digest = NULL WHERE id = {unsealed}")).await;
    let audit = app.store.verify_events().await.unwrap();
    assert_eq!(audit.mismatched_cases, 3, "{audit:?}");
    app.finish().await;
}
