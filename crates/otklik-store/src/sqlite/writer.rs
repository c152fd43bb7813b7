//! The SQLite intake writer: one thread that owns a connection and commits new feedback in
//! groups. Whatever arrived while the previous group was committing goes into the next one
//! transaction (if anything in it fails, each submission is retried alone, so one bad item fails
//! alone), and every caller is answered only after that commit. This is what lets one SQLite file take
//! thousands of acknowledged creates per second, and keeps `synchronous = full` affordable: one
//! disk sync per group, not per case.
//!
//! It talks to SQLite through rusqlite, in-thread, rather than through sqlx: sqlx's SQLite driver
//! runs each statement on a worker thread of its own, and the two thread switches per statement
//! cost more than the statements themselves on this hot path. Both link the same libsqlite3.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use otklik_core::{Case, Direction, NewCustomer, NewFeedback};
use rusqlite::{Connection, OptionalExtension, named_params, params};

use crate::records::{NewIdentities, millis};
use crate::sql::intake::{Answer, Intake as Item, Job, Outcome, Queue, group, reply};
use crate::{IdempotencyKey, SqliteSync, StoreError};

/// The most submissions committed in one transaction.
const MAX_GROUP: usize = 512;

/// The handle the store keeps; dropping it stops the thread after the queued jobs.
pub(super) struct IntakeWriter {
    queue: Queue,
}

impl IntakeWriter {
    pub(super) fn start(path: &Path, synchronous: SqliteSync) -> Result<IntakeWriter, StoreError> {
        let connection = Connection::open(path)?;
        connection.busy_timeout(Duration::from_secs(10))?;
        let sync = match synchronous {
            SqliteSync::Normal => "NORMAL",
            SqliteSync::Full => "FULL",
        };
        connection.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON; \
             PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {WAL_RESTART_BYTES}; \
             PRAGMA cache_size = -32768;"
        ))?;
        let checkpointer = Connection::open(path)?;
        checkpointer.busy_timeout(Duration::from_secs(1))?;
        connection.set_prepared_statement_cache_capacity(32);
        let wal_path = PathBuf::from(format!("{}-wal", path.display()));
        let (writer, mut queue) = Queue::new("SQLite intake writer");
        let (stop_checkpoints, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("otklik-sqlite-checkpoint".into())
            .spawn(move || checkpoint_until_stopped(&checkpointer, &stopped))
            .map_err(|e| StoreError::Config(format!("cannot start the SQLite checkpoint thread: {e}")))?;
        std::thread::Builder::new()
            .name("otklik-sqlite-writer".into())
            .spawn(move || {
                run(connection, &wal_path, &mut queue);
                let _ = stop_checkpoints.send(());
            })
            .map_err(|e| StoreError::Config(format!("cannot start the SQLite writer thread: {e}")))?;
        Ok(IntakeWriter { queue: writer })
    }

    /// Writes the items, all or none, in the next group commit; answers after the commit.
    pub(super) async fn write(&self, items: Vec<Item>) -> Answer {
        self.queue.write(items).await
    }
}

/// How often the WAL is copied back into the database file. Each checkpoint syncs the disk, and
/// on ext4 a sync can hold the writer's next appends to the WAL behind the file system's journal:
/// that, not the CPU, is what makes intake's slowest requests slow (docs/benchmarks.md). Half a
/// second measured best among 0.1, 0.5 and 4 s: rarer checkpoints sync more at once.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Copies the WAL into the database file in the background (a passive checkpoint never blocks
/// the writer), so the writer thread does not stall on checkpoints and their disk syncs.
fn checkpoint_until_stopped(connection: &Connection, stopped: &mpsc::Receiver<()>) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY) {
        if let Err(error) = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(%error, "WAL checkpoint failed; will retry");
        }
    }
    let _ = connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
}

/// When the WAL file grows past this, the writer restarts it from the beginning. Each restart
/// costs the writer two disk syncs (tens of milliseconds on a plain disk, during which intake
/// waits), so the limit is generous: at full intake load a restart every 80,000 cases or so (a
/// 64 MB limit made them four times as frequent and put them into p99). The WAL file is kept at
/// this size and reused in place, so its writes need no new disk blocks. Under a normal load the
/// background checkpoints catch up in quiet moments and the WAL restarts by itself, long before.
const WAL_RESTART_BYTES: u64 = 256 * 1024 * 1024;

/// Group commits between two looks at the WAL file's size.
const GROUPS_PER_WAL_CHECK: u32 = 16;

fn run(mut connection: Connection, wal_path: &Path, queue: &mut tokio::sync::mpsc::UnboundedReceiver<Job>) {
    let mut groups_since_check = 0;
    while let Some(first) = queue.blocking_recv() {
        commit_group(&mut connection, group(first, queue, MAX_GROUP));
        groups_since_check += 1;
        if groups_since_check >= GROUPS_PER_WAL_CHECK {
            groups_since_check = 0;
            restart_wal_if_large(&connection, wal_path);
        }
    }
}

/// Under a steady stream of writes the background checkpoints copy the WAL but never catch up
/// with its end, so SQLite never starts the WAL over and it would grow without end. Past a size,
/// the writer itself runs a passive checkpoint between two groups: nothing else writes then, so
/// it copies the last few frames (the background thread did the rest) and the next write starts
/// the WAL from the beginning. A passive checkpoint never waits: when the background one holds
/// the checkpoint lock this one returns at once and the writer tries again a little later. (A
/// RESTART checkpoint here would sleep in the busy handler behind the background checkpoint and
/// stall every waiting request for up to a hundred milliseconds.)
fn restart_wal_if_large(connection: &Connection, wal_path: &Path) {
    let size = std::fs::metadata(wal_path).map(|meta| meta.len()).unwrap_or(0);
    if size > WAL_RESTART_BYTES {
        let _ = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
}

/// Commits a group; when it fails as a whole, each job is written in a transaction of its own,
/// so only the job that fails gets an error.
fn commit_group(connection: &mut Connection, group: Vec<Job>) {
    let jobs: Vec<&[Item]> = group.iter().map(|job| job.items.as_slice()).collect();
    let answers = write_jobs(connection, &jobs).unwrap_or_else(|_| {
        let mut alone = |items: &[Item]| -> Answer {
            let mut answers = write_jobs(connection, &[items])?;
            answers.pop().unwrap_or_else(|| Err(StoreError::Internal("the writer answered no outcome".into())))
        };
        jobs.iter().map(|items| alone(items)).collect()
    });
    reply(group, answers);
}

/// Writes the jobs in one transaction. The outer error means the transaction was rolled back;
/// an inner error is a job refused before it wrote anything (a reused idempotency key), which
/// leaves the others to commit. There are no savepoints on this path on purpose: each one would
/// make SQLite journal pages and FTS5 flush its pending terms, which costs more than the writes.
fn write_jobs(connection: &mut Connection, jobs: &[&[Item]]) -> Result<Vec<Answer>, StoreError> {
    let transaction = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut answers = Vec::with_capacity(jobs.len());
    let mut search = Vec::new();
    for &items in jobs {
        let mut outcomes = Vec::with_capacity(items.len());
        for item in items {
            match write_item(&transaction, item, &mut search) {
                Ok(outcome) => outcomes.push(outcome),
                Err(StoreError::IdempotencyMismatch) if items.len() == 1 => {
                    answers.push(Err(StoreError::IdempotencyMismatch));
                    break;
                }
                Err(error) => return Err(error),
            }
        }
        if outcomes.len() == items.len() {
            answers.push(Ok(outcomes));
        }
    }
    index_for_search(&transaction, &search)?;
    transaction.commit()?;
    Ok(answers)
}

/// Rows for the search index per statement: two parameters each, far below SQLite's limit.
const SEARCH_ROWS_PER_STATEMENT: usize = 256;

/// Adds the group's search terms with few multi-row statements. FTS5 writes its pending terms
/// out as a new segment at every statement savepoint, so one statement per case would make one
/// segment per case and keep the index merging; one statement per group makes one.
fn index_for_search(connection: &Connection, rows: &[(i64, String)]) -> Result<(), StoreError> {
    for chunk in rows.chunks(SEARCH_ROWS_PER_STATEMENT) {
        let mut sql = String::from("INSERT INTO case_search (rowid, terms) VALUES ");
        for index in 0..chunk.len() {
            if index > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("(?{}, ?{})", 2 * index + 1, 2 * index + 2));
        }
        let values: Vec<&dyn rusqlite::ToSql> =
            chunk.iter().flat_map(|(id, terms)| [id as &dyn rusqlite::ToSql, terms as &dyn rusqlite::ToSql]).collect();
        connection.prepare_cached(&sql)?.execute(values.as_slice())?;
    }
    Ok(())
}

fn write_item(connection: &Connection, item: &Item, search: &mut Vec<(i64, String)>) -> Result<Outcome, StoreError> {
    if let Some(case_id) = existing_case(connection, &item.feedback, item.idempotency.as_ref())? {
        return Ok(Outcome::Existing(case_id));
    }
    let case = insert_feedback(connection, item)?;
    search.push((case.id, item.terms.clone()));
    if let Some(key) = &item.idempotency {
        connection
            .prepare_cached(
                "INSERT INTO idempotency_keys (scope, key, body_digest, case_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![key.scope, key.key, key.body_digest, case.id, millis(item.stamp.at)])?;
    }
    Ok(Outcome::Created(Box::new(case)))
}

/// The case a redelivery refers to, if this submission is one.
fn existing_case(
    connection: &Connection,
    feedback: &NewFeedback,
    idempotency: Option<&IdempotencyKey>,
) -> Result<Option<i64>, StoreError> {
    if let Some(key) = idempotency {
        let found: Option<(i64, String)> = connection
            .prepare_cached("SELECT case_id, body_digest FROM idempotency_keys WHERE scope = ?1 AND key = ?2")?
            .query_row(params![key.scope, key.key], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        if let Some((case_id, digest)) = found {
            if digest != key.body_digest {
                return Err(StoreError::IdempotencyMismatch);
            }
            return Ok(Some(case_id));
        }
    }
    if let Some(external_id) = &feedback.external_id {
        let found: Option<(i64, String)> = connection
            .prepare_cached(crate::records::REDELIVERED_CASE)?
            .query_row(params![feedback.source, feedback.channel.as_str(), external_id], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()?;
        return found.map(|found| crate::records::check_redelivery(found, feedback)).transpose();
    }
    Ok(None)
}

/// Finds the customer by any of their identities, or creates them, by the rule documented at
/// `records::UPDATE_FOUND_CUSTOMER`. True with the id when the customer was known already.
fn resolve_customer<'a>(
    connection: &Connection,
    customer: &'a NewCustomer,
    vouched: bool,
    at: i64,
) -> Result<(i64, bool, NewIdentities<'a>), StoreError> {
    let mut found: Option<i64> = None;
    let mut unknown = Vec::new();
    for identity in &customer.identities {
        let owner: Option<i64> = connection
            .prepare_cached("SELECT customer_id FROM customer_identities WHERE kind = ?1 AND value = ?2")?
            .query_row(params![identity.kind.as_str(), identity.value], |row| row.get(0))
            .optional()?;
        match owner {
            Some(owner) => found = found.or(Some(owner)),
            None => unknown.push(identity),
        }
    }
    let customer_id = match found {
        Some(id) => {
            if customer.name.is_some() || customer.followers.is_some() || customer.locale.is_some() {
                // By name: SQLite numbers `$n` parameters in order of first use, not by n.
                connection.prepare_cached(crate::records::UPDATE_FOUND_CUSTOMER)?.execute(named_params! {
                    "$1": id, "$2": customer.name, "$3": customer.followers, "$4": customer.locale,
                })?;
            }
            id
        }
        None => connection
            .prepare_cached(
                "INSERT INTO customers (name, followers, locale, created_at) VALUES (?1, ?2, ?3, ?4) RETURNING id",
            )?
            .query_row(params![customer.name, customer.followers, customer.locale, at], |row| row.get(0))?,
    };
    let attached = found.is_none() || vouched;
    if attached {
        for identity in &unknown {
            connection
                .prepare_cached("INSERT INTO customer_identities (kind, value, customer_id) VALUES (?1, ?2, ?3)")?
                .execute(params![identity.kind.as_str(), identity.value, customer_id])?;
        }
    }
    Ok((customer_id, found.is_some(), NewIdentities { identities: unknown, attached }))
}

/// Writes a new case, its first message, its `created` event and its search terms.
fn insert_feedback(connection: &Connection, item: &Item) -> Result<Case, StoreError> {
    let (feedback, status_token, stamp) = (&item.feedback, &item.status_token, &item.stamp);
    let at = millis(stamp.at);
    let (customer_id, returning, new_identities) =
        resolve_customer(connection, &feedback.customer, feedback.vouched, at)?;
    let priority = match returning {
        true if feedback.returning.is_some() => {
            let (vip, complained): (bool, bool) = connection
                .prepare_cached(
                    "SELECT vip, EXISTS (SELECT 1 FROM cases WHERE customer_id = ?1 AND kind = 'complaint') \
                     FROM customers WHERE id = ?1",
                )?
                .query_row(params![customer_id], |row| Ok((row.get(0)?, row.get(1)?)))?;
            feedback.priority_for(vip, complained)
        }
        _ => feedback.priority,
    };
    let case_id: i64 = connection
        .prepare_cached(
            "INSERT INTO cases (channel, kind, audience, sentiment, language, priority, status, subject, location, \
             product, public, external_id, customer_id, status_token, created_at, updated_at, watch_at, cause, stage, source, \
             thread_key, due_at, hidden) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22) \
             RETURNING id",
        )?
        .query_row(
            params![
                feedback.channel.as_str(),
                feedback.kind.as_str(),
                feedback.audience.as_str(),
                feedback.sentiment.map(|s| s.as_str()),
                feedback.language.map(|l| l.as_str()),
                priority.as_str(),
                feedback.status.as_str(),
                feedback.subject,
                feedback.location,
                feedback.product,
                feedback.public,
                feedback.external_id,
                customer_id,
                status_token,
                at,
                feedback.watch_at.map(millis),
                feedback.cause.map(|c| c.as_str()),
                feedback.stage.as_str(),
                feedback.source,
                feedback.thread_key,
                feedback.due_at.map_or(crate::records::NO_CLOCK, millis),
                feedback.hidden,
            ],
            |row| row.get(0),
        )?;
    connection
        .prepare_cached(
            "INSERT INTO messages (case_id, direction, public, channel, author, body, created_at, external_id) \
             VALUES (?1, ?2, 1, ?3, 'customer', ?4, ?5, ?6)",
        )?
        .execute(params![
            case_id,
            Direction::Inbound.as_str(),
            feedback.channel.as_str(),
            feedback.text,
            at,
            feedback.external_id
        ])?;
    connection
        .prepare_cached(
            "INSERT INTO events (case_id, at, actor, action, new_value) VALUES (?1, ?2, ?3, 'created', ?4)",
        )?
        .execute(params![case_id, at, stamp.actor, feedback.kind.as_str()])?;
    if let Some(template) = &feedback.acknowledge {
        connection
            .prepare_cached(
                "INSERT INTO outbox (case_id, template, channel, status, next_attempt_at, created_at) \
                 VALUES (?1, ?2, ?3, 'pending', ?4, ?4)",
            )?
            .execute(params![case_id, template, feedback.channel.as_str(), at])?;
    }
    for (action, value) in new_identities.events(returning).into_iter().chain(hidden_event(feedback)) {
        connection
            .prepare_cached("INSERT INTO events (case_id, at, actor, action, new_value) VALUES (?1, ?2, ?3, ?4, ?5)")?
            .execute(params![case_id, at, stamp.actor, action, value])?;
    }
    Ok(item.case(case_id, customer_id, priority))
}

use crate::records::hidden_event;
