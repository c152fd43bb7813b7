//! What a channel receives: an `Incoming` message opens a case, continues the open case of its
//! conversation, or is recognised as one seen already. Every inbound channel driver calls
//! `App::receive`; nothing about a case is decided in a driver.

use otklik_core::{Attachment, Case, Direction, Incoming, Message, NewMessage, Right, Status};
use otklik_store::NewAttachment;
use sha2::{Digest, Sha256};

use crate::intake::mint_link_secret;
use crate::{Actor, App, AppError, Receipt, Submission, input};

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
}

impl Received {
    /// The case the message went to.
    pub fn case(&self) -> &Case {
        match self {
            Received::Opened(receipt) => &receipt.case,
            Received::Continued { case, .. } | Received::Redelivered { case } => case,
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
        let stamp = actor.stamp(&*self.clock);
        if let Some(thread) = &thread
            && let Some((case_id, status)) = self.store.case_by_thread(&actor.scope, incoming.channel, thread).await?
            && status != Status::Closed
        {
            if let Some(external_id) = &external_id
                && self.store.message_by_external_id(case_id, external_id).await?.is_some()
            {
                return Ok(Received::Redelivered { case: self.store.case(case_id).await?.case });
            }
            let message = NewMessage {
                direction: Direction::Inbound,
                public: incoming.public,
                channel: incoming.channel,
                body: text,
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
            self.store.add_attachments(case_id, &attachments, stamp).await?;
            let case = self.store.case(case_id).await?.case;
            return Ok(Received::Continued { case, message });
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
        Ok(Received::Opened(Receipt { case: submitted.case, created: true, status_url }))
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
