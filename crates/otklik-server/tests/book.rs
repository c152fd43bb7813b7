//! The customer's side over HTTP, on both databases: locations through the API, a location's
//! complaint book and the general form in the customer's language, the acknowledgement on the
//! status page (reference, who handles it, by when), and every defence of the form — each
//! refusal says why and stores nothing.

mod support;

use otklik_core::Role;
use otklik_server::auth::mint_token;
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::json;
use support::{Db, TestApp, no_redirects};

on_both_backends!(
    locations_are_managed_through_the_api,
    a_complaint_book_entry_becomes_a_case_acknowledged_in_the_customers_language,
    every_refused_entry_says_why_and_stores_nothing,
    the_customer_writes_back_and_rates_and_a_revoked_or_expired_link_shows_nothing,
    staff_log_a_call_that_follows_its_kinds_playbook,
    a_message_from_a_channel_that_can_answer_is_acknowledged_through_it,
    a_far_locations_deadlines_count_business_hours_on_its_own_clocks,
    a_location_written_as_text_is_matched_to_a_location_later,
);

/// A refused entry: its fields, the answer's status, and words the answer must say.
type Refusal<'a> = (Vec<(&'a str, &'a str)>, StatusCode, &'a str);

async fn admin_token(app: &TestApp) -> String {
    let (token, digest) = mint_token();
    app.store.create_token("admin", Role::Admin, None, &digest, time::OffsetDateTime::now_utc()).await.unwrap();
    token
}

async fn locations_are_managed_through_the_api(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let admin = admin_token(&app).await;
    let body = json!({"slug": "tverskaya", "name": "Тверская, 12", "time_zone": "Europe/Moscow"});
    let (status, created) = app.post(&admin, "/api/v1/locations", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["form_url"], format!("{}/f/tverskaya", app.base));
    assert_eq!(app.post(&admin, "/api/v1/locations", body).await.0, StatusCode::CONFLICT);
    let (status, _) = app.post(&app.agent, "/api/v1/locations", json!({"slug": "other", "name": "X"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an agent does not add locations");
    for wrong in
        [json!({"slug": "Bad Slug", "name": "X"}), json!({"slug": "ok", "name": "X", "time_zone": "Mars/Base"})]
    {
        assert_eq!(app.post(&admin, "/api/v1/locations", wrong).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (status, list) = app.get(&app.agent, "/api/v1/locations").await;
    assert_eq!((status, list[0]["slug"].as_str()), (StatusCode::OK, Some("tverskaya")));
    let closed = app
        .client
        .patch(app.url("/api/v1/locations/tverskaya"))
        .bearer_auth(&admin)
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), StatusCode::OK);
    assert_eq!(app.page(None, "/f/tverskaya").await.status(), StatusCode::NOT_FOUND, "a closed book takes nothing");
    app.finish().await;
}

/// The form's fill-time token, from the page.
async fn started(app: &TestApp, path: &str) -> String {
    let html = app.page(None, path).await.text().await.unwrap();
    html.split("name=\"started\" value=\"").nth(1).expect("a token").split('"').next().unwrap().to_owned()
}

async fn post(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    no_redirects().post(app.url(path)).form(fields).send().await.unwrap()
}

async fn a_complaint_book_entry_becomes_a_case_acknowledged_in_the_customers_language(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    app.store
        .create_location(
            &otklik_store::NewLocationRecord {
                slug: "kyiv".into(),
                name: "Київ, Хрещатик 1".into(),
                address: None,
                time_zone: Some("Europe/Kyiv".into()),
                hours: None,
            },
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    let form = no_redirects().get(app.url("/f/kyiv")).header("Accept-Language", "uk").send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let html = form.text().await.unwrap();
    assert!(
        html.contains("<html lang=\"uk\">") && html.contains("Книга скарг") && html.contains("Київ, Хрещатик 1"),
        "{html}"
    );
    assert!(html.contains("name=\"website\""), "the honeypot is there");
    let english = app.page(None, "/f/kyiv?lang=en").await.text().await.unwrap();
    assert!(english.contains("<html lang=\"en\">"), "the language switch");
    let token = started(&app, "/f/kyiv").await;
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let sent = post(
        &app,
        "/f/kyiv",
        &[
            ("text", "Офіціант нагрубив, а кава була холодна."),
            ("kind", "complaint"),
            ("name", "Олена"),
            ("phone", "+380 67 123 45 67"),
            ("lang", "uk"),
            ("website", ""),
            ("started", &token),
        ],
    )
    .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let to = sent.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(to.starts_with("/s/") && to.ends_with("?received=1"), "{to}");
    let page = app.page(None, &to).await.text().await.unwrap();
    let case =
        &app.store.list_cases(&otklik_core::CaseFilter { limit: 5, ..Default::default() }).await.unwrap().items[0];
    let reference = case.reference().to_string();
    assert!(page.contains(&reference), "the reference: {page}");
    assert!(
        page.contains("служба турботи про клієнтів") && page.contains("Олена"),
        "who handles it, in Ukrainian: {page}"
    );
    let due = otklik_core::in_time_zone("Europe/Kyiv", case.due_at.expect("a first-response deadline")).unwrap();
    let due_words =
        format!("{:02}.{:02}.{} {:02}:{:02}", due.day(), u8::from(due.month()), due.year(), due.hour(), due.minute());
    assert!(page.contains(&due_words), "by when, in the location's time zone ({due_words}): {page}");
    assert_eq!(
        (case.channel, case.location.as_deref(), case.kind),
        (otklik_core::Channel::ComplaintBook, Some("kyiv"), otklik_core::Kind::Complaint)
    );
    let status_page = app.page(None, to.trim_end_matches("?received=1")).await.text().await.unwrap();
    assert!(status_page.contains("Хто займається") && status_page.contains("Відповімо до"), "{status_page}");
    // Who handles it: a first name once a person with one has it, never more.
    let now = time::OffsetDateTime::now_utc();
    app.store.create_user("koval", Some("Олена Коваль"), Role::Agent, "x", now).await.unwrap();
    let patch = otklik_core::CasePatch { assignee: Some(Some("koval".into())), ..Default::default() };
    app.store.update_case(case.id, &patch, otklik_store::Stamp { at: now, actor: "koval".into() }).await.unwrap();
    let status_page = app.page(None, to.trim_end_matches("?received=1")).await.text().await.unwrap();
    assert!(
        status_page.contains("<dd>Олена</dd>") && !status_page.contains("Коваль") && !status_page.contains("koval")
    );
    let detail = app.store.case(case.id).await.unwrap();
    assert_eq!(detail.customer.locale.as_deref(), Some("uk"));
    assert_eq!(detail.customer.name.as_deref(), Some("Олена"));
    // The general form: channel web, no location.
    let token = started(&app, "/f").await;
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let sent = post(&app, "/f", &[("text", "Do you deliver on Sundays?"), ("lang", "en"), ("started", &token)]).await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let newest =
        &app.store.list_cases(&otklik_core::CaseFilter { limit: 1, ..Default::default() }).await.unwrap().items[0];
    assert_eq!((newest.channel, newest.location.as_deref()), (otklik_core::Channel::Web, None));
    app.finish().await;
}

async fn every_refused_entry_says_why_and_stores_nothing(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    app.store
        .create_location(
            &otklik_store::NewLocationRecord {
                slug: "kyiv".into(),
                name: "Київ".into(),
                address: None,
                time_zone: None,
                hours: None,
            },
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    let fresh = started(&app, "/f/kyiv").await;
    let fast = post(&app, "/f/kyiv", &[("text", "Холодный кофе"), ("lang", "ru"), ("started", &fresh)]).await;
    assert_eq!(fast.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(fast.text().await.unwrap().contains("слишком быстро"), "says why, in the customer's language");
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let long = "а".repeat(5_001);
    let other_book = started(&app, "/f").await;
    let cases: Vec<Refusal> = vec![
        (
            vec![("text", "Купите часы"), ("website", "http://spam.example"), ("started", &fresh)],
            StatusCode::UNPROCESSABLE_ENTITY,
            "программа",
        ),
        (vec![("text", "Холодный кофе"), ("started", "1700000000.0000")], StatusCode::UNPROCESSABLE_ENTITY, "устарела"),
        (vec![("text", "Холодный кофе"), ("started", &other_book)], StatusCode::UNPROCESSABLE_ENTITY, "устарела"),
        (vec![("text", &long), ("started", &fresh)], StatusCode::PAYLOAD_TOO_LARGE, "длинное"),
        (vec![("text", "   "), ("started", &fresh)], StatusCode::UNPROCESSABLE_ENTITY, "Напишите сообщение"),
        (
            vec![("text", "Холодный кофе"), ("email", "not-an-address"), ("started", &fresh)],
            StatusCode::UNPROCESSABLE_ENTITY,
            "e-mail",
        ),
        (
            vec![("text", "Холодный кофе"), ("kind", "spam"), ("started", &fresh)],
            StatusCode::UNPROCESSABLE_ENTITY,
            "из списка",
        ),
    ];
    for (fields, status, words) in &cases {
        let mut fields = fields.clone();
        fields.push(("lang", "ru"));
        let refused = post(&app, "/f/kyiv", &fields).await;
        assert_eq!(refused.status(), *status, "{fields:?}");
        let html = refused.text().await.unwrap();
        assert!(html.contains(words), "{fields:?} says why: {html}");
    }
    let unknown = post(&app, "/f/nowhere", &[("text", "Холодный кофе"), ("started", &fresh)]).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let malformed = no_redirects()
        .post(app.url("/f/kyiv"))
        .body("text=%ZZ")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert!(malformed.status().is_client_error(), "a malformed body is refused");
    assert_eq!(app.case_count().await, 0, "nothing was stored");
    // Ten entries from one address, then the eleventh is refused.
    for n in 0..10 {
        let text = format!("Сообщение номер {n}");
        let sent = post(&app, "/f/kyiv", &[("text", &text), ("started", &fresh)]).await;
        assert_eq!(sent.status(), StatusCode::SEE_OTHER, "entry {n}");
    }
    let many = post(&app, "/f/kyiv", &[("text", "Ещё одно"), ("lang", "ru"), ("started", &fresh)]).await;
    assert_eq!(many.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(many.text().await.unwrap().contains("слишком много"));
    assert_eq!(app.case_count().await, 10);
    app.finish().await;
}

async fn the_customer_writes_back_and_rates_and_a_revoked_or_expired_link_shows_nothing(db: Db) {
    let Some(app) = TestApp::start_on(db, |config| config.status_link_days = 1).await else { return };
    let (status, case) = app
        .post(
            &app.intake,
            "/api/v1/feedback",
            json!({"text": "Пицца холодная", "kind": "complaint", "customer": {"email": "a@example.com"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let link = case["status_url"].as_str().unwrap().to_owned();
    let path = link.trim_start_matches(&app.base).to_owned();
    let id = case["id"].as_i64().unwrap();
    let origin = |request: reqwest::RequestBuilder| request.header("Origin", app.base.as_str());
    // The customer writes back: an inbound message on the case, which ends a wait on them.
    app.sql(&format!("INSERT INTO case_pauses (case_id, from_at) VALUES ({id}, 1)")).await;
    let written = origin(no_redirects().post(app.url(&format!("{path}/reply"))))
        .form(&[("text", "Адрес: Тверская, 12, кв. 5")])
        .send()
        .await
        .unwrap();
    assert_eq!(written.status(), StatusCode::SEE_OTHER);
    let detail = app.store.case(id).await.unwrap();
    let last = detail.messages.last().unwrap();
    assert_eq!((last.direction, last.body.as_str()), (otklik_core::Direction::Inbound, "Адрес: Тверская, 12, кв. 5"));
    let work = app.store.case_work(id).await.unwrap();
    assert!(work.pauses.iter().all(|pause| pause.to.is_some()), "the wait on the customer ended: {:?}", work.pauses);
    let page = app.page(None, &format!("{path}?done=written")).await.text().await.unwrap();
    assert!(page.contains("Тверская, 12, кв. 5") && page.contains("Сообщение добавлено"), "{page}");
    let forged = no_redirects()
        .post(app.url(&format!("{path}/reply")))
        .header("Origin", "https://evil.example")
        .form(&[("text", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN, "a post from another site");
    // Rated only once resolved, and only once.
    let rate = |score: &'static str| {
        origin(no_redirects().post(app.url(&format!("{path}/rate"))))
            .form(&[("score", score), ("comment", "Быстро")])
            .send()
    };
    let early = rate("5").await.unwrap();
    assert_eq!(early.headers()[LOCATION], format!("{path}?problem=unresolved#rate"));
    assert!(app.store.rating(id).await.unwrap().is_none(), "not before it is resolved");
    let patch = otklik_core::CasePatch { status: Some(otklik_core::Status::Resolved), ..Default::default() };
    app.store
        .update_case(id, &patch, otklik_store::Stamp { at: time::OffsetDateTime::now_utc(), actor: "anna".into() })
        .await
        .unwrap();
    let page = app.page(None, &path).await.text().await.unwrap();
    assert!(page.contains("name=\"score\""), "the rating form once resolved");
    assert_eq!(rate("9").await.unwrap().headers()[LOCATION], format!("{path}?problem=rating#rate"));
    let rated = rate("4").await.unwrap();
    assert_eq!(rated.headers()[LOCATION], format!("{path}?done=rated#rate"));
    assert_eq!(app.store.rating(id).await.unwrap(), Some((4, Some("Быстро".into()))));
    assert_eq!(rate("1").await.unwrap().headers()[LOCATION], format!("{path}?problem=rated#rate"), "once");
    assert_eq!(app.store.rating(id).await.unwrap().unwrap().0, 4);
    // Expired a day after it was resolved; revoked by an agent; wrong: the same page.
    let wrong = app.page(None, "/s/AAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!(wrong.status(), StatusCode::NOT_FOUND);
    let wrong_page = wrong.text().await.unwrap();
    app.sql(&format!("UPDATE cases SET resolved_at = resolved_at - 172800000 WHERE id = {id}")).await;
    let expired = app.page(None, &path).await;
    assert_eq!(expired.status(), StatusCode::NOT_FOUND);
    assert_eq!(expired.text().await.unwrap(), wrong_page, "expired looks like wrong");
    app.sql(&format!("UPDATE cases SET resolved_at = NULL, status = 'open' WHERE id = {id}")).await;
    assert_eq!(app.page(None, &path).await.status(), StatusCode::OK);
    let agent = app.person("anna-agent", Role::Agent).await;
    let revoked =
        app.form(Some(&agent), &format!("/cases/{}/revoke-link", case["reference"].as_str().unwrap()), &[], None).await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    let gone = app.page(None, &path).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert_eq!(gone.text().await.unwrap(), wrong_page, "revoked looks like wrong");
    let written =
        origin(no_redirects().post(app.url(&format!("{path}/reply")))).form(&[("text", "Ещё")]).send().await.unwrap();
    assert_eq!(written.status(), StatusCode::NOT_FOUND, "a revoked link takes nothing");
    app.finish().await;
}

async fn staff_log_a_call_that_follows_its_kinds_playbook(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    app.store
        .create_location(
            &otklik_store::NewLocationRecord {
                slug: "center".into(),
                name: "Центр".into(),
                address: None,
                time_zone: None,
                hours: None,
            },
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    let agent = app.person("anna", Role::Agent).await;
    let form = app.page(Some(&agent), "/cases/new").await.text().await.unwrap();
    assert!(form.contains("value=\"center\""), "the locations to choose from");
    let fields = [
        ("channel", "phone"),
        ("text", "Позвонила клиентка: курьер опоздал на час, еда остыла"),
        ("kind", "complaint"),
        ("location", "center"),
        ("name", "Мария"),
        ("phone", "+7 916 123 45 67"),
    ];
    let logged = app.form(Some(&agent), "/cases/new", &fields, None).await;
    assert_eq!(logged.status(), StatusCode::SEE_OTHER);
    let to = logged.headers()[LOCATION].to_str().unwrap().to_owned();
    let case =
        &app.store.list_cases(&otklik_core::CaseFilter { limit: 1, ..Default::default() }).await.unwrap().items[0];
    assert_eq!(to, format!("/cases/{}", case.reference()));
    assert_eq!(
        (case.channel, case.kind, case.location.as_deref()),
        (otklik_core::Channel::Phone, otklik_core::Kind::Complaint, Some("center"))
    );
    let detail = app.store.case(case.id).await.unwrap();
    assert_eq!(detail.customer.name.as_deref(), Some("Мария"));
    assert_eq!(detail.customer.identities.len(), 1, "the phone is the customer's");
    let (status, actions) = app.get(&app.agent, &format!("/api/v1/feedback/{}/actions", case.id)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(actions.to_string().contains("acknowledge"), "the complaint playbook's first step: {actions}");
    let survey = app
        .form(Some(&agent), "/cases/new", &[("channel", "survey"), ("text", "Всё понравилось, спасибо!")], None)
        .await;
    assert_eq!(survey.status(), StatusCode::SEE_OTHER);
    let bad = app.form(Some(&agent), "/cases/new", &[("channel", "pigeon"), ("text", "x")], None).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    app.finish().await;
}

/// The text of the QR code in a grey image.
fn decode_qr(width: usize, height: usize, grey: &[u8]) -> String {
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| grey[y * width + x]);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the poster");
    grids[0].decode().expect("the QR code decodes").1
}

fn grey_of(pixmap: &resvg::tiny_skia::Pixmap) -> Vec<u8> {
    pixmap.pixels().iter().map(|p| p.demultiply().green()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_posters_qr_code_opens_the_locations_form_at_the_public_url() {
    let app = TestApp::start_with(|config| {
        config.public_url = Some("https://feedback.example.com".into());
        config.business_name = Some("Пицца «Уголок»".into());
    })
    .await;
    app.store
        .create_location(
            &otklik_store::NewLocationRecord {
                slug: "tverskaya".into(),
                name: "Тверская, 12".into(),
                address: None,
                time_zone: None,
                hours: None,
            },
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    let expected = "https://feedback.example.com/f/tverskaya";
    let fetch = |file: &'static str| {
        let url = app.url(&format!("/f/tverskaya/{file}?lang=uk"));
        async move {
            let response = reqwest::get(url).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{file}");
            let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
            (content_type, response.bytes().await.unwrap().to_vec())
        }
    };
    // SVG: the words in the customer's language, and the code, rendered here.
    let (content_type, svg) = fetch("poster.svg").await;
    assert!(content_type.starts_with("image/svg+xml"));
    let svg = String::from_utf8(svg).unwrap();
    assert!(svg.contains("Пицца «Уголок»") && svg.contains("Тверская, 12") && svg.contains("Розкажіть"), "{svg}");
    let tree = resvg::usvg::Tree::from_str(&svg, &resvg::usvg::Options::default()).unwrap();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(1240, 1754).unwrap();
    let scale = 1240.0 / tree.size().width();
    resvg::render(&tree, resvg::tiny_skia::Transform::from_scale(scale, scale), &mut pixmap.as_mut());
    assert_eq!(decode_qr(1240, 1754, &grey_of(&pixmap)), expected, "the SVG's code");
    // PNG: A4 at 300 dpi.
    let (content_type, png) = fetch("poster.png").await;
    assert_eq!(content_type, "image/png");
    let pixmap = resvg::tiny_skia::Pixmap::decode_png(&png).unwrap();
    assert_eq!((pixmap.width(), pixmap.height()), (2480, 3508), "A4 at 300 dpi");
    assert_eq!(decode_qr(2480, 3508, &grey_of(&pixmap)), expected, "the PNG's code");
    // PDF: one A4 page with that image.
    let (content_type, pdf) = fetch("poster.pdf").await;
    assert_eq!(content_type, "application/pdf");
    assert!(pdf.starts_with(b"%PDF-1.4") && pdf.ends_with(b"%%EOF\n"));
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains("/MediaBox [0 0 595.28 841.89]"), "an A4 page");
    let start = text.find("/Subtype /Image").unwrap();
    let stream = pdf[start..].windows(7).position(|w| w == b"stream\n").unwrap() + start + 7;
    let end = pdf[stream..].windows(10).position(|w| w == b"\nendstream").unwrap() + stream;
    let grey = miniz_oxide::inflate::decompress_to_vec_zlib(&pdf[stream..end]).unwrap();
    assert_eq!(grey.len(), 2480 * 3508);
    assert_eq!(decode_qr(2480, 3508, &grey), expected, "the PDF's code");
    assert_eq!(reqwest::get(app.url("/f/nowhere/poster.png")).await.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(reqwest::get(app.url("/f/tverskaya/poster.gif")).await.unwrap().status(), StatusCode::NOT_FOUND);
}

async fn a_message_from_a_channel_that_can_answer_is_acknowledged_through_it(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let mut ids = Vec::new();
    for channel in ["email", "telegram", "web"] {
        let body = json!({"text": "Заказ не пришёл", "kind": "complaint", "channel": channel, "customer": {"email": format!("{channel}@example.com")}});
        let (status, case) = app.post(&app.intake, "/api/v1/feedback", body).await;
        assert_eq!(status, StatusCode::CREATED, "{case}");
        ids.push(case["id"].as_i64().unwrap());
    }
    for (id, acknowledged) in ids.into_iter().zip([true, true, false]) {
        let outbox = app.store.case_work(id).await.unwrap().outbox;
        let templates: Vec<&str> = outbox.iter().map(|m| m.template.as_str()).collect();
        if acknowledged {
            assert_eq!(templates, ["complaint.received"], "queued with the case");
        } else {
            assert!(templates.is_empty(), "a web form's customer reads it on the page");
        }
    }
    app.finish().await;
}

async fn a_far_locations_deadlines_count_business_hours_on_its_own_clocks(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let admin = admin_token(&app).await;
    let (status, _) = app
        .post(
            &admin,
            "/api/v1/locations",
            json!({"slug": "vladivostok", "name": "Владивосток", "time_zone": "Asia/Vladivostok"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let mut due = Vec::new();
    for location in [Some("vladivostok"), None] {
        let mut body = json!({"text": "Курьер опоздал", "kind": "complaint", "customer": {"email": "v@example.com"}});
        if let Some(location) = location {
            body["location"] = json!(location);
        }
        let (status, case) = app.post(&app.intake, "/api/v1/feedback", body).await;
        assert_eq!(status, StatusCode::CREATED, "{case}");
        let id = case["id"].as_i64().unwrap();
        due.push(app.store.case(id).await.unwrap().case.due_at.expect("a first-response deadline"));
    }
    // A business-hours deadline falls within working hours (09:00-18:00, Monday to Friday) on
    // the clocks it counts on: Vladivostok's for the far location, Moscow's for the rest.
    for (at, zone) in [(due[0], "Asia/Vladivostok"), (due[1], "Europe/Moscow")] {
        let local = otklik_core::in_time_zone(zone, at).unwrap();
        let minutes = u16::from(local.hour()) * 60 + u16::from(local.minute());
        assert!((9 * 60..=18 * 60).contains(&minutes), "{at} is {local} in {zone}");
        assert!(local.weekday().number_from_monday() <= 5, "{local} is a working day in {zone}");
    }
    assert_ne!(due[0], due[1], "seven hours apart, the two clocks never agree");
    // A location open only at weekends counts its cases' deadlines in its own hours.
    let bad = json!({"slug": "bad-hours", "name": "X", "hours": "weekdays 9-18"});
    assert_eq!(app.post(&admin, "/api/v1/locations", bad).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let weekend = json!({"slug": "weekend", "name": "Ярмарка", "hours": "sat-sun 10:00-16:00"});
    let (status, created) = app.post(&admin, "/api/v1/locations", weekend).await;
    assert_eq!((status, created["hours"].as_str()), (StatusCode::CREATED, Some("sat-sun 10:00-16:00")));
    let body = json!({"text": "Курьер опоздал", "kind": "complaint", "location": "weekend", "customer": {"email": "w@example.com"}});
    let (_, case) = app.post(&app.intake, "/api/v1/feedback", body).await;
    let at = app.store.case(case["id"].as_i64().unwrap()).await.unwrap().case.due_at.unwrap();
    let local = otklik_core::in_time_zone("Europe/Moscow", at).unwrap();
    let minutes = u16::from(local.hour()) * 60 + u16::from(local.minute());
    assert!(local.weekday().number_from_monday() >= 6 && (10 * 60..=16 * 60).contains(&minutes), "{local}");
    app.finish().await;
}

async fn a_location_written_as_text_is_matched_to_a_location_later(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    for text in ["Тверская 12", "Тверская 12", "склад"] {
        let body = json!({"text": "Курьер опоздал", "location": text, "customer": {"email": "m@example.com"}});
        assert_eq!(app.post(&app.intake, "/api/v1/feedback", body).await.0, StatusCode::CREATED);
    }
    let record =
        otklik_store::NewLocationRecord {
            slug: "tverskaya".into(), name: "Тверская, 12".into(), ..Default::default()
        };
    app.store.create_location(&record, time::OffsetDateTime::now_utc()).await.unwrap();
    let manager = app.person("boss", Role::Manager).await;
    let page = app.page(Some(&manager), "/locations").await.text().await.unwrap();
    assert!(page.contains("«Тверская 12» (2)") && page.contains("«склад» (1)"), "{page}");
    let matched =
        app.form(Some(&manager), "/locations/match", &[("text", "Тверская 12"), ("slug", "tverskaya")], None).await;
    assert_eq!(matched.status(), StatusCode::SEE_OTHER);
    let cases = app
        .store
        .list_cases(&otklik_core::CaseFilter { location: Some("tverskaya".into()), limit: 10, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(cases.items.len(), 2);
    let events = app.store.case(cases.items[0].id).await.unwrap().events;
    assert!(
        events.iter().any(|e| e.field.as_deref() == Some("location") && e.new_value.as_deref() == Some("tverskaya"))
    );
    let page = app.page(Some(&manager), "/locations").await.text().await.unwrap();
    assert!(!page.contains("«Тверская 12»") && page.contains("«склад» (1)"));
    let nowhere = app.form(Some(&manager), "/locations/match", &[("text", "склад"), ("slug", "nowhere")], None).await;
    assert_eq!(nowhere.status(), StatusCode::NOT_FOUND);
    let agent = app.person("anna", Role::Agent).await;
    let forbidden = app.form(Some(&agent), "/locations/match", &[("text", "склад"), ("slug", "tverskaya")], None).await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    app.finish().await;
}
