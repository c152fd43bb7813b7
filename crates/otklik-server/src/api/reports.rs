//! `/api/v1/reports/…`: the figures of a period as JSON (the dashboard's), and CSV exports of
//! the figures and of the period's cases (streamed page by page, for a million rows). Managers
//! and admins. docs/reports.md defines every figure.

use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use otklik_app::reports::{Period, Report};
use otklik_core::report::{Figures, Topic, WeakSpot};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Principal;
use crate::problem::{ApiError, Problem};
use crate::startup::AppState;

/// The days a report covers, in the business's time zone: `from` to `to` inclusive. Without
/// them, the 30 days ending today.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// The first day, `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date, nullable = false)]
    from: Option<String>,
    /// The last day, `YYYY-MM-DD` (inclusive).
    #[param(value_type = Option<String>, format = Date, nullable = false)]
    to: Option<String>,
}

/// How long a default period is.
const DEFAULT_DAYS: i64 = 30;

pub(crate) fn period(state: &AppState, query: &PeriodQuery) -> Result<Period, otklik_app::AppError> {
    let day = |field: &str, value: &Option<String>| -> Result<Option<Date>, otklik_app::AppError> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        value
            .as_deref()
            .map(str::trim)
            // Given but blank is a mistake, not "the default": the caller meant a day.
            .map(|value| {
                Date::parse(value, &format).map_err(|_| {
                    otklik_app::AppError::Invalid(format!("{field}: `{value}` is not a day like 2026-11-30"))
                })
            })
            .transpose()
    };
    let to = day("to", &query.to)?.unwrap_or_else(|| state.app.business_today());
    let from = match day("from", &query.from)? {
        Some(from) => from,
        None => to.checked_sub(time::Duration::days(DEFAULT_DAYS - 1)).unwrap_or(to),
    };
    Period::new(from, to)
}

/// A period's figures, the period before's, and the weak spots.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryView {
    #[schema(value_type = String, format = Date)]
    pub from: String,
    #[schema(value_type = String, format = Date)]
    pub to: String,
    pub days: i64,
    /// The period of as many days just before, for comparison.
    #[schema(value_type = String, format = Date)]
    pub previous_from: String,
    #[schema(value_type = String, format = Date)]
    pub previous_to: String,
    pub current: Figures,
    pub previous: Figures,
    /// Locations, products and employees whose complaint rate, deadline misses or low ratings
    /// stand out against the rest (95 % sure or more), most certain first.
    pub weak_spots: Vec<WeakSpot>,
    /// The complaint topics (stemmed words and pairs of words) in more of this period's
    /// complaints than the previous period's share would give, most risen first, with up to ten
    /// case ids each. Counted over the newest 5,000 complaints of each period.
    pub rising_topics: Vec<Topic>,
}

impl From<Report> for SummaryView {
    fn from(report: Report) -> SummaryView {
        SummaryView {
            from: report.period.from.to_string(),
            to: report.period.to.to_string(),
            days: report.period.days(),
            previous_from: report.previous_period.from.to_string(),
            previous_to: report.previous_period.to.to_string(),
            current: report.current,
            previous: report.previous,
            weak_spots: report.weak_spots,
            rising_topics: report.rising_topics,
        }
    }
}

/// The figures of a period: cases by kind, channel, location, product and employee; times to
/// first response and resolution (median, 90th percentile) and the deadlines kept; CSAT and NPS;
/// complaint causes; the recovery rate; repeat complainers; ideas accepted and shipped; referral
/// leads contacted in time and won; compensation granted; the iceberg — each compared with the
/// period before, and the weak spots.
#[utoipa::path(
    get, path = "/api/v1/reports/summary", tag = "reports",
    params(PeriodQuery),
    responses(
        (status = 200, description = "The figures", body = SummaryView),
        (status = 403, description = "Only managers and admins see reports", body = Problem),
        (status = 422, description = "A day is malformed, `from` is after `to`, or the period is over 3,660 days", body = Problem),
    )
)]
pub async fn summary(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<PeriodQuery>,
) -> Result<Json<SummaryView>, ApiError> {
    let period = period(&state, &query)?;
    Ok(Json(SummaryView::from(state.app.report(&principal, period).await?)))
}

/// The summary's rows as CSV, one figure per line: `section,key,current,previous`.
fn summary_csv(report: &Report) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(["section", "key", "current", "previous"]);
    let mut line = |section: &str, key: &str, current: String, previous: String| {
        let _ = writer.write_record([section, key, &current, &previous]);
    };
    let (now, before) = (&report.current, &report.previous);
    let number = |value: Option<f64>| value.map(|v| format!("{v:.4}")).unwrap_or_default();
    let whole = |value: Option<i64>| value.map(|v| v.to_string()).unwrap_or_default();
    line("period", "from", report.period.from.to_string(), report.previous_period.from.to_string());
    line("period", "to", report.period.to.to_string(), report.previous_period.to.to_string());
    line("cases", "all", now.cases.to_string(), before.cases.to_string());
    for (section, current, previous) in [
        ("kind", &now.by_kind, &before.by_kind),
        ("channel", &now.by_channel, &before.by_channel),
        ("location", &now.by_location, &before.by_location),
        ("product", &now.by_product, &before.by_product),
        ("employee", &now.by_employee, &before.by_employee),
        ("cause", &now.causes, &before.causes),
    ] {
        let mut keys: Vec<Option<String>> = current.iter().map(|c| c.key.clone()).collect();
        keys.extend(previous.iter().map(|c| c.key.clone()).filter(|key| !current.iter().any(|c| &c.key == key)));
        for key in keys {
            let of = |list: &[otklik_core::report::Count]| {
                list.iter().find(|c| c.key == key).map_or(0, |c| c.cases).to_string()
            };
            line(section, &cell(key.as_deref().unwrap_or("")), of(current), of(previous));
        }
    }
    line(
        "first_response",
        "median_minutes",
        whole(now.first_response.median_minutes),
        whole(before.first_response.median_minutes),
    );
    line(
        "first_response",
        "p90_minutes",
        whole(now.first_response.p90_minutes),
        whole(before.first_response.p90_minutes),
    );
    line("resolution", "median_minutes", whole(now.resolution.median_minutes), whole(before.resolution.median_minutes));
    line("resolution", "p90_minutes", whole(now.resolution.p90_minutes), whole(before.resolution.p90_minutes));
    line("deadlines", "kept_share", number(now.deadlines.kept_share), number(before.deadlines.kept_share));
    line("csat", "ratings", now.csat.ratings.to_string(), before.csat.ratings.to_string());
    line("csat", "average", number(now.csat.average), number(before.csat.average));
    line("nps", "answers", now.nps.answers.to_string(), before.nps.answers.to_string());
    line("nps", "score", number(now.nps.score), number(before.nps.score));
    line("recovery", "rate", number(now.recovery.rate), number(before.recovery.rate));
    line(
        "recovery",
        "rated_well_share",
        number(now.recovery.rated_well_share),
        number(before.recovery.rated_well_share),
    );
    line("repeat_complainers", "", now.repeat_complainers.to_string(), before.repeat_complainers.to_string());
    line("ideas", "accepted", now.ideas.accepted.to_string(), before.ideas.accepted.to_string());
    line("ideas", "shipped", now.ideas.shipped.to_string(), before.ideas.shipped.to_string());
    line(
        "referrals",
        "contacted_in_time",
        now.referrals.contacted_in_time.to_string(),
        before.referrals.contacted_in_time.to_string(),
    );
    line("referrals", "won", now.referrals.won.to_string(), before.referrals.won.to_string());
    for granted in &now.compensation.by_kind {
        let key = format!("{} {}", granted.key.as_deref().unwrap_or(""), granted.currency);
        let previous = before
            .compensation
            .by_kind
            .iter()
            .find(|b| b.key == granted.key && b.currency == granted.currency)
            .map_or(0, |b| b.amount);
        line("compensation_amount", &cell(&key), granted.amount.to_string(), previous.to_string());
    }
    line("iceberg", "silent", now.iceberg.silent.to_string(), before.iceberg.silent.to_string());
    for row in &now.iceberg.by_location {
        line("iceberg_location", &cell(row.location.as_deref().unwrap_or("")), row.silent.to_string(), String::new());
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// A cell a spreadsheet will not run as a formula: text that begins with `=`, `+`, `-`, `@`, a
/// tab or a carriage return gets a leading `'` (OWASP's advice for CSV exports).
pub(crate) fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() }
}

fn csv_response(name: &str, body: Body) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        body,
    )
        .into_response()
}

/// The figures of the period asked for as a CSV download, for the API and the dashboard.
pub(crate) async fn summary_file(
    state: &AppState,
    actor: &otklik_app::Actor,
    query: &PeriodQuery,
) -> Result<Response, otklik_app::AppError> {
    let report = state.app.report(actor, period(state, query)?).await?;
    let name = format!("otklik-summary-{}-{}.csv", report.period.from, report.period.to);
    Ok(csv_response(&name, Body::from(summary_csv(&report))))
}

/// The cases of the period asked for as a streamed CSV download, refused before the first byte
/// when the actor may not see reports.
pub(crate) fn cases_file(
    state: &AppState,
    actor: otklik_app::Actor,
    query: &PeriodQuery,
) -> Result<Response, otklik_app::AppError> {
    state.app.may_see_reports(&actor)?;
    let period = period(state, query)?;
    let name = format!("otklik-cases-{}-{}.csv", period.from, period.to);
    Ok(csv_response(&name, cases_csv(state.clone(), actor, period)))
}

/// The summary as CSV: `section,key,current,previous`, one figure a line.
#[utoipa::path(
    get, path = "/api/v1/reports/summary.csv", tag = "reports",
    params(PeriodQuery),
    responses(
        (status = 200, description = "The figures as CSV", content_type = "text/csv", body = String),
        (status = 403, description = "Only managers and admins see reports", body = Problem),
        (status = 422, description = "A day is malformed or the period is wrong", body = Problem),
    )
)]
pub async fn summary_export(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<PeriodQuery>,
) -> Result<Response, ApiError> {
    Ok(summary_file(&state, &principal, &query).await?)
}

/// The columns of the cases export.
pub(crate) const CASE_COLUMNS: [&str; 20] = [
    "reference",
    "id",
    "created_at",
    "kind",
    "channel",
    "status",
    "stage",
    "priority",
    "location",
    "product",
    "employees",
    "cause",
    "audience",
    "sentiment",
    "language",
    "public",
    "hidden",
    "assignee",
    "tags",
    "customer_id",
];

/// Cases fetched per page while streaming an export.
const EXPORT_PAGE: u32 = 2_000;

/// Streams the period's cases as CSV, a page at a time (memory stays flat for a million rows).
fn cases_csv(state: AppState, principal: otklik_app::Actor, period: Period) -> Body {
    let header = {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let _ = writer.write_record(CASE_COLUMNS);
        writer.into_inner().unwrap_or_default()
    };
    let pages = stream::unfold(Some(0i64), move |after| {
        let (state, principal) = (state.clone(), principal.clone());
        async move {
            let after = after?;
            match state.app.export_page(&principal, period, after, EXPORT_PAGE).await {
                Ok(cases) if cases.is_empty() => None,
                Ok(cases) => {
                    let next = cases.last().map(|case| case.id);
                    let mut writer = csv::Writer::from_writer(Vec::new());
                    for case in &cases {
                        let _ = writer.write_record([
                            case.reference().to_string(),
                            case.id.to_string(),
                            case.created_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                            case.kind.to_string(),
                            case.channel.to_string(),
                            case.status.to_string(),
                            case.stage.to_string(),
                            case.priority.to_string(),
                            cell(case.location.as_deref().unwrap_or_default()),
                            cell(case.product.as_deref().unwrap_or_default()),
                            cell(&case.employees.join("; ")),
                            case.cause.map(|c| c.to_string()).unwrap_or_default(),
                            case.audience.to_string(),
                            case.sentiment.map(|s| s.to_string()).unwrap_or_default(),
                            case.language.map(|l| l.to_string()).unwrap_or_default(),
                            case.public.to_string(),
                            case.hidden.to_string(),
                            cell(case.assignee.as_deref().unwrap_or_default()),
                            cell(&case.tags.join("; ")),
                            case.customer_id.to_string(),
                        ]);
                    }
                    let bytes = writer.into_inner().unwrap_or_default();
                    let more = (cases.len() as u32 == EXPORT_PAGE).then_some(next).flatten();
                    Some((Ok::<_, std::io::Error>(bytes), more))
                }
                Err(error) => {
                    // The header is out: the export ends here, and the log says why.
                    tracing::warn!(%error, "a cases export stopped");
                    Some((Err(std::io::Error::other(error.to_string())), None))
                }
            }
        }
    });
    Body::from_stream(futures_util::StreamExt::chain(stream::once(async move { Ok(header) }), pages))
}

/// The period's cases as CSV, one a line with their fields (`reference`, `created_at`, `kind`,
/// `channel`, `status`, `stage`, `priority`, `location`, `product`, `employees`, `cause`, …),
/// streamed as they are read.
#[utoipa::path(
    get, path = "/api/v1/reports/cases.csv", tag = "reports",
    params(PeriodQuery),
    responses(
        (status = 200, description = "The cases as CSV", content_type = "text/csv", body = String),
        (status = 403, description = "Only managers and admins see reports", body = Problem),
        (status = 422, description = "A day is malformed or the period is wrong", body = Problem),
    )
)]
pub async fn cases_export(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<PeriodQuery>,
) -> Result<Response, ApiError> {
    Ok(cases_file(&state, principal.0, &query)?)
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn cells_a_spreadsheet_would_run_are_quoted() {
        for formula in ["=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\tx"] {
            assert_eq!(cell(formula), format!("'{formula}"));
        }
        assert_eq!(cell("Тверская 1"), "Тверская 1");
        assert_eq!(cell(""), "");
    }
}
