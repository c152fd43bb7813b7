//! The workspace's first pages over HTTP: signing in (the cookie's flags, one answer for a wrong
//! name and a wrong password), the inbox behind the session, escaping of what customers write,
//! and signing out only with the session's CSRF token.

mod support;

use otklik_core::Role;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::json;
use support::{Db, TestApp};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn sign_in(app: &TestApp, client: &reqwest::Client, username: &str, password: &str) -> reqwest::Response {
    client
        .post(app.url("/login"))
        .header("Origin", app.base.as_str())
        .form(&[("username", username), ("password", password)])
        .send()
        .await
        .unwrap()
}

fn session_cookie(headers: &HeaderMap) -> String {
    let cookie = headers[SET_COOKIE].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

on_both_backends!(a_person_signs_in_sees_the_inbox_and_signs_out_only_with_the_forms_token);

async fn a_person_signs_in_sees_the_inbox_and_signs_out_only_with_the_forms_token(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let hash = otklik_server::auth::hash_password("correct horse 1").unwrap();
    app.store.create_user("anna", Some("Анна"), Role::Agent, &hash, time::OffsetDateTime::now_utc()).await.unwrap();
    let attack = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>";
    let (status, _) = app
        .post(
            &app.intake,
            "/api/v1/feedback",
            json!({"text": "Курьер опоздал", "subject": attack, "customer": {"email": "x@example.com"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let client = no_redirects();

    let form = client.get(app.url("/login")).header("Accept-Language", "uk").send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let html = form.text().await.unwrap();
    assert!(html.contains("name=\"username\"") && html.contains("name=\"password\""), "{html}");
    assert!(html.contains("<html lang=\"uk\">") && html.contains("Увійти"), "in the browser's language");

    let wrong_password = sign_in(&app, &client, "anna", "wrong").await;
    assert_eq!(wrong_password.status(), StatusCode::UNAUTHORIZED);
    assert!(!wrong_password.headers().contains_key(SET_COOKIE));
    let wrong_page = wrong_password.text().await.unwrap();
    let unknown_page = sign_in(&app, &client, "nobody", "wrong").await.text().await.unwrap();
    assert_eq!(wrong_page.replace("anna", "nobody"), unknown_page, "the same page for both");

    let from_elsewhere = client
        .post(app.url("/login"))
        .header("Origin", "https://evil.example")
        .form(&[("username", "anna"), ("password", "correct horse 1")])
        .send()
        .await
        .unwrap();
    assert_eq!(from_elsewhere.status(), StatusCode::FORBIDDEN, "a sign-in posted from another site");

    let signed_in = sign_in(&app, &client, "anna", "correct horse 1").await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_in.headers()[LOCATION], "/inbox");
    let set_cookie = signed_in.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set_cookie.contains(flag), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "not on plain http: {set_cookie}");
    let cookie = session_cookie(signed_in.headers());

    let inbox = client.get(app.url("/inbox")).header("Cookie", &cookie).send().await.unwrap();
    assert_eq!(inbox.status(), StatusCode::OK);
    assert_eq!(inbox.headers()["cache-control"], "no-store");
    let html = inbox.text().await.unwrap();
    assert!(html.contains("OT-2026-") || html.contains("OT-20"), "{html}");
    assert!(html.contains("Анна"));
    assert!(html.contains("Жалоба") || html.contains("Не разобрано"), "the kind in the page's language: {html}");
    assert!(!html.contains("<script>alert(1)") && !html.contains("<img src=x"), "escaped: {html}");
    assert!(html.contains("&#60;script&#62;alert(1)"), "escaped, not dropped: {html}");
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();

    let anonymous = client.get(app.url("/inbox")).send().await.unwrap();
    assert_eq!(
        (anonymous.status(), anonymous.headers()[LOCATION].to_str().unwrap()),
        (StatusCode::SEE_OTHER, "/login")
    );
    let home = client.get(app.url("/")).header("Cookie", &cookie).send().await.unwrap();
    assert_eq!(home.headers()[LOCATION], "/inbox");

    // Signing out needs the session's own token: without it, or with another session's, nothing changes.
    let other = session_cookie(sign_in(&app, &client, "anna", "correct horse 1").await.headers());
    let other_html = client.get(app.url("/inbox")).header("Cookie", &other).send().await.unwrap().text().await.unwrap();
    let other_csrf = other_html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert_ne!(other_csrf, csrf);
    for token in ["", other_csrf.as_str()] {
        let refused =
            client.post(app.url("/logout")).header("Cookie", &cookie).form(&[("csrf", token)]).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "token {token:?}");
    }
    let still = client.get(app.url("/inbox")).header("Cookie", &cookie).send().await.unwrap();
    assert_eq!(still.status(), StatusCode::OK, "still signed in");
    let out = client
        .post(app.url("/logout"))
        .header("Cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!((out.status(), out.headers()[LOCATION].to_str().unwrap()), (StatusCode::SEE_OTHER, "/login"));
    assert!(out.headers()[SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    let after = client.get(app.url("/inbox")).header("Cookie", &cookie).send().await.unwrap();
    assert_eq!(after.status(), StatusCode::SEE_OTHER, "the session ended on the server, not just in the browser");
    let kept = client.get(app.url("/inbox")).header("Cookie", &other).send().await.unwrap();
    assert_eq!(kept.status(), StatusCode::OK, "the other session goes on");
    app.finish().await;
}
