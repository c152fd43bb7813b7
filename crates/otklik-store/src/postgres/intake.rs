//! PostgreSQL intake with group commit. Submissions that arrive while the writers are busy wait
//! in a queue; a writer whose turn it is takes everything waiting (up to `MAX_GROUP` items) and
//! writes it in one transaction with two statements whatever the group's size (a lookup, then one
//! chained `INSERT … SELECT FROM unnest(…)` for every table), gives up its turn and answers every
//! caller after its commit. Two groups are written at a time (`WRITING_AT_ONCE`), so both cores
//! work while other writers wait for the disk; one commit serves a whole group.
//!
//! Items of a group that share a key (an idempotency key, an external id, a customer identity or
//! the customer they resolve to) are written in successive rounds of the same transaction, so a
//! later one sees what the earlier one wrote, exactly as if they had come one after another.
//! When the group fails as a whole (another node stored the same identity first, a deadlock),
//! it is rolled back and each submission is written alone, retried while it keeps losing races,
//! so one bad submission fails alone and a race costs a retry, never a case.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use otklik_core::Priority;
use sqlx::{PgConnection, PgPool};
use tokio::sync::{Mutex, Semaphore, mpsc};

use crate::StoreError;
use crate::records::{NewIdentities, check_redelivery, millis};
use crate::sql::intake::{Answer, Intake, Job, Outcome, Queue, group, reply};

/// The most items written in one group.
const MAX_GROUP: usize = 256;
/// Writers: some write their groups' statements while the others wait for their commits.
pub(super) const WRITERS: usize = 4;
/// How many groups' statements run at once: two, so both cores work, each group still large.
const WRITING_AT_ONCE: usize = 2;
/// How often a submission written alone is tried again after losing a race.
const RACE_RETRIES: usize = 5;

/// The handle the store keeps; dropping it lets the writers finish the queue and stop.
pub(super) struct GroupWriter {
    queue: Queue,
}

impl GroupWriter {
    pub(super) fn start(pool: PgPool) -> GroupWriter {
        let (queue, receiver) = Queue::new("PostgreSQL intake writer");
        let receiver = Arc::new(Mutex::new(receiver));
        let writing = Arc::new(Semaphore::new(WRITING_AT_ONCE));
        for _ in 0..WRITERS {
            tokio::spawn(run(pool.clone(), receiver.clone(), writing.clone()));
        }
        GroupWriter { queue }
    }

    pub(super) async fn write(&self, items: Vec<Intake>) -> Answer {
        self.queue.write(items).await
    }
}

async fn run(pool: PgPool, receiver: Arc<Mutex<mpsc::UnboundedReceiver<Job>>>, writing: Arc<Semaphore>) {
    loop {
        // A writer takes a group only when it may write it at once, and gives up its turn
        // before its commit: the next writer collects everything that arrived meanwhile and
        // writes it while this one waits for the disk, so groups stay large and no core idles.
        let Ok(turn) = writing.clone().acquire_owned().await else { return };
        let jobs = {
            let mut queue = receiver.lock().await;
            let Some(first) = queue.recv().await else { return };
            group(first, &mut queue, MAX_GROUP)
        };
        let items: Vec<&[Intake]> = jobs.iter().map(|job| job.items.as_slice()).collect();
        let answers = match write_jobs(&pool, &items, Some(turn)).await {
            Ok(answers) => answers,
            Err(error) => {
                tracing::debug!(%error, jobs = items.len(), "intake group rolled back; writing its jobs one by one");
                let mut answers = Vec::with_capacity(items.len());
                for job in &items {
                    answers.push(write_alone(&pool, job).await);
                }
                answers
            }
        };
        reply(jobs, answers);
    }
}

async fn write_alone(pool: &PgPool, items: &[Intake]) -> Answer {
    let mut attempt = 0;
    loop {
        let answer = write_jobs(pool, &[items], None::<()>).await;
        match answer {
            Err(error) if error.is_transient() && attempt < RACE_RETRIES => attempt += 1,
            Err(error) => return Err(error),
            Ok(mut answers) => {
                return answers.pop().unwrap_or_else(|| Err(StoreError::Internal("a job without an answer".into())));
            }
        }
    }
}

/// Writes the jobs in one transaction, giving up the writer's turn (`queue`) once only the
/// commit is left. The outer error means the transaction was rolled back;
/// an inner one is a submission refused before it wrote anything (a reused idempotency key, an
/// external id sent again with another text), which leaves the others to commit.
async fn write_jobs<Q>(pool: &PgPool, jobs: &[&[Intake]], queue: Option<Q>) -> Result<Vec<Answer>, StoreError> {
    let items: Vec<(usize, &Intake)> =
        jobs.iter().enumerate().flat_map(|(job, items)| items.iter().map(move |item| (job, item))).collect();
    let mut outcomes: Vec<Option<Outcome>> = items.iter().map(|_| None).collect();
    let mut refused: HashMap<usize, StoreError> = HashMap::new();
    let mut tx = pool.begin().await?;
    let mut pending: Vec<usize> = (0..items.len()).collect();
    let mut linked = false;
    while !pending.is_empty() {
        let (round, mut later) = split_round(&items, &pending);
        let mut written =
            Round { items: &items, outcomes: &mut outcomes, refused: &mut refused, linked: &mut linked, jobs };
        let deferred = written.write(&mut tx, round).await?;
        later.extend(deferred);
        later.sort_unstable();
        pending = later;
    }
    // A group that linked identities keeps its turn until its commit: a group after it must
    // find those customers, not create them again (and lose the race on the unique index).
    if linked {
        tx.commit().await?;
        drop(queue);
    } else {
        drop(queue);
        tx.commit().await?;
    }
    let mut answers: Vec<Answer> = jobs.iter().map(|_| Ok(Vec::new())).collect();
    for (job, error) in refused {
        answers[job] = Err(error);
    }
    for ((job, _), outcome) in items.iter().zip(outcomes) {
        if let Ok(done) = &mut answers[*job] {
            done.push(outcome.ok_or_else(|| StoreError::Internal("an item without an outcome".into()))?);
        }
    }
    Ok(answers)
}

/// The keys two items of one round must not share.
fn keys(item: &Intake) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(key) = &item.idempotency {
        keys.push(format!("idempotency\u{0}{}\u{0}{}", key.scope, key.key));
    }
    let feedback = &item.feedback;
    if let Some(external_id) = &feedback.external_id {
        keys.push(format!("external\u{0}{}\u{0}{}\u{0}{external_id}", feedback.source, feedback.channel.as_str()));
    }
    for identity in &feedback.customer.identities {
        keys.push(format!("identity\u{0}{}\u{0}{}", identity.kind.as_str(), identity.value));
    }
    keys
}

/// The pending items that share no key with an earlier one, and the rest for a later round.
fn split_round(items: &[(usize, &Intake)], pending: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let mut seen = HashSet::new();
    let (mut round, mut later) = (Vec::new(), Vec::new());
    for &index in pending {
        let keys = keys(items[index].1);
        if keys.iter().any(|key| seen.contains(key)) {
            later.push(index);
        } else {
            seen.extend(keys);
            round.push(index);
        }
    }
    (round, later)
}

/// One round of a group: items that share no key, written with one statement per table.
struct Round<'a, 'i> {
    items: &'a [(usize, &'i Intake)],
    outcomes: &'a mut Vec<Option<Outcome>>,
    refused: &'a mut HashMap<usize, StoreError>,
    /// Whether a round linked identities to customers.
    linked: &'a mut bool,
    jobs: &'a [&'i [Intake]],
}

/// A new case as the round decides it.
struct NewCase<'i> {
    index: usize,
    item: &'i Intake,
    customer_id: i64,
    returning: bool,
    /// A returning customer's details this submission fills in.
    fills: bool,
    priority: Priority,
    identities: NewIdentities<'i>,
}

/// A known identity with its customer, as the lookup reads them.
#[derive(sqlx::FromRow)]
struct KnownRow {
    kind: String,
    value: String,
    #[sqlx(flatten)]
    known: Known,
}

/// A known customer as intake sees them.
#[derive(sqlx::FromRow)]
struct Known {
    id: i64,
    no_name: bool,
    no_followers: bool,
    no_locale: bool,
    vip: bool,
    complained: bool,
}

impl<'i> Round<'_, 'i> {
    /// A submission refused before anything of it was written. A job of several items (an
    /// import) is written all or nothing, so its refusal rolls the group back.
    fn refuse(&mut self, index: usize, error: StoreError) -> Result<(), StoreError> {
        let job = self.items[index].0;
        if self.jobs[job].len() > 1 {
            return Err(error);
        }
        self.refused.insert(job, error);
        Ok(())
    }

    /// Writes the round; the items it put off to the next round (their customer is another
    /// item's of this round).
    async fn write(&mut self, tx: &mut PgConnection, round: Vec<usize>) -> Result<Vec<usize>, StoreError> {
        let round = self.redeliveries(tx, round).await?;
        if round.is_empty() {
            return Ok(Vec::new());
        }
        let (cases, deferred) = self.customers(tx, round).await?;
        let (ids, linked) = insert_cases(tx, &cases).await?;
        *self.linked |= linked;
        for new in &cases {
            let id =
                *ids.get(&new.item.status_token).ok_or_else(|| StoreError::Internal("a case without an id".into()))?;
            self.outcomes[new.index] =
                Some(Outcome::Created(Box::new(new.item.case(id, new.customer_id, new.priority))));
        }
        Ok(deferred)
    }

    /// Answers redeliveries (same idempotency key, or same source, channel and external id)
    /// with the existing case, refuses the mismatched ones; the rest are new.
    async fn redeliveries(&mut self, tx: &mut PgConnection, round: Vec<usize>) -> Result<Vec<usize>, StoreError> {
        let keyed: Vec<&crate::IdempotencyKey> =
            round.iter().filter_map(|&index| self.items[index].1.idempotency.as_ref()).collect();
        let mut known_keys: HashMap<(String, String), (String, i64)> = HashMap::new();
        if !keyed.is_empty() {
            let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
                "SELECT k.scope, k.key, k.body_digest, k.case_id FROM unnest($1::text[], $2::text[]) AS u(scope, key) \
                 JOIN idempotency_keys k ON k.scope = u.scope AND k.key = u.key",
            )
            .bind(keyed.iter().map(|key| key.scope.clone()).collect::<Vec<_>>())
            .bind(keyed.iter().map(|key| key.key.clone()).collect::<Vec<_>>())
            .fetch_all(&mut *tx)
            .await?;
            known_keys =
                rows.into_iter().map(|(scope, key, digest, case_id)| ((scope, key), (digest, case_id))).collect();
        }
        let external: Vec<&Intake> =
            round.iter().map(|&index| self.items[index].1).filter(|item| item.feedback.external_id.is_some()).collect();
        let mut known_ids: HashMap<(String, String, String), (i64, String)> = HashMap::new();
        if !external.is_empty() {
            let rows: Vec<(String, String, String, i64, String)> = sqlx::query_as(
                "SELECT c.source, c.channel, c.external_id, c.id, m.body \
                 FROM unnest($1::text[], $2::text[], $3::text[]) AS u(source, channel, external_id) \
                 JOIN cases c ON c.source = u.source AND c.channel = u.channel AND c.external_id = u.external_id \
                 JOIN messages m ON m.id = (SELECT min(id) FROM messages WHERE case_id = c.id)",
            )
            .bind(external.iter().map(|item| item.feedback.source.clone()).collect::<Vec<_>>())
            .bind(external.iter().map(|item| item.feedback.channel.as_str().to_owned()).collect::<Vec<_>>())
            .bind(external.iter().map(|item| item.feedback.external_id.clone().unwrap_or_default()).collect::<Vec<_>>())
            .fetch_all(&mut *tx)
            .await?;
            known_ids = rows.into_iter().map(|(s, c, e, id, body)| ((s, c, e), (id, body))).collect();
        }
        let mut new = Vec::with_capacity(round.len());
        for index in round {
            let item = self.items[index].1;
            if let Some(key) = &item.idempotency
                && let Some((digest, case_id)) = known_keys.get(&(key.scope.clone(), key.key.clone()))
            {
                if *digest == key.body_digest {
                    self.outcomes[index] = Some(Outcome::Existing(*case_id));
                } else {
                    self.refuse(index, StoreError::IdempotencyMismatch)?;
                }
                continue;
            }
            let feedback = &item.feedback;
            if let Some(external_id) = &feedback.external_id {
                let key = (feedback.source.clone(), feedback.channel.as_str().to_owned(), external_id.clone());
                if let Some(found) = known_ids.remove(&key) {
                    match check_redelivery(found, feedback) {
                        Ok(case_id) => self.outcomes[index] = Some(Outcome::Existing(case_id)),
                        Err(error) => self.refuse(index, error)?,
                    }
                    continue;
                }
            }
            new.push(index);
        }
        Ok(new)
    }

    /// Finds each item's customer by any of their identities or creates them (the rule of
    /// `records::UPDATE_FOUND_CUSTOMER`), and links the new identities.
    async fn customers(
        &mut self,
        tx: &mut PgConnection,
        round: Vec<usize>,
    ) -> Result<(Vec<NewCase<'i>>, Vec<usize>), StoreError> {
        let wanted: Vec<(&str, &str)> = round
            .iter()
            .flat_map(|&index| self.items[index].1.feedback.customer.identities.iter())
            .map(|identity| (identity.kind.as_str(), identity.value.as_str()))
            .collect();
        let owners: HashMap<(String, String), Known> = if wanted.is_empty() {
            HashMap::new()
        } else {
            // With what intake needs to know of each known customer: which details are still
            // missing (the only ones a submission may fill in), and whether they are a VIP or
            // complained before. Lateral lookups with a limit, not joins or EXISTS: for a
            // parameter array the planner would hash a whole table instead of asking its index
            // for each of the few rows wanted.
            let rows: Vec<KnownRow> = sqlx::query_as(
                "SELECT u.kind, u.value, c.id, c.name IS NULL AS no_name, c.followers IS NULL AS no_followers, \
                 c.locale IS NULL AS no_locale, c.vip, x.one IS NOT NULL AS complained FROM unnest($1::text[], $2::text[]) AS u(kind, value) \
                 CROSS JOIN LATERAL (SELECT customer_id FROM customer_identities \
                 WHERE kind = u.kind AND value = u.value LIMIT 1) i \
                 JOIN customers c ON c.id = i.customer_id LEFT JOIN LATERAL \
                 (SELECT 1 AS one FROM cases WHERE customer_id = c.id AND kind = 'complaint' LIMIT 1) x ON TRUE",
            )
            .bind(wanted.iter().map(|(kind, _)| kind.to_string()).collect::<Vec<_>>())
            .bind(wanted.iter().map(|(_, value)| value.to_string()).collect::<Vec<_>>())
            .fetch_all(&mut *tx)
            .await?;
            rows.into_iter().map(|row| ((row.kind, row.value), row.known)).collect()
        };
        let mut cases = Vec::with_capacity(round.len());
        let mut deferred = Vec::new();
        let mut customers_in_round = HashSet::new();
        let mut created = 0;
        for index in round {
            let item = self.items[index].1;
            let mut found: Option<&Known> = None;
            let mut unknown = Vec::new();
            for identity in &item.feedback.customer.identities {
                match owners.get(&(identity.kind.as_str().to_owned(), identity.value.clone())) {
                    Some(owner) => found = found.or(Some(owner)),
                    None => unknown.push(identity),
                }
            }
            if let Some(owner) = found
                && !customers_in_round.insert(owner.id)
            {
                deferred.push(index);
                continue;
            }
            if found.is_none() {
                created += 1;
            }
            let attached = found.is_none() || item.feedback.vouched;
            let feedback = &item.feedback;
            let priority = match found {
                Some(known) if feedback.returning.is_some() => feedback.priority_for(known.vip, known.complained),
                _ => feedback.priority,
            };
            let customer = &feedback.customer;
            let fills = found.is_some_and(|known| {
                (known.no_name && customer.name.is_some())
                    || (known.no_followers && customer.followers.is_some())
                    || (known.no_locale && customer.locale.is_some())
            });
            cases.push(NewCase {
                index,
                item,
                customer_id: found.map_or(0, |known| known.id),
                returning: found.is_some(),
                fills,
                priority,
                identities: NewIdentities { identities: unknown, attached },
            });
        }
        let mut new_ids = next_ids(tx, "customers", created).await?.into_iter();
        for case in cases.iter_mut().filter(|case| !case.returning) {
            case.customer_id = new_ids.next().ok_or_else(|| StoreError::Internal("too few customer ids".into()))?;
        }
        Ok((cases, deferred))
    }
}

/// Ids drawn from a table's sequence, so rows of several tables can refer to each other before
/// they are inserted.
async fn next_ids(tx: &mut PgConnection, table: &str, count: usize) -> Result<Vec<i64>, StoreError> {
    if count == 0 {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2)")
        .bind(table)
        .bind(count as i64)
        .fetch_all(&mut *tx)
        .await?)
}

/// The cases with their first message, `created` and identity events, search terms and
/// idempotency keys, and their customers' new records, in one statement; the ids the cases were
/// given, by status token (which is unique), and whether identities were linked.
async fn insert_cases(
    tx: &mut PgConnection,
    cases: &[NewCase<'_>],
) -> Result<(HashMap<String, i64>, bool), StoreError> {
    let fresh: Vec<&NewCase<'_>> = cases.iter().filter(|case| !case.returning).collect();
    let told: Vec<&NewCase<'_>> = cases.iter().filter(|case| case.fills).collect();
    // Sorted, so two writers linking identities lock them in the same order.
    let mut links: Vec<(&str, &str, i64)> = cases
        .iter()
        .filter(|case| case.identities.attached)
        .flat_map(|case| {
            case.identities
                .identities
                .iter()
                .map(|identity| (identity.kind.as_str(), identity.value.as_str(), case.customer_id))
        })
        .collect();
    links.sort_unstable();
    let texts = |f: &dyn Fn(&Intake) -> Option<String>| cases.iter().map(|case| f(case.item)).collect::<Vec<_>>();
    let tokens = texts(&|item| Some(item.status_token.clone()));
    let at: Vec<i64> = cases.iter().map(|case| millis(case.item.stamp.at)).collect();
    #[derive(Default)]
    struct Events {
        token: Vec<String>,
        at: Vec<i64>,
        actor: Vec<String>,
        action: Vec<String>,
        value: Vec<String>,
    }
    let mut events = Events::default();
    for case in cases {
        let created = ("created", case.item.feedback.kind.as_str().to_owned());
        let hidden = crate::records::hidden_event(&case.item.feedback);
        for (action, value) in std::iter::once(created).chain(case.identities.events(case.returning)).chain(hidden) {
            events.token.push(case.item.status_token.clone());
            events.at.push(millis(case.item.stamp.at));
            events.actor.push(case.item.stamp.actor.clone());
            events.action.push(action.to_owned());
            events.value.push(value);
        }
    }
    let acknowledged: Vec<(String, String)> = cases
        .iter()
        .filter_map(|case| {
            case.item.feedback.acknowledge.clone().map(|template| (case.item.status_token.clone(), template))
        })
        .collect();
    let keyed: Vec<(&str, &crate::IdempotencyKey, i64)> = cases
        .iter()
        .filter_map(|case| {
            let item = case.item;
            item.idempotency.as_ref().map(|key| (item.status_token.as_str(), key, millis(item.stamp.at)))
        })
        .collect();
    let name =
        |cases: &[&NewCase]| cases.iter().map(|case| case.item.feedback.customer.name.clone()).collect::<Vec<_>>();
    let followers =
        |cases: &[&NewCase]| cases.iter().map(|case| case.item.feedback.customer.followers).collect::<Vec<_>>();
    let locale =
        |cases: &[&NewCase]| cases.iter().map(|case| case.item.feedback.customer.locale.clone()).collect::<Vec<_>>();
    // One statement: the new customers, the details returning ones fill in and the identities
    // linked, then the cases and all that comes with them. Foreign keys are checked at the end
    // of the statement, when every row of it is in.
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "WITH fresh AS (INSERT INTO customers (id, name, followers, locale, created_at) \
         SELECT * FROM unnest($32::int8[], $33::text[], $34::int8[], $35::text[], $36::int8[])), \
         told AS (UPDATE customers SET name = coalesce(customers.name, u.name), \
         followers = coalesce(customers.followers, u.followers), locale = coalesce(customers.locale, u.locale) \
         FROM unnest($37::int8[], $38::text[], $39::int8[], $40::text[]) AS u(id, name, followers, locale) \
         WHERE customers.id = u.id), \
         linked AS (INSERT INTO customer_identities (kind, value, customer_id) \
         SELECT * FROM unnest($41::text[], $42::text[], $43::int8[])), \
         c AS (INSERT INTO cases (channel, kind, audience, sentiment, language, priority, status, subject, \
         location, product, public, external_id, customer_id, status_token, created_at, updated_at, watch_at, cause, \
         stage, source, thread_key, due_at, hidden) SELECT u.channel, u.kind, u.audience, u.sentiment, u.language, u.priority, u.status, \
         u.subject, u.location, u.product, u.public, u.external_id, u.customer_id, u.status_token, u.at, u.at, \
         u.watch_at, u.cause, u.stage, u.source, u.thread_key, u.due_at, u.hidden FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], \
         $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::bool[], $12::text[], \
         $13::int8[], $14::text[], $15::int8[], $16::int8[], $17::text[], $18::text[], $19::text[], $20::text[], $44::text[], \
         $45::int8[], $48::bool[]) AS u(channel, kind, audience, sentiment, language, priority, status, subject, location, product, \
         public, external_id, customer_id, status_token, at, watch_at, cause, stage, source, body, thread_key, due_at, hidden) \
         RETURNING id, status_token, channel, created_at, external_id), \
         m AS (INSERT INTO messages (case_id, direction, public, channel, author, body, created_at, external_id) \
         SELECT c.id, 'inbound', TRUE, c.channel, 'customer', u.body, c.created_at, c.external_id \
         FROM unnest($14::text[], $20::text[]) AS u(status_token, body) JOIN c ON c.status_token = u.status_token), \
         e AS (INSERT INTO events (case_id, at, actor, action, new_value) \
         SELECT c.id, u.at, u.actor, u.action, u.value \
         FROM unnest($21::text[], $22::int8[], $23::text[], $24::text[], $25::text[]) WITH ORDINALITY \
         AS u(status_token, at, actor, action, value, n) JOIN c ON c.status_token = u.status_token ORDER BY u.n), \
         s AS (INSERT INTO case_search (case_id, terms) SELECT c.id, u.terms \
         FROM unnest($14::text[], $26::text[]) AS u(status_token, terms) JOIN c ON c.status_token = u.status_token), \
         k AS (INSERT INTO idempotency_keys (scope, key, body_digest, case_id, created_at) \
         SELECT u.scope, u.key, u.digest, c.id, u.at \
         FROM unnest($27::text[], $28::text[], $29::text[], $30::text[], $31::int8[]) \
         AS u(status_token, scope, key, digest, at) JOIN c ON c.status_token = u.status_token), \
         ack AS (INSERT INTO outbox (case_id, template, channel, status, next_attempt_at, created_at) \
         SELECT c.id, u.template, c.channel, 'pending', c.created_at, c.created_at \
         FROM unnest($46::text[], $47::text[]) AS u(status_token, template) JOIN c ON c.status_token = u.status_token) \
         SELECT status_token, id FROM c",
    )
    .bind(texts(&|item| Some(item.feedback.channel.as_str().to_owned())))
    .bind(texts(&|item| Some(item.feedback.kind.as_str().to_owned())))
    .bind(texts(&|item| Some(item.feedback.audience.as_str().to_owned())))
    .bind(texts(&|item| item.feedback.sentiment.map(|s| s.as_str().to_owned())))
    .bind(texts(&|item| item.feedback.language.map(|l| l.as_str().to_owned())))
    .bind(cases.iter().map(|case| case.priority.as_str().to_owned()).collect::<Vec<_>>())
    .bind(texts(&|item| Some(item.feedback.status.as_str().to_owned())))
    .bind(texts(&|item| item.feedback.subject.clone()))
    .bind(texts(&|item| item.feedback.location.clone()))
    .bind(texts(&|item| item.feedback.product.clone()))
    .bind(cases.iter().map(|case| case.item.feedback.public).collect::<Vec<_>>())
    .bind(texts(&|item| item.feedback.external_id.clone()))
    .bind(cases.iter().map(|case| case.customer_id).collect::<Vec<_>>())
    .bind(&tokens)
    .bind(&at)
    .bind(cases.iter().map(|case| case.item.feedback.watch_at.map(millis)).collect::<Vec<_>>())
    .bind(texts(&|item| item.feedback.cause.map(|c| c.as_str().to_owned())))
    .bind(texts(&|item| Some(item.feedback.stage.to_string())))
    .bind(texts(&|item| Some(item.feedback.source.clone())))
    .bind(texts(&|item| Some(item.feedback.text.clone())))
    .bind(events.token)
    .bind(events.at)
    .bind(events.actor)
    .bind(events.action)
    .bind(events.value)
    .bind(texts(&|item| Some(item.terms.clone())))
    .bind(keyed.iter().map(|(token, _, _)| token.to_string()).collect::<Vec<_>>())
    .bind(keyed.iter().map(|(_, key, _)| key.scope.clone()).collect::<Vec<_>>())
    .bind(keyed.iter().map(|(_, key, _)| key.key.clone()).collect::<Vec<_>>())
    .bind(keyed.iter().map(|(_, key, _)| key.body_digest.clone()).collect::<Vec<_>>())
    .bind(keyed.iter().map(|(_, _, at)| *at).collect::<Vec<_>>())
    .bind(fresh.iter().map(|case| case.customer_id).collect::<Vec<_>>())
    .bind(name(&fresh))
    .bind(followers(&fresh))
    .bind(locale(&fresh))
    .bind(fresh.iter().map(|case| millis(case.item.stamp.at)).collect::<Vec<_>>())
    .bind(told.iter().map(|case| case.customer_id).collect::<Vec<_>>())
    .bind(name(&told))
    .bind(followers(&told))
    .bind(locale(&told))
    .bind(links.iter().map(|link| link.0.to_owned()).collect::<Vec<_>>())
    .bind(links.iter().map(|link| link.1.to_owned()).collect::<Vec<_>>())
    .bind(links.iter().map(|link| link.2).collect::<Vec<_>>())
    .bind(texts(&|item| item.feedback.thread_key.clone()))
    .bind(cases.iter().map(|case| case.item.feedback.due_at.map_or(crate::records::NO_CLOCK, millis)).collect::<Vec<_>>())
    .bind(acknowledged.iter().map(|(token, _)| token.clone()).collect::<Vec<_>>())
    .bind(acknowledged.iter().map(|(_, template)| template.clone()).collect::<Vec<_>>())
    .bind(cases.iter().map(|case| case.item.feedback.hidden).collect::<Vec<_>>())
    .fetch_all(&mut *tx)
    .await?;
    Ok((rows.into_iter().collect(), !links.is_empty()))
}
