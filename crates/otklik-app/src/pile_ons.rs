//! Friends pile on: comments on one public incident — under the same post, or at the same
//! location within a few hours in similar words — are linked to one parent case. The reply on
//! the parent is the brand's answer to all of them, and closing the parent closes them, each
//! with its event. A person may link and unlink by hand.

use std::collections::HashSet;

use otklik_core::{Case, CasePatch, Direction, NewMessage, Right, Status};
use otklik_store::{CaseDetail, Stamp};
use time::Duration;

use crate::{Actor, App, AppError};

/// How far back a comment under the same post still joins its incident.
pub const SAME_POST_WITHIN: Duration = Duration::days(7);
/// How far back a public comment at the same location in similar words joins its incident.
pub const SAME_LOCATION_WITHIN: Duration = Duration::hours(3);
/// How alike two texts at one location must be to be one incident: the share of their stemmed
/// words (three letters or more) they have in common (Jaccard).
pub const SIMILAR_WORDS: f64 = 0.3;

impl App {
    /// Links a case to the parent case of its incident, or (`parent` none) unlinks it.
    pub async fn link(&self, actor: &Actor, raw: &str, parent: Option<&str>) -> Result<CaseDetail, AppError> {
        actor.require(Right::WorkCases)?;
        let case = self.case_state(raw).await?.case;
        let parent = match parent {
            Some(parent) => {
                let parent = self.case_state(parent).await?.case;
                // Only a public comment piles on, and only onto an incident still open: a linked
                // case has no clock of its own and waits for its parent's answer.
                if !case.public {
                    return Err(AppError::Invalid("only a public comment is linked to an incident".into()));
                }
                if matches!(parent.status, Status::Resolved | Status::Closed) {
                    return Err(AppError::Conflict {
                        detail: format!("{} is {}: link to an open incident", parent.reference(), parent.status),
                        allowed: Vec::new(),
                    });
                }
                Some((parent.id, parent.reference().to_string()))
            }
            None => None,
        };
        let reference = case.reference().to_string();
        self.store.link_case(case.id, parent, &reference, actor.stamp(&*self.clock)).await?;
        Ok(self.store.case(case.id).await?)
    }

    /// Links new public feedback to the incident it piles on to, if it finds one. A failure is
    /// logged, never the submitter's problem: the case stands on its own.
    pub(crate) async fn pile_on(&self, case: &Case) {
        if !case.public || case.hidden {
            return;
        }
        if let Err(error) = self.join_incident(case).await {
            tracing::warn!(case = %case.reference(), %error, "could not look for the incident a comment piles on to");
        }
    }

    async fn join_incident(&self, case: &Case) -> Result<(), AppError> {
        let (since, near) = (case.created_at - SAME_POST_WITHIN, case.created_at - SAME_LOCATION_WITHIN);
        let candidates = self.store.pile_on_candidates(case, since, near).await?;
        if candidates.is_empty() {
            return Ok(());
        }
        let own = terms(&self.store.case(case.id).await?.messages.first().map(|m| m.body.clone()).unwrap_or_default());
        let recent = |id: i64| id < case.id;
        let parent = candidates.iter().find(|c| c.same_place && recent(c.case_id)).map(|c| c.case_id).or_else(|| {
            candidates
                .iter()
                .filter(|c| !c.same_place && recent(c.case_id))
                .map(|c| (c.case_id, jaccard(&own, &terms(&c.text))))
                .filter(|(_, alike)| *alike >= SIMILAR_WORDS)
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(id, _)| id)
        });
        let Some(parent) = parent else { return Ok(()) };
        let parent = self.store.case(parent).await?.case;
        let stamp = Stamp { at: self.clock.now(), actor: "triage".into() };
        let reference = case.reference().to_string();
        self.store.link_case(case.id, Some((parent.id, parent.reference().to_string())), &reference, stamp).await?;
        Ok(())
    }

    /// The brand's public answer on a parent goes to every open case linked to it too.
    pub(crate) async fn answer_linked(&self, parent: i64, message: &NewMessage, stamp: &Stamp) -> Result<(), AppError> {
        if message.direction != Direction::Outbound || !message.public {
            return Ok(());
        }
        for linked in self.store.linked_cases(parent).await? {
            if matches!(linked.status, Status::Resolved | Status::Closed) || !linked.public {
                continue;
            }
            let copy = NewMessage { channel: linked.channel, ..message.clone() };
            self.store.add_message(linked.id, copy, stamp.clone()).await?;
        }
        Ok(())
    }

    /// A parent that reached resolved or closed closes the open cases linked to it, each with
    /// its own status event.
    pub(crate) async fn close_linked(&self, parent: &Case, stamp: &Stamp) -> Result<(), AppError> {
        if !matches!(parent.status, Status::Resolved | Status::Closed) {
            return Ok(());
        }
        for linked in self.store.linked_cases(parent.id).await? {
            if matches!(linked.status, Status::Resolved | Status::Closed) {
                continue;
            }
            let patch = CasePatch { status: Some(Status::Closed), ..CasePatch::default() };
            self.store.update_case(linked.id, &patch, stamp.clone()).await?;
        }
        Ok(())
    }
}

fn terms(text: &str) -> HashSet<String> {
    otklik_core::text::search_terms(text).into_iter().filter(|term| term.chars().count() >= 3).collect()
}

fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 { 0.0 } else { a.intersection(b).count() as f64 / union as f64 }
}
