//! What the feedback says about the business: the figures of one period, computed from the
//! aggregates the store reads (never a row per case), and the weak spots among locations,
//! products and employees. Pure: the store reads `ReportRows`, `summarize` and `weak_spots` do
//! the arithmetic, and docs/reports.md says how each figure is defined.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::vocab::{Cause, Channel, CompensationKind, Kind, Status};

/// How many silent dissatisfied customers one complaint stands for by default: one in 27 who are
/// unhappy speaks up (the source documents' figure; `iceberg_factor` in the configuration).
pub const ICEBERG_FACTOR: u32 = 27;

/// The stages of the default playbooks that count as an idea accepted (at least) and shipped,
/// and a referral won.
pub const IDEA_ACCEPTED_STAGES: [&str; 4] = ["accepted", "planned", "implemented", "shipped"];
pub const IDEA_SHIPPED_STAGE: &str = "shipped";
pub const REFERRAL_WON_STAGE: &str = "won";

/// The aggregates a report is computed from, for the cases created in one period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportRows {
    pub cube: Vec<ReportCube>,
    /// (minutes from creation to the first response, cases) buckets, from which `timing`
    /// reads the median and 90th percentile: one per minute that occurs, or only the values at
    /// those two ranks with the cases up to each (the store's way; `i64::MAX`: those above).
    pub first_response_minutes: Vec<(i64, u64)>,
    /// (minutes from creation to resolution, cases), as `first_response_minutes`.
    pub resolution_minutes: Vec<(i64, u64)>,
    pub breaches: Vec<ReportBreach>,
    /// Ratings given in the period (on cases of any period).
    pub ratings: Vec<ReportRating>,
    /// Complaints of the period confirmed fixed and rated 4 or 5.
    pub recovered_rated_well: u64,
    /// Customers with two complaints or more in the period.
    pub repeat_complainers: u64,
    /// NPS answers given in the period: (score 0–10, answers).
    pub nps: Vec<(u8, u64)>,
    /// Compensation granted in the period.
    pub compensation: Vec<ReportCompensation>,
    pub employees: Vec<ReportEmployee>,
}

/// How many of the period's cases share these values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportCube {
    pub kind: Kind,
    pub channel: Channel,
    pub location: Option<String>,
    pub product: Option<String>,
    pub stage: String,
    pub status: Status,
    pub cause: Option<Cause>,
    pub cases: u64,
    /// Of them, the customer was answered.
    pub responded: u64,
    /// Of them, reached a resolved or closed status.
    pub resolved: u64,
}

/// Cases of the period whose clock of `milestone` was breached, by whether they reached the
/// milestone afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportBreach {
    pub kind: Kind,
    pub location: Option<String>,
    /// `first_response`, `resolution` or `due_date`.
    pub milestone: String,
    pub reached: bool,
    pub cases: u64,
}

/// Ratings given in the period with one score, on the cases of one location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRating {
    pub location: Option<String>,
    pub score: u8,
    pub ratings: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportCompensation {
    pub location: Option<String>,
    pub kind: CompensationKind,
    pub currency: String,
    pub granted: u64,
    /// Minor units of `currency`.
    pub amount: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportEmployee {
    pub employee: String,
    pub kind: Kind,
    pub cases: u64,
}

/// How many cases have one value of a dimension (`key` null: none given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Count {
    pub key: Option<String>,
    pub cases: u64,
}

/// How long it took, in minutes: the median and the 90th percentile (nearest rank).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Timing {
    /// The cases that reached the milestone.
    pub cases: u64,
    pub median_minutes: Option<i64>,
    pub p90_minutes: Option<i64>,
}

/// One deadline: cases that reached it in time, and those whose clock was breached.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct Kept {
    /// Cases whose clock was decided: reached the milestone, or breached.
    pub decided: u64,
    /// Reached without a breach.
    pub kept: u64,
    pub breached: u64,
    /// `kept / decided`; none when nothing was decided.
    pub kept_share: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct Deadlines {
    pub first_response: Kept,
    pub resolution: Kept,
    /// Both deadlines together.
    pub kept_share: Option<f64>,
}

/// Customer satisfaction: ratings 1–5 given in the period.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct Csat {
    pub ratings: u64,
    pub average: Option<f64>,
    /// The share of 4 and 5.
    pub satisfied_share: Option<f64>,
}

/// Net promoter score: answers 0–10 given in the period.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct Nps {
    pub answers: u64,
    /// 9 and 10.
    pub promoters: u64,
    /// 7 and 8.
    pub passives: u64,
    /// 0 to 6.
    pub detractors: u64,
    /// Promoters' share minus detractors', in points (−100 to 100).
    pub score: Option<f64>,
}

/// How many complainers the business won back.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct Recovery {
    /// Complaints of the period that are resolved or closed.
    pub finished: u64,
    /// Of them, the customer confirmed the fix (status resolved, not closed unconfirmed).
    pub confirmed: u64,
    /// `confirmed / finished`.
    pub rate: Option<f64>,
    /// Of the confirmed, rated 4 or 5.
    pub rated_well: u64,
    /// `rated_well / confirmed`.
    pub rated_well_share: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Ideas {
    pub received: u64,
    /// Accepted, planned, implemented or shipped.
    pub accepted: u64,
    pub shipped: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Referrals {
    pub leads: u64,
    /// Answered with no breach of the first-response deadline.
    pub contacted_in_time: u64,
    pub won: u64,
}

/// Compensation granted, by kind or by location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Granted {
    pub key: Option<String>,
    pub currency: String,
    pub granted: u64,
    /// Minor units of `currency`.
    pub amount: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Compensations {
    pub by_kind: Vec<Granted>,
    pub by_location: Vec<Granted>,
}

/// The silent dissatisfied customers the complaints stand for: complaints × `factor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Iceberg {
    pub factor: u32,
    pub complaints: u64,
    pub silent: u64,
    pub by_location: Vec<IcebergRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct IcebergRow {
    pub location: Option<String>,
    pub complaints: u64,
    pub silent: u64,
}

/// The figures of one period.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Figures {
    /// Cases created in the period (hidden trolls' comments left out).
    pub cases: u64,
    pub by_kind: Vec<Count>,
    pub by_channel: Vec<Count>,
    pub by_location: Vec<Count>,
    pub by_product: Vec<Count>,
    /// Cases naming each employee (a case may name several).
    pub by_employee: Vec<Count>,
    /// Complaints by cause (`key` null: not told).
    pub causes: Vec<Count>,
    pub first_response: Timing,
    pub resolution: Timing,
    pub deadlines: Deadlines,
    pub csat: Csat,
    pub nps: Nps,
    pub recovery: Recovery,
    /// Customers with two complaints or more in the period.
    pub repeat_complainers: u64,
    pub ideas: Ideas,
    pub referrals: Referrals,
    pub compensation: Compensations,
    pub iceberg: Iceberg,
}

fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn counts<K: Ord + Clone>(pairs: impl IntoIterator<Item = (K, u64)>) -> BTreeMap<K, u64> {
    let mut map = BTreeMap::new();
    for (key, n) in pairs {
        *map.entry(key).or_insert(0) += n;
    }
    map
}

/// Largest first, then by key, so the busiest come first and ties read the same every time.
fn ranked(map: BTreeMap<Option<String>, u64>) -> Vec<Count> {
    let mut list: Vec<Count> = map.into_iter().map(|(key, cases)| Count { key, cases }).collect();
    list.sort_by(|a, b| b.cases.cmp(&a.cases).then_with(|| a.key.cmp(&b.key)));
    list
}

/// The median and 90th percentile by nearest rank (the smallest value with at least that share
/// of cases at or below it), from minute buckets.
pub fn timing(buckets: &[(i64, u64)]) -> Timing {
    let mut sorted: Vec<(i64, u64)> = buckets.to_vec();
    sorted.sort_unstable();
    let total: u64 = sorted.iter().map(|(_, n)| n).sum();
    let rank = |share: f64| -> Option<i64> {
        if total == 0 {
            return None;
        }
        let wanted = ((share * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        sorted
            .iter()
            .find(|(_, n)| {
                seen += n;
                seen >= wanted
            })
            .map(|(minutes, _)| *minutes)
    };
    Timing { cases: total, median_minutes: rank(0.5), p90_minutes: rank(0.9) }
}

fn kept(rows: &ReportRows, milestones: &[&str], reached: u64) -> Kept {
    let breached_by = |was_reached: bool| -> u64 {
        rows.breaches
            .iter()
            .filter(|b| milestones.contains(&b.milestone.as_str()) && b.reached == was_reached)
            .map(|b| b.cases)
            .sum()
    };
    let (late, open) = (breached_by(true), breached_by(false));
    let decided = reached + open;
    let kept = reached.saturating_sub(late);
    Kept { decided, kept, breached: late + open, kept_share: share(kept, decided) }
}

/// The figures of a period from its aggregates; `factor` is the iceberg's.
pub fn summarize(rows: &ReportRows, factor: u32) -> Figures {
    let cube = &rows.cube;
    let total: u64 = cube.iter().map(|c| c.cases).sum();
    let of = |keep: &dyn Fn(&ReportCube) -> bool| cube.iter().filter(|c| keep(c)).map(|c| c.cases).sum::<u64>();
    let by = |key: &dyn Fn(&ReportCube) -> Option<String>| ranked(counts(cube.iter().map(|c| (key(c), c.cases))));
    let complaints = of(&|c| c.kind == Kind::Complaint);
    let responded: u64 = cube.iter().map(|c| c.responded).sum();
    let resolved: u64 = cube.iter().map(|c| c.resolved).sum();
    let first_response = kept(rows, &["first_response"], responded);
    let resolution = kept(rows, &["resolution", "due_date"], resolved);
    let both = Kept {
        decided: first_response.decided + resolution.decided,
        kept: first_response.kept + resolution.kept,
        breached: first_response.breached + resolution.breached,
        kept_share: None,
    };
    let ratings: u64 = rows.ratings.iter().map(|r| r.ratings).sum();
    let score_sum: u64 = rows.ratings.iter().map(|r| u64::from(r.score) * r.ratings).sum();
    let satisfied: u64 = rows.ratings.iter().filter(|r| r.score >= 4).map(|r| r.ratings).sum();
    let answers: u64 = rows.nps.iter().map(|(_, n)| n).sum();
    let promoters: u64 = rows.nps.iter().filter(|(s, _)| *s >= 9).map(|(_, n)| n).sum();
    let detractors: u64 = rows.nps.iter().filter(|(s, _)| *s <= 6).map(|(_, n)| n).sum();
    let finished = of(&|c| c.kind == Kind::Complaint && matches!(c.status, Status::Resolved | Status::Closed));
    let confirmed = of(&|c| c.kind == Kind::Complaint && c.status == Status::Resolved);
    let referral_late: u64 = rows
        .breaches
        .iter()
        .filter(|b| b.kind == Kind::Referral && b.milestone == "first_response" && b.reached)
        .map(|b| b.cases)
        .sum();
    let granted = |key: &dyn Fn(&ReportCompensation) -> Option<String>| {
        let mut map: BTreeMap<(Option<String>, String), (u64, u64)> = BTreeMap::new();
        for row in &rows.compensation {
            let entry = map.entry((key(row), row.currency.clone())).or_insert((0, 0));
            entry.0 += row.granted;
            entry.1 += row.amount;
        }
        let mut list: Vec<Granted> = map
            .into_iter()
            .map(|((key, currency), (granted, amount))| Granted { key, currency, granted, amount })
            .collect();
        list.sort_by(|a, b| b.amount.cmp(&a.amount).then_with(|| a.key.cmp(&b.key)));
        list
    };
    let mut iceberg_rows: Vec<IcebergRow> =
        counts(cube.iter().filter(|c| c.kind == Kind::Complaint).map(|c| (c.location.clone(), c.cases)))
            .into_iter()
            .map(|(location, complaints)| IcebergRow { location, complaints, silent: complaints * u64::from(factor) })
            .collect();
    iceberg_rows.sort_by(|a, b| b.complaints.cmp(&a.complaints).then_with(|| a.location.cmp(&b.location)));
    Figures {
        cases: total,
        by_kind: by(&|c| Some(c.kind.to_string())),
        by_channel: by(&|c| Some(c.channel.to_string())),
        by_location: by(&|c| c.location.clone()),
        by_product: by(&|c| c.product.clone()),
        by_employee: ranked(counts(rows.employees.iter().map(|e| (Some(e.employee.clone()), e.cases)))),
        causes: ranked(counts(
            cube.iter()
                .filter(|c| c.kind == Kind::Complaint)
                .map(|c| (c.cause.map(|cause| cause.to_string()), c.cases)),
        )),
        first_response: timing(&rows.first_response_minutes),
        resolution: timing(&rows.resolution_minutes),
        deadlines: Deadlines { first_response, resolution, kept_share: share(both.kept, both.decided) },
        csat: Csat {
            ratings,
            average: (ratings > 0).then(|| score_sum as f64 / ratings as f64),
            satisfied_share: share(satisfied, ratings),
        },
        nps: Nps {
            answers,
            promoters,
            passives: answers - promoters - detractors,
            detractors,
            score: (answers > 0).then(|| (promoters as f64 - detractors as f64) * 100.0 / answers as f64),
        },
        recovery: Recovery {
            finished,
            confirmed,
            rate: share(confirmed, finished),
            rated_well: rows.recovered_rated_well,
            rated_well_share: share(rows.recovered_rated_well, confirmed),
        },
        repeat_complainers: rows.repeat_complainers,
        ideas: Ideas {
            received: of(&|c| c.kind == Kind::Idea),
            accepted: of(&|c| c.kind == Kind::Idea && IDEA_ACCEPTED_STAGES.contains(&c.stage.as_str())),
            shipped: of(&|c| c.kind == Kind::Idea && c.stage == IDEA_SHIPPED_STAGE),
        },
        referrals: Referrals {
            leads: of(&|c| c.kind == Kind::Referral),
            contacted_in_time: cube
                .iter()
                .filter(|c| c.kind == Kind::Referral)
                .map(|c| c.responded)
                .sum::<u64>()
                .saturating_sub(referral_late),
            won: of(&|c| c.kind == Kind::Referral && c.stage == REFERRAL_WON_STAGE),
        },
        compensation: Compensations {
            by_kind: granted(&|row| Some(row.kind.to_string())),
            by_location: granted(&|row| row.location.clone()),
        },
        iceberg: Iceberg { factor, complaints, silent: complaints * u64::from(factor), by_location: iceberg_rows },
    }
}

/// A location, product or employee whose figure stands out against the rest.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WeakSpot {
    /// `location`, `product` or `employee`.
    pub dimension: &'static str,
    pub name: String,
    /// `complaint_rate` (complaints among its cases), `deadline_misses` (cases with a breached
    /// clock among its cases) or `low_ratings` (ratings 1–3 among its ratings).
    pub measure: &'static str,
    pub value: f64,
    /// The same figure for all the others together.
    pub rest: f64,
    /// The cases (or ratings) it is measured on.
    pub count: u64,
    /// The two-proportion z statistic: how many standard errors it stands above the rest.
    pub z: f64,
    /// 0.95 (z ≥ 1.96) or 0.99 (z ≥ 2.58): how sure it is not chance.
    pub sure: f64,
}

/// The fewest cases (or ratings) a weak spot is named on.
pub const WEAK_SPOT_MIN_COUNT: u64 = 5;

/// Each group's (hits, count) against the rest's: those that stand out with 95 % confidence.
fn outliers(
    dimension: &'static str,
    measure: &'static str,
    groups: &BTreeMap<String, (u64, u64)>,
    found: &mut Vec<WeakSpot>,
) {
    let (all_hits, all_count) = groups.values().fold((0, 0), |(h, n), (gh, gn)| (h + gh, n + gn));
    for (name, (hits, count)) in groups {
        let (rest_hits, rest_count) = (all_hits - hits, all_count - count);
        if *count < WEAK_SPOT_MIN_COUNT || rest_count < WEAK_SPOT_MIN_COUNT {
            continue;
        }
        let (p1, p2) = (*hits as f64 / *count as f64, rest_hits as f64 / rest_count as f64);
        let pooled = all_hits as f64 / all_count as f64;
        let error = (pooled * (1.0 - pooled) * (1.0 / *count as f64 + 1.0 / rest_count as f64)).sqrt();
        if error == 0.0 {
            continue;
        }
        let z = (p1 - p2) / error;
        if z >= 1.96 {
            found.push(WeakSpot {
                dimension,
                name: name.clone(),
                measure,
                value: p1,
                rest: p2,
                count: *count,
                z,
                sure: if z >= 2.58 { 0.99 } else { 0.95 },
            });
        }
    }
}

/// The locations, products and employees whose complaint rate, deadline misses or low ratings
/// stand out against the rest, most certain first.
pub fn weak_spots(rows: &ReportRows) -> Vec<WeakSpot> {
    let mut found = Vec::new();
    let mut group = |dimension: &'static str, key: &dyn Fn(&ReportCube) -> Option<String>| {
        let mut complaints: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for cube in &rows.cube {
            if let Some(name) = key(cube) {
                let entry = complaints.entry(name).or_insert((0, 0));
                entry.0 += if cube.kind == Kind::Complaint { cube.cases } else { 0 };
                entry.1 += cube.cases;
            }
        }
        outliers(dimension, "complaint_rate", &complaints, &mut found);
        complaints
    };
    let locations = group("location", &|c| c.location.clone());
    group("product", &|c| c.product.clone());
    // Deadline misses and low ratings per location.
    let mut missed: BTreeMap<String, (u64, u64)> =
        locations.iter().map(|(name, (_, cases))| (name.clone(), (0, *cases))).collect();
    for breach in &rows.breaches {
        if let Some(entry) = breach.location.as_ref().and_then(|name| missed.get_mut(name)) {
            entry.0 += breach.cases;
        }
    }
    for entry in missed.values_mut() {
        entry.0 = entry.0.min(entry.1);
    }
    outliers("location", "deadline_misses", &missed, &mut found);
    let mut low: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for rating in &rows.ratings {
        if let Some(name) = &rating.location {
            let entry = low.entry(name.clone()).or_insert((0, 0));
            entry.0 += if rating.score <= 3 { rating.ratings } else { 0 };
            entry.1 += rating.ratings;
        }
    }
    outliers("location", "low_ratings", &low, &mut found);
    let mut employees: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for row in &rows.employees {
        let entry = employees.entry(row.employee.clone()).or_insert((0, 0));
        entry.0 += if row.kind == Kind::Complaint { row.cases } else { 0 };
        entry.1 += row.cases;
    }
    outliers("employee", "complaint_rate", &employees, &mut found);
    found.sort_by(|a, b| b.z.total_cmp(&a.z));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_over_buckets() {
        // 10 cases: 1, 2, …, 10 minutes.
        let buckets: Vec<(i64, u64)> = (1..=10).map(|m| (m, 1)).collect();
        let timing = timing(&buckets);
        assert_eq!((timing.cases, timing.median_minutes, timing.p90_minutes), (10, Some(5), Some(9)));
        assert_eq!(super::timing(&[]).median_minutes, None);
        assert_eq!(super::timing(&[(30, 3), (5, 1)]).median_minutes, Some(30));
    }

    fn cube(kind: Kind, location: &str, cases: u64) -> ReportCube {
        ReportCube {
            kind,
            channel: Channel::Web,
            location: Some(location.to_owned()),
            product: None,
            stage: "new".into(),
            status: Status::New,
            cause: None,
            cases,
            responded: 0,
            resolved: 0,
        }
    }

    #[test]
    fn a_location_with_many_more_complaints_stands_out_and_a_small_one_does_not() {
        let rows = ReportRows {
            cube: vec![
                cube(Kind::Complaint, "north", 40),
                cube(Kind::Praise, "north", 10),
                cube(Kind::Complaint, "south", 10),
                cube(Kind::Praise, "south", 40),
                cube(Kind::Complaint, "east", 10),
                cube(Kind::Praise, "east", 40),
                cube(Kind::Complaint, "tiny", 3),
            ],
            ..ReportRows::default()
        };
        let spots = weak_spots(&rows);
        assert_eq!(spots.len(), 1, "{spots:?}");
        assert_eq!((spots[0].name.as_str(), spots[0].measure, spots[0].sure), ("north", "complaint_rate", 0.99));
        assert!((spots[0].value - 0.8).abs() < 1e-9);
    }

    #[test]
    fn an_empty_period_has_no_shares() {
        let figures = summarize(&ReportRows::default(), ICEBERG_FACTOR);
        assert_eq!(figures.cases, 0);
        assert_eq!(figures.deadlines.kept_share, None);
        assert_eq!(figures.csat.average, None);
        assert_eq!(figures.nps.score, None);
        assert_eq!(figures.iceberg.silent, 0);
    }
}

/// How many of a period's complaints (the newest) the rising topics are counted over.
pub const TOPIC_SAMPLE: usize = 5_000;

/// A complaint topic that rose: a word (stemmed, shown in its commonest form) or a pair of
/// words in more of this period's complaints than the period before would have it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Topic {
    /// The words as customers wrote them most often.
    pub words: String,
    /// This period's complaints (of those counted) that use it.
    pub cases: u64,
    /// The previous period's.
    pub previous_cases: u64,
    /// How many more complaints than the previous period's share would give.
    pub rise: f64,
    /// Up to ten of this period's complaints that use it, newest first.
    pub examples: Vec<i64>,
}

/// Frequent words of four letters or more that say nothing about a topic.
const TOPIC_STOP_WORDS: &[&str] = &[
    "этот",
    "этого",
    "было",
    "была",
    "были",
    "быть",
    "очень",
    "только",
    "когда",
    "потому",
    "чтобы",
    "который",
    "которые",
    "всем",
    "после",
    "вчера",
    "сегодня",
    "опять",
    "тоже",
    "просто",
    "ваши",
    "ваша",
    "ваше",
    "ваших",
    "пожалуйста",
    "спасибо",
    "здравствуйте",
    "почему",
    "сейчас",
    "есть",
    "если",
    "даже",
    "меня",
    "мене",
    "мной",
    "нами",
    "вами",
    "вообще",
    "цей",
    "цього",
    "була",
    "було",
    "були",
    "дуже",
    "тільки",
    "коли",
    "після",
    "вчора",
    "сьогодні",
    "знову",
    "також",
    "будь",
    "ласка",
    "дякую",
    "чому",
    "зараз",
    "якщо",
    "навіть",
    "this",
    "that",
    "with",
    "have",
    "from",
    "your",
    "were",
    "they",
    "there",
    "what",
    "when",
    "again",
    "please",
    "thanks",
    "very",
    "just",
    "been",
    "will",
    "would",
    "about",
    "after",
    "today",
    "yesterday",
];

/// The topics of one text: its content words (stemmed) and each pair of neighbours, with the
/// words as written.
fn topics_of(text: &str) -> BTreeMap<String, String> {
    let words: Vec<String> = crate::text::words(text).collect();
    let ukrainian = crate::text::looks_ukrainian(&words);
    let kept: Vec<(String, String)> = words
        .iter()
        .filter(|word| word.chars().count() >= 4 && !TOPIC_STOP_WORDS.contains(&word.as_str()))
        .filter(|word| word.chars().any(char::is_alphabetic))
        .map(|word| (crate::text::stem(word, ukrainian), word.clone()))
        .collect();
    let mut topics = BTreeMap::new();
    for (stem, word) in &kept {
        topics.entry(stem.clone()).or_insert_with(|| word.clone());
    }
    for pair in kept.windows(2) {
        topics.entry(format!("{} {}", pair[0].0, pair[1].0)).or_insert_with(|| format!("{} {}", pair[0].1, pair[1].1));
    }
    topics
}

/// The complaint topics that rose the most, from this period's and the previous period's
/// complaint texts (case id, first message; newest first): at least two complaints now, and
/// more than the previous period's share would give, by how many more.
pub fn rising_topics(now: &[(i64, String)], before: &[(i64, String)]) -> Vec<Topic> {
    #[derive(Default)]
    struct Seen {
        cases: u64,
        forms: BTreeMap<String, u64>,
        examples: Vec<i64>,
    }
    let mut current: BTreeMap<String, Seen> = BTreeMap::new();
    for (id, text) in now {
        for (topic, form) in topics_of(text) {
            let seen = current.entry(topic).or_default();
            seen.cases += 1;
            *seen.forms.entry(form).or_insert(0) += 1;
            if seen.examples.len() < 10 {
                seen.examples.push(*id);
            }
        }
    }
    let mut previous: BTreeMap<String, u64> = BTreeMap::new();
    for (_, text) in before {
        for topic in topics_of(text).into_keys() {
            *previous.entry(topic).or_insert(0) += 1;
        }
    }
    let (now_n, before_n) = (now.len().max(1) as f64, before.len().max(1) as f64);
    let mut topics: Vec<Topic> = current
        .into_iter()
        .filter(|(_, seen)| seen.cases >= 2)
        .map(|(topic, seen)| {
            let previous_cases = previous.get(&topic).copied().unwrap_or(0);
            let expected = previous_cases as f64 / before_n * now_n;
            let words =
                seen.forms.iter().max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0))).map(|(w, _)| w.clone());
            Topic {
                words: words.unwrap_or(topic),
                cases: seen.cases,
                previous_cases,
                rise: seen.cases as f64 - expected,
                examples: seen.examples,
            }
        })
        .filter(|topic| topic.rise >= 1.0)
        .collect();
    topics.sort_by(|a, b| {
        b.rise.total_cmp(&a.rise).then_with(|| b.cases.cmp(&a.cases)).then_with(|| a.words.cmp(&b.words))
    });
    // A pair adds nothing when one of its words rose in exactly the same complaints.
    let mut kept: Vec<Topic> = Vec::new();
    for topic in topics {
        let covered = topic.words.contains(' ')
            && kept.iter().any(|k| k.cases == topic.cases && topic.words.split(' ').any(|w| w == k.words));
        if !covered {
            kept.push(topic);
        }
        if kept.len() == 10 {
            break;
        }
    }
    kept
}

#[cfg(test)]
mod topic_tests {
    use super::*;

    #[test]
    fn a_word_in_more_complaints_than_before_rises_and_a_steady_one_does_not() {
        let texts =
            |list: &[&str]| list.iter().enumerate().map(|(n, t)| (n as i64 + 1, (*t).to_owned())).collect::<Vec<_>>();
        let now = texts(&[
            "Курьер опоздал на два часа",
            "Опять опоздал курьер, заказ холодный",
            "Пицца холодная, курьер опоздал",
            "Заказ перепутали",
        ]);
        let before = texts(&["Курьер был вежлив, но заказ перепутали", "Заказ перепутали снова"]);
        let topics = rising_topics(&now, &before);
        assert_eq!(topics[0].words, "опоздал", "{topics:?}");
        assert_eq!((topics[0].cases, topics[0].previous_cases), (3, 0));
        assert_eq!(topics[0].examples, [1, 2, 3]);
        assert!(!topics.iter().any(|t| t.words == "перепутали"), "fell from two in two to one in four");
        assert!(rising_topics(&[], &before).is_empty());
    }
}
