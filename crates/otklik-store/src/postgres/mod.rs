//! The PostgreSQL store: for a business that outgrows one machine, several stateless `otklik serve`
//! nodes share one database. Concurrent redeliveries race on unique indexes; the loser's
//! transaction is retried and finds the winner's case.

mod search;

use crate::{CaseState, CaseWork, ClockedCase, DeadlineMark, Job, NewTask, Notification, Step, Task, TaskUpdate};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use otklik_core::{
    Case, CaseFilter, CasePatch, Customer, CustomerPatch, Direction, Message, NewCustomer, NewFeedback, NewMessage,
    Page, Role,
};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};
use time::OffsetDateTime;

use crate::records::{
    CASE_COLUMNS, CaseRow, CustomerRow, EventRow, IdentityRow, MessageRow, NewIdentities, TokenRow, UserRow, millis,
};
use crate::{
    CaseDetail, CustomerDetail, IdempotencyKey, OpenOptions, Stamp, Store, StoreError, Submitted, TokenRecord,
    UserRecord,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

const SELECT_CASE: &str =
    "SELECT {columns}, (SELECT string_agg(tag, ',') FROM case_tags t WHERE t.case_id = c.id) AS tags FROM cases c";

fn select_case() -> String {
    SELECT_CASE.replace("{columns}", CASE_COLUMNS)
}

/// Otklik on a PostgreSQL database.
pub struct PgStore {
    pool: PgPool,
}

/// How often a write that lost a race on a unique index is tried again.
const RACE_RETRIES: usize = 5;

impl PgStore {
    /// Connects to a `postgres://` URL and migrates the database (migrations take a lock, so
    /// several nodes starting together apply them once).
    /// With `options.postgres_schema`, Otklik works in that schema (created if missing).
    pub async fn connect(url: &str, options: &OpenOptions) -> Result<PgStore, StoreError> {
        let mut connect_options =
            PgConnectOptions::from_str(url).map_err(|e| StoreError::Config(format!("invalid PostgreSQL URL: {e}")))?;
        if let Some(schema) = &options.postgres_schema {
            let plain = !schema.is_empty()
                && schema.len() <= 63
                && schema.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                && !schema.as_bytes()[0].is_ascii_digit();
            if !plain {
                return Err(StoreError::Config(format!(
                    "schema `{schema}` must be 1 to 63 lowercase letters, digits and `_`, not starting with a digit"
                )));
            }
            let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect_with(&connect_options).await?;
            sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}")).execute(&mut admin).await?;
            connect_options = connect_options.options([("search_path", schema.as_str())]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(2))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(connect_options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(PgStore { pool })
    }

    /// Applies the embedded migrations (also done by `connect`).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn try_submit(
        &self,
        feedback: &NewFeedback,
        status_token: &str,
        idempotency: Option<&IdempotencyKey>,
        stamp: &Stamp,
    ) -> Result<Submitted, StoreError> {
        let mut tx = self.pool.begin().await?;
        if let Some(case) = existing_case(&mut tx, feedback, idempotency).await? {
            tx.rollback().await?;
            return Ok(Submitted { case, created: false });
        }
        let case = insert_feedback(&mut tx, feedback.clone(), status_token.to_owned(), stamp).await?;
        if let Some(key) = idempotency {
            sqlx::query(
                "INSERT INTO idempotency_keys (scope, key, body_digest, case_id, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&key.scope)
            .bind(&key.key)
            .bind(&key.body_digest)
            .bind(case.id)
            .bind(millis(stamp.at))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Submitted { case, created: true })
    }
}

type Tx<'a> = Transaction<'a, Postgres>;

async fn case_in(tx: &mut Tx<'_>, id: i64) -> Result<Case, StoreError> {
    let row: Option<CaseRow> =
        sqlx::query_as(&format!("{} WHERE c.id = $1", select_case())).bind(id).fetch_optional(&mut **tx).await?;
    row.ok_or(StoreError::NotFound("case"))?.into_case()
}

/// The case a redelivery refers to, if this submission is one.
async fn existing_case(
    tx: &mut Tx<'_>,
    feedback: &NewFeedback,
    idempotency: Option<&IdempotencyKey>,
) -> Result<Option<Case>, StoreError> {
    if let Some(key) = idempotency {
        let found: Option<(i64, String)> =
            sqlx::query_as("SELECT case_id, body_digest FROM idempotency_keys WHERE scope = $1 AND key = $2")
                .bind(&key.scope)
                .bind(&key.key)
                .fetch_optional(&mut **tx)
                .await?;
        if let Some((case_id, digest)) = found {
            if digest != key.body_digest {
                return Err(StoreError::IdempotencyMismatch);
            }
            return case_in(tx, case_id).await.map(Some);
        }
    }
    if let Some(external_id) = &feedback.external_id {
        let found: Option<(i64, String)> = sqlx::query_as(crate::records::REDELIVERED_CASE)
            .bind(&feedback.source)
            .bind(feedback.channel.as_str())
            .bind(external_id)
            .fetch_optional(&mut **tx)
            .await?;
        if let Some(found) = found {
            let case_id = crate::records::check_redelivery(found, feedback)?;
            return case_in(tx, case_id).await.map(Some);
        }
    }
    Ok(None)
}

/// Finds the customer by any of their identities, or creates them; links new identities.
async fn resolve_customer<'a>(
    tx: &mut Tx<'_>,
    customer: &'a NewCustomer,
    vouched: bool,
    at: i64,
) -> Result<(i64, bool, NewIdentities<'a>), StoreError> {
    let mut found = None;
    let mut unknown = Vec::new();
    for identity in &customer.identities {
        let owner: Option<i64> =
            sqlx::query_scalar("SELECT customer_id FROM customer_identities WHERE kind = $1 AND value = $2")
                .bind(identity.kind.as_str())
                .bind(&identity.value)
                .fetch_optional(&mut **tx)
                .await?;
        match (owner, found) {
            (Some(owner), None) => found = Some(owner),
            (Some(_), Some(_)) => {}
            (None, _) => unknown.push(identity),
        }
    }
    let customer_id = match found {
        Some(id) => {
            if customer.name.is_some() || customer.followers.is_some() || customer.locale.is_some() {
                sqlx::query(crate::records::UPDATE_FOUND_CUSTOMER)
                    .bind(id)
                    .bind(&customer.name)
                    .bind(customer.followers)
                    .bind(&customer.locale)
                    .execute(&mut **tx)
                    .await?;
            }
            id
        }
        None => {
            sqlx::query_scalar(
                "INSERT INTO customers (name, followers, locale, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(&customer.name)
            .bind(customer.followers)
            .bind(&customer.locale)
            .bind(at)
            .fetch_one(&mut **tx)
            .await?
        }
    };
    let attached = found.is_none() || vouched;
    if attached {
        for identity in &unknown {
            sqlx::query("INSERT INTO customer_identities (kind, value, customer_id) VALUES ($1, $2, $3)")
                .bind(identity.kind.as_str())
                .bind(&identity.value)
                .bind(customer_id)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok((customer_id, found.is_some(), NewIdentities { identities: unknown, attached }))
}

/// Writes a new case, its first message, its `created` event and its search terms.
async fn insert_feedback(
    tx: &mut Tx<'_>,
    feedback: NewFeedback,
    status_token: String,
    stamp: &Stamp,
) -> Result<Case, StoreError> {
    let at = millis(stamp.at);
    let (customer_id, returning, new_identities) =
        resolve_customer(tx, &feedback.customer, feedback.vouched, at).await?;
    let priority = match returning {
        true if feedback.returning.is_some() => {
            let (vip, complained): (bool, bool) = sqlx::query_as(
                "SELECT vip, EXISTS (SELECT 1 FROM cases WHERE customer_id = $1 AND kind = 'complaint') \
                 FROM customers WHERE id = $1",
            )
            .bind(customer_id)
            .fetch_one(&mut **tx)
            .await?;
            feedback.priority_for(vip, complained)
        }
        _ => feedback.priority,
    };
    let case_id: i64 = sqlx::query_scalar(
        "INSERT INTO cases (channel, kind, audience, sentiment, language, priority, status, subject, location, \
         product, public, external_id, customer_id, status_token, created_at, updated_at, watch_at, cause, stage, source) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16, $17, $18, $19) RETURNING id",
    )
    .bind(feedback.channel.as_str())
    .bind(feedback.kind.as_str())
    .bind(feedback.audience.as_str())
    .bind(feedback.sentiment.map(|s| s.as_str()))
    .bind(feedback.language.map(|l| l.as_str()))
    .bind(priority.as_str())
    .bind(feedback.status.as_str())
    .bind(&feedback.subject)
    .bind(&feedback.location)
    .bind(&feedback.product)
    .bind(feedback.public)
    .bind(&feedback.external_id)
    .bind(customer_id)
    .bind(&status_token)
    .bind(at)
    .bind(feedback.watch_at.map(millis))
    .bind(feedback.cause.map(|c| c.as_str()))
    .bind(&feedback.stage)
    .bind(&feedback.source)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO messages (case_id, direction, public, channel, author, body, created_at) \
         VALUES ($1, $2, $3, $4, 'customer', $5, $6)",
    )
    .bind(case_id)
    .bind(Direction::Inbound.as_str())
    .bind(true)
    .bind(feedback.channel.as_str())
    .bind(&feedback.text)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    sqlx::query("INSERT INTO events (case_id, at, actor, action, new_value) VALUES ($1, $2, $3, 'created', $4)")
        .bind(case_id)
        .bind(at)
        .bind(&stamp.actor)
        .bind(feedback.kind.as_str())
        .execute(&mut **tx)
        .await?;
    for (action, value) in new_identities.events(returning) {
        sqlx::query("INSERT INTO events (case_id, at, actor, action, new_value) VALUES ($1, $2, $3, $4, $5)")
            .bind(case_id)
            .bind(at)
            .bind(&stamp.actor)
            .bind(action)
            .bind(value)
            .execute(&mut **tx)
            .await?;
    }
    let terms =
        crate::records::index_terms(feedback.subject.iter().map(String::as_str).chain([feedback.text.as_str()]));
    sqlx::query("INSERT INTO case_search (case_id, terms) VALUES ($1, $2)")
        .bind(case_id)
        .bind(terms)
        .execute(&mut **tx)
        .await?;
    Ok(Case {
        id: case_id,
        channel: feedback.channel,
        kind: feedback.kind,
        cause: feedback.cause,
        audience: feedback.audience,
        sentiment: feedback.sentiment,
        language: feedback.language,
        priority,
        status: feedback.status,
        stage: feedback.stage,
        subject: feedback.subject,
        location: feedback.location,
        product: feedback.product,
        assignee: None,
        tags: Vec::new(),
        public: feedback.public,
        hidden: false,
        external_id: feedback.external_id,
        customer_id,
        status_token,
        created_at: stamp.at,
        updated_at: stamp.at,
    })
}

async fn customer_with_identities(pool: &PgPool, id: i64) -> Result<Customer, StoreError> {
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
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn submit_feedback(
        &self,
        feedback: NewFeedback,
        status_token: String,
        idempotency: Option<IdempotencyKey>,
        stamp: Stamp,
    ) -> Result<Submitted, StoreError> {
        let mut attempt = 0;
        loop {
            match self.try_submit(&feedback, &status_token, idempotency.as_ref(), &stamp).await {
                Err(error) if error.is_unique_violation() && attempt < RACE_RETRIES => attempt += 1,
                result => return result,
            }
        }
    }

    async fn import_feedback(&self, batch: Vec<(NewFeedback, String)>, stamp: Stamp) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for (feedback, status_token) in batch {
            insert_feedback(&mut tx, feedback, status_token, &stamp).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn corrected_labels(&self, field: &str) -> Result<Vec<(String, String)>, StoreError> {
        let sql = crate::corrected_labels_sql(field)?;
        Ok(sqlx::query_as(&sql).bind(field).fetch_all(&self.pool).await?)
    }

    async fn case_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM cases").fetch_one(&self.pool).await?)
    }

    async fn case(&self, id: i64) -> Result<CaseDetail, StoreError> {
        let mut tx = self.pool.begin().await?;
        let case = case_in(&mut tx, id).await?;
        tx.commit().await?;
        let customer = customer_with_identities(&self.pool, case.customer_id).await?;
        let messages: Vec<MessageRow> = sqlx::query_as(
            "SELECT id, direction, public, channel, author, body, created_at FROM messages WHERE case_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let events: Vec<EventRow> = sqlx::query_as(
            "SELECT id, at, actor, action, field, old_value, new_value FROM events WHERE case_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
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
            .fetch_optional(&self.pool)
            .await?;
        match id {
            Some(id) => self.case(id).await.map(Some),
            None => Ok(None),
        }
    }

    async fn list_cases(&self, filter: &CaseFilter) -> Result<Page<Case>, StoreError> {
        search::list_cases(&self.pool, filter).await
    }

    async fn add_message(&self, case_id: i64, message: NewMessage, stamp: Stamp) -> Result<Message, StoreError> {
        let at = millis(stamp.at);
        let mut tx = self.pool.begin().await?;
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
        sqlx::query("UPDATE case_search SET terms = terms || ' ' || $2 WHERE case_id = $1")
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
        let mut tx = self.pool.begin().await?;
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
        let mut tx = self.pool.begin().await?;
        crate::workflow::on_postgres::update_customer(&mut tx, id, patch, &stamp).await?;
        tx.commit().await?;
        customer_with_identities(&self.pool, id).await
    }

    async fn customer(&self, id: i64) -> Result<CustomerDetail, StoreError> {
        let customer = customer_with_identities(&self.pool, id).await?;
        let rows: Vec<CaseRow> =
            sqlx::query_as(&format!("{} WHERE c.customer_id = $1 ORDER BY c.id DESC", select_case()))
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
        let cases = rows.into_iter().map(CaseRow::into_case).collect::<Result<_, _>>()?;
        let events = crate::workflow::on_postgres::customer_events(&self.pool, id).await?;
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
            .fetch_one(&self.pool)
            .await?;
        Ok(id)
    }

    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let sql = format!("{} WHERE t.token_hash = $1 AND t.revoked_at IS NULL", crate::records::SELECT_TOKEN);
        let row: Option<TokenRow> = sqlx::query_as(&sql).bind(token_hash).fetch_optional(&self.pool).await?;
        row.map(TokenRow::into_record).transpose()
    }

    async fn tokens(&self) -> Result<Vec<crate::TokenInfo>, StoreError> {
        let sql = format!("{} ORDER BY t.id", crate::records::SELECT_TOKEN);
        let rows: Vec<TokenRow> = sqlx::query_as(&sql).fetch_all(&self.pool).await?;
        rows.into_iter().map(TokenRow::into_info).collect()
    }

    async fn revoke_token(&self, id: i64, at: OffsetDateTime) -> Result<bool, StoreError> {
        let revoked = sqlx::query(crate::records::REVOKE_TOKEN).bind(id).bind(millis(at)).execute(&self.pool).await?;
        if revoked.rows_affected() == 1 {
            return Ok(true);
        }
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT id FROM api_tokens WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
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
        .fetch_one(&self.pool)
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
                .fetch_optional(&self.pool)
                .await?;
        row.map(UserRow::into_record).transpose()
    }

    async fn is_unclaimed(&self) -> Result<bool, StoreError> {
        let count: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM api_tokens WHERE revoked_at IS NULL)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(count == 0)
    }

    async fn case_state(&self, case_id: i64) -> Result<CaseState, StoreError> {
        let mut tx = self.pool.begin().await?;
        let case = case_in(&mut tx, case_id).await?;
        tx.commit().await?;
        let (open_tasks, pending_compensations) = crate::workflow::on_postgres::counts(&self.pool, case_id).await?;
        Ok(CaseState { case, open_tasks, pending_compensations })
    }

    async fn take_step(&self, case_id: i64, expected_stage: &str, step: &Step, stamp: Stamp) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let case = case_in(&mut tx, case_id).await?;
        crate::workflow::on_postgres::take_step(&mut tx, case_id, case.customer_id, expected_stage, step, &stamp)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn case_work(&self, case_id: i64) -> Result<CaseWork, StoreError> {
        crate::workflow::on_postgres::case_work(&self.pool, case_id).await
    }

    async fn add_task(&self, case_id: i64, task: NewTask, stamp: Stamp) -> Result<Task, StoreError> {
        let mut tx = self.pool.begin().await?;
        let id = crate::workflow::on_postgres::add_task(&mut tx, case_id, &task, &stamp).await?;
        tx.commit().await?;
        crate::workflow::on_postgres::task(&self.pool, id).await
    }

    async fn update_task(&self, task_id: i64, update: TaskUpdate, stamp: Stamp) -> Result<Task, StoreError> {
        let mut tx = self.pool.begin().await?;
        crate::workflow::on_postgres::update_task(&mut tx, task_id, &update, &stamp).await?;
        tx.commit().await?;
        crate::workflow::on_postgres::task(&self.pool, task_id).await
    }

    async fn tasks_for(&self, assignee: &str) -> Result<Vec<Task>, StoreError> {
        crate::workflow::on_postgres::tasks_for(&self.pool, assignee).await
    }

    async fn clocked_cases(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<ClockedCase>, StoreError> {
        crate::workflow::on_postgres::clocked_cases(&self.pool, now, limit).await
    }

    async fn set_watch(&self, next: &[(i64, Option<OffsetDateTime>)]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        crate::workflow::on_postgres::set_watch(&mut tx, next).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn mark_deadline(&self, mark: &DeadlineMark, stamp: Stamp) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let recorded = crate::workflow::on_postgres::mark_deadline(&mut tx, mark, &stamp).await?;
        tx.commit().await?;
        Ok(recorded)
    }

    async fn notifications(&self, recipient: &crate::Recipient) -> Result<Vec<Notification>, StoreError> {
        crate::workflow::on_postgres::notifications(&self.pool, recipient).await
    }

    async fn claim_jobs(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let jobs = crate::workflow::on_postgres::claim_jobs(&mut tx, worker, now, lease_until, limit).await?;
        tx.commit().await?;
        Ok(jobs)
    }

    async fn finish_follow_up(&self, job: &Job, worker: &str, stamp: Stamp) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let finished = crate::workflow::on_postgres::finish_follow_up(&mut tx, job, worker, &stamp).await?;
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
        let mut tx = self.pool.begin().await?;
        let claimed =
            crate::workflow::on_postgres::claim_outbox(&mut tx, worker, channels, now, lease_until, limit).await?;
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
        let mut tx = self.pool.begin().await?;
        let recorded = crate::workflow::on_postgres::record_delivery(&mut tx, message_id, worker, delivery, at).await?;
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
        let mut tx = self.pool.begin().await?;
        crate::workflow::on_postgres::fail_job(&mut tx, job_id, worker, error, retry_at).await?;
        tx.commit().await?;
        Ok(())
    }
}
