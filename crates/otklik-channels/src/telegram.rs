//! Telegram: a bot collects with long polling (`getUpdates`, the offset kept in the database so
//! a restart neither loses nor repeats an update) and answers with `sendMessage`. A customer's
//! message opens or continues their case (the chat is the conversation); `/start` greets in the
//! customer's language; a rating request comes with buttons 1 to 5 whose answers
//! (`callback_query`) attach to the case they were sent for.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use otklik_core::customer::{Identity, NewCustomer};
use otklik_core::{Channel, Incoming, Language};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::watch;

use crate::{Ask, Inbound, Outbound, Refused, Rendered, Sent, Sink};

/// The `[telegram]` section of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The bot's token from @BotFather.
    pub bot_token: Option<String>,
    /// The Bot API's address (default `https://api.telegram.org`).
    pub api_base: Option<String>,
    /// Seconds a `getUpdates` long poll waits for news (default 25).
    pub poll_seconds: Option<u64>,
}

/// Where the update offset is kept.
const OFFSET: &str = "telegram.offset";

/// The Telegram driver.
pub struct Telegram {
    http: reqwest::Client,
    /// `{api_base}/bot{token}`: never logged.
    base: String,
    poll: u64,
}

impl Telegram {
    pub fn new(settings: &Settings) -> Result<Telegram, String> {
        let token = settings.bot_token.as_deref().filter(|token| !token.trim().is_empty());
        let token = token.ok_or("telegram.bot_token: is needed for the Telegram channel")?;
        let api_base = settings.api_base.as_deref().unwrap_or("https://api.telegram.org").trim_end_matches('/');
        if !(api_base.starts_with("https://") || api_base.starts_with("http://")) {
            return Err("telegram.api_base: must start with https:// or http://".into());
        }
        let poll = settings.poll_seconds.unwrap_or(25).clamp(1, 50);
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(poll + 15))
            .build()
            .map_err(|error| format!("telegram: {error}"))?;
        Ok(Telegram { http, base: format!("{api_base}/bot{}", token.trim()), poll })
    }

    /// Calls a Bot API method; its `result`, or the API's description of what went wrong.
    async fn call(&self, method: &str, body: &serde_json::Value) -> Result<serde_json::Value, String> {
        let response = self
            .http
            .post(format!("{}/{method}", self.base))
            .json(body)
            .send()
            .await
            // The error's text would carry the URL, and with it the token.
            .map_err(|error| format!("Telegram {method}: {}", error.without_url()))?;
        let status = response.status();
        let answer: ApiAnswer =
            response.json().await.map_err(|error| format!("Telegram {method}: {}", error.without_url()))?;
        match (answer.ok, answer.result) {
            (true, Some(result)) => Ok(result),
            _ => Err(format!(
                "Telegram {method}: {} {}{}",
                answer.error_code.unwrap_or(status.as_u16()),
                answer.description.unwrap_or_default(),
                answer
                    .parameters
                    .and_then(|p| p.retry_after)
                    .map(|s| format!(" (retry after {s} s)"))
                    .unwrap_or_default()
            )),
        }
    }

    /// One update: a message to intake, `/start` greeted, a rating button recorded. `Err` when
    /// intake cannot take it now (the offset then stays before it).
    async fn handle(&self, update: Update, sink: &Arc<dyn Sink>) -> Result<(), String> {
        if let Some(query) = update.callback_query {
            let button = query.data.as_deref().and_then(score_button);
            let answer = match (button, Identity::telegram(&query.from.id.to_string())) {
                (Some(button), Ok(identity)) => match button.record(sink, &identity).await {
                    Ok(()) => thanks(query.from.language()),
                    Err(Refused::Unavailable(reason)) => return Err(reason),
                    Err(Refused::Invalid(reason)) => {
                        tracing::info!(%reason, "telegram: a rating was not recorded");
                        already(query.from.language())
                    }
                },
                _ => "",
            };
            let body = json!({ "callback_query_id": query.id, "text": answer });
            if let Err(error) = self.call("answerCallbackQuery", &body).await {
                tracing::warn!(%error, "telegram: cannot answer a button");
            }
            return Ok(());
        }
        let Some(message) = update.message else { return Ok(()) };
        let Some(from) = message.from.clone() else { return Ok(()) };
        if message.chat.kind != "private" {
            // Groups and channels are not conversations with one customer.
            return Ok(());
        }
        let text = message.text.clone().or_else(|| message.caption.clone());
        if text.as_deref().map(str::trim) == Some("/start") {
            let body = json!({ "chat_id": message.chat.id, "text": greeting(from.language()) });
            return self.call("sendMessage", &body).await.map(|_| ()).or_else(|error| {
                tracing::warn!(%error, "telegram: cannot greet");
                Ok(())
            });
        }
        let text = match text {
            Some(text) if !text.trim().is_empty() => text,
            _ if message.photo.is_some() => "(a photo)".to_owned(),
            _ if message.document.is_some() => "(a file)".to_owned(),
            _ => return Ok(()),
        };
        let identity = Identity::telegram(&from.id.to_string()).map_err(|error| error.to_string())?;
        let name =
            [from.first_name.clone(), from.last_name.clone()].into_iter().flatten().collect::<Vec<_>>().join(" ");
        let incoming = Incoming {
            channel: Channel::Telegram,
            external_id: Some(format!("{}:{}", message.chat.id, message.message_id)),
            thread: Some(message.chat.id.to_string()),
            related: Vec::new(),
            claims: Vec::new(),
            automatic: false,
            customer: NewCustomer {
                name: (!name.trim().is_empty()).then_some(name),
                identities: vec![identity],
                followers: None,
                locale: from.language_code.clone(),
            },
            // Telegram vouches for who wrote.
            vouched: true,
            subject: None,
            text,
            attachments: Vec::new(),
            public: false,
        };
        match sink.take(incoming).await {
            Ok(_) => Ok(()),
            Err(Refused::Invalid(reason)) => {
                tracing::info!(%reason, "telegram: a message was not taken");
                Ok(())
            }
            Err(Refused::Unavailable(reason)) => Err(reason),
        }
    }
}

#[async_trait]
impl Outbound for Telegram {
    fn channels(&self) -> Vec<Channel> {
        vec![Channel::Telegram]
    }

    async fn deliver(&self, message: &Rendered) -> Result<Sent, String> {
        let chat = message.to.as_deref().ok_or("the customer has no Telegram chat")?;
        let chat: i64 =
            chat.parse().map_err(|_| format!("the customer's Telegram `{chat}` is a username, not a chat"))?;
        let mut body = json!({ "chat_id": chat, "text": message.text });
        let button = |prefix: &str, id: i64, score: u8| json!({ "text": score.to_string(), "callback_data": format!("{prefix}:{id}:{score}") });
        match (message.asks, message.case_id, message.survey_id) {
            (Ask::Rating, Some(case), _) => {
                let row: Vec<_> = (1..=5).map(|score| button("rate", case, score)).collect();
                body["reply_markup"] = json!({ "inline_keyboard": [row] });
            }
            (Ask::Recommendation, _, Some(request)) => {
                let rows: Vec<Vec<_>> = [0..=5, 6..=10]
                    .into_iter()
                    .map(|scores| scores.map(|score| button("nps", request, score)).collect())
                    .collect();
                body["reply_markup"] = json!({ "inline_keyboard": rows });
            }
            _ => {}
        }
        let sent = self.call("sendMessage", &body).await?;
        let id = sent.get("message_id").and_then(serde_json::Value::as_i64).map(|id| format!("{chat}:{id}"));
        Ok(id.map_or(Sent::Delivered, Sent::Named))
    }
}

#[async_trait]
impl Inbound for Telegram {
    fn channel(&self) -> Channel {
        Channel::Telegram
    }

    async fn run(&self, sink: Arc<dyn Sink>, mut stop: watch::Receiver<bool>) {
        let mut wait = Duration::from_secs(1);
        while !*stop.borrow() {
            let offset = match sink.position(OFFSET).await {
                Ok(offset) => offset.and_then(|offset| offset.parse::<i64>().ok()).unwrap_or(0),
                Err(error) => {
                    tracing::warn!(%error, "telegram: cannot read the offset");
                    tokio::select! { _ = tokio::time::sleep(wait) => {}, _ = stop.changed() => return }
                    wait = (wait * 2).min(Duration::from_secs(300));
                    continue;
                }
            };
            let body =
                json!({ "offset": offset, "timeout": self.poll, "allowed_updates": ["message", "callback_query"] });
            let polled = tokio::select! {
                polled = self.call("getUpdates", &body) => polled,
                _ = stop.changed() => return,
            };
            let updates: Vec<serde_json::Value> = match polled.map(serde_json::from_value) {
                Ok(Ok(updates)) => updates,
                Ok(Err(error)) => {
                    tracing::warn!(%error, "telegram: updates in an unknown shape");
                    Vec::new()
                }
                Err(error) => {
                    tracing::warn!(%error, retry_in = ?wait, "telegram: polling failed");
                    tokio::select! { _ = tokio::time::sleep(wait) => {}, _ = stop.changed() => return }
                    wait = (wait * 2).min(Duration::from_secs(300));
                    continue;
                }
            };
            for raw in updates {
                let Some(id) = raw.get("update_id").and_then(serde_json::Value::as_i64) else { continue };
                if id < offset {
                    continue;
                }
                // An update we cannot read is skipped, not retried for ever.
                let handled = match serde_json::from_value::<Update>(raw) {
                    Ok(update) => self.handle(update, &sink).await,
                    Err(error) => {
                        tracing::warn!(update = id, %error, "telegram: an update in an unknown shape was skipped");
                        Ok(())
                    }
                };
                if let Err(reason) = handled {
                    tracing::warn!(update = id, %reason, retry_in = ?wait, "telegram: intake cannot take messages now");
                    tokio::select! { _ = tokio::time::sleep(wait) => {}, _ = stop.changed() => return }
                    wait = (wait * 2).min(Duration::from_secs(300));
                    break;
                }
                if let Err(error) = sink.set_position(OFFSET, &(id + 1).to_string()).await {
                    tracing::warn!(%error, "telegram: cannot keep the offset; will retry");
                    tokio::select! { _ = tokio::time::sleep(wait) => {}, _ = stop.changed() => return }
                    wait = (wait * 2).min(Duration::from_secs(300));
                    break;
                }
                wait = Duration::from_secs(1);
            }
        }
    }
}

/// A button's answer: `rate:<case id>:<1–5>` rates a case, `nps:<request id>:<0–10>` answers an
/// NPS request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScoreButton {
    Rate { case_id: i64, score: u8 },
    Recommend { request_id: i64, score: u8 },
}

impl ScoreButton {
    async fn record(self, sink: &Arc<dyn Sink>, identity: &Identity) -> Result<(), Refused> {
        match self {
            ScoreButton::Rate { case_id, score } => sink.rate(case_id, identity, score).await,
            ScoreButton::Recommend { request_id, score } => sink.recommend(request_id, identity, score).await,
        }
    }
}

fn score_button(data: &str) -> Option<ScoreButton> {
    let mut parts = data.split(':');
    let (kind, id, score) = (parts.next()?, parts.next()?.parse().ok()?, parts.next()?.parse::<u8>().ok()?);
    if parts.next().is_some() {
        return None;
    }
    match kind {
        "rate" if (1..=5).contains(&score) => Some(ScoreButton::Rate { case_id: id, score }),
        "nps" if score <= 10 => Some(ScoreButton::Recommend { request_id: id, score }),
        _ => None,
    }
}

fn greeting(language: Language) -> &'static str {
    match language {
        Language::Uk => {
            "Вітаємо! Напишіть тут ваше питання, скаргу чи пропозицію — ми відповімо в цьому чаті й повідомимо номер звернення."
        }
        Language::En => {
            "Hello! Write your question, complaint or idea here — we will answer in this chat and tell you your case number."
        }
        _ => {
            "Здравствуйте! Напишите здесь ваш вопрос, жалобу или предложение — мы ответим в этом чате и сообщим номер обращения."
        }
    }
}

fn thanks(language: Language) -> &'static str {
    match language {
        Language::Uk => "Дякуємо за оцінку!",
        Language::En => "Thank you for your rating!",
        _ => "Спасибо за оценку!",
    }
}

fn already(language: Language) -> &'static str {
    match language {
        Language::Uk => "Оцінку вже збережено.",
        Language::En => "Your rating is already recorded.",
        _ => "Оценка уже сохранена.",
    }
}

#[derive(Debug, Deserialize)]
struct ApiAnswer {
    ok: bool,
    result: Option<serde_json::Value>,
    error_code: Option<u16>,
    description: Option<String>,
    parameters: Option<ResponseParameters>,
}

#[derive(Debug, Deserialize)]
struct ResponseParameters {
    retry_after: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct Update {
    message: Option<Message>,
    callback_query: Option<CallbackQuery>,
}

#[derive(Debug, Clone, Deserialize)]
struct User {
    id: i64,
    first_name: Option<String>,
    last_name: Option<String>,
    language_code: Option<String>,
}

impl User {
    fn language(&self) -> Language {
        match self.language_code.as_deref().map(|code| code.split('-').next().unwrap_or(code)) {
            Some("uk") => Language::Uk,
            Some("en") => Language::En,
            _ => Language::Ru,
        }
    }
}

#[derive(Debug, Deserialize)]
struct Chat {
    id: i64,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Deserialize)]
struct Message {
    message_id: i64,
    from: Option<User>,
    chat: Chat,
    text: Option<String>,
    caption: Option<String>,
    photo: Option<serde_json::Value>,
    document: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    id: String,
    from: User,
    data: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rating_buttons_are_read_strictly() {
        assert_eq!(score_button("rate:12:5"), Some(ScoreButton::Rate { case_id: 12, score: 5 }));
        assert_eq!(score_button("nps:7:0"), Some(ScoreButton::Recommend { request_id: 7, score: 0 }));
        assert_eq!(score_button("nps:7:10"), Some(ScoreButton::Recommend { request_id: 7, score: 10 }));
        for bad in ["rate:12:6", "rate:12:0", "rate:x:1", "rate:1:2:3", "vote:1:2", "nps:7:11", "nps:7:-1"] {
            assert_eq!(score_button(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_token_is_needed_and_the_base_checked() {
        assert!(Telegram::new(&Settings::default()).is_err());
        let settings = Settings { bot_token: Some("1:x".into()), api_base: Some("ftp://x".into()), poll_seconds: None };
        assert!(Telegram::new(&settings).err().unwrap().starts_with("telegram.api_base"));
    }
}
