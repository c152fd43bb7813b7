//! The one storage test suite, run against both backends: every behaviour below is checked on a
//! fresh SQLite file and on a fresh PostgreSQL schema. Under CI (`CI=true`) PostgreSQL must be
//! reachable; elsewhere its half is skipped with a message when it is not.

mod support;

use std::sync::Arc;

use otklik_core::{
    CaseFilter, CasePatch, Channel, Cursor, Direction, Identity, Kind, NewCustomer, NewFeedback, NewMessage, Priority,
    Role, Status,
};
use otklik_store::{IdempotencyKey, OpenOptions, Stamp, Store, StoreError, Watched};
use support::postgres::TestSchema;
use time::OffsetDateTime;
use time::macros::datetime;

/// A store under test and what must be cleaned up after it.
struct Backend {
    store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
    schema: Option<TestSchema>,
}

impl Backend {
    async fn finish(self) {
        if let Some(schema) = self.schema {
            drop(self.store);
            schema.drop().await;
        }
    }
}

async fn sqlite() -> Option<Backend> {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("otklik.db").display());
    let store = otklik_store::open(&url, &OpenOptions::default()).await.expect("open sqlite");
    Some(Backend { store, _dir: Some(dir), schema: None })
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

async fn postgres() -> Option<Backend> {
    let schema = TestSchema::fresh().await?;
    let store = otklik_store::open(&schema.url, &schema.options()).await.expect("open postgres");
    Some(Backend { store, _dir: None, schema: Some(schema) })
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite_backend {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let backend = super::sqlite().await.expect("sqlite is always available");
                super::$name(backend.store.clone()).await;
                backend.finish().await;
            })*
        }
        mod postgres_backend {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(backend) = super::postgres().await else { return };
                super::$name(backend.store.clone()).await;
                backend.finish().await;
            })*
        }
    };
}

on_both_backends!(
    submit_creates_case_customer_message_and_event,
    customer_is_found_again_by_any_identity,
    idempotency_key_returns_the_existing_case,
    idempotency_key_with_another_body_is_refused,
    external_id_redelivery_returns_the_existing_case,
    concurrent_duplicates_create_one_case,
    search_finds_russian_ukrainian_and_english_word_forms,
    search_ranks_and_filters_and_pages,
    listing_is_newest_first_with_cursor_and_filters,
    patch_records_one_event_per_changed_field,
    patch_with_unknown_assignee_changes_nothing,
    message_is_appended_searchable_and_recorded,
    hidden_cases_leave_listings_but_stay_readable,
    customer_shows_cases_across_channels,
    tokens_and_users_are_found_by_hash_and_name,
    import_writes_a_batch_in_one_go,
    corrected_cases_become_training_rows,
    a_common_word_ranks_the_newest_matches,
    a_step_is_stored_with_what_it_causes_and_a_stale_one_is_refused,
    a_due_job_is_claimed_by_one_worker_and_retried_after_a_failure,
    a_deadline_mark_is_recorded_once,
    an_outbox_message_is_claimed_once_retried_and_sent,
    a_returning_customers_complaints_are_counted,
    a_customer_made_vip_gets_the_vip_priority,
    a_complaints_cause_is_stored_and_corrected,
    a_reply_is_the_first_response_and_a_note_is_not,
    a_status_set_by_hand_keeps_resolved_at_and_the_watch_in_step,
    a_sources_external_ids_are_its_own_and_a_reused_one_with_another_text_is_refused,
    a_token_belongs_to_a_person_or_to_no_one_and_is_listed_and_revoked,
    a_notification_for_a_role_never_reaches_a_person_named_like_it,
    a_case_is_found_by_its_status_link_secret_only,
    identities_from_an_unvouched_source_never_join_or_overwrite_a_known_customer,
    many_submissions_at_once_from_the_same_customers_join_them,
    an_import_that_names_a_customer_twice_makes_one_customer,
    a_refused_submission_among_many_at_once_fails_alone,
    a_session_lives_in_the_database_until_it_expires_or_its_person_leaves,
    a_password_link_works_once_and_not_after_it_expires,
    the_inbox_queues_by_deadline_risk_stage_and_priority,
    locations_are_made_listed_changed_and_their_slugs_unique,
    a_setting_is_made_once_and_shared,
);

const T0: OffsetDateTime = datetime!(2026-11-23 10:00 UTC);

fn stamp(at: OffsetDateTime) -> Stamp {
    Stamp { at, actor: "test".into() }
}

fn feedback(text: &str) -> NewFeedback {
    NewFeedback {
        channel: Channel::Web,
        subject: None,
        text: text.into(),
        customer: NewCustomer::default(),
        location: None,
        product: None,
        public: false,
        kind: Kind::Unclassified,
        stage: "new".parse().unwrap(),
        status: otklik_core::Status::New,
        cause: None,
        sentiment: None,
        audience: otklik_core::Audience::None,
        hidden: false,
        language: None,
        priority: Priority::Normal,
        external_id: None,
        thread_key: None,
        source: String::new(),
        vouched: false,
        watch_at: None,
        due_at: None,
        acknowledge: None,
        returning: None,
    }
}

fn with_email(mut feedback: NewFeedback, email: &str) -> NewFeedback {
    feedback.customer.identities.push(Identity::email(email).unwrap());
    feedback
}

fn token(n: u32) -> String {
    format!("status-token-{n:04}-{:016x}", rand_u64())
}

fn key(key: &str, digest: &str) -> Option<IdempotencyKey> {
    Some(IdempotencyKey { scope: "token:1".into(), key: key.into(), body_digest: digest.into() })
}

async fn submit(store: &Arc<dyn Store>, feedback: NewFeedback) -> otklik_core::Case {
    store.submit_feedback(feedback, token(0), None, stamp(T0)).await.expect("submit").case
}

async fn search(store: &Arc<dyn Store>, query: &str) -> Vec<String> {
    let filter = CaseFilter { query: Some(query.into()), limit: 50, ..CaseFilter::default() };
    let page = store.list_cases(&filter).await.expect("search");
    let mut subjects: Vec<String> = page.items.into_iter().filter_map(|c| c.subject).collect();
    subjects.sort();
    subjects
}

async fn submit_creates_case_customer_message_and_event(store: Arc<dyn Store>) {
    let mut new = with_email(feedback("Курьер опоздал на два часа"), "anna@example.com");
    new.customer.name = Some("Анна".into());
    new.location = Some("Тверская, 1".into());
    let status_token = token(1);
    let submitted = store.submit_feedback(new, status_token.clone(), None, stamp(T0)).await.unwrap();
    assert!(submitted.created);
    let detail = store.case(submitted.case.id).await.unwrap();
    assert_eq!(detail.case, submitted.case);
    assert_eq!(detail.case.status, Status::New);
    assert_eq!(detail.case.status_token, status_token);
    assert_eq!(detail.case.reference().to_string(), format!("OT-2026-{:06}", detail.case.id));
    assert_eq!(detail.customer.name.as_deref(), Some("Анна"));
    assert_eq!(detail.messages.len(), 1);
    assert_eq!(detail.messages[0].direction, Direction::Inbound);
    assert_eq!(detail.messages[0].body, "Курьер опоздал на два часа");
    assert_eq!(detail.events.len(), 1);
    assert_eq!(detail.events[0].action, "created");
    assert_eq!(detail.events[0].at, T0);
}

async fn customer_is_found_again_by_any_identity(store: Arc<dyn Store>) {
    let first = submit(&store, with_email(feedback("one"), "anna@example.com")).await;
    let mut second = with_email(feedback("two"), "ANNA@example.com");
    second.customer.identities.push(Identity::phone("+7 912 345 67 89").unwrap());
    second.channel = Channel::Sms;
    second.vouched = true;
    let second = submit(&store, second).await;
    assert_eq!(first.customer_id, second.customer_id);
    let mut third = feedback("three");
    third.customer.identities.push(Identity::phone("+79123456789").unwrap());
    third.customer.followers = Some(5000);
    let third = submit(&store, third).await;
    assert_eq!(third.customer_id, first.customer_id);
    let customer = store.customer(first.customer_id).await.unwrap().customer;
    assert_eq!(customer.identities.len(), 2);
    assert_eq!(customer.followers, Some(5000));
    let stranger = submit(&store, feedback("anonymous")).await;
    assert_ne!(stranger.customer_id, first.customer_id);
}

async fn idempotency_key_returns_the_existing_case(store: Arc<dyn Store>) {
    let first = store.submit_feedback(feedback("a"), token(1), key("k1", "d1"), stamp(T0)).await.unwrap();
    let again = store.submit_feedback(feedback("a"), token(2), key("k1", "d1"), stamp(T0)).await.unwrap();
    assert!(first.created);
    assert!(!again.created);
    assert_eq!(again.case, first.case);
    let all = store.list_cases(&CaseFilter { limit: 10, ..CaseFilter::default() }).await.unwrap();
    assert_eq!(all.items.len(), 1);
}

async fn idempotency_key_with_another_body_is_refused(store: Arc<dyn Store>) {
    store.submit_feedback(feedback("a"), token(1), key("k1", "d1"), stamp(T0)).await.unwrap();
    let error = store.submit_feedback(feedback("b"), token(2), key("k1", "d2"), stamp(T0)).await.unwrap_err();
    assert!(matches!(error, StoreError::IdempotencyMismatch), "{error}");
    let all = store.list_cases(&CaseFilter { limit: 10, ..CaseFilter::default() }).await.unwrap();
    assert_eq!(all.items.len(), 1);
}

async fn external_id_redelivery_returns_the_existing_case(store: Arc<dyn Store>) {
    let mut tweet = feedback("bad service");
    tweet.channel = Channel::Social;
    tweet.external_id = Some("tweet-1".into());
    let first = store.submit_feedback(tweet.clone(), token(1), None, stamp(T0)).await.unwrap();
    let again = store.submit_feedback(tweet.clone(), token(2), None, stamp(T0)).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.case.id, first.case.id);
    tweet.channel = Channel::Review;
    let other_channel = store.submit_feedback(tweet, token(3), None, stamp(T0)).await.unwrap();
    assert!(other_channel.created, "the same external id on another channel is another item");
}

async fn concurrent_duplicates_create_one_case(store: Arc<dyn Store>) {
    let mut tasks = Vec::new();
    for n in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut item = with_email(feedback("same message"), "dup@example.com");
            item.external_id = Some("ext-1".into());
            let idempotency = if n % 2 == 0 { key("dup", "d") } else { None };
            store.submit_feedback(item, token(n), idempotency, stamp(T0)).await
        }));
    }
    let mut ids = Vec::new();
    let mut created = 0;
    for task in tasks {
        let submitted = task.await.unwrap().expect("every duplicate is answered");
        created += usize::from(submitted.created);
        ids.push(submitted.case.id);
    }
    assert_eq!(created, 1);
    ids.dedup();
    assert_eq!(ids.len(), 1);
    let all = store.list_cases(&CaseFilter { limit: 50, ..CaseFilter::default() }).await.unwrap();
    assert_eq!(all.items.len(), 1);
}

async fn submit_with_subject(store: &Arc<dyn Store>, subject: &str, text: &str) -> otklik_core::Case {
    let mut item = feedback(text);
    item.subject = Some(subject.into());
    submit(store, item).await
}

async fn search_finds_russian_ukrainian_and_english_word_forms(store: Arc<dyn Store>) {
    submit_with_subject(&store, "ru", "Это уже третья жалоба на вашу доставку").await;
    submit_with_subject(&store, "uk", "Де моє замовлення? Скарги на доставку ігноруєте").await;
    submit_with_subject(&store, "en", "The parcel was delivered to the wrong address").await;
    submit_with_subject(&store, "other", "Спасибо за вежливого консультанта").await;
    assert_eq!(search(&store, "жалобы").await, ["ru"]);
    assert_eq!(search(&store, "доставка").await, ["ru", "uk"]);
    assert_eq!(search(&store, "скарга").await, ["uk"]);
    assert_eq!(search(&store, "скаргу").await, ["uk"]);
    assert_eq!(search(&store, "доставкою").await, ["ru", "uk"]);
    assert_eq!(search(&store, "delivering").await, ["en"]);
    assert_eq!(search(&store, "address").await, ["en"]);
    assert_eq!(search(&store, "жалоба доставка").await, ["ru"], "all words must match");
    assert!(search(&store, "холодильник").await.is_empty());
    assert!(search(&store, "!!! ...").await.is_empty());
}

async fn search_ranks_and_filters_and_pages(store: Arc<dyn Store>) {
    submit_with_subject(&store, "once", "Пицца была холодной, курьер вежливый, но упаковка порвана и соус пролит")
        .await;
    submit_with_subject(&store, "thrice", "Холодная пицца. Опять холодная! Всегда холодная").await;
    let ranked = store
        .list_cases(&CaseFilter { query: Some("холодный".into()), limit: 10, ..CaseFilter::default() })
        .await
        .unwrap();
    let order: Vec<_> = ranked.items.iter().filter_map(|c| c.subject.clone()).collect();
    assert_eq!(order, ["thrice", "once"]);

    for n in 0..5 {
        let mut item = feedback("Пицца снова опоздала");
        item.subject = Some(format!("late {n}"));
        item.channel = if n % 2 == 0 { Channel::Telegram } else { Channel::Email };
        item.kind = Kind::Complaint;
        submit(&store, item).await;
    }
    let telegram =
        CaseFilter {
            query: Some("пиццы".into()), channel: Some(Channel::Telegram), limit: 2, ..CaseFilter::default()
        };
    let first = store.list_cases(&telegram).await.unwrap();
    assert_eq!(first.items.len(), 2);
    assert_eq!(first.next_cursor, Some(Cursor::Offset(2)));
    let second = store.list_cases(&CaseFilter { cursor: first.next_cursor, ..telegram.clone() }).await.unwrap();
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.next_cursor, None);
    assert!(first.items.iter().chain(&second.items).all(|c| c.channel == Channel::Telegram));
    let complaints =
        CaseFilter {
            query: Some("пицца".into()), kind: Some(Kind::Complaint), limit: 50, ..CaseFilter::default()
        };
    assert_eq!(store.list_cases(&complaints).await.unwrap().items.len(), 5);
}

async fn listing_is_newest_first_with_cursor_and_filters(store: Arc<dyn Store>) {
    let mut ids = Vec::new();
    for day in 0..5 {
        let mut item = feedback(&format!("item {day}"));
        item.location = Some(if day < 3 { "north" } else { "south" }.into());
        let at = T0 + time::Duration::days(day);
        ids.push(store.submit_feedback(item, token(day as u32), None, stamp(at)).await.unwrap().case.id);
    }
    let first = store.list_cases(&CaseFilter { limit: 3, ..CaseFilter::default() }).await.unwrap();
    assert_eq!(first.items.iter().map(|c| c.id).collect::<Vec<_>>(), [ids[4], ids[3], ids[2]]);
    let rest =
        store.list_cases(&CaseFilter { limit: 3, cursor: first.next_cursor, ..CaseFilter::default() }).await.unwrap();
    assert_eq!(rest.items.iter().map(|c| c.id).collect::<Vec<_>>(), [ids[1], ids[0]]);
    assert_eq!(rest.next_cursor, None);
    let north = CaseFilter { location: Some("north".into()), limit: 10, ..CaseFilter::default() };
    assert_eq!(store.list_cases(&north).await.unwrap().items.len(), 3);
    let window = CaseFilter {
        created_from: Some(T0 + time::Duration::days(1)),
        created_to: Some(T0 + time::Duration::days(3)),
        limit: 10,
        ..CaseFilter::default()
    };
    let in_window: Vec<_> = store.list_cases(&window).await.unwrap().items.iter().map(|c| c.id).collect();
    assert_eq!(in_window, [ids[2], ids[1]]);
    let wrong_cursor = CaseFilter { cursor: Some(Cursor::Offset(3)), limit: 3, ..CaseFilter::default() };
    assert!(matches!(store.list_cases(&wrong_cursor).await, Err(StoreError::Invalid(_))));
}

async fn patch_records_one_event_per_changed_field(store: Arc<dyn Store>) {
    store.create_user("olga", Some("Ольга"), Role::Agent, "hash", T0).await.unwrap();
    let case = submit(&store, feedback("text")).await;
    let patch = CasePatch {
        kind: Some(Kind::Complaint),
        priority: Some(Priority::Normal),
        assignee: Some(Some("olga".into())),
        tags: Some(vec!["delivery".into(), "late".into()]),
        ..CasePatch::default()
    };
    let later = T0 + time::Duration::minutes(5);
    let detail = store.update_case(case.id, &patch, stamp(later)).await.unwrap();
    assert_eq!(detail.case.kind, Kind::Complaint);
    assert_eq!(detail.case.assignee.as_deref(), Some("olga"));
    assert_eq!(detail.case.tags, ["delivery", "late"]);
    assert_eq!(detail.case.updated_at, later);
    let changed: Vec<_> = detail.events.iter().filter(|e| e.action == "changed").collect();
    let fields: Vec<_> = changed.iter().filter_map(|e| e.field.as_deref()).collect();
    assert_eq!(fields, ["kind", "assignee", "tags"], "priority was already normal");
    assert_eq!(changed[0].old_value.as_deref(), Some("unclassified"));
    assert_eq!(changed[0].new_value.as_deref(), Some("complaint"));
    let again = store.update_case(case.id, &patch, stamp(later)).await.unwrap();
    assert_eq!(again.events.len(), detail.events.len(), "an unchanged patch writes no events");
}

async fn patch_with_unknown_assignee_changes_nothing(store: Arc<dyn Store>) {
    let case = submit(&store, feedback("text")).await;
    let patch = CasePatch { kind: Some(Kind::Idea), assignee: Some(Some("nobody".into())), ..CasePatch::default() };
    let error = store.update_case(case.id, &patch, stamp(T0)).await.unwrap_err();
    assert!(matches!(error, StoreError::Invalid(ref m) if m.contains("nobody")), "{error}");
    let detail = store.case(case.id).await.unwrap();
    assert_eq!(detail.case.kind, Kind::Unclassified);
    assert_eq!(detail.events.len(), 1);
    let missing = store.update_case(case.id + 1000, &CasePatch::default(), stamp(T0)).await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound("case")));
}

async fn message_is_appended_searchable_and_recorded(store: Arc<dyn Store>) {
    let case = submit_with_subject(&store, "c", "Где мой заказ?").await;
    let reply = NewMessage {
        direction: Direction::Outbound,
        public: true,
        channel: Channel::Web,
        body: "Приносим извинения, курьер приедет сегодня до 18:00".into(),
        external_id: None,
        overridden: Vec::new(),
    };
    let later = T0 + time::Duration::hours(1);
    let message = store.add_message(case.id, reply, Stamp { at: later, actor: "olga".into() }).await.unwrap();
    assert_eq!(message.author, "olga");
    let detail = store.case(case.id).await.unwrap();
    assert_eq!(detail.messages.len(), 2);
    assert_eq!(detail.messages[1], message);
    assert_eq!(detail.events.last().map(|e| e.action.as_str()), Some("message_added"));
    assert_eq!(detail.case.updated_at, later);
    assert_eq!(search(&store, "курьеры").await, ["c"]);
    assert_eq!(search(&store, "заказа").await, ["c"]);
    let note = NewMessage {
        direction: Direction::Note,
        public: false,
        channel: Channel::Web,
        body: "x".into(),
        external_id: None,
        overridden: Vec::new(),
    };
    let missing = store.add_message(case.id + 1000, note, stamp(T0)).await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound("case")));
}

async fn hidden_cases_leave_listings_but_stay_readable(store: Arc<dyn Store>) {
    let troll = submit_with_subject(&store, "troll", "Вы все жулики и воры").await;
    submit_with_subject(&store, "fine", "Жулики? Нет, хорошие ребята").await;
    store.update_case(troll.id, &CasePatch { hidden: Some(true), ..CasePatch::default() }, stamp(T0)).await.unwrap();
    assert_eq!(search(&store, "жулики").await, ["fine"]);
    let with_hidden =
        CaseFilter { query: Some("жулики".into()), include_hidden: true, limit: 10, ..CaseFilter::default() };
    assert_eq!(store.list_cases(&with_hidden).await.unwrap().items.len(), 2);
    let detail = store.case(troll.id).await.unwrap();
    assert!(detail.case.hidden);
    assert!(
        detail.events.iter().any(|e| e.field.as_deref() == Some("hidden") && e.new_value.as_deref() == Some("true"))
    );
}

async fn customer_shows_cases_across_channels(store: Arc<dyn Store>) {
    let mut by_mail = with_email(feedback("e-mail"), "ivan@example.com");
    by_mail.channel = Channel::Email;
    let mut by_telegram = with_email(feedback("telegram"), "ivan@example.com");
    by_telegram.channel = Channel::Telegram;
    by_telegram.customer.identities.push(Identity::telegram("@ivan").unwrap());
    let first = submit(&store, by_mail).await;
    let second = submit(&store, by_telegram).await;
    let detail = store.customer(first.customer_id).await.unwrap();
    assert_eq!(detail.cases.iter().map(|c| c.id).collect::<Vec<_>>(), [second.id, first.id]);
    assert_eq!(detail.cases.iter().map(|c| c.channel).collect::<Vec<_>>(), [Channel::Telegram, Channel::Email]);
    assert!(matches!(store.customer(first.customer_id + 1000).await, Err(StoreError::NotFound("customer"))));
}

async fn tokens_and_users_are_found_by_hash_and_name(store: Arc<dyn Store>) {
    assert!(store.is_unclaimed().await.unwrap());
    let id = store.create_token("crm", Role::Intake, None, "hash-1", T0).await.unwrap();
    assert!(!store.is_unclaimed().await.unwrap());
    let found = store.token_by_hash("hash-1").await.unwrap().expect("token");
    assert_eq!((found.id, found.name.as_str(), found.role), (id, "crm", Role::Intake));
    assert_eq!(store.token_by_hash("hash-2").await.unwrap(), None);
    store.create_user("admin", None, Role::Admin, "argon", T0).await.unwrap();
    let user = store.user_by_name("admin").await.unwrap().expect("user");
    assert_eq!((user.role, user.password_hash.as_str()), (Role::Admin, "argon"));
    let duplicate = store.create_user("admin", None, Role::Agent, "x", T0).await.unwrap_err();
    assert!(matches!(duplicate, StoreError::Conflict(_)), "{duplicate}");
    assert_eq!(store.user_by_name("nobody").await.unwrap(), None);
}

async fn import_writes_a_batch_in_one_go(store: Arc<dyn Store>) {
    let batch = (0..50).map(|n| (feedback(&format!("Отзыв номер {n} о доставке")), token(n))).collect();
    store.import_feedback(batch, stamp(T0)).await.unwrap();
    let found = store
        .list_cases(&CaseFilter { query: Some("доставка".into()), limit: 100, ..CaseFilter::default() })
        .await
        .unwrap();
    assert_eq!(found.items.len(), 50);
}

async fn a_common_word_ranks_the_newest_matches(store: Arc<dyn Store>) {
    // The oldest case says "доставка" most often, so it would rank first, but it is older than
    // the newest SEARCH_WINDOW matches: a word this common ranks the newest matches only.
    let window = otklik_store::SEARCH_WINDOW as u32;
    let oldest = (feedback("доставка доставка доставка, снова доставка"), token(0));
    let newer =
        (1..=window + 10).map(|n| (feedback(&format!("Отзыв {n}: доставка и ещё много других слов")), token(n)));
    store.import_feedback(std::iter::once(oldest).chain(newer).collect(), stamp(T0)).await.unwrap();
    let mut filter = CaseFilter { query: Some("доставку".into()), limit: 200, ..CaseFilter::default() };
    let (mut seen, mut pages) = (Vec::new(), 0);
    loop {
        let page = store.list_cases(&filter).await.unwrap();
        seen.extend(page.items.iter().map(|case| case.id));
        pages += 1;
        match page.next_cursor {
            Some(cursor) => filter.cursor = Some(cursor),
            None => break,
        }
    }
    assert_eq!(pages, window.div_ceil(200));
    assert_eq!(seen.len(), window as usize);
    let rare =
        store.list_cases(&CaseFilter { query: Some("снова доставка".into()), ..CaseFilter::default() }).await.unwrap();
    assert_eq!(rare.items.len(), 1, "a rarer word still finds the oldest case");
    let oldest = rare.items[0].id;
    assert!(!seen.contains(&oldest), "the oldest match is outside the window");
    let (lowest, highest) = (*seen.iter().min().unwrap(), *seen.iter().max().unwrap());
    assert_eq!(highest - lowest + 1, i64::from(window), "the newest matches, none skipped");
    assert_eq!(lowest, oldest + 11);
}

async fn corrected_cases_become_training_rows(store: Arc<dyn Store>) {
    let corrected = submit(&store, feedback("Доставка опоздала")).await;
    submit(&store, feedback("Не тронутый агентом")).await;
    let patch = CasePatch { kind: Some(Kind::Complaint), ..CasePatch::default() };
    store.update_case(corrected.id, &patch, stamp(T0)).await.unwrap();
    let rows = store.corrected_labels("kind").await.unwrap();
    assert_eq!(rows, [("Доставка опоздала".to_owned(), "complaint".to_owned())]);
    assert!(store.corrected_labels("sentiment").await.unwrap().is_empty());
    assert!(store.corrected_labels("cause").await.unwrap().is_empty());
    let cause = CasePatch { cause: Some(Some(otklik_core::Cause::Service)), ..CasePatch::default() };
    store.update_case(corrected.id, &cause, stamp(T0)).await.unwrap();
    let rows = store.corrected_labels("cause").await.unwrap();
    assert_eq!(rows, [("Доставка опоздала".to_owned(), "service".to_owned())]);
    assert!(matches!(store.corrected_labels("status").await, Err(StoreError::Invalid(_))));
}

fn step(store_kind: Kind, action: &str, stage: &str, input: otklik_core::ActionInput) -> otklik_store::Step {
    let playbooks = otklik_core::Playbooks::builtin();
    let facts = otklik_core::CaseFacts {
        stage,
        status: otklik_core::Status::New,
        open_tasks: 0,
        pending_compensations: 0,
        pending_amount: None,
    };
    let transition = playbooks.take(store_kind, action, &facts, Role::Agent, &input).expect("allowed");
    let follow_up_at = Some(T0 + time::Duration::hours(72));
    otklik_store::Step {
        transition,
        input,
        currency: "RUB".into(),
        channel: Channel::Web,
        follow_up_at,
        apology_due_at: None,
    }
}

async fn a_step_is_stored_with_what_it_causes_and_a_stale_one_is_refused(store: Arc<dyn Store>) {
    let mut complaint = feedback("Курьер нагрубил");
    complaint.kind = Kind::Complaint;
    let case = submit(&store, complaint).await;
    let input = otklik_core::ActionInput {
        apology_forms: vec![otklik_core::ApologyForm::Call],
        note: Some("Приносим извинения".into()),
        ..Default::default()
    };
    let acknowledge = step(Kind::Complaint, "acknowledge", "new", input);
    store.take_step(case.id, "new", &acknowledge, stamp(T0)).await.unwrap();
    let stale = store.take_step(case.id, "new", &acknowledge, stamp(T0)).await.unwrap_err();
    assert!(matches!(stale, StoreError::Conflict(_)), "{stale}");
    let state = store.case_state(case.id).await.unwrap();
    assert_eq!((state.case.stage.as_str(), state.case.status), ("acknowledged", otklik_core::Status::Open));
    let work = store.case_work(case.id).await.unwrap();
    assert_eq!(work.outbox.len(), 1, "the step owed one message, written once");
    assert_eq!(work.outbox[0].template, "complaint.apology");
    let detail = store.case(case.id).await.unwrap();
    assert_eq!(detail.events.iter().filter(|e| e.action == "step").count(), 1);
    assert!(detail.messages.iter().any(|m| m.body.contains("apology: call")), "the step's words are kept as a note");
}

async fn a_due_job_is_claimed_by_one_worker_and_retried_after_a_failure(store: Arc<dyn Store>) {
    let mut question = feedback("Когда вы открываетесь?");
    question.kind = Kind::Question;
    let case = submit(&store, question).await;
    let input = otklik_core::ActionInput { note: Some("С 9 утра".into()), ..Default::default() };
    store.take_step(case.id, "new", &step(Kind::Question, "answer", "new", input), stamp(T0)).await.unwrap();
    let lease = T0 + time::Duration::hours(80);
    let early = store.claim_jobs("a", T0 + time::Duration::hours(71), lease, 10).await.unwrap();
    assert!(early.is_empty(), "not due yet");
    let now = T0 + time::Duration::hours(73);
    let claimed = store.claim_jobs("a", now, lease, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(store.claim_jobs("b", now, lease, 10).await.unwrap().is_empty(), "claimed by a");
    store.fail_job(claimed[0].id, "a", "the channel was down", Some(now + time::Duration::minutes(2))).await.unwrap();
    assert!(store.claim_jobs("b", now, lease, 10).await.unwrap().is_empty(), "the retry waits");
    let retried = store.claim_jobs("b", now + time::Duration::minutes(3), lease, 10).await.unwrap();
    assert_eq!((retried.len(), retried[0].attempts), (1, 2));
    assert!(!store.finish_follow_up(&retried[0], "a", stamp(now)).await.unwrap(), "a no longer holds it");
    assert!(store.finish_follow_up(&retried[0], "b", stamp(now)).await.unwrap());
    assert!(!store.finish_follow_up(&retried[0], "b", stamp(now)).await.unwrap(), "done once");
    let templates: Vec<String> =
        store.case_work(case.id).await.unwrap().outbox.into_iter().map(|m| m.template).collect();
    assert_eq!(templates, ["question.answer", "question.follow_up"]);
    let after_lease = store.claim_jobs("c", lease + time::Duration::hours(1), lease, 10).await.unwrap();
    assert!(after_lease.is_empty(), "a finished job is not claimed again");
}

async fn a_deadline_mark_is_recorded_once(store: Arc<dyn Store>) {
    let case = submit(&store, feedback("Никто не отвечает")).await;
    let mark = otklik_store::DeadlineMark {
        case_id: case.id,
        milestone: otklik_core::Milestone::FirstResponse,
        state: otklik_core::MarkState::Breached,
        notify: otklik_store::Recipient::Role(Role::Manager),
        message: "the first response deadline passed".into(),
    };
    assert!(store.mark_deadline(&mark, stamp(T0)).await.unwrap());
    assert!(!store.mark_deadline(&mark, stamp(T0)).await.unwrap());
    let notifications = store.notifications(&otklik_store::Recipient::Role(Role::Manager)).await.unwrap();
    assert_eq!(notifications.len(), 1);
    let ids = |cases: Vec<otklik_store::ClockedCase>| cases.into_iter().map(|c| c.case_id).collect::<Vec<_>>();
    assert_eq!(ids(store.clocked_cases(T0, 10).await.unwrap()), [case.id], "a new case is looked at");
    let hour = time::Duration::hours(1);
    store.set_watch(&[Watched { case_id: case.id, next: Some(T0 + hour), due: Some(T0 + hour * 2) }]).await.unwrap();
    assert!(store.clocked_cases(T0, 10).await.unwrap().is_empty(), "not before its time");
    assert_eq!(ids(store.clocked_cases(T0 + hour, 10).await.unwrap()), [case.id]);
    store.set_watch(&[Watched { case_id: case.id, next: None, due: None }]).await.unwrap();
    assert!(store.clocked_cases(T0 + hour * 10_000, 10).await.unwrap().is_empty(), "nothing can fire");
    let patch = CasePatch { priority: Some(Priority::Urgent), ..CasePatch::default() };
    store.update_case(case.id, &patch, stamp(T0)).await.unwrap();
    assert_eq!(ids(store.clocked_cases(T0, 10).await.unwrap()), [case.id], "a change is looked at again");
}

async fn an_outbox_message_is_claimed_once_retried_and_sent(store: Arc<dyn Store>) {
    let mut praise = feedback("Спасибо за быструю доставку!");
    praise.kind = Kind::Praise;
    let case = submit(&store, praise).await;
    store.take_step(case.id, "new", &step(Kind::Praise, "thank", "new", Default::default()), stamp(T0)).await.unwrap();
    let lease = T0 + time::Duration::minutes(5);
    assert!(store.claim_outbox("a", &[Channel::Email], T0, lease, 10).await.unwrap().is_empty(), "another channel");
    let claimed = store.claim_outbox("a", &[Channel::Web], T0, lease, 10).await.unwrap();
    assert_eq!((claimed.len(), claimed[0].template.as_str(), claimed[0].attempts), (1, "praise.thanks", 1));
    assert!(store.claim_outbox("b", &[Channel::Web], T0, lease, 10).await.unwrap().is_empty(), "claimed by a");
    let failed = otklik_store::Delivery::Failed {
        error: "gateway timeout".into(),
        retry_at: Some(T0 + time::Duration::minutes(2)),
    };
    assert!(!store.record_delivery(claimed[0].id, "b", &failed, T0).await.unwrap(), "b holds no claim");
    assert!(store.record_delivery(claimed[0].id, "a", &failed, T0).await.unwrap());
    let later = T0 + time::Duration::minutes(3);
    let again = store.claim_outbox("b", &[Channel::Web], later, later + time::Duration::minutes(5), 10).await.unwrap();
    assert_eq!(again[0].attempts, 2);
    assert_eq!(again[0].last_error.as_deref(), Some("gateway timeout"));
    assert!(
        store.record_delivery(again[0].id, "b", &otklik_store::Delivery::Sent { note: None }, later).await.unwrap()
    );
    let message = &store.case_work(case.id).await.unwrap().outbox[0];
    assert_eq!((message.status, message.sent_at), (otklik_core::OutboxStatus::Sent, Some(later)));
    assert!(
        store.claim_outbox("c", &[Channel::Web], later + time::Duration::hours(1), later, 10).await.unwrap().is_empty()
    );
}

async fn a_returning_customers_complaints_are_counted(store: Arc<dyn Store>) {
    let returning = otklik_core::ReturningPriority {
        vip: Priority::High,
        complained_before: Priority::High,
        vip_complained_before: Priority::Urgent,
    };
    let mut complaint = with_email(feedback("Опять опоздали"), "repeat@example.com");
    complaint.kind = Kind::Complaint;
    complaint.returning = Some(returning);
    assert_eq!(submit(&store, complaint.clone()).await.priority, Priority::Normal, "a first complaint");
    let again = submit(&store, complaint).await;
    assert_eq!(again.priority, Priority::High, "a repeated complaint");
    assert_eq!(store.case(again.id).await.unwrap().case.priority, Priority::High);
}

async fn a_customer_made_vip_gets_the_vip_priority(store: Arc<dyn Store>) {
    let returning = otklik_core::ReturningPriority {
        vip: Priority::Urgent,
        complained_before: Priority::High,
        vip_complained_before: Priority::Urgent,
    };
    let mut question = with_email(feedback("Когда вы открываетесь?"), "vip@example.com");
    question.returning = Some(returning);
    let first = submit(&store, question.clone()).await;
    assert_eq!(first.priority, Priority::Normal);
    let customer_id = first.customer_id;

    let patch =
        otklik_core::CustomerPatch {
            name: Some(Some("Анна Петрова".into())), vip: Some(true), identities: Vec::new()
        };
    let customer = store.update_customer(customer_id, &patch, stamp(T0)).await.unwrap();
    assert!(customer.vip);
    assert_eq!(customer.name.as_deref(), Some("Анна Петрова"));
    assert!(!customer.identities.is_empty(), "the identities come back with the customer");

    let mut again = question;
    again.text = "А по субботам?".into();
    assert_eq!(submit(&store, again).await.priority, Priority::Urgent, "a VIP's next case");

    // Only the fields given change; `Some(None)` clears the name.
    let clear_name = otklik_core::CustomerPatch { name: Some(None), vip: None, identities: Vec::new() };
    let cleared = store.update_customer(customer_id, &clear_name, stamp(T0)).await.unwrap();
    assert!(cleared.vip);
    assert_eq!(cleared.name, None);
    let missing = store.update_customer(customer_id + 1_000_000, &patch, stamp(T0)).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))), "{missing:?}");

    // Every change is an event on the customer; a field given with its current value is none.
    store
        .update_customer(
            customer_id,
            &otklik_core::CustomerPatch { name: None, vip: Some(true), identities: Vec::new() },
            stamp(T0),
        )
        .await
        .unwrap();
    let events: Vec<(Option<String>, Option<String>, Option<String>)> = store
        .customer(customer_id)
        .await
        .unwrap()
        .events
        .into_iter()
        .map(|e| (e.field, e.old_value, e.new_value))
        .collect();
    assert_eq!(
        events,
        [
            (Some("name".into()), None, Some("Анна Петрова".into())),
            (Some("vip".into()), Some("false".into()), Some("true".into())),
            (Some("name".into()), Some("Анна Петрова".into()), None),
        ]
    );
}

async fn a_complaints_cause_is_stored_and_corrected(store: Arc<dyn Store>) {
    let mut complaint = feedback("Курьер нагрубил и бросил посылку");
    complaint.kind = Kind::Complaint;
    complaint.cause = Some(otklik_core::Cause::Quality);
    let case = submit(&store, complaint).await;
    assert_eq!(case.cause, Some(otklik_core::Cause::Quality));
    assert_eq!(store.case(case.id).await.unwrap().case.cause, Some(otklik_core::Cause::Quality));

    let corrected = CasePatch { cause: Some(Some(otklik_core::Cause::Service)), ..CasePatch::default() };
    let detail = store.update_case(case.id, &corrected, stamp(T0)).await.unwrap();
    assert_eq!(detail.case.cause, Some(otklik_core::Cause::Service));
    let change = detail.events.iter().find(|e| e.field.as_deref() == Some("cause")).expect("a cause event");
    assert_eq!((change.old_value.as_deref(), change.new_value.as_deref()), (Some("quality"), Some("service")));
    let listed = store.list_cases(&otklik_core::CaseFilter::default()).await.unwrap();
    assert_eq!(listed.items[0].cause, Some(otklik_core::Cause::Service), "listings carry the cause");

    let cleared = store.update_case(case.id, &CasePatch { cause: Some(None), ..CasePatch::default() }, stamp(T0)).await;
    assert_eq!(cleared.unwrap().case.cause, None);
    let again = CasePatch { cause: Some(Some(otklik_core::Cause::Quality)), ..CasePatch::default() };
    store.update_case(case.id, &again, stamp(T0)).await.unwrap();
    let question = CasePatch { kind: Some(Kind::Question), ..CasePatch::default() };
    let detail = store.update_case(case.id, &question, stamp(T0)).await.unwrap();
    assert_eq!(detail.case.cause, None, "a case that is no complaint has no cause, whoever changes its kind");
}

async fn a_reply_is_the_first_response_and_a_note_is_not(store: Arc<dyn Store>) {
    let case = submit(&store, feedback("Где мой заказ?")).await;
    let note = NewMessage {
        direction: Direction::Note,
        public: false,
        channel: Channel::Web,
        body: "x".into(),
        external_id: None,
        overridden: Vec::new(),
    };
    store.add_message(case.id, note, stamp(T0)).await.unwrap();
    assert_eq!(store.case_work(case.id).await.unwrap().first_response_at, None);
    let later = T0 + time::Duration::hours(1);
    let reply = NewMessage {
        direction: Direction::Outbound,
        public: true,
        channel: Channel::Web,
        body: "y".into(),
        external_id: None,
        overridden: Vec::new(),
    };
    store.add_message(case.id, reply.clone(), stamp(later)).await.unwrap();
    store.add_message(case.id, reply, stamp(later + time::Duration::hours(1))).await.unwrap();
    assert_eq!(store.case_work(case.id).await.unwrap().first_response_at, Some(later), "the first reply counts");
}

async fn a_status_set_by_hand_keeps_resolved_at_and_the_watch_in_step(store: Arc<dyn Store>) {
    let case = submit(&store, feedback("Курьер опоздал")).await;
    let watched = |cases: Vec<otklik_store::ClockedCase>| cases.iter().any(|c| c.case_id == case.id);
    assert!(watched(store.clocked_cases(T0, 100).await.unwrap()));
    let close = CasePatch { status: Some(otklik_core::Status::Closed), ..CasePatch::default() };
    store.update_case(case.id, &close, stamp(T0)).await.unwrap();
    assert_eq!(store.case_work(case.id).await.unwrap().resolved_at, Some(T0));
    assert!(!watched(store.clocked_cases(T0, 100).await.unwrap()), "a closed case is not watched");
    let reopen = CasePatch { status: Some(otklik_core::Status::Open), ..CasePatch::default() };
    store.update_case(case.id, &reopen, stamp(T0)).await.unwrap();
    assert_eq!(store.case_work(case.id).await.unwrap().resolved_at, None);
    assert!(watched(store.clocked_cases(T0, 100).await.unwrap()), "a reopened case is watched again");
}

async fn a_sources_external_ids_are_its_own_and_a_reused_one_with_another_text_is_refused(store: Arc<dyn Store>) {
    let mut tweet = feedback("bad service");
    tweet.channel = Channel::Social;
    tweet.external_id = Some("tweet-1".into());
    tweet.source = "token:1".into();
    let first = store.submit_feedback(tweet.clone(), token(1), None, stamp(T0)).await.unwrap();
    let mut other_source = tweet.clone();
    other_source.source = "token:2".into();
    let second = store.submit_feedback(other_source, token(2), None, stamp(T0)).await.unwrap();
    assert!(second.created, "another source's id is another item");
    assert_ne!(second.case.id, first.case.id);
    let mut reused = tweet.clone();
    reused.text = "another text entirely".into();
    let refused = store.submit_feedback(reused, token(3), None, stamp(T0)).await.unwrap_err();
    assert!(matches!(refused, StoreError::Conflict(_)), "{refused}");
    let again = store.submit_feedback(tweet, token(4), None, stamp(T0)).await.unwrap();
    assert_eq!((again.created, again.case.id), (false, first.case.id));
    assert_eq!(store.case_count().await.unwrap(), 2);
}

async fn a_token_belongs_to_a_person_or_to_no_one_and_is_listed_and_revoked(store: Arc<dyn Store>) {
    store.create_user("ivan", None, Role::Executor, "argon", T0).await.unwrap();
    let person = store.create_token("ivan-phone", Role::Executor, Some("ivan"), "hash-p", T0).await.unwrap();
    let integration = store.create_token("crm", Role::Agent, None, "hash-i", T0).await.unwrap();
    let unknown = store.create_token("x", Role::Agent, Some("nobody"), "hash-x", T0).await.unwrap_err();
    assert!(matches!(unknown, StoreError::Invalid(_)), "{unknown}");
    assert_eq!(store.token_by_hash("hash-p").await.unwrap().unwrap().user.as_deref(), Some("ivan"));
    assert_eq!(store.token_by_hash("hash-i").await.unwrap().unwrap().user, None);
    let later = T0 + time::Duration::hours(1);
    assert!(store.revoke_token(integration, later).await.unwrap());
    assert!(!store.revoke_token(integration, later).await.unwrap(), "revoked once");
    assert!(matches!(store.revoke_token(integration + 100, later).await, Err(StoreError::NotFound("token"))));
    assert_eq!(store.token_by_hash("hash-i").await.unwrap(), None);
    let listed = store.tokens().await.unwrap();
    let summary: Vec<(i64, Option<&str>, Option<OffsetDateTime>)> =
        listed.iter().map(|t| (t.record.id, t.record.user.as_deref(), t.revoked_at)).collect();
    assert_eq!(summary, [(person, Some("ivan"), None), (integration, None, Some(later))]);
}

async fn a_notification_for_a_role_never_reaches_a_person_named_like_it(store: Arc<dyn Store>) {
    let case = submit(&store, feedback("Курьер опоздал")).await;
    let mark = otklik_store::DeadlineMark {
        case_id: case.id,
        milestone: otklik_core::Milestone::Resolution,
        state: otklik_core::MarkState::Escalated,
        notify: otklik_store::Recipient::Role(Role::Manager),
        message: "escalated".into(),
    };
    store.mark_deadline(&mark, stamp(T0)).await.unwrap();
    let for_role = store.notifications(&otklik_store::Recipient::Role(Role::Manager)).await.unwrap();
    assert_eq!(for_role.len(), 1);
    assert_eq!(for_role[0].recipient, otklik_store::Recipient::Role(Role::Manager));
    let for_person = store.notifications(&otklik_store::Recipient::User("manager".into())).await.unwrap();
    assert!(for_person.is_empty());
}

async fn a_case_is_found_by_its_status_link_secret_only(store: Arc<dyn Store>) {
    let case = submit(&store, feedback("Где мой заказ?")).await;
    let found = store.case_by_status_token(&case.status_token, T0).await.unwrap().expect("found");
    assert_eq!(found.case.id, case.id);
    assert_eq!(store.case_by_status_token("AAAAAAAAAAAAAAAAAAAAAA", T0).await.unwrap(), None);
}

async fn identities_from_an_unvouched_source_never_join_or_overwrite_a_known_customer(store: Arc<dyn Store>) {
    let mut anna = with_email(feedback("one"), "anna@example.com");
    anna.customer.followers = Some(120);
    anna.customer.name = Some("Анна".into());
    let anna = submit(&store, anna).await;
    // A form that quotes Anna's e-mail with someone else's phone and a claim of many followers.
    let mut quoting = with_email(feedback("two"), "anna@example.com");
    quoting.customer.identities.push(Identity::phone("+79990001122").unwrap());
    quoting.customer.followers = Some(50_000);
    quoting.customer.name = Some("Кто-то".into());
    let quoting = submit(&store, quoting).await;
    assert_eq!(quoting.customer_id, anna.customer_id, "the known identity finds the customer");
    let customer = store.customer(anna.customer_id).await.unwrap().customer;
    assert_eq!(customer.identities.len(), 1, "the phone did not join: {:?}", customer.identities);
    assert_eq!(
        (customer.followers, customer.name.as_deref()),
        (Some(120), Some("Анна")),
        "nothing known is overwritten"
    );
    let events = store.case(quoting.id).await.unwrap().events;
    let unconfirmed: Vec<_> =
        events.iter().filter(|e| e.action == "identity_unconfirmed").map(|e| e.new_value.clone()).collect();
    assert_eq!(unconfirmed, [Some("phone:+79990001122".to_owned())]);
    let by_phone = submit(&store, with_phone(feedback("three"), "+79990001122")).await;
    assert_ne!(by_phone.customer_id, anna.customer_id, "the phone still belongs to no one known");

    // Staff who spoke with the customer vouch for what they log: the identity joins, as an event.
    let mut logged = with_email(feedback("four"), "anna@example.com");
    logged.customer.identities.push(Identity::phone("+79995556677").unwrap());
    logged.vouched = true;
    let logged = submit(&store, logged).await;
    let events = store.case(logged.id).await.unwrap().events;
    assert!(
        events.iter().any(|e| e.action == "identity_added" && e.new_value.as_deref() == Some("phone:+79995556677"))
    );
    assert_eq!(store.customer(anna.customer_id).await.unwrap().customer.identities.len(), 2);
}

fn with_phone(mut feedback: NewFeedback, phone: &str) -> NewFeedback {
    feedback.customer.identities.push(Identity::phone(phone).unwrap());
    feedback
}

/// Submissions that arrive together are written in groups; whatever the grouping, each is
/// written as if it came alone and in turn: one customer per identity, a returning complainer's
/// priority raised, every case answered.
async fn many_submissions_at_once_from_the_same_customers_join_them(store: Arc<dyn Store>) {
    let mut tasks = Vec::new();
    for n in 0..96u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut item = with_email(feedback(&format!("message {n}")), &format!("customer{}@example.com", n % 8));
            if n % 3 == 0 {
                item.customer.identities.push(Identity::phone(&format!("+7 912 000 00 0{}", n % 8)).unwrap());
                item.vouched = true;
            }
            item.kind = Kind::Complaint;
            item.returning = Some(otklik_core::ReturningPriority {
                vip: Priority::High,
                complained_before: Priority::High,
                vip_complained_before: Priority::Urgent,
            });
            item.external_id = Some(format!("ext-{n}"));
            store.submit_feedback(item, token(n), key(&format!("k{n}"), "d"), stamp(T0)).await
        }));
    }
    let mut customers = std::collections::BTreeMap::<i64, Vec<otklik_core::Case>>::new();
    for task in tasks {
        let submitted = task.await.unwrap().expect("every submission is written");
        assert!(submitted.created);
        customers.entry(submitted.case.customer_id).or_default().push(submitted.case);
    }
    assert_eq!(customers.len(), 8, "one customer per e-mail address");
    for (customer_id, cases) in &customers {
        assert_eq!(cases.len(), 12);
        let normal = cases.iter().filter(|case| case.priority == Priority::Normal).count();
        assert_eq!(normal, 1, "only the customer's first complaint keeps the normal priority");
        let detail = store.customer(*customer_id).await.unwrap();
        assert_eq!(detail.cases.len(), 12);
        assert_eq!(detail.customer.identities.len(), 2, "the e-mail and the vouched phone");
    }
    assert_eq!(store.case_count().await.unwrap(), 96);
    let again = store.submit_feedback(
        with_email(feedback("message 5"), "customer5@example.com"),
        token(200),
        key("k5", "d"),
        stamp(T0),
    );
    let again = again.await.unwrap();
    assert!(!again.created, "a key is found again after its group committed");
}

async fn an_import_that_names_a_customer_twice_makes_one_customer(store: Arc<dyn Store>) {
    let batch: Vec<(NewFeedback, String)> = (0..10u32)
        .map(|n| (with_email(feedback(&format!("imported {n}")), &format!("c{}@example.com", n % 3)), token(n)))
        .collect();
    store.import_feedback(batch, stamp(T0)).await.unwrap();
    let all = store.list_cases(&CaseFilter { limit: 50, ..CaseFilter::default() }).await.unwrap();
    assert_eq!(all.items.len(), 10);
    let customers: std::collections::BTreeSet<i64> = all.items.iter().map(|case| case.customer_id).collect();
    assert_eq!(customers.len(), 3);
    let filter = CaseFilter { query: Some("imported".into()), limit: 50, ..CaseFilter::default() };
    assert_eq!(store.list_cases(&filter).await.unwrap().items.len(), 10, "every imported case is searchable");
}

async fn a_refused_submission_among_many_at_once_fails_alone(store: Arc<dyn Store>) {
    store.submit_feedback(feedback("first"), token(0), key("taken", "d1"), stamp(T0)).await.unwrap();
    let mut tasks = Vec::new();
    for n in 1..=32u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let (text, idempotency) = if n == 16 { ("other", key("taken", "d2")) } else { ("fine", None) };
            let item = with_email(feedback(text), &format!("p{n}@example.com"));
            (n, store.submit_feedback(item, token(n), idempotency, stamp(T0)).await)
        }));
    }
    for task in tasks {
        let (n, result) = task.await.unwrap();
        match result {
            Err(StoreError::IdempotencyMismatch) if n == 16 => {}
            Ok(submitted) if n != 16 => assert!(submitted.created),
            other => panic!("submission {n}: {other:?}"),
        }
    }
    assert_eq!(store.case_count().await.unwrap(), 32);
}

/// Two nodes on one PostgreSQL database take the same customers at the same time: every
/// submission is answered, and each identity still names one customer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_taking_the_same_customers_at_once_keep_one_customer_per_identity() {
    let Some(schema) = TestSchema::fresh().await else { return };
    let a = otklik_store::open(&schema.url, &schema.options()).await.unwrap();
    let b = otklik_store::open(&schema.url, &schema.options()).await.unwrap();
    let mut tasks = Vec::new();
    for n in 0..120u32 {
        let store = if n % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            let item = with_email(feedback(&format!("node message {n}")), &format!("shared{}@example.com", n % 5));
            store.submit_feedback(item, token(n), key(&format!("n{}", n % 60), "d"), stamp(T0)).await
        }));
    }
    let mut customers = std::collections::BTreeSet::new();
    let mut created = 0;
    for task in tasks {
        let submitted = task.await.unwrap().expect("every submission is answered");
        created += usize::from(submitted.created);
        customers.insert(submitted.case.customer_id);
    }
    assert_eq!(created, 60, "a key sent to both nodes makes one case");
    assert_eq!(customers.len(), 5);
    assert_eq!(a.case_count().await.unwrap(), 60);
    drop((a, b));
    schema.drop().await;
}

async fn a_session_lives_in_the_database_until_it_expires_or_its_person_leaves(store: Arc<dyn Store>) {
    let hour = time::Duration::hours(1);
    store.create_user("olga", Some("Ольга"), Role::Agent, "hash-1", T0).await.unwrap();
    store.create_user("ivan", None, Role::Executor, "hash-2", T0).await.unwrap();
    let olga = store.user_by_name("olga").await.unwrap().unwrap();
    assert!(olga.active);
    assert_eq!((olga.language, olga.time_zone), (None, None));
    store.create_session("olga", "s1", "csrf-1", T0, T0 + hour).await.unwrap();
    store.create_session("olga", "s2", "csrf-2", T0, T0 + hour).await.unwrap();
    let session = store.session("s1", T0 + hour / 2).await.unwrap().expect("a live session");
    assert_eq!((session.user.username.as_str(), session.csrf_token.as_str()), ("olga", "csrf-1"));
    assert_eq!(session.expires_at, T0 + hour);
    assert!(store.session("s1", T0 + hour).await.unwrap().is_none(), "expired at its end");
    assert!(store.session("unknown", T0).await.unwrap().is_none());
    assert!(matches!(
        store.create_session("nobody", "s9", "c", T0, T0 + hour).await,
        Err(StoreError::NotFound("user"))
    ));

    // A new password ends every other session of the person.
    store.set_password("olga", "hash-3", Some("s1")).await.unwrap();
    assert!(store.session("s1", T0).await.unwrap().is_some());
    assert!(store.session("s2", T0).await.unwrap().is_none());
    assert_eq!(store.user_by_name("olga").await.unwrap().unwrap().password_hash, "hash-3");
    assert!(store.end_session("s1").await.unwrap(), "signed out");
    assert!(!store.end_session("s1").await.unwrap());
    assert!(store.session("s1", T0).await.unwrap().is_none());

    // A deactivated person's sessions end, and none of theirs is found until they are back.
    store.create_session("ivan", "s3", "csrf-3", T0, T0 + hour).await.unwrap();
    let ivan = store.set_user_active("ivan", false).await.unwrap();
    assert!(!ivan.active);
    assert!(store.session("s3", T0).await.unwrap().is_none());
    store.create_session("ivan", "s4", "csrf-4", T0, T0 + hour).await.unwrap();
    assert!(store.session("s4", T0).await.unwrap().is_none(), "an inactive person has no session");
    assert!(store.set_user_active("ivan", true).await.unwrap().active);
    assert!(store.session("s4", T0).await.unwrap().is_some());
    let names: Vec<String> = store.users().await.unwrap().into_iter().map(|user| user.username).collect();
    assert_eq!(names, ["ivan", "olga"]);
    assert!(matches!(store.set_user_active("nobody", true).await, Err(StoreError::NotFound("user"))));
}

async fn a_password_link_works_once_and_not_after_it_expires(store: Arc<dyn Store>) {
    let hour = time::Duration::hours(1);
    store.create_user("olga", None, Role::Agent, "unset", T0).await.unwrap();
    store.create_password_link("olga", "link-1", T0, T0 + 24 * hour).await.unwrap();
    assert_eq!(store.use_password_link("link-1", T0 + hour).await.unwrap().as_deref(), Some("olga"));
    assert_eq!(store.use_password_link("link-1", T0 + hour).await.unwrap(), None, "used once");
    store.create_password_link("olga", "link-2", T0, T0 + hour).await.unwrap();
    assert_eq!(store.use_password_link("link-2", T0 + hour).await.unwrap(), None, "expired");
    assert_eq!(store.use_password_link("no-such-link", T0).await.unwrap(), None);
    store.create_password_link("olga", "link-3", T0, T0 + hour).await.unwrap();
    let (a, b) = tokio::join!(store.use_password_link("link-3", T0), store.use_password_link("link-3", T0));
    assert_eq!(usize::from(a.unwrap().is_some()) + usize::from(b.unwrap().is_some()), 1, "two uses at once: one wins");
}

async fn the_inbox_queues_by_deadline_risk_stage_and_priority(store: Arc<dyn Store>) {
    let hour = time::Duration::hours(1);
    // Due at intake: breached (T0 - 1h), due within the hour (T0 + 30min), later (T0 + 5h),
    // and one without a running clock.
    let mut made = Vec::new();
    for (n, (due, priority)) in [
        (Some(T0 - hour), Priority::Low),
        (Some(T0 + hour / 2), Priority::Urgent),
        (Some(T0 + hour * 5), Priority::High),
        (None, Priority::Normal),
    ]
    .into_iter()
    .enumerate()
    {
        let mut item = feedback(&format!("Жалоба номер {n}"));
        item.due_at = due;
        item.priority = priority;
        item.kind = Kind::Complaint;
        made.push(submit(&store, item).await.id);
    }
    let ids = |page: otklik_core::Page<otklik_core::Case>| page.items.into_iter().map(|c| c.id).collect::<Vec<_>>();
    let list = |filter: CaseFilter| {
        let store = store.clone();
        async move { store.list_cases(&CaseFilter { limit: 10, ..filter }).await.unwrap() }
    };
    let breached = list(CaseFilter { due_to: Some(T0), ..CaseFilter::default() }).await;
    assert_eq!(ids(breached), [made[0]]);
    let soon = list(CaseFilter { due_from: Some(T0), due_to: Some(T0 + hour), ..CaseFilter::default() }).await;
    assert_eq!(ids(soon), [made[1]]);
    let later = list(CaseFilter { due_from: Some(T0 + hour), ..CaseFilter::default() }).await;
    assert_eq!(ids(later), [made[2]]);
    let by_due = list(CaseFilter { sort: otklik_core::Sort::Due, ..CaseFilter::default() }).await;
    assert_eq!(ids(by_due), [made[0], made[1], made[2], made[3]], "no clock last");
    let by_priority = list(CaseFilter { sort: otklik_core::Sort::Priority, ..CaseFilter::default() }).await;
    assert_eq!(ids(by_priority), [made[1], made[2], made[3], made[0]]);
    // A sorted listing pages by offset.
    let first = store
        .list_cases(&CaseFilter { sort: otklik_core::Sort::Priority, limit: 2, ..CaseFilter::default() })
        .await
        .unwrap();
    assert_eq!(first.next_cursor, Some(Cursor::Offset(2)));
    let second =
        list(CaseFilter { sort: otklik_core::Sort::Priority, cursor: first.next_cursor, ..CaseFilter::default() })
            .await;
    assert_eq!(ids(second), [made[3], made[0]]);
    // The watch moves a case between queues.
    store.set_watch(&[Watched { case_id: made[2], next: None, due: Some(T0 - hour * 2) }]).await.unwrap();
    let breached = list(CaseFilter { due_to: Some(T0), ..CaseFilter::default() }).await;
    assert_eq!(ids(breached), [made[2], made[0]]);
    // By stage; a resolved case leaves the queues by risk and the open ones.
    let stage = list(CaseFilter { stage: Some("new".into()), ..CaseFilter::default() }).await;
    assert_eq!(stage.items.len(), 4);
    let patch = CasePatch { status: Some(Status::Resolved), ..CasePatch::default() };
    store.update_case(made[0], &patch, stamp(T0)).await.unwrap();
    let breached = list(CaseFilter { due_to: Some(T0), ..CaseFilter::default() }).await;
    assert_eq!(ids(breached), [made[2]]);
    let open = list(CaseFilter { open_only: true, ..CaseFilter::default() }).await;
    assert!(!ids(open).contains(&made[0]));
    let pending = list(CaseFilter { pending_compensation: true, ..CaseFilter::default() }).await;
    assert!(pending.items.is_empty());
}

async fn locations_are_made_listed_changed_and_their_slugs_unique(store: Arc<dyn Store>) {
    let made = store
        .create_location(
            &otklik_store::NewLocationRecord {
                slug: "tverskaya".into(),
                name: "Тверская, 12".into(),
                address: Some("Москва, Тверская ул., 12".into()),
                time_zone: None,
                hours: None,
            },
            T0,
        )
        .await
        .unwrap();
    assert_eq!((made.slug.as_str(), made.active, made.time_zone.as_deref()), ("tverskaya", true, None));
    store
        .create_location(
            &otklik_store::NewLocationRecord {
                slug: "kyiv-center".into(),
                name: "Київ, центр".into(),
                address: None,
                time_zone: Some("Europe/Kyiv".into()),
                hours: None,
            },
            T0,
        )
        .await
        .unwrap();
    let taken = store
        .create_location(
            &otklik_store::NewLocationRecord {
                slug: "tverskaya".into(),
                name: "Другая".into(),
                address: None,
                time_zone: None,
                hours: None,
            },
            T0,
        )
        .await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    let slugs: Vec<String> = store.locations().await.unwrap().into_iter().map(|l| l.slug).collect();
    assert_eq!(slugs, ["kyiv-center", "tverskaya"]);
    let patch = otklik_store::LocationPatch {
        active: Some(false),
        address: Some(None),
        time_zone: Some(Some("Europe/Moscow".into())),
        ..Default::default()
    };
    let changed = store.update_location("tverskaya", &patch).await.unwrap();
    assert_eq!(
        (changed.active, changed.address.as_deref(), changed.time_zone.as_deref()),
        (false, None, Some("Europe/Moscow"))
    );
    assert_eq!(changed.name, "Тверская, 12", "a field not given stays");
    assert_eq!(store.location("tverskaya").await.unwrap(), Some(changed));
    assert_eq!(store.location("nowhere").await.unwrap(), None);
    let missing = store.update_location("nowhere", &patch).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))), "{missing:?}");
}

async fn a_setting_is_made_once_and_shared(store: Arc<dyn Store>) {
    let first = store.setting("form_key", &|| "one".to_owned()).await.unwrap();
    let second = store.setting("form_key", &|| "two".to_owned()).await.unwrap();
    assert_eq!((first.as_str(), second.as_str()), ("one", "one"));
}
