//! What admins and managers run: people and their roles, API tokens, and the playbooks in force
//! with a check of a business's own file.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use otklik_app::people::session_actor;
use otklik_app::{Actor, AppError};
use otklik_core::{Kind, Language, Role};
use serde::Deserialize;

use super::desk::{Chrome, Posted, done, given, page, refused, word};
use super::inbox::stage_words;
use super::workspace::SignedIn;
use crate::startup::AppState;

#[derive(Template)]
#[template(path = "people.html")]
struct PeoplePage {
    language: Language,
    chrome: Chrome,
    people: Vec<PersonRow>,
    roles: Vec<(String, String)>,
    /// A link just made, shown once: (username, link).
    link: Option<(String, String)>,
}

struct PersonRow {
    username: String,
    display_name: String,
    email: String,
    role: String,
    active: bool,
}

fn roles(chrome: &Chrome) -> Vec<(String, String)> {
    Role::ALL
        .iter()
        .filter(|role| **role != Role::Intake)
        .map(|role| (role.to_string(), chrome.t(&format!("role-{role}"))))
        .collect()
}

async fn people_page(state: &AppState, chrome: Chrome, actor: &Actor, link: Option<(String, String)>) -> Response {
    let people = match state.app.people(actor).await {
        Ok(people) => people,
        Err(error) => return refused(&chrome, error, None),
    };
    let people = people
        .into_iter()
        .map(|p| PersonRow {
            display_name: p.display_name.unwrap_or_default(),
            email: p.email.unwrap_or_default(),
            role: p.role.to_string(),
            active: p.active,
            username: p.username,
        })
        .collect();
    let roles = roles(&chrome);
    page(StatusCode::OK, &PeoplePage { language: chrome.language, chrome, people, roles, link })
}

/// `GET /people`: everyone who may sign in, with their roles (admins only).
pub(super) async fn people(State(state): State<AppState>, person: SignedIn, headers: HeaderMap) -> Response {
    let chrome = Chrome::new(&person, &headers, &state, "people");
    people_page(&state, chrome, &session_actor(&person.session), None).await
}

#[derive(Deserialize)]
pub(super) struct NewPersonForm {
    username: String,
    display_name: Option<String>,
    role: String,
}

/// `POST /people`: a new person; the page shows the one-time link to set their password.
pub(super) async fn create_person(
    State(state): State<AppState>,
    headers: HeaderMap,
    posted: Posted<NewPersonForm>,
) -> Response {
    let chrome = Chrome::new(&posted.person, &headers, &state, "people");
    let actor = posted.actor();
    let form = &posted.form;
    let role = match word::<Role>("role", Some(form.role.clone())) {
        Ok(Some(role)) if role != Role::Intake => role,
        Ok(_) => return refused(&chrome, AppError::Invalid("role: choose a role".into()), Some("/people".into())),
        Err(error) => return refused(&chrome, error, Some("/people".into())),
    };
    match state.app.create_person(&actor, &form.username, given(form.display_name.clone()), role).await {
        Ok(created) => {
            let link = format!("{}/password/{}", state.app.public_url(), created.link_secret);
            people_page(&state, chrome, &actor, Some((created.user.username, link))).await
        }
        Err(error) => refused(&chrome, error, Some("/people".into())),
    }
}

#[derive(Deserialize)]
pub(super) struct PersonForm {
    /// `save` (role and name), `deactivate`, `activate` or `reset` (a new password link).
    what: String,
    role: Option<String>,
    display_name: Option<String>,
    email: Option<String>,
}

/// `POST /people/{username}`: changes a person.
pub(super) async fn change_person(
    State(state): State<AppState>,
    Path(username): Path<String>,
    headers: HeaderMap,
    posted: Posted<PersonForm>,
) -> Response {
    let chrome = Chrome::new(&posted.person, &headers, &state, "people");
    let actor = posted.actor();
    let form = &posted.form;
    let back = Some("/people".to_owned());
    let outcome = match form.what.as_str() {
        "save" => match word::<Role>("role", form.role.clone()) {
            Ok(role) => {
                let name = form.display_name.clone().map(|n| given(Some(n)));
                let email = form.email.clone().map(|e| given(Some(e)));
                state.app.update_person(&actor, &username, role, name, email).await.map(|_| None)
            }
            Err(error) => Err(error),
        },
        "deactivate" => state.app.set_person_active(&actor, &username, false).await.map(|_| None),
        "activate" => state.app.set_person_active(&actor, &username, true).await.map(|_| None),
        "reset" => state.app.reset_password(&actor, &username).await.map(Some),
        other => Err(AppError::Invalid(format!("what: `{other}` is not save, deactivate, activate or reset"))),
    };
    match outcome {
        Ok(None) => done("/people"),
        Ok(Some(secret)) => {
            let link = format!("{}/password/{secret}", state.app.public_url());
            people_page(&state, chrome, &actor, Some((username, link))).await
        }
        Err(error) => refused(&chrome, error, back),
    }
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    language: Language,
    chrome: Chrome,
    tokens: Vec<TokenRow>,
    roles: Vec<(String, String)>,
    /// A token just made, shown once.
    made: Option<String>,
}

struct TokenRow {
    id: i64,
    name: String,
    role: String,
    person: String,
    created: String,
    revoked: String,
}

async fn tokens_page(state: &AppState, chrome: Chrome, actor: &Actor, made: Option<String>) -> Response {
    let tokens = match state.app.tokens(actor).await {
        Ok(tokens) => tokens,
        Err(error) => return refused(&chrome, error, None),
    };
    let tokens = tokens
        .into_iter()
        .map(|t| TokenRow {
            id: t.record.id,
            name: t.record.name,
            role: t.record.role.to_string(),
            person: t.record.user.unwrap_or_default(),
            created: chrome.when(t.created_at),
            revoked: t.revoked_at.map(|at| chrome.when(at)).unwrap_or_default(),
        })
        .collect();
    let roles = Role::ALL.iter().map(|role| (role.to_string(), chrome.t(&format!("role-{role}")))).collect();
    page(StatusCode::OK, &TokensPage { language: chrome.language, chrome, tokens, roles, made })
}

/// `GET /tokens`: API tokens (admins only).
pub(super) async fn tokens(State(state): State<AppState>, person: SignedIn, headers: HeaderMap) -> Response {
    let chrome = Chrome::new(&person, &headers, &state, "tokens");
    tokens_page(&state, chrome, &session_actor(&person.session), None).await
}

#[derive(Deserialize)]
pub(super) struct NewTokenForm {
    name: String,
    role: String,
    person: Option<String>,
}

/// `POST /tokens`: a new token, shown once on the page that answers.
pub(super) async fn create_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    posted: Posted<NewTokenForm>,
) -> Response {
    let chrome = Chrome::new(&posted.person, &headers, &state, "tokens");
    let actor = posted.actor();
    let form = &posted.form;
    let role = match word::<Role>("role", Some(form.role.clone())) {
        Ok(Some(role)) => role,
        Ok(None) => return refused(&chrome, AppError::Invalid("role: choose a role".into()), Some("/tokens".into())),
        Err(error) => return refused(&chrome, error, Some("/tokens".into())),
    };
    match state.app.create_token(&actor, &form.name, role, given(form.person.clone())).await {
        Ok((_, token)) => tokens_page(&state, chrome, &actor, Some(token)).await,
        Err(error) => refused(&chrome, error, Some("/tokens".into())),
    }
}

#[derive(Deserialize)]
pub(super) struct RevokeForm {}

/// `POST /tokens/{id}/revoke`.
pub(super) async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    posted: Posted<RevokeForm>,
) -> Response {
    let chrome = Chrome::new(&posted.person, &headers, &state, "tokens");
    match state.app.revoke_token(&posted.actor(), id).await {
        Ok(_) => done("/tokens"),
        Err(error) => refused(&chrome, error, Some("/tokens".into())),
    }
}

#[derive(Template)]
#[template(path = "playbooks.html")]
struct PlaybooksPage {
    language: Language,
    chrome: Chrome,
    playbooks: Vec<PlaybookView>,
    time_zone: String,
    targets: Vec<String>,
    source: String,
    /// The outcome of checking an uploaded file: fine (a summary) or its mistakes by line.
    verdict: Option<Verdict>,
}

struct PlaybookView {
    kind: String,
    stages: Vec<String>,
    actions: Vec<[String; 6]>,
}

struct Verdict {
    fine: Option<String>,
    mistakes: Vec<(usize, String, String)>,
}

fn view(chrome: &Chrome, workflow: &otklik_core::Workflow) -> (Vec<PlaybookView>, Vec<String>) {
    let list = |items: Vec<String>| items.join(", ");
    let playbooks = Kind::ALL
        .iter()
        .map(|kind| {
            let playbook = workflow.playbooks.get(*kind);
            PlaybookView {
                kind: chrome.t(&format!("kind-{kind}")),
                stages: playbook.stages.iter().map(|s| stage_words(chrome, &s.name)).collect(),
                actions: playbook
                    .actions
                    .iter()
                    .map(|a| {
                        [
                            a.name.clone(),
                            match &a.from {
                                otklik_core::StageSet::AnyOpen => "*".to_owned(),
                                otklik_core::StageSet::Only(names) => names.join(", "),
                            },
                            a.to.clone().unwrap_or_default(),
                            list(a.roles.iter().map(|r| r.to_string()).collect()),
                            list(a.requires.iter().map(|r| r.to_string()).collect()),
                            a.emits.clone().unwrap_or_default(),
                        ]
                    })
                    .collect(),
            }
        })
        .collect();
    let targets = workflow
        .deadlines
        .rules
        .iter()
        .map(|rule| {
            let scope = [
                rule.kind.map(|k| k.to_string()),
                rule.priority.map(|p| p.to_string()),
                rule.public.map(|p| if p { "public".to_owned() } else { "private".to_owned() }),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · ");
            let first = rule.first_response.as_ref().map(|t| target_words(chrome, t)).unwrap_or_default();
            let resolution = rule.resolution.as_ref().map(|t| target_words(chrome, t)).unwrap_or_default();
            format!(
                "{}: {} {first}; {} {resolution}",
                if scope.is_empty() { "*".into() } else { scope },
                chrome.t("milestone-first_response"),
                chrome.t("milestone-resolution")
            )
        })
        .collect();
    (playbooks, targets)
}

/// A deadline target in words: `4 h (business hours)`.
fn target_words(chrome: &Chrome, target: &otklik_core::Target) -> String {
    let minutes = target.within.whole_minutes();
    let amount = if minutes % 60 == 0 { format!("{} h", minutes / 60) } else { format!("{minutes} min") };
    let hours = match target.hours {
        otklik_core::Hours::Business => chrome.t("playbooks-business-hours"),
        otklik_core::Hours::Calendar => chrome.t("playbooks-calendar-hours"),
    };
    format!("{amount} ({hours})")
}

async fn playbooks_page(
    state: &AppState,
    chrome: Chrome,
    actor: &Actor,
    source: String,
    verdict: Option<Verdict>,
) -> Response {
    let workflow = match state.app.workflow_in_force(actor) {
        Ok(workflow) => workflow,
        Err(error) => return refused(&chrome, error, None),
    };
    let (playbooks, targets) = view(&chrome, workflow);
    let time_zone = workflow.deadlines.calendar.time_zone().to_owned();
    let status = if verdict.as_ref().is_some_and(|v| v.fine.is_none()) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page(status, &PlaybooksPage { language: chrome.language, chrome, playbooks, time_zone, targets, source, verdict })
}

/// `GET /playbooks`: the playbooks, business hours and deadlines in force.
pub(super) async fn playbooks(State(state): State<AppState>, person: SignedIn, headers: HeaderMap) -> Response {
    let chrome = Chrome::new(&person, &headers, &state, "playbooks");
    playbooks_page(&state, chrome, &session_actor(&person.session), String::new(), None).await
}

#[derive(Deserialize)]
pub(super) struct CheckForm {
    source: String,
}

/// `POST /playbooks/check`: checks a business's own file line by line (nothing is changed).
pub(super) async fn check(State(state): State<AppState>, headers: HeaderMap, posted: Posted<CheckForm>) -> Response {
    let chrome = Chrome::new(&posted.person, &headers, &state, "playbooks");
    let actor = posted.actor();
    let source = posted.form.source.clone();
    let verdict = match state.app.check_workflow(&actor, &source) {
        Ok(Ok(workflow)) => {
            let actions: usize = Kind::ALL.iter().map(|kind| workflow.playbooks.get(*kind).actions.len()).sum();
            let summary = format!(
                "{} — {} {actions}, {} {}",
                chrome.t("playbooks-fine"),
                chrome.t("playbooks-actions"),
                chrome.t("playbooks-targets"),
                workflow.deadlines.rules.len()
            );
            Verdict { fine: Some(summary), mistakes: Vec::new() }
        }
        Ok(Err(errors)) => Verdict {
            fine: None,
            mistakes: errors
                .0
                .into_iter()
                .map(|e| {
                    (e.line, source.lines().nth(e.line.saturating_sub(1)).unwrap_or_default().to_owned(), e.message)
                })
                .collect(),
        },
        Err(error) => return refused(&chrome, error, None),
    };
    playbooks_page(&state, chrome, &actor, source, Some(verdict)).await
}

#[derive(Template)]
#[template(path = "locations.html")]
struct LocationsPage {
    language: Language,
    chrome: Chrome,
    locations: Vec<LocationRow>,
    may_manage: bool,
    /// Locations written on cases that name none: the text and how many cases.
    unmatched: Vec<(String, i64)>,
}

struct LocationRow {
    slug: String,
    name: String,
    address: String,
    time_zone: String,
    hours: String,
    active: bool,
    form_url: String,
}

/// `GET /locations`: the business's locations and their complaint books.
pub(super) async fn locations(State(state): State<AppState>, person: SignedIn, headers: HeaderMap) -> Response {
    let chrome = Chrome::new(&person, &headers, &state, "locations");
    let actor = session_actor(&person.session);
    let found = match state.app.locations(&actor).await {
        Ok(found) => found,
        Err(error) => return refused(&chrome, error, None),
    };
    let locations = found
        .into_iter()
        .map(|l| LocationRow {
            form_url: format!("{}/f/{}", state.app.public_url(), l.slug),
            slug: l.slug,
            name: l.name,
            address: l.address.unwrap_or_default(),
            time_zone: l.time_zone.unwrap_or_default(),
            hours: l.hours.unwrap_or_default(),
            active: l.active,
        })
        .collect();
    let may_manage = chrome.can("manage_locations");
    let unmatched = if may_manage {
        match state.app.unmatched_locations(&actor).await {
            Ok(found) => found,
            Err(error) => return refused(&chrome, error, None),
        }
    } else {
        Vec::new()
    };
    page(StatusCode::OK, &LocationsPage { language: chrome.language, chrome, locations, may_manage, unmatched })
}

#[derive(Deserialize)]
pub(super) struct NewLocationForm {
    slug: String,
    name: String,
    address: Option<String>,
    time_zone: Option<String>,
    hours: Option<String>,
}

/// `POST /locations`: a new location.
pub(super) async fn create_location(
    State(state): State<AppState>,
    headers: HeaderMap,
    posted: Posted<NewLocationForm>,
) -> Response {
    let chrome = Chrome::new(&posted.person, &headers, &state, "locations");
    let form = &posted.form;
    let new = otklik_app::locations::NewLocation {
        slug: form.slug.clone(),
        name: form.name.clone(),
        address: given(form.address.clone()),
        time_zone: given(form.time_zone.clone()),
        hours: given(form.hours.clone()),
    };
    match state.app.create_location(&posted.actor(), new).await {
        Ok(_) => done("/locations"),
        Err(error) => refused(&chrome, error, Some("/locations".into())),
    }
}

#[derive(Deserialize)]
pub(super) struct LocationForm {
    /// `open` or `close` its book.
    what: String,
}

/// `POST /locations/{slug}`: opens or closes a location's book.
pub(super) async fn change_location(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    posted: Posted<LocationForm>,
) -> Response {
    let chrome = Chrome::new(&posted.person, &headers, &state, "locations");
    let active = match posted.form.what.as_str() {
        "open" => true,
        "close" => false,
        other => {
            let error = AppError::Invalid(format!("what: `{other}` is not open or close"));
            return refused(&chrome, error, Some("/locations".into()));
        }
    };
    let patch = otklik_store::LocationPatch { active: Some(active), ..Default::default() };
    match state.app.update_location(&posted.actor(), &slug, patch).await {
        Ok(_) => done("/locations"),
        Err(error) => refused(&chrome, error, Some("/locations".into())),
    }
}

#[derive(Deserialize)]
pub(super) struct MatchForm {
    text: String,
    slug: String,
}

/// `POST /locations/match`: gives the cases with a location written as `text` the location `slug`.
pub(super) async fn match_location(
    State(state): State<AppState>,
    headers: HeaderMap,
    posted: Posted<MatchForm>,
) -> Response {
    let chrome = Chrome::new(&posted.person, &headers, &state, "locations");
    match state.app.match_location(&posted.actor(), &posted.form.text, &posted.form.slug).await {
        Ok(_) => done("/locations"),
        Err(error) => refused(&chrome, error, Some("/locations".into())),
    }
}
