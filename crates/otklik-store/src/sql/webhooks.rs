//! Outbound webhooks: the subscriptions, and the case events each reads from its cursor.

use time::OffsetDateTime;

use super::exec::{Conn, query};
use crate::records::{from_millis, millis};
use crate::{HookEvent, StoreError, WebhookRecord};

const COLUMNS: &str =
    "id, url, secret, events, active, cursor, attempts, next_attempt_at, last_error, delivered, created_at";
type Row = (i64, String, String, String, bool, i64, i64, i64, Option<String>, i64, i64);

fn record(row: Row) -> Result<WebhookRecord, StoreError> {
    Ok(WebhookRecord {
        id: row.0,
        url: row.1,
        secret: row.2,
        events: row.3.split(',').filter(|event| !event.is_empty()).map(str::to_owned).collect(),
        active: row.4,
        cursor: row.5,
        attempts: u32::try_from(row.6).unwrap_or(0),
        next_attempt_at: from_millis(row.7)?,
        last_error: row.8,
        delivered: row.9,
        created_at: from_millis(row.10)?,
    })
}

pub(crate) async fn create<C: Conn + ?Sized>(
    tx: &mut C,
    url: &str,
    secret: &str,
    events: &[String],
    at: OffsetDateTime,
) -> Result<WebhookRecord, StoreError> {
    // A new subscriber hears what happens from now on.
    let cursor: Option<i64> = query("SELECT coalesce(max(id), 0) FROM events").scalar_optional(&mut *tx).await?;
    let row: Row = query(format!(
        "INSERT INTO webhooks (url, secret, events, cursor, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
    ))
    .bind(url)
    .bind(secret)
    .bind(events.join(","))
    .bind(cursor.unwrap_or(0))
    .bind(millis(at))
    .fetch_one(tx)
    .await?;
    record(row)
}

pub(crate) async fn list<C: Conn + ?Sized>(conn: &mut C) -> Result<Vec<WebhookRecord>, StoreError> {
    let rows: Vec<Row> = query(format!("SELECT {COLUMNS} FROM webhooks ORDER BY id")).fetch_all(conn).await?;
    rows.into_iter().map(record).collect()
}

pub(crate) async fn deactivate<C: Conn + ?Sized>(tx: &mut C, id: i64) -> Result<bool, StoreError> {
    let changed = query("UPDATE webhooks SET active = $2 WHERE id = $1 AND active = $3")
        .bind(id)
        .bind(false)
        .bind(true)
        .execute(tx)
        .await?;
    Ok(changed == 1)
}

pub(crate) async fn claim<C: Conn + ?Sized>(
    tx: &mut C,
    claim_lock: &str,
    worker: &str,
    now: OffsetDateTime,
    lease_until: OffsetDateTime,
) -> Result<Vec<WebhookRecord>, StoreError> {
    let rows: Vec<Row> = query(format!(
        "UPDATE webhooks SET locked_by = $1, lease_until = $2 WHERE id IN (SELECT id FROM webhooks \
         WHERE active = $4 AND next_attempt_at <= $3 AND lease_until <= $3 ORDER BY id{claim_lock}) \
         AND lease_until <= $3 RETURNING {COLUMNS}"
    ))
    .bind(worker)
    .bind(millis(lease_until))
    .bind(millis(now))
    .bind(true)
    .fetch_all(tx)
    .await?;
    rows.into_iter().map(record).collect()
}

pub(crate) async fn events<C: Conn + ?Sized>(
    conn: &mut C,
    after: i64,
    settled_before: OffsetDateTime,
    limit: u32,
) -> Result<Vec<HookEvent>, StoreError> {
    type EventRow = (i64, i64, i64, String, Option<String>, Option<String>, Option<String>, Option<i64>);
    let rows: Vec<EventRow> = query(
        "SELECT e.id, e.case_id, e.at, e.action, e.field, e.old_value, e.new_value, c.resolved_at \
         FROM events e JOIN cases c ON c.id = e.case_id \
         WHERE e.id > $1 AND e.at < $2 AND e.action IN ('created', 'step', 'rated') ORDER BY e.id LIMIT $3",
    )
    .bind(after)
    .bind(millis(settled_before))
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(id, case_id, at, action, field, old_value, new_value, resolved_at)| {
            let name = match action.as_str() {
                "created" => "case.created",
                "rated" => "case.rated",
                // The step that resolved the case carries its resolution time.
                _ if resolved_at == Some(at) => "case.resolved",
                _ => "case.step",
            };
            Ok(HookEvent {
                id,
                case_id,
                at: from_millis(at)?,
                event: name,
                action: if action == "step" { field } else { None },
                from: old_value,
                to: new_value,
            })
        })
        .collect()
}

/// Where a subscriber got to: its cursor, and its failures (none: it is up to date).
pub(crate) async fn progress<C: Conn + ?Sized>(
    tx: &mut C,
    id: i64,
    worker: &str,
    cursor: i64,
    delivered: i64,
    failure: Option<(&str, u32, OffsetDateTime)>,
) -> Result<bool, StoreError> {
    let (error, attempts, next) = match failure {
        Some((error, attempts, next)) => (Some(error), i64::from(attempts), millis(next)),
        None => (None, 0, 0),
    };
    let changed = query(
        "UPDATE webhooks SET cursor = $3, delivered = delivered + $4, attempts = $5, next_attempt_at = $6, \
         last_error = coalesce($7, last_error), locked_by = NULL, lease_until = 0 WHERE id = $1 AND locked_by = $2",
    )
    .bind(id)
    .bind(worker)
    .bind(cursor)
    .bind(delivered)
    .bind(attempts)
    .bind(next)
    .bind(error)
    .execute(tx)
    .await?;
    Ok(changed == 1)
}
