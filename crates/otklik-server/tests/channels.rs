//! The channels end to end, against the real protocols: e-mail through Dovecot (IMAP) and
//! OpenSMTPD (SMTP) on loopback (`scripts/mail-servers`, started by `scripts/test`), Telegram
//! through a fake Bot API and SMS through a fake provider that speak the real JSON and form
//! formats, and the social webhooks signed as the networks sign them. For each: a message
//! arrives and opens a case with the right channel, customer and kind; the agent's reply reaches
//! the customer on the same channel; the customer's answer lands on the same case; a redelivered
//! message creates nothing; forged signatures and broken input change nothing.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use futures_util::StreamExt;
use otklik_channels::signature::sign;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Db, TestApp};

/// Waits up to 30 s for `check` to give something.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..300 {
        if let Some(found) = check().await {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn cases(app: &TestApp) -> Vec<Value> {
    let (status, list) = app.get(&app.agent, "/api/v1/feedback?include_hidden=true&limit=200").await;
    assert_eq!(status, StatusCode::OK);
    list["items"].as_array().unwrap().clone()
}

async fn case(app: &TestApp, id: i64) -> Value {
    let (status, case) = app.get(&app.agent, &format!("/api/v1/feedback/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{case}");
    case
}

async fn reply(app: &TestApp, id: i64, body: &str) {
    let (status, answer) = app
        .post(&app.agent, &format!("/api/v1/feedback/{id}/messages"), json!({ "kind": "reply", "body": body }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

async fn case_customer(app: &TestApp, id: i64) -> i64 {
    case(app, id).await["customer"]["id"].as_i64().unwrap()
}

fn inbound_count(case: &Value) -> usize {
    case["messages"].as_array().unwrap().iter().filter(|m| m["direction"] == "inbound").count()
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{:08x}", rand::random::<u32>())
}

// ---------------------------------------------------------------------------------------------
// E-mail

/// Every mail in a mailbox, parsed: (headers+body as text, seen).
async fn mailbox(server: &str, user: &str) -> Vec<(String, bool)> {
    let mut session = support::mail::imap(server, user).await;
    let mut mails = Vec::new();
    {
        let mut fetched = session.fetch("1:*", "(FLAGS BODY.PEEK[])").await.unwrap();
        while let Some(fetch) = fetched.next().await {
            let fetch = fetch.unwrap();
            let seen = fetch.flags().any(|flag| flag == async_imap::types::Flag::Seen);
            let body = fetch.body().map(|body| String::from_utf8_lossy(body).into_owned()).unwrap_or_default();
            mails.push((body, seen));
        }
    }
    let _ = session.logout().await;
    mails
}

async fn append(server: &str, user: &str, mail: &str) {
    let mut session = support::mail::imap(server, user).await;
    session.append("INBOX", None, None, mail.as_bytes()).await.unwrap();
    let _ = session.logout().await;
}

async fn send(smtp: &str, from: &str, to: &str, mail: &str) {
    use lettre::AsyncTransport;
    let (host, port) = smtp.split_once(':').unwrap();
    let transport = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous(host)
        .port(port.parse().unwrap())
        .build();
    let envelope = lettre::address::Envelope::new(Some(from.parse().unwrap()), vec![to.parse().unwrap()]).unwrap();
    transport.send_raw(&envelope, mail.as_bytes()).await.unwrap();
}

fn header<'a>(mail: &'a str, name: &str) -> Option<&'a str> {
    mail.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

async fn email_conversation(db: Db) {
    let Some((imap_server, smtp_server)) = support::mail::servers() else { return };
    let support = format!("{}@otklik.test", unique("support"));
    let customer = format!("{}@example.test", unique("customer"));
    let imap_url = format!("imap://{}:secret@{imap_server}/INBOX", support.replace('@', "%40"));
    let smtp_url = format!("smtp://{smtp_server}");
    let from = format!("Кофейня Зерно <{support}>");
    let Some(app) = TestApp::start_on(db, |config| {
        config.email = Some(otklik_channels::email::Settings {
            imap_url: Some(imap_url),
            smtp_url: Some(smtp_url),
            from: Some(from),
            poll_seconds: Some(2),
            ..Default::default()
        });
    })
    .await
    else {
        return;
    };

    // The customer writes: a case opens, on the e-mail channel, as a complaint, from them.
    let first = format!(
        "From: Анна <{customer}>\r\nTo: {support}\r\nSubject: Холодный кофе\r\nMessage-ID: <first-{customer}>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nВчера принесли холодный кофе и нагрубили. Верните деньги!\r\n"
    );
    send(&smtp_server, &customer, &support, &first).await;
    let opened = eventually("the mail to become a case", || async {
        cases(&app).await.into_iter().find(|case| case["channel"] == "email")
    })
    .await;
    let id = opened["id"].as_i64().unwrap();
    let reference = opened["reference"].as_str().unwrap().to_owned();
    assert_eq!(opened["kind"], "complaint", "{opened}");
    let detail = case(&app, id).await;
    assert_eq!(detail["customer"]["identities"][0]["value"], customer.as_str(), "{detail}");

    // The acknowledgement reaches the customer within seconds, threaded and with the reference.
    let ack = eventually("the acknowledgement", || async { mailbox(&imap_server, &customer).await.into_iter().next() })
        .await
        .0;
    assert!(header(&ack, "Subject").unwrap().contains(&reference) || ack.contains(&reference), "{ack}");
    assert_eq!(header(&ack, "In-Reply-To"), Some(format!("<first-{customer}>").as_str()), "{ack}");
    assert_eq!(header(&ack, "Auto-Submitted"), Some("auto-replied"), "{ack}");
    assert!(ack.contains("text/plain") && ack.contains("text/html"), "{ack}");

    // The agent's reply reaches the customer by e-mail.
    reply(&app, id, "Анна, приносим извинения! Деньги вернём сегодня до 18:00.").await;
    let answer = eventually("the agent's reply", || async {
        let mails = mailbox(&imap_server, &customer).await;
        (mails.len() >= 2).then(|| mails[1].0.clone())
    })
    .await;
    let our_id = header(&answer, "Message-ID").unwrap().to_owned();
    assert!(our_id.contains(&reference), "{answer}");
    assert!(header(&answer, "References").unwrap().contains(&format!("<first-{customer}>")), "{answer}");

    // The customer answers the reply: it lands on the same case.
    let second = format!(
        "From: {customer}\r\nTo: {support}\r\nSubject: Re: Холодный кофе [{reference}]\r\nMessage-ID: <second-{customer}>\r\n\
         In-Reply-To: {our_id}\r\nReferences: <first-{customer}> {our_id}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Спасибо, жду.\r\n\r\n> Анна, приносим извинения!\r\n"
    );
    send(&smtp_server, &customer, &support, &second).await;
    eventually("the answer on the same case", || async { (inbound_count(&case(&app, id).await) == 2).then_some(()) })
        .await;
    let detail = case(&app, id).await;
    let last = detail["messages"].as_array().unwrap().iter().rfind(|m| m["direction"] == "inbound").unwrap().clone();
    assert_eq!(last["body"], "Спасибо, жду.", "the quoted mail is not kept: {last}");

    // A redelivered mail (the same Message-ID), an auto-reply and broken MIME create nothing,
    // and each is marked seen.
    append(&imap_server, &support, &first).await;
    let away = format!(
        "From: {customer}\r\nTo: {support}\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\n\
         Message-ID: <away-{customer}>\r\n\r\nI am away until Monday.\r\n"
    );
    append(&imap_server, &support, &away).await;
    append(&imap_server, &support, "this is not a mail at all\r\n").await;
    eventually("every mail in the support mailbox to be seen", || async {
        let mails = mailbox(&imap_server, &support).await;
        (mails.len() == 5 && mails.iter().all(|(_, seen)| *seen)).then_some(())
    })
    .await;
    assert_eq!(cases(&app).await.len(), 1, "nothing new was opened");
    assert_eq!(inbound_count(&case(&app, id).await), 2);
    // No answer to the robot either: the customer's mailbox holds the acknowledgement and the reply.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mailbox(&imap_server, &customer).await.len(), 2);
    // The outbox shows both as sent, and /metrics counts them.
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("otklik_outbox_messages{channel=\"email\",status=\"sent\"} 2"), "{metrics}");
    assert!(metrics.contains("otklik_inbound_messages_total{channel=\"email\",outcome=\"opened\"} 1"), "{metrics}");
    app.finish().await;
}

// ---------------------------------------------------------------------------------------------
// Telegram

/// A fake Bot API: updates pushed by the test are handed out by `getUpdates` from the offset
/// asked for; what the bot sends is recorded.
#[derive(Default)]
struct Bot {
    updates: Mutex<Vec<Value>>,
    sent: Mutex<Vec<Value>>,
    answered: Mutex<Vec<Value>>,
}

async fn fake_bot_api() -> (Arc<Bot>, String) {
    let bot = Arc::new(Bot::default());
    async fn get_updates(State(bot): State<Arc<Bot>>, Json(body): Json<Value>) -> Json<Value> {
        let offset = body["offset"].as_i64().unwrap_or(0);
        for _ in 0..10 {
            let ready: Vec<Value> = bot
                .updates
                .lock()
                .unwrap()
                .iter()
                .filter(|update| update["update_id"].as_i64().unwrap() >= offset)
                .cloned()
                .collect();
            if !ready.is_empty() {
                return Json(json!({ "ok": true, "result": ready }));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Json(json!({ "ok": true, "result": [] }))
    }
    async fn send_message(State(bot): State<Arc<Bot>>, Json(body): Json<Value>) -> Json<Value> {
        let mut sent = bot.sent.lock().unwrap();
        sent.push(body.clone());
        let id = sent.len() as i64 + 1000;
        Json(
            json!({ "ok": true, "result": { "message_id": id, "chat": { "id": body["chat_id"], "type": "private" }, "date": 0, "text": body["text"] } }),
        )
    }
    async fn answer_callback(State(bot): State<Arc<Bot>>, Json(body): Json<Value>) -> Json<Value> {
        bot.answered.lock().unwrap().push(body);
        Json(json!({ "ok": true, "result": true }))
    }
    let router = axum::Router::new()
        .route("/bot{token}/getUpdates", post(get_updates))
        .route("/bot{token}/sendMessage", post(send_message))
        .route("/bot{token}/answerCallbackQuery", post(answer_callback))
        .with_state(bot.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (bot, base)
}

fn telegram_message(update_id: i64, message_id: i64, chat: i64, text: &str) -> Value {
    json!({
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "from": { "id": chat, "is_bot": false, "first_name": "Мария", "language_code": "ru" },
            "chat": { "id": chat, "type": "private", "first_name": "Мария" },
            "date": 1_700_000_000,
            "text": text
        }
    })
}

async fn telegram_conversation(db: Db) {
    let (bot, base) = fake_bot_api().await;
    let Some(app) = TestApp::start_on(db, |config| {
        config.telegram = Some(otklik_channels::telegram::Settings {
            bot_token: Some("123:secret-token".into()),
            api_base: Some(base),
            poll_seconds: Some(1),
        });
    })
    .await
    else {
        return;
    };
    let chat = 555_000_111;
    let sent_to_chat =
        |bot: &Arc<Bot>| bot.sent.lock().unwrap().iter().filter(|m| m["chat_id"] == chat).cloned().collect::<Vec<_>>();

    // `/start` is greeted in the customer's language, and opens nothing.
    bot.updates.lock().unwrap().push(telegram_message(1, 1, chat, "/start"));
    let greeting = eventually("the greeting", || async { sent_to_chat(&bot).first().cloned() }).await;
    assert!(greeting["text"].as_str().unwrap().starts_with("Здравствуйте"), "{greeting}");

    // A message opens a case on the Telegram channel, acknowledged in the chat.
    bot.updates.lock().unwrap().push(telegram_message(
        2,
        2,
        chat,
        "Курьер опоздал на два часа, еда холодная. Это безобразие!",
    ));
    let opened =
        eventually("the case", || async { cases(&app).await.into_iter().find(|case| case["channel"] == "telegram") })
            .await;
    let id = opened["id"].as_i64().unwrap();
    let reference = opened["reference"].as_str().unwrap().to_owned();
    assert_eq!(opened["kind"], "complaint", "{opened}");
    let ack = eventually("the acknowledgement", || async {
        (sent_to_chat(&bot).len() >= 2).then(|| sent_to_chat(&bot)[1].clone())
    })
    .await;
    assert!(ack["text"].as_str().unwrap().contains(&reference), "{ack}");

    // The agent's reply goes to the chat; the customer's answer continues the case.
    reply(&app, id, "Мария, приносим извинения! Вернём стоимость доставки сегодня.").await;
    eventually("the reply in the chat", || async {
        sent_to_chat(&bot).iter().any(|m| m["text"].as_str().unwrap().contains("Вернём стоимость")).then_some(())
    })
    .await;
    bot.updates.lock().unwrap().push(telegram_message(3, 3, chat, "Спасибо!"));
    eventually("the answer on the case", || async { (inbound_count(&case(&app, id).await) == 2).then_some(()) }).await;

    // The same message delivered again (a new update of an old message) writes nothing; the
    // offset is kept in the database.
    bot.updates.lock().unwrap().push(telegram_message(4, 3, chat, "Спасибо!"));
    bot.updates.lock().unwrap().push(telegram_message(5, 5, chat, "/start"));
    eventually("the later updates", || async { (sent_to_chat(&bot).len() >= 4).then_some(()) }).await;
    assert_eq!(inbound_count(&case(&app, id).await), 2);
    assert_eq!(cases(&app).await.len(), 1);
    let offset = app.store.setting("channel:telegram.telegram.offset", &String::new).await.unwrap();
    assert_eq!(offset, "6");

    // A rating request comes with buttons, and a button's answer rates the case.
    app.sql(&format!("UPDATE cases SET status = 'resolved' WHERE id = {id}")).await;
    app.sql(&format!(
        "INSERT INTO outbox (case_id, template, channel, status, next_attempt_at, created_at) \
         VALUES ({id}, 'complaint.follow_up', 'telegram', 'pending', 0, 0)"
    ))
    .await;
    let ask = eventually("the rating request", || async {
        sent_to_chat(&bot).into_iter().find(|m| m.get("reply_markup").is_some())
    })
    .await;
    let button = ask["reply_markup"]["inline_keyboard"][0][4]["callback_data"].as_str().unwrap().to_owned();
    assert_eq!(button, format!("rate:{id}:5"));
    // Someone else's button press does not rate the case; the customer's does.
    for (update_id, from) in [(6, 999), (7, chat)] {
        bot.updates.lock().unwrap().push(json!({
            "update_id": update_id,
            "callback_query": { "id": format!("q{update_id}"), "from": { "id": from, "is_bot": false, "first_name": "X" }, "data": button }
        }));
    }
    eventually("both buttons answered", || async { (bot.answered.lock().unwrap().len() == 2).then_some(()) }).await;
    assert_eq!(app.store.rating(id).await.unwrap(), Some((5, None)));
    app.finish().await;
}

// ---------------------------------------------------------------------------------------------
// SMS

#[derive(Default)]
struct Provider {
    sent: Mutex<Vec<(String, Value)>>,
}

async fn fake_sms_provider() -> (Arc<Provider>, String) {
    let provider = Arc::new(Provider::default());
    async fn send(
        State(provider): State<Arc<Provider>>,
        headers: axum::http::HeaderMap,
        Json(body): Json<Value>,
    ) -> Json<Value> {
        let auth = headers.get("authorization").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let mut sent = provider.sent.lock().unwrap();
        sent.push((auth, body));
        Json(json!({ "id": format!("sms-{}", sent.len()), "status": "queued" }))
    }
    let router = axum::Router::new().route("/send", post(send)).with_state(provider.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (provider, base)
}

const SMS_SECRET: &str = "sms-webhook-secret-0123456789";

async fn hook(
    app: &TestApp,
    path: &str,
    content_type: &str,
    body: &[u8],
    signature: Option<String>,
) -> (StatusCode, Value) {
    let mut request = app.client.post(app.url(path)).header("content-type", content_type).body(body.to_vec());
    if let Some(signature) = signature {
        let name = if path.ends_with("/meta") { "X-Hub-Signature-256" } else { "X-Otklik-Signature" };
        request = request.header(name, signature);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.json().await.unwrap_or(Value::Null))
}

async fn sms_conversation(db: Db) {
    let (provider, base) = fake_sms_provider().await;
    let Some(app) = TestApp::start_on(db, |config| {
        config.sms = Some(otklik_channels::sms::Settings {
            send_url: Some(format!("{base}/send")),
            auth_header: Some("Authorization: Bearer provider-key".into()),
            webhook_secret: Some(SMS_SECRET.into()),
            ..Default::default()
        });
    })
    .await
    else {
        return;
    };
    let secret = SMS_SECRET.as_bytes();
    let first =
        r#"{"from":"+7 (999) 123-45-67","text":"Второй раз привозят не тот заказ! Верните деньги.","id":"in-1"}"#
            .as_bytes();
    let (status, answer) = hook(&app, "/hooks/sms", "application/json", first, Some(sign(secret, first))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["outcome"], "opened");
    let reference = answer["case"].as_str().unwrap().to_owned();
    let opened = cases(&app).await.into_iter().find(|case| case["reference"] == reference.as_str()).unwrap();
    let id = opened["id"].as_i64().unwrap();
    assert_eq!((opened["channel"].as_str(), opened["kind"].as_str()), (Some("sms"), Some("complaint")), "{opened}");

    // The acknowledgement goes through the provider, with its key, to the customer's phone.
    let (auth, ack) =
        eventually("the acknowledgement", || async { provider.sent.lock().unwrap().first().cloned() }).await;
    assert_eq!(auth, "Bearer provider-key");
    assert_eq!(ack["to"], "+79991234567");
    assert!(ack["text"].as_str().unwrap().contains(&reference), "{ack}");

    // The provider reports the acknowledgement delivered: the case's outbox says so.
    let report = br#"{"id":"sms-1","status":"delivered"}"#;
    let (status, answer) =
        hook(&app, "/hooks/sms/status", "application/json", report, Some(sign(secret, report))).await;
    assert_eq!((status, answer["matched"].as_bool()), (StatusCode::OK, Some(true)), "{answer}");
    let (_, work) = app.get(&app.agent, &format!("/api/v1/feedback/{id}/work")).await;
    assert_eq!(work["outbox"][0]["status"], "delivered", "{work}");
    let interim = b"MessageSid=sms-1&MessageStatus=sent";
    let (status, answer) =
        hook(&app, "/hooks/sms/status", "application/x-www-form-urlencoded", interim, Some(sign(secret, interim)))
            .await;
    assert_eq!((status, answer["matched"].as_bool()), (StatusCode::OK, Some(false)), "{answer}");
    let unsigned = hook(&app, "/hooks/sms/status", "application/json", report, None).await.0;
    assert_eq!(unsigned, StatusCode::UNAUTHORIZED);

    reply(&app, id, "Приносим извинения! Курьер привезёт верный заказ в течение часа.").await;
    eventually("the reply by SMS", || async { (provider.sent.lock().unwrap().len() == 2).then_some(()) }).await;

    // The provider's common form format continues the same case; the same id again is seen.
    let form = b"From=%2B79991234567&Body=%D0%96%D0%B4%D1%83&MessageSid=in-2";
    let signed = sign(secret, form);
    let (status, answer) =
        hook(&app, "/hooks/sms", "application/x-www-form-urlencoded", form, Some(signed.clone())).await;
    assert_eq!((status, answer["outcome"].as_str()), (StatusCode::OK, Some("continued")), "{answer}");
    let (status, answer) = hook(&app, "/hooks/sms", "application/x-www-form-urlencoded", form, Some(signed)).await;
    assert_eq!((status, answer["outcome"].as_str()), (StatusCode::OK, Some("redelivered")), "{answer}");
    assert_eq!(inbound_count(&case(&app, id).await), 2);

    // Forged, missing or malformed: refused, and nothing changes.
    let other = br#"{"from":"+79990000000","text":"Hi","id":"in-9"}"#;
    let refusals = [
        (other.to_vec(), "application/json", Some(sign(b"wrong-secret", other)), StatusCode::UNAUTHORIZED),
        (other.to_vec(), "application/json", None, StatusCode::UNAUTHORIZED),
        (other.to_vec(), "application/json", Some("sha256=zz".to_owned()), StatusCode::UNAUTHORIZED),
        (b"{\"from\":".to_vec(), "application/json", Some(sign(secret, b"{\"from\":")), StatusCode::BAD_REQUEST),
        (
            br#"{"from":"+79990000000","text":"Hi","id":"x","extra":1}"#.to_vec(),
            "application/json",
            None,
            StatusCode::UNAUTHORIZED,
        ),
        (b"hello".to_vec(), "text/plain", Some(sign(secret, b"hello")), StatusCode::UNSUPPORTED_MEDIA_TYPE),
    ];
    for (body, content_type, signature, expected) in refusals {
        let (status, problem) = hook(&app, "/hooks/sms", content_type, &body, signature).await;
        assert_eq!(status, expected, "{problem}");
        assert!(!problem["detail"].as_str().unwrap_or("").is_empty(), "a clear error: {problem}");
    }
    // Refused before it is read, the oversized body closes its connection: the next request
    // must not go out on a connection still carrying the unread rest of it.
    let huge = vec![b'a'; 2 * 1024 * 1024];
    let response = app
        .client
        .post(app.url("/hooks/sms"))
        .header("content-type", "application/json")
        .header("X-Otklik-Signature", sign(secret, &huge))
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.headers().get("connection").map(|v| v.to_str().unwrap()), Some("close"));
    assert_eq!(cases(&app).await.len(), 1);

    // "Reply 1 to 5": a lone digit answering the resolved case is its rating.
    app.sql(&format!("UPDATE cases SET status = 'resolved' WHERE id = {id}")).await;
    let score = br#"{"from":"+79991234567","text":"5","id":"in-3"}"#;
    let (status, answer) = hook(&app, "/hooks/sms", "application/json", score, Some(sign(secret, score))).await;
    assert_eq!((status, answer["outcome"].as_str()), (StatusCode::OK, Some("continued")), "{answer}");
    assert_eq!(app.store.rating(id).await.unwrap(), Some((5, None)));
    app.finish().await;
}

// ---------------------------------------------------------------------------------------------
// Social networks and review sites

const SOCIAL_SECRET: &str = "social-webhook-secret-0123456789";
const META_SECRET: &str = "meta-app-secret-0123456789";

async fn social_items(db: Db) {
    let Some(app) = TestApp::start_on(db, |config| {
        config.social = Some(otklik_channels::social::Settings {
            webhook_secret: Some(SOCIAL_SECRET.into()),
            meta_app_secret: Some(META_SECRET.into()),
            meta_verify_token: Some("verify-me".into()),
            ..Default::default()
        });
    })
    .await
    else {
        return;
    };
    let review = serde_json::to_vec(&json!({
        "source": "yandex_maps", "external_id": "rev-1", "url": "https://maps.example/org/1/reviews/rev-1",
        "text": "Ужасное обслуживание, ждали час, официант нагрубил. Больше не придём.", "public": true,
        "author": { "name": "Пётр", "handle": "@petr", "followers": 25000 }, "rating": 1
    }))
    .unwrap();
    let (status, answer) =
        hook(&app, "/hooks/social", "application/json", &review, Some(sign(SOCIAL_SECRET.as_bytes(), &review))).await;
    assert_eq!((status, answer["outcome"].as_str()), (StatusCode::OK, Some("opened")), "{answer}");
    let opened = cases(&app).await.into_iter().next().unwrap();
    let id = opened["id"].as_i64().unwrap();
    assert_eq!(opened["channel"], "review");
    assert_eq!(opened["public"], true);
    let detail = case(&app, id).await;
    assert_eq!(detail["customer"]["followers"], 25000, "{detail}");
    // Seen again: nothing new.
    let (_, answer) =
        hook(&app, "/hooks/social", "application/json", &review, Some(sign(SOCIAL_SECRET.as_bytes(), &review))).await;
    assert_eq!(answer["outcome"], "redelivered");

    // The brand's answer is marked "reply on the site", with the review's address.
    reply(
        &app,
        id,
        "Пётр, приносим извинения за ожидание и грубость. Мы разберёмся и свяжемся с вами сегодня до 18:00.",
    )
    .await;
    let work = eventually("the answer marked for the site", || async {
        let (_, work) = app.get(&app.agent, &format!("/api/v1/feedback/{id}/work")).await;
        work["outbox"].as_array().unwrap().iter().find(|m| m["status"] == "on_site").cloned()
    })
    .await;
    assert_eq!(work["note"], "https://maps.example/org/1/reviews/rev-1", "{work}");

    // "Move to private": the brand's public line, then the case goes on in private.
    let (status, moved) = app.post(&app.agent, &format!("/api/v1/feedback/{id}/private"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["public"], false);
    let (status, again) = app.post(&app.agent, &format!("/api/v1/feedback/{id}/private"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    eventually("the public line marked for the site", || async {
        let (_, work) = app.get(&app.agent, &format!("/api/v1/feedback/{id}/work")).await;
        work["outbox"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["template"] == "public.move_private" && m["status"] == "on_site")
            .then_some(())
    })
    .await;

    // Refusals change nothing.
    let forged = sign(b"not-the-secret", &review);
    assert_eq!(
        hook(&app, "/hooks/social", "application/json", &review, Some(forged)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let unknown =
        br#"{"source":"vk","external_id":"1","url":null,"text":"x","public":true,"author":{"handle":"a"},"kind":"x"}"#;
    let (status, problem) =
        hook(&app, "/hooks/social", "application/json", unknown, Some(sign(SOCIAL_SECRET.as_bytes(), unknown))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("kind"), "{problem}");
    let broken = b"{\"source\":";
    assert_eq!(
        hook(&app, "/hooks/social", "application/json", broken, Some(sign(SOCIAL_SECRET.as_bytes(), broken))).await.0,
        StatusCode::BAD_REQUEST
    );

    // Meta: the subscription check, then a signed Instagram comment.
    let challenge = app
        .client
        .get(app.url("/hooks/social/meta?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444"))
        .send()
        .await
        .unwrap();
    assert_eq!(challenge.status(), StatusCode::OK);
    assert_eq!(challenge.text().await.unwrap(), "1158201444");
    let wrong = app
        .client
        .get(app.url("/hooks/social/meta?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let comment = serde_json::to_vec(&json!({
        "object": "instagram",
        "entry": [{ "id": "17841400000", "time": 1_700_000_000, "changes": [{ "field": "comments", "value": {
            "from": { "id": "232323", "username": "olga.k" }, "media": { "id": "1790", "media_product_type": "FEED" },
            "id": "17865799348089039", "text": "Где мой заказ? Жду третий день, никто не отвечает!" } }] }]
    }))
    .unwrap();
    let (status, problem) =
        hook(&app, "/hooks/social/meta", "application/json", &comment, Some(sign(b"wrong", &comment))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
    let (status, answer) =
        hook(&app, "/hooks/social/meta", "application/json", &comment, Some(sign(META_SECRET.as_bytes(), &comment)))
            .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["cases"][0]["outcome"], "opened");
    let social = cases(&app).await.into_iter().find(|case| case["channel"] == "social").unwrap();
    assert_eq!(social["public"], true);
    assert_eq!(cases(&app).await.len(), 2);
    app.finish().await;
}

/// A hook whose channel is not configured answers 404, as if it did not exist.
async fn unconfigured_hooks_do_not_exist(db: Db) {
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    for path in ["/hooks/sms", "/hooks/social", "/hooks/social/meta"] {
        let (status, problem) = hook(&app, path, "application/json", b"{}", Some(sign(b"x", b"{}"))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {problem}");
    }
    app.finish().await;
}

/// One customer across channels: a phone seen by SMS and then in a web form is one customer; two
/// records of one person merge with nothing lost; an identity is added to a customer.
async fn one_customer_across_channels(db: Db) {
    let Some(app) = TestApp::start_on(db, |config| {
        config.sms =
            Some(otklik_channels::sms::Settings { webhook_secret: Some(SMS_SECRET.into()), ..Default::default() });
    })
    .await
    else {
        return;
    };
    let sms = br#"{"from":"+79995550011","text":"Where is my order 77?","id":"x-1"}"#;
    let (status, answer) =
        hook(&app, "/hooks/sms", "application/json", sms, Some(sign(SMS_SECRET.as_bytes(), sms))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let by_sms = cases(&app).await[0]["customer_id"].as_i64().unwrap();
    let (status, web) = app
        .post(
            &app.intake,
            "/api/v1/feedback",
            json!({
                "text": "Order 77 again: nobody called me back.", "channel": "web",
                "customer": { "name": "Ivan", "phone": "+7 999 555-00-11", "email": "ivan@example.test" }
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{web}");
    assert_eq!(
        case_customer(&app, web["id"].as_i64().unwrap()).await,
        by_sms,
        "the same phone is the same customer: {web}"
    );

    // Another record of the same person (a Telegram account) merges into this one.
    let (status, other) = app
        .post(
            &app.intake,
            "/api/v1/feedback",
            json!({
                "text": "Hello, a question about delivery times.", "channel": "telegram",
                "customer": { "telegram": "424242" }
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    let other_customer = case_customer(&app, other["id"].as_i64().unwrap()).await;
    assert_ne!(other_customer, by_sms);
    let (status, merged) =
        app.post(&app.agent, &format!("/api/v1/customers/{by_sms}/merge"), json!({ "from": other_customer })).await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    let kinds: Vec<&str> =
        merged["identities"].as_array().unwrap().iter().map(|i| i["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"telegram") && kinds.contains(&"phone"), "{merged}");
    // The web form's e-mail did not join: a form proves nothing about who wrote it.
    assert!(!kinds.contains(&"email"), "{merged}");
    // The merged record leads to the kept one, with every case and the merge in its history.
    let (status, kept) = app.get(&app.agent, &format!("/api/v1/customers/{other_customer}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kept["id"].as_i64(), Some(by_sms));
    assert_eq!(kept["cases"].as_array().unwrap().len(), 3, "{kept}");
    assert!(kept["events"].as_array().unwrap().iter().any(|e| e["action"] == "merged"), "{kept}");
    let (status, again) =
        app.post(&app.agent, &format!("/api/v1/customers/{by_sms}/merge"), json!({ "from": other_customer })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    let (status, itself) =
        app.post(&app.agent, &format!("/api/v1/customers/{by_sms}/merge"), json!({ "from": by_sms })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{itself}");

    // An identity is added; one that is another customer's is refused.
    let (status, added) = app
        .post(
            &app.agent,
            &format!("/api/v1/customers/{by_sms}/identities"),
            json!({ "kind": "email", "value": "Ivan.Work@Example.test" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert!(added["identities"].as_array().unwrap().iter().any(|i| i["value"] == "ivan.work@example.test"));
    let (status, stranger) = app
        .post(
            &app.intake,
            "/api/v1/feedback",
            json!({ "text": "A question.", "channel": "web", "customer": { "email": "olga@example.test" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{stranger}");
    let (status, taken) = app
        .post(
            &app.agent,
            &format!("/api/v1/customers/{by_sms}/identities"),
            json!({ "kind": "email", "value": "olga@example.test" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{taken}");
    let (status, bad) = app
        .post(&app.agent, &format!("/api/v1/customers/{by_sms}/identities"), json!({ "kind": "fax", "value": "1" }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    app.finish().await;
}

/// Outbound webhooks: an admin subscribes a URL to case events; each event it asked for
/// arrives once, in order, signed; a subscriber that fails is tried again later.
async fn webhooks_deliver_case_events(db: Db) {
    #[derive(Default)]
    struct Receiver {
        got: Mutex<Vec<(String, String, Value)>>,
    }
    async fn receive(
        State(receiver): State<Arc<Receiver>>,
        headers: axum::http::HeaderMap,
        body: axum::body::Bytes,
    ) -> axum::http::StatusCode {
        let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let signed = otklik_channels::signature::verify(
            "X-Otklik-Signature",
            Some(&header("x-otklik-signature")),
            b"crm-secret-0123456789",
            &body,
        );
        assert!(signed.is_ok(), "every delivery is signed: {signed:?}");
        receiver.got.lock().unwrap().push((
            header("x-otklik-event"),
            header("x-otklik-delivery"),
            serde_json::from_slice(&body).unwrap(),
        ));
        axum::http::StatusCode::NO_CONTENT
    }
    let receiver = Arc::new(Receiver::default());
    let router = axum::Router::new()
        .route("/crm", post(receive))
        .route("/down", post(|| async { axum::http::StatusCode::SERVICE_UNAVAILABLE }))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let crm = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let Some(app) = TestApp::start_on(db, |_| {}).await else { return };
    let (admin, digest) = otklik_server::auth::mint_token();
    app.store
        .create_token("admin", otklik_core::Role::Admin, None, &digest, time::OffsetDateTime::now_utc())
        .await
        .unwrap();

    let subscription = json!({ "url": format!("{crm}/crm"), "events": ["case.created", "case.rated"], "secret": "crm-secret-0123456789" });
    let (status, _) = app.post(&app.agent, "/api/v1/webhooks", subscription.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "admins only");
    let (status, problem) =
        app.post(&admin, "/api/v1/webhooks", json!({ "url": format!("{crm}/crm"), "events": ["case.exploded"] })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, hook) = app.post(&admin, "/api/v1/webhooks", subscription).await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    assert_eq!(hook["secret"], "crm-secret-0123456789");
    let (status, down) =
        app.post(&admin, "/api/v1/webhooks", json!({ "url": format!("{crm}/down"), "events": ["case.created"] })).await;
    assert_eq!(status, StatusCode::CREATED, "{down}");
    assert_eq!(down["secret"].as_str().unwrap().len(), 22, "a random secret: {down}");

    let (status, created) = app
        .post(
            &app.intake,
            "/api/v1/feedback",
            json!({ "text": "The parcel arrived broken, I want a refund.", "channel": "web" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().unwrap();
    let first = eventually("case.created", || async { receiver.got.lock().unwrap().first().cloned() }).await;
    assert_eq!(first.0, "case.created");
    assert_eq!(first.2["case"]["id"].as_i64(), Some(id));
    assert_eq!(first.2["case"]["reference"], created["reference"]);
    assert_eq!(first.1, first.2["id"].to_string());

    app.sql(&format!("UPDATE cases SET status = 'resolved' WHERE id = {id}")).await;
    let stamp = otklik_store::Stamp { at: time::OffsetDateTime::now_utc(), actor: "customer".into() };
    app.store.rate_case(id, 4, None, stamp).await.unwrap();
    let rated = eventually("case.rated", || async { receiver.got.lock().unwrap().get(1).cloned() }).await;
    assert_eq!((rated.0.as_str(), rated.2["to"].as_str()), ("case.rated", Some("4")), "{rated:?}");
    // Each once: nothing else arrives.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.got.lock().unwrap().len(), 2);

    // The failing subscriber waits to be tried again, its error on record; the secret is never
    // shown again.
    let (status, hooks) = app.get(&admin, "/api/v1/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    let failing = hooks.as_array().unwrap().iter().find(|hook| hook["id"] == down["id"]).unwrap().clone();
    assert!(failing["attempts"].as_u64().unwrap() >= 1, "{failing}");
    assert!(failing["last_error"].as_str().unwrap().contains("503"), "{failing}");
    assert!(hooks.as_array().unwrap().iter().all(|hook| hook["secret"].is_null()), "{hooks}");
    let response = app
        .client
        .delete(app.url(&format!("/api/v1/webhooks/{}", down["id"])))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    app.finish().await;
}

// ---------------------------------------------------------------------------------------------
// NPS campaigns

/// A manager asks chosen customers "how likely are you to recommend us?" by SMS and by Telegram:
/// the questions go out through the outbox, a lone number in reply (or a button) is the answer,
/// tied to the customer, counted once; customers with no address on the channel are skipped.
async fn nps_campaigns(db: Db) {
    let (provider, sms_base) = fake_sms_provider().await;
    let (bot, bot_base) = fake_bot_api().await;
    let Some(app) = TestApp::start_on(db, |config| {
        config.sms = Some(otklik_channels::sms::Settings {
            send_url: Some(format!("{sms_base}/send")),
            webhook_secret: Some(SMS_SECRET.into()),
            ..Default::default()
        });
        config.telegram = Some(otklik_channels::telegram::Settings {
            bot_token: Some("123:secret-token".into()),
            api_base: Some(bot_base),
            poll_seconds: Some(1),
        });
    })
    .await
    else {
        return;
    };
    let secret = SMS_SECRET.as_bytes();
    let (manager, digest) = otklik_server::auth::mint_token();
    let now = time::OffsetDateTime::now_utc();
    app.store.create_token("manager", otklik_core::Role::Manager, None, &digest, now).await.unwrap();
    // Three customers: one by SMS, one by Telegram, one known only by e-mail.
    let first = r#"{"from":"+79991112233","text":"Спасибо, всё понравилось","id":"c-1"}"#.as_bytes();
    let (status, answer) = hook(&app, "/hooks/sms", "application/json", first, Some(sign(secret, first))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let by_sms = cases(&app).await[0]["id"].as_i64().unwrap();
    let by_sms = case_customer(&app, by_sms).await;
    let chat = 777_000_222;
    bot.updates.lock().unwrap().push(telegram_message(1, 1, chat, "Отличный сервис, спасибо"));
    let by_telegram = eventually("the Telegram case", || async {
        let list = cases(&app).await;
        list.iter().find(|case| case["channel"] == "telegram").map(|case| case["id"].as_i64().unwrap())
    })
    .await;
    let by_telegram = case_customer(&app, by_telegram).await;
    let (status, created) = app
        .post(
            &app.intake,
            "/api/v1/feedback",
            json!({"text": "Хороший кофе", "customer": {"email": "olga@example.test"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let by_email = case_customer(&app, created["id"].as_i64().unwrap()).await;
    let sms_before = eventually("the acknowledgement", || async {
        let sent = provider.sent.lock().unwrap().len();
        (sent == 1).then_some(sent)
    })
    .await;

    // Only managers and admins run campaigns; a wrong channel or list is refused.
    let body = json!({"name": "Осень", "channel": "sms", "customers": [by_sms, by_email, 999_999, by_sms]});
    let (status, _) = app.post(&app.agent, "/api/v1/nps/campaigns", body.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for (wrong, field) in [
        (json!({"name": "x", "channel": "social", "customers": [by_sms]}), "channel"),
        (json!({"name": "x", "channel": "fax", "customers": [by_sms]}), "fax"),
        (json!({"name": "x", "channel": "sms", "customers": []}), "customers"),
        (json!({"name": " ", "channel": "sms", "customers": [by_sms]}), "name"),
        (json!({"name": "x", "channel": "sms", "customers": [by_email]}), "customers"),
    ] {
        let (status, problem) = app.post(&manager, "/api/v1/nps/campaigns", wrong.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{wrong}: {problem}");
        assert!(problem["detail"].as_str().unwrap().contains(field), "{wrong}: {problem}");
    }
    let (_, listed) = app.get(&manager, "/api/v1/nps/campaigns").await;
    assert_eq!(listed, json!([]), "a refused campaign leaves nothing");

    // By SMS: the phone is asked once; the e-mail-only and the unknown customer are skipped.
    let (status, started) = app.post(&manager, "/api/v1/nps/campaigns", body).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    assert_eq!(started["skipped"], json!([by_email, 999_999]), "{started}");
    assert_eq!(started["campaign"]["requested"], 1, "{started}");
    let campaign = started["campaign"]["id"].as_i64().unwrap();
    let question = eventually("the question by SMS", || async {
        provider.sent.lock().unwrap().get(sms_before).map(|(_, body)| body.clone())
    })
    .await;
    assert_eq!(question["to"], "+79991112233");
    let text = question["text"].as_str().unwrap();
    assert!(text.contains("от 0") && text.contains("10") && !text.contains("OT-"), "{text}");

    // "9" is the answer: recorded on the request, no case opened; the same message again
    // changes nothing.
    let count = cases(&app).await.len();
    let nine = br#"{"from":"+79991112233","text":"9","id":"a-1"}"#;
    for outcome in ["answered", "redelivered"] {
        let (status, answer) = hook(&app, "/hooks/sms", "application/json", nine, Some(sign(secret, nine))).await;
        assert_eq!((status, answer["outcome"].as_str()), (StatusCode::OK, Some(outcome)), "{answer}");
        assert!(answer["case"].as_str().unwrap().starts_with("NPS-"), "{answer}");
    }
    assert_eq!(cases(&app).await.len(), count);
    let (_, tally) = app.get(&manager, &format!("/api/v1/nps/campaigns/{campaign}")).await;
    assert_eq!(
        (&tally["sent"], &tally["answered"], &tally["promoters"], &tally["nps"]),
        (&json!(1), &json!(1), &json!(1), &json!(100)),
        "{tally}"
    );
    // Answered once: a later number is an ordinary message again.
    let again = br#"{"from":"+79991112233","text":"3","id":"a-2"}"#;
    let (_, answer) = hook(&app, "/hooks/sms", "application/json", again, Some(sign(secret, again))).await;
    assert_ne!(answer["outcome"], "answered", "{answer}");
    // Asked again, but the agent of their open case asks something after it: a number answers
    // the agent, and the survey still waits.
    let body = json!({"name": "Зима", "channel": "sms", "customers": [by_sms]});
    let (status, started) = app.post(&manager, "/api/v1/nps/campaigns", body).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let winter = started["campaign"]["id"].as_i64().unwrap();
    eventually("the second question by SMS", || async {
        (provider.sent.lock().unwrap().len() == sms_before + 2).then_some(())
    })
    .await;
    let open_case = cases(&app).await.into_iter().find(|c| c["channel"] == "sms").unwrap()["id"].as_i64().unwrap();
    reply(&app, open_case, "Спасибо! Подскажите, сколько гостей будет на вашем празднике?").await;
    let guests = br#"{"from":"+79991112233","text":"4","id":"a-3"}"#;
    let (_, answer) = hook(&app, "/hooks/sms", "application/json", guests, Some(sign(secret, guests))).await;
    assert_eq!(answer["outcome"], "continued", "{answer}");
    let (_, tally) = app.get(&manager, &format!("/api/v1/nps/campaigns/{winter}")).await;
    assert_eq!(tally["answered"], 0, "{tally}");

    // By Telegram: buttons 0 to 10; another person's press is not the customer's answer.
    let body = json!({"name": "Telegram", "channel": "telegram", "customers": [by_telegram]});
    let (status, started) = app.post(&manager, "/api/v1/nps/campaigns", body).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let second = started["campaign"]["id"].as_i64().unwrap();
    let asked = eventually("the question in Telegram", || async {
        bot.sent.lock().unwrap().iter().find(|m| m["chat_id"] == chat && m.get("reply_markup").is_some()).cloned()
    })
    .await;
    let keyboard = &asked["reply_markup"]["inline_keyboard"];
    let presses: Vec<String> = keyboard
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter().map(|b| b["callback_data"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(presses.len(), 11, "{asked}");
    let six = presses[6].clone();
    assert!(six.starts_with("nps:") && six.ends_with(":6"), "{six}");
    for (update_id, from) in [(2, 999), (3, chat)] {
        bot.updates.lock().unwrap().push(json!({
            "update_id": update_id,
            "callback_query": { "id": format!("q{update_id}"), "from": { "id": from, "is_bot": false, "first_name": "X" }, "data": six }
        }));
    }
    eventually("both presses answered", || async { (bot.answered.lock().unwrap().len() == 2).then_some(()) }).await;
    let (_, tally) = app.get(&manager, &format!("/api/v1/nps/campaigns/{second}")).await;
    assert_eq!(
        (&tally["answered"], &tally["detractors"], &tally["nps"]),
        (&json!(1), &json!(1), &json!(-100)),
        "{tally}"
    );
    let (_, listed) = app.get(&manager, "/api/v1/nps/campaigns").await;
    let ids: Vec<i64> = listed.as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![second, winter, campaign], "newest first");
    app.finish().await;
}

on_both_backends!(
    nps_campaigns,
    webhooks_deliver_case_events,
    one_customer_across_channels,
    email_conversation,
    telegram_conversation,
    sms_conversation,
    social_items,
    unconfigured_hooks_do_not_exist
);
