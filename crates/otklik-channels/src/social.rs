//! Social networks and review sites. An integration posts one documented JSON item to
//! `POST /hooks/social`, signed with `X-Otklik-Signature` under `[social] webhook_secret`; Meta
//! (Instagram and Facebook comments) posts its own webhook format to `/hooks/social/meta`,
//! signed with `X-Hub-Signature-256` under `[social] meta_app_secret`; `otklik import reviews`
//! reads a review site's export (CSV or JSON) of the same items.
//!
//! A public item is a public case, with its author's followers for triage. The brand answers a
//! Meta comment through the Graph API when `[social] meta_access_token` is set; anything else
//! is marked "reply on the site" with the item's address, for the agent to answer there.

use std::time::Duration;

use async_trait::async_trait;
use otklik_core::customer::{Identity, NewCustomer};
use otklik_core::{Channel, Incoming};
use serde::{Deserialize, Serialize};

use crate::{Outbound, Rendered, Sent};

/// The `[social]` section of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The secret `/hooks/social` items are signed with (`X-Otklik-Signature`).
    pub webhook_secret: Option<String>,
    /// The Meta app's secret, for `X-Hub-Signature-256` on `/hooks/social/meta`.
    pub meta_app_secret: Option<String>,
    /// The token Meta's subscription check (`hub.verify_token`) must present.
    pub meta_verify_token: Option<String>,
    /// A page access token: with it, answers to Instagram and Facebook comments go out through
    /// the Graph API; without it, they are marked "reply on the site".
    pub meta_access_token: Option<String>,
    /// The Graph API's address (default `https://graph.facebook.com/v21.0`).
    pub graph_base: Option<String>,
}

/// Who wrote an item.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Author {
    #[serde(default)]
    pub name: Option<String>,
    /// Their handle on the source (`@anna`).
    pub handle: String,
    #[serde(default)]
    pub followers: Option<i64>,
}

/// One post, comment, direct message or review, as `/hooks/social` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// Where it was said: `instagram`, `vk`, `google_maps`, `yandex_maps`, `2gis`, …
    pub source: String,
    /// Its id at the source: the same id again is a redelivery.
    pub external_id: String,
    /// Its address, for the agent to open (and to answer on the site).
    pub url: Option<String>,
    pub text: String,
    /// Said in public (a comment, a review), not in a direct message.
    pub public: bool,
    pub author: Author,
    /// A review's stars, 1 to 5.
    #[serde(default)]
    pub rating: Option<u8>,
}

impl Item {
    /// What intake takes: a review (with a rating) on the review channel, anything else on the
    /// social one. One author's items under one post (or in one direct conversation) are one
    /// conversation.
    pub fn into_incoming(self) -> Result<Incoming, String> {
        let source = self.source.trim().to_lowercase();
        let valid_source = !source.is_empty()
            && source.len() <= 40
            && source.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
        if !valid_source {
            return Err("source: 1 to 40 letters, digits, `_`, `-` or `.`".into());
        }
        if self.external_id.trim().is_empty() || self.external_id.chars().count() > 200 {
            return Err("external_id: 1 to 200 characters".into());
        }
        if let Some(rating) = self.rating
            && !(1..=5).contains(&rating)
        {
            return Err("rating: 1 to 5".into());
        }
        if let Some(url) = &self.url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err("url: must start with https:// or http://".into());
        }
        let handle = self.author.handle.trim().trim_start_matches('@').to_lowercase();
        let identity =
            Identity::handle(&format!("{source}:{handle}")).map_err(|error| format!("author.handle {error}"))?;
        let place = self.url.clone().unwrap_or_else(|| format!("{source}:{}", self.external_id));
        let thread = if self.public { format!("{place}#{handle}") } else { format!("{source}:dm:{handle}") };
        let channel = if self.rating.is_some() { Channel::Review } else { Channel::Social };
        let subject = match self.rating {
            Some(rating) => {
                format!("{source}: {}{} ({rating}/5)", "★".repeat(rating.into()), "☆".repeat(5 - usize::from(rating)))
            }
            None => source.clone(),
        };
        Ok(Incoming {
            channel,
            external_id: Some(format!("{source}:{}", self.external_id)),
            thread: Some(thread),
            related: Vec::new(),
            claims: Vec::new(),
            automatic: false,
            customer: NewCustomer {
                name: self.author.name.filter(|name| !name.trim().is_empty()),
                identities: vec![identity],
                followers: self.author.followers,
                locale: None,
            },
            vouched: false,
            subject: Some(subject),
            text: self.text,
            attachments: Vec::new(),
            public: self.public,
        })
    }
}

/// The items in a Meta webhook (`object` `instagram` or `page`): comments and Facebook feed
/// comments; other changes are not feedback and are skipped.
pub fn read_meta(body: &[u8]) -> Result<Vec<Item>, String> {
    let payload: MetaPayload = serde_json::from_slice(body).map_err(|error| format!("malformed JSON: {error}"))?;
    let source = match payload.object.as_str() {
        "instagram" => "instagram",
        "page" => "facebook",
        other => return Err(format!("object `{other}`: only instagram and page webhooks are read")),
    };
    let mut items = Vec::new();
    for entry in payload.entry {
        for change in entry.changes {
            let value = change.value;
            let (id, text, author) = match (source, change.field.as_str()) {
                ("instagram", "comments" | "mentions") => (value.id, value.text, value.from),
                ("facebook", "feed")
                    if value.item.as_deref() == Some("comment") && value.verb.as_deref() != Some("remove") =>
                {
                    (value.comment_id, value.message, value.from)
                }
                _ => continue,
            };
            let (Some(id), Some(text), Some(author)) = (id, text, author) else { continue };
            let handle = author.username.clone().unwrap_or_else(|| author.id.clone());
            let url = match source {
                "facebook" => value.post_id.as_ref().map(|post| format!("https://www.facebook.com/{post}")),
                _ => None,
            };
            items.push(Item {
                source: source.to_owned(),
                external_id: id,
                url,
                text,
                public: true,
                author: Author { name: author.name.or(author.username), handle, followers: None },
                rating: None,
            });
        }
    }
    Ok(items)
}

#[derive(Debug, Deserialize)]
struct MetaPayload {
    object: String,
    #[serde(default)]
    entry: Vec<MetaEntry>,
}

#[derive(Debug, Deserialize)]
struct MetaEntry {
    #[serde(default)]
    changes: Vec<MetaChange>,
}

#[derive(Debug, Deserialize)]
struct MetaChange {
    field: String,
    value: MetaValue,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MetaValue {
    id: Option<String>,
    text: Option<String>,
    from: Option<MetaUser>,
    item: Option<String>,
    verb: Option<String>,
    comment_id: Option<String>,
    post_id: Option<String>,
    message: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct MetaUser {
    id: String,
    username: Option<String>,
    name: Option<String>,
}

/// The way out for public items: the Graph API for Meta comments when a token is set, "reply
/// on the site" otherwise.
pub struct Social {
    http: reqwest::Client,
    graph: Option<(String, String)>,
}

impl Social {
    pub fn new(settings: &Settings) -> Result<Social, String> {
        let base = settings.graph_base.as_deref().unwrap_or("https://graph.facebook.com/v21.0").trim_end_matches('/');
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err("social.graph_base: must start with https:// or http://".into());
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|error| format!("social: {error}"))?;
        let graph = settings.meta_access_token.clone().map(|token| (base.to_owned(), token));
        Ok(Social { http, graph })
    }
}

#[async_trait]
impl Outbound for Social {
    fn channels(&self) -> Vec<Channel> {
        vec![Channel::Social, Channel::Review]
    }

    async fn deliver(&self, message: &Rendered) -> Result<Sent, String> {
        // The comment answered: `instagram:<id>` or `facebook:<id>`.
        let comment = message.in_reply_to.as_deref().and_then(|id| {
            id.strip_prefix("instagram:")
                .map(|id| ("replies", id))
                .or_else(|| id.strip_prefix("facebook:").map(|id| ("comments", id)))
        });
        if let (Some((base, token)), Some((edge, id))) = (&self.graph, comment) {
            let response = self
                .http
                .post(format!("{base}/{id}/{edge}"))
                .bearer_auth(token)
                .form(&[("message", message.text.as_str())])
                .send()
                .await
                .map_err(|error| format!("Graph API: {}", error.without_url()))?;
            let status = response.status();
            let answer: serde_json::Value = response.json().await.unwrap_or_default();
            if !status.is_success() {
                let said = answer.pointer("/error/message").and_then(|m| m.as_str()).unwrap_or("").to_owned();
                return Err(format!("Graph API answered {status}: {said}"));
            }
            let id = answer.get("id").and_then(|id| id.as_str()).map(str::to_owned);
            return Ok(id.map_or(Sent::Delivered, Sent::Named));
        }
        let link = message
            .thread
            .as_deref()
            .map(|thread| thread.split_once('#').map_or(thread, |(place, _)| place).to_owned())
            .unwrap_or_else(|| message.reference.clone());
        Ok(Sent::OnSite(link))
    }
}

/// Reads a review site's export: a JSON array of items, or CSV with the header
/// `source,external_id,url,author,handle,followers,rating,text` (`public` is true for every
/// review; `author` and `followers` may be empty).
pub fn read_export(name: &str, content: &[u8]) -> Result<Vec<Item>, String> {
    let json = name.ends_with(".json") || content.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    if json {
        return serde_json::from_slice(content).map_err(|error| format!("malformed JSON: {error}"));
    }
    #[derive(Deserialize)]
    struct Row {
        source: String,
        external_id: String,
        url: Option<String>,
        author: Option<String>,
        handle: String,
        followers: Option<i64>,
        rating: Option<u8>,
        text: String,
    }
    let mut reader = csv::Reader::from_reader(content);
    let mut items = Vec::new();
    for (line, row) in reader.deserialize::<Row>().enumerate() {
        let row = row.map_err(|error| format!("row {}: {error}", line + 2))?;
        items.push(Item {
            source: row.source,
            external_id: row.external_id,
            url: row.url.filter(|url| !url.is_empty()),
            text: row.text,
            public: true,
            author: Author {
                name: row.author.filter(|name| !name.is_empty()),
                handle: row.handle,
                followers: row.followers,
            },
            rating: row.rating,
        });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> Item {
        Item {
            source: "google_maps".into(),
            external_id: "r1".into(),
            url: Some("https://maps.example/r1".into()),
            text: "Холодный кофе".into(),
            public: true,
            author: Author { name: Some("Anna".into()), handle: "@Anna".into(), followers: Some(12000) },
            rating: Some(2),
        }
    }

    #[test]
    fn a_review_is_a_public_review_case_item() {
        let incoming = item().into_incoming().unwrap();
        assert_eq!(incoming.channel, Channel::Review);
        assert!(incoming.public);
        assert_eq!(incoming.customer.followers, Some(12000));
        assert_eq!(incoming.customer.identities[0].value, "google_maps:anna");
        assert_eq!(incoming.thread.as_deref(), Some("https://maps.example/r1#anna"));
        assert!(incoming.subject.unwrap().contains("2/5"));
        assert!(Item { rating: Some(6), ..item() }.into_incoming().is_err());
        assert!(Item { source: "bad source".into(), ..item() }.into_incoming().is_err());
        assert!(Item { url: Some("javascript:alert(1)".into()), ..item() }.into_incoming().is_err());
    }

    #[test]
    fn meta_comments_are_read_and_other_changes_skipped() {
        let body = br#"{"object":"instagram","entry":[{"id":"1","time":1,"changes":[
            {"field":"comments","value":{"from":{"id":"77","username":"anna"},"media":{"id":"m"},"id":"c1","text":"Where is my order?"}},
            {"field":"story_insights","value":{"id":"x"}}]}]}"#;
        let items = read_meta(body).unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!((items[0].source.as_str(), items[0].external_id.as_str()), ("instagram", "c1"));
        let feed = br#"{"object":"page","entry":[{"id":"1","time":1,"changes":[{"field":"feed","value":
            {"from":{"id":"9","name":"Ivan"},"item":"comment","comment_id":"c9","post_id":"p_1","verb":"add","message":"Bad"}}]}]}"#;
        let items = read_meta(feed).unwrap();
        assert_eq!(items[0].url.as_deref(), Some("https://www.facebook.com/p_1"));
        assert!(read_meta(b"{").is_err());
        assert!(read_meta(br#"{"object":"whatsapp_business_account","entry":[]}"#).is_err());
    }

    #[test]
    fn exports_in_csv_and_json() {
        let csv = "source,external_id,url,author,handle,followers,rating,text\n\
                   yandex_maps,42,https://y.example/42,Anna,anna,,1,\"Грязно, долго\"\n";
        let items = read_export("reviews.csv", csv.as_bytes()).unwrap();
        assert_eq!(items[0].rating, Some(1));
        assert_eq!(items[0].text, "Грязно, долго");
        let json = serde_json::to_vec(&vec![item()]).unwrap();
        assert_eq!(read_export("x.json", &json).unwrap(), vec![item()]);
        assert!(read_export("x.csv", b"source\nx\n").unwrap_err().starts_with("row 2"));
    }
}
