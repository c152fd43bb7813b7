//! Cases: finding one by id or reference, listing and searching, correcting a case (the rules of
//! what a correction may change live here), and writing on it — a reply to the customer, checked
//! against the house standard, or an internal note.

use std::str::FromStr;

use otklik_core::standard::{self, Draft, Severity};
use otklik_core::{
    Case, CaseFilter, CasePatch, CaseRef, Cursor, Direction, Kind, Language, Message, NewMessage, Page, Right, Status,
};
use otklik_store::{CaseDetail, CaseState};
use time::OffsetDateTime;

use crate::error::missing;
use crate::steps::Checked;
use crate::{Actor, App, AppError};

/// How a caller names a case: its id (`123`) or its reference (`OT-2026-000123`). A
/// reference's year is part of it: `OT-2025-000007` does not name case 7 if that case is from 2026.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseAddress {
    pub id: i64,
    year: Option<i32>,
}

impl FromStr for CaseAddress {
    type Err = AppError;

    fn from_str(raw: &str) -> Result<CaseAddress, AppError> {
        if let Ok(id) = raw.parse::<i64>() {
            return Ok(CaseAddress { id, year: None });
        }
        let reference = raw.parse::<CaseRef>().map_err(|_| {
            AppError::NotFound(format!("`{raw}` is neither a case id nor a reference like OT-2026-000123"))
        })?;
        Ok(CaseAddress { id: reference.number, year: Some(reference.year) })
    }
}

impl CaseAddress {
    fn check(&self, raw: &str, case: &Case) -> Result<(), AppError> {
        match self.year {
            Some(year) if year != case.created_at.year() => Err(AppError::NotFound(format!("no case `{raw}`"))),
            _ => Ok(()),
        }
    }
}

/// A queue by deadline risk: the earliest running clock of an unresolved case is…
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueRisk {
    /// …past due;
    Breached,
    /// …due within the hour;
    WithinHour,
    /// …due later than that.
    Later,
}

/// What an agent writes on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WritingKind {
    /// To the customer, on the case's channel.
    Reply,
    /// Between staff; never shown to the customer.
    Note,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Writing {
    pub kind: WritingKind,
    pub body: String,
    /// A reply seen by others too (a public thread); a reply is public unless said otherwise.
    pub public: Option<bool>,
    /// Send words the house-standard checker flagged anyway (recorded with the message).
    pub override_standard: bool,
    /// The writer's language, for the checker's explanations.
    pub explain_in: Language,
}

impl App {
    /// One case with its customer, messages and history.
    pub async fn case(&self, actor: &Actor, raw: &str) -> Result<CaseDetail, AppError> {
        actor.require(Right::ReadCases)?;
        let address: CaseAddress = raw.parse()?;
        let detail = self.store.case(address.id).await.map_err(missing(|| format!("no case `{raw}`")))?;
        address.check(raw, &detail.case)?;
        Ok(detail)
    }

    /// A file kept with a case, with its content.
    pub async fn attachment(
        &self,
        actor: &Actor,
        raw: &str,
        id: i64,
    ) -> Result<(otklik_store::AttachmentInfo, Vec<u8>), AppError> {
        let case = self.case(actor, raw).await?.case;
        self.store.attachment(case.id, id).await.map_err(missing(|| format!("no attachment {id} on case `{raw}`")))
    }

    /// A page of cases, newest first, or ranked by a search. A cursor pages only the listing it
    /// came from: a search's (`o…`) with a query, a plain listing's (`b…`) without one.
    pub async fn cases(&self, actor: &Actor, filter: &CaseFilter) -> Result<Page<Case>, AppError> {
        actor.require(Right::ReadCases)?;
        let ranked = filter.query.is_some() || filter.sort.by_offset();
        let other_listing = match (ranked, filter.cursor) {
            (true, Some(Cursor::Before(_))) => Some("a plain listing's; a search or a sorted listing pages with `o…`"),
            (false, Some(Cursor::Offset(_))) => Some("a search's; a plain listing pages with `b…`"),
            _ => None,
        };
        if let Some(whose) = other_listing {
            return Err(AppError::Conflict {
                detail: format!("cursor: it is {whose}; start again without a cursor"),
                allowed: Vec::new(),
            });
        }
        Ok(self.store.list_cases(filter).await?)
    }

    /// The beginning of each listed case's first message, for a listing's rows.
    pub async fn previews(
        &self,
        actor: &Actor,
        cases: &[Case],
    ) -> Result<std::collections::HashMap<i64, String>, AppError> {
        actor.require(Right::ReadCases)?;
        let ids: Vec<i64> = cases.iter().map(|case| case.id).collect();
        Ok(self.store.previews(&ids, 160).await?.into_iter().collect())
    }

    /// The people a case or a task can be given to: everyone active, by username.
    pub async fn assignees(&self, actor: &Actor) -> Result<Vec<otklik_store::UserRecord>, AppError> {
        actor.require(Right::ReadCases)?;
        let mut people = self.store.users().await?;
        people.retain(|person| person.active);
        Ok(people)
    }

    /// The bounds of a queue by deadline risk, from now: (due from, due before).
    pub fn due_bounds(&self, risk: DueRisk) -> (Option<OffsetDateTime>, Option<OffsetDateTime>) {
        let now = self.clock.now();
        let hour = now + time::Duration::hours(1);
        match risk {
            DueRisk::Breached => (None, Some(now)),
            DueRisk::WithinHour => (Some(now), Some(hour)),
            DueRisk::Later => (Some(hour), None),
        }
    }

    /// A number that grows whenever a case is created or changes anywhere (on any node): a page
    /// compares it with the one it was drawn at to know it is out of date.
    pub async fn last_change(&self, actor: &Actor) -> Result<i64, AppError> {
        actor.require(Right::ReadCases)?;
        Ok(self.store.last_event_id().await?)
    }

    /// Reply templates that follow the house standard, for a kind, a language and an audience
    /// (each optional).
    pub fn templates(
        &self,
        actor: &Actor,
        kind: Option<Kind>,
        language: Option<Language>,
        public: Option<bool>,
    ) -> Result<Vec<&'static standard::Template>, AppError> {
        actor.require(Right::WorkCases)?;
        Ok(standard::templates()
            .iter()
            .filter(|t| kind.is_none_or(|kind| t.kind == kind))
            .filter(|t| language.is_none_or(|language| t.language == language))
            .filter(|t| public.is_none_or(|public| t.public.is_none_or(|only| only == public)))
            .collect())
    }

    /// A case with what the playbook engine needs, for operations that change it.
    pub(crate) async fn case_state(&self, raw: &str) -> Result<CaseState, AppError> {
        let address: CaseAddress = raw.parse()?;
        let found = self.store.case_state(address.id).await.map_err(missing(|| format!("no case `{raw}`")))?;
        address.check(raw, &found.case)?;
        Ok(found)
    }

    /// Corrects a case: kind, priority, assignee, location, tags… each change an event. A case's
    /// status follows its playbook: only an actor with `set_status` sets it, or changes the kind of
    /// a finished case (which would reopen it). A corrected kind moves the case into the start of
    /// that kind's playbook; only a complaint has a cause.
    pub async fn correct(&self, actor: &Actor, raw: &str, mut patch: CasePatch) -> Result<CaseDetail, AppError> {
        actor.require(Right::WorkCases)?;
        if patch.is_empty() {
            return Err(AppError::Invalid("the patch changes nothing: give at least one field".into()));
        }
        if patch.status.is_some() && !actor.role.has(Right::SetStatus) {
            return Err(AppError::Forbidden(
                "a case's status follows its playbook: take an action (GET /api/v1/feedback/{id}/actions lists them); \
                 only an admin sets it directly"
                    .into(),
            ));
        }
        patch.employees = patch.employees.map(crate::input::employees).transpose()?;
        let case = self.case_state(raw).await?.case;
        if patch.kind.unwrap_or(case.kind) != Kind::Complaint && matches!(patch.cause, Some(Some(_))) {
            return Err(AppError::Invalid("cause: only a complaint has a cause".into()));
        }
        if let Some(kind) = patch.kind
            && kind != case.kind
        {
            if matches!(case.status, Status::Resolved | Status::Closed) && !actor.role.has(Right::SetStatus) {
                return Err(AppError::Forbidden(format!(
                    "the case is {}: changing its kind would reopen it, which only an admin may do",
                    case.status
                )));
            }
            let entry = self.workflow.playbooks.entry_on_kind_change(kind);
            patch.stage = Some(entry.name.clone());
            patch.status.get_or_insert(entry.status);
        }
        let stamp = actor.stamp(&*self.clock);
        let corrected = self.store.update_case(case.id, &patch, stamp.clone()).await?;
        if patch.status.is_some() {
            self.close_linked(&corrected.case, &stamp).await?;
            return Ok(self.store.case(case.id).await?);
        }
        Ok(corrected)
    }

    /// Writes a reply or a note on a case. A reply must meet the house standard unless the writer
    /// overrides it; it counts as the case's first response.
    pub async fn write(&self, actor: &Actor, raw: &str, writing: Writing) -> Result<Message, AppError> {
        actor.require(Right::WorkCases)?;
        let body = crate::input::text("body", &writing.body)?;
        let case = self.case_state(raw).await?.case;
        let (direction, public) = match writing.kind {
            WritingKind::Reply => (Direction::Outbound, writing.public.unwrap_or(true)),
            WritingKind::Note if writing.public == Some(true) => {
                return Err(AppError::Invalid("public: a note is never shown to the customer".into()));
            }
            WritingKind::Note => (Direction::Note, false),
        };
        let mut overridden = Vec::new();
        if direction == Direction::Outbound {
            let draft = Draft {
                text: &body,
                kind: case.kind,
                public: public && case.public,
                language: None,
                purpose: None,
                audience: Some(case.audience),
            };
            let checked = self.check(&draft, writing.explain_in);
            if !checked.ok && !writing.override_standard {
                return Err(AppError::Standard(checked.findings));
            }
            // Sent anyway: which rules were overridden is kept in the case's history.
            overridden = checked
                .findings
                .into_iter()
                .filter(|finding| finding.severity == Severity::Error)
                .map(|finding| finding.rule)
                .collect();
            overridden.dedup();
        }
        let message = NewMessage { direction, public, channel: case.channel, body, external_id: None, overridden };
        let stamp = actor.stamp(&*self.clock);
        let written = self.store.add_message(case.id, message.clone(), stamp.clone()).await?;
        // On the parent of a public incident, the answer is the brand's answer to every comment.
        self.answer_linked(case.id, &message, &stamp).await?;
        let message = written;
        if direction == Direction::Outbound && public {
            self.wake_outbox();
        }
        Ok(message)
    }

    /// "Move to private": a public comment or review gets the brand's standard public line
    /// (`public.move_private`, inviting the customer to a private conversation), and the case
    /// goes on in private: its answers are no longer public.
    pub async fn move_to_private(&self, actor: &Actor, raw: &str) -> Result<Case, AppError> {
        actor.require(Right::WorkCases)?;
        let case = self.case_state(raw).await?.case;
        if !case.public {
            return Err(AppError::Conflict { detail: "the case is private already".into(), allowed: Vec::new() });
        }
        self.store.move_to_private(case.id, "public.move_private", actor.stamp(&*self.clock)).await?;
        self.wake_outbox();
        Ok(self.store.case(case.id).await?.case)
    }

    /// Checks a draft against the house standard, explaining in `explain_in`.
    pub fn check(&self, draft: &Draft, explain_in: Language) -> Checked {
        let findings = standard::check(&self.rules, draft, explain_in);
        Checked {
            ok: !findings.iter().any(|finding| finding.severity == Severity::Error),
            language: draft.language.unwrap_or_else(|| standard::detect_language_of(draft.text)),
            findings,
        }
    }

    /// Checks a draft for a person writing one. A stated purpose must be one the playbooks'
    /// messages or the rules know.
    pub fn check_draft(&self, actor: &Actor, draft: &Draft, explain_in: Language) -> Result<Checked, AppError> {
        actor.require(Right::WorkCases)?;
        if let Some(purpose) = draft.purpose {
            let known = self.purposes();
            if !known.iter().any(|known| known == purpose) {
                return Err(AppError::Invalid(format!("purpose: `{purpose}` is not one of {}", known.join(", "))));
            }
        }
        Ok(self.check(draft, explain_in))
    }

    /// The purposes a message can have: the second parts of the template keys the playbooks
    /// emit (and of the follow-ups), and those the house-standard rules name.
    pub fn purposes(&self) -> Vec<String> {
        let mut purposes: Vec<String> = self.rules.purposes().into_iter().map(str::to_owned).collect();
        for kind in otklik_core::Kind::ALL {
            let playbook = self.workflow.playbooks.get(*kind);
            for key in playbook.actions.iter().filter_map(|action| action.emits.as_deref()) {
                if let Some((_, purpose)) = key.split_once('.') {
                    purposes.push(purpose.to_owned());
                }
            }
        }
        purposes.extend(["follow_up".to_owned(), "received".to_owned()]);
        purposes.sort_unstable();
        purposes.dedup();
        purposes
    }
}
