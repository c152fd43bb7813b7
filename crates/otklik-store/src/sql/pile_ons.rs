//! Friends pile on: comments on one public incident linked to one parent case. A linked case
//! keeps its own customer and messages; it has no clock of its own (the parent's answer is the
//! brand's answer to all), and closing the parent closes it (the application layer does that,
//! through the usual status change, so each gets its event).

use otklik_core::Case;
use time::OffsetDateTime;

use super::Dialect;
use super::exec::{Conn, query};
use crate::records::millis;
use crate::{PileOnCandidate, Stamp, StoreError};

/// Links `case_id` to `parent` (`Some`) or unlinks it (`None`), with an event on both cases.
/// A parent is never itself linked, and a case others are linked to cannot be linked: the
/// incident has one parent.
pub(crate) async fn link<C: Conn + ?Sized>(
    tx: &mut C,
    dialect: Dialect,
    case_id: i64,
    parent: Option<(i64, String)>,
    reference: &str,
    stamp: &Stamp,
) -> Result<bool, StoreError> {
    // Both rows locked, in id order, before anything is read: on PostgreSQL two nodes linking
    // at once (B to A while A to X) then take turns, and the second sees the first's link.
    let parent_id = parent.as_ref().map_or(case_id, |(id, _)| *id);
    let _: Vec<(i64,)> = query(format!("SELECT id FROM cases WHERE id IN ($1, $2) ORDER BY id{}", dialect.row_lock()))
        .bind(case_id)
        .bind(parent_id)
        .fetch_all(&mut *tx)
        .await?;
    let current: Option<Option<i64>> =
        query("SELECT parent_id FROM cases WHERE id = $1").bind(case_id).scalar_optional(&mut *tx).await?;
    let current = current.ok_or(StoreError::NotFound("case"))?;
    let at = millis(stamp.at);
    let event = |case: i64, action: &'static str, value: String| {
        query(
            "INSERT INTO events (case_id, at, actor, action, field, old_value, new_value) \
             VALUES ($1, $2, $3, $4, 'parent', NULL, $5)",
        )
        .bind(case)
        .bind(at)
        .bind(stamp.actor.clone())
        .bind(action)
        .bind(value)
    };
    let Some((parent, parent_reference)) = parent else {
        let Some(old) = current else { return Ok(false) };
        query("UPDATE cases SET parent_id = NULL, watch_at = NULL, updated_at = $2 WHERE id = $1")
            .bind(case_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        event(case_id, "unlinked", String::new()).execute(&mut *tx).await?;
        event(old, "pile_on_unlinked", reference.to_owned()).execute(&mut *tx).await?;
        return Ok(true);
    };
    if current == Some(parent) {
        return Ok(false);
    }
    if parent == case_id {
        return Err(StoreError::Conflict("a case cannot be linked to itself".into()));
    }
    if current.is_some() {
        return Err(StoreError::Conflict("the case is linked to another parent already: unlink it first".into()));
    }
    let grandparent: Option<Option<i64>> =
        query("SELECT parent_id FROM cases WHERE id = $1").bind(parent).scalar_optional(&mut *tx).await?;
    match grandparent {
        None => return Err(StoreError::NotFound("parent case")),
        Some(Some(_)) => {
            return Err(StoreError::Conflict(format!(
                "{parent_reference} is itself linked to a parent: link to that one"
            )));
        }
        Some(None) => {}
    }
    let children: Option<i64> =
        query("SELECT id FROM cases WHERE parent_id = $1 LIMIT 1").bind(case_id).scalar_optional(&mut *tx).await?;
    if children.is_some() {
        return Err(StoreError::Conflict("other cases are linked to this one: it is a parent".into()));
    }
    // No clock of its own: the deadline watch looks again and finds it linked.
    query("UPDATE cases SET parent_id = $2, watch_at = NULL, updated_at = $3 WHERE id = $1")
        .bind(case_id)
        .bind(parent)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    event(case_id, "linked", parent_reference).execute(&mut *tx).await?;
    event(parent, "pile_on", reference.to_owned()).execute(&mut *tx).await?;
    Ok(true)
}

/// Open cases another public case may pile on to: those under the same post (their thread
/// keys share the part before `#author`) since `since`, and public ones at the same location
/// since `near`, with the text each began with.
pub(crate) async fn candidates<C: Conn + ?Sized>(
    conn: &mut C,
    case: &Case,
    thread_key: Option<&str>,
    source: &str,
    since: OffsetDateTime,
    near: OffsetDateTime,
) -> Result<Vec<PileOnCandidate>, StoreError> {
    const LIMIT: i64 = 50;
    let mut found = Vec::new();
    let base = "SELECT c.id, m.body FROM cases c \
         JOIN messages m ON m.id = (SELECT min(id) FROM messages WHERE case_id = c.id) \
         WHERE c.id <> $1 AND c.resolved_at IS NULL AND c.public AND NOT c.hidden AND c.parent_id IS NULL \
         AND c.created_at >= $2";
    if let Some(place) = thread_key.and_then(|key| key.rsplit_once('#')).map(|(place, _)| format!("{place}#")) {
        let rows: Vec<(i64, String)> = query(format!(
            "{base} AND c.source = $3 AND c.channel = $4 AND substr(c.thread_key, 1, CAST($5 AS INTEGER)) = $6 ORDER BY c.id LIMIT $7"
        ))
        .bind(case.id)
        .bind(millis(since))
        .bind(source)
        .bind(case.channel.as_str())
        .bind(place.chars().count() as i64)
        .bind(&place)
        .bind(LIMIT)
        .fetch_all(&mut *conn)
        .await?;
        found.extend(rows.into_iter().map(|(case_id, text)| PileOnCandidate { case_id, same_place: true, text }));
    }
    if let Some(location) = &case.location {
        // The newest first: only the last few hours count at one location.
        let rows: Vec<(i64, String)> = query(format!("{base} AND c.location = $3 ORDER BY c.id DESC LIMIT $4"))
            .bind(case.id)
            .bind(millis(near))
            .bind(location)
            .bind(LIMIT)
            .fetch_all(&mut *conn)
            .await?;
        for (case_id, text) in rows {
            if !found.iter().any(|candidate: &PileOnCandidate| candidate.case_id == case_id) {
                found.push(PileOnCandidate { case_id, same_place: false, text });
            }
        }
    }
    Ok(found)
}
