//! The project's own labelled corpus (`corpus/*.csv`, written for Otklik), embedded in the binary,
//! and its fixed split: a text whose FNV-1a hash is divisible by five is held out for evaluation
//! and never trained on. The shipped model is trained from the rest.

use std::str::FromStr;

use otklik_core::{Audience, Channel, Kind, Language, Sentiment};

use crate::model::{Digest, Task};
use crate::{Cause, TriageError};

macro_rules! corpus_files {
    ($($name:literal),+ $(,)?) => {
        &[$(($name, include_str!(concat!("../corpus/", $name)))),+]
    };
}

/// Every corpus file, by name, with its contents.
pub(crate) const FILES: &[(&str, &str)] = corpus_files![
    "complaint_ru.csv",
    "complaint_uk.csv",
    "complaint_en.csv",
    "idea_ru.csv",
    "idea_uk.csv",
    "idea_en.csv",
    "question_ru.csv",
    "question_uk.csv",
    "question_en.csv",
    "praise_ru.csv",
    "praise_uk.csv",
    "praise_en.csv",
    "referral_ru.csv",
    "referral_uk.csv",
    "referral_en.csv",
    "public_ru.csv",
    "public_uk.csv",
    "public_en.csv",
    "mention_ru.csv",
    "mention_uk.csv",
    "mention_en.csv",
    "hard_cases.csv",
    "more_complaint_ru.csv",
    "more_complaint_uk.csv",
    "more_complaint_en.csv",
    "more_idea_ru.csv",
    "more_idea_uk.csv",
    "more_idea_en.csv",
    "more_praise_ru.csv",
    "more_praise_uk.csv",
    "more_praise_en.csv",
    "more_referral_ru.csv",
    "more_referral_uk.csv",
    "more_referral_en.csv",
    "extra_complaint_ru.csv",
    "extra_complaint_uk.csv",
    "extra_complaint_en.csv",
    "extra_idea_ru.csv",
    "extra_idea_uk.csv",
    "extra_idea_en.csv",
    "extra_question_ru.csv",
    "extra_question_uk.csv",
    "extra_question_en.csv",
    "extra_praise_ru.csv",
    "extra_praise_uk.csv",
    "extra_praise_en.csv",
    "extra_referral_ru.csv",
    "extra_referral_uk.csv",
    "extra_referral_en.csv",
    "boundary_complaint_ru.csv",
    "boundary_complaint_uk.csv",
    "boundary_complaint_en.csv",
    "boundary_praise_ru.csv",
    "boundary_praise_uk.csv",
    "boundary_praise_en.csv",
    "news_mention_ru.csv",
    "news_mention_uk.csv",
    "news_mention_en.csv",
    "varied_complaint_ru.csv",
    "varied_complaint_uk.csv",
    "varied_complaint_en.csv",
    "varied_idea_ru.csv",
    "varied_idea_uk.csv",
    "varied_idea_en.csv",
    "varied_question_ru.csv",
    "varied_question_uk.csv",
    "varied_question_en.csv",
    "varied_praise_ru.csv",
    "varied_praise_uk.csv",
    "varied_praise_en.csv",
    "varied_referral_ru.csv",
    "varied_referral_uk.csv",
    "varied_referral_en.csv",
    "everyday_complaint_ru.csv",
    "everyday_complaint_uk.csv",
    "everyday_complaint_en.csv",
    "everyday_idea_ru.csv",
    "everyday_idea_uk.csv",
    "everyday_idea_en.csv",
    "everyday_question_ru.csv",
    "everyday_question_uk.csv",
    "everyday_question_en.csv",
    "everyday_praise_ru.csv",
    "everyday_praise_uk.csv",
    "everyday_praise_en.csv",
    "everyday_referral_ru.csv",
    "everyday_referral_uk.csv",
    "everyday_referral_en.csv",
    "social_complaint_ru.csv",
    "social_complaint_uk.csv",
    "social_complaint_en.csv",
    "social_idea_ru.csv",
    "social_idea_uk.csv",
    "social_idea_en.csv",
    "social_question_ru.csv",
    "social_question_uk.csv",
    "social_question_en.csv",
    "social_praise_ru.csv",
    "social_praise_uk.csv",
    "social_praise_en.csv",
    "social_referral_ru.csv",
    "social_referral_uk.csv",
    "social_referral_en.csv",
    "audience_ru.csv",
    "audience_uk.csv",
    "audience_en.csv",
];

/// Which part of the corpus to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// The four fifths the shipped model is trained on.
    Train,
    /// The fifth kept back for evaluation.
    HeldOut,
}

/// One labelled text of the corpus.
#[derive(Debug, Clone, PartialEq)]
pub struct CorpusRow {
    pub text: String,
    /// `None` for a text that is no feedback at all (a news-like mention of a company).
    pub kind: Option<Kind>,
    pub sentiment: Sentiment,
    /// `None` for a text that is not a public comment.
    pub audience: Option<Audience>,
    /// Set on complaints whose cause can be told.
    pub cause: Option<Cause>,
    pub language: Language,
    pub channel: Channel,
}

impl CorpusRow {
    /// The row's label for a task, if it has one.
    pub fn label(&self, task: Task) -> Option<&'static str> {
        match task {
            Task::Kind => self.kind.map(Kind::as_str),
            Task::Sentiment => Some(self.sentiment.as_str()),
            Task::Audience => self.audience.map(Audience::as_str),
            Task::Cause => self.cause.map(Cause::as_str),
        }
    }
}

/// True when a text belongs to the held-out fifth of the corpus.
pub fn is_held_out(text: &str) -> bool {
    let mut digest = Digest::new();
    digest.write(text.as_bytes());
    digest.finish().is_multiple_of(5)
}

/// Every row of the embedded corpus, in file order.
pub fn corpus() -> Result<Vec<CorpusRow>, TriageError> {
    let mut rows = Vec::new();
    for (name, contents) in FILES {
        parse_file(name, contents, &mut rows)?;
    }
    Ok(rows)
}

/// The `(text, label)` rows of one part of the corpus for a task.
pub fn corpus_rows(task: Task, split: Split) -> Result<Vec<(String, String)>, TriageError> {
    let wanted = split == Split::HeldOut;
    Ok(corpus()?
        .into_iter()
        .filter(|row| is_held_out(&row.text) == wanted)
        .filter_map(|row| Some((row.label(task)?.to_owned(), row)))
        .map(|(label, row)| (row.text, label))
        .collect())
}

fn parse_file(name: &str, contents: &str, rows: &mut Vec<CorpusRow>) -> Result<(), TriageError> {
    let path = std::path::PathBuf::from(format!("corpus/{name}"));
    let error = |line: u64, reason: String| TriageError::Csv { path: path.clone(), line, reason };
    let mut reader = csv::Reader::from_reader(contents.as_bytes());
    let expected = ["text", "kind", "sentiment", "audience", "cause", "language", "channel"];
    let headers = reader.headers().map_err(|e| error(1, e.to_string()))?;
    if headers.iter().ne(expected) {
        return Err(error(1, format!("the header must be {}", expected.join(","))));
    }
    for record in reader.records() {
        let record = record.map_err(|e| error(0, e.to_string()))?;
        let line = record.position().map_or(0, |position| position.line());
        let field = |index: usize| record.get(index).unwrap_or_default().trim();
        let row = parse_row(&field).map_err(|reason| error(line, reason))?;
        rows.push(row);
    }
    Ok(())
}

fn parse_row<'a>(field: &impl Fn(usize) -> &'a str) -> Result<CorpusRow, String> {
    let text = field(0);
    if text.is_empty() {
        return Err("empty text".to_owned());
    }
    let row = CorpusRow {
        text: text.to_owned(),
        kind: optional(field(1))?,
        sentiment: required(field(2))?,
        audience: optional(field(3))?.filter(|audience| *audience != Audience::None),
        cause: optional(field(4))?,
        language: required(field(5))?,
        channel: required(field(6))?,
    };
    if row.cause.is_some() && row.kind != Some(Kind::Complaint) {
        return Err("a cause is given only for complaints".to_owned());
    }
    if row.kind == Some(Kind::Unclassified) {
        return Err("`unclassified` is no label: leave the kind empty".to_owned());
    }
    Ok(row)
}

fn required<T: FromStr>(word: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    word.parse().map_err(|error: T::Err| error.to_string())
}

fn optional<T: FromStr>(word: &str) -> Result<Option<T>, String>
where
    T::Err: std::fmt::Display,
{
    if word.is_empty() { Ok(None) } else { required(word).map(Some) }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::detect_language;

    fn rows() -> Vec<CorpusRow> {
        corpus().unwrap_or_else(|error| panic!("the corpus does not parse: {error}"))
    }

    #[test]
    fn every_file_in_the_corpus_folder_is_embedded() {
        let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus");
        let on_disk: BTreeSet<String> = std::fs::read_dir(folder)
            .expect("the corpus folder")
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| name.ends_with(".csv"))
            .collect();
        let embedded: BTreeSet<String> = FILES.iter().map(|(name, _)| (*name).to_owned()).collect();
        assert_eq!(on_disk, embedded);
    }

    #[test]
    fn every_kind_has_at_least_three_hundred_examples() {
        let rows = rows();
        for kind in &Kind::ALL[..5] {
            let count = rows.iter().filter(|row| row.kind == Some(*kind)).count();
            assert!(count >= 300, "{kind}: {count}");
        }
    }

    #[test]
    fn texts_are_not_repeated() {
        let rows = rows();
        let mut seen = BTreeSet::new();
        for row in &rows {
            assert!(seen.insert(row.text.to_lowercase()), "repeated: {}", row.text);
        }
    }

    #[test]
    fn the_held_out_part_is_about_a_fifth() {
        let rows = rows();
        let held_out = rows.iter().filter(|row| is_held_out(&row.text)).count();
        let share = held_out as f64 / rows.len() as f64;
        assert!((0.15..0.25).contains(&share), "{share}");
    }

    #[test]
    fn the_language_column_agrees_with_detection() {
        let rows = rows();
        let disagreements: Vec<&CorpusRow> =
            rows.iter().filter(|row| detect_language(&row.text) != row.language).collect();
        let share = disagreements.len() as f64 / rows.len() as f64;
        assert!(share < 0.03, "{share}: {:#?}", &disagreements[..disagreements.len().min(20)]);
    }
}
