//! The figures behind the reports, read as aggregates by the database (never a row per case):
//! one grouped scan of the period's cases (the "cube" the application rolls up by kind, channel,
//! location, product and stage), response and resolution times in minute buckets (exact
//! medians and 90th percentiles to the minute), deadline breaches, ratings, NPS answers,
//! compensation granted and the employees named. Every statement is the same on both backends.

use time::OffsetDateTime;

use super::exec::{Conn, query};
use crate::records::{millis, optional_word, word};
use crate::{ReportBreach, ReportCompensation, ReportCube, ReportEmployee, ReportRating, ReportRows, StoreError};

/// The period's cases, not hidden (trolls' comments are not the business's figures).
const PERIOD: &str = "c.created_at >= $1 AND c.created_at < $2 AND NOT c.hidden";

pub(crate) async fn rows<C: Conn + ?Sized>(
    conn: &mut C,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<ReportRows, StoreError> {
    let (from, to) = (millis(from), millis(to));
    type CubeRow = (String, String, Option<String>, Option<String>, String, String, Option<String>, i64, i64, i64);
    let cube: Vec<CubeRow> = query(format!(
        "SELECT c.kind, c.channel, c.location, c.product, c.stage, c.status, c.cause, \
         CAST(CASE WHEN c.first_response_at IS NULL THEN 0 ELSE 1 END AS BIGINT), \
         CAST(CASE WHEN c.resolved_at IS NULL THEN 0 ELSE 1 END AS BIGINT), count(*) \
         FROM cases c WHERE {PERIOD} GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let cube = cube
        .into_iter()
        .map(|(kind, channel, location, product, stage, status, cause, responded, resolved, cases)| {
            Ok(ReportCube {
                kind: word(&kind)?,
                channel: word(&channel)?,
                location,
                product,
                stage,
                status: word(&status)?,
                cause: optional_word(cause)?,
                responded: responded != 0,
                resolved: resolved != 0,
                cases: cases as u64,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let minutes = |column: &str| {
        query(format!(
            "SELECT CAST(({column} - c.created_at) / 60000 AS BIGINT), count(*) FROM cases c \
             WHERE {PERIOD} AND {column} IS NOT NULL GROUP BY 1"
        ))
        .bind(from)
        .bind(to)
    };
    let first_response: Vec<(i64, i64)> = minutes("c.first_response_at").fetch_all(&mut *conn).await?;
    let resolution: Vec<(i64, i64)> = minutes("c.resolved_at").fetch_all(&mut *conn).await?;
    let breaches: Vec<(String, Option<String>, String, i64, i64)> = query(format!(
        "SELECT c.kind, c.location, m.milestone, CAST(CASE WHEN m.milestone = 'first_response' \
         THEN (CASE WHEN c.first_response_at IS NULL THEN 0 ELSE 1 END) \
         ELSE (CASE WHEN c.resolved_at IS NULL THEN 0 ELSE 1 END) END AS BIGINT), count(DISTINCT c.id) \
         FROM deadline_marks m JOIN cases c ON c.id = m.case_id WHERE {PERIOD} AND m.state = 'breached' \
         GROUP BY 1, 2, 3, 4"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    // Ratings given in the period, on whichever case.
    let ratings: Vec<(String, Option<String>, String, i64, i64)> = query(
        "SELECT c.kind, c.location, c.status, CAST(r.score AS BIGINT), count(*) FROM ratings r \
         JOIN cases c ON c.id = r.case_id WHERE r.created_at >= $1 AND r.created_at < $2 GROUP BY 1, 2, 3, 4",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    // Complaints of the period the customer confirmed fixed and then rated well.
    let recovered_rated_well: i64 = query(format!(
        "SELECT count(*) FROM cases c JOIN ratings r ON r.case_id = c.id \
         WHERE {PERIOD} AND c.kind = 'complaint' AND c.status = 'resolved' AND r.score >= 4"
    ))
    .bind(from)
    .bind(to)
    .scalar(&mut *conn)
    .await?;
    let repeat_complainers: i64 = query(format!(
        "SELECT count(*) FROM (SELECT c.customer_id FROM cases c WHERE {PERIOD} AND c.kind = 'complaint' \
         GROUP BY c.customer_id HAVING count(*) >= 2) repeated"
    ))
    .bind(from)
    .bind(to)
    .scalar(&mut *conn)
    .await?;
    let nps: Vec<(i64, i64)> = query(
        "SELECT CAST(score AS BIGINT), count(*) FROM nps_requests \
         WHERE answered_at >= $1 AND answered_at < $2 AND score IS NOT NULL GROUP BY 1",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    // Compensation granted in the period (approved when it was decided, or at once when offered).
    let compensation: Vec<(Option<String>, String, String, i64, i64)> = query(
        "SELECT c.location, k.kind, k.currency, count(*), CAST(sum(k.amount) AS BIGINT) FROM compensations k \
         JOIN cases c ON c.id = k.case_id WHERE k.status = 'approved' \
         AND coalesce(k.decided_at, k.offered_at) >= $1 AND coalesce(k.decided_at, k.offered_at) < $2 \
         GROUP BY 1, 2, 3",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let employees: Vec<(String, String, i64)> = query(format!(
        "SELECT e.employee, c.kind, count(*) FROM case_employees e JOIN cases c ON c.id = e.case_id \
         WHERE {PERIOD} GROUP BY 1, 2"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let count = |n: i64| n.max(0) as u64;
    Ok(ReportRows {
        cube,
        first_response_minutes: first_response.into_iter().map(|(m, n)| (m, count(n))).collect(),
        resolution_minutes: resolution.into_iter().map(|(m, n)| (m, count(n))).collect(),
        breaches: breaches
            .into_iter()
            .map(|(kind, location, milestone, reached, cases)| {
                Ok(ReportBreach { kind: word(&kind)?, location, milestone, reached: reached != 0, cases: count(cases) })
            })
            .collect::<Result<_, StoreError>>()?,
        ratings: ratings
            .into_iter()
            .map(|(kind, location, status, score, ratings)| {
                Ok(ReportRating {
                    kind: word(&kind)?,
                    location,
                    status: word(&status)?,
                    score: score.clamp(0, 255) as u8,
                    ratings: count(ratings),
                })
            })
            .collect::<Result<_, StoreError>>()?,
        recovered_rated_well: count(recovered_rated_well),
        repeat_complainers: count(repeat_complainers),
        nps: nps.into_iter().map(|(score, n)| (score.clamp(0, 255) as u8, count(n))).collect(),
        compensation: compensation
            .into_iter()
            .map(|(location, kind, currency, granted, amount)| {
                Ok(ReportCompensation {
                    location,
                    kind: word(&kind)?,
                    currency,
                    granted: count(granted),
                    amount: count(amount),
                })
            })
            .collect::<Result<_, StoreError>>()?,
        employees: employees
            .into_iter()
            .map(|(employee, kind, cases)| Ok(ReportEmployee { employee, kind: word(&kind)?, cases: count(cases) }))
            .collect::<Result<_, StoreError>>()?,
    })
}

/// One page of the period's cases for an export, by id after `after`.
pub(crate) fn export_page_sql(select_case: &str) -> String {
    format!("{select_case} WHERE c.created_at >= $1 AND c.created_at < $2 AND c.id > $3 ORDER BY c.id LIMIT $4")
}
