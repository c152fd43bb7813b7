//! Erasing a customer's personal data: their name and identities, and every place their words or
//! contacts were copied to (messages, subjects, tasks, ratings, compensation notes, outbox
//! words, notifications, attachments, events, the search index) become a placeholder. Cases,
//! kinds, statuses, times and figures stay, so reports count the same. Who erased and when is
//! kept on the customer record, in its history and in each case's.

use otklik_core::text::redact;
use time::OffsetDateTime;

use super::audit::{ERASED, hex};
use super::exec::{Conn, query};
use super::{Dialect, id_list};
use crate::records::{index_terms, millis};
use crate::{Erased, Stamp, StoreError};

/// What to look for: names, addresses and handles, and phone numbers.
struct Needles {
    words: Vec<String>,
    phones: Vec<String>,
}

impl Needles {
    fn redact(&self, text: &str) -> String {
        redact(text, &self.words, &self.phones, ERASED)
    }
}

/// A customer retention may erase (`c`, with `$1` the time every case must have been closed
/// before): not erased yet, not merged into another, with cases, all resolved or closed then.
pub(crate) const FORGETTABLE: &str = "c.erased_at IS NULL AND c.merged_into IS NULL \
     AND EXISTS (SELECT 1 FROM cases k WHERE k.customer_id = c.id) \
     AND NOT EXISTS (SELECT 1 FROM cases k WHERE k.customer_id = c.id \
         AND (k.status NOT IN ('resolved', 'closed') OR k.updated_at >= $1))";

pub(crate) async fn erase<C: Conn + ?Sized>(
    tx: &mut C,
    dialect: Dialect,
    id: i64,
    stamp: &Stamp,
    closed_before: Option<OffsetDateTime>,
) -> Result<Erased, StoreError> {
    // The customer's row is locked first: on PostgreSQL two erasures of one customer take turns.
    let merged: Option<Option<i64>> =
        query(format!("SELECT merged_into FROM customers WHERE id = $1{}", dialect.row_lock()))
            .bind(id)
            .scalar_optional(&mut *tx)
            .await?;
    match merged {
        None => return Err(StoreError::NotFound("customer")),
        Some(Some(into)) => {
            return Err(StoreError::Conflict(format!(
                "customer {id} was merged into customer {into}: erase that one (it erases this too)"
            )));
        }
        Some(None) => {}
    }
    if let Some(before) = closed_before {
        // Retention asks again under the lock: another node may have erased them meanwhile,
        // or they may have written again.
        let still: Option<i64> = query(format!("SELECT c.id FROM customers c WHERE {FORGETTABLE} AND c.id = $2"))
            .bind(millis(before))
            .bind(id)
            .scalar_optional(&mut *tx)
            .await?;
        if still.is_none() {
            return Ok(Erased::default());
        }
    }
    // The customer and the records merged into it.
    let mut customers = vec![id];
    let mut frontier = vec![id];
    while !frontier.is_empty() {
        let more: Vec<(i64,)> =
            query(format!("SELECT id FROM customers WHERE merged_into IN ({})", id_list(&frontier)))
                .fetch_all(&mut *tx)
                .await?;
        frontier = more.into_iter().map(|(id,)| id).filter(|id| !customers.contains(id)).collect();
        customers.extend(&frontier);
    }
    let who = id_list(&customers);
    let names: Vec<(Option<String>,)> =
        query(format!("SELECT name FROM customers WHERE id IN ({who})")).fetch_all(&mut *tx).await?;
    // Identities erased before (`erased-…`) are placeholders already.
    let identities: Vec<(String, String, i64)> = query(format!(
        "SELECT kind, value, customer_id FROM customer_identities WHERE customer_id IN ({who}) \
         AND value NOT LIKE 'erased-%'"
    ))
    .fetch_all(&mut *tx)
    .await?;
    // Names they had before (a change of name keeps the old one in the record's history).
    let past: Vec<(Option<String>, Option<String>)> = query(format!(
        "SELECT old_value, new_value FROM customer_events WHERE customer_id IN ({who}) AND field = 'name'"
    ))
    .fetch_all(&mut *tx)
    .await?;
    let past = past.into_iter().flat_map(|(old, new)| [old, new]).flatten().filter(|name| name != ERASED);
    let mut words = Vec::new();
    for name in names.into_iter().filter_map(|(name,)| name).chain(past) {
        words.extend(name.split_whitespace().map(str::to_owned));
        words.push(name);
    }
    let mut phones = Vec::new();
    for (kind, value, _) in &identities {
        if kind == "phone" {
            phones.push(value.clone());
        } else {
            // A handle is stored as `site:name`; people write `@name` or `name`.
            let bare = value.rsplit(':').next().unwrap_or(value).trim_start_matches('@');
            words.extend([value.clone(), bare.to_owned(), format!("@{bare}")]);
        }
    }
    // The longest first, so a full name is replaced whole.
    words.sort_by_key(|word| std::cmp::Reverse(word.chars().count()));
    words.dedup();
    let needles = Needles { words, phones };
    let cases: Vec<(i64,)> =
        query(format!("SELECT id FROM cases WHERE customer_id IN ({who}) ORDER BY id")).fetch_all(&mut *tx).await?;
    let cases: Vec<i64> = cases.into_iter().map(|(id,)| id).collect();
    let mut values = 0u64;
    if !cases.is_empty() {
        let of_cases = id_list(&cases);
        for (table, key, column, scope) in [
            ("messages", "id", "body", format!("case_id IN ({of_cases})")),
            ("cases", "id", "subject", format!("id IN ({of_cases})")),
            ("tasks", "id", "title", format!("case_id IN ({of_cases})")),
            ("task_comments", "id", "body", format!("task_id IN (SELECT id FROM tasks WHERE case_id IN ({of_cases}))")),
            ("ratings", "case_id", "comment", format!("case_id IN ({of_cases})")),
            ("compensations", "id", "description", format!("case_id IN ({of_cases})")),
            ("outbox", "id", "body", format!("case_id IN ({of_cases})")),
            ("outbox", "id", "last_error", format!("case_id IN ({of_cases})")),
            ("notifications", "id", "body", format!("case_id IN ({of_cases})")),
        ] {
            values += redact_column(tx, table, key, column, &scope, &needles).await?;
        }
        // Their ids at the source name them too (a phone number, a chat id, a handle).
        query(format!("UPDATE cases SET thread_key = NULL, external_id = NULL WHERE id IN ({of_cases})"))
            .execute(&mut *tx)
            .await?;
        query(format!("UPDATE messages SET external_id = NULL WHERE case_id IN ({of_cases})"))
            .execute(&mut *tx)
            .await?;
        // A referral's contact is another person's: it goes whole.
        values += query(format!(
            "UPDATE opportunities SET lead_contact = $1 WHERE case_id IN ({of_cases}) AND lead_contact IS NOT NULL"
        ))
        .bind(ERASED)
        .execute(&mut *tx)
        .await?;
        values += query(format!(
            "UPDATE attachments SET name = 'erased-' || CAST(id AS TEXT), content = $1 WHERE case_id IN ({of_cases})"
        ))
        .bind(Vec::<u8>::new())
        .execute(&mut *tx)
        .await?;
        values += erase_event_values(tx, "events", &format!("case_id IN ({of_cases})"), &needles, Some(stamp)).await?;
        // The search index is rebuilt from what is left.
        for case in &cases {
            let subject: Option<Option<String>> =
                query("SELECT subject FROM cases WHERE id = $1").bind(*case).scalar_optional(&mut *tx).await?;
            let bodies: Vec<(String,)> = query("SELECT body FROM messages WHERE case_id = $1 ORDER BY id")
                .bind(*case)
                .fetch_all(&mut *tx)
                .await?;
            let subject = subject.flatten();
            let terms = index_terms(subject.as_deref().into_iter().chain(bodies.iter().map(|(body,)| body.as_str())));
            query(format!("UPDATE case_search SET terms = $2 WHERE {} = $1", dialect.search_key()))
                .bind(*case)
                .bind(terms)
                .execute(&mut *tx)
                .await?;
            query("INSERT INTO events (case_id, at, actor, action) VALUES ($1, $2, $3, 'personal_data_erased')")
                .bind(*case)
                .bind(millis(stamp.at))
                .bind(&stamp.actor)
                .execute(&mut *tx)
                .await?;
        }
    }
    // Beyond their cases: their surveys' messages and answers' ids, the digests that quoted
    // their complaints, and notifications about no case (a failing address, say).
    let surveys = format!("survey_id IN (SELECT id FROM nps_requests WHERE customer_id IN ({who}))");
    for (table, column, scope) in [
        ("outbox", "body", surveys.clone()),
        ("outbox", "last_error", surveys),
        ("outbox", "body", "digest_id IS NOT NULL".to_owned()),
        ("outbox", "last_error", "case_id IS NULL".to_owned()),
        ("notifications", "body", "case_id IS NULL".to_owned()),
    ] {
        values += redact_column(tx, table, "id", column, &scope, &needles).await?;
    }
    query(format!("UPDATE nps_requests SET answer_ref = NULL WHERE customer_id IN ({who})")).execute(&mut *tx).await?;
    values += erase_event_values(tx, "customer_events", &format!("customer_id IN ({who})"), &needles, None).await?;
    for (kind, value, customer) in &identities {
        // Random, so the placeholder tells nothing of the value (a digest of a phone number
        // could be matched by trying every number).
        let tag = hex(&rand::random::<[u8; 8]>());
        query("UPDATE customer_identities SET value = $1 WHERE kind = $2 AND value = $3")
            .bind(format!("erased-{customer}-{tag}"))
            .bind(kind)
            .bind(value)
            .execute(&mut *tx)
            .await?;
    }
    query(format!("UPDATE customers SET name = NULL, erased_at = $1, erased_by = $2 WHERE id IN ({who})"))
        .bind(millis(stamp.at))
        .bind(&stamp.actor)
        .execute(&mut *tx)
        .await?;
    query("INSERT INTO customer_events (customer_id, at, actor, action, new_value) VALUES ($1, $2, $3, 'erased', $4)")
        .bind(id)
        .bind(millis(stamp.at))
        .bind(&stamp.actor)
        .bind(format!("{} identities, {} cases, {values} values", identities.len(), cases.len()))
        .execute(&mut *tx)
        .await?;
    Ok(Erased {
        customers: customers.len() as u64,
        identities: identities.len() as u64,
        cases: cases.len() as u64,
        values,
    })
}

/// Redacts one text column of the rows in scope; returns how many changed.
async fn redact_column<C: Conn + ?Sized>(
    tx: &mut C,
    table: &str,
    key: &str,
    column: &str,
    scope: &str,
    needles: &Needles,
) -> Result<u64, StoreError> {
    let rows: Vec<(i64, Option<String>)> =
        query(format!("SELECT {key}, {column} FROM {table} WHERE {scope} AND {column} IS NOT NULL"))
            .fetch_all(&mut *tx)
            .await?;
    let mut changed = 0;
    for (row, text) in rows {
        let Some(text) = text else { continue };
        let redacted = needles.redact(&text);
        if redacted != text {
            query(format!("UPDATE {table} SET {column} = $1 WHERE {key} = $2"))
                .bind(redacted)
                .bind(row)
                .execute(&mut *tx)
                .await?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// An event whose old or new value holds personal data loses both (the chain keeps their
/// digest); a case's event is marked erased.
async fn erase_event_values<C: Conn + ?Sized>(
    tx: &mut C,
    table: &str,
    scope: &str,
    needles: &Needles,
    stamp: Option<&Stamp>,
) -> Result<u64, StoreError> {
    let rows: Vec<(i64, Option<String>, Option<String>)> = query(format!(
        "SELECT id, old_value, new_value FROM {table} WHERE {scope} AND (old_value IS NOT NULL OR new_value IS NOT NULL) \
         ORDER BY id"
    ))
    .fetch_all(&mut *tx)
    .await?;
    let mut changed = 0;
    for (row, old, new) in rows {
        let holds = |value: &Option<String>| value.as_deref().is_some_and(|v| needles.redact(v) != v);
        if !(holds(&old) || holds(&new)) {
            continue;
        }
        let erased = |value: &Option<String>| value.as_ref().map(|_| ERASED);
        // A case's event keeps its values' digest for the chain, but not the salt: with it, the
        // erased values could be found by trying names against the digest.
        let marked = if stamp.is_some() { ", erased_at = $4, salt = NULL" } else { "" };
        let mut update = query(format!("UPDATE {table} SET old_value = $1, new_value = $2{marked} WHERE id = $3"))
            .bind(erased(&old))
            .bind(erased(&new))
            .bind(row);
        if let Some(stamp) = stamp {
            update = update.bind(millis(stamp.at));
        }
        update.execute(&mut *tx).await?;
        changed += 1;
    }
    Ok(changed)
}
