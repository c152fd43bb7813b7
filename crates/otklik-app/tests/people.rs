//! People and sessions through the application layer, on a real SQLite database: signing in and
//! out, the same answer for a wrong name and a wrong password, the per-account limit, password
//! changes and one-time links, and an admin's management of people.

use std::sync::{Arc, Mutex};

use otklik_app::people::{MIN_PASSWORD_CHARS, SESSION_LIFETIME, hash_password};
use otklik_app::{Actor, App, AppError, TriageModel};
use otklik_core::standard::Rules;
use otklik_core::{Clock, Role, Workflow};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

struct ManualClock(Mutex<OffsetDateTime>);

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

async fn app(dir: &tempfile::TempDir) -> (App, Arc<ManualClock>) {
    let url = format!("sqlite://{}", dir.path().join("otklik.db").display());
    let store = otklik_store::open(&url, &otklik_store::OpenOptions::default()).await.unwrap();
    let clock = Arc::new(ManualClock(Mutex::new(datetime!(2026-11-30 10:00 UTC))));
    let triage = Arc::new(TriageModel::open(dir.path().join("no-model-file")));
    let app = App::new(
        store,
        clock.clone(),
        triage,
        Arc::new(Workflow::builtin()),
        Arc::new(Rules::builtin()),
        "http://127.0.0.1:8080",
    );
    (app, clock)
}

fn admin() -> Actor {
    Actor { name: "admin".into(), role: Role::Admin, scope: "user:1".into(), person: Some("admin".into()) }
}

#[tokio::test]
async fn a_person_signs_in_and_out_and_a_wrong_name_answers_like_a_wrong_password() {
    let dir = tempfile::tempdir().unwrap();
    let (app, clock) = app(&dir).await;
    let now = clock.now();
    app.store.create_user("olga", None, Role::Agent, &hash_password("correct horse 1").unwrap(), now).await.unwrap();

    let signed_in = app.sign_in("olga", "correct horse 1", "10.0.0.1").await.expect("signs in");
    assert_eq!(signed_in.session.user.username, "olga");
    assert_eq!(signed_in.session.expires_at, now + SESSION_LIFETIME);
    let session = app.session(&signed_in.secret).await.unwrap().expect("the cookie names a session");
    assert_eq!(session.csrf_token, signed_in.session.csrf_token);
    assert!(app.session("forged-secret").await.unwrap().is_none());

    let wrong_password = app.sign_in("olga", "wrong", "10.0.0.1").await.unwrap_err();
    let unknown_name = app.sign_in("nobody", "wrong", "10.0.0.1").await.unwrap_err();
    assert_eq!(wrong_password.to_string(), unknown_name.to_string(), "the same answer for both");
    assert!(matches!(unknown_name, AppError::Unauthenticated(_)));

    *clock.0.lock().unwrap() = now + SESSION_LIFETIME;
    assert!(app.session(&signed_in.secret).await.unwrap().is_none(), "a session ends with its lifetime");
    *clock.0.lock().unwrap() = now;
    app.sign_out(&signed_in.secret).await.unwrap();
    assert!(app.session(&signed_in.secret).await.unwrap().is_none(), "signed out");
}

#[tokio::test]
async fn sign_in_attempts_are_limited_per_account() {
    let dir = tempfile::tempdir().unwrap();
    let (app, clock) = app(&dir).await;
    app.store
        .create_user("olga", None, Role::Agent, &hash_password("correct horse 1").unwrap(), clock.now())
        .await
        .unwrap();
    let mut throttled = 0;
    for attempt in 0..8 {
        // From another address each time: the account's own limit holds.
        match app.sign_in("olga", "guess", &format!("10.0.1.{attempt}")).await {
            Err(AppError::Throttled(_)) => throttled += 1,
            Err(AppError::Unauthenticated(_)) => {}
            other => panic!("attempt {attempt}: {other:?}"),
        }
    }
    assert_eq!(throttled, 3, "five attempts a minute, then refused before any check");
    let right_but_throttled = app.sign_in("olga", "correct horse 1", "10.0.2.1").await;
    assert!(matches!(right_but_throttled, Err(AppError::Throttled(_))));
}

#[tokio::test]
async fn an_admin_creates_a_person_who_sets_a_password_once_and_can_be_deactivated() {
    let dir = tempfile::tempdir().unwrap();
    let (app, clock) = app(&dir).await;
    let agent = Actor { name: "olga".into(), role: Role::Agent, scope: "user:2".into(), person: Some("olga".into()) };
    assert!(matches!(app.create_person(&agent, "ivan", None, Role::Executor).await, Err(AppError::Forbidden(_))));

    let new = app.create_person(&admin(), "ivan", Some("Иван".into()), Role::Executor).await.unwrap();
    assert_eq!((new.user.role, new.user.active), (Role::Executor, true));
    assert!(app.sign_in("ivan", "", "10.0.0.9").await.is_err(), "no password works before the link is used");
    let conflict = app.create_person(&admin(), "ivan", None, Role::Agent).await.unwrap_err();
    assert!(matches!(conflict, AppError::Conflict { .. }), "{conflict}");
    assert!(matches!(app.create_person(&admin(), "a b", None, Role::Agent).await, Err(AppError::Invalid(_))));

    let short = "x".repeat(MIN_PASSWORD_CHARS - 1);
    assert!(matches!(app.set_password_with_link(&new.link_secret, &short).await, Err(AppError::Invalid(_))));
    assert_eq!(app.set_password_with_link(&new.link_secret, "a long new password").await.unwrap(), "ivan");
    let reused = app.set_password_with_link(&new.link_secret, "another password 2").await.unwrap_err();
    assert!(matches!(reused, AppError::NotFound(_)), "a link works once");
    let ivan = app.sign_in("ivan", "a long new password", "10.0.0.9").await.expect("the password set works");

    // A password change needs the current one and ends the person's other sessions.
    let other = app.sign_in("ivan", "a long new password", "10.0.0.9").await.unwrap();
    let wrong = app.change_password(&ivan.secret, "not it", "the newest password").await.unwrap_err();
    assert!(matches!(wrong, AppError::Invalid(_)));
    app.change_password(&ivan.secret, "a long new password", "the newest password").await.unwrap();
    assert!(app.session(&ivan.secret).await.unwrap().is_some(), "the session that changed it stays");
    assert!(app.session(&other.secret).await.unwrap().is_none(), "the others end");

    // A reset link expires.
    let reset = app.reset_password(&admin(), "ivan").await.unwrap();
    *clock.0.lock().unwrap() = clock.now() + Duration::hours(73);
    assert!(app.set_password_with_link(&reset, "too late password").await.is_err());

    // Deactivated: signed out everywhere and refused, with the same answer as a wrong password.
    assert!(!app.set_person_active(&admin(), "ivan", false).await.unwrap().active);
    assert!(app.session(&ivan.secret).await.unwrap().is_none());
    let refused = app.sign_in("ivan", "the newest password", "10.0.0.10").await.unwrap_err();
    assert!(matches!(refused, AppError::Unauthenticated(_)));
    let admin_self = app.set_person_active(&admin(), "admin", false).await.unwrap_err();
    assert!(matches!(admin_self, AppError::Conflict { .. }), "an admin cannot lock themself out");
    let names: Vec<String> = app.people(&admin()).await.unwrap().into_iter().map(|user| user.username).collect();
    assert_eq!(names, ["ivan"]);
}
