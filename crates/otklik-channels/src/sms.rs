//! SMS: the provider posts inbound messages to `POST /hooks/sms` (the documented JSON form, or
//! the common form-encoded one), signed with `X-Otklik-Signature` under `[sms] webhook_secret`;
//! answers go out through the provider's HTTP API as `[sms]` describes it (`send_url`, `method`,
//! a `body` template, an `auth_header`). A rating request says "reply 1 to 5"; the answer lands
//! on the case the phone's conversation is in.

use std::time::Duration;

use async_trait::async_trait;
use otklik_core::customer::{Identity, NewCustomer};
use otklik_core::{Channel, Incoming};
use serde::Deserialize;

use crate::{Outbound, Rendered, Sent};

/// The `[sms]` section of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The provider's address for sending a message.
    pub send_url: Option<String>,
    /// `POST` (default) or `GET` (the body template then fills the query).
    pub method: Option<String>,
    /// The request body, with `{to}`, `{text}`, `{from}` and `{reference}` filled in and escaped
    /// for the content type. Default: `{"to":"{to}","text":"{text}"}`.
    pub body: Option<String>,
    /// The body's content type (default `application/json`; `application/x-www-form-urlencoded`
    /// for a form).
    pub content_type: Option<String>,
    /// A header sent with every request, as `Name: value` (`Authorization: Bearer …`).
    pub auth_header: Option<String>,
    /// The sender name or number, for `{from}`.
    pub from: Option<String>,
    /// The secret inbound webhooks are signed with (`X-Otklik-Signature`).
    pub webhook_secret: Option<String>,
}

/// The SMS driver's way out.
pub struct Sms {
    http: reqwest::Client,
    url: String,
    get: bool,
    body: String,
    content_type: String,
    auth: Option<(reqwest::header::HeaderName, reqwest::header::HeaderValue)>,
    from: String,
}

impl Sms {
    pub fn new(settings: &Settings) -> Result<Sms, String> {
        let url = settings.send_url.clone().ok_or("sms.send_url: is needed to send SMS")?;
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err("sms.send_url: must start with https:// or http://".into());
        }
        let get = match settings.method.as_deref().map(str::to_ascii_uppercase).as_deref() {
            None | Some("POST") => false,
            Some("GET") => true,
            Some(other) => return Err(format!("sms.method: must be POST or GET, not {other}")),
        };
        let auth = match settings.auth_header.as_deref() {
            None => None,
            Some(header) => {
                let (name, value) = header.split_once(':').ok_or("sms.auth_header: must be `Name: value`")?;
                let name = reqwest::header::HeaderName::from_bytes(name.trim().as_bytes())
                    .map_err(|_| "sms.auth_header: the name is not a header name")?;
                let mut value = reqwest::header::HeaderValue::from_str(value.trim())
                    .map_err(|_| "sms.auth_header: the value is not a header value")?;
                value.set_sensitive(true);
                Some((name, value))
            }
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|error| format!("sms: {error}"))?;
        Ok(Sms {
            http,
            url,
            get,
            body: settings.body.clone().unwrap_or_else(|| r#"{"to":"{to}","text":"{text}"}"#.to_owned()),
            content_type: settings.content_type.clone().unwrap_or_else(|| "application/json".to_owned()),
            auth,
            from: settings.from.clone().unwrap_or_default(),
        })
    }

    /// The request body for a message: the template with its values escaped for the type.
    pub fn body_for(&self, to: &str, message: &Rendered) -> String {
        let escape = |value: &str| -> String {
            if self.get || self.content_type.starts_with("application/x-www-form-urlencoded") {
                url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
            } else if self.content_type.contains("json") {
                let quoted = serde_json::to_string(value).unwrap_or_default();
                quoted[1..quoted.len() - 1].to_owned()
            } else {
                value.to_owned()
            }
        };
        self.body
            .replace("{to}", &escape(to))
            .replace("{text}", &escape(&message.text))
            .replace("{from}", &escape(&self.from))
            .replace("{reference}", &escape(&message.reference))
    }
}

#[async_trait]
impl Outbound for Sms {
    fn channels(&self) -> Vec<Channel> {
        vec![Channel::Sms]
    }

    async fn deliver(&self, message: &Rendered) -> Result<Sent, String> {
        let to = message.to.as_deref().ok_or("the customer left no phone number")?;
        let body = self.body_for(to, message);
        let mut request = if self.get {
            let separator = if self.url.contains('?') { '&' } else { '?' };
            self.http.get(format!("{}{separator}{body}", self.url))
        } else {
            self.http.post(&self.url).header(reqwest::header::CONTENT_TYPE, &self.content_type).body(body)
        };
        if let Some((name, value)) = &self.auth {
            request = request.header(name.clone(), value.clone());
        }
        let response = request.send().await.map_err(|error| format!("SMS provider: {}", error.without_url()))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            let said: String = text.chars().take(200).collect();
            return Err(format!("SMS provider answered {status}: {said}"));
        }
        // The provider's id of the message, when its answer names one.
        let id = serde_json::from_str::<serde_json::Value>(&text).ok().and_then(|answer| {
            ["id", "message_id", "messageId", "sid"]
                .iter()
                .find_map(|key| answer.get(*key).map(|id| id.as_str().map_or_else(|| id.to_string(), str::to_owned)))
        });
        Ok(id.map_or(Sent::Delivered, Sent::Named))
    }
}

/// An inbound SMS in the documented JSON form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonSms {
    /// The sender's phone.
    from: String,
    text: String,
    /// The provider's id of the message: the same id again is a redelivery.
    id: String,
    /// The number it was sent to (ours), if the provider says.
    #[serde(default)]
    to: Option<String>,
}

/// Broken JSON is `malformed` (400); well-formed JSON of the wrong shape names what is wrong (422).
fn json_error(error: serde_json::Error) -> String {
    if error.is_syntax() || error.is_eof() { format!("malformed JSON: {error}") } else { error.to_string() }
}

/// Reads an inbound SMS: `application/json` as documented (`from`, `text`, `id`), or a form
/// with the common providers' names (`From`/`Body`/`MessageSid`, `msisdn`/`text`/`messageId`).
pub fn read_inbound(content_type: &str, body: &[u8]) -> Result<Incoming, String> {
    let (from, text, id) = if content_type.starts_with("application/json") {
        let sms: JsonSms = serde_json::from_slice(body).map_err(json_error)?;
        let _ = sms.to;
        (sms.from, sms.text, sms.id)
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        let fields: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
        let field = |names: &[&str]| {
            fields.iter().find(|(name, _)| names.contains(&name.as_str())).map(|(_, value)| value.clone())
        };
        let from = field(&["From", "from", "msisdn", "sender"]).ok_or("the form has no sender (`From`)")?;
        let text = field(&["Body", "text", "body", "message"]).ok_or("the form has no text (`Body`)")?;
        let id = field(&["MessageSid", "SmsSid", "messageId", "message_id", "id"])
            .ok_or("the form has no message id (`MessageSid`)")?;
        (from, text, id)
    } else {
        return Err(format!("content type `{content_type}`: send application/json or a form"));
    };
    let phone = Identity::phone(&from).map_err(|error| format!("the sender: {error}"))?;
    if id.trim().is_empty() || id.chars().count() > 200 {
        return Err("the message id must have 1 to 200 characters".into());
    }
    Ok(Incoming {
        channel: Channel::Sms,
        external_id: Some(id),
        // One phone, one conversation: its next SMS continues its open case.
        thread: Some(phone.value.clone()),
        related: Vec::new(),
        claims: Vec::new(),
        automatic: false,
        customer: NewCustomer { name: None, identities: vec![phone], followers: None, locale: None },
        // The provider vouches for the number (the hook is signed).
        vouched: true,
        subject: None,
        text,
        attachments: Vec::new(),
        public: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(text: &str) -> Rendered {
        Rendered {
            outbox_id: 1,
            case_id: Some(1),
            survey_id: None,
            reference: "OT-2026-000001".into(),
            channel: Channel::Sms,
            template: "complaint.received".into(),
            language: otklik_core::Language::Ru,
            text: text.into(),
            to: Some("+79990001122".into()),
            subject: None,
            thread: None,
            in_reply_to: None,
            asks: crate::Ask::Nothing,
        }
    }

    #[test]
    fn the_body_template_escapes_for_its_type() {
        let json =
            Sms::new(&Settings { send_url: Some("http://127.0.0.1/send".into()), ..Settings::default() }).unwrap();
        let body = json.body_for("+79990001122", &rendered("Say \"hi\"\nnow"));
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["text"], "Say \"hi\"\nnow");
        let form = Sms::new(&Settings {
            send_url: Some("http://127.0.0.1/send".into()),
            content_type: Some("application/x-www-form-urlencoded".into()),
            body: Some("To={to}&Body={text}".into()),
            ..Settings::default()
        })
        .unwrap();
        assert_eq!(form.body_for("+7999", &rendered("a&b c")), "To=%2B7999&Body=a%26b+c");
    }

    #[test]
    fn inbound_json_and_forms_are_read() {
        let json = read_inbound("application/json", br#"{"from":"+7 999 000-11-22","text":"Hi","id":"m1"}"#).unwrap();
        assert_eq!(json.customer.identities[0].value, "+79990001122");
        assert_eq!(json.thread.as_deref(), Some("+79990001122"));
        let form =
            read_inbound("application/x-www-form-urlencoded", b"From=%2B79990001122&Body=4&MessageSid=SM1").unwrap();
        assert_eq!((form.text.as_str(), form.external_id.as_deref()), ("4", Some("SM1")));
        assert!(read_inbound("application/json", b"{\"from\":").unwrap_err().starts_with("malformed JSON"));
        assert!(read_inbound("application/json", br#"{"from":"x","text":"t","id":"1"}"#).is_err());
        assert!(read_inbound("text/plain", b"hi").is_err());
        assert!(read_inbound("application/x-www-form-urlencoded", b"Body=hi").is_err());
    }
}

/// A provider's delivery report on a message it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The provider's id of the message (what it answered when it took it).
    pub id: String,
    pub delivered: bool,
    pub error: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonReport {
    id: String,
    /// `delivered` or `failed`.
    status: String,
    #[serde(default)]
    error: Option<String>,
}

/// Reads a delivery report: JSON (`id`, `status` `delivered`/`failed`, `error`), or the common
/// form (`MessageSid`, `MessageStatus` `delivered`/`undelivered`/`failed`, `ErrorCode`). `None`
/// for an interim status (`queued`, `sent`), which changes nothing.
pub fn read_report(content_type: &str, body: &[u8]) -> Result<Option<Report>, String> {
    let (id, status, error) = if content_type.starts_with("application/json") {
        let report: JsonReport = serde_json::from_slice(body).map_err(json_error)?;
        (report.id, report.status, report.error)
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        let fields: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
        let field = |names: &[&str]| {
            fields.iter().find(|(name, _)| names.contains(&name.as_str())).map(|(_, value)| value.clone())
        };
        let id =
            field(&["MessageSid", "SmsSid", "messageId", "id"]).ok_or("the form has no message id (`MessageSid`)")?;
        let status =
            field(&["MessageStatus", "SmsStatus", "status"]).ok_or("the form has no status (`MessageStatus`)")?;
        (id, status, field(&["ErrorCode", "err-code", "error"]))
    } else {
        return Err(format!("content type `{content_type}`: send application/json or a form"));
    };
    let delivered = match status.to_ascii_lowercase().as_str() {
        "delivered" => true,
        "failed" | "undelivered" | "rejected" | "expired" => false,
        "queued" | "accepted" | "sending" | "sent" | "buffered" => return Ok(None),
        other => return Err(format!("status: `{other}` is not delivered, failed or an interim status")),
    };
    Ok(Some(Report { id, delivered, error: error.filter(|error| !error.is_empty()) }))
}

#[cfg(test)]
mod report_tests {
    use super::*;

    #[test]
    fn delivery_reports_in_both_forms() {
        let json = read_report("application/json", br#"{"id":"m1","status":"failed","error":"unreachable"}"#).unwrap();
        assert_eq!(json, Some(Report { id: "m1".into(), delivered: false, error: Some("unreachable".into()) }));
        let form = read_report("application/x-www-form-urlencoded", b"MessageSid=SM1&MessageStatus=delivered").unwrap();
        assert_eq!(form.map(|report| report.delivered), Some(true));
        assert_eq!(
            read_report("application/x-www-form-urlencoded", b"MessageSid=SM1&MessageStatus=queued").unwrap(),
            None
        );
        assert!(read_report("application/json", br#"{"id":"m1","status":"lost"}"#).is_err());
        assert!(read_report("application/json", b"{").unwrap_err().starts_with("malformed"));
    }
}
