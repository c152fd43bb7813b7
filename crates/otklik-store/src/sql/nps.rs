//! NPS campaigns: the requests sent to a chosen list of customers, each through the outbox, and
//! the answers they give.

use otklik_core::{Channel, Identity, OutboxStatus};
use time::OffsetDateTime;

use super::exec::{Conn, query};
use super::workflow::optional_time;
use crate::records::{from_millis, millis, word};
use crate::{NpsCampaign, NpsRequest, Stamp, StoreError};

/// The template an NPS request's message is rendered from.
pub const TEMPLATE: &str = "nps.request";

type CampaignRow = (i64, String, String, String, i64, i64, i64, i64, i64, i64, i64);

/// A campaign with its tallies, counted from its requests and their messages.
const CAMPAIGN: &str = "SELECT c.id, c.name, c.channel, c.created_by, c.created_at, \
     count(r.id), \
     count(CASE WHEN o.status IN ('sent', 'delivered') THEN 1 END), \
     count(CASE WHEN o.status = 'failed' THEN 1 END), \
     count(CASE WHEN r.score >= 9 THEN 1 END), \
     count(CASE WHEN r.score BETWEEN 7 AND 8 THEN 1 END), \
     count(CASE WHEN r.score <= 6 THEN 1 END) \
     FROM nps_campaigns c LEFT JOIN nps_requests r ON r.campaign_id = c.id \
     LEFT JOIN outbox o ON o.survey_id = r.id";

fn campaign(row: CampaignRow) -> Result<NpsCampaign, StoreError> {
    Ok(NpsCampaign {
        id: row.0,
        name: row.1,
        channel: word(&row.2)?,
        created_by: row.3,
        created_at: from_millis(row.4)?,
        requested: row.5,
        sent: row.6,
        failed: row.7,
        promoters: row.8,
        passives: row.9,
        detractors: row.10,
    })
}

type RequestRow = (i64, i64, i64, String, Option<i64>, Option<i64>);
const REQUEST: &str = "SELECT r.id, r.campaign_id, r.customer_id, r.channel, r.score, o.sent_at \
                       FROM nps_requests r LEFT JOIN outbox o ON o.survey_id = r.id";

fn request(row: RequestRow) -> Result<NpsRequest, StoreError> {
    Ok(NpsRequest {
        id: row.0,
        campaign_id: row.1,
        customer_id: row.2,
        channel: word(&row.3)?,
        score: row.4.and_then(|score| u8::try_from(score).ok()),
        sent_at: optional_time(row.5)?,
    })
}

pub(crate) async fn create<C: Conn + ?Sized>(
    tx: &mut C,
    name: &str,
    channel: Channel,
    customers: &[i64],
    stamp: &Stamp,
) -> Result<i64, StoreError> {
    let at = millis(stamp.at);
    let id: i64 =
        query("INSERT INTO nps_campaigns (name, channel, created_by, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(name)
            .bind(channel.as_str())
            .bind(&stamp.actor)
            .bind(at)
            .scalar(&mut *tx)
            .await?;
    let mut asked = std::collections::HashSet::new();
    for customer in customers {
        if !asked.insert(*customer) {
            continue;
        }
        let request: i64 = query(
            "INSERT INTO nps_requests (campaign_id, customer_id, channel, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id",
        )
        .bind(id)
        .bind(*customer)
        .bind(channel.as_str())
        .bind(at)
        .scalar(&mut *tx)
        .await?;
        query(
            "INSERT INTO outbox (survey_id, template, channel, status, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(request)
        .bind(TEMPLATE)
        .bind(channel.as_str())
        .bind(OutboxStatus::Pending.as_str())
        .bind(at)
        .execute(&mut *tx)
        .await?;
    }
    Ok(id)
}

pub(crate) async fn campaigns<C: Conn + ?Sized>(conn: &mut C) -> Result<Vec<NpsCampaign>, StoreError> {
    let rows: Vec<CampaignRow> =
        query(format!("{CAMPAIGN} GROUP BY c.id, c.name, c.channel, c.created_by, c.created_at ORDER BY c.id DESC"))
            .fetch_all(conn)
            .await?;
    rows.into_iter().map(campaign).collect()
}

pub(crate) async fn campaign_by_id<C: Conn + ?Sized>(conn: &mut C, id: i64) -> Result<NpsCampaign, StoreError> {
    let row: Option<CampaignRow> =
        query(format!("{CAMPAIGN} WHERE c.id = $1 GROUP BY c.id, c.name, c.channel, c.created_by, c.created_at"))
            .bind(id)
            .fetch_optional(conn)
            .await?;
    campaign(row.ok_or(StoreError::NotFound("NPS campaign"))?)
}

pub(crate) async fn request_by_id<C: Conn + ?Sized>(conn: &mut C, id: i64) -> Result<NpsRequest, StoreError> {
    let row: Option<RequestRow> = query(format!("{REQUEST} WHERE r.id = $1")).bind(id).fetch_optional(conn).await?;
    request(row.ok_or(StoreError::NotFound("NPS request"))?)
}

pub(crate) async fn awaiting<C: Conn + ?Sized>(
    conn: &mut C,
    channel: Channel,
    identity: &Identity,
    since: OffsetDateTime,
) -> Result<Option<NpsRequest>, StoreError> {
    let row: Option<RequestRow> = query(format!(
        "{REQUEST} JOIN customer_identities i ON i.customer_id = r.customer_id \
         WHERE i.kind = $1 AND i.value = $2 AND r.channel = $3 AND r.answered_at IS NULL \
         AND o.status IN ('sent', 'delivered') AND o.sent_at >= $4 ORDER BY o.sent_at DESC, r.id DESC LIMIT 1"
    ))
    .bind(identity.kind.as_str())
    .bind(&identity.value)
    .bind(channel.as_str())
    .bind(millis(since))
    .fetch_optional(conn)
    .await?;
    row.map(request).transpose()
}

pub(crate) async fn answer<C: Conn + ?Sized>(
    tx: &mut C,
    request_id: i64,
    score: u8,
    answer_ref: Option<&str>,
    at: OffsetDateTime,
) -> Result<bool, StoreError> {
    let changed = query(
        "UPDATE nps_requests SET score = $1, answered_at = $2, answer_ref = $4 WHERE id = $3 AND answered_at IS NULL",
    )
    .bind(i64::from(score))
    .bind(millis(at))
    .bind(request_id)
    .bind(answer_ref)
    .execute(tx)
    .await?;
    Ok(changed == 1)
}

pub(crate) async fn answered_by<C: Conn + ?Sized>(
    conn: &mut C,
    channel: Channel,
    answer_ref: &str,
) -> Result<Option<NpsRequest>, StoreError> {
    let row: Option<RequestRow> = query(format!("{REQUEST} WHERE r.channel = $1 AND r.answer_ref = $2"))
        .bind(channel.as_str())
        .bind(answer_ref)
        .fetch_optional(conn)
        .await?;
    row.map(request).transpose()
}

/// A merged customer's requests go with them, except one of a campaign the kept record was
/// asked in as well (a customer is asked once per campaign).
pub(crate) async fn merge<C: Conn + ?Sized>(tx: &mut C, into: i64, from: i64) -> Result<(), StoreError> {
    query(
        "UPDATE nps_requests SET customer_id = $1 WHERE customer_id = $2 \
         AND campaign_id NOT IN (SELECT campaign_id FROM nps_requests WHERE customer_id = $1)",
    )
    .bind(into)
    .bind(from)
    .execute(tx)
    .await?;
    Ok(())
}
