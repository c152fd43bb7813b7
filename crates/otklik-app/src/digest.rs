//! The weekly digest to the managers: last week's headline figures against the week before, its
//! weak spots and the three cases worth reading, in each reader's language. Every node's clock
//! work asks for it once the business's Monday morning has come; the store records each week's
//! digest once, so with several nodes it still goes out once. A reader with an e-mail address
//! gets it through the outbox on e-mail; every reader finds a notice in the workspace.

use std::collections::HashMap;

use otklik_core::{Language, Right, Role, in_time_zone};
use otklik_store::{DigestLetter, UserRecord, WorthReading};
use time::{Duration, OffsetDateTime, Weekday};

use crate::reports::{Period, Report};
use crate::{Actor, App, AppError};

/// The business's hour on Monday from which last week's digest is due.
pub const DIGEST_HOUR: u8 = 8;
/// How many cases a digest names as worth reading.
pub const WORTH_READING: u32 = 3;

/// What a week's digest says, before it is put in a reader's words.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    pub report: Report,
    /// The complaints of the week worth a manager's reading, most telling first.
    pub worth_reading: Vec<WorthReading>,
}

/// A reader's digest in their words: the letter (plain text) and the notice in the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestText {
    pub letter: String,
    pub notice: String,
}

/// What one call of `send_weekly_digest` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DigestSent {
    pub digest_id: Option<i64>,
    /// Readers told in the workspace.
    pub readers: usize,
    /// Of them, those whose letter was queued on e-mail.
    pub letters: usize,
}

/// The language a person reads their digest in: the workspace's they chose, Russian when none.
pub fn reader_language(reader: &UserRecord) -> Language {
    reader.language.filter(|language| *language != Language::Other).unwrap_or(Language::Ru)
}

impl App {
    /// The week whose digest is due at `now`: the Monday-to-Sunday before the business's current
    /// week, once its Monday has reached `DIGEST_HOUR`; none before that, or when it was sent.
    pub async fn digest_due(&self, now: OffsetDateTime) -> Result<Option<Period>, AppError> {
        let local = in_time_zone(self.workflow.deadlines.calendar.time_zone(), now).unwrap_or(now);
        let monday = local.date() - Duration::days(i64::from(local.weekday().number_days_from_monday()));
        if local.weekday() == Weekday::Monday && local.hour() < DIGEST_HOUR {
            return Ok(None);
        }
        let period = Period::new(monday - Duration::days(7), monday - Duration::days(1))?;
        if self.store.digest_recorded(period.from).await? {
            return Ok(None);
        }
        Ok(Some(period))
    }

    /// What the digest of `period` says: the report against the week before, and the cases
    /// worth reading.
    pub async fn digest(&self, actor: &Actor, period: Period) -> Result<Digest, AppError> {
        actor.require(Right::ViewReports)?;
        let report = self.report(actor, period).await?;
        let (from, to) = self.bounds(period);
        let worth_reading = self.store.worth_reading(from, to, WORTH_READING).await?;
        Ok(Digest { report, worth_reading })
    }

    /// Sends the digest of `period` to every active person who may see reports, each in their
    /// language (the workspace's they chose; Russian when none): `words` puts the digest in a
    /// language. Recorded once per week: a second call (on this node or another) sends nothing.
    /// A week with no cases, after a week with none, goes to no one.
    pub async fn send_weekly_digest(
        &self,
        period: Period,
        words: impl Fn(&Digest, Language) -> DigestText,
    ) -> Result<DigestSent, AppError> {
        let system = Actor { name: "system".into(), role: Role::Admin, scope: "system".into(), person: None };
        let digest = self.digest(&system, period).await?;
        // A week with nothing in it or the week before (a new installation) is recorded, so it
        // is not asked again, and sent to no one.
        let quiet = digest.report.current.cases == 0 && digest.report.previous.cases == 0;
        let readers: Vec<_> = self
            .store
            .users()
            .await?
            .into_iter()
            .filter(|user| !quiet && user.active && user.role.has(Right::ViewReports))
            .collect();
        let mut texts: HashMap<Language, DigestText> = HashMap::new();
        let mut letters = Vec::with_capacity(readers.len());
        for reader in &readers {
            let language = reader_language(reader);
            let text = texts.entry(language).or_insert_with(|| words(&digest, language)).clone();
            letters.push(DigestLetter {
                user_id: reader.id,
                username: reader.username.clone(),
                email: reader.email.is_some(),
                body: text.letter,
                notice: text.notice,
            });
        }
        let digest_id = self.store.record_digest(period.from, period.to, &letters, self.clock.now()).await?;
        if digest_id.is_none() {
            return Ok(DigestSent::default());
        }
        self.wake_outbox();
        Ok(DigestSent { digest_id, readers: letters.len(), letters: letters.iter().filter(|l| l.email).count() })
    }
}
