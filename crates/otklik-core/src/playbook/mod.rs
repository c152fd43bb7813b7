//! Playbooks: the standard reaction to each kind of feedback, as data. Stages a case moves
//! through, actions that move it, who may take them and what they need and cause. The engine
//! only decides; storing the change, sending the message and running the effects is the caller's.

mod load;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;

use crate::compensation::{ApprovalLimits, Compensation, CompensationOffer};
use crate::vocab::{ApologyForm, Kind, Role, StageName, Status, UnknownWord, vocabulary};

pub use load::{PlaybookError, PlaybookErrors, Workflow};

/// The playbooks of every kind and the compensation limits they apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Playbooks {
    playbooks: BTreeMap<Kind, Playbook>,
    approval_limits: ApprovalLimits,
}

/// The playbook of one kind of feedback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Playbook {
    pub kind: Kind,
    /// The stage a new case (or a case whose kind changes to this one) enters.
    pub initial: String,
    pub stages: Vec<Stage>,
    pub actions: Vec<Action>,
}

/// A step of a playbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub name: StageName,
    /// The coarse status a case in this stage shows.
    pub status: Status,
    /// The case waits on the customer: deadline clocks stop.
    pub waits_on_customer: bool,
    /// The playbook ends here; no action leaves a terminal stage.
    pub terminal: bool,
    /// The case carries a date promised to the customer (set by an action with `set_due_date`,
    /// as an accepted idea's delivery date): its resolution clock stops here and the date is
    /// watched instead (a warning before it, breach and escalation after it).
    pub watch_due_date: bool,
    /// Earlier names of the stage, so cases stored under them still find it.
    pub formerly: Vec<String>,
}

/// The stages an action may be taken in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageSet {
    /// Every stage that is not terminal (`from = ["*"]`).
    AnyOpen,
    Only(Vec<String>),
}

impl StageSet {
    /// True when an action with this set may be taken in `stage`.
    pub fn contains(&self, stage: &Stage) -> bool {
        match self {
            StageSet::AnyOpen => !stage.terminal,
            StageSet::Only(names) => names.iter().any(|name| stage.name == name.as_str()),
        }
    }
}

/// Something a person does on a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub name: String,
    pub from: StageSet,
    /// The stage the case moves to; `None` when it stays where it is.
    pub to: Option<String>,
    /// Who may take it. Admin may take every action; a manager every action an agent may take.
    pub roles: Vec<Role>,
    pub requires: Vec<Requirement>,
    /// The key of the customer-facing message template it sends, e.g. `complaint.apology`.
    pub emits: Option<String>,
    pub effects: Vec<Effect>,
}

impl Action {
    /// True when `role` may take this action.
    pub fn permits(&self, role: Role) -> bool {
        role == Role::Admin
            || self.roles.contains(&role)
            || (role == Role::Manager && self.roles.contains(&Role::Agent))
    }
}

vocabulary! {
    /// A condition an action needs: on the case, or on what the person gives with it.
    Requirement as "requirement" {
        /// Every task on the case is done.
        NoOpenTasks = "no_open_tasks",
        /// No compensation waits for a manager's approval.
        NoPendingCompensation = "no_pending_compensation",
        /// Some compensation waits for approval (there is something to approve).
        PendingCompensation = "pending_compensation",
        /// Why, in words ([`ActionInput::reason`]).
        Reason = "reason",
        /// A date ([`ActionInput::due_date`]).
        DueDate = "due_date",
        /// A new lead's contact details ([`ActionInput::lead_contact`]).
        LeadContact = "lead_contact",
        /// A note in words ([`ActionInput::note`]).
        Note = "note",
        /// How the apology is made, one form or more ([`ActionInput::apology_forms`]).
        ApologyForm = "apology_form",
    }
}

/// Work an action leaves for the caller to do, besides moving the case and sending `emits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// Hand the customer to sales as an opportunity.
    CreateOpportunity,
    /// A task for an executor: what is [`ActionInput::note`], due on [`ActionInput::due_date`].
    CreateTask,
    /// Record [`ActionInput::lead_contact`] as a lead for sales.
    RecordLead,
    /// The action may carry [`ActionInput::compensation`].
    OfferCompensation,
    /// Approve the compensation waiting for approval (within the approver's own limit).
    ApproveCompensation,
    /// Reject the compensation waiting for approval, for [`ActionInput::reason`].
    RejectCompensation,
    /// The case's resolution is due on [`ActionInput::due_date`] (an accepted idea).
    SetDueDate,
    /// Ask the customer again after this many hours unless the case moved on by then.
    FollowUp { after_hours: u32 },
}

impl Effect {
    /// The words of the effects, as written in a playbook file.
    pub const WORDS: &'static [&'static str] = &[
        "create_opportunity",
        "create_task",
        "record_lead",
        "offer_compensation",
        "approve_compensation",
        "reject_compensation",
        "set_due_date",
        "follow_up(<hours>h)",
    ];

    /// What the action must require for the caller to carry this effect out.
    pub fn needs(self) -> &'static [Requirement] {
        match self {
            Effect::CreateTask => &[Requirement::Note, Requirement::DueDate],
            Effect::RecordLead => &[Requirement::LeadContact],
            Effect::SetDueDate => &[Requirement::DueDate],
            Effect::ApproveCompensation => &[Requirement::PendingCompensation],
            Effect::RejectCompensation => &[Requirement::PendingCompensation, Requirement::Reason],
            Effect::CreateOpportunity | Effect::OfferCompensation | Effect::FollowUp { .. } => &[],
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = match self {
            Effect::CreateOpportunity => "create_opportunity",
            Effect::CreateTask => "create_task",
            Effect::RecordLead => "record_lead",
            Effect::OfferCompensation => "offer_compensation",
            Effect::ApproveCompensation => "approve_compensation",
            Effect::RejectCompensation => "reject_compensation",
            Effect::SetDueDate => "set_due_date",
            Effect::FollowUp { after_hours } => return write!(f, "follow_up({after_hours}h)"),
        };
        f.write_str(word)
    }
}

impl FromStr for Effect {
    type Err = UnknownWord;
    fn from_str(s: &str) -> Result<Self, UnknownWord> {
        let unknown = || UnknownWord { vocabulary: "effect", given: s.to_owned(), allowed: Effect::WORDS };
        if let Some(hours) = s.strip_prefix("follow_up(").and_then(|rest| rest.strip_suffix("h)")) {
            return hours.parse().map(|after_hours| Effect::FollowUp { after_hours }).map_err(|_| unknown());
        }
        Ok(match s {
            "create_opportunity" => Effect::CreateOpportunity,
            "create_task" => Effect::CreateTask,
            "record_lead" => Effect::RecordLead,
            "offer_compensation" => Effect::OfferCompensation,
            "approve_compensation" => Effect::ApproveCompensation,
            "reject_compensation" => Effect::RejectCompensation,
            "set_due_date" => Effect::SetDueDate,
            _ => return Err(unknown()),
        })
    }
}

/// What the engine needs to know about a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseFacts<'a> {
    /// The stage as stored; it may name a stage the playbook has since renamed or removed.
    pub stage: &'a str,
    /// The status as stored, used to place a case whose stage no longer exists.
    pub status: Status,
    pub open_tasks: u32,
    pub pending_compensations: u32,
    /// The amount of the compensation next in line for approval (the oldest pending one).
    pub pending_amount: Option<u64>,
}

/// What a person gives with an action; the action's requirements say which parts it needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionInput {
    pub reason: Option<String>,
    pub due_date: Option<Date>,
    pub lead_contact: Option<String>,
    pub note: Option<String>,
    /// How the apology is made: one or more forms, each once, in the order given.
    pub apology_forms: Vec<ApologyForm>,
    /// When the apology call or meeting is to happen, if the person set it (see
    /// [`ActionInput::apology_task`]).
    pub apology_at: Option<OffsetDateTime>,
    pub compensation: Option<Compensation>,
}

impl ActionInput {
    /// The apology form that is work with a time, a call or a meeting (a meeting if both), for
    /// the task the step creates: someone must make the call or hold the meeting by then.
    pub fn apology_task(&self) -> Option<ApologyForm> {
        [ApologyForm::Meeting, ApologyForm::Call].into_iter().find(|form| self.apology_forms.contains(form))
    }
}

/// An action the engine allowed: what the caller stores, sends and schedules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub kind: Kind,
    pub action: String,
    pub from: StageName,
    /// Equal to `from` when the action keeps the case where it is.
    pub to: StageName,
    /// The status of the stage the case is in afterwards.
    pub status: Status,
    pub waits_on_customer: bool,
    pub terminal: bool,
    pub emits: Option<String>,
    pub effects: Vec<Effect>,
    pub compensation: Option<CompensationOffer>,
}

/// Why an action was not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the {kind} playbook has no action `{action}`")]
    UnknownAction { kind: Kind, action: String },
    #[error("`{action}` cannot be taken in stage `{stage}`; allowed now: {}", list(allowed))]
    NotInThisStage { action: String, stage: String, allowed: Vec<String> },
    #[error("a user with role {role} may not take `{action}`; it is for: {}", list(roles))]
    RoleNotPermitted { action: String, role: Role, roles: Vec<Role> },
    #[error("`{action}` needs {requirement}: {why}")]
    RequirementUnmet { action: String, requirement: Requirement, why: String },
    #[error("`{action}` does not offer compensation")]
    CompensationNotOffered { action: String },
    #[error(
        "`{action}`: the compensation of {amount} is above the limit of {limit} for role {role}; someone with a higher limit (an admin) approves it"
    )]
    AboveLimit { action: String, role: Role, amount: u64, limit: u64 },
}

fn list<T: fmt::Display>(items: &[T]) -> String {
    if items.is_empty() {
        return "nothing".to_owned();
    }
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

impl Playbook {
    /// The stage named `name`, under its current name only.
    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|stage| stage.name == name)
    }

    /// The action named `name`.
    pub fn action(&self, name: &str) -> Option<&Action> {
        self.actions.iter().find(|action| action.name == name)
    }

    /// The stage new cases enter.
    pub fn initial_stage(&self) -> &Stage {
        self.stage(&self.initial).unwrap_or(&self.stages[0])
    }

    /// The stage a stored case is in: by name, else by a former name, else the first stage with
    /// the stored status, else the initial stage. A changed playbook never strands a case.
    pub fn resolve_stage(&self, stored_stage: &str, stored_status: Status) -> &Stage {
        self.stage(stored_stage)
            .or_else(|| self.stages.iter().find(|stage| stage.formerly.iter().any(|name| name == stored_stage)))
            .or_else(|| self.stages.iter().find(|stage| stage.status == stored_status))
            .unwrap_or_else(|| self.initial_stage())
    }

    /// The actions `role` may take on a case with these facts; requirements are checked on taking.
    pub fn allowed_actions(&self, facts: &CaseFacts, role: Role) -> Vec<&Action> {
        let stage = self.resolve_stage(facts.stage, facts.status);
        self.actions.iter().filter(|action| action.from.contains(stage) && action.permits(role)).collect()
    }
}

impl Playbooks {
    /// The built-in playbooks (`playbooks/default.toml`).
    pub fn builtin() -> Playbooks {
        Workflow::builtin().playbooks
    }

    /// Parses and checks a playbook file; the file's other sections are checked too.
    pub fn from_toml(source: &str) -> Result<Playbooks, PlaybookErrors> {
        Workflow::from_toml(source).map(|workflow| workflow.playbooks)
    }

    /// The playbook of `kind`; every kind has one.
    pub fn get(&self, kind: Kind) -> &Playbook {
        &self.playbooks[&kind]
    }

    /// Who may grant how much compensation without approval.
    pub fn approval_limits(&self) -> &ApprovalLimits {
        &self.approval_limits
    }

    /// See [`Playbook::resolve_stage`].
    pub fn resolve_stage(&self, kind: Kind, stored_stage: &str, stored_status: Status) -> &Stage {
        self.get(kind).resolve_stage(stored_stage, stored_status)
    }

    /// The stage a case enters when its kind changes to `new_kind`: that playbook's initial stage.
    pub fn entry_on_kind_change(&self, new_kind: Kind) -> &Stage {
        self.get(new_kind).initial_stage()
    }

    /// See [`Playbook::allowed_actions`].
    pub fn allowed_actions(&self, kind: Kind, facts: &CaseFacts, role: Role) -> Vec<&Action> {
        self.get(kind).allowed_actions(facts, role)
    }

    /// Checks that `role` may take `action` on a case of `kind` with these facts and input, and
    /// says what follows. Compensation above the role's limit is offered pending approval.
    pub fn take(
        &self,
        kind: Kind,
        action: &str,
        facts: &CaseFacts,
        role: Role,
        input: &ActionInput,
    ) -> Result<Transition, Refusal> {
        let playbook = self.get(kind);
        let stage = playbook.resolve_stage(facts.stage, facts.status);
        let Some(chosen) = playbook.action(action) else {
            return Err(Refusal::UnknownAction { kind, action: action.to_owned() });
        };
        if !chosen.from.contains(stage) {
            let allowed = playbook.allowed_actions(facts, role).iter().map(|action| action.name.clone()).collect();
            return Err(Refusal::NotInThisStage {
                action: chosen.name.clone(),
                stage: stage.name.to_string(),
                allowed,
            });
        }
        if !chosen.permits(role) {
            return Err(Refusal::RoleNotPermitted { action: chosen.name.clone(), role, roles: chosen.roles.clone() });
        }
        for &requirement in &chosen.requires {
            if let Some(why) = unmet(requirement, facts, input) {
                return Err(Refusal::RequirementUnmet { action: chosen.name.clone(), requirement, why });
            }
        }
        // A listed limit holds for approving as it does for granting.
        if chosen.effects.contains(&Effect::ApproveCompensation)
            && let Some(amount) = facts.pending_amount
            && let Some(limit) = self.approval_limits.limit(role)
            && amount > limit
        {
            return Err(Refusal::AboveLimit { action: chosen.name.clone(), role, amount, limit });
        }
        let compensation = match &input.compensation {
            None => None,
            Some(_) if !chosen.effects.contains(&Effect::OfferCompensation) => {
                return Err(Refusal::CompensationNotOffered { action: chosen.name.clone() });
            }
            Some(compensation) => Some(CompensationOffer {
                compensation: compensation.clone(),
                needs_approval: self.approval_limits.needs_approval(role, compensation.amount),
                approver: self.approval_limits.approver(compensation.amount),
            }),
        };
        let target = chosen.to.as_deref().and_then(|name| playbook.stage(name)).unwrap_or(stage);
        Ok(Transition {
            kind,
            action: chosen.name.clone(),
            from: stage.name.clone(),
            to: target.name.clone(),
            status: target.status,
            waits_on_customer: target.waits_on_customer,
            terminal: target.terminal,
            emits: chosen.emits.clone(),
            effects: chosen.effects.clone(),
            compensation,
        })
    }
}

/// Why `requirement` is not met, in words; `None` when it is.
fn unmet(requirement: Requirement, facts: &CaseFacts, input: &ActionInput) -> Option<String> {
    let given = |text: &Option<String>| text.as_deref().is_some_and(|text| !text.trim().is_empty());
    match requirement {
        Requirement::NoOpenTasks if facts.open_tasks > 0 => Some(format!("{} task(s) still open", facts.open_tasks)),
        Requirement::NoPendingCompensation if facts.pending_compensations > 0 => {
            Some(format!("{} compensation(s) wait for a manager's approval", facts.pending_compensations))
        }
        Requirement::PendingCompensation if facts.pending_compensations == 0 => {
            Some("no compensation waits for approval".to_owned())
        }
        Requirement::Reason if !given(&input.reason) => Some("give the reason".to_owned()),
        Requirement::Note if !given(&input.note) => Some("write a note".to_owned()),
        Requirement::LeadContact if !given(&input.lead_contact) => Some("give the lead's contact details".to_owned()),
        Requirement::DueDate if input.due_date.is_none() => Some("give a due date".to_owned()),
        Requirement::ApologyForm if input.apology_forms.is_empty() => {
            Some("choose how to apologise (call, email, letter, handwritten_letter, meeting)".to_owned())
        }
        _ => None,
    }
}
