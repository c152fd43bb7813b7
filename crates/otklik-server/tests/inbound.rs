//! The inbound side of the channels: a driver's messages go through intake (`App::receive`) as the
//! channel's own source. The driver here replays a script of `Incoming` messages, as a real one
//! (e-mail, Telegram) hands over what it receives; everything after it is the real server and
//! database.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use otklik_channels::{Attachment, Inbound, Incoming, Refused, Registry, Sink, Taken, TakenAs};
use otklik_core::{Channel, Identity, NewCustomer};
use reqwest::StatusCode;
use support::{Db, TestApp};

/// A driver that hands over a fixed list of messages, in order, and keeps what intake said.
struct Scripted {
    messages: Mutex<Vec<Incoming>>,
    answers: Arc<Mutex<Vec<Result<Taken, Refused>>>>,
}

#[async_trait]
impl Inbound for Scripted {
    fn channel(&self) -> Channel {
        Channel::Email
    }

    async fn run(&self, sink: Arc<dyn Sink>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let messages = std::mem::take(&mut *self.messages.lock().unwrap());
        for message in messages {
            let answer = sink.take(message).await;
            self.answers.lock().unwrap().push(answer);
        }
        let _ = stop.wait_for(|stopped| *stopped).await;
    }
}

fn mail(id: &str, thread: &str, text: &str, attachments: Vec<Attachment>) -> Incoming {
    Incoming {
        related: Vec::new(),
        claims: Vec::new(),
        automatic: false,
        channel: Channel::Email,
        external_id: Some(id.into()),
        thread: Some(thread.into()),
        customer: NewCustomer {
            name: Some("Анна".into()),
            identities: vec![Identity::email("anna@example.com").unwrap()],
            ..NewCustomer::default()
        },
        vouched: false,
        subject: Some("Заказ 1234".into()),
        text: text.into(),
        attachments,
        public: false,
    }
}

fn receipt() -> Attachment {
    Attachment {
        name: "чек.pdf".into(), content_type: "application/pdf".into(), content: b"%PDF-1.4 receipt".to_vec()
    }
}

on_both_backends!(a_channels_messages_open_continue_and_are_not_taken_twice);

async fn a_channels_messages_open_continue_and_are_not_taken_twice(db: Db) {
    let answers = Arc::new(Mutex::new(Vec::new()));
    let script = vec![
        mail("<m1@example.com>", "<m1@example.com>", "Заказ 1234 не пришёл, прошла неделя", vec![receipt()]),
        mail("<m2@example.com>", "<m1@example.com>", "Напоминаю о заказе, ответьте, пожалуйста", vec![]),
        // The first message again (the mailbox delivered it twice), with its file.
        mail("<m1@example.com>", "<m1@example.com>", "Заказ 1234 не пришёл, прошла неделя", vec![receipt()]),
        mail("<m3@example.com>", "<m3@example.com>", "Спасибо курьеру Ивану, всё вовремя", vec![]),
        mail("<m4@example.com>", "<m4@example.com>", "   ", vec![]),
        // Someone else in the first mail's thread (both answered one newsletter): their own case.
        {
            let mut other = mail("<m5@example.com>", "<m1@example.com>", "А мой заказ 5678 тоже не пришёл", vec![]);
            other.customer.identities = vec![Identity::email("boris@example.com").unwrap()];
            other
        },
    ];
    let driver = Scripted { messages: Mutex::new(script), answers: answers.clone() };
    let registry = Registry::logging_only().with_inbound(Arc::new(driver));
    let Some(app) = TestApp::start_with_channels(db, |_| {}, Some(registry)).await else { return };
    let mut waited = 0;
    while answers.lock().unwrap().len() < 6 {
        assert!(waited < 200, "the driver's messages were not all taken");
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    let answers = answers.lock().unwrap().clone();
    let first = answers[0].as_ref().expect("the first message is taken");
    assert!(matches!(first.outcome, TakenAs::Opened { .. }), "{first:?}");
    let second = answers[1].as_ref().unwrap();
    assert_eq!((second.case_id, &second.outcome), (first.case_id, &TakenAs::Continued), "same thread, same case");
    let again = answers[2].as_ref().unwrap();
    assert_eq!((again.case_id, &again.outcome), (first.case_id, &TakenAs::Redelivered));
    let other = answers[3].as_ref().unwrap();
    assert!(matches!(other.outcome, TakenAs::Opened { .. }));
    assert_ne!(other.case_id, first.case_id, "another thread is another case");
    assert!(matches!(&answers[4], Err(Refused::Invalid(why)) if why.contains("text")), "{:?}", answers[4]);
    let stranger = answers[5].as_ref().unwrap();
    assert!(matches!(stranger.outcome, TakenAs::Opened { .. }), "another author in the thread: {stranger:?}");

    let (status, case) = app.get(&app.agent, &format!("/api/v1/feedback/{}", first.case_id.unwrap())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(case["reference"], first.reference.as_str());
    assert_eq!(case["channel"], "email");
    let bodies: Vec<&str> = case["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["Заказ 1234 не пришёл, прошла неделя", "Напоминаю о заказе, ответьте, пожалуйста"]);
    let files = case["attachments"].as_array().unwrap();
    assert_eq!(files.len(), 1, "a file sent twice is kept once: {files:?}");
    assert_eq!((files[0]["name"].as_str(), files[0]["size"].as_u64()), (Some("чек.pdf"), Some(16)));
    let file_id = files[0]["id"].as_i64().unwrap();
    let response = app
        .client
        .get(app.url(&format!("/api/v1/feedback/{}/attachments/{file_id}", first.case_id.unwrap())))
        .bearer_auth(&app.agent)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"%PDF-1.4 receipt");
    let (status, _) =
        app.get(&app.agent, &format!("/api/v1/feedback/{}/attachments/{}", other.case_id.unwrap(), file_id)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a file is read only on its own case");
    assert_eq!(app.case_count().await, 3);
    app.finish().await;
}
