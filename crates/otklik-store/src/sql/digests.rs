//! The weekly digest: recorded once per week (the first node to insert the week wins), with an
//! e-mail per person through the outbox and a notification in each one's workspace; and the
//! cases worth a manager's reading.

use otklik_core::{Channel, OutboxStatus};
use time::{Date, OffsetDateTime};

use super::exec::{Conn, query};
use super::workflow;
use crate::records::{from_millis, millis};
use crate::{DigestLetter, DigestRecord, Recipient, StoreError};

/// The template key of a digest's e-mail.
pub(crate) const TEMPLATE: &str = "digest.weekly";

pub(crate) async fn recorded<C: Conn + ?Sized>(conn: &mut C, from: Date) -> Result<bool, StoreError> {
    let found: Option<i64> =
        query("SELECT id FROM digests WHERE period_from = $1").bind(from.to_string()).scalar_optional(conn).await?;
    Ok(found.is_some())
}

/// Records the week's digest and queues its letters and notices; `None` when the week's digest
/// was recorded already (by another node, say), and then nothing is queued.
pub(crate) async fn record<C: Conn + ?Sized>(
    tx: &mut C,
    from: Date,
    to: Date,
    letters: &[DigestLetter],
    at: OffsetDateTime,
) -> Result<Option<i64>, StoreError> {
    let at = millis(at);
    let id: Option<i64> = query(
        "INSERT INTO digests (period_from, period_to, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (period_from) DO NOTHING RETURNING id",
    )
    .bind(from.to_string())
    .bind(to.to_string())
    .bind(at)
    .scalar_optional(&mut *tx)
    .await?;
    let Some(id) = id else { return Ok(None) };
    for letter in letters {
        if letter.email {
            query(
                "INSERT INTO outbox (digest_id, user_id, template, channel, body, status, next_attempt_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
            )
            .bind(id)
            .bind(letter.user_id)
            .bind(TEMPLATE)
            .bind(Channel::Email.as_str())
            .bind(&letter.body)
            .bind(OutboxStatus::Pending.as_str())
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        workflow::notify(
            &mut *tx,
            &Recipient::User(letter.username.clone()),
            None,
            "weekly_digest",
            &letter.notice,
            at,
        )
        .await?;
    }
    Ok(Some(id))
}

pub(crate) async fn get<C: Conn + ?Sized>(conn: &mut C, id: i64) -> Result<DigestRecord, StoreError> {
    let row: Option<(i64, String, String, i64)> =
        query("SELECT id, period_from, period_to, created_at FROM digests WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    let (id, from, to, created_at) = row.ok_or(StoreError::NotFound("digest"))?;
    let day = |text: &str| {
        Date::parse(text, &time::format_description::well_known::Iso8601::DATE)
            .map_err(|error| StoreError::Internal(format!("a digest's day `{text}`: {error}")))
    };
    Ok(DigestRecord { id, from: day(&from)?, to: day(&to)?, created_at: from_millis(created_at)? })
}

/// A case's breached clocks, its lowest rating and the words it began with.
pub(crate) const WHY_WORTH_READING: &str = "SELECT \
     (SELECT count(*) FROM deadline_marks m WHERE m.case_id = $1 AND m.state = 'breached'), \
     (SELECT CAST(min(r.score) AS BIGINT) FROM ratings r WHERE r.case_id = $1), \
     (SELECT body FROM messages WHERE case_id = $1 ORDER BY id LIMIT 1)";

/// The order of the cases worth reading: the most clocks breached, then the most urgent, then
/// the lowest rating, then the newest. Hidden and linked cases are left out.
pub(crate) const WORTH_READING: &str = "WHERE c.created_at >= $1 AND c.created_at < $2 AND c.kind = 'complaint' \
     AND NOT c.hidden AND c.parent_id IS NULL \
     ORDER BY (SELECT count(*) FROM deadline_marks m WHERE m.case_id = c.id AND m.state = 'breached') DESC, \
     (CASE c.priority WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 WHEN 'normal' THEN 1 ELSE 0 END) DESC, \
     coalesce((SELECT min(r.score) FROM ratings r WHERE r.case_id = c.id), 6), c.id DESC LIMIT $3";
