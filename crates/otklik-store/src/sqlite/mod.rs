//! The SQLite store: one file under the data directory, WAL, foreign keys on. New feedback is
//! written by the intake writer thread in group commits (`writer.rs`); the other writes go
//! through one sqlx writer connection (SQLite has one writer at a time anyway, and waits its
//! turn with a busy timeout); a pool of read-only connections serves reads alongside.

mod search;
mod writer;

use crate::{CaseState, CaseWork, ClockedCase, DeadlineMark, Job, NewTask, Notification, Step, Task, TaskUpdate};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use otklik_core::{
    Case, CaseFilter, CasePatch, Customer, CustomerPatch, Direction, Message, NewFeedback, NewMessage, Page, Role,
};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, Transaction};
use time::OffsetDateTime;

use crate::records::{
    CASE_COLUMNS, CaseRow, CustomerRow, EventRow, IdentityRow, MessageRow, TokenRow, UserRow, millis,
};
use crate::{
    CaseDetail, CustomerDetail, IdempotencyKey, OpenOptions, SqliteSync, Stamp, Store, StoreError, Submitted,
    TokenRecord, UserRecord,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

const SELECT_CASE: &str =
    "SELECT {columns}, (SELECT group_concat(tag, ',') FROM case_tags t WHERE t.case_id = c.id) AS tags FROM cases c";

fn select_case() -> String {
    SELECT_CASE.replace("{columns}", CASE_COLUMNS)
}

/// Otklik on an embedded SQLite file.
pub struct SqliteStore {
    intake: writer::IntakeWriter,
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at a `sqlite://PATH` URL and migrates it.
    pub async fn connect(url: &str, options: &OpenOptions) -> Result<SqliteStore, StoreError> {
        let synchronous = match options.sqlite_synchronous {
            SqliteSync::Normal => SqliteSynchronous::Normal,
            SqliteSync::Full => SqliteSynchronous::Full,
        };
        let base = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("invalid SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(base.clone())
            .await?;
        MIGRATOR.run(&writer).await?;
        let intake = writer::IntakeWriter::start(base.get_filename(), options.sqlite_synchronous)?;
        let reader = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(base.read_only(true))
            .await?;
        Ok(SqliteStore { intake, writer, reader })
    }

    /// Applies the embedded migrations (also done by `connect`).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.writer).await?;
        Ok(())
    }
}

type Tx<'a> = Transaction<'a, Sqlite>;

async fn case_in(tx: &mut Tx<'_>, id: i64) -> Result<Case, StoreError> {
    let row: Option<CaseRow> =
        sqlx::query_as(&format!("{} WHERE c.id = $1", select_case())).bind(id).fetch_optional(&mut **tx).await?;
    row.ok_or(StoreError::NotFound("case"))?.into_case()
}

async fn customer_with_identities(pool: &SqlitePool, id: i64) -> Result<Customer, StoreError> {
    let row: Option<CustomerRow> =
        sqlx::query_as("SELECT id, name, followers, vip, locale, created_at FROM customers WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    let row = row.ok_or(StoreError::NotFound("customer"))?;
    let identities: Vec<IdentityRow> =
        sqlx::query_as("SELECT kind, value FROM customer_identities WHERE customer_id = $1 ORDER BY kind, value")
            .bind(id)
            .fetch_all(pool)
            .await?;
    row.into_customer(identities)
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    async fn submit_feedback(
        &self,
        feedback: NewFeedback,
        status_token: String,
        idempotency: Option<IdempotencyKey>,
        stamp: Stamp,
    ) -> Result<Submitted, StoreError> {
        let item = writer::Item::new(feedback, status_token, idempotency, stamp);
        let outcome = self.intake.write(vec![item]).await?.pop().ok_or(StoreError::NotFound("write outcome"))?;
        match outcome {
            writer::Outcome::Created(case) => Ok(Submitted { case: *case, created: true }),
            writer::Outcome::Existing(case_id) => {
                Ok(Submitted { case: self.case(case_id).await?.case, created: false })
            }
        }
    }

    async fn import_feedback(&self, batch: Vec<(NewFeedback, String)>, stamp: Stamp) -> Result<(), StoreError> {
        let items = batch
            .into_iter()
            .map(|(feedback, status_token)| writer::Item::new(feedback, status_token, None, stamp.clone()))
            .collect();
        self.intake.write(items).await?;
        Ok(())
    }

    async fn corrected_labels(&self, field: &str) -> Result<Vec<(String, String)>, StoreError> {
        let sql = crate::corrected_labels_sql(field)?;
        Ok(sqlx::query_as(&sql).bind(field).fetch_all(&self.reader).await?)
    }

    async fn case_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM cases").fetch_one(&self.reader).await?)
    }

    async fn case(&self, id: i64) -> Result<CaseDetail, StoreError> {
        let mut tx = self.reader.begin().await?;
        let case = case_in(&mut tx, id).await?;
        tx.commit().await?;
        let customer = customer_with_identities(&self.reader, case.customer_id).await?;
        let messages: Vec<MessageRow> = sqlx::query_as(
            "SELECT id, direction, public, channel, author, body, created_at FROM messages WHERE case_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.reader)
        .await?;
        let events: Vec<EventRow> = sqlx::query_as(
            "SELECT id, at, actor, action, field, old_value, new_value FROM events WHERE case_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.reader)
        .await?;
        Ok(CaseDetail {
            case,
            customer,
            messages: messages.into_iter().map(MessageRow::into_message).collect::<Result<_, _>>()?,
            events: events.into_iter().map(EventRow::into_event).collect::<Result<_, _>>()?,
        })
    }

    async fn case_by_status_token(&self, status_token: &str) -> Result<Option<CaseDetail>, StoreError> {
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM cases WHERE status_token = $1")
            .bind(status_token)
            .fetch_optional(&self.reader)
            .await?;
        match id {
            Some(id) => self.case(id).await.map(Some),
            None => Ok(None),
        }
    }

    async fn list_cases(&self, filter: &CaseFilter) -> Result<Page<Case>, StoreError> {
        search::list_cases(&self.reader, filter).await
    }

    async fn add_message(&self, case_id: i64, message: NewMessage, stamp: Stamp) -> Result<Message, StoreError> {
        let at = millis(stamp.at);
        let mut tx = self.writer.begin().await?;
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT id FROM cases WHERE id = $1").bind(case_id).fetch_optional(&mut *tx).await?;
        exists.ok_or(StoreError::NotFound("case"))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO messages (case_id, direction, public, channel, author, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(case_id)
        .bind(message.direction.as_str())
        .bind(message.public)
        .bind(message.channel.as_str())
        .bind(&stamp.actor)
        .bind(&message.body)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO events (case_id, at, actor, action, new_value) VALUES ($1, $2, $3, 'message_added', $4)",
        )
        .bind(case_id)
        .bind(at)
        .bind(&stamp.actor)
        .bind(message.direction.as_str())
        .execute(&mut *tx)
        .await?;
        sqlx::query(crate::records::TOUCH_CASE_FOR_MESSAGE)
            .bind(case_id)
            .bind(at)
            .bind(message.direction == Direction::Outbound)
            .execute(&mut *tx)
            .await?;
        let terms = crate::records::index_terms([message.body.as_str()]);
        sqlx::query("UPDATE case_search SET terms = terms || ' ' || $2 WHERE rowid = $1")
            .bind(case_id)
            .bind(terms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Message {
            id,
            direction: message.direction,
            public: message.public,
            channel: message.channel,
            author: stamp.actor,
            body: message.body,
            created_at: stamp.at,
        })
    }

    async fn update_case(&self, case_id: i64, patch: &CasePatch, stamp: Stamp) -> Result<CaseDetail, StoreError> {
        let at = millis(stamp.at);
        let mut tx = self.writer.begin().await?;
        let mut case = case_in(&mut tx, case_id).await?;
        if let Some(Some(assignee)) = &patch.assignee {
            let known: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
                .bind(assignee)
                .fetch_optional(&mut *tx)
                .await?;
            if known.is_none() {
                return Err(StoreError::Invalid(format!("assignee: no user named `{assignee}`")));
            }
        }
        let changes = case.apply(patch);
        if !changes.is_empty() {
            sqlx::query(
                "UPDATE cases SET kind = $2, priority = $3, status = $4, audience = $5, sentiment = $6, language = $7, \
                 assignee = $8, location = $9, product = $10, subject = $11, public = $12, hidden = $13, updated_at = $14, \
                 stage = $15, cause = $16, watch_at = NULL, \
                 resolved_at = CASE WHEN $4 IN ('resolved', 'closed') THEN coalesce(resolved_at, $14) ELSE NULL END \
                 WHERE id = $1",
            )
            .bind(case_id)
            .bind(case.kind.as_str())
            .bind(case.priority.as_str())
            .bind(case.status.as_str())
            .bind(case.audience.as_str())
            .bind(case.sentiment.map(|s| s.as_str()))
            .bind(case.language.map(|l| l.as_str()))
            .bind(&case.assignee)
            .bind(&case.location)
            .bind(&case.product)
            .bind(&case.subject)
            .bind(case.public)
            .bind(case.hidden)
            .bind(at)
            .bind(&case.stage)
            .bind(case.cause.map(|c| c.as_str()))
            .execute(&mut *tx)
            .await?;
            if changes.iter().any(|change| change.field == "tags") {
                sqlx::query("DELETE FROM case_tags WHERE case_id = $1").bind(case_id).execute(&mut *tx).await?;
                for tag in &case.tags {
                    sqlx::query("INSERT INTO case_tags (case_id, tag) VALUES ($1, $2)")
                        .bind(case_id)
                        .bind(tag)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            for change in &changes {
                sqlx::query(
                    "INSERT INTO events (case_id, at, actor, action, field, old_value, new_value) \
                     VALUES ($1, $2, $3, 'changed', $4, $5, $6)",
                )
                .bind(case_id)
                .bind(at)
                .bind(&stamp.actor)
                .bind(change.field)
                .bind(&change.old_value)
                .bind(&change.new_value)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        self.case(case_id).await
    }

    async fn update_customer(&self, id: i64, patch: &CustomerPatch, stamp: Stamp) -> Result<Customer, StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        crate::workflow::on_sqlite::update_customer(&mut tx, id, patch, &stamp).await?;
        tx.commit().await?;
        customer_with_identities(&self.writer, id).await
    }

    async fn customer(&self, id: i64) -> Result<CustomerDetail, StoreError> {
        let customer = customer_with_identities(&self.reader, id).await?;
        let rows: Vec<CaseRow> =
            sqlx::query_as(&format!("{} WHERE c.customer_id = $1 ORDER BY c.id DESC", select_case()))
                .bind(id)
                .fetch_all(&self.reader)
                .await?;
        let cases = rows.into_iter().map(CaseRow::into_case).collect::<Result<_, _>>()?;
        let events = crate::workflow::on_sqlite::customer_events(&self.reader, id).await?;
        Ok(CustomerDetail { customer, cases, events })
    }

    async fn create_token(
        &self,
        name: &str,
        role: Role,
        user: Option<&str>,
        token_hash: &str,
        at: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        if let Some(username) = user
            && self.user_by_name(username).await?.is_none()
        {
            return Err(StoreError::Invalid(format!("user: no user named `{username}`")));
        }
        let id = sqlx::query_scalar(crate::records::INSERT_TOKEN)
            .bind(name)
            .bind(role.as_str())
            .bind(token_hash)
            .bind(millis(at))
            .bind(user)
            .fetch_one(&self.writer)
            .await?;
        Ok(id)
    }

    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let sql = format!("{} WHERE t.token_hash = $1 AND t.revoked_at IS NULL", crate::records::SELECT_TOKEN);
        let row: Option<TokenRow> = sqlx::query_as(&sql).bind(token_hash).fetch_optional(&self.reader).await?;
        row.map(TokenRow::into_record).transpose()
    }

    async fn tokens(&self) -> Result<Vec<crate::TokenInfo>, StoreError> {
        let sql = format!("{} ORDER BY t.id", crate::records::SELECT_TOKEN);
        let rows: Vec<TokenRow> = sqlx::query_as(&sql).fetch_all(&self.reader).await?;
        rows.into_iter().map(TokenRow::into_info).collect()
    }

    async fn revoke_token(&self, id: i64, at: OffsetDateTime) -> Result<bool, StoreError> {
        let revoked = sqlx::query(crate::records::REVOKE_TOKEN).bind(id).bind(millis(at)).execute(&self.writer).await?;
        if revoked.rows_affected() == 1 {
            return Ok(true);
        }
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT id FROM api_tokens WHERE id = $1").bind(id).fetch_optional(&self.writer).await?;
        exists.map(|_| false).ok_or(StoreError::NotFound("token"))
    }

    async fn create_user(
        &self,
        username: &str,
        display_name: Option<&str>,
        role: Role,
        password_hash: &str,
        at: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        let result = sqlx::query_scalar(
            "INSERT INTO users (username, display_name, role, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(username)
        .bind(display_name)
        .bind(role.as_str())
        .bind(password_hash)
        .bind(millis(at))
        .fetch_one(&self.writer)
        .await
        .map_err(StoreError::from);
        match result {
            Err(error) if error.is_unique_violation() => Err(StoreError::Conflict(format!("user `{username}`"))),
            other => other,
        }
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let row: Option<UserRow> =
            sqlx::query_as("SELECT id, username, display_name, role, password_hash FROM users WHERE username = $1")
                .bind(username)
                .fetch_optional(&self.reader)
                .await?;
        row.map(UserRow::into_record).transpose()
    }

    async fn is_unclaimed(&self) -> Result<bool, StoreError> {
        let count: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM api_tokens WHERE revoked_at IS NULL)",
        )
        .fetch_one(&self.reader)
        .await?;
        Ok(count == 0)
    }

    async fn case_state(&self, case_id: i64) -> Result<CaseState, StoreError> {
        let mut tx = self.reader.begin().await?;
        let case = case_in(&mut tx, case_id).await?;
        tx.commit().await?;
        let (open_tasks, pending_compensations) = crate::workflow::on_sqlite::counts(&self.reader, case_id).await?;
        Ok(CaseState { case, open_tasks, pending_compensations })
    }

    async fn take_step(&self, case_id: i64, expected_stage: &str, step: &Step, stamp: Stamp) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let case = case_in(&mut tx, case_id).await?;
        crate::workflow::on_sqlite::take_step(&mut tx, case_id, case.customer_id, expected_stage, step, &stamp).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn case_work(&self, case_id: i64) -> Result<CaseWork, StoreError> {
        crate::workflow::on_sqlite::case_work(&self.reader, case_id).await
    }

    async fn add_task(&self, case_id: i64, task: NewTask, stamp: Stamp) -> Result<Task, StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let id = crate::workflow::on_sqlite::add_task(&mut tx, case_id, &task, &stamp).await?;
        tx.commit().await?;
        crate::workflow::on_sqlite::task(&self.writer, id).await
    }

    async fn update_task(&self, task_id: i64, update: TaskUpdate, stamp: Stamp) -> Result<Task, StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        crate::workflow::on_sqlite::update_task(&mut tx, task_id, &update, &stamp).await?;
        tx.commit().await?;
        crate::workflow::on_sqlite::task(&self.writer, task_id).await
    }

    async fn tasks_for(&self, assignee: &str) -> Result<Vec<Task>, StoreError> {
        crate::workflow::on_sqlite::tasks_for(&self.reader, assignee).await
    }

    async fn clocked_cases(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<ClockedCase>, StoreError> {
        crate::workflow::on_sqlite::clocked_cases(&self.reader, now, limit).await
    }

    async fn set_watch(&self, next: &[(i64, Option<OffsetDateTime>)]) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        crate::workflow::on_sqlite::set_watch(&mut tx, next).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn mark_deadline(&self, mark: &DeadlineMark, stamp: Stamp) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let recorded = crate::workflow::on_sqlite::mark_deadline(&mut tx, mark, &stamp).await?;
        tx.commit().await?;
        Ok(recorded)
    }

    async fn notifications(&self, recipient: &crate::Recipient) -> Result<Vec<Notification>, StoreError> {
        crate::workflow::on_sqlite::notifications(&self.reader, recipient).await
    }

    async fn claim_jobs(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let jobs = crate::workflow::on_sqlite::claim_jobs(&mut tx, worker, now, lease_until, limit).await?;
        tx.commit().await?;
        Ok(jobs)
    }

    async fn finish_follow_up(&self, job: &Job, worker: &str, stamp: Stamp) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let finished = crate::workflow::on_sqlite::finish_follow_up(&mut tx, job, worker, &stamp).await?;
        tx.commit().await?;
        Ok(finished)
    }

    async fn claim_outbox(
        &self,
        worker: &str,
        channels: &[otklik_core::Channel],
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<crate::OutboxMessage>, StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let claimed =
            crate::workflow::on_sqlite::claim_outbox(&mut tx, worker, channels, now, lease_until, limit).await?;
        tx.commit().await?;
        Ok(claimed)
    }

    async fn record_delivery(
        &self,
        message_id: i64,
        worker: &str,
        delivery: &crate::Delivery,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let recorded = crate::workflow::on_sqlite::record_delivery(&mut tx, message_id, worker, delivery, at).await?;
        tx.commit().await?;
        Ok(recorded)
    }

    async fn fail_job(
        &self,
        job_id: i64,
        worker: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        crate::workflow::on_sqlite::fail_job(&mut tx, job_id, worker, error, retry_at).await?;
        tx.commit().await?;
        Ok(())
    }
}
