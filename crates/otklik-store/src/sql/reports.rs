//! The figures behind the reports, read as aggregates by the database (never a row per case):
//! one grouped scan of the period's cases (the "cube" the application rolls up by kind, channel,
//! location, product and stage), the median and 90th percentile of response and resolution
//! times (exact to the minute, each read at its rank from an index on the duration), deadline
//! breaches, ratings, NPS answers, compensation granted and the employees named. The statements
//! are the same on both backends but for SQLite's index hint on the grouped scan.

use time::OffsetDateTime;

use super::Dialect;
use super::exec::{Conn, query};
use crate::records::{millis, optional_word, word};
use crate::{ReportBreach, ReportCompensation, ReportCube, ReportEmployee, ReportRating, ReportRows, StoreError};

/// The period's cases, not hidden (trolls' comments are not the business's figures).
const PERIOD: &str = "c.created_at >= $1 AND c.created_at < $2 AND NOT c.hidden";

/// The cases' side of a report: the grouped scan and the two timings, on one connection.
pub(crate) async fn case_rows<C: Conn + ?Sized>(
    conn: &mut C,
    dialect: Dialect,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<ReportRows, StoreError> {
    let (from, to) = (millis(from), millis(to));
    // Answered and resolved are counted, not grouped by: the grouping stays in the order of
    // SQLite's `cases_report` index.
    type CubeRow = (String, String, Option<String>, Option<String>, String, String, Option<String>, i64, i64, i64);
    let cube: Vec<CubeRow> = query(format!(
        "SELECT c.kind, c.channel, c.location, c.product, c.stage, c.status, c.cause, count(*), \
         CAST(sum(CASE WHEN c.first_response_at IS NULL THEN 0 ELSE 1 END) AS BIGINT), \
         CAST(sum(CASE WHEN c.resolved_at IS NULL THEN 0 ELSE 1 END) AS BIGINT) \
         FROM {} WHERE {PERIOD} GROUP BY 1, 2, 3, 4, 5, 6, 7",
        dialect.report_cases()
    ))
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let cube = cube
        .into_iter()
        .map(|(kind, channel, location, product, stage, status, cause, cases, responded, resolved)| {
            Ok(ReportCube {
                kind: word(&kind)?,
                channel: word(&channel)?,
                location,
                product,
                stage,
                status: word(&status)?,
                cause: optional_word(cause)?,
                cases: count(cases),
                responded: count(responded),
                resolved: count(resolved),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let responded = cube.iter().map(|c| c.responded).sum();
    let resolved = cube.iter().map(|c| c.resolved).sum();
    let first_response_minutes = percentiles(conn, dialect, "first_response", responded, from, to).await?;
    let resolution_minutes = percentiles(conn, dialect, "resolution", resolved, from, to).await?;
    Ok(ReportRows { cube, first_response_minutes, resolution_minutes, ..ReportRows::default() })
}

/// The rest of a report, on another connection: breaches, ratings, recovery, repeat
/// complainers, NPS, compensation and employees.
pub(crate) async fn other_rows<C: Conn + ?Sized>(
    conn: &mut C,
    dialect: Dialect,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<ReportRows, StoreError> {
    let (from, to) = (millis(from), millis(to));
    // A case has one mark per milestone and state, so rows are cases. Marks, ratings and
    // employees are far fewer than cases: SQLite keeps a CROSS JOIN's order, walking them and
    // looking their cases up (not the period's cases, probing each). A mark or a rating comes
    // after its case was created, so those older than the period are passed over unread.
    let breaches: Vec<(String, Option<String>, String, i64, i64)> = query(format!(
        "SELECT c.kind, c.location, m.milestone, CAST(CASE WHEN m.milestone = 'first_response' \
         THEN (CASE WHEN c.first_response_at IS NULL THEN 0 ELSE 1 END) \
         ELSE (CASE WHEN c.resolved_at IS NULL THEN 0 ELSE 1 END) END AS BIGINT), count(*) \
         FROM deadline_marks m CROSS JOIN cases c WHERE c.id = m.case_id AND {PERIOD} AND m.state = 'breached' \
         AND m.at >= $1 \
         GROUP BY 1, 2, 3, 4"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    // Ratings given in the period, on whichever case.
    let ratings: Vec<(Option<String>, i64, i64)> = query(
        "SELECT c.location, CAST(r.score AS BIGINT), count(*) FROM ratings r \
         CROSS JOIN cases c WHERE c.id = r.case_id AND r.created_at >= $1 AND r.created_at < $2 AND NOT c.hidden \
         GROUP BY 1, 2",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    // Complaints of the period the customer confirmed fixed and then rated well.
    let recovered_rated_well: i64 = query(format!(
        "SELECT count(*) FROM ratings r CROSS JOIN cases c \
         WHERE r.case_id = c.id AND r.score >= 4 AND r.created_at >= $1 AND {PERIOD} AND c.kind = 'complaint' \
         AND c.status = 'resolved'"
    ))
    .bind(from)
    .bind(to)
    .scalar(&mut *conn)
    .await?;
    let repeat_complainers: i64 = query(format!(
        "SELECT count(*) FROM (SELECT c.customer_id FROM {} WHERE {PERIOD} AND c.kind = 'complaint' \
         GROUP BY c.customer_id HAVING count(*) >= 2) repeated",
        dialect.cases_by("cases_complaints_by_customer_time")
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
         JOIN cases c ON c.id = k.case_id WHERE k.status = 'approved' AND NOT c.hidden \
         AND coalesce(k.decided_at, k.offered_at) >= $1 AND coalesce(k.decided_at, k.offered_at) < $2 \
         GROUP BY 1, 2, 3",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let employees: Vec<(String, String, i64)> = query(format!(
        "SELECT e.employee, c.kind, count(*) FROM case_employees e CROSS JOIN cases c \
         WHERE c.id = e.case_id AND {PERIOD} GROUP BY 1, 2"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    Ok(ReportRows {
        breaches: breaches
            .into_iter()
            .map(|(kind, location, milestone, reached, cases)| {
                Ok(ReportBreach { kind: word(&kind)?, location, milestone, reached: reached != 0, cases: count(cases) })
            })
            .collect::<Result<_, StoreError>>()?,
        ratings: ratings
            .into_iter()
            .map(|(location, score, ratings)| ReportRating {
                location,
                score: score.clamp(0, 255) as u8,
                ratings: count(ratings),
            })
            .collect(),
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
        ..ReportRows::default()
    })
}

fn count(n: i64) -> u64 {
    n.max(0) as u64
}

/// The median and the 90th percentile (nearest rank) of the minutes from creation to the
/// milestone (`first_response` or `resolution`, reached by `reached` cases), as (minutes,
/// cases) buckets that `report::timing` reads back exactly: each found by walking the index on
/// the duration (`cases_{first_response,resolution}_time`) to its rank, with no sort.
async fn percentiles<C: Conn + ?Sized>(
    conn: &mut C,
    dialect: Dialect,
    milestone: &str,
    reached: u64,
    from: i64,
    to: i64,
) -> Result<Vec<(i64, u64)>, StoreError> {
    if reached == 0 {
        return Ok(Vec::new());
    }
    let column = if milestone == "first_response" { "first_response_at" } else { "resolved_at" };
    let rank = |share: f64| ((share * reached as f64).ceil() as u64).clamp(1, reached);
    let mut buckets: Vec<(i64, u64)> = Vec::new();
    let (median, p90) = (rank(0.5), rank(0.9));
    let mut taken = 0;
    for wanted in [median, p90] {
        // The count came from another statement: a case reopened since may leave the rank
        // past the end, and the rows not found go to "above".
        let found: Option<i64> = query(format!(
            "SELECT c.{column} - c.created_at FROM {} WHERE {PERIOD} AND c.{column} IS NOT NULL \
             ORDER BY c.{column} - c.created_at LIMIT 1 OFFSET $3",
            dialect.duration_cases(milestone)
        ))
        .bind(from)
        .bind(to)
        .bind(wanted as i64 - 1)
        .scalar_optional(&mut *conn)
        .await?;
        let Some(millis) = found else { break };
        // The rows up to this rank, at this value: `timing` finds the same ranks again.
        buckets.push((millis.div_euclid(60_000), wanted - taken));
        taken = wanted;
    }
    buckets.push((i64::MAX, reached - taken));
    Ok(buckets.into_iter().filter(|(_, n)| *n > 0).collect())
}

/// One page of the period's cases for an export, by id after `after`.
pub(crate) fn export_page_sql(select_case: &str) -> String {
    format!("{select_case} WHERE c.created_at >= $1 AND c.created_at < $2 AND c.id > $3 ORDER BY c.id LIMIT $4")
}
