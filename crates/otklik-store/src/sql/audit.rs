//! A history no one can rewrite unnoticed: each case's events are hash-chained. The clock work
//! seals events a few seconds after they are written (every node may; one at a time), and
//! `verify` walks every chain and names the first event that does not match.
//!
//! An event's old and new values may hold a customer's personal data, so the chain covers them
//! through `values_digest`, the SHA-256 of a random salt and the two values. Erasing a
//! customer's data replaces the values and marks the event `erased_at`; its `values_digest` is
//! kept, so the chain still verifies, and an erased event must hold only what erasure writes.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::Dialect;
use super::exec::{Conn, query};
use crate::records::millis;
use crate::{AuditReport, StoreError};

/// What erasure leaves of a value.
pub(crate) const ERASED: &str = "[erased]";

type EventRow = (
    i64,
    i64,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
);
const EVENT_COLUMNS: &str = "id, case_id, at, actor, action, field, old_value, new_value, salt, values_digest, \
                             prev_digest, digest, erased_at";

/// Bytes as lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn feed(hasher: &mut Sha256, value: Option<&str>) {
    match value {
        None => hasher.update([0]),
        Some(text) => {
            hasher.update([1]);
            hasher.update((text.len() as u64).to_be_bytes());
            hasher.update(text.as_bytes());
        }
    }
}

/// The digest of an event's values under its salt.
pub(crate) fn values_digest(salt: &str, old: Option<&str>, new: Option<&str>) -> String {
    let mut hasher = Sha256::new();
    feed(&mut hasher, Some(salt));
    feed(&mut hasher, old);
    feed(&mut hasher, new);
    hex(&hasher.finalize())
}

/// The digest of an event in its chain.
fn event_digest(prev: &str, row: &EventRow, values: &str) -> String {
    let mut hasher = Sha256::new();
    feed(&mut hasher, Some(prev));
    hasher.update(row.0.to_be_bytes());
    hasher.update(row.1.to_be_bytes());
    hasher.update(row.2.to_be_bytes());
    feed(&mut hasher, Some(&row.3));
    feed(&mut hasher, Some(&row.4));
    feed(&mut hasher, row.5.as_deref());
    feed(&mut hasher, Some(values));
    hex(&hasher.finalize())
}

/// Seals up to `limit` events written before `before`, oldest first, each onto its case's chain.
/// Returns how many it sealed. On PostgreSQL one node seals at a time (the others skip).
pub(crate) async fn seal<C: Conn + ?Sized>(
    tx: &mut C,
    dialect: Dialect,
    before: OffsetDateTime,
    limit: u32,
) -> Result<u64, StoreError> {
    if dialect == Dialect::Postgres {
        let mine: bool = query("SELECT pg_try_advisory_xact_lock(7384201)").scalar(&mut *tx).await?;
        if !mine {
            return Ok(0);
        }
    }
    let rows: Vec<EventRow> =
        query(format!("SELECT {EVENT_COLUMNS} FROM events WHERE digest IS NULL AND at < $1 ORDER BY id LIMIT $2"))
            .bind(millis(before))
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
    let mut sealed = 0;
    let mut last: std::collections::HashMap<i64, String> = std::collections::HashMap::new();
    for row in rows {
        let prev = match last.get(&row.1) {
            Some(prev) => prev.clone(),
            None => {
                let prev: Option<Option<String>> =
                    query("SELECT digest FROM events WHERE case_id = $1 AND id < $2 ORDER BY id DESC LIMIT 1")
                        .bind(row.1)
                        .bind(row.0)
                        .scalar_optional(&mut *tx)
                        .await?;
                match prev {
                    None => String::new(),
                    Some(Some(prev)) => prev,
                    // An earlier event of the case is not sealed yet (written later with a
                    // lower id): it is sealed first, at the next pass.
                    Some(None) => continue,
                }
            }
        };
        let salt = hex(&rand::random::<[u8; 16]>());
        let values = values_digest(&salt, row.6.as_deref(), row.7.as_deref());
        let digest = event_digest(&prev, &row, &values);
        let updated = query(
            "UPDATE events SET salt = $1, values_digest = $2, prev_digest = $3, digest = $4 WHERE id = $5 AND digest IS NULL",
        )
        .bind(&salt)
        .bind(&values)
        .bind(&prev)
        .bind(&digest)
        .bind(row.0)
        .execute(&mut *tx)
        .await?;
        if updated == 1 {
            last.insert(row.1, digest);
            sealed += 1;
        } else {
            // Sealed meanwhile: the rest of this case waits for the next pass.
            last.remove(&row.1);
        }
    }
    Ok(sealed)
}

/// Walks every case's chain (in pages, by case and id) and reports the first event that does
/// not match: a changed, removed or inserted event, or an erased one that holds more than
/// erasure writes.
pub(crate) async fn verify<C: Conn + ?Sized>(conn: &mut C) -> Result<AuditReport, StoreError> {
    let mut report = AuditReport::default();
    let (mut after_case, mut after_id) = (i64::MIN, i64::MIN);
    // One case's events at a time (a case may span pages).
    let mut events: Vec<EventRow> = Vec::new();
    loop {
        let rows: Vec<EventRow> = query(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE (case_id, id) > ($1, $2) ORDER BY case_id, id LIMIT 5000"
        ))
        .bind(after_case)
        .bind(after_id)
        .fetch_all(&mut *conn)
        .await?;
        let Some(last) = rows.last() else { break };
        (after_case, after_id) = (last.1, last.0);
        for row in rows {
            if events.last().is_some_and(|previous| previous.1 != row.1) {
                check_case(&std::mem::take(&mut events), &mut report);
            }
            events.push(row);
        }
    }
    if !events.is_empty() {
        check_case(&events, &mut report);
    }
    Ok(report)
}

/// Walks one case's chain.
fn check_case(events: &[EventRow], report: &mut AuditReport) {
    report.cases += 1;
    report.events += events.len() as u64;
    let erasures: Vec<i64> = events.iter().filter(|e| e.4 == "personal_data_erased").map(|e| e.2).collect();
    let mut prev = String::new();
    let mut unsealed = false;
    for (n, row) in events.iter().enumerate() {
        let problem = match (&row.11, unsealed) {
            (None, _) => {
                // Not sealed yet: nothing after it may be.
                unsealed = true;
                report.unsealed += 1;
                continue;
            }
            (Some(_), true) => Some("sealed after an event that is not (that event's seal was removed)".to_owned()),
            (Some(digest), false) => check(row, &prev, digest, &erasures),
        };
        if let Some(problem) = problem {
            if report.first_mismatch.is_none() {
                report.first_mismatch = Some((row.1, row.0, problem));
            }
            report.mismatched_cases += 1;
            report.unsealed += events[n + 1..].iter().filter(|e| e.11.is_none()).count() as u64;
            return;
        }
        report.sealed += 1;
        prev = row.11.clone().unwrap_or_default();
    }
}

/// What is wrong with a sealed event, if anything.
fn check(row: &EventRow, prev: &str, digest: &str, erasures: &[i64]) -> Option<String> {
    let Some(values) = row.9.as_deref() else {
        return Some("sealed without its values' digest".into());
    };
    if row.10.as_deref() != Some(prev) {
        return Some("does not follow the event before it (one was removed, inserted or changed)".into());
    }
    if let Some(erased_at) = row.12 {
        let erased = |value: &Option<String>| value.as_deref().is_none_or(|v| v == ERASED);
        if !(erased(&row.6) && erased(&row.7)) {
            return Some("marked erased but holds values".into());
        }
        // An erasure is itself an event of the case, sealed like the others.
        if !erasures.contains(&erased_at) {
            return Some("marked erased with no erasure recorded after it".into());
        }
    } else {
        let Some(salt) = row.8.as_deref() else { return Some("sealed without its salt".into()) };
        if values_digest(salt, row.6.as_deref(), row.7.as_deref()) != values {
            return Some("its old or new value was changed".into());
        }
    }
    if event_digest(prev, row, values) != digest {
        return Some("its time, actor, action or field was changed".into());
    }
    None
}
