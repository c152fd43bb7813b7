//! Intake: new feedback from any source becomes a case. Triage reads it (language, kind,
//! sentiment, audience, cause, priority), a returning VIP or complainer is raised, the case
//! starts in its playbook's initial stage with its first deadline look planned, and the store
//! commits it before anything is acknowledged. A redelivery returns the first case.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use otklik_core::{Audience, Case, Channel, ClockFacts, Kind, NewCustomer, NewFeedback, ReturningPriority, Right};
use otklik_store::IdempotencyKey;
use otklik_triage::Input;
use time::OffsetDateTime;

use crate::{Actor, App, AppError};

/// Feedback as a source hands it in, already parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub text: String,
    pub channel: Channel,
    pub subject: Option<String>,
    pub customer: NewCustomer,
    pub location: Option<String>,
    pub product: Option<String>,
    /// Said in public (a comment under a post, a review).
    pub public: bool,
    /// The kind, when the source knows it (a form's choice); triage decides otherwise.
    pub kind: Option<Kind>,
    /// The source's own id of the message, which makes a redelivery recognisable.
    pub external_id: Option<String>,
}

/// A retried request's key, and a digest of the request it came with: the same key with another
/// request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    pub key: String,
    pub request_digest: String,
}

/// What a submission led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub case: Case,
    /// False for a redelivery: the case existed already and nothing was written.
    pub created: bool,
    /// The customer's status link.
    pub status_url: String,
}

impl App {
    /// Records feedback as a case, committed before this returns.
    pub async fn submit(
        &self,
        actor: &Actor,
        submission: Submission,
        idempotency: Option<Idempotency>,
    ) -> Result<Receipt, AppError> {
        actor.require(Right::SubmitFeedback)?;
        // Staff who log a call have spoken with the customer; a form or an integration passes on
        // whatever was typed into it.
        let feedback = self.triaged(submission, &actor.scope, actor.role.has(Right::WorkCases));
        let key = idempotency.map(|given| IdempotencyKey {
            scope: actor.scope.clone(),
            key: given.key,
            body_digest: given.request_digest,
        });
        let status_token = mint_link_secret();
        let submitted = self.store.submit_feedback(feedback, status_token, key, actor.stamp(&*self.clock)).await?;
        let status_url = self.status_url(&submitted.case);
        if submitted.created {
            self.wake_outbox();
            self.pile_on(&submitted.case).await;
        }
        Ok(Receipt { case: submitted.case, created: submitted.created, status_url })
    }

    /// The submission as the store takes it: classified, prioritised, in its initial stage.
    pub(crate) fn triaged(&self, submission: Submission, source: &str, vouched: bool) -> NewFeedback {
        let input = Input {
            text: &submission.text,
            public: submission.public,
            followers: submission.customer.followers.and_then(|f| u64::try_from(f).ok()),
            vip: false,
            repeated_complaint: false,
        };
        let triaged = self.triage.current().classify(&input);
        let kind = submission.kind.unwrap_or(triaged.kind);
        // A returning VIP or a customer who complained before is answered sooner; the store
        // knows which the customer is while it finds them, so it gets the priority for each.
        let raised = |vip, repeated_complaint| {
            otklik_triage::priority(
                kind,
                triaged.sentiment,
                triaged.audience,
                &Input { vip, repeated_complaint, ..input },
            )
        };
        let returning = ReturningPriority {
            vip: raised(true, false),
            complained_before: raised(false, true),
            vip_complained_before: raised(true, true),
        };
        let priority = raised(false, false);
        // A public comment triage is sure comes from a troll is hidden at once: no clock, no
        // reply owed. One it is less sure of stays in view, its audience telling the agent.
        let hidden = submission.public
            && triaged.audience == Audience::Troll
            && triaged.audience_confidence >= otklik_triage::TROLL_HIDE_THRESHOLD;
        let entry = self.workflow.playbooks.get(kind).initial_stage();
        let (stage, status) = (entry.name.clone(), entry.status);
        let mut feedback = NewFeedback {
            channel: submission.channel,
            subject: submission.subject,
            location: submission.location,
            product: submission.product,
            public: submission.public,
            kind,
            stage,
            status,
            // Triage tells a cause only for what it reads as a complaint; a kind the source
            // gave wins over its reading.
            cause: if kind == Kind::Complaint { triaged.cause } else { None },
            sentiment: Some(triaged.sentiment),
            audience: if submission.public { triaged.audience } else { Audience::None },
            hidden,
            language: Some(triaged.language),
            priority,
            external_id: submission.external_id,
            thread_key: None,
            source: source.to_owned(),
            vouched,
            watch_at: None,
            due_at: None,
            // Where a channel can carry it, the customer is told at once that the message
            // arrived, who handles it and by when; under a public post, the brand's public line.
            acknowledge: match submission.channel {
                _ if hidden => None,
                Channel::Email | Channel::Telegram | Channel::Sms => Some(format!("{kind}.received")),
                Channel::Social | Channel::Review if submission.public => Some("public.received".to_owned()),
                _ => None,
            },
            returning: Some(returning),
            customer: submission.customer,
            text: submission.text,
        };
        if !hidden {
            (feedback.watch_at, feedback.due_at) = self.first_watch(&feedback);
        }
        feedback
    }

    /// When the deadline watch first needs to look at new feedback (the earliest warning of its
    /// clocks, so that intake does not leave the watch a look at every new case), and when its
    /// earliest clock falls due (the inbox's queues by deadline risk).
    fn first_watch(&self, feedback: &NewFeedback) -> (Option<OffsetDateTime>, Option<OffsetDateTime>) {
        let policy = &self.workflow.deadlines;
        let now = self.clock.now();
        let facts = ClockFacts {
            kind: feedback.kind,
            priority: feedback.priority,
            public: feedback.public,
            location: feedback.location.as_deref(),
            created_at: now,
            pauses: &[],
            first_response_at: None,
            resolved_at: None,
            watches_due_date: false,
            due_on: None,
        };
        let clocks = policy.clocks(&facts, now);
        (
            clocks.iter().filter_map(|clock| clock.warning_at).min(),
            clocks.iter().filter_map(|clock| clock.status.due_at).min(),
        )
    }
}

/// A secret that can sit in a URL: 128 random bits, base64url (22 characters).
pub fn mint_link_secret() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
}
