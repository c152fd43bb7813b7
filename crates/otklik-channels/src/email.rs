//! E-mail: mail is collected from a mailbox over IMAP (IDLE, polling as the fallback) and the
//! answers go out over SMTP. Either half works alone: `[email] imap_url` collects, `[email]
//! smtp_url` with `from` answers.
//!
//! Threading: every mail Otklik sends has a `Message-ID` of its own form
//! (`<otklik.OT-2026-000123.42@brand.example>`), carries the thread's first `Message-ID` in
//! `References` and the customer's newest mail in `In-Reply-To`, and the case reference in its
//! subject. An incoming mail continues a case when its `References`/`In-Reply-To` name the
//! thread the case began in, or name one of our own `Message-ID`s, or its subject carries the
//! reference; the last two only when the sender is the case's customer (intake checks it).
//!
//! Auto-replies, bounces and loops (`Auto-Submitted`, `Precedence`, `X-Autoreply`, a
//! mailer-daemon sender, our own `Message-ID`) never open a case and are never answered: they
//! are added to the case they answer, if any, and otherwise recorded in the log. A mail is
//! marked seen only after intake committed it, and a redelivered one (the same `Message-ID`)
//! writes nothing.

use std::collections::BTreeSet;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::TlsParameters;
use lettre::transport::smtp::extension::ClientId;
use mail_parser::{MessageParser, MimeHeaders};
use otklik_core::customer::{Identity, NewCustomer};
use otklik_core::{Attachment, CaseRef, Channel, Incoming};
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use crate::smtp::SmtpPool;
use crate::{Inbound, Outbound, Refused, Rendered, Sent, Sink, TakenAs};

/// The `[email]` section of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// `imap://USER:PASS@HOST:PORT/MAILBOX` or `imaps://…`: where customers' mail is collected.
    pub imap_url: Option<String>,
    /// `smtp://[USER:PASS@]HOST:PORT` (STARTTLS when the server offers it) or `smtps://…`.
    pub smtp_url: Option<String>,
    /// The brand's name and address answers come from: `Кофейня «Зерно» <support@zerno.example>`.
    pub from: Option<String>,
    /// Seconds between looks at the mailbox when the server has no IDLE (and the longest an IDLE
    /// waits before it is renewed). Default 60.
    pub poll_seconds: Option<u64>,
    /// The largest mail collected, in bytes (default 25 MiB); a larger one is recorded in the log,
    /// marked seen and left in the mailbox.
    pub max_message_bytes: Option<usize>,
    /// SMTP connections kept open, and mails sent at once over them (default 8).
    pub smtp_connections: Option<u32>,
}

/// A setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("email.{setting}: {message}")]
pub struct SettingError {
    pub setting: &'static str,
    pub message: String,
}

fn invalid(setting: &'static str, message: impl Into<String>) -> SettingError {
    SettingError { setting, message: message.into() }
}

/// Where mail is collected.
#[derive(Clone, PartialEq, Eq)]
pub struct ImapAddress {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub mailbox: String,
}

impl fmt::Debug for ImapAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the password.
        write!(
            f,
            "{}://{}@{}:{}/{}",
            if self.tls { "imaps" } else { "imap" },
            self.user,
            self.host,
            self.port,
            self.mailbox
        )
    }
}

impl ImapAddress {
    pub fn parse(text: &str) -> Result<ImapAddress, SettingError> {
        let url = url::Url::parse(text).map_err(|error| invalid("imap_url", error.to_string()))?;
        let tls = match url.scheme() {
            "imap" => false,
            "imaps" => true,
            other => return Err(invalid("imap_url", format!("must start with imap:// or imaps://, not {other}://"))),
        };
        let host = url.host_str().filter(|host| !host.is_empty()).ok_or_else(|| invalid("imap_url", "has no host"))?;
        let decode =
            |part: &str| percent_decode(part).ok_or_else(|| invalid("imap_url", "is not UTF-8 once %-decoded"));
        let user = decode(url.username())?;
        let password = decode(url.password().unwrap_or(""))?;
        if user.is_empty() {
            return Err(invalid("imap_url", "needs the mailbox's user and password: imap://USER:PASS@HOST/MAILBOX"));
        }
        let mailbox = decode(url.path().trim_start_matches('/'))?;
        Ok(ImapAddress {
            tls,
            host: host.trim_matches(['[', ']']).to_owned(),
            port: url.port().unwrap_or(if tls { 993 } else { 143 }),
            user,
            password,
            mailbox: if mailbox.is_empty() { "INBOX".to_owned() } else { mailbox },
        })
    }
}

/// A URL's user or password as written (`support%40zerno.example` is `support@zerno.example`).
fn percent_decode(text: &str) -> Option<String> {
    percent_encoding::percent_decode_str(text).decode_utf8().ok().map(|text| text.into_owned())
}

/// The e-mail driver: it collects (when `imap_url` is set) and answers (when `smtp_url` is).
pub struct Email {
    imap: Option<ImapAddress>,
    smtp: Option<SmtpPool>,
    from: Option<Mailbox>,
    /// The domain of our `Message-ID`s: the `from` address's.
    domain: String,
    poll: Duration,
    max_message_bytes: usize,
}

impl Email {
    /// The driver the settings describe; an unusable setting is named.
    pub fn new(settings: &Settings) -> Result<Email, SettingError> {
        let imap = settings.imap_url.as_deref().map(ImapAddress::parse).transpose()?;
        let from = settings
            .from
            .as_deref()
            .map(|from| from.parse::<Mailbox>().map_err(|error| invalid("from", format!("is not an address: {error}"))))
            .transpose()?;
        let smtp = match settings.smtp_url.as_deref() {
            None => None,
            Some(url) => {
                if from.is_none() {
                    return Err(invalid("from", "is needed to send mail: the brand's name and address"));
                }
                let domain = from.as_ref().map_or("localhost", |from| from.email.domain()).to_owned();
                Some(smtp_pool(url, settings.smtp_connections.unwrap_or(8), domain)?)
            }
        };
        if imap.is_none() && smtp.is_none() {
            return Err(invalid("imap_url", "or smtp_url is needed for the e-mail channel"));
        }
        let domain = from.as_ref().map_or_else(|| "otklik.invalid".to_owned(), |from| from.email.domain().to_owned());
        Ok(Email {
            imap,
            smtp,
            from,
            domain,
            poll: Duration::from_secs(settings.poll_seconds.unwrap_or(60).max(1)),
            max_message_bytes: settings.max_message_bytes.unwrap_or(25 * 1024 * 1024),
        })
    }

    /// True when it collects mail.
    pub fn collects(&self) -> bool {
        self.imap.is_some()
    }

    /// True when it sends mail.
    pub fn sends(&self) -> bool {
        self.smtp.is_some()
    }

    /// Our `Message-ID` for an outbox message (without the angle brackets).
    pub fn message_id(&self, reference: &str, outbox_id: i64) -> String {
        format!("otklik.{reference}.{outbox_id}@{}", self.domain)
    }

    /// The case reference in one of our own `Message-ID`s, if it is one.
    fn ours<'a>(&self, message_id: &'a str) -> Option<&'a str> {
        let local = message_id.strip_suffix(&format!("@{}", self.domain))?.strip_prefix("otklik.")?;
        let (reference, outbox) = local.rsplit_once('.')?;
        outbox.parse::<i64>().ok().map(|_| reference)
    }

    /// The mail for a rendered message.
    pub fn compose(&self, message: &Rendered) -> Result<lettre::Message, String> {
        let from = self.from.clone().ok_or("no `from` address is configured")?;
        let to = message.to.as_deref().ok_or("the customer left no e-mail address")?;
        let to: Mailbox =
            to.parse().map_err(|error| format!("the customer's address `{to}` is not usable: {error}"))?;
        let subject = match &message.subject {
            // A survey or a digest is no answer to anything: its own subject line.
            Some(subject) if message.case_id.is_none() => subject.clone(),
            Some(subject) if !subject.contains(&message.reference) => {
                let subject = subject.trim_start_matches("Re: ").trim_start_matches("RE: ");
                format!("Re: {subject} [{}]", message.reference)
            }
            Some(subject) => format!("Re: {}", subject.trim_start_matches("Re: ")),
            None => format!("[{}] {}", message.reference, subject_words(message.language)),
        };
        let mut builder = lettre::Message::builder()
            .from(from)
            .to(to)
            .subject(subject)
            .message_id(Some(format!("<{}>", self.message_id(&message.reference, message.outbox_id))))
            .header(ContentLanguage(message.language.to_string()));
        let mut references: Vec<String> = Vec::new();
        for id in [&message.thread, &message.in_reply_to].into_iter().flatten() {
            let id = format!("<{}>", id.trim_matches(['<', '>']));
            if !references.contains(&id) {
                references.push(id);
            }
        }
        if let Some(in_reply_to) = &message.in_reply_to {
            builder = builder.in_reply_to(format!("<{}>", in_reply_to.trim_matches(['<', '>'])));
        }
        if !references.is_empty() {
            builder = builder.references(references.join(" "));
        }
        // An acknowledgement is automatic: other robots must not answer it.
        if message.template.ends_with(".received") {
            builder = builder.header(AutoSubmitted("auto-replied".into()));
        } else if message.template == DIGEST_TEMPLATE {
            builder = builder.header(AutoSubmitted("auto-generated".into()));
        }
        let html = html_of(&message.text);
        builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(message.text.clone()))
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html)),
            )
            .map_err(|error| format!("cannot build the mail: {error}"))
    }

    /// Makes an incoming mail into what intake takes; `None` (with the reason) when it is not
    /// one a case can come from.
    pub fn read(&self, raw: &[u8]) -> Result<Incoming, String> {
        let mail = MessageParser::default().parse(raw).ok_or("the mail cannot be parsed (broken MIME)")?;
        // `From` only: it is what the sender's domain authenticates (`Reply-To` is anyone's to set).
        let sender = mail.from().and_then(|address| address.first()).ok_or("the mail has no sender (`From`)")?;
        let address = sender.address().ok_or("the mail's sender has no address")?;
        let identity = Identity::email(address).map_err(|error| format!("the sender: {error}"))?;
        let message_id = mail.message_id().map(str::to_owned);
        let mut related: Vec<String> = Vec::new();
        for header in [mail.references(), mail.in_reply_to()] {
            if let Some(ids) = header.as_text_list() {
                related.extend(ids.iter().map(|id| id.to_string()));
            } else if let Some(id) = header.as_text() {
                related.push(id.to_owned());
            }
        }
        // A conversation is named by its first mails and its last ones: a `References` of
        // thousands of ids is cut to those, so a mail costs a few lookups at most.
        if related.len() > MAX_RELATED {
            let tail = related.split_off(related.len() - MAX_RELATED / 2);
            related.truncate(MAX_RELATED / 2);
            related.extend(tail);
        }
        let automatic = automatic(&mail, address) || message_id.as_deref().and_then(|id| self.ours(id)).is_some();
        // The thread is the conversation's first mail: the first of `References`, else what it
        // answers, else the mail itself.
        let thread = related.first().cloned().or_else(|| message_id.clone());
        let subject = mail.subject().map(str::to_owned);
        let mut claims: BTreeSet<String> = related.iter().filter_map(|id| self.ours(id)).map(str::to_owned).collect();
        if let Some(reference) = subject.as_deref().and_then(reference_in) {
            claims.insert(reference);
        }
        let text = mail
            .body_text(0)
            .map(|text| without_quote(&text))
            .filter(|text| !text.trim().is_empty())
            .or_else(|| subject.clone())
            .ok_or("the mail has neither text nor subject")?;
        let attachments = mail
            .attachments()
            .filter(|part| !part.is_message())
            .map(|part| Attachment {
                name: part.attachment_name().unwrap_or("attachment").to_owned(),
                content_type: part.content_type().map_or_else(
                    || "application/octet-stream".to_owned(),
                    |ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("octet-stream")),
                ),
                content: part.contents().to_vec(),
            })
            .collect();
        let locale = mail.header_raw("Content-Language").map(|value| value.trim().to_owned());
        Ok(Incoming {
            channel: Channel::Email,
            external_id: message_id,
            thread,
            related,
            claims: claims.into_iter().collect(),
            automatic,
            customer: NewCustomer {
                name: sender.name().map(str::to_owned),
                identities: vec![identity],
                followers: None,
                locale,
            },
            // Anyone can write any `From`: the address is not proven.
            vouched: false,
            subject,
            text,
            attachments,
            public: false,
        })
    }

    /// Collects until `stop`: connects, takes every unseen mail, then waits for more.
    async fn collect(&self, address: &ImapAddress, sink: &Arc<dyn Sink>, stop: &mut watch::Receiver<bool>) {
        let mut wait = Duration::from_secs(1);
        while !*stop.borrow() {
            match self.session(address, sink, stop).await {
                Ok(()) => return,
                Err(error) => {
                    tracing::warn!(mailbox = ?address, %error, retry_in = ?wait, "e-mail: collecting failed");
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = stop.changed() => return,
                    }
                    wait = (wait * 2).min(Duration::from_secs(300));
                }
            }
        }
    }

    /// One connection's life: returns `Ok` only when told to stop.
    async fn session(
        &self,
        address: &ImapAddress,
        sink: &Arc<dyn Sink>,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<(), String> {
        let mut session = imap_login(address).await?;
        let capabilities = timed(session.capabilities()).await?;
        let idles = capabilities.has_str("IDLE");
        timed(session.select(&address.mailbox)).await?;
        tracing::info!(mailbox = ?address, idle = idles, "e-mail: collecting");
        loop {
            self.take_unseen(&mut session, sink).await?;
            if *stop.borrow() {
                let _ = timed(session.logout()).await;
                return Ok(());
            }
            if idles {
                let mut idle = session.idle();
                timed(idle.init()).await?;
                let (waiting, interrupt) = idle.wait_with_timeout(self.poll.min(Duration::from_secs(25 * 60)));
                tokio::select! {
                    result = waiting => { result.map_err(|error| error.to_string())?; }
                    _ = stop.changed() => {}
                }
                drop(interrupt);
                session = timed(idle.done()).await?;
            } else {
                tokio::select! {
                    _ = tokio::time::sleep(self.poll) => {}
                    _ = stop.changed() => {}
                }
                timed(session.noop()).await?;
            }
        }
    }

    /// One mail to intake. `Ok` when it is done with (taken, or refused for good: it is marked
    /// seen); `Err` when intake cannot take it now (it stays unseen, for later).
    async fn take_one(&self, uid: u32, body: Option<Vec<u8>>, sink: &Arc<dyn Sink>) -> Result<(), String> {
        let Some(body) = body else {
            tracing::warn!(
                uid,
                limit = self.max_message_bytes,
                "e-mail: a mail larger than the limit is left in the mailbox"
            );
            return Ok(());
        };
        let incoming = match self.read(&body) {
            Ok(incoming) => incoming,
            Err(reason) => {
                tracing::warn!(uid, %reason, "e-mail: a mail that cannot become a case was marked seen");
                return Ok(());
            }
        };
        let automatic = incoming.automatic;
        match sink.take(incoming).await {
            Ok(taken) => {
                if automatic {
                    tracing::info!(uid, case = %taken.reference, "e-mail: an automatic reply was added to its case");
                } else if taken.outcome == TakenAs::Redelivered {
                    tracing::debug!(uid, case = %taken.reference, "e-mail: seen already");
                }
                Ok(())
            }
            Err(Refused::Invalid(reason)) => {
                tracing::info!(uid, %reason, automatic, "e-mail: not taken; marked seen");
                Ok(())
            }
            Err(Refused::Unavailable(reason)) => Err(reason),
        }
    }

    /// Takes every unseen mail in the selected mailbox, oldest first, marking each seen once
    /// intake committed it (or refused it for good).
    async fn take_unseen(&self, session: &mut ImapSession, sink: &Arc<dyn Sink>) -> Result<(), String> {
        let mut unseen: Vec<u32> = timed(session.uid_search("UNSEEN")).await?.into_iter().collect();
        unseen.sort_unstable();
        for chunk in unseen.chunks(200) {
            let set = chunk.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
            // Sizes first, then the bodies of the mails within the limit a few at a time, so a
            // mailbox of large mails never sits in memory at once.
            let mut sizes: Vec<(u32, u64)> = Vec::with_capacity(chunk.len());
            {
                let mut fetched = timed(session.uid_fetch(&set, "(UID RFC822.SIZE)")).await?;
                while let Some(fetch) = tokio::time::timeout(IMAP_TIMEOUT, fetched.next())
                    .await
                    .map_err(|_| "the IMAP server stopped answering".to_owned())?
                {
                    let fetch = fetch.map_err(|error| error.to_string())?;
                    if let Some(uid) = fetch.uid {
                        sizes.push((uid, u64::from(fetch.size.unwrap_or(0))));
                    }
                }
            }
            sizes.sort_by_key(|(uid, _)| *uid);
            let mut mails: Vec<(u32, Option<Vec<u8>>)> = Vec::with_capacity(sizes.len());
            let (small, large): (Vec<_>, Vec<_>) =
                sizes.into_iter().partition(|(_, size)| *size <= self.max_message_bytes as u64);
            mails.extend(large.into_iter().map(|(uid, _)| (uid, None)));
            let mut group: Vec<u32> = Vec::new();
            let mut group_bytes = 0u64;
            for (index, (uid, size)) in small.iter().enumerate() {
                group.push(*uid);
                group_bytes += size;
                let last = index + 1 == small.len();
                if !last && group.len() < 50 && group_bytes < 32 * 1024 * 1024 {
                    continue;
                }
                let set = group.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
                let mut fetched = timed(session.uid_fetch(&set, "(UID BODY.PEEK[])")).await?;
                while let Some(fetch) = tokio::time::timeout(IMAP_TIMEOUT, fetched.next())
                    .await
                    .map_err(|_| "the IMAP server stopped answering".to_owned())?
                {
                    let fetch = fetch.map_err(|error| error.to_string())?;
                    if let Some(uid) = fetch.uid {
                        mails.push((uid, fetch.body().map(<[u8]>::to_vec)));
                    }
                }
                drop(fetched);
                group.clear();
                group_bytes = 0;
            }
            mails.sort_by_key(|(uid, _)| *uid);
            let mut done: Vec<u32> = Vec::with_capacity(mails.len());
            let mut unavailable = None;
            for (uid, body) in mails {
                match self.take_one(uid, body, sink).await {
                    Ok(()) => done.push(uid),
                    Err(reason) => {
                        unavailable = Some(reason);
                        break;
                    }
                }
                // Marked seen a few at a time: a restart takes again only the last few, which
                // intake recognises by their `Message-ID`.
                if done.len() >= 25 {
                    mark_seen(session, &std::mem::take(&mut done)).await?;
                }
            }
            mark_seen(session, &done).await?;
            if let Some(reason) = unavailable {
                return Err(format!("intake cannot take mail now: {reason}"));
            }
        }
        Ok(())
    }
}

/// Marks mails seen.
async fn mark_seen(session: &mut ImapSession, uids: &[u32]) -> Result<(), String> {
    if uids.is_empty() {
        return Ok(());
    }
    let set = uids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    let mut stored = timed(session.uid_store(&set, "+FLAGS.SILENT (\\Seen)")).await?;
    while let Some(result) = stored.next().await {
        result.map_err(|error| error.to_string())?;
    }
    Ok(())
}

/// The most ids of a mail's `References` and `In-Reply-To` looked at.
const MAX_RELATED: usize = 10;

const IMAP_TIMEOUT: Duration = Duration::from_secs(60);

/// The connection IMAP runs over: plain or TLS.
trait Io: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug> Io for T {}

type ImapSession = async_imap::Session<Pin<Box<dyn Io>>>;

async fn timed<T, E: fmt::Display>(work: impl Future<Output = Result<T, E>>) -> Result<T, String> {
    match tokio::time::timeout(IMAP_TIMEOUT, work).await {
        Ok(result) => result.map_err(|error| error.to_string()),
        Err(_) => Err("the IMAP server stopped answering".to_owned()),
    }
}

/// A logged-in IMAP session.
async fn imap_login(address: &ImapAddress) -> Result<ImapSession, String> {
    let tcp = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::net::TcpStream::connect((address.host.as_str(), address.port)),
    )
    .await
    .map_err(|_| format!("cannot reach {}:{} within 30 s", address.host, address.port))?
    .map_err(|error| format!("cannot reach {}:{}: {error}", address.host, address.port))?;
    let stream: Pin<Box<dyn Io>> = if address.tls {
        let name = rustls::pki_types::ServerName::try_from(address.host.clone())
            .map_err(|error| format!("`{}` is not a host name: {error}", address.host))?;
        let tls = timed(crate::tls::connector().connect(name, tcp)).await?;
        Box::pin(tls)
    } else {
        Box::pin(tcp)
    };
    let mut client = async_imap::Client::new(stream);
    timed(client.read_response())
        .await?
        .ok_or_else(|| "the IMAP server closed the connection before greeting".to_owned())?;
    match tokio::time::timeout(IMAP_TIMEOUT, client.login(&address.user, &address.password)).await {
        Ok(Ok(session)) => Ok(session),
        Ok(Err((error, _))) => Err(format!("cannot log in as {}: {error}", address.user)),
        Err(_) => Err("the IMAP server stopped answering".to_owned()),
    }
}

fn smtp_pool(url: &str, connections: u32, domain: String) -> Result<SmtpPool, SettingError> {
    let parsed = url::Url::parse(url).map_err(|error| invalid("smtp_url", error.to_string()))?;
    let implicit_tls = match parsed.scheme() {
        "smtp" => false,
        "smtps" => true,
        other => return Err(invalid("smtp_url", format!("must start with smtp:// or smtps://, not {other}://"))),
    };
    let host = parsed.host_str().filter(|host| !host.is_empty()).ok_or_else(|| invalid("smtp_url", "has no host"))?;
    let host = host.trim_matches(['[', ']']).to_owned();
    let tls =
        TlsParameters::new(host.clone()).map_err(|error| invalid("smtp_url", format!("TLS for {host}: {error}")))?;
    let credentials = if parsed.username().is_empty() {
        None
    } else {
        let decode =
            |part: &str| percent_decode(part).ok_or_else(|| invalid("smtp_url", "is not UTF-8 once %-decoded"));
        Some(Credentials::new(decode(parsed.username())?, decode(parsed.password().unwrap_or(""))?))
    };
    let port = parsed.port().unwrap_or(if implicit_tls { 465 } else { 25 });
    Ok(SmtpPool::new(host, port, implicit_tls, tls, credentials, ClientId::Domain(domain), connections))
}

#[async_trait]
impl Outbound for Email {
    fn channels(&self) -> Vec<Channel> {
        if self.smtp.is_some() { vec![Channel::Email] } else { Vec::new() }
    }

    async fn deliver(&self, message: &Rendered) -> Result<Sent, String> {
        let smtp = self.smtp.as_ref().ok_or("no SMTP server is configured")?;
        let mail = self.compose(message)?;
        smtp.send(mail.envelope(), &mail.formatted()).await?;
        Ok(Sent::Named(self.message_id(&message.reference, message.outbox_id)))
    }
}

#[async_trait]
impl Inbound for Email {
    fn channel(&self) -> Channel {
        Channel::Email
    }

    async fn run(&self, sink: Arc<dyn Sink>, mut stop: watch::Receiver<bool>) {
        if let Some(address) = &self.imap {
            self.collect(address, &sink, &mut stop).await;
        }
    }
}

/// True for the mail a robot sent: auto-replies, bounces, lists and bulk mail.
fn automatic(mail: &mail_parser::Message<'_>, sender: &str) -> bool {
    let header = |name: &str| mail.header_raw(name).map(|value| value.trim().to_ascii_lowercase());
    let auto_submitted = header("Auto-Submitted").is_some_and(|value| value != "no");
    let precedence =
        header("Precedence").is_some_and(|value| matches!(value.as_str(), "bulk" | "junk" | "list" | "auto_reply"));
    let marked = ["X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress", "List-Id"]
        .iter()
        .any(|name| mail.header_raw(*name).is_some());
    let local = sender.split('@').next().unwrap_or("").to_ascii_lowercase();
    let daemon = matches!(local.as_str(), "mailer-daemon" | "postmaster" | "noreply" | "no-reply" | "bounce");
    let report = mail.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct.subtype().is_some_and(|sub| sub.eq_ignore_ascii_case("report"))
    });
    auto_submitted || precedence || marked || daemon || report
}

/// A case reference written in a subject (`Re: [OT-2026-000123] …`).
fn reference_in(subject: &str) -> Option<String> {
    subject
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .find_map(|word| word.parse::<CaseRef>().ok())
        .map(|reference| reference.to_string())
}

/// The customer's own words of a reply: the quoted earlier mail (`> …`, and everything from an
/// "On … wrote:" line) is dropped.
fn without_quote(text: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('>') {
            continue;
        }
        let intro = trimmed.ends_with("wrote:")
            || trimmed.ends_with("написал:")
            || trimmed.ends_with("написала:")
            || trimmed.ends_with("пише:")
            || trimmed.ends_with("писал(а):")
            || trimmed == "-----Original Message-----";
        if intro {
            break;
        }
        kept.push(line);
    }
    let own = kept.join("\n").trim().to_owned();
    // All of it quoted (a forward, say): then all of it.
    if own.is_empty() { text.trim().to_owned() } else { own }
}

/// The HTML part of an answer: the text escaped, paragraphs kept, links made links.
/// The template key of the weekly digest to managers: sent by Otklik itself, never a reply.
const DIGEST_TEMPLATE: &str = "digest.weekly";

fn html_of(text: &str) -> String {
    let escape =
        |text: &str| text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let mut body = String::new();
    for paragraph in text.split("\n\n") {
        // Word by word on each line, so a link at a line's end stays the link alone.
        let lines: Vec<String> = paragraph
            .lines()
            .map(|line| {
                let words: Vec<String> = line
                    .split(' ')
                    .map(|word| {
                        if word.starts_with("https://") || word.starts_with("http://") {
                            let link = escape(word);
                            format!("<a href=\"{link}\">{link}</a>")
                        } else {
                            escape(word)
                        }
                    })
                    .collect();
                words.join(" ")
            })
            .collect();
        body.push_str(&format!("<p>{}</p>\n", lines.join("<br>\n")));
    }
    format!("<!doctype html>\n<html><body style=\"font-family: sans-serif; line-height: 1.5\">\n{body}</body></html>\n")
}

fn subject_words(language: otklik_core::Language) -> &'static str {
    match language {
        otklik_core::Language::Uk => "Ваше звернення",
        otklik_core::Language::En => "Your message",
        _ => "Ваше обращение",
    }
}

/// `Content-Language`, so a mail client shows the answer in the customer's language.
#[derive(Debug, Clone)]
struct ContentLanguage(String);

impl Header for ContentLanguage {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Language")
    }

    fn parse(text: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ContentLanguage(text.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `Auto-Submitted` (RFC 3834) on what Otklik sends by itself.
#[derive(Debug, Clone)]
struct AutoSubmitted(String);

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(text: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted(text.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn driver() -> Email {
        Email::new(&Settings {
            smtp_url: Some("smtp://127.0.0.1:2525".into()),
            from: Some("Зерно <support@zerno.example>".into()),
            ..Settings::default()
        })
        .unwrap()
    }

    #[test]
    fn imap_addresses_are_read_with_their_defaults() {
        let address = ImapAddress::parse("imaps://support%40zerno.example:p%40ss@mail.example/Support").unwrap();
        assert!(address.tls);
        assert_eq!(
            (address.port, address.user.as_str(), address.password.as_str()),
            (993, "support@zerno.example", "p@ss")
        );
        assert_eq!(address.mailbox, "Support");
        assert!(!format!("{address:?}").contains("p@ss"));
        assert_eq!(ImapAddress::parse("imap://u:p@h").unwrap().mailbox, "INBOX");
        assert!(ImapAddress::parse("pop3://u:p@h").unwrap_err().to_string().starts_with("email.imap_url"));
        assert!(ImapAddress::parse("imap://h/INBOX").is_err());
    }

    #[tokio::test]
    async fn sending_needs_a_from_address() {
        let error =
            Email::new(&Settings { smtp_url: Some("smtp://h:25".into()), ..Settings::default() }).err().unwrap();
        assert_eq!(error.setting, "from");
        assert!(Email::new(&Settings::default()).is_err());
    }

    #[tokio::test]
    async fn a_reply_threads_by_references_and_reference() {
        let email = driver();
        let raw = b"From: Anna <anna@example.test>\r\nTo: support@zerno.example\r\n\
Subject: Re: coffee [OT-2026-000123]\r\nMessage-ID: <m2@example.test>\r\n\
In-Reply-To: <otklik.OT-2026-000123.7@zerno.example>\r\nReferences: <m1@example.test> <otklik.OT-2026-000123.7@zerno.example>\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nStill cold.\r\n\r\nOn Mon, Support wrote:\r\n> Sorry\r\n";
        let incoming = email.read(raw).unwrap();
        assert_eq!(incoming.external_id.as_deref(), Some("m2@example.test"));
        assert_eq!(incoming.thread.as_deref(), Some("m1@example.test"));
        assert_eq!(incoming.claims, vec!["OT-2026-000123".to_owned()]);
        assert_eq!(incoming.text, "Still cold.");
        assert!(!incoming.automatic);
        assert_eq!(incoming.customer.identities[0].value, "anna@example.test");
    }

    #[tokio::test]
    async fn robots_are_recognised() {
        let email = driver();
        for header in ["Auto-Submitted: auto-replied", "Precedence: bulk", "X-Autoreply: yes"] {
            let raw = format!("From: a@example.test\r\n{header}\r\nMessage-ID: <x@y>\r\n\r\nI am away\r\n");
            assert!(email.read(raw.as_bytes()).unwrap().automatic, "{header}");
        }
        let bounce = "From: MAILER-DAEMON@example.test\r\nMessage-ID: <b@y>\r\n\r\nUndeliverable\r\n";
        assert!(email.read(bounce.as_bytes()).unwrap().automatic);
        let looped = "From: a@example.test\r\nMessage-ID: <otklik.OT-2026-000001.1@zerno.example>\r\n\r\nx\r\n";
        assert!(email.read(looped.as_bytes()).unwrap().automatic);
        let human = "From: a@example.test\r\nAuto-Submitted: no\r\nMessage-ID: <h@y>\r\n\r\nHello\r\n";
        assert!(!email.read(human.as_bytes()).unwrap().automatic);
    }

    #[tokio::test]
    async fn the_sender_is_from_never_reply_to() {
        let raw = b"From: anna@example.test\r\nReply-To: victim@example.test\r\nMessage-ID: <r@y>\r\n\r\nHi\r\n";
        let incoming = driver().read(raw).unwrap();
        assert_eq!(incoming.customer.identities[0].value, "anna@example.test");
    }

    #[tokio::test]
    async fn an_html_only_mail_is_read_as_text() {
        let raw = b"From: a@example.test\r\nMessage-ID: <h@y>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
<html><body><p>Cold <b>coffee</b></p></body></html>\r\n";
        let text = driver().read(raw).unwrap().text;
        assert!(text.contains("Cold") && text.contains("coffee") && !text.contains('<'), "{text}");
    }

    #[tokio::test]
    async fn broken_mail_is_refused_with_a_reason() {
        let email = driver();
        assert!(email.read(b"").is_err());
        assert!(email.read(b"Subject: no sender\r\n\r\nhello\r\n").unwrap_err().contains("sender"));
    }

    #[test]
    fn a_survey_has_its_own_subject_and_answers_nothing() {
        let email = driver();
        let survey = Rendered {
            outbox_id: 43,
            case_id: None,
            survey_id: Some(7),
            reference: "NPS-7".into(),
            channel: Channel::Email,
            template: "nps.request".into(),
            language: otklik_core::Language::En,
            text: "How likely are you to recommend us?".into(),
            to: Some("anna@example.test".into()),
            subject: Some("One question about us".into()),
            thread: None,
            in_reply_to: None,
            asks: crate::Ask::Recommendation,
        };
        let mail = String::from_utf8(email.compose(&survey).unwrap().formatted()).unwrap();
        assert!(mail.contains("Subject: One question about us\r\n"), "{mail}");
        assert!(mail.contains("Message-ID: <otklik.NPS-7.43@zerno.example>"), "{mail}");
        assert!(!mail.contains("In-Reply-To") && !mail.contains("References"), "{mail}");
    }

    #[test]
    fn a_digest_has_its_own_subject_is_marked_automatic_and_links_each_case() {
        let digest = Rendered {
            outbox_id: 44,
            case_id: None,
            survey_id: None,
            reference: "DIGEST-2026-11-23".into(),
            channel: Channel::Email,
            template: DIGEST_TEMPLATE.into(),
            language: otklik_core::Language::En,
            text:
                "Three cases worth reading\n- OT-2026-000001 · late\n  https://otklik.example/cases/1\n- OT-2026-000002"
                    .into(),
            to: Some("boris@example.test".into()),
            subject: Some("Otklik: the week of 2026-11-23 to 2026-11-29".into()),
            thread: None,
            in_reply_to: None,
            asks: crate::Ask::Nothing,
        };
        let mail = String::from_utf8(driver().compose(&digest).unwrap().formatted()).unwrap();
        assert!(mail.contains("Subject: Otklik: the week of 2026-11-23 to 2026-11-29\r\n"), "{mail}");
        assert!(mail.contains("Auto-Submitted: auto-generated"), "{mail}");
        let html = html_of(&digest.text);
        assert!(
            html.contains("<a href=\"https://otklik.example/cases/1\">https://otklik.example/cases/1</a><br>"),
            "{html}"
        );
    }

    #[tokio::test]
    async fn an_answer_threads_and_carries_both_parts() {
        let email = driver();
        let rendered = Rendered {
            outbox_id: 42,
            case_id: Some(1),
            survey_id: None,
            reference: "OT-2026-000123".into(),
            channel: Channel::Email,
            template: "complaint.received".into(),
            language: otklik_core::Language::Ru,
            text: "Здравствуйте! <b>Мы</b> разбираемся.\n\nhttps://otklik.example/s/abc".into(),
            to: Some("anna@example.test".into()),
            subject: Some("coffee".into()),
            thread: Some("m1@example.test".into()),
            in_reply_to: Some("m2@example.test".into()),
            asks: crate::Ask::Nothing,
        };
        let mail = String::from_utf8(email.compose(&rendered).unwrap().formatted()).unwrap();
        assert!(mail.contains("Message-ID: <otklik.OT-2026-000123.42@zerno.example>"), "{mail}");
        assert!(mail.contains("In-Reply-To: <m2@example.test>"), "{mail}");
        assert!(mail.contains("References: <m1@example.test> <m2@example.test>"), "{mail}");
        assert!(mail.contains("Subject: Re: coffee [OT-2026-000123]"), "{mail}");
        assert!(mail.contains("Auto-Submitted: auto-replied"), "{mail}");
        assert!(mail.contains("text/plain") && mail.contains("text/html"), "{mail}");
        assert!(mail.contains("Content-Language: ru"), "{mail}");
        // The answer read back threads to its case.
        assert_eq!(email.ours("otklik.OT-2026-000123.42@zerno.example"), Some("OT-2026-000123"));
        assert_eq!(email.ours("otklik.OT-2026-000123.42@other.example"), None);
        assert!(html_of("<b>").contains("&lt;b&gt;"));
    }

    #[test]
    fn references_in_subjects() {
        assert_eq!(reference_in("Re: [OT-2026-000123] кофе").as_deref(), Some("OT-2026-000123"));
        assert_eq!(reference_in("OT-20-1"), None);
        assert_eq!(reference_in("просто тема"), None);
    }
}
