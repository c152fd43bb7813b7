//! Work that happens on the clock: the deadline watch, overdue tasks' reminders and escalations,
//! the job queue, the outbox (every message owed to a customer or asked of them in a survey,
//! handed to its channel's driver) and the webhook feeds. Every node runs the
//! same loop; what makes it safe to run on several nodes at once lives in the store: a deadline
//! mark is recorded once per case, clock and state (the first node to insert it wins), a job, an
//! outbox message or a webhook subscriber is claimed by one node at a time and finished only by
//! its claimer, and an outbox message is marked `sending` before it is handed over, so it is
//! never sent twice.
//!
//! Deadlines are not timers: a case's due time moves with its pauses, priority and kind, so each
//! pass computes every unresolved case's clocks from its stored state and the business calendar
//! (`otklik_core::DeadlinePolicy`). Nothing is lost while the server is down: the first pass
//! after a start records whatever fell due meanwhile.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use otklik_channels::{Ask, Messages, Outbound, Registry, Rendered, Sent, Values};
use otklik_core::{Channel, ClockFacts, DeadlineState, JobKind, MarkState, Role};
use otklik_store::{ClockedCase, DeadlineMark, Delivery, Job, OutboxMessage, Recipient, Stamp, StoreError, Watched};
use time::{Duration, OffsetDateTime};

use crate::startup::AppState;

/// How long after reminding its assignee an overdue task is escalated to the managers.
pub const TASK_ESCALATION_AFTER: Duration = Duration::days(1);
/// How often a node looks at the clocks and the job queue.
pub const WORK_EVERY: StdDuration = StdDuration::from_secs(10);
/// How old an event is before it is sealed onto its case's chain (a transaction writing an
/// event of a lower id has committed by then).
pub const SEAL_AFTER: Duration = Duration::seconds(5);
const SEAL_AT_ONCE: u32 = 1_000;
/// The most events one pass seals (the rest wait for the next), so a backlog (the first pass
/// after an upgrade) never holds up the outbox.
const SEAL_PER_PASS: u32 = 20_000;
/// How long a claimed job stays with its node before another may take it.
const LEASE: Duration = Duration::minutes(5);
/// A failing job is tried this many times, waiting twice as long each time, then given up.
const MAX_ATTEMPTS: u32 = 8;
const PAGE: u32 = 500;
/// How long a claim on outbox messages lasts by default before another node may take them, and
/// how long handing one to its channel may take before another node counts it as interrupted
/// (the drivers give up after 30 s).
pub const OUTBOX_LEASE: StdDuration = StdDuration::from_secs(60);
/// Outbox messages marked `sending` and handed to their channels together (each driver limits
/// how many it sends at once: the SMTP connections, say), by each of the two lanes. A node
/// stopped mid-way leaves at most twice this many for a person to check.
const SENT_AT_ONCE: usize = 16;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Deadline warnings, breaches and escalations this node recorded, and overdue tasks it
    /// reminded of or escalated.
    pub marks: usize,
    /// Jobs this node finished.
    pub jobs: usize,
    /// Jobs that failed and were rescheduled or given up.
    pub failed: usize,
    /// Outbox messages delivered (or, with no channel configured, logged), and attempts that
    /// failed.
    pub sent: usize,
    pub undelivered: usize,
}

/// One node's worker: the deadline watch and the job queue.
#[derive(Clone)]
pub struct Runner {
    state: AppState,
    worker: Arc<str>,
    channels: Registry,
    messages: Arc<Messages>,
    /// When this node last told the agents that a channel is failing.
    told: Arc<Mutex<HashMap<Channel, OffsetDateTime>>>,
    /// How long this node's claim on outbox messages lasts.
    lease: Duration,
    /// The client webhook deliveries go out with.
    http: reqwest::Client,
    /// When this node last applied retention.
    forgot_at: Arc<Mutex<Option<OffsetDateTime>>>,
}

impl Runner {
    /// A worker that delivers through `channels`.
    pub fn new(state: AppState, worker: impl Into<Arc<str>>, channels: Registry) -> Runner {
        Runner {
            state,
            worker: worker.into(),
            channels,
            messages: Arc::new(Messages::builtin()),
            told: Arc::default(),
            lease: Duration::try_from(OUTBOX_LEASE).expect("a minute fits"),
            http: reqwest::Client::builder()
                .connect_timeout(StdDuration::from_secs(5))
                .timeout(StdDuration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("an HTTP client without TLS settings builds"),
            forgot_at: Arc::default(),
        }
    }

    /// Claims outbox messages for `lease` (`outbox_lease_seconds`) instead of the default.
    pub fn with_outbox_lease(mut self, lease: StdDuration) -> Runner {
        self.lease = Duration::try_from(lease).unwrap_or(Duration::minutes(1));
        self
    }

    /// Delivers the outbox messages of the driver's channels through it.
    pub fn with_outbound(mut self, outbound: Arc<dyn Outbound>) -> Runner {
        self.channels = self.channels.with(outbound);
        self
    }

    /// Runs passes every `every` until the process ends; a failed pass is logged and retried.
    pub fn spawn(self, every: StdDuration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            let wake = self.state.app.outbox_wake.clone();
            loop {
                // The next round, or sooner when a message is owed to a customer.
                tokio::select! {
                    _ = ticks.tick() => {}
                    () = wake.notified() => {}
                }
                match self.pass().await {
                    Ok(pass) if pass != Pass::default() => tracing::info!(?pass, "work done"),
                    Ok(_) => {}
                    Err(error) => tracing::error!(%error, "the deadline and job pass failed; will retry"),
                }
            }
        })
    }

    /// One pass: every unresolved case's clocks, then every due job.
    pub async fn pass(&self) -> Result<Pass, StoreError> {
        let now = self.state.app.clock.now();
        let mut pass = Pass::default();
        // Another node may have changed a location's time zone.
        if let Err(error) = self.state.app.refresh_locations().await {
            tracing::warn!(%error, "cannot read the locations");
        }
        // Each looked-at case gets its next look set, so this loop ends; a case whose next
        // look would be now again waits a minute (its clock cannot move faster than that).
        loop {
            let cases = self.state.app.store.clocked_cases(now, PAGE).await?;
            if cases.is_empty() {
                break;
            }
            let mut next = Vec::with_capacity(cases.len());
            for case in &cases {
                let (marks, at, due) = self.watch(case, now).await?;
                pass.marks += marks;
                let at = at.map(|at| at.max(now + Duration::minutes(1)));
                next.push(Watched { case_id: case.case_id, next: at, due });
            }
            self.state.app.store.set_watch(&next).await?;
        }
        loop {
            let jobs = self.state.app.store.claim_jobs(&self.worker, now, now + LEASE, 50).await?;
            if jobs.is_empty() {
                break;
            }
            for job in &jobs {
                match self.run(job, now).await {
                    Ok(true) => pass.jobs += 1,
                    Ok(false) => {}
                    Err(error) => {
                        pass.failed += 1;
                        let retry_at = (job.attempts < MAX_ATTEMPTS)
                            .then(|| now + Duration::minutes(1i64 << job.attempts.min(12)));
                        tracing::warn!(job = job.id, kind = %job.kind, %error, ?retry_at, "job failed");
                        self.state.app.store.fail_job(job.id, &self.worker, &error.to_string(), retry_at).await?;
                    }
                }
            }
        }
        // Overdue tasks: the business's calendar says which day it is.
        let today = self.state.app.workflow.deadlines.calendar.local(now).date();
        let (reminded, escalated) = self.state.app.store.chase_overdue_tasks(today, now, TASK_ESCALATION_AFTER).await?;
        pass.marks += (reminded + escalated) as usize;
        self.weekly_digest(now).await;
        if let Err(error) = self.seal_history(now).await {
            tracing::warn!(%error, "cannot seal the cases' histories; will retry");
        }
        self.retention(now).await;
        self.deliver(now, &mut pass).await?;
        self.notify_subscribers(now, &mut pass).await?;
        Ok(pass)
    }

    /// Last week's digest to the managers, once its Monday morning has come (recorded once,
    /// whichever node gets there first). A failure is logged and tried again next pass.
    async fn weekly_digest(&self, now: OffsetDateTime) {
        let app = &self.state.app;
        let sent = match app.digest_due(now).await {
            Ok(Some(period)) => {
                let url = app.public_url().to_owned();
                app.send_weekly_digest(period, |digest, language| {
                    crate::web::reports::digest_text(digest, language, &url)
                })
                .await
            }
            Ok(None) => return,
            Err(error) => Err(error),
        };
        match sent {
            Ok(sent) if sent.readers > 0 => {
                tracing::info!(readers = sent.readers, letters = sent.letters, "weekly digest sent");
            }
            Ok(sent) if sent.digest_id.is_some() => {
                tracing::debug!("weekly digest of a quiet week recorded; sent to no one");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "cannot send the weekly digest; will retry"),
        }
    }

    /// Chains the events written a few seconds ago onto their cases' histories.
    async fn seal_history(&self, now: OffsetDateTime) -> Result<(), StoreError> {
        let mut sealed = 0;
        while sealed < SEAL_PER_PASS {
            let batch = self.state.app.store.seal_events(now - SEAL_AFTER, SEAL_AT_ONCE).await?;
            sealed += batch as u32;
            if batch < u64::from(SEAL_AT_ONCE) {
                break;
            }
        }
        Ok(())
    }

    /// Retention (`retention_days`): once an hour per node, erases the personal data of the
    /// customers whose cases have all been closed that long.
    async fn retention(&self, now: OffsetDateTime) {
        let Some(after) = self.state.app.retention else { return };
        {
            let mut forgot_at = self.forgot_at.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if forgot_at.is_some_and(|at| now - at < Duration::hours(1)) {
                return;
            }
            *forgot_at = Some(now);
        }
        match self.state.app.forget_closed(now, after).await {
            Ok(0) => {}
            Ok(forgotten) => tracing::info!(forgotten, "retention erased customers' personal data"),
            Err(error) => tracing::warn!(%error, "retention failed; will retry"),
        }
    }

    /// Sends whatever the outbox holds that is due now (a bench times this).
    pub async fn send_outbox(&self) -> Result<Pass, StoreError> {
        let mut pass = Pass::default();
        self.deliver(self.state.app.clock.now(), &mut pass).await?;
        Ok(pass)
    }

    /// Delivers the due outbox messages of the registered channels, each rendered from its
    /// template in the customer's language, a few at a time in parallel; a failure is tried
    /// again with doubling waits, up to `MAX_ATTEMPTS`. A message is marked `sending` just
    /// before it is handed over, so one whose node stopped mid-way is never sent twice.
    async fn deliver(&self, now: OffsetDateTime, pass: &mut Pass) -> Result<(), StoreError> {
        for message in self.state.app.store.settle_interrupted(now).await? {
            tracing::warn!(
                message = message.id,
                case = message.case_id,
                "a message whose node stopped while sending it is marked failed"
            );
            self.state.metrics.delivery(message.channel, "failed");
        }
        // Two lanes, each with its own claims: while one hands its round to the channels, the
        // other reads and records, so neither the database nor the channels wait for the other.
        let (first, second) = tokio::join!(self.deliver_lane(now), self.deliver_lane(now));
        for lane in [first?, second?] {
            pass.sent += lane.sent;
            pass.undelivered += lane.undelivered;
        }
        Ok(())
    }

    /// One lane of `deliver`: claims, renders, sends and records rounds until nothing is due.
    async fn deliver_lane(&self, now: OffsetDateTime) -> Result<Pass, StoreError> {
        let mut lane = Pass::default();
        let pass = &mut lane;
        let channels = self.channels.channels();
        loop {
            // A long round's later claims are timed from when they are made.
            let now = self.state.app.clock.now().max(now);
            let claimed = self.state.app.store.claim_outbox(&self.worker, &channels, now, now + self.lease, 64).await?;
            if claimed.is_empty() {
                return Ok(lane);
            }
            for chunk in claimed.chunks(SENT_AT_ONCE) {
                let rendered = futures_util::future::join_all(chunk.iter().map(|message| self.render(message))).await;
                let mut ready = Vec::with_capacity(chunk.len());
                for (message, rendered) in chunk.iter().zip(rendered) {
                    if let Some(driver) = self.channels.driver(message.channel) {
                        ready.push((message, driver.clone(), rendered?));
                    }
                }
                let ids: Vec<i64> = ready.iter().map(|(message, _, _)| message.id).collect();
                // Only what is still this node's is sent (a slow round may have outlived its
                // claim, and another node taken the rest); the lease covers the sending itself.
                let until = self.state.app.clock.now() + self.lease;
                let started = self.state.app.store.start_sending(&self.worker, &ids, until).await?;
                ready.retain(|(message, _, _)| started.contains(&message.id));
                let outcomes =
                    futures_util::future::join_all(ready.iter().map(|(_, driver, rendered)| driver.deliver(rendered)))
                        .await;
                let mut deliveries = Vec::with_capacity(ready.len());
                for ((message, _, _), outcome) in ready.iter().zip(outcomes) {
                    let (delivery, word) = match outcome {
                        Ok(Sent::Delivered) => (Delivery::Sent { note: None }, "sent"),
                        Ok(Sent::Named(id)) => (Delivery::Sent { note: Some(id) }, "sent"),
                        Ok(Sent::OnSite(link)) => (Delivery::OnSite { link }, "on_site"),
                        Ok(Sent::Logged) => (Delivery::Logged, "logged"),
                        Err(error) => {
                            let retry_at = (message.attempts < MAX_ATTEMPTS)
                                .then(|| now + Duration::minutes(1i64 << message.attempts.min(12)));
                            tracing::warn!(message = message.id, channel = %message.channel, %error, ?retry_at, "not delivered");
                            self.channel_down(message, &error, now).await;
                            let word = if retry_at.is_some() { "retrying" } else { "failed" };
                            (Delivery::Failed { error, retry_at }, word)
                        }
                    };
                    if word == "retrying" || word == "failed" {
                        pass.undelivered += 1;
                    } else {
                        pass.sent += 1;
                    }
                    self.state.metrics.delivery(message.channel, word);
                    deliveries.push((message.id, delivery));
                }
                self.state.app.store.record_deliveries(&self.worker, &deliveries, now).await?;
            }
        }
    }

    /// Hands the case events each webhook subscriber asked for to its URL, in order, each once,
    /// signed with its secret (`X-Otklik-Signature`). A failure holds that subscriber's feed and
    /// is tried again with doubling waits; after `MAX_ATTEMPTS` the event is skipped and the
    /// admins are told.
    async fn notify_subscribers(&self, now: OffsetDateTime, pass: &mut Pass) -> Result<(), StoreError> {
        let store = &self.state.app.store;
        // An event younger than this may still be joined by one of a lower id from a
        // transaction not yet committed.
        let settled_before = now - Duration::seconds(2);
        for hook in store.claim_webhooks(&self.worker, now, now + self.lease).await? {
            let (mut cursor, mut delivered, mut failure) = (hook.cursor, 0i64, None);
            let mut attempts = hook.attempts;
            // A feed stops well inside its claim (each POST gives up after 10 s); the rest
            // waits for the next round, so no other node takes it up meanwhile.
            let started = std::time::Instant::now();
            let budget = self.lease.unsigned_abs() / 3;
            'feed: loop {
                if started.elapsed() > budget {
                    break;
                }
                let events = store.hook_events(cursor, settled_before, 100).await?;
                if events.is_empty() {
                    break;
                }
                for event in events {
                    if hook.events.iter().any(|wanted| wanted == event.event) {
                        match self.post_event(&hook, &event).await {
                            Ok(()) => {
                                delivered += 1;
                                pass.sent += 1;
                                attempts = 0;
                            }
                            Err(error) if attempts + 1 < MAX_ATTEMPTS => {
                                pass.undelivered += 1;
                                let attempts = attempts + 1;
                                let retry_at = now + Duration::minutes(1i64 << attempts.min(12));
                                tracing::warn!(webhook = hook.id, event = event.id, %error, %retry_at, "webhook not delivered");
                                failure = Some((error, attempts, retry_at));
                                break 'feed;
                            }
                            Err(error) => {
                                pass.undelivered += 1;
                                tracing::error!(webhook = hook.id, event = event.id, %error, "webhook event given up");
                                let body = format!(
                                    "webhook {} ({}): event {} given up after {MAX_ATTEMPTS} tries: {error}",
                                    hook.id, hook.url, event.id
                                );
                                store
                                    .notify(
                                        &Recipient::Role(Role::Admin),
                                        Some(event.case_id),
                                        "webhook_failed",
                                        &body,
                                        now,
                                    )
                                    .await?;
                                // The next event gets its own tries.
                                attempts = 0;
                            }
                        }
                    }
                    cursor = event.id;
                }
            }
            let failure = failure
                .as_ref()
                .map(|(error, attempts, at): &(String, u32, OffsetDateTime)| (error.as_str(), *attempts, *at));
            store.webhook_progress(hook.id, &self.worker, cursor, delivered, failure).await?;
        }
        Ok(())
    }

    /// POSTs one event to a subscriber.
    async fn post_event(
        &self,
        hook: &otklik_store::WebhookRecord,
        event: &otklik_store::HookEvent,
    ) -> Result<(), String> {
        let detail = self.state.app.store.case(event.case_id).await.map_err(|error| error.to_string())?;
        let case = &detail.case;
        let body = serde_json::json!({
            "id": event.id,
            "event": event.event,
            "at": event.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "action": event.action,
            "from": event.from,
            "to": event.to,
            "case": {
                "id": case.id,
                "reference": case.reference().to_string(),
                "kind": case.kind,
                "status": case.status,
                "stage": case.stage,
                "channel": case.channel,
                "priority": case.priority,
                "location": case.location,
                "customer_id": case.customer_id,
            },
        });
        let body = serde_json::to_vec(&body).map_err(|error| error.to_string())?;
        let signature = otklik_channels::signature::sign(hook.secret.as_bytes(), &body);
        let response = self
            .http
            .post(&hook.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Otklik-Event", event.event)
            .header("X-Otklik-Delivery", event.id.to_string())
            .header("X-Otklik-Signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|error| format!("{}", error.without_url()))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("the subscriber answered {}", response.status()))
        }
    }

    /// A channel that fails raises a notification to the agents, once an hour per channel and
    /// node: its messages wait and are tried again; intake and the other channels go on.
    async fn channel_down(&self, message: &OutboxMessage, error: &str, now: OffsetDateTime) {
        {
            let mut told = self.told.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if told.get(&message.channel).is_some_and(|at| now - *at < Duration::hours(1)) {
                return;
            }
            told.insert(message.channel, now);
        }
        let body =
            format!("the {} channel is failing ({error}); its messages wait and are tried again", message.channel);
        let recipient = Recipient::Role(Role::Agent);
        if let Err(error) = self.state.app.store.notify(&recipient, message.case_id, "channel_down", &body, now).await {
            tracing::warn!(%error, "cannot leave a notification about a failing channel");
        }
    }

    /// An outbox row as its customer reads it: their language (their locale, else the language
    /// of what they wrote), their name, the case reference and status link, their address on the
    /// channel and the conversation it continues.
    async fn render(&self, message: &OutboxMessage) -> Result<Rendered, StoreError> {
        if let (Some(digest_id), Some(user_id)) = (message.digest_id, message.user_id) {
            return self.render_digest(message, digest_id, user_id).await;
        }
        let Some(case_id) = message.case_id else { return self.render_survey(message).await };
        let detail = self.state.app.store.case(case_id).await?;
        let language = otklik_app::customer_language(&detail.customer, &detail.case);
        let reference = detail.case.reference().to_string();
        let status_url = self.state.app.status_url(&detail.case);
        // When the customer hears from us next, as the location's (else the business's) clocks
        // show it: an acknowledgement says so.
        let zone = self
            .state
            .app
            .zone_of_location(detail.case.location.as_deref())
            .await
            .map_err(|error| StoreError::Internal(error.to_string()))?;
        let due = detail.case.due_at.map(|at| otklik_core::clock_words(at, &zone));
        let values = Values {
            reference: &reference,
            status_url: &status_url,
            customer_name: detail.customer.name.as_deref(),
            words: message.body.as_deref(),
            due: due.as_deref(),
        };
        let asks = if Rendered::template_asks_rating(&message.template)
            && matches!(message.channel, Channel::Email | Channel::Sms | Channel::Telegram)
        {
            Ask::Rating
        } else {
            Ask::Nothing
        };
        // A public post's answer is read by everyone: never the private status link.
        // (On a social network or review site even a private case's answers may land where
        // others read them.)
        let public = matches!(message.channel, Channel::Social | Channel::Review);
        let mut text = if public {
            self.messages.render_public(&message.template, language, &values)
        } else {
            self.messages.render(&message.template, language, &values)
        };
        if asks == Ask::Rating {
            text = self.messages.with_rating_request(text, message.channel, language);
        }
        let to = otklik_app::customer_address(&detail.customer, message.channel).map(|identity| identity.value.clone());
        let thread = self.state.app.store.reply_thread(case_id, message.channel).await?;
        Ok(Rendered {
            outbox_id: message.id,
            case_id: Some(case_id),
            survey_id: None,
            text,
            reference,
            channel: message.channel,
            template: message.template.clone(),
            language,
            to,
            subject: detail.case.subject.clone(),
            thread: thread.thread,
            in_reply_to: thread.last_inbound,
            asks,
        })
    }

    /// An NPS request as its customer reads it: the question in their language (their locale,
    /// else the language of their newest case), addressed on the campaign's channel.
    async fn render_survey(&self, message: &OutboxMessage) -> Result<Rendered, StoreError> {
        let request_id = message.survey_id.ok_or(StoreError::NotFound("the outbox message's case or survey"))?;
        let request = self.state.app.store.nps_request(request_id).await?;
        let detail = self.state.app.store.customer(request.customer_id).await?;
        let language = match detail.cases.iter().max_by_key(|case| case.id) {
            Some(case) => otklik_app::customer_language(&detail.customer, case),
            None => otklik_app::locale_language(&detail.customer).unwrap_or(otklik_core::Language::Ru),
        };
        let (subject, text) = self.messages.survey(message.channel, language, detail.customer.name.as_deref());
        Ok(Rendered {
            outbox_id: message.id,
            case_id: None,
            survey_id: Some(request_id),
            reference: format!("NPS-{request_id}"),
            channel: message.channel,
            template: message.template.clone(),
            language,
            text,
            to: otklik_app::customer_address(&detail.customer, message.channel).map(|identity| identity.value.clone()),
            subject: Some(subject),
            thread: None,
            in_reply_to: None,
            asks: Ask::Recommendation,
        })
    }

    /// A weekly digest's letter to a person: written in their language when it was recorded;
    /// addressed to their e-mail address as it is now.
    async fn render_digest(
        &self,
        message: &OutboxMessage,
        digest_id: i64,
        user_id: i64,
    ) -> Result<Rendered, StoreError> {
        let digest = self.state.app.store.digest(digest_id).await?;
        let reader = self.state.app.store.user(user_id).await?;
        let language = otklik_app::digest::reader_language(&reader);
        Ok(Rendered {
            outbox_id: message.id,
            case_id: None,
            survey_id: None,
            reference: format!("DIGEST-{}", digest.from),
            channel: message.channel,
            template: message.template.clone(),
            language,
            text: message.body.clone().unwrap_or_default(),
            to: reader.email.filter(|_| reader.active),
            subject: Some(crate::web::reports::digest_subject(language, digest.from, digest.to)),
            thread: None,
            in_reply_to: None,
            asks: Ask::Nothing,
        })
    }

    async fn run(&self, job: &Job, now: OffsetDateTime) -> Result<bool, StoreError> {
        match job.kind {
            JobKind::FollowUp => {
                let stamp = Stamp { at: now, actor: "system".into() };
                self.state.app.store.finish_follow_up(job, &self.worker, stamp).await
            }
        }
    }

    /// Records the warnings, breaches and escalations a case's clocks have reached, and says
    /// when one of them can fire next (none: until the case changes) and when the earliest
    /// running clock falls due.
    async fn watch(
        &self,
        case: &ClockedCase,
        now: OffsetDateTime,
    ) -> Result<(usize, Option<OffsetDateTime>, Option<OffsetDateTime>), StoreError> {
        let policy = &self.state.app.workflow.deadlines;
        let location = case.location.as_deref();
        let (mut recorded, mut next): (usize, Option<OffsetDateTime>) = (0, None);
        let mut due: Option<OffsetDateTime> = None;
        if case.hidden || case.linked {
            return Ok((0, None, None));
        }
        let facts = ClockFacts {
            kind: case.kind,
            priority: case.priority,
            public: case.public,
            location,
            created_at: case.created_at,
            pauses: &case.pauses,
            first_response_at: case.first_response_at,
            // The watch sees only cases that are not resolved.
            resolved_at: None,
            watches_due_date: self.state.app.watches_due_date(case.kind, &case.stage),
            due_on: case.due_on,
        };
        for reading in policy.clocks(&facts, now) {
            if reading.met {
                continue;
            }
            let (milestone, status) = (reading.milestone, reading.status);
            if let Some(at) = status.due_at {
                due = Some(due.map_or(at, |earlier| earlier.min(at)));
            }
            let clock = milestone.words();
            // The words of a notification are made only when one is recorded.
            let due = || status.due_at.map_or_else(|| "paused".to_owned(), |due| due.to_string());
            let (marks, fires_next): (Vec<(MarkState, Role, String)>, Option<OffsetDateTime>) = match status.state {
                DeadlineState::Ok => (Vec::new(), reading.warning_at),
                DeadlineState::Warning => (
                    vec![(MarkState::Warning, Role::Agent, format!("the {clock} deadline is near: due {}", due()))],
                    status.due_at,
                ),
                DeadlineState::Breached => (
                    vec![
                        (
                            MarkState::Breached,
                            Role::Agent,
                            format!("the {clock} deadline passed: it was due {}", due()),
                        ),
                        (
                            MarkState::Escalated,
                            Role::Manager,
                            format!("escalated: the {clock} deadline passed (due {})", due()),
                        ),
                    ],
                    None,
                ),
            };
            if let Some(at) = fires_next {
                next = Some(next.map_or(at, |earlier| earlier.min(at)));
            }
            for (state, notify, message) in marks {
                let notify = Recipient::Role(notify);
                let mark = DeadlineMark { case_id: case.case_id, milestone, state, notify, message };
                if self.state.app.store.mark_deadline(&mark, Stamp { at: now, actor: "system".into() }).await? {
                    recorded += 1;
                }
            }
        }
        Ok((recorded, next, due))
    }
}
