//! The one SQL store: every storage operation written once, for both databases. What really
//! differs between SQLite and PostgreSQL is the `Backend` trait: how a read and a write begin,
//! the full-text expression, the claim lock, the tag aggregate, and the intake path (the SQLite
//! writer thread, PostgreSQL's group commit). The backends are `crate::sqlite` and
//! `crate::postgres`; nothing above this module knows which one it talks to.

mod audit;
mod digests;
mod erase;
pub(crate) mod exec;
pub(crate) mod intake;
mod nps;
mod pile_ons;
mod reports;
mod search;
mod webhooks;
mod workflow;

use async_trait::async_trait;
use otklik_core::{
    Case, CaseFilter, CasePatch, Channel, Customer, CustomerPatch, Direction, Message, NewFeedback, NewMessage,
    OutboxStatus, Page, Role, Status,
};
use time::OffsetDateTime;

use crate::records::{
    CASE_COLUMNS, CaseRow, CustomerRow, EventRow, IdentityRow, MessageRow, TokenRow, USER_COLUMNS, UserRow,
    from_millis, millis, word,
};
use crate::{
    AttachmentInfo, CaseDetail, CaseState, CaseWork, ClockedCase, CustomerDetail, DeadlineMark, Delivery, HookEvent,
    IdempotencyKey, Job, NewAttachment, NewTask, Notification, OutboxMessage, Recipient, ReplyThread, SessionRecord,
    Stamp, Step, Store, StoreError, Submitted, Task, TaskUpdate, TokenInfo, TokenRecord, UserRecord, WebhookRecord,
};
use exec::{Commit, Conn, query};

const LOCATION_COLUMNS: &str = "id, slug, name, address, time_zone, hours, active, created_at";

#[derive(sqlx::FromRow)]
struct LocationRow {
    id: i64,
    slug: String,
    name: String,
    address: Option<String>,
    time_zone: Option<String>,
    hours: Option<String>,
    active: bool,
    created_at: i64,
}

async fn location_by_slug<C: Conn + ?Sized>(conn: &mut C, slug: &str) -> Result<Option<crate::Location>, StoreError> {
    let row: Option<LocationRow> = query(format!("SELECT {LOCATION_COLUMNS} FROM locations WHERE slug = $1"))
        .bind(slug)
        .fetch_optional(conn)
        .await?;
    row.map(LocationRow::into_location).transpose()
}

impl LocationRow {
    fn into_location(self) -> Result<crate::Location, StoreError> {
        Ok(crate::Location {
            id: self.id,
            slug: self.slug,
            name: self.name,
            address: self.address,
            time_zone: self.time_zone,
            hours: self.hours,
            active: self.active,
            created_at: from_millis(self.created_at)?,
        })
    }
}
use intake::{Intake, Outcome};

/// What differs between the two databases; everything else is `SqlStore`.
#[async_trait]
pub(crate) trait Backend: Send + Sync + 'static {
    /// A pooled connection for reading.
    type Read: Conn;
    /// A write transaction.
    type Write: Commit;

    /// The SQL that differs.
    const DIALECT: Dialect;

    async fn read(&self) -> Result<Self::Read, StoreError>;

    /// A connection for reading if one is free now; none rather than waiting (a caller that
    /// holds a connection must never wait for another: with a small pool it could wait forever).
    fn try_read(&self) -> Option<Self::Read>;

    /// Begins a write transaction (on SQLite it takes the write lock at once).
    async fn write(&self) -> Result<Self::Write, StoreError>;

    /// Writes new feedback, the items of one call together or not at all. A redelivery
    /// (idempotency key, or source with channel and external id) is `Outcome::Existing`.
    async fn intake(&self, items: Vec<Intake>) -> Result<Vec<Outcome>, StoreError>;
}

/// The SQL in which the two databases differ, side by side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// Ids written into a statement as a list (`1, 2, 3`): they are numbers, so nothing can be
/// injected, and one statement serves any count.
pub(crate) fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

impl Dialect {
    /// Appended to a SELECT that must lock its rows for the rest of the write transaction: on
    /// PostgreSQL two nodes then take turns; SQLite has one writer at a time already.
    pub(crate) fn row_lock(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }

    /// `sqlite` or `postgres`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }

    /// The aggregate that joins a case's tags with commas.
    /// The case's tags and employees, as the two last columns of a case row (`tags`,
    /// `employees`); neither holds a comma.
    pub(crate) fn case_lists(self) -> String {
        let aggregate = |column: &str| match self {
            Dialect::Sqlite => format!("group_concat({column}, ',')"),
            Dialect::Postgres => format!("string_agg({column}, ',')"),
        };
        format!(
            "(SELECT {} FROM case_tags t WHERE t.case_id = c.id) AS tags, \
             (SELECT {} FROM case_employees e WHERE e.case_id = c.id) AS employees",
            aggregate("tag"),
            aggregate("employee")
        )
    }

    /// The cases table as the reports' grouped scan reads it. SQLite groups by sorting, unless
    /// it reads an index already in the grouping's order: `cases_report` is that index
    /// (covering), so a year of a million cases is one pass with no sort. PostgreSQL groups
    /// by hashing and needs no hint.
    pub(crate) fn report_cases(self) -> &'static str {
        match self {
            Dialect::Sqlite => "cases c INDEXED BY cases_report",
            Dialect::Postgres => "cases c",
        }
    }

    /// The cases table as a timing's rank walk reads it: in the order of the duration to
    /// `milestone` (`first_response` or `resolution`), by SQLite's index on it, which covers
    /// the period's filter. PostgreSQL picks it or sorts by itself.
    pub(crate) fn duration_cases(self, milestone: &str) -> String {
        match self {
            Dialect::Sqlite => format!("cases c INDEXED BY cases_{milestone}_time"),
            Dialect::Postgres => "cases c".to_owned(),
        }
    }

    /// `cases c`, read through `index` on SQLite, whose planner otherwise prefers the reports'
    /// covering index (it begins with `kind`) where a query also filters by kind.
    pub(crate) fn cases_by(self, index: &str) -> String {
        match self {
            Dialect::Sqlite => format!("cases c INDEXED BY {index}"),
            Dialect::Postgres => "cases c".to_owned(),
        }
    }

    /// The column of `case_search` that holds the case id (FTS5 tables key on `rowid`).
    fn search_key(self) -> &'static str {
        match self {
            Dialect::Sqlite => "rowid",
            Dialect::Postgres => "case_id",
        }
    }

    /// Appended to the subquery that picks the jobs or messages a worker claims. SQLite has one
    /// writer at a time, so a claim never races another; on PostgreSQL another node's claimer
    /// skips the rows this one holds instead of waiting for them.
    fn claim_lock(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }
}

/// Otklik's storage on a SQL database.
pub(crate) struct SqlStore<B> {
    pub(crate) backend: B,
}

/// The cases linked to `parent` (comments on its public incident), oldest first.
async fn linked_cases<B: Backend, C: Conn + ?Sized>(conn: &mut C, parent: i64) -> Result<Vec<Case>, StoreError> {
    let rows: Vec<CaseRow> = query(format!("{} WHERE c.parent_id = $1 ORDER BY c.id", select_case::<B>()))
        .bind(parent)
        .fetch_all(conn)
        .await?;
    rows.into_iter().map(CaseRow::into_case).collect()
}

fn select_case<B: Backend>() -> String {
    format!("SELECT {CASE_COLUMNS}, {} FROM cases c", B::DIALECT.case_lists())
}

async fn case_in<B: Backend, C: Conn + ?Sized>(conn: &mut C, id: i64) -> Result<Case, StoreError> {
    let row: Option<CaseRow> =
        query(format!("{} WHERE c.id = $1", select_case::<B>())).bind(id).fetch_optional(conn).await?;
    row.ok_or(StoreError::NotFound("case"))?.into_case()
}

async fn customer_with_identities<C: Conn + ?Sized>(conn: &mut C, id: i64) -> Result<Customer, StoreError> {
    let row: Option<CustomerRow> =
        query("SELECT id, name, followers, vip, locale, created_at FROM customers WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    let row = row.ok_or(StoreError::NotFound("customer"))?;
    let identities: Vec<IdentityRow> =
        query("SELECT kind, value FROM customer_identities WHERE customer_id = $1 ORDER BY kind, value")
            .bind(id)
            .fetch_all(conn)
            .await?;
    row.into_customer(identities)
}

const ATTACHMENT_COLUMNS: &str = "id, name, content_type, size, created_at";
type AttachmentRow = (i64, String, String, i64, i64);

fn attachment_info((id, name, content_type, size, created_at): AttachmentRow) -> Result<AttachmentInfo, StoreError> {
    let size = u64::try_from(size).map_err(|_| StoreError::Corrupt(format!("attachment size {size}")))?;
    Ok(AttachmentInfo { id, name, content_type, size, created_at: crate::records::from_millis(created_at)? })
}

/// The id of the person with this username; `NotFound` when there is none.
async fn user_id<C: Conn + ?Sized>(conn: &mut C, username: &str) -> Result<i64, StoreError> {
    let id: Option<i64> =
        query("SELECT id FROM users WHERE username = $1").bind(username).scalar_optional(conn).await?;
    id.ok_or(StoreError::NotFound("user"))
}

/// Fails with `Invalid` unless a user has this name.
async fn require_user<C: Conn + ?Sized>(conn: &mut C, field: &str, username: Option<&str>) -> Result<(), StoreError> {
    let Some(username) = username else { return Ok(()) };
    let known: Option<i64> =
        query("SELECT id FROM users WHERE username = $1").bind(username).scalar_optional(conn).await?;
    match known {
        Some(_) => Ok(()),
        None => Err(StoreError::Invalid(format!("{field}: no user named `{username}`"))),
    }
}

#[async_trait]
impl<B: Backend> Store for SqlStore<B> {
    fn backend(&self) -> &'static str {
        B::DIALECT.name()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        query("SELECT 1").execute(&mut self.backend.read().await?).await?;
        Ok(())
    }

    async fn submit_feedback(
        &self,
        feedback: NewFeedback,
        status_token: String,
        idempotency: Option<IdempotencyKey>,
        stamp: Stamp,
    ) -> Result<Submitted, StoreError> {
        let item = Intake::new(feedback, status_token, idempotency, stamp);
        let outcome = self.backend.intake(vec![item]).await?.pop();
        match outcome.ok_or_else(|| StoreError::Internal("intake answered nothing".into()))? {
            Outcome::Created(case) => Ok(Submitted { case: *case, created: true }),
            Outcome::Existing(case_id) => Ok(Submitted { case: self.case(case_id).await?.case, created: false }),
        }
    }

    async fn import_feedback(&self, batch: Vec<(NewFeedback, String)>, stamp: Stamp) -> Result<(), StoreError> {
        let items = batch
            .into_iter()
            .map(|(feedback, status_token)| Intake::new(feedback, status_token, None, stamp.clone()))
            .collect();
        self.backend.intake(items).await?;
        Ok(())
    }

    async fn corrected_labels(&self, field: &str) -> Result<Vec<(String, String)>, StoreError> {
        let column = match field {
            "kind" => "c.kind",
            "sentiment" => "c.sentiment",
            "cause" => "c.cause",
            other => return Err(StoreError::Invalid(format!("cannot learn the field `{other}`"))),
        };
        query(format!(
            "SELECT m.body, {column} FROM cases c \
             JOIN messages m ON m.id = (SELECT min(id) FROM messages WHERE case_id = c.id) \
             WHERE {column} IS NOT NULL AND {column} <> 'unclassified' AND EXISTS \
             (SELECT 1 FROM events e WHERE e.case_id = c.id AND e.action = 'changed' AND e.field = $1) \
             ORDER BY c.id"
        ))
        .bind(field)
        .fetch_all(&mut self.backend.read().await?)
        .await
    }

    async fn case_count(&self) -> Result<i64, StoreError> {
        query("SELECT count(*) FROM cases").scalar(&mut self.backend.read().await?).await
    }

    async fn case(&self, id: i64) -> Result<CaseDetail, StoreError> {
        let mut conn = self.backend.read().await?;
        let case = case_in::<B, _>(&mut conn, id).await?;
        let customer = customer_with_identities(&mut conn, case.customer_id).await.map_err(|error| match error {
            StoreError::NotFound(_) => StoreError::Internal(format!("case {id} names a missing customer")),
            other => other,
        })?;
        let messages: Vec<MessageRow> = query(
            "SELECT id, direction, public, channel, author, body, created_at FROM messages WHERE case_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&mut conn)
        .await?;
        let events: Vec<EventRow> = query(
            "SELECT id, at, actor, action, field, old_value, new_value FROM events WHERE case_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&mut conn)
        .await?;
        let attachments: Vec<AttachmentRow> =
            query(format!("SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE case_id = $1 ORDER BY id"))
                .bind(id)
                .fetch_all(&mut conn)
                .await?;
        let parent = match case.parent_id {
            Some(parent) => Some(case_in::<B, _>(&mut conn, parent).await?),
            None => None,
        };
        let linked = linked_cases::<B, _>(&mut conn, id).await?;
        Ok(CaseDetail {
            parent,
            linked,
            case,
            customer,
            messages: messages.into_iter().map(MessageRow::into_message).collect::<Result<_, _>>()?,
            events: events.into_iter().map(EventRow::into_event).collect::<Result<_, _>>()?,
            attachments: attachments.into_iter().map(attachment_info).collect::<Result<_, _>>()?,
        })
    }

    async fn case_by_status_token(
        &self,
        status_token: &str,
        resolved_since: OffsetDateTime,
    ) -> Result<Option<CaseDetail>, StoreError> {
        let id: Option<i64> = query(
            "SELECT id FROM cases WHERE status_token = $1 AND status_link_revoked_at IS NULL \
             AND (resolved_at IS NULL OR resolved_at >= $2)",
        )
        .bind(status_token)
        .bind(millis(resolved_since))
        .scalar_optional(&mut self.backend.read().await?)
        .await?;
        match id {
            Some(id) => self.case(id).await.map(Some),
            None => Ok(None),
        }
    }

    async fn list_cases(&self, filter: &CaseFilter) -> Result<Page<Case>, StoreError> {
        search::list_cases(B::DIALECT, &mut self.backend.read().await?, filter).await
    }

    async fn add_message(&self, case_id: i64, message: NewMessage, stamp: Stamp) -> Result<Message, StoreError> {
        let at = millis(stamp.at);
        let mut tx = self.backend.write().await?;
        let exists: Option<i64> =
            query("SELECT id FROM cases WHERE id = $1").bind(case_id).scalar_optional(&mut tx).await?;
        exists.ok_or(StoreError::NotFound("case"))?;
        let id: i64 = query(
            "INSERT INTO messages (case_id, direction, public, channel, author, body, created_at, external_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(case_id)
        .bind(message.direction.as_str())
        .bind(message.public)
        .bind(message.channel.as_str())
        .bind(&stamp.actor)
        .bind(&message.body)
        .bind(at)
        .bind(&message.external_id)
        .scalar(&mut tx)
        .await?;
        query("INSERT INTO events (case_id, at, actor, action, new_value) VALUES ($1, $2, $3, 'message_added', $4)")
            .bind(case_id)
            .bind(at)
            .bind(&stamp.actor)
            .bind(message.direction.as_str())
            .execute(&mut tx)
            .await?;
        if !message.overridden.is_empty() {
            query(
                "INSERT INTO events (case_id, at, actor, action, field, new_value) \
                 VALUES ($1, $2, $3, 'standard_overridden', 'rules', $4)",
            )
            .bind(case_id)
            .bind(at)
            .bind(&stamp.actor)
            .bind(message.overridden.join(","))
            .execute(&mut tx)
            .await?;
        }
        // A public answer is owed to the customer on the case's channel: the outbox carries it
        // there (template `reply`: the words as written, with the footer).
        if message.direction == Direction::Outbound && message.public {
            query(
                "INSERT INTO outbox (case_id, template, channel, body, status, next_attempt_at, created_at) \
                 VALUES ($1, 'reply', $2, $3, 'pending', $4, $4)",
            )
            .bind(case_id)
            .bind(message.channel.as_str())
            .bind(&message.body)
            .bind(at)
            .execute(&mut tx)
            .await?;
        }
        // The customer's word ends a wait on them: the deadline clocks run again.
        if message.direction == Direction::Inbound {
            query("UPDATE case_pauses SET to_at = $1 WHERE case_id = $2 AND to_at IS NULL")
                .bind(at)
                .bind(case_id)
                .execute(&mut tx)
                .await?;
            query("UPDATE cases SET watch_at = NULL WHERE id = $1").bind(case_id).execute(&mut tx).await?;
        }
        query(crate::records::TOUCH_CASE_FOR_MESSAGE)
            .bind(case_id)
            .bind(at)
            .bind(message.direction == Direction::Outbound)
            .execute(&mut tx)
            .await?;
        let terms = crate::records::index_terms([message.body.as_str()]);
        query(format!("UPDATE case_search SET terms = terms || ' ' || $2 WHERE {} = $1", B::DIALECT.search_key()))
            .bind(case_id)
            .bind(terms)
            .execute(&mut tx)
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

    async fn message_by_external_id(&self, case_id: i64, external_id: &str) -> Result<Option<Message>, StoreError> {
        let row: Option<MessageRow> = query(
            "SELECT id, direction, public, channel, author, body, created_at FROM messages \
             WHERE case_id = $1 AND external_id = $2",
        )
        .bind(case_id)
        .bind(external_id)
        .fetch_optional(&mut self.backend.read().await?)
        .await?;
        row.map(MessageRow::into_message).transpose()
    }

    async fn case_by_thread(
        &self,
        source: &str,
        channel: Channel,
        thread_key: &str,
    ) -> Result<Option<(i64, Status)>, StoreError> {
        let row: Option<(i64, String)> = query(
            "SELECT id, status FROM cases WHERE source = $1 AND channel = $2 AND thread_key = $3 \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(source)
        .bind(channel.as_str())
        .bind(thread_key)
        .fetch_optional(&mut self.backend.read().await?)
        .await?;
        row.map(|(id, status)| Ok((id, word(&status)?))).transpose()
    }

    async fn add_attachments(&self, case_id: i64, files: &[NewAttachment], stamp: Stamp) -> Result<u32, StoreError> {
        let mut tx = self.backend.write().await?;
        let exists: Option<i64> =
            query("SELECT id FROM cases WHERE id = $1").bind(case_id).scalar_optional(&mut tx).await?;
        exists.ok_or(StoreError::NotFound("case"))?;
        let mut added = 0;
        for file in files {
            let size =
                i64::try_from(file.content.len()).map_err(|_| StoreError::Invalid("attachment: too large".into()))?;
            added += query(
                "INSERT INTO attachments (case_id, name, content_type, size, digest, content, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            )
            .bind(case_id)
            .bind(&file.name)
            .bind(&file.content_type)
            .bind(size)
            .bind(&file.digest)
            .bind(file.content.clone())
            .bind(millis(stamp.at))
            .execute(&mut tx)
            .await?;
        }
        if added > 0 {
            let names = files.iter().map(|file| file.name.as_str()).collect::<Vec<_>>().join(", ");
            query("INSERT INTO events (case_id, at, actor, action, new_value) VALUES ($1, $2, $3, 'attachments_added', $4)")
                .bind(case_id)
                .bind(millis(stamp.at))
                .bind(&stamp.actor)
                .bind(names)
                .execute(&mut tx)
                .await?;
        }
        tx.commit().await?;
        Ok(u32::try_from(added).unwrap_or(u32::MAX))
    }

    async fn attachment(&self, case_id: i64, id: i64) -> Result<(AttachmentInfo, Vec<u8>), StoreError> {
        let mut conn = self.backend.read().await?;
        let row: Option<AttachmentRow> =
            query(format!("SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE case_id = $1 AND id = $2"))
                .bind(case_id)
                .bind(id)
                .fetch_optional(&mut conn)
                .await?;
        let info = attachment_info(row.ok_or(StoreError::NotFound("attachment"))?)?;
        let content: Vec<u8> =
            query("SELECT content FROM attachments WHERE id = $1").bind(id).scalar(&mut conn).await?;
        Ok((info, content))
    }

    async fn update_case(&self, case_id: i64, patch: &CasePatch, stamp: Stamp) -> Result<CaseDetail, StoreError> {
        let mut tx = self.backend.write().await?;
        let mut case = case_in::<B, _>(&mut tx, case_id).await?;
        if let Some(Some(assignee)) = &patch.assignee {
            require_user(&mut tx, "assignee", Some(assignee)).await?;
        }
        let changes = case.apply(patch);
        if !changes.is_empty() {
            workflow::store_case_changes(&mut tx, &case, &changes, &stamp).await?;
        }
        tx.commit().await?;
        self.case(case_id).await
    }

    async fn update_customer(&self, id: i64, patch: &CustomerPatch, stamp: Stamp) -> Result<Customer, StoreError> {
        let mut tx = self.backend.write().await?;
        workflow::update_customer(&mut tx, id, patch, &stamp).await?;
        let customer = customer_with_identities(&mut tx, id).await?;
        tx.commit().await?;
        Ok(customer)
    }

    async fn merge_customers(&self, into: i64, from: i64, stamp: Stamp) -> Result<Customer, StoreError> {
        let mut tx = self.backend.write().await?;
        workflow::merge_customers(&mut tx, into, from, &stamp).await?;
        let customer = customer_with_identities(&mut tx, into).await?;
        tx.commit().await?;
        Ok(customer)
    }

    async fn add_identity(
        &self,
        customer_id: i64,
        identity: &otklik_core::Identity,
        stamp: Stamp,
    ) -> Result<Customer, StoreError> {
        let mut tx = self.backend.write().await?;
        customer_with_identities(&mut tx, customer_id).await?;
        workflow::add_identity(&mut tx, customer_id, identity, &stamp).await?;
        let customer = customer_with_identities(&mut tx, customer_id).await?;
        tx.commit().await?;
        Ok(customer)
    }

    async fn customer(&self, id: i64) -> Result<CustomerDetail, StoreError> {
        let mut conn = self.backend.read().await?;
        // A merged record answers with the one it was merged into.
        let merged: Option<Option<i64>> =
            query("SELECT merged_into FROM customers WHERE id = $1").bind(id).scalar_optional(&mut conn).await?;
        let id = merged.flatten().unwrap_or(id);
        let customer = customer_with_identities(&mut conn, id).await?;
        let rows: Vec<CaseRow> = query(format!("{} WHERE c.customer_id = $1 ORDER BY c.id DESC", select_case::<B>()))
            .bind(id)
            .fetch_all(&mut conn)
            .await?;
        let cases = rows.into_iter().map(CaseRow::into_case).collect::<Result<_, _>>()?;
        let events = workflow::customer_events(&mut conn, id).await?;
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
        let mut tx = self.backend.write().await?;
        require_user(&mut tx, "user", user).await?;
        let id = query(crate::records::INSERT_TOKEN)
            .bind(name)
            .bind(role.as_str())
            .bind(token_hash)
            .bind(millis(at))
            .bind(user)
            .scalar(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let sql = format!("{} WHERE t.token_hash = $1 AND t.revoked_at IS NULL", crate::records::SELECT_TOKEN);
        let row: Option<TokenRow> = query(sql).bind(token_hash).fetch_optional(&mut self.backend.read().await?).await?;
        row.map(TokenRow::into_record).transpose()
    }

    async fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        let sql = format!("{} ORDER BY t.id", crate::records::SELECT_TOKEN);
        let rows: Vec<TokenRow> = query(sql).fetch_all(&mut self.backend.read().await?).await?;
        rows.into_iter().map(TokenRow::into_info).collect()
    }

    async fn revoke_token(&self, id: i64, at: OffsetDateTime) -> Result<bool, StoreError> {
        let mut tx = self.backend.write().await?;
        let exists: Option<i64> =
            query("SELECT id FROM api_tokens WHERE id = $1").bind(id).scalar_optional(&mut tx).await?;
        exists.ok_or(StoreError::NotFound("token"))?;
        let revoked = query(crate::records::REVOKE_TOKEN).bind(id).bind(millis(at)).execute(&mut tx).await?;
        tx.commit().await?;
        Ok(revoked == 1)
    }

    async fn create_user(
        &self,
        username: &str,
        display_name: Option<&str>,
        role: Role,
        password_hash: &str,
        at: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        let mut tx = self.backend.write().await?;
        let result = query(
            "INSERT INTO users (username, display_name, role, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(username)
        .bind(display_name)
        .bind(role.as_str())
        .bind(password_hash)
        .bind(millis(at))
        .scalar(&mut tx)
        .await;
        let result = match result {
            Ok(id) => tx.commit().await.map(|()| id),
            Err(error) => Err(error),
        };
        match result {
            Err(error) if error.is_unique_violation() => Err(StoreError::Conflict(format!("user `{username}`"))),
            other => other,
        }
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let row: Option<UserRow> = query(format!("SELECT {USER_COLUMNS} FROM users u WHERE u.username = $1"))
            .bind(username)
            .fetch_optional(&mut self.backend.read().await?)
            .await?;
        row.map(UserRow::into_record).transpose()
    }

    async fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let rows: Vec<UserRow> = query(format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.username"))
            .fetch_all(&mut self.backend.read().await?)
            .await?;
        rows.into_iter().map(UserRow::into_record).collect()
    }

    async fn update_user(&self, username: &str, patch: &crate::UserPatch) -> Result<UserRecord, StoreError> {
        let mut tx = self.backend.write().await?;
        let id = user_id(&mut tx, username).await?;
        query(
            "UPDATE users SET role = coalesce($2, role), \
             display_name = CASE WHEN $3 THEN $4 ELSE display_name END, \
             language = CASE WHEN $5 THEN $6 ELSE language END, \
             time_zone = CASE WHEN $7 THEN $8 ELSE time_zone END, \
             email = CASE WHEN $9 THEN $10 ELSE email END WHERE id = $1",
        )
        .bind(id)
        .bind(patch.role.map(|role| role.as_str()))
        .bind(patch.display_name.is_some())
        .bind(patch.display_name.clone().flatten())
        .bind(patch.language.is_some())
        .bind(patch.language.flatten().map(|language| language.as_str()))
        .bind(patch.time_zone.is_some())
        .bind(patch.time_zone.clone().flatten())
        .bind(patch.email.is_some())
        .bind(patch.email.clone().flatten())
        .execute(&mut tx)
        .await?;
        let row: UserRow =
            query(format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1")).bind(id).fetch_one(&mut tx).await?;
        tx.commit().await?;
        row.into_record()
    }

    async fn open_opportunities(
        &self,
        limit: u32,
    ) -> Result<Vec<(crate::Opportunity, Option<OffsetDateTime>)>, StoreError> {
        workflow::open_opportunities(&mut self.backend.read().await?, limit).await
    }

    async fn create_location(
        &self,
        new: &crate::NewLocationRecord,
        at: OffsetDateTime,
    ) -> Result<crate::Location, StoreError> {
        let slug = new.slug.as_str();
        let mut tx = self.backend.write().await?;
        let inserted = query(
            "INSERT INTO locations (slug, name, address, time_zone, hours, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(slug)
        .bind(new.name.as_str())
        .bind(new.address.as_deref())
        .bind(new.time_zone.as_deref())
        .bind(new.hours.as_deref())
        .bind(millis(at))
        .scalar::<i64, _>(&mut tx)
        .await;
        match inserted {
            Err(error) if error.is_unique_violation() => {
                return Err(StoreError::Conflict(format!("location `{slug}`")));
            }
            other => other?,
        };
        let location = location_by_slug(&mut tx, slug).await?.ok_or(StoreError::NotFound("location"))?;
        tx.commit().await?;
        Ok(location)
    }

    async fn locations(&self) -> Result<Vec<crate::Location>, StoreError> {
        let rows: Vec<LocationRow> = query(format!("SELECT {LOCATION_COLUMNS} FROM locations ORDER BY slug"))
            .fetch_all(&mut self.backend.read().await?)
            .await?;
        rows.into_iter().map(LocationRow::into_location).collect()
    }

    async fn location(&self, slug: &str) -> Result<Option<crate::Location>, StoreError> {
        location_by_slug(&mut self.backend.read().await?, slug).await
    }

    async fn update_location(&self, slug: &str, patch: &crate::LocationPatch) -> Result<crate::Location, StoreError> {
        let mut tx = self.backend.write().await?;
        let changed = query(
            "UPDATE locations SET name = coalesce($2, name), \
             address = CASE WHEN $3 THEN $4 ELSE address END, \
             time_zone = CASE WHEN $5 THEN $6 ELSE time_zone END, \
             active = coalesce($7, active), \
             hours = CASE WHEN $8 THEN $9 ELSE hours END WHERE slug = $1",
        )
        .bind(slug)
        .bind(patch.name.clone())
        .bind(patch.address.is_some())
        .bind(patch.address.clone().flatten())
        .bind(patch.time_zone.is_some())
        .bind(patch.time_zone.clone().flatten())
        .bind(patch.active)
        .bind(patch.hours.is_some())
        .bind(patch.hours.clone().flatten())
        .execute(&mut tx)
        .await?;
        if changed == 0 {
            return Err(StoreError::NotFound("location"));
        }
        let location = location_by_slug(&mut tx, slug).await?.ok_or(StoreError::NotFound("location"))?;
        tx.commit().await?;
        Ok(location)
    }

    async fn unmatched_locations(&self, limit: u32) -> Result<Vec<(String, i64)>, StoreError> {
        query(
            "SELECT c.location, count(*) FROM cases c WHERE c.location IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM locations l WHERE l.slug = c.location) \
             GROUP BY c.location ORDER BY count(*) DESC, c.location LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&mut self.backend.read().await?)
        .await
    }

    async fn match_location(&self, text: &str, slug: &str, stamp: Stamp) -> Result<u64, StoreError> {
        let mut tx = self.backend.write().await?;
        location_by_slug(&mut tx, slug).await?.ok_or(StoreError::NotFound("location"))?;
        query(
            "INSERT INTO events (case_id, at, actor, action, field, old_value, new_value) \
             SELECT id, $3, $4, 'changed', 'location', location, $2 FROM cases WHERE location = $1",
        )
        .bind(text)
        .bind(slug)
        .bind(millis(stamp.at))
        .bind(&stamp.actor)
        .execute(&mut tx)
        .await?;
        // The case's clocks may count in the location's hours now: the watch looks again.
        let matched = query("UPDATE cases SET location = $2, watch_at = NULL WHERE location = $1")
            .bind(text)
            .bind(slug)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(matched)
    }

    async fn setting(&self, key: &str, make: &(dyn Fn() -> String + Send + Sync)) -> Result<String, StoreError> {
        let found: Option<String> = query("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .scalar_optional(&mut self.backend.read().await?)
            .await?;
        if let Some(value) = found {
            return Ok(value);
        }
        let mut tx = self.backend.write().await?;
        query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(make())
            .execute(&mut tx)
            .await?;
        let value: String = query("SELECT value FROM settings WHERE key = $1").bind(key).scalar(&mut tx).await?;
        tx.commit().await?;
        Ok(value)
    }

    async fn link_case(
        &self,
        case_id: i64,
        parent: Option<(i64, String)>,
        reference: &str,
        stamp: Stamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.backend.write().await?;
        let changed = pile_ons::link(&mut tx, B::DIALECT, case_id, parent, reference, &stamp).await?;
        tx.commit().await?;
        Ok(changed)
    }

    async fn report_rows(&self, from: OffsetDateTime, to: OffsetDateTime) -> Result<crate::ReportRows, StoreError> {
        // Two connections at once when two are free: the cases' scans on one, the rest on the
        // other; else one after the other on one (never waiting for a second while holding one).
        let mut cases = self.backend.read().await?;
        let (case_rows, other_rows) = match self.backend.try_read() {
            Some(mut others) => {
                let (case_rows, other_rows) = tokio::join!(
                    reports::case_rows(&mut cases, B::DIALECT, from, to),
                    reports::other_rows(&mut others, B::DIALECT, from, to)
                );
                (case_rows?, other_rows?)
            }
            None => (
                reports::case_rows(&mut cases, B::DIALECT, from, to).await?,
                reports::other_rows(&mut cases, B::DIALECT, from, to).await?,
            ),
        };
        Ok(crate::ReportRows {
            cube: case_rows.cube,
            first_response_minutes: case_rows.first_response_minutes,
            resolution_minutes: case_rows.resolution_minutes,
            ..other_rows
        })
    }

    async fn complaint_texts(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let mut conn = self.backend.read().await?;
        // Newest first along the creation index, stopping at `limit` complaints.
        Ok(query(format!(
            "SELECT c.id, m.body FROM {} \
             JOIN messages m ON m.id = (SELECT min(id) FROM messages WHERE case_id = c.id) \
             WHERE c.created_at >= $1 AND c.created_at < $2 AND NOT c.hidden AND c.kind = 'complaint' \
             ORDER BY c.created_at DESC, c.id DESC LIMIT $3",
            B::DIALECT.cases_by("cases_by_created")
        ))
        .bind(millis(from))
        .bind(millis(to))
        .bind(i64::from(limit))
        .fetch_all(&mut conn)
        .await?)
    }

    async fn worth_reading(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<crate::WorthReading>, StoreError> {
        let mut conn = self.backend.read().await?;
        let rows: Vec<CaseRow> = query(format!("{} {}", select_case::<B>(), digests::WORTH_READING))
            .bind(millis(from))
            .bind(millis(to))
            .bind(i64::from(limit))
            .fetch_all(&mut conn)
            .await?;
        let mut found = Vec::with_capacity(rows.len());
        for row in rows {
            let case = row.into_case()?;
            let (breaches, lowest, text): (i64, Option<i64>, Option<String>) =
                query(digests::WHY_WORTH_READING).bind(case.id).fetch_one(&mut conn).await?;
            let lowest_rating = lowest.and_then(|score| u8::try_from(score).ok());
            let text = text.unwrap_or_default();
            found.push(crate::WorthReading { case, breaches: breaches.max(0) as u32, lowest_rating, text });
        }
        Ok(found)
    }

    async fn erase_customer(
        &self,
        id: i64,
        stamp: Stamp,
        closed_before: Option<OffsetDateTime>,
    ) -> Result<crate::Erased, StoreError> {
        let mut tx = self.backend.write().await?;
        let erased = erase::erase(&mut tx, B::DIALECT, id, &stamp, closed_before).await?;
        tx.commit().await?;
        Ok(erased)
    }

    async fn customers_to_forget(&self, before: OffsetDateTime, limit: u32) -> Result<Vec<i64>, StoreError> {
        let ids: Vec<(i64,)> =
            query(format!("SELECT c.id FROM customers c WHERE {} ORDER BY c.id LIMIT $2", erase::FORGETTABLE))
                .bind(millis(before))
                .bind(i64::from(limit))
                .fetch_all(&mut self.backend.read().await?)
                .await?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    async fn seal_events(&self, before: OffsetDateTime, limit: u32) -> Result<u64, StoreError> {
        let mut tx = self.backend.write().await?;
        let sealed = audit::seal(&mut tx, B::DIALECT, before, limit).await?;
        tx.commit().await?;
        Ok(sealed)
    }

    async fn verify_events(&self) -> Result<crate::AuditReport, StoreError> {
        audit::verify(&mut self.backend.read().await?).await
    }

    async fn digest_recorded(&self, from: time::Date) -> Result<bool, StoreError> {
        digests::recorded(&mut self.backend.read().await?, from).await
    }

    async fn record_digest(
        &self,
        from: time::Date,
        to: time::Date,
        letters: &[crate::DigestLetter],
        at: OffsetDateTime,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.backend.write().await?;
        let recorded = digests::record(&mut tx, from, to, letters, at).await?;
        tx.commit().await?;
        Ok(recorded)
    }

    async fn digest(&self, id: i64) -> Result<crate::DigestRecord, StoreError> {
        digests::get(&mut self.backend.read().await?, id).await
    }

    async fn user(&self, id: i64) -> Result<UserRecord, StoreError> {
        let row: Option<UserRow> = query(format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"))
            .bind(id)
            .fetch_optional(&mut self.backend.read().await?)
            .await?;
        row.ok_or(StoreError::NotFound("user"))?.into_record()
    }

    async fn export_cases(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Case>, StoreError> {
        let mut conn = self.backend.read().await?;
        let rows: Vec<CaseRow> = query(reports::export_page_sql(&select_case::<B>()))
            .bind(millis(from))
            .bind(millis(to))
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&mut conn)
            .await?;
        rows.into_iter().map(CaseRow::into_case).collect()
    }

    async fn linked_cases(&self, parent: i64) -> Result<Vec<Case>, StoreError> {
        let mut conn = self.backend.read().await?;
        linked_cases::<B, _>(&mut conn, parent).await
    }

    async fn pile_on_candidates(
        &self,
        case: &Case,
        since: OffsetDateTime,
        near: OffsetDateTime,
    ) -> Result<Vec<crate::PileOnCandidate>, StoreError> {
        let mut conn = self.backend.read().await?;
        let (thread_key, source): (Option<String>, String) =
            query("SELECT thread_key, source FROM cases WHERE id = $1").bind(case.id).fetch_one(&mut conn).await?;
        pile_ons::candidates(&mut conn, case, thread_key.as_deref(), &source, since, near).await
    }

    async fn move_to_private(&self, case_id: i64, template: &str, stamp: Stamp) -> Result<bool, StoreError> {
        let mut tx = self.backend.write().await?;
        let channel: Option<String> =
            query("SELECT channel FROM cases WHERE id = $1").bind(case_id).scalar_optional(&mut tx).await?;
        let channel = channel.ok_or(StoreError::NotFound("case"))?;
        let at = millis(stamp.at);
        // The public line goes out while the case is still public: it is rendered for everyone.
        let moved = query("UPDATE cases SET public = $2, updated_at = $3 WHERE id = $1 AND public = $4")
            .bind(case_id)
            .bind(false)
            .bind(at)
            .bind(true)
            .execute(&mut tx)
            .await?;
        if moved > 0 {
            query(
                "INSERT INTO outbox (case_id, template, channel, status, next_attempt_at, created_at) \
                 VALUES ($1, $2, $3, 'pending', $4, $4)",
            )
            .bind(case_id)
            .bind(template)
            .bind(&channel)
            .bind(at)
            .execute(&mut tx)
            .await?;
            query(
                "INSERT INTO events (case_id, at, actor, action, field, old_value, new_value) \
                 VALUES ($1, $2, $3, 'moved_to_private', 'public', 'true', 'false')",
            )
            .bind(case_id)
            .bind(at)
            .bind(&stamp.actor)
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await?;
        Ok(moved > 0)
    }

    async fn revoke_status_link(&self, case_id: i64, stamp: Stamp) -> Result<bool, StoreError> {
        let mut tx = self.backend.write().await?;
        let revoked =
            query("UPDATE cases SET status_link_revoked_at = $2 WHERE id = $1 AND status_link_revoked_at IS NULL")
                .bind(case_id)
                .bind(millis(stamp.at))
                .execute(&mut tx)
                .await?;
        if revoked > 0 {
            query("INSERT INTO events (case_id, at, actor, action) VALUES ($1, $2, $3, 'status_link_revoked')")
                .bind(case_id)
                .bind(millis(stamp.at))
                .bind(&stamp.actor)
                .execute(&mut tx)
                .await?;
        }
        tx.commit().await?;
        Ok(revoked > 0)
    }

    async fn rate_case(&self, case_id: i64, score: u8, comment: Option<&str>, stamp: Stamp) -> Result<(), StoreError> {
        let mut tx = self.backend.write().await?;
        let inserted = query(
            "INSERT INTO ratings (case_id, score, comment, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (case_id) DO NOTHING",
        )
        .bind(case_id)
        .bind(i64::from(score))
        .bind(comment)
        .bind(millis(stamp.at))
        .execute(&mut tx)
        .await?;
        if inserted == 0 {
            return Err(StoreError::Conflict("the case is rated already".into()));
        }
        query("INSERT INTO events (case_id, at, actor, action, field, new_value) VALUES ($1, $2, $3, 'rated', 'score', $4)")
            .bind(case_id)
            .bind(millis(stamp.at))
            .bind(&stamp.actor)
            .bind(score.to_string())
            .execute(&mut tx)
            .await?;
        tx.commit().await
    }

    async fn rating(&self, case_id: i64) -> Result<Option<(u8, Option<String>)>, StoreError> {
        let row: Option<(i64, Option<String>)> = query("SELECT score, comment FROM ratings WHERE case_id = $1")
            .bind(case_id)
            .fetch_optional(&mut self.backend.read().await?)
            .await?;
        Ok(row.map(|(score, comment)| (u8::try_from(score).unwrap_or(0), comment)))
    }

    async fn previews(&self, case_ids: &[i64], chars: u32) -> Result<Vec<(i64, String)>, StoreError> {
        if case_ids.is_empty() {
            return Ok(Vec::new());
        }
        // Ids are numbers, so they are written into the statement as they are.
        let ids = id_list(case_ids);
        query(format!(
            "SELECT case_id, substr(body, 1, {chars}) FROM messages WHERE id IN \
             (SELECT min(id) FROM messages WHERE case_id IN ({ids}) GROUP BY case_id)"
        ))
        .fetch_all(&mut self.backend.read().await?)
        .await
    }

    async fn last_event_id(&self) -> Result<i64, StoreError> {
        let id: Option<i64> =
            query("SELECT coalesce(max(id), 0) FROM events").scalar_optional(&mut self.backend.read().await?).await?;
        Ok(id.unwrap_or(0))
    }

    async fn set_user_active(&self, username: &str, active: bool) -> Result<UserRecord, StoreError> {
        let mut tx = self.backend.write().await?;
        let id = user_id(&mut tx, username).await?;
        query("UPDATE users SET active = $2 WHERE id = $1").bind(id).bind(active).execute(&mut tx).await?;
        if !active {
            query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut tx).await?;
        }
        let row: UserRow =
            query(format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1")).bind(id).fetch_one(&mut tx).await?;
        tx.commit().await?;
        row.into_record()
    }

    async fn set_password(&self, username: &str, password_hash: &str, keep: Option<&str>) -> Result<(), StoreError> {
        let mut tx = self.backend.write().await?;
        let id = user_id(&mut tx, username).await?;
        query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(id)
            .bind(password_hash)
            .execute(&mut tx)
            .await?;
        query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> coalesce($2, '')")
            .bind(id)
            .bind(keep)
            .execute(&mut tx)
            .await?;
        tx.commit().await
    }

    async fn create_session(
        &self,
        username: &str,
        id_hash: &str,
        csrf_token: &str,
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.backend.write().await?;
        let id = user_id(&mut tx, username).await?;
        query(
            "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id_hash)
        .bind(id)
        .bind(csrf_token)
        .bind(millis(at))
        .bind(millis(expires_at))
        .execute(&mut tx)
        .await?;
        tx.commit().await
    }

    async fn session(&self, id_hash: &str, now: OffsetDateTime) -> Result<Option<SessionRecord>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct SessionRow {
            #[sqlx(flatten)]
            user: UserRow,
            csrf_token: String,
            created_at: i64,
            expires_at: i64,
        }
        let row: Option<SessionRow> = query(format!(
            "SELECT {USER_COLUMNS}, s.csrf_token, s.created_at, s.expires_at FROM sessions s \
             JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1 AND s.expires_at > $2 AND u.active"
        ))
        .bind(id_hash)
        .bind(millis(now))
        .fetch_optional(&mut self.backend.read().await?)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(SessionRecord {
            user: row.user.into_record()?,
            csrf_token: row.csrf_token,
            created_at: from_millis(row.created_at)?,
            expires_at: from_millis(row.expires_at)?,
        }))
    }

    async fn end_session(&self, id_hash: &str) -> Result<bool, StoreError> {
        let mut tx = self.backend.write().await?;
        let ended = query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash).execute(&mut tx).await?;
        tx.commit().await?;
        Ok(ended == 1)
    }

    async fn create_password_link(
        &self,
        username: &str,
        token_hash: &str,
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.backend.write().await?;
        let id = user_id(&mut tx, username).await?;
        query("INSERT INTO password_links (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(id)
            .bind(millis(at))
            .bind(millis(expires_at))
            .execute(&mut tx)
            .await?;
        tx.commit().await
    }

    async fn use_password_link(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<String>, StoreError> {
        let mut tx = self.backend.write().await?;
        // The update is the claim: of two uses at once, one changes the row and the other none.
        let used = query(
            "UPDATE password_links SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(millis(now))
        .execute(&mut tx)
        .await?;
        let username: Option<String> = if used == 1 {
            query("SELECT u.username FROM password_links l JOIN users u ON u.id = l.user_id WHERE l.token_hash = $1")
                .bind(token_hash)
                .scalar_optional(&mut tx)
                .await?
        } else {
            None
        };
        tx.commit().await?;
        Ok(username)
    }

    async fn is_unclaimed(&self) -> Result<bool, StoreError> {
        let count: i64 =
            query("SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM api_tokens WHERE revoked_at IS NULL)")
                .scalar(&mut self.backend.read().await?)
                .await?;
        Ok(count == 0)
    }

    async fn case_state(&self, case_id: i64) -> Result<CaseState, StoreError> {
        let mut conn = self.backend.read().await?;
        let case = case_in::<B, _>(&mut conn, case_id).await?;
        let (open_tasks, pending_compensations, pending_amount) = workflow::counts(&mut conn, case_id).await?;
        Ok(CaseState { case, open_tasks, pending_compensations, pending_amount })
    }

    async fn take_step(&self, case_id: i64, expected_stage: &str, step: &Step, stamp: Stamp) -> Result<(), StoreError> {
        let mut tx = self.backend.write().await?;
        let case = case_in::<B, _>(&mut tx, case_id).await?;
        workflow::take_step(&mut tx, case_id, case.customer_id, expected_stage, step, &stamp).await?;
        tx.commit().await
    }

    async fn case_work(&self, case_id: i64) -> Result<CaseWork, StoreError> {
        workflow::case_work(&mut self.backend.read().await?, case_id).await
    }

    async fn add_task(&self, case_id: i64, task: NewTask, stamp: Stamp) -> Result<Task, StoreError> {
        let mut tx = self.backend.write().await?;
        let id = workflow::add_task(&mut tx, case_id, &task, &stamp).await?;
        let task = workflow::task(&mut tx, id).await?;
        tx.commit().await?;
        Ok(task)
    }

    async fn update_task(&self, task_id: i64, update: TaskUpdate, stamp: Stamp) -> Result<Task, StoreError> {
        let mut tx = self.backend.write().await?;
        workflow::update_task(&mut tx, task_id, &update, &stamp).await?;
        let task = workflow::task(&mut tx, task_id).await?;
        tx.commit().await?;
        Ok(task)
    }

    async fn tasks_for(&self, assignee: &str) -> Result<Vec<Task>, StoreError> {
        workflow::tasks_for(&mut self.backend.read().await?, assignee).await
    }

    async fn clocked_cases(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<ClockedCase>, StoreError> {
        workflow::clocked_cases(&mut self.backend.read().await?, now, limit).await
    }

    async fn set_watch(&self, next: &[crate::Watched]) -> Result<(), StoreError> {
        let mut tx = self.backend.write().await?;
        workflow::set_watch(&mut tx, next).await?;
        tx.commit().await
    }

    async fn mark_deadline(&self, mark: &DeadlineMark, stamp: Stamp) -> Result<bool, StoreError> {
        let mut tx = self.backend.write().await?;
        let recorded = workflow::mark_deadline(&mut tx, mark, &stamp).await?;
        tx.commit().await?;
        Ok(recorded)
    }

    async fn notifications(&self, recipient: &Recipient) -> Result<Vec<Notification>, StoreError> {
        workflow::notifications(&mut self.backend.read().await?, recipient).await
    }

    async fn claim_jobs(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError> {
        let mut tx = self.backend.write().await?;
        let jobs = workflow::claim_jobs(&mut tx, B::DIALECT.claim_lock(), worker, now, lease_until, limit).await?;
        tx.commit().await?;
        Ok(jobs)
    }

    async fn finish_follow_up(&self, job: &Job, worker: &str, stamp: Stamp) -> Result<bool, StoreError> {
        let mut tx = self.backend.write().await?;
        let finished = workflow::finish_follow_up(&mut tx, job, worker, &stamp).await?;
        tx.commit().await?;
        Ok(finished)
    }

    async fn claim_outbox(
        &self,
        worker: &str,
        channels: &[Channel],
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let mut tx = self.backend.write().await?;
        let claimed =
            workflow::claim_outbox(&mut tx, B::DIALECT.claim_lock(), worker, channels, now, lease_until, limit).await?;
        tx.commit().await?;
        Ok(claimed)
    }

    async fn start_sending(
        &self,
        worker: &str,
        ids: &[i64],
        lease_until: OffsetDateTime,
    ) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.backend.write().await?;
        let started = workflow::start_sending(&mut tx, worker, ids, lease_until).await?;
        tx.commit().await?;
        Ok(started)
    }

    async fn record_deliveries(
        &self,
        worker: &str,
        deliveries: &[(i64, Delivery)],
        at: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let mut tx = self.backend.write().await?;
        let mut recorded = 0;
        for (id, delivery) in deliveries {
            recorded += u64::from(workflow::record_delivery(&mut tx, *id, worker, delivery, at).await?);
        }
        tx.commit().await?;
        Ok(recorded)
    }

    async fn settle_interrupted(&self, now: OffsetDateTime) -> Result<Vec<OutboxMessage>, StoreError> {
        let mut tx = self.backend.write().await?;
        let settled = workflow::settle_interrupted(&mut tx, now).await?;
        tx.commit().await?;
        Ok(settled)
    }

    async fn delivery_report(
        &self,
        channel: Channel,
        provider_id: &str,
        delivered: bool,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.backend.write().await?;
        let status = if delivered { OutboxStatus::Delivered } else { OutboxStatus::Failed };
        let changed = query(
            "UPDATE outbox SET status = $1, last_error = coalesce($2, last_error) \
             WHERE channel = $3 AND note = $4 AND status IN ('sent', 'delivered')",
        )
        .bind(status.as_str())
        .bind(error)
        .bind(channel.as_str())
        .bind(provider_id)
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(changed > 0)
    }

    async fn outbox_counts(&self) -> Result<Vec<(Channel, OutboxStatus, i64)>, StoreError> {
        let rows: Vec<(String, String, i64)> =
            query("SELECT channel, status, count(*) FROM outbox GROUP BY channel, status ORDER BY channel, status")
                .fetch_all(&mut self.backend.read().await?)
                .await?;
        rows.into_iter().map(|(channel, status, count)| Ok((word(&channel)?, word(&status)?, count))).collect()
    }

    async fn reply_thread(&self, case_id: i64, channel: Channel) -> Result<ReplyThread, StoreError> {
        let mut conn = self.backend.read().await?;
        let thread: Option<Option<String>> =
            query("SELECT thread_key FROM cases WHERE id = $1").bind(case_id).scalar_optional(&mut conn).await?;
        let thread = thread.ok_or(StoreError::NotFound("case"))?;
        let last_inbound: Option<String> = query(
            "SELECT external_id FROM messages WHERE case_id = $1 AND channel = $2 AND direction = 'inbound' \
             AND external_id IS NOT NULL ORDER BY id DESC LIMIT 1",
        )
        .bind(case_id)
        .bind(channel.as_str())
        .scalar_optional(&mut conn)
        .await?;
        Ok(ReplyThread { thread, last_inbound })
    }

    async fn create_nps_campaign(
        &self,
        name: &str,
        channel: Channel,
        customers: &[i64],
        stamp: Stamp,
    ) -> Result<crate::NpsCampaign, StoreError> {
        let mut tx = self.backend.write().await?;
        let id = nps::create(&mut tx, name, channel, customers, &stamp).await?;
        let campaign = nps::campaign_by_id(&mut tx, id).await?;
        tx.commit().await?;
        Ok(campaign)
    }

    async fn nps_campaigns(&self) -> Result<Vec<crate::NpsCampaign>, StoreError> {
        nps::campaigns(&mut self.backend.read().await?).await
    }

    async fn nps_campaign(&self, id: i64) -> Result<crate::NpsCampaign, StoreError> {
        nps::campaign_by_id(&mut self.backend.read().await?, id).await
    }

    async fn nps_request(&self, id: i64) -> Result<crate::NpsRequest, StoreError> {
        nps::request_by_id(&mut self.backend.read().await?, id).await
    }

    async fn awaiting_nps(
        &self,
        channel: Channel,
        identity: &otklik_core::Identity,
        since: OffsetDateTime,
    ) -> Result<Option<crate::NpsRequest>, StoreError> {
        nps::awaiting(&mut self.backend.read().await?, channel, identity, since).await
    }

    async fn answer_nps(
        &self,
        request_id: i64,
        score: u8,
        answer_ref: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut tx = self.backend.write().await?;
        let answered = nps::answer(&mut tx, request_id, score, answer_ref, at).await?;
        tx.commit().await?;
        Ok(answered)
    }

    async fn chase_overdue_tasks(
        &self,
        today: time::Date,
        now: OffsetDateTime,
        escalate_after: time::Duration,
    ) -> Result<(u32, u32), StoreError> {
        // Most passes find nothing: they read, and write only when there is something to mark.
        if !workflow::overdue_tasks_due(&mut self.backend.read().await?, today, now, escalate_after).await? {
            return Ok((0, 0));
        }
        let mut tx = self.backend.write().await?;
        let chased = workflow::chase_overdue_tasks(&mut tx, today, now, escalate_after).await?;
        tx.commit().await?;
        Ok(chased)
    }

    async fn nps_answered_by(
        &self,
        channel: Channel,
        answer_ref: &str,
    ) -> Result<Option<crate::NpsRequest>, StoreError> {
        nps::answered_by(&mut self.backend.read().await?, channel, answer_ref).await
    }

    async fn notify(
        &self,
        recipient: &Recipient,
        case_id: Option<i64>,
        what: &str,
        body: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.backend.write().await?;
        workflow::notify(&mut tx, recipient, case_id, what, body, millis(at)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_webhook(
        &self,
        url: &str,
        secret: &str,
        events: &[String],
        at: OffsetDateTime,
    ) -> Result<WebhookRecord, StoreError> {
        let mut tx = self.backend.write().await?;
        let created = webhooks::create(&mut tx, url, secret, events, at).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn webhooks(&self) -> Result<Vec<WebhookRecord>, StoreError> {
        webhooks::list(&mut self.backend.read().await?).await
    }

    async fn deactivate_webhook(&self, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.backend.write().await?;
        let changed = webhooks::deactivate(&mut tx, id).await?;
        tx.commit().await?;
        Ok(changed)
    }

    async fn claim_webhooks(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
    ) -> Result<Vec<WebhookRecord>, StoreError> {
        let mut tx = self.backend.write().await?;
        let claimed = webhooks::claim(&mut tx, B::DIALECT.claim_lock(), worker, now, lease_until).await?;
        tx.commit().await?;
        Ok(claimed)
    }

    async fn hook_events(
        &self,
        after: i64,
        settled_before: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<HookEvent>, StoreError> {
        webhooks::events(&mut self.backend.read().await?, after, settled_before, limit).await
    }

    async fn webhook_progress(
        &self,
        id: i64,
        worker: &str,
        cursor: i64,
        delivered: i64,
        failure: Option<(&str, u32, OffsetDateTime)>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.backend.write().await?;
        let recorded = webhooks::progress(&mut tx, id, worker, cursor, delivered, failure).await?;
        tx.commit().await?;
        Ok(recorded)
    }

    async fn put_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let mut tx = self.backend.write().await?;
        query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2")
            .bind(key)
            .bind(value)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_delivery(
        &self,
        message_id: i64,
        worker: &str,
        delivery: &Delivery,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut tx = self.backend.write().await?;
        let recorded = workflow::record_delivery(&mut tx, message_id, worker, delivery, at).await?;
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
        let mut tx = self.backend.write().await?;
        workflow::fail_job(&mut tx, job_id, worker, error, retry_at).await?;
        tx.commit().await
    }
}
