//! The workspace over HTTP, on both databases: every page and form as every role and as nobody
//! against the permission table; forms posted without the session's CSRF token, or with another
//! session's, change nothing; what customers write never runs as markup on any page; a flagged
//! reply goes only with a recorded override; the queues; the live stream.

mod support;

use otklik_core::Role;
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};
use support::{Db, Person, TestApp};

on_both_backends!(
    every_page_and_form_answers_every_role_as_the_permission_table_says,
    a_form_without_its_sessions_token_changes_nothing,
    what_customers_write_never_runs_on_a_page,
    a_flagged_reply_goes_only_with_an_override_that_is_recorded,
    the_inbox_queues_filter_and_the_stream_tells_of_a_new_case,
    a_signed_in_person_is_not_held_to_the_anonymous_limit,
    a_person_gives_an_email_address_for_the_digest,
);

const EVERYONE: &[Role] = &[Role::Admin, Role::Manager, Role::Agent, Role::Executor, Role::Sales];
const WORKERS: &[Role] = &[Role::Admin, Role::Manager, Role::Agent];

/// A form: where it posts, its fields, and the roles the permission table lets post it.
type Form<'a> = (String, Vec<(&'a str, &'a str)>, &'a [Role]);

async fn complaint(app: &TestApp, text: &str) -> Value {
    let (status, case) =
        app.post(&app.intake, "/api/v1/feedback", json!({"text": text, "customer": {"email": "c@example.com"}})).await;
    assert_eq!(status, StatusCode::CREATED, "{case}");
    case
}

async fn staff(app: &TestApp) -> Vec<(Role, Person)> {
    let mut people = Vec::new();
    for role in EVERYONE {
        people.push((*role, app.person(&format!("p-{role}"), *role).await));
    }
    people
}

fn location(response: &reqwest::Response) -> String {
    response.headers().get(LOCATION).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

async fn every_page_and_form_answers_every_role_as_the_permission_table_says(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let people = staff(&app).await;
    let case = complaint(&app, "Курьер опоздал на два часа и нагрубил").await;
    let (reference, id) = (case["reference"].as_str().unwrap().to_owned(), case["id"].as_i64().unwrap());
    let agent = &people.iter().find(|(role, _)| *role == Role::Agent).unwrap().1;
    let made = app
        .form(
            Some(agent),
            &format!("/cases/{reference}/tasks"),
            &[("title", "Позвонить клиенту"), ("assignee", "p-executor"), ("due_on", "2030-01-01")],
            None,
        )
        .await;
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    let task = app.store.tasks_for("p-executor").await.unwrap()[0].id;
    let id_text = id.to_string();

    let pages: Vec<(String, &[Role])> = vec![
        ("/inbox".into(), EVERYONE),
        (format!("/cases/{reference}"), EVERYONE),
        (format!("/cases/{id}"), EVERYONE),
        ("/tasks".into(), EVERYONE),
        ("/approvals".into(), EVERYONE),
        ("/opportunities".into(), EVERYONE),
        ("/notifications".into(), EVERYONE),
        ("/settings".into(), EVERYONE),
        ("/playbooks".into(), &[Role::Admin, Role::Manager]),
        ("/locations".into(), EVERYONE),
        ("/reports".into(), &[Role::Admin, Role::Manager]),
        ("/reports?from=2026-01-01&to=2026-12-31".into(), &[Role::Admin, Role::Manager]),
        ("/reports/summary.csv".into(), &[Role::Admin, Role::Manager]),
        ("/reports/cases.csv".into(), &[Role::Admin, Role::Manager]),
        ("/cases/new".into(), EVERYONE),
        ("/people".into(), &[Role::Admin]),
        ("/tokens".into(), &[Role::Admin]),
        (format!("/cases/{reference}/customer/export"), &[Role::Admin]),
    ];
    for (path, allowed) in &pages {
        let nobody = app.page(None, path).await;
        assert_eq!((nobody.status(), location(&nobody)), (StatusCode::SEE_OTHER, "/login".into()), "{path}");
        for (role, person) in &people {
            let answer = app.page(Some(person), path).await;
            let expected = if allowed.contains(role) { StatusCode::OK } else { StatusCode::FORBIDDEN };
            assert_eq!(answer.status(), expected, "GET {path} as {role}");
            let html = answer.text().await.unwrap();
            assert!(html.len() < 100_000, "GET {path} weighs {} bytes", html.len());
        }
    }

    let reply = format!("/cases/{reference}/reply");
    let forms: Vec<Form> = vec![
        (format!("/cases/{reference}/check"), vec![("body", "Мы разберёмся")], WORKERS),
        (reply, vec![("body", "Проверил: курьер Иван, смена утренняя"), ("mode", "note")], WORKERS),
        (format!("/cases/{reference}/tasks"), vec![("title", "Ещё задача"), ("due_on", "2030-01-02")], WORKERS),
        (format!("/cases/{reference}/correct"), vec![("kind", "complaint"), ("priority", "high")], WORKERS),
        (format!("/cases/{reference}/assign"), vec![], WORKERS),
        (format!("/cases/{reference}/revoke-link"), vec![], WORKERS),
        (format!("/cases/{reference}/hidden"), vec![("hidden", "false")], WORKERS),
        (format!("/cases/{reference}/link"), vec![("parent", "")], WORKERS),
        (
            "/cases/new".into(),
            vec![("channel", "phone"), ("text", "Звонила клиентка: курьер опоздал"), ("phone", "+7 916 000 00 00")],
            &[Role::Admin, Role::Manager, Role::Agent, Role::Sales],
        ),
        ("/inbox/assign".into(), vec![("case", id_text.as_str()), ("assignee", "p-agent")], WORKERS),
        (
            format!("/cases/{reference}/actions/acknowledge"),
            vec![("apology_form", "call"), ("note", "Приносим извинения, разберёмся до завтра."), ("override", "1")],
            WORKERS,
        ),
        (
            format!("/tasks/{task}"),
            vec![("comment", "Созвонился")],
            &[Role::Admin, Role::Manager, Role::Agent, Role::Executor],
        ),
        ("/playbooks/check".into(), vec![("source", "[deadlines]\n")], &[Role::Admin, Role::Manager]),
        ("/locations".into(), vec![("slug", "center"), ("name", "Центр")], &[Role::Admin, Role::Manager]),
        ("/locations/center".into(), vec![("what", "close")], &[Role::Admin, Role::Manager]),
        ("/people".into(), vec![("username", "new-person"), ("role", "agent")], &[Role::Admin]),
        (
            "/people/olga".into(),
            vec![("what", "save"), ("role", "agent"), ("display_name", "Ольга"), ("email", "olga@example.com")],
            &[Role::Admin],
        ),
        ("/tokens".into(), vec![("name", "site"), ("role", "intake")], &[Role::Admin]),
        ("/tokens/1/revoke".into(), vec![], &[Role::Admin]),
        (
            "/settings".into(),
            vec![("language", "uk"), ("time_zone", "Europe/Kyiv"), ("email", "me@example.com")],
            EVERYONE,
        ),
        (format!("/cases/{reference}/customer/erase"), vec![("confirm", "yes")], &[Role::Admin]),
    ];
    for (path, fields, allowed) in &forms {
        let nobody = app.form(None, path, fields, Some("forged")).await;
        assert_eq!((nobody.status(), location(&nobody)), (StatusCode::SEE_OTHER, "/login".into()), "POST {path}");
        // The refused roles first: a form that works changes the case for those after it.
        let mut ordered: Vec<&(Role, Person)> = people.iter().filter(|(role, _)| !allowed.contains(role)).collect();
        ordered.extend(people.iter().filter(|(role, _)| allowed.contains(role)));
        for (role, person) in ordered {
            let answer = app.form(Some(person), path, fields, None).await;
            let status = answer.status();
            if allowed.contains(role) {
                assert!(
                    status != StatusCode::FORBIDDEN && location(&answer) != "/login",
                    "POST {path} as {role}: {status} {}",
                    answer.text().await.unwrap()
                );
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "POST {path} as {role}: {}", answer.text().await.unwrap());
            }
        }
    }
    app.finish().await;
}

async fn a_form_without_its_sessions_token_changes_nothing(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let admin = app.person("boss", Role::Admin).await;
    let other = app.sign_in("boss", "correct horse battery").await;
    assert_ne!(admin.csrf, other.csrf);
    let case = complaint(&app, "Холодная пицца").await;
    let reference = case["reference"].as_str().unwrap().to_owned();
    let id = case["id"].as_i64().unwrap();
    let forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        (format!("/cases/{reference}/reply"), vec![("body", "Заметка"), ("mode", "note")]),
        (format!("/cases/{reference}/tasks"), vec![("title", "Задача")]),
        (format!("/cases/{reference}/correct"), vec![("priority", "urgent")]),
        (format!("/cases/{reference}/assign"), vec![]),
        (
            format!("/cases/{reference}/actions/acknowledge"),
            vec![("apology_form", "call"), ("note", "Извините"), ("override", "1")],
        ),
        ("/inbox/assign".into(), vec![("case", reference.as_str())]),
        ("/people".into(), vec![("username", "sneaky"), ("role", "admin")]),
        ("/people/olga".into(), vec![("what", "deactivate")]),
        ("/tokens".into(), vec![("name", "sneaky"), ("role", "admin")]),
        ("/tokens/1/revoke".into(), vec![]),
        ("/settings".into(), vec![("language", "en")]),
        (
            "/settings/password".into(),
            vec![("current", "correct horse battery"), ("password", "0123456789ab"), ("repeat", "0123456789ab")],
        ),
        ("/logout".into(), vec![]),
    ];
    let before = app.store.case(id).await.unwrap();
    let (users, tokens) = (app.store.users().await.unwrap(), app.store.tokens().await.unwrap());
    for (path, fields) in &forms {
        for csrf in ["", other.csrf.as_str()] {
            let answer = app.form(Some(&admin), path, fields, Some(csrf)).await;
            assert_eq!(answer.status(), StatusCode::FORBIDDEN, "POST {path} with {csrf:?}");
        }
    }
    let after = app.store.case(id).await.unwrap();
    assert_eq!(after.events, before.events, "the case did not change");
    assert_eq!(after.messages, before.messages);
    assert_eq!(after.case.assignee, None);
    assert_eq!(app.store.users().await.unwrap(), users, "no person made or changed");
    assert_eq!(app.store.tokens().await.unwrap(), tokens, "no token made or revoked");
    assert!(app.store.tasks_for("boss").await.unwrap().is_empty());
    assert_eq!(app.page(Some(&admin), "/inbox").await.status(), StatusCode::OK, "still signed in, same password");
    app.finish().await;
}

/// Payloads that would run as a script or break out of an attribute if written unescaped.
const PAYLOADS: [&str; 3] =
    ["<script>alert('xss')</script>", "\"><img src=x onerror=alert(1)>", "' onmouseover='alert(2)"];

async fn what_customers_write_never_runs_on_a_page(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let manager = app.person("boss", Role::Manager).await;
    let mut references = Vec::new();
    for (n, payload) in PAYLOADS.iter().enumerate() {
        let (status, case) = app
            .post(
                &app.intake,
                "/api/v1/feedback",
                json!({
                    "text": format!("Жалоба {payload}"),
                    "subject": payload,
                    "location": payload,
                    "kind": "complaint",
                    "customer": {"name": payload, "email": format!("x{n}@example.com")}
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{case}");
        references.push(case["reference"].as_str().unwrap().to_owned());
    }
    let mut paths: Vec<String> = references.iter().map(|r| format!("/cases/{r}")).collect();
    paths.extend(["/inbox".into(), "/inbox?all=1&sort=priority".into(), "/approvals".into(), "/notifications".into()]);
    for payload in PAYLOADS {
        let query = serde_urlencoded::to_string([("location", payload), ("q", payload)]).unwrap();
        paths.push(format!("/inbox?{query}"));
    }
    for path in &paths {
        let html = app.page(Some(&manager), path).await.text().await.unwrap();
        for dangerous in ["<script>alert", "<img src=x", "\"><img", "' onmouseover='"] {
            assert!(!html.contains(dangerous), "{path} carries `{dangerous}` unescaped");
        }
    }
    let case = app.page(Some(&manager), &format!("/cases/{}", references[0])).await.text().await.unwrap();
    assert!(case.contains("&#60;script&#62;alert"), "shown as text, not dropped");
    app.finish().await;
}

async fn a_flagged_reply_goes_only_with_an_override_that_is_recorded(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let agent = app.person("anna", Role::Agent).await;
    let case = complaint(&app, "Мне принесли холодную пиццу").await;
    let reference = case["reference"].as_str().unwrap().to_owned();
    let path = format!("/cases/{reference}/reply");
    let blaming = "Вы сами виноваты, надо было читать условия доставки.";
    let check = app.form(Some(&agent), &format!("/cases/{reference}/check"), &[("body", blaming)], None).await;
    assert_eq!(check.status(), StatusCode::OK);
    assert!(check.text().await.unwrap().contains("class=\"error\""), "the checker flags a blaming sentence");
    let refused = app.form(Some(&agent), &path, &[("body", blaming), ("mode", "reply")], None).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("name=\"override\"") && html.contains("Вы сами виноваты"),
        "the draft comes back with the override box"
    );
    let id = case["id"].as_i64().unwrap();
    assert_eq!(app.store.case(id).await.unwrap().messages.len(), 1, "nothing was sent");
    let sent = app.form(Some(&agent), &path, &[("body", blaming), ("mode", "reply"), ("override", "1")], None).await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let detail = app.store.case(id).await.unwrap();
    assert_eq!(detail.messages.len(), 2);
    let overridden =
        detail.events.iter().find(|e| e.action == "standard_overridden").expect("the override is recorded");
    assert_eq!(overridden.actor, "anna");
    let good = "Анна, приносим извинения за холодную пиццу. Сегодня до 18:00 привезём новую за наш счёт.";
    let fine = app.form(Some(&agent), &format!("/cases/{reference}/check"), &[("body", good)], None).await;
    assert!(!fine.text().await.unwrap().contains("class=\"error\""), "the fixed reply passes");
    let page = app.page(Some(&agent), &format!("/cases/{reference}")).await.text().await.unwrap();
    assert!(
        page.contains("Вы сами виноваты") && page.contains("Отправлено вопреки стандарту"),
        "the timeline shows both"
    );
    app.finish().await;
}

async fn the_inbox_queues_filter_and_the_stream_tells_of_a_new_case(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let agent = app.person("anna", Role::Agent).await;
    let first = complaint(&app, "Курьер нагрубил").await;
    let (status, idea) =
        app.post(&app.intake, "/api/v1/feedback", json!({"text": "Добавьте оплату картой", "kind": "idea"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (first_ref, idea_ref) = (first["reference"].as_str().unwrap(), idea["reference"].as_str().unwrap());
    let ideas = app.page(Some(&agent), "/inbox?kind=idea").await.text().await.unwrap();
    assert!(ideas.contains(idea_ref) && !ideas.contains(first_ref), "by kind");
    let searched = app.page(Some(&agent), "/inbox?q=курьера").await.text().await.unwrap();
    assert!(searched.contains(first_ref) && !searched.contains(idea_ref), "search across word forms");
    let later = app.page(Some(&agent), "/inbox?risk=later&sort=due").await.text().await.unwrap();
    assert!(later.contains(first_ref), "a new complaint's first response is due later than an hour");
    let breached = app.page(Some(&agent), "/inbox?risk=breached").await.text().await.unwrap();
    assert!(!breached.contains(first_ref));
    let bad = app.page(Some(&agent), "/inbox?risk=soonish").await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY, "an unknown queue is a clear error");
    let first_id = first["id"].to_string();
    let assigned =
        app.form(Some(&agent), "/inbox/assign", &[("case", first_id.as_str()), ("assignee", "anna")], None).await;
    assert_eq!(assigned.status(), StatusCode::SEE_OTHER);
    let mine = app.page(Some(&agent), "/inbox?mine=1").await.text().await.unwrap();
    assert!(mine.contains(first_ref) && !mine.contains(idea_ref), "mine");

    let mut stream = app.page(Some(&agent), "/inbox/events").await;
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    complaint(&app, "Опять холодная пицца").await;
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    while !seen.contains("event: change") {
        let chunk =
            tokio::time::timeout_at(deadline, stream.chunk()).await.expect("an event within 15 s").unwrap().unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    app.finish().await;
}

async fn a_signed_in_person_is_not_held_to_the_anonymous_limit(db: Db) {
    let Some(app) = TestApp::start_on(db, |config| config.anonymous_rate_limit = 5).await else { return };
    let agent = app.person("anna", Role::Agent).await;
    for n in 0..12 {
        assert_eq!(app.page(Some(&agent), "/inbox").await.status(), StatusCode::OK, "page {n}");
    }
    let forged = Person { username: "x".into(), cookie: "otklik_session=forged".into(), csrf: String::new() };
    let mut throttled = false;
    for _ in 0..12 {
        throttled |= app.page(Some(&forged), "/inbox").await.status() == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(throttled, "a cookie that names no session is anonymous");
    app.finish().await;
}

/// A person's e-mail address (where the weekly digest goes) is theirs to set in the settings,
/// and an admin's on the people page; a malformed one is refused and changes nothing.
async fn a_person_gives_an_email_address_for_the_digest(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let admin = app.person("boss", Role::Admin).await;
    let manager = app.person("mila", Role::Manager).await;
    let email = |name: &'static str| {
        let store = app.store.clone();
        async move { store.user_by_name(name).await.unwrap().unwrap().email }
    };
    let saved =
        app.form(Some(&manager), "/settings", &[("language", "en"), ("email", " Mila@Example.COM ")], None).await;
    assert_eq!((saved.status(), location(&saved)), (StatusCode::SEE_OTHER, "/settings?saved=1".into()));
    assert_eq!(email("mila").await.as_deref(), Some("mila@example.com"));
    let page = app.page(Some(&manager), "/settings").await.text().await.unwrap();
    assert!(page.contains("value=\"mila@example.com\""), "{page}");
    let refused = app.form(Some(&manager), "/settings", &[("email", "mila at example")], None).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("email:"));
    assert_eq!(email("mila").await.as_deref(), Some("mila@example.com"), "unchanged");
    // The admin changes it on the people page, then clears it.
    let fields = [("what", "save"), ("role", "manager"), ("display_name", "Мила"), ("email", "m@example.org")];
    assert_eq!(app.form(Some(&admin), "/people/mila", &fields, None).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(email("mila").await.as_deref(), Some("m@example.org"));
    let fields = [("what", "save"), ("role", "manager"), ("display_name", "Мила"), ("email", "")];
    assert_eq!(app.form(Some(&admin), "/people/mila", &fields, None).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(email("mila").await, None);
    app.finish().await;
}
