//! `/reports`: the managers' dashboard — a period's figures against the period before, bar
//! charts drawn on the server as SVG (readable on a phone, printable, no script) each with its
//! numbers one click away, the weak spots, and links to the cases behind and to the CSV exports.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use otklik_app::digest::{Digest, DigestText};
use otklik_app::people::session_actor;
use otklik_core::report::{Count, Figures, Timing, WeakSpot};
use otklik_core::{Language, Priority};

use super::desk::{Chrome, page, refused};
use super::i18n::Tr;
use super::poster::escape;
use super::workspace::SignedIn;
use crate::api::reports::{PeriodQuery, cases_file, period, summary_file};
use crate::startup::AppState;

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    language: Language,
    chrome: Chrome,
    from: String,
    to: String,
    previous_from: String,
    previous_to: String,
    /// (what, now, before, change) for the headline figures.
    headline: Vec<(String, String, String, String)>,
    charts: Vec<Chart>,
    /// (what, where, how sure, link to the cases).
    weak_spots: Vec<(String, String, String, String)>,
    /// (words, now, before, link to the cases).
    topics: Vec<(String, u64, u64, String)>,
    /// The period as a query string, for the exports.
    query: String,
}

struct Chart {
    id: String,
    title: String,
    svg: String,
    /// (label, now, before, link to the cases).
    rows: Vec<(String, u64, u64, String)>,
}

/// A horizontal bar chart: one bar per row for this period, a thin one for the period before.
fn bar_chart(title: &str, rows: &[(String, u64, u64, String)]) -> String {
    const WIDTH: u32 = 320;
    const LABEL: u32 = 110;
    const ROW: u32 = 26;
    let largest = rows.iter().map(|(_, now, before, _)| (*now).max(*before)).max().unwrap_or(0).max(1);
    let height = ROW * rows.len().max(1) as u32 + 8;
    let scale = |value: u64| (f64::from(WIDTH - LABEL - 40) * value as f64 / largest as f64).round() as u32;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" width=\"100%\" role=\"img\" \
         aria-label=\"{}\" class=\"chart\">",
        escape(title)
    );
    for (n, (label, now, before, _)) in rows.iter().enumerate() {
        let y = n as u32 * ROW + 4;
        let short: String = label.chars().take(16).collect();
        svg.push_str(&format!(
            "<text x=\"0\" y=\"{}\" font-size=\"11\">{}</text>\
             <rect x=\"{LABEL}\" y=\"{y}\" width=\"{}\" height=\"14\" class=\"bar\"/>\
             <rect x=\"{LABEL}\" y=\"{}\" width=\"{}\" height=\"4\" class=\"bar-before\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"11\">{now}</text>",
            y + 12,
            escape(&short),
            scale(*now),
            y + 16,
            scale(*before),
            LABEL + scale(*now) + 4,
            y + 12,
        ));
    }
    svg.push_str("</svg>");
    svg
}

fn rows_of(
    now: &[Count],
    before: &[Count],
    label: &dyn Fn(&Option<String>) -> String,
    link: &dyn Fn(&Option<String>) -> String,
) -> Vec<(String, u64, u64, String)> {
    let mut keys: Vec<Option<String>> = now.iter().map(|c| c.key.clone()).collect();
    keys.extend(before.iter().map(|c| c.key.clone()).filter(|key| !now.iter().any(|c| &c.key == key)));
    keys.into_iter()
        .take(12)
        .map(|key| {
            let of = |list: &[Count]| list.iter().find(|c| c.key == key).map_or(0, |c| c.cases);
            (label(&key), of(now), of(before), link(&key))
        })
        .collect()
}

fn percent(value: Option<f64>) -> String {
    value.map(|v| format!("{:.0} %", v * 100.0)).unwrap_or_else(|| "—".into())
}

fn minutes(tr: &Tr, value: Option<i64>) -> String {
    match value {
        None => "—".into(),
        Some(m) if m < 120 => format!("{m} {}", tr.t("reports-unit-minutes")),
        Some(m) if m < 48 * 60 => format!("{:.1} {}", m as f64 / 60.0, tr.t("reports-unit-hours")),
        Some(m) => format!("{:.1} {}", m as f64 / 1440.0, tr.t("reports-unit-days")),
    }
}

fn change(now: f64, before: f64) -> String {
    let delta = now - before;
    if delta.abs() < 1e-9 { "=".into() } else { format!("{delta:+.0}") }
}

/// The period's complaints.
fn complaints(figures: &Figures) -> u64 {
    figures.by_kind.iter().find(|c| c.key.as_deref() == Some("complaint")).map_or(0, |c| c.cases)
}

/// The headline figures: (what, this period, the period before, the change).
fn headline(tr: &Tr, now: &Figures, before: &Figures) -> Vec<(String, String, String, String)> {
    let count = |key: &str, a: u64, b: u64| (tr.t(key), a.to_string(), b.to_string(), change(a as f64, b as f64));
    let share = |key: &str, a: Option<f64>, b: Option<f64>| {
        let delta = match (a, b) {
            (Some(a), Some(b)) => change(a * 100.0, b * 100.0),
            _ => String::new(),
        };
        (tr.t(key), percent(a), percent(b), delta)
    };
    let timing = |key: &str, now: &Timing, before: &Timing| {
        let both = |t: &Timing| format!("{} / {}", minutes(tr, t.median_minutes), minutes(tr, t.p90_minutes));
        (tr.t(key), both(now), both(before), String::new())
    };
    vec![
        count("reports-cases", now.cases, before.cases),
        count("reports-complaints", complaints(now), complaints(before)),
        timing("reports-first-response", &now.first_response, &before.first_response),
        timing("reports-resolution", &now.resolution, &before.resolution),
        share("reports-deadlines-kept", now.deadlines.kept_share, before.deadlines.kept_share),
        (
            tr.t("reports-csat"),
            now.csat.average.map(|a| format!("{a:.2}")).unwrap_or_else(|| "—".into()),
            before.csat.average.map(|a| format!("{a:.2}")).unwrap_or_else(|| "—".into()),
            String::new(),
        ),
        (
            tr.t("reports-nps"),
            now.nps.score.map(|s| format!("{s:.0}")).unwrap_or_else(|| "—".into()),
            before.nps.score.map(|s| format!("{s:.0}")).unwrap_or_else(|| "—".into()),
            String::new(),
        ),
        share("reports-recovery", now.recovery.rate, before.recovery.rate),
        share("reports-recovered-rated-well", now.recovery.rated_well_share, before.recovery.rated_well_share),
        count("reports-repeat-complainers", now.repeat_complainers, before.repeat_complainers),
        count("reports-ideas-accepted", now.ideas.accepted, before.ideas.accepted),
        count("reports-ideas-shipped", now.ideas.shipped, before.ideas.shipped),
        count("reports-referrals-in-time", now.referrals.contacted_in_time, before.referrals.contacted_in_time),
        count("reports-referrals-won", now.referrals.won, before.referrals.won),
        count("reports-iceberg", now.iceberg.silent, before.iceberg.silent),
    ]
}

/// A weak spot in words: (what stands out, where, how sure).
fn weak_spot_words(tr: &Tr, spot: &WeakSpot) -> (String, String, String) {
    let what = tr.t(&format!("reports-weak-{}", spot.measure));
    let place = format!("{} · {}", tr.t(&format!("reports-dimension-{}", spot.dimension)), spot.name);
    let sure = format!(
        "{} ({} / {}, n = {}, z = {:.1}, {:.0} %)",
        tr.t("reports-sure"),
        percent(Some(spot.value)),
        percent(Some(spot.rest)),
        spot.count,
        spot.z,
        spot.sure * 100.0
    );
    (what, place, sure)
}

/// The weekly digest in one language: a plain-text letter (the headline figures, the weak
/// spots and the cases worth reading, with links into the workspace) and the workspace notice.
pub(crate) fn digest_text(digest: &Digest, language: Language, public_url: &str) -> DigestText {
    let tr = &Tr(language);
    let report = &digest.report;
    let (from, to) = (report.period.from.to_string(), report.period.to.to_string());
    let dates = [("from", from.as_str()), ("to", to.as_str())];
    let link = format!("{public_url}/reports?from={from}&to={to}");
    let mut letter = tr.tn("digest-intro", &dates);
    letter.push_str("\n\n");
    for (what, now, before, change) in headline(tr, &report.current, &report.previous) {
        let change = if change.is_empty() { String::new() } else { format!(", {change}") };
        letter.push_str(&format!("{what}: {now} ({before}{change})\n"));
    }
    letter.push_str(&format!("\n{}\n", tr.t("reports-weak-spots")));
    if report.weak_spots.is_empty() {
        letter.push_str(&format!("{}\n", tr.t("reports-no-weak-spots")));
    }
    for spot in &report.weak_spots {
        let (what, place, sure) = weak_spot_words(tr, spot);
        letter.push_str(&format!("- {place}: {what}, {sure}\n"));
    }
    letter.push_str(&format!("\n{}\n", tr.t("digest-worth-reading")));
    if digest.worth_reading.is_empty() {
        letter.push_str(&format!("{}\n", tr.t("digest-no-cases")));
    }
    for worth in &digest.worth_reading {
        let case = &worth.case;
        let mut why = Vec::new();
        if worth.breaches > 0 {
            why.push(tr.t("digest-why-breached"));
        }
        if case.priority == Priority::Urgent {
            why.push(tr.t("digest-why-urgent"));
        }
        if let Some(score) = worth.lowest_rating.filter(|score| *score <= 3) {
            why.push(tr.t1("digest-why-rated", "score", &score.to_string()));
        }
        if let Some(location) = &case.location {
            why.push(location.clone());
        }
        // The subject, else the first words the customer wrote (on one line).
        let words: String = worth.text.split_whitespace().collect::<Vec<_>>().join(" ");
        let subject = match &case.subject {
            Some(subject) => subject.clone(),
            None if words.chars().count() > 100 => format!("{}…", words.chars().take(100).collect::<String>()),
            None => words,
        };
        let why = if why.is_empty() { String::new() } else { format!(" ({})", why.join(", ")) };
        letter.push_str(&format!("- {} · {subject}{why}\n  {public_url}/cases/{}\n", case.reference(), case.id));
    }
    letter.push_str(&format!("\n{}: {link}\n", tr.t("digest-report-link")));
    let (now, before) = (complaints(&report.current), complaints(&report.previous));
    let notice = tr.tn(
        "digest-notice",
        &[
            ("from", &from),
            ("to", &to),
            ("complaints", &now.to_string()),
            ("change", &change(now as f64, before as f64)),
            ("link", &link),
        ],
    );
    DigestText { letter, notice }
}

/// The subject line of a digest's e-mail.
pub(crate) fn digest_subject(language: Language, from: time::Date, to: time::Date) -> String {
    Tr(language).tn("digest-subject", &[("from", &from.to_string()), ("to", &to.to_string())])
}

/// `GET /reports?from=&to=`: the dashboard.
pub(super) async fn dashboard(
    State(state): State<AppState>,
    person: SignedIn,
    headers: HeaderMap,
    Query(query): Query<PeriodQuery>,
) -> Response {
    let chrome = Chrome::new(&person, &headers, &state, "reports");
    let actor = session_actor(&person.session);
    let report = match period(&state, &query) {
        Ok(period) => state.app.report(&actor, period).await,
        Err(error) => Err(error),
    };
    let report = match report {
        Ok(report) => report,
        Err(error) => return refused(&chrome, error, None),
    };
    let (now, before) = (&report.current, &report.previous);
    let none = chrome.t("reports-none-given");
    let none = &none;
    let plain = |key: &Option<String>| key.clone().unwrap_or_else(|| none.clone());
    let tr = &chrome.tr;
    let worded = |prefix: &'static str| {
        move |key: &Option<String>| match key {
            Some(key) => tr.maybe(&format!("{prefix}-{key}")).unwrap_or_else(|| key.clone()),
            None => none.clone(),
        }
    };
    let to_inbox = |field: &'static str| {
        move |key: &Option<String>| match key {
            Some(key) => inbox_link(&[(field, key)]),
            None => inbox_link(&[]),
        }
    };
    let mut charts = Vec::new();
    let mut chart = |id: &str, title_key: &str, rows: Vec<(String, u64, u64, String)>| {
        let title = chrome.t(title_key);
        charts.push(Chart { id: id.to_owned(), svg: bar_chart(&title, &rows), title, rows });
    };
    chart("kinds", "reports-by-kind", rows_of(&now.by_kind, &before.by_kind, &worded("kind"), &to_inbox("kind")));
    chart(
        "channels",
        "reports-by-channel",
        rows_of(&now.by_channel, &before.by_channel, &worded("channel"), &to_inbox("channel")),
    );
    chart(
        "locations",
        "reports-by-location",
        rows_of(&now.by_location, &before.by_location, &plain, &to_inbox("location")),
    );
    chart("products", "reports-by-product", rows_of(&now.by_product, &before.by_product, &plain, &to_inbox("q")));
    chart("employees", "reports-by-employee", rows_of(&now.by_employee, &before.by_employee, &plain, &to_inbox("q")));
    chart(
        "causes",
        "reports-causes",
        rows_of(&now.causes, &before.causes, &worded("cause"), &|_| inbox_link(&[("kind", "complaint")])),
    );
    let iceberg: Vec<Count> =
        now.iceberg.by_location.iter().map(|row| Count { key: row.location.clone(), cases: row.silent }).collect();
    let iceberg_before: Vec<Count> =
        before.iceberg.by_location.iter().map(|row| Count { key: row.location.clone(), cases: row.silent }).collect();
    chart("iceberg", "reports-iceberg-by-location", rows_of(&iceberg, &iceberg_before, &plain, &to_inbox("location")));
    let weak_spots = report
        .weak_spots
        .iter()
        .map(|spot| {
            let (what, place, sure) = weak_spot_words(tr, spot);
            let field = if spot.dimension == "location" { "location" } else { "q" };
            (what, place, sure, inbox_link(&[(field, &spot.name)]))
        })
        .collect();
    let topics = report
        .rising_topics
        .iter()
        .map(|topic| {
            let link = inbox_link(&[("kind", "complaint"), ("q", &topic.words)]);
            (topic.words.clone(), topic.cases, topic.previous_cases, link)
        })
        .collect();
    let query = format!("from={}&to={}", report.period.from, report.period.to);
    let page_data = ReportsPage {
        language: chrome.language,
        from: report.period.from.to_string(),
        to: report.period.to.to_string(),
        previous_from: report.previous_period.from.to_string(),
        previous_to: report.previous_period.to.to_string(),
        headline: headline(tr, now, before),
        charts,
        weak_spots,
        topics,
        query,
        chrome,
    };
    page(StatusCode::OK, &page_data)
}

/// `GET /reports/summary.csv`: the figures as CSV, for a signed-in reader (the API's export
/// takes a token).
pub(super) async fn summary_export(
    State(state): State<AppState>,
    person: SignedIn,
    headers: HeaderMap,
    Query(query): Query<PeriodQuery>,
) -> Response {
    let chrome = Chrome::new(&person, &headers, &state, "reports");
    match summary_file(&state, &session_actor(&person.session), &query).await {
        Ok(file) => file,
        Err(error) => refused(&chrome, error, None),
    }
}

/// `GET /reports/cases.csv`: the period's cases as CSV, streamed, for a signed-in reader.
pub(super) async fn cases_export(
    State(state): State<AppState>,
    person: SignedIn,
    headers: HeaderMap,
    Query(query): Query<PeriodQuery>,
) -> Response {
    let chrome = Chrome::new(&person, &headers, &state, "reports");
    match cases_file(&state, session_actor(&person.session), &query) {
        Ok(file) => file,
        Err(error) => refused(&chrome, error, None),
    }
}

/// A link to the inbox, resolved and closed cases included, with these filters.
fn inbox_link(filters: &[(&str, &str)]) -> String {
    let pairs: Vec<(&str, &str)> = std::iter::once(("all", "1")).chain(filters.iter().copied()).collect();
    format!("/inbox?{}", serde_urlencoded::to_string(pairs).unwrap_or_default())
}
