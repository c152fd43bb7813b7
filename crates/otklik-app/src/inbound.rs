//! What a channel receives: an `Incoming` message opens a case, continues the open case of its
//! conversation, or is recognised as one seen already. Every inbound channel driver calls
//! `App::receive`; nothing about a case is decided in a driver. A lone number may instead answer
//! the customer's NPS survey (`surveys`). Here too: a rating given by reply or button, a channel's
//! delivery report, and a driver's position at its source.

use otklik_core::{Attachment, Case, CaseRef, Direction, Incoming, Message, NewMessage, Right, Status};
use otklik_store::{NewAttachment, NpsRequest, Stamp};
use sha2::{Digest, Sha256};

use crate::intake::mint_link_secret;
use crate::{Actor, App, AppError, Receipt, Submission, input, surveys};

/// The most files kept with one message.
pub const MAX_ATTACHMENTS: usize = 20;
/// The largest file kept, in bytes (10 MiB); a larger one is refused with the message.
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;

/// What an incoming message led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A new case.
    Opened(Receipt),
    /// A message on the open case of its conversation.
    Continued { case: Case, message: Message },
    /// Seen already (the same id from the same source): nothing was written.
    Redelivered { case: Case },
    /// A lone number answering the customer's NPS request, recorded on it (or, `again`, seen
    /// already).
    Answered { request: NpsRequest, score: u8, again: bool },
}

impl Received {
    /// The case the message went to; none for an answer to a survey.
    pub fn case(&self) -> Option<&Case> {
        match self {
            Received::Opened(receipt) => Some(&receipt.case),
            Received::Continued { case, .. } | Received::Redelivered { case } => Some(case),
            Received::Answered { .. } => None,
        }
    }
}

impl App {
    /// Takes a message a channel received. In the conversation of a case that is not closed, it
    /// continues that case; otherwise it is new feedback, triaged and opened as a case. Its files
    /// are kept with the case. Returns only after everything is committed, so a driver may
    /// acknowledge the message at its source then, and a redelivery writes nothing again.
    pub async fn receive(&self, actor: &Actor, incoming: Incoming) -> Result<Received, AppError> {
        actor.require(Right::SubmitFeedback)?;
        let text = input::text("text", &incoming.text)?;
        let subject = input::line("subject", incoming.subject)?;
        let external_id = input::line("external_id", incoming.external_id)?;
        let thread = input::line("thread", incoming.thread)?;
        let attachments = attachments(incoming.attachments)?;
        let related = incoming.related.into_iter().filter_map(|key| input::line("related", Some(key)).ok().flatten());
        let stamp = actor.stamp(&*self.clock);
        let keys: Vec<String> = thread.iter().cloned().chain(related).collect();
        // An answer to an NPS survey is a lone number: seen already, or for a waiting request.
        let recommendation = if incoming.automatic { None } else { surveys::lone_recommendation(&text) };
        if recommendation.is_some()
            && let Some(seen) = self.answered_before(incoming.channel, external_id.as_deref()).await?
        {
            return Ok(seen);
        }
        let conversation =
            self.conversation(actor, incoming.channel, &keys, &incoming.claims, &incoming.customer).await?;
        if let Some(score) = recommendation
            && let Some(request) =
                self.survey_answered(incoming.channel, &incoming.customer, score, conversation).await?
        {
            if self.store.answer_nps(request.id, score, external_id.as_deref(), stamp.at).await? {
                return Ok(Received::Answered { request, score, again: false });
            }
            // The same message delivered twice at once: the other delivery recorded it.
            if let Some(seen) = self.answered_before(incoming.channel, external_id.as_deref()).await? {
                return Ok(seen);
            }
        }
        if let Some(case_id) = conversation {
            if let Some(external_id) = &external_id
                && self.store.message_by_external_id(case_id, external_id).await?.is_some()
            {
                return Ok(Received::Redelivered { case: self.store.case(case_id).await?.case });
            }
            let message = NewMessage {
                direction: Direction::Inbound,
                public: incoming.public,
                channel: incoming.channel,
                body: text.clone(),
                external_id,
                overridden: Vec::new(),
            };
            let message = match self.store.add_message(case_id, message, stamp.clone()).await {
                // The same message delivered twice at once: the other delivery stored it.
                Err(error) if error.is_unique_violation() => {
                    return Ok(Received::Redelivered { case: self.store.case(case_id).await?.case });
                }
                other => other?,
            };
            self.store.add_attachments(case_id, &attachments, stamp.clone()).await?;
            let case = self.store.case(case_id).await?.case;
            // "Reply 1 to 5": a lone digit answering a resolved case is its rating.
            if !incoming.automatic
                && let Some(score) = lone_score(&text)
                && matches!(case.status, Status::Resolved | Status::Closed)
                && self.store.rating(case_id).await?.is_none()
            {
                let stamp = Stamp { at: stamp.at, actor: "customer".into() };
                if let Err(error) = self.rate(&case, score, None, stamp).await {
                    tracing::info!(case = %case.reference(), %error, "a rating by reply was not recorded");
                }
            }
            return Ok(Received::Continued { case, message });
        }
        if incoming.automatic {
            return Err(AppError::Invalid(
                "an automatic message (an auto-reply or a bounce) that answers no open case: recorded, not opened"
                    .into(),
            ));
        }
        let submission = Submission {
            text,
            channel: incoming.channel,
            subject,
            customer: incoming.customer,
            location: None,
            product: None,
            public: incoming.public,
            kind: None,
            external_id,
        };
        let mut feedback = self.triaged(submission, &actor.scope, incoming.vouched);
        feedback.thread_key = thread;
        let submitted = self.store.submit_feedback(feedback, mint_link_secret(), None, stamp.clone()).await?;
        // Also on a redelivery: files a first delivery could not keep are kept now.
        self.store.add_attachments(submitted.case.id, &attachments, stamp).await?;
        if !submitted.created {
            return Ok(Received::Redelivered { case: submitted.case });
        }
        let status_url = self.status_url(&submitted.case);
        self.wake_outbox();
        self.pile_on(&submitted.case).await;
        Ok(Received::Opened(Receipt { case: submitted.case, created: true, status_url }))
    }
}

impl App {
    /// A channel driver's position at its source (Telegram's update offset).
    pub async fn channel_position(&self, actor: &Actor, key: &str) -> Result<Option<String>, AppError> {
        actor.require(Right::SubmitFeedback)?;
        let value = self.store.setting(&format!("{}.{key}", actor.scope), &String::new).await?;
        Ok((!value.is_empty()).then_some(value))
    }

    pub async fn set_channel_position(&self, actor: &Actor, key: &str, value: &str) -> Result<(), AppError> {
        actor.require(Right::SubmitFeedback)?;
        Ok(self.store.put_setting(&format!("{}.{key}", actor.scope), value).await?)
    }

    /// A channel's delivery report on a message it took: the outbox shows it `delivered`, or
    /// `failed` with the reason. False when no sent message has that id at the channel.
    pub async fn delivery_report(
        &self,
        actor: &Actor,
        channel: otklik_core::Channel,
        provider_id: &str,
        delivered: bool,
        error: Option<String>,
    ) -> Result<bool, AppError> {
        actor.require(Right::SubmitFeedback)?;
        let provider_id = input::line("id", Some(provider_id.to_owned()))?
            .ok_or_else(|| AppError::Invalid("id: the provider's message id is needed".into()))?;
        let error = input::line("error", error)?;
        Ok(self.store.delivery_report(channel, &provider_id, delivered, error.as_deref()).await?)
    }

    /// An NPS answer this message (by its id at the source) gave already.
    async fn answered_before(
        &self,
        channel: otklik_core::Channel,
        external_id: Option<&str>,
    ) -> Result<Option<Received>, AppError> {
        let Some(external_id) = external_id else { return Ok(None) };
        let found = self.store.nps_answered_by(channel, external_id).await?;
        Ok(found.map(|request| Received::Answered { score: request.score.unwrap_or_default(), request, again: true }))
    }

    /// The NPS request a lone number from `author` answers: their newest unanswered one sent on
    /// the channel within `surveys::ANSWER_WITHIN` — unless the later question was the case's: an
    /// open case in this conversation whose agent wrote after the survey left ("how many
    /// guests?"), or a resolved, unrated case that changed after it, which a number from 1 to 5
    /// rates.
    async fn survey_answered(
        &self,
        channel: otklik_core::Channel,
        author: &otklik_core::NewCustomer,
        score: u8,
        conversation: Option<i64>,
    ) -> Result<Option<NpsRequest>, AppError> {
        let since = self.clock.now() - surveys::ANSWER_WITHIN;
        let mut request = None;
        for identity in &author.identities {
            if let Some(found) = self.store.awaiting_nps(channel, identity, since).await? {
                request = Some(found);
                break;
            }
        }
        let Some(request) = request else { return Ok(None) };
        if let Some(case_id) = conversation {
            let detail = self.store.case(case_id).await?;
            let later = |at: time::OffsetDateTime| request.sent_at.is_none_or(|sent| at > sent);
            if !matches!(detail.case.status, Status::Resolved | Status::Closed) {
                // An open case whose agent wrote after the survey left asked the later question.
                let asked = detail.messages.iter().filter(|m| m.direction == Direction::Outbound).map(|m| m.created_at);
                if asked.max().is_some_and(later) {
                    return Ok(None);
                }
            } else if (1..=5).contains(&score)
                && self.store.rating(case_id).await?.is_none()
                && later(detail.case.updated_at)
            {
                return Ok(None);
            }
        }
        Ok(Some(request))
    }

    /// The open case a message continues: one whose conversation at the source is one of
    /// `keys`, else one whose reference the message names — either only when its author is that
    /// case's customer.
    async fn conversation(
        &self,
        actor: &Actor,
        channel: otklik_core::Channel,
        keys: &[String],
        claims: &[String],
        author: &otklik_core::NewCustomer,
    ) -> Result<Option<i64>, AppError> {
        for key in keys {
            if let Some((case_id, status)) = self.store.case_by_thread(&actor.scope, channel, key).await?
                && status != Status::Closed
            {
                // Only its own customer continues a case: two customers answering the same
                // newsletter share its thread, and each has a case of their own.
                let customer = self.store.case(case_id).await?.customer;
                if author.identities.iter().any(|identity| customer.identities.contains(identity)) {
                    return Ok(Some(case_id));
                }
            }
        }
        for claim in claims.iter().take(10) {
            let Ok(reference) = claim.parse::<CaseRef>() else { continue };
            let detail = match self.store.case(reference.number).await {
                Ok(detail) => detail,
                Err(otklik_store::StoreError::NotFound(_)) => continue,
                Err(other) => return Err(other.into()),
            };
            let theirs = author.identities.iter().any(|identity| detail.customer.identities.contains(identity));
            if detail.case.reference() == reference && detail.case.status != Status::Closed && theirs {
                return Ok(Some(detail.case.id));
            }
        }
        Ok(None)
    }
}

/// A message that is only a score from 1 to 5 ("4", " 5 ", "5!").
fn lone_score(text: &str) -> Option<u8> {
    let trimmed = text.trim().trim_end_matches(['!', '.', ')']);
    match trimmed {
        "1" | "2" | "3" | "4" | "5" => trimmed.parse().ok(),
        _ => None,
    }
}

/// The files as the store keeps them: named, typed, within the limits, with their digests.
fn attachments(files: Vec<Attachment>) -> Result<Vec<NewAttachment>, AppError> {
    if files.len() > MAX_ATTACHMENTS {
        return Err(AppError::Invalid(format!("attachments: more than {MAX_ATTACHMENTS} files")));
    }
    files
        .into_iter()
        .map(|file| {
            if file.content.len() > MAX_ATTACHMENT_BYTES {
                return Err(AppError::Invalid(format!(
                    "attachments: `{}` is larger than {} MiB",
                    file.name,
                    MAX_ATTACHMENT_BYTES / (1024 * 1024)
                )));
            }
            let name = input::line("attachment name", Some(file.name))?.unwrap_or_else(|| "attachment".into());
            let content_type = input::line("attachment content type", Some(file.content_type))?
                .unwrap_or_else(|| "application/octet-stream".into());
            let digest = Sha256::digest(&file.content).iter().map(|byte| format!("{byte:02x}")).collect();
            Ok(NewAttachment { name, content_type, content: file.content, digest })
        })
        .collect()
}
