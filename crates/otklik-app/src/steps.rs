//! The playbooks at work: a case's allowed actions and taking one, the work around a case (tasks,
//! compensation, outbox, opportunities and its deadline clocks), tasks, and notifications.

use otklik_core::standard::{Draft, Finding};
use otklik_core::{
    Action, ActionInput, CaseFacts, CaseFilter, ClockFacts, DeadlineState, Effect, Kind, Language, Milestone, Refusal,
    Right, Role, Status,
};
use otklik_store::{CaseDetail, CaseState, CaseWork, NewTask, Notification, Recipient, Step, Task, TaskUpdate};
use time::{Duration, OffsetDateTime};

use crate::error::missing;
use crate::{Actor, App, AppError};

/// When an apology call or meeting is due if the person did not set a time: within this many
/// working hours.
pub const APOLOGY_WITHIN: Duration = Duration::hours(4);

/// What the house-standard checker found; `ok` is false when any finding is an error.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub ok: bool,
    pub language: Language,
    pub findings: Vec<Finding>,
}

/// Where a case stands in its playbook and what the actor may do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaybookActions {
    pub kind: Kind,
    pub stage: otklik_core::StageName,
    pub status: Status,
    /// The actions the actor's role may take now.
    pub actions: Vec<Action>,
}

/// A playbook step asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TakeAction {
    pub action: String,
    pub input: ActionInput,
    /// Send words the house-standard checker flagged anyway.
    pub override_standard: bool,
    /// The actor's language, for the checker's explanations.
    pub explain_in: Language,
}

/// Where one of a case's clocks stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockState {
    Ok,
    Warning,
    Breached,
    /// The milestone was reached.
    Met,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockView {
    pub milestone: Milestone,
    pub state: ClockState,
    /// When it is due; none while the clock is stopped (the case waits on the customer).
    pub due_at: Option<OffsetDateTime>,
    pub paused: bool,
}

/// The work around a case, with its clocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Work {
    pub work: CaseWork,
    pub clocks: Vec<ClockView>,
}

fn facts(state: &CaseState) -> CaseFacts<'_> {
    CaseFacts {
        stage: &state.case.stage,
        status: state.case.status,
        open_tasks: state.open_tasks,
        pending_compensations: state.pending_compensations,
        pending_amount: state.pending_amount,
    }
}

impl App {
    /// The actions the actor may take on a case now.
    pub async fn actions(&self, actor: &Actor, raw: &str) -> Result<PlaybookActions, AppError> {
        actor.require(Right::ReadCases)?;
        let current = self.case_state(raw).await?;
        let case = &current.case;
        let playbooks = &self.workflow.playbooks;
        let stage = playbooks.resolve_stage(case.kind, &case.stage, case.status);
        let actions = playbooks.allowed_actions(case.kind, &facts(&current), actor.role).into_iter().cloned().collect();
        Ok(PlaybookActions { kind: case.kind, stage: stage.name.clone(), status: stage.status, actions })
    }

    /// Takes a playbook action: the case moves, and what the step causes (the message owed to
    /// the customer, tasks, compensation, an opportunity, a follow-up) is stored with it at once.
    /// The roles an action names are the right to take it.
    pub async fn take(&self, actor: &Actor, raw: &str, request: TakeAction) -> Result<CaseDetail, AppError> {
        actor.require(Right::ReadCases)?;
        let current = self.case_state(raw).await?;
        let case = &current.case;
        let playbooks = &self.workflow.playbooks;
        let facts = facts(&current);
        let transition =
            playbooks.take(case.kind, &request.action, &facts, actor.role, &request.input).map_err(|refusal| {
                let allowed = || {
                    playbooks.allowed_actions(case.kind, &facts, actor.role).iter().map(|a| a.name.clone()).collect()
                };
                match refusal {
                    Refusal::UnknownAction { .. } | Refusal::NotInThisStage { .. } => {
                        AppError::Conflict { detail: refusal.to_string(), allowed: allowed() }
                    }
                    Refusal::RoleNotPermitted { .. } | Refusal::AboveLimit { .. } => {
                        AppError::Forbidden(refusal.to_string())
                    }
                    Refusal::RequirementUnmet { .. } | Refusal::CompensationNotOffered { .. } => {
                        AppError::Invalid(refusal.to_string())
                    }
                }
            })?;
        if transition.emits.is_some()
            && let Some(note) = &request.input.note
            && !request.override_standard
        {
            // The message is checked for what it is for: the second part of its template key.
            let purpose = transition.emits.as_deref().and_then(|key| key.split_once('.')).map(|(_, purpose)| purpose);
            let draft = Draft {
                text: note,
                kind: case.kind,
                public: case.public,
                language: None,
                purpose,
                audience: Some(case.audience),
            };
            let checked = self.check(&draft, request.explain_in);
            if !checked.ok {
                return Err(AppError::Standard(checked.findings));
            }
        }
        let stamp = actor.stamp(&*self.clock);
        let follow_up_at = transition.effects.iter().find_map(|effect| match effect {
            Effect::FollowUp { after_hours } => Some(stamp.at + Duration::hours(i64::from(*after_hours))),
            _ => None,
        });
        let apology_due_at = match (request.input.apology_task(), request.input.apology_at) {
            (None, _) => None,
            (Some(_), Some(at)) if at < stamp.at - Duration::minutes(5) || at > stamp.at + Duration::days(90) => {
                return Err(AppError::Invalid(
                    "apology_at: the call or meeting must be from now to 90 days ahead".to_owned(),
                ));
            }
            (Some(_), Some(at)) => Some(at),
            // Not agreed yet: within the working hours that follow, where the case is.
            (Some(_), None) => Some(
                self.workflow
                    .deadlines
                    .calendar_at(case.location.as_deref(), otklik_core::Hours::Business)
                    .add_business(stamp.at, APOLOGY_WITHIN),
            ),
        };
        let step = Step {
            transition,
            input: request.input,
            currency: playbooks.approval_limits().currency.clone(),
            channel: case.channel,
            follow_up_at,
            apology_due_at,
        };
        let emits = step.transition.emits.is_some();
        // The words a step sends on the parent of a public incident go to each linked comment.
        let said =
            (emits && case.public).then(|| step.input.note.clone()).flatten().map(|body| otklik_core::NewMessage {
                direction: otklik_core::Direction::Outbound,
                public: true,
                channel: case.channel,
                body,
                external_id: None,
                overridden: Vec::new(),
            });
        self.store.take_step(case.id, facts.stage, &step, stamp.clone()).await?;
        if let Some(said) = &said {
            self.answer_linked(case.id, said, &stamp).await?;
        }
        if emits {
            self.wake_outbox();
        }
        let detail = self.store.case(case.id).await?;
        if !detail.linked.is_empty() && matches!(detail.case.status, Status::Resolved | Status::Closed) {
            self.close_linked(&detail.case, &stamp).await?;
            return Ok(self.store.case(case.id).await?);
        }
        Ok(detail)
    }

    /// Whether a case of this kind in this stage carries a promised date (its playbook's
    /// `watch_due_date`), which stops its resolution clock.
    pub fn watches_due_date(&self, kind: Kind, stage: &str) -> bool {
        self.workflow.playbooks.get(kind).resolve_stage(stage, Status::Open).watch_due_date
    }

    /// A case's tasks, compensation ledger, outbox, opportunities and deadline clocks (none for
    /// a hidden case or one linked to a parent).
    pub async fn work(&self, actor: &Actor, raw: &str) -> Result<Work, AppError> {
        actor.require(Right::ReadCases)?;
        let case = self.case_state(raw).await?.case;
        let work = self.store.case_work(case.id).await?;
        let now = self.clock.now();
        let policy = &self.workflow.deadlines;
        let facts = ClockFacts {
            kind: case.kind,
            priority: case.priority,
            public: case.public,
            location: case.location.as_deref(),
            created_at: case.created_at,
            pauses: &work.pauses,
            first_response_at: work.first_response_at,
            resolved_at: work.resolved_at,
            watches_due_date: self.watches_due_date(case.kind, &case.stage),
            due_on: work.due_on,
        };
        // A hidden troll's comment, or a comment linked to its incident's parent, has no clock.
        let clockless = case.hidden || case.parent_id.is_some();
        let clocks = policy
            .clocks(&facts, now)
            .into_iter()
            .filter(|_| !clockless)
            .map(|reading| {
                let state = match (reading.met, reading.status.state) {
                    (true, _) => ClockState::Met,
                    (false, DeadlineState::Ok) => ClockState::Ok,
                    (false, DeadlineState::Warning) => ClockState::Warning,
                    (false, DeadlineState::Breached) => ClockState::Breached,
                };
                let status = reading.status;
                ClockView { milestone: reading.milestone, state, due_at: status.due_at, paused: status.paused }
            })
            .collect();
        Ok(Work { work, clocks })
    }

    /// Adds a task to a case (for an executor or an expert).
    pub async fn add_task(&self, actor: &Actor, raw: &str, task: NewTask) -> Result<Task, AppError> {
        actor.require(Right::WorkCases)?;
        let title = crate::input::line("title", Some(task.title))?
            .ok_or_else(|| AppError::Invalid("title: must not be blank".into()))?;
        let assignee = crate::input::line("assignee", task.assignee)?;
        let case = self.case_state(raw).await?.case;
        // A time it is due gives its day too.
        let due_on = task.due_at.map(|at| at.date()).or(task.due_on);
        let task = NewTask { title, assignee, due_on, due_at: task.due_at };
        Ok(self.store.add_task(case.id, task, actor.stamp(&*self.clock)).await?)
    }

    /// Changes a task's status or comments on it: anybody's task with `work_any_task`, one's own
    /// with `work_own_tasks`.
    pub async fn update_task(&self, actor: &Actor, task_id: i64, update: TaskUpdate) -> Result<Task, AppError> {
        actor.require(Right::WorkOwnTasks)?;
        let update =
            TaskUpdate { status: update.status, comment: crate::input::optional_text("comment", update.comment)? };
        if update == TaskUpdate::default() {
            return Err(AppError::Invalid("give a status, a comment or both".into()));
        }
        if !actor.role.has(Right::WorkAnyTask) {
            let mine = match &actor.person {
                Some(person) => self.store.tasks_for(person).await?.iter().any(|task| task.id == task_id),
                None => false,
            };
            if !mine {
                return Err(AppError::Forbidden(format!(
                    "the `{}` role may change only its own open tasks",
                    actor.role
                )));
            }
        }
        self.store
            .update_task(task_id, update, actor.stamp(&*self.clock))
            .await
            .map_err(missing(|| format!("no task {task_id}")))
    }

    /// Open tasks assigned to someone (the actor by default; an integration has none of its
    /// own), the earliest due first.
    pub async fn tasks(&self, actor: &Actor, assignee: Option<String>) -> Result<Vec<Task>, AppError> {
        actor.require(Right::WorkOwnTasks)?;
        let assignee = crate::input::line("assignee", assignee)?;
        let Some(assignee) = assignee.or_else(|| actor.person.clone()) else {
            return Ok(Vec::new());
        };
        if actor.person.as_ref() != Some(&assignee) && !actor.role.has(Right::WorkAnyTask) {
            return Err(AppError::Forbidden(format!("the `{}` role may see only its own tasks", actor.role)));
        }
        Ok(self.store.tasks_for(&assignee).await?)
    }

    /// Open opportunities and leads for sales, with when their case falls due, the soonest first.
    pub async fn opportunities(
        &self,
        actor: &Actor,
    ) -> Result<Vec<(otklik_store::Opportunity, Option<time::OffsetDateTime>)>, AppError> {
        actor.require(Right::ReadCases)?;
        Ok(self.store.open_opportunities(200).await?)
    }

    /// The playbooks, business hours and deadlines in force.
    pub fn workflow_in_force(&self, actor: &Actor) -> Result<&otklik_core::Workflow, AppError> {
        actor.require(Right::ManagePlaybooks)?;
        Ok(&self.workflow)
    }

    /// Checks a business's own playbook file line by line, without using it: every mistake with
    /// its line, or what the file holds.
    pub fn check_workflow(
        &self,
        actor: &Actor,
        source: &str,
    ) -> Result<Result<otklik_core::Workflow, otklik_core::PlaybookErrors>, AppError> {
        actor.require(Right::ManagePlaybooks)?;
        Ok(otklik_core::Workflow::from_toml(source))
    }

    /// What waits for a decision only a manager may take: cases with compensation waiting for
    /// approval, and cases in a stage whose way on is an action for managers alone (an idea
    /// awaiting approval), newest first.
    pub async fn approvals(&self, actor: &Actor) -> Result<Vec<otklik_core::Case>, AppError> {
        actor.require(Right::ReadCases)?;
        let open = CaseFilter { open_only: true, limit: 200, ..CaseFilter::default() };
        let mut found = self.store.list_cases(&CaseFilter { pending_compensation: true, ..open.clone() }).await?.items;
        for kind in Kind::ALL {
            let playbook = self.workflow.playbooks.get(*kind);
            for stage in &playbook.stages {
                let managers_only = playbook.actions.iter().any(|action| {
                    action.from.contains(stage)
                        && action.to.is_some()
                        && action.roles.contains(&Role::Manager)
                        && !action.roles.contains(&Role::Agent)
                        && !action.requires.contains(&otklik_core::Requirement::PendingCompensation)
                });
                if managers_only {
                    let filter = CaseFilter { kind: Some(*kind), stage: Some(stage.name.to_string()), ..open.clone() };
                    found.extend(self.store.list_cases(&filter).await?.items);
                }
            }
        }
        found.sort_by_key(|case| std::cmp::Reverse(case.id));
        found.dedup_by_key(|case| case.id);
        Ok(found)
    }

    /// Notifications for the actor: those addressed to their role and, for a person, to them;
    /// newest first.
    pub async fn notifications(&self, actor: &Actor) -> Result<Vec<Notification>, AppError> {
        actor.require(Right::ReadCases)?;
        let mut found = self.store.notifications(&Recipient::Role(actor.role)).await?;
        if let Some(person) = &actor.person {
            found.extend(self.store.notifications(&Recipient::User(person.clone())).await?);
        }
        found.sort_by_key(|n| std::cmp::Reverse(n.id));
        Ok(found)
    }
}
