//! The default playbooks walked end to end, happy and unhappy paths; stage resolution after a
//! playbook changes; and broken playbook files refused with every mistake on its line.

use otklik_core::{
    ActionInput, ApologyForm, CaseFacts, Compensation, CompensationKind, Effect, Kind, Playbooks, Refusal, Requirement,
    Role, Status, Transition, Workflow,
};
use time::macros::date;

/// A case as the caller would keep it between actions.
struct Case {
    kind: Kind,
    stage: otklik_core::StageName,
    status: Status,
    open_tasks: u32,
    pending_compensations: u32,
    playbooks: Playbooks,
}

impl Case {
    fn new(kind: Kind) -> Case {
        let playbooks = Playbooks::builtin();
        let entry = playbooks.get(kind).initial_stage().clone();
        Case { kind, stage: entry.name, status: entry.status, open_tasks: 0, pending_compensations: 0, playbooks }
    }

    fn facts(&self) -> CaseFacts<'_> {
        CaseFacts {
            stage: self.stage.as_str(),
            status: self.status,
            open_tasks: self.open_tasks,
            pending_compensations: self.pending_compensations,
            pending_amount: (self.pending_compensations > 0).then_some(1_000_000),
        }
    }

    fn try_take(&mut self, action: &str, role: Role, input: ActionInput) -> Result<Transition, Refusal> {
        let transition = self.playbooks.take(self.kind, action, &self.facts(), role, &input)?;
        self.stage.clone_from(&transition.to);
        self.status = transition.status;
        if transition.effects.contains(&Effect::CreateTask) {
            self.open_tasks += 1;
        }
        if transition.effects.contains(&Effect::ApproveCompensation)
            || transition.effects.contains(&Effect::RejectCompensation)
        {
            self.pending_compensations -= 1;
        }
        if transition.compensation.as_ref().is_some_and(|offer| offer.needs_approval) {
            self.pending_compensations += 1;
        }
        Ok(transition)
    }

    fn take(&mut self, action: &str, role: Role, input: ActionInput) -> Transition {
        self.try_take(action, role, input).unwrap_or_else(|refusal| panic!("{action} refused: {refusal}"))
    }

    fn allowed(&self, role: Role) -> Vec<String> {
        self.playbooks.allowed_actions(self.kind, &self.facts(), role).iter().map(|a| a.name.clone()).collect()
    }
}

fn none() -> ActionInput {
    ActionInput::default()
}

fn note(text: &str) -> ActionInput {
    ActionInput { note: Some(text.into()), ..ActionInput::default() }
}

fn reason(text: &str) -> ActionInput {
    ActionInput { reason: Some(text.into()), ..ActionInput::default() }
}

fn task(text: &str) -> ActionInput {
    ActionInput { note: Some(text.into()), due_date: Some(date!(2026 - 03 - 20)), ..ActionInput::default() }
}

fn unmet(result: Result<Transition, Refusal>) -> Requirement {
    match result {
        Err(Refusal::RequirementUnmet { requirement, .. }) => requirement,
        other => panic!("expected an unmet requirement, got {other:?}"),
    }
}

// ── The built-in file ───────────────────────────────────────────────────────────────────────

#[test]
fn builtin_file_is_valid_and_has_every_kind() {
    let workflow = Workflow::builtin();
    for kind in Kind::ALL {
        let playbook = workflow.playbooks.get(*kind);
        assert_eq!(playbook.kind, *kind);
        assert_eq!(playbook.initial_stage().status, Status::New);
    }
    assert_eq!(workflow.deadlines.calendar.time_zone(), "Europe/Moscow");
    assert_eq!(workflow.playbooks.approval_limits().currency, "RUB");
}

// ── Complaint ───────────────────────────────────────────────────────────────────────────────

#[test]
fn complaint_walks_to_resolution_and_hands_the_customer_to_sales() {
    let mut case = Case::new(Kind::Complaint);
    let apology = ActionInput { apology_forms: vec![ApologyForm::Call], ..none() };
    let acknowledged = case.take("acknowledge", Role::Agent, apology);
    assert_eq!(acknowledged.emits.as_deref(), Some("complaint.apology"));
    assert_eq!((acknowledged.from.as_str(), acknowledged.to.as_str()), ("new", "acknowledged"));
    case.take("start_work", Role::Agent, none());
    let tasked = case.take("add_task", Role::Agent, task("replace the broken kettle"));
    assert_eq!(tasked.to, "in_progress", "adding a task keeps the stage");
    case.take("report_progress", Role::Executor, note("ordered a new kettle"));
    case.take("offer_solution", Role::Agent, note("a new kettle by Friday"));
    assert_eq!(unmet(case.try_take("ask_if_resolved", Role::Agent, none())), Requirement::NoOpenTasks);
    case.open_tasks = 0;
    let asked = case.take("ask_if_resolved", Role::Agent, none());
    assert!(asked.waits_on_customer);
    assert_eq!(asked.status, Status::WaitingOnCustomer);
    assert_eq!(asked.effects, vec![Effect::FollowUp { after_hours: 72 }]);
    let resolved = case.take("confirm_resolved", Role::Agent, none());
    assert_eq!(resolved.status, Status::Resolved);
    assert!(resolved.terminal);
    assert_eq!(resolved.effects, vec![Effect::CreateOpportunity]);
    assert!(case.allowed(Role::Admin).is_empty(), "nothing leaves a terminal stage");
}

#[test]
fn complaint_not_resolved_goes_back_to_work() {
    let mut case = Case::new(Kind::Complaint);
    case.take("acknowledge", Role::Agent, ActionInput { apology_forms: vec![ApologyForm::Email], ..none() });
    case.take("start_work", Role::Agent, none());
    case.take("offer_solution", Role::Agent, note("we will re-deliver"));
    case.take("ask_if_resolved", Role::Agent, none());
    assert_eq!(unmet(case.try_take("not_resolved", Role::Agent, none())), Requirement::Note);
    let back = case.take("not_resolved", Role::Agent, note("the parcel never came"));
    assert_eq!(back.to, "in_progress");
    assert_eq!(back.status, Status::Open);
    assert!(!back.waits_on_customer);
    case.take("offer_solution", Role::Agent, note("courier today"));
    case.take("ask_if_resolved", Role::Agent, none());
    assert_eq!(case.take("confirm_resolved", Role::Agent, none()).to, "resolved");
}

#[test]
fn complaint_acknowledgement_needs_a_chosen_apology_form() {
    let mut case = Case::new(Kind::Complaint);
    assert_eq!(unmet(case.try_take("acknowledge", Role::Agent, none())), Requirement::ApologyForm);
}

#[test]
fn a_call_or_a_meeting_is_the_apology_that_becomes_a_task() {
    let forms = |forms: &[ApologyForm]| ActionInput { apology_forms: forms.to_vec(), ..none() };
    assert_eq!(forms(&[ApologyForm::Letter, ApologyForm::HandwrittenLetter, ApologyForm::Email]).apology_task(), None);
    assert_eq!(forms(&[ApologyForm::HandwrittenLetter, ApologyForm::Call]).apology_task(), Some(ApologyForm::Call));
    assert_eq!(forms(&[ApologyForm::Call, ApologyForm::Meeting]).apology_task(), Some(ApologyForm::Meeting));
    assert_eq!("handwritten_letter".parse::<ApologyForm>(), Ok(ApologyForm::HandwrittenLetter));
    // Several forms satisfy the requirement as one does.
    let mut case = Case::new(Kind::Complaint);
    let step = case.take("acknowledge", Role::Agent, forms(&[ApologyForm::Call, ApologyForm::HandwrittenLetter]));
    assert_eq!(step.to, "acknowledged");
}

#[test]
fn compensation_over_the_agents_limit_waits_for_a_manager() {
    let mut case = Case::new(Kind::Complaint);
    case.take("acknowledge", Role::Agent, ActionInput { apology_forms: vec![ApologyForm::Meeting], ..none() });
    case.take("start_work", Role::Agent, none());
    let refund = Compensation { kind: CompensationKind::Refund, amount: 1_200_000, description: None };
    let input = ActionInput { compensation: Some(refund.clone()), ..note("full refund") };
    let offered = case.take("offer_solution", Role::Agent, input);
    let offer = offered.compensation.expect("the compensation is offered");
    assert_eq!(offer.compensation, refund);
    assert!(offer.needs_approval, "12 000 RUB is above the agent's 5 000 RUB");
    assert_eq!(unmet(case.try_take("ask_if_resolved", Role::Agent, none())), Requirement::NoPendingCompensation);
    assert!(matches!(
        case.try_take("approve_compensation", Role::Agent, none()),
        Err(Refusal::RoleNotPermitted { role: Role::Agent, .. })
    ));
    case.take("approve_compensation", Role::Manager, none());
    assert_eq!(case.pending_compensations, 0);
    assert_eq!(unmet(case.try_take("approve_compensation", Role::Manager, none())), Requirement::PendingCompensation);
    assert_eq!(case.take("ask_if_resolved", Role::Agent, none()).to, "awaiting_confirmation");
}

#[test]
fn a_managers_listed_limit_holds_for_approving_and_a_manager_may_reject_with_a_reason() {
    let file =
        include_str!("../playbooks/default.toml").replace("agent = 500_000", "agent = 100_000\nmanager = 500_000");
    let playbooks = Playbooks::from_toml(&file).expect("the file with a manager's limit loads");
    let facts = |amount| CaseFacts {
        stage: "solution_offered",
        status: Status::Open,
        open_tasks: 0,
        pending_compensations: 1,
        pending_amount: Some(amount),
    };
    // Within the manager's limit: approved; above it: refused, naming both figures; an admin
    // has no limit.
    assert!(playbooks.take(Kind::Complaint, "approve_compensation", &facts(500_000), Role::Manager, &none()).is_ok());
    let refused =
        playbooks.take(Kind::Complaint, "approve_compensation", &facts(500_001), Role::Manager, &none()).unwrap_err();
    assert!(matches!(refused, Refusal::AboveLimit { amount: 500_001, limit: 500_000, .. }), "{refused}");
    assert!(refused.to_string().contains("500001") && refused.to_string().contains("500000"), "{refused}");
    assert!(playbooks.take(Kind::Complaint, "approve_compensation", &facts(u64::MAX), Role::Admin, &none()).is_ok());
    // Rejecting needs a reason and is for managers.
    let rejected = playbooks.take(Kind::Complaint, "reject_compensation", &facts(500_001), Role::Manager, &none());
    assert!(
        matches!(rejected, Err(Refusal::RequirementUnmet { requirement: Requirement::Reason, .. })),
        "{rejected:?}"
    );
    let by_agent = playbooks.take(Kind::Complaint, "reject_compensation", &facts(1), Role::Agent, &reason("дорого"));
    assert!(matches!(by_agent, Err(Refusal::RoleNotPermitted { .. })), "{by_agent:?}");
    let done = playbooks
        .take(
            Kind::Complaint,
            "reject_compensation",
            &facts(500_001),
            Role::Manager,
            &reason("выше политики возвратов"),
        )
        .unwrap();
    assert_eq!(done.effects, vec![Effect::RejectCompensation]);
    assert_eq!(done.to, "in_progress", "back to work: the agent offers something else");
}

#[test]
fn compensation_within_the_limit_or_by_a_manager_needs_no_approval() {
    let playbooks = Playbooks::builtin();
    let facts = CaseFacts {
        stage: "in_progress",
        status: Status::Open,
        open_tasks: 0,
        pending_compensations: 0,
        pending_amount: None,
    };
    let discount = Compensation { kind: CompensationKind::Discount, amount: 500_000, description: None };
    let input = ActionInput { compensation: Some(discount), ..note("10% off") };
    for role in [Role::Agent, Role::Manager, Role::Admin] {
        let offered = playbooks.take(Kind::Complaint, "offer_solution", &facts, role, &input).unwrap();
        assert!(!offered.compensation.unwrap().needs_approval, "{role}");
    }
    let bigger = ActionInput {
        compensation: Some(Compensation { kind: CompensationKind::Gift, amount: 50_000_000, description: None }),
        ..note("a gift certificate")
    };
    let by_manager = playbooks.take(Kind::Complaint, "offer_solution", &facts, Role::Manager, &bigger).unwrap();
    assert!(!by_manager.compensation.unwrap().needs_approval);
}

#[test]
fn compensation_on_an_action_that_does_not_offer_it_is_refused() {
    let playbooks = Playbooks::builtin();
    let facts = CaseFacts {
        stage: "in_progress",
        status: Status::Open,
        open_tasks: 0,
        pending_compensations: 0,
        pending_amount: None,
    };
    let input = ActionInput {
        compensation: Some(Compensation { kind: CompensationKind::Other, amount: 1, description: None }),
        ..note("x")
    };
    let refusal = playbooks.take(Kind::Complaint, "report_progress", &facts, Role::Agent, &input).unwrap_err();
    assert!(matches!(refusal, Refusal::CompensationNotOffered { .. }), "{refusal:?}");
}

// ── Idea ────────────────────────────────────────────────────────────────────────────────────

fn idea_awaiting_approval() -> Case {
    let mut case = Case::new(Kind::Idea);
    assert_eq!(case.take("thank_and_assess", Role::Agent, none()).emits.as_deref(), Some("idea.thanks"));
    case.take("consult_expert", Role::Agent, task("can the app export to PDF?"));
    case.take("submit_for_approval", Role::Agent, note("feasible, two weeks of work"));
    case
}

#[test]
fn idea_declined_without_a_reason_is_refused_and_with_one_the_customer_is_told() {
    let mut case = idea_awaiting_approval();
    let refusal = case.try_take("decline", Role::Manager, none()).unwrap_err();
    assert_eq!(refusal.to_string(), "`decline` needs reason: give the reason");
    assert_eq!(unmet(case.try_take("decline", Role::Manager, reason("   "))), Requirement::Reason);
    assert_eq!(case.take("decline", Role::Manager, reason("conflicts with the law on receipts")).to, "declined");
    let told = case.take("tell_declined", Role::Agent, none());
    assert_eq!(told.emits.as_deref(), Some("idea.declined"));
    assert_eq!(told.status, Status::Closed);
    assert!(told.terminal);
}

#[test]
fn idea_accepted_with_a_due_date_is_implemented_and_announced() {
    let mut case = idea_awaiting_approval();
    assert!(matches!(
        case.try_take("accept", Role::Agent, none()),
        Err(Refusal::RoleNotPermitted { role: Role::Agent, .. })
    ));
    assert_eq!(unmet(case.try_take("accept", Role::Manager, none())), Requirement::DueDate);
    let due = ActionInput { due_date: Some(date!(2026 - 06 - 01)), ..none() };
    let accepted = case.take("accept", Role::Manager, due);
    assert_eq!(accepted.effects, vec![Effect::SetDueDate]);
    assert_eq!(case.take("tell_accepted", Role::Agent, none()).emits.as_deref(), Some("idea.accepted"));
    assert_eq!(unmet(case.try_take("mark_implemented", Role::Executor, none())), Requirement::NoOpenTasks);
    case.open_tasks = 0;
    case.take("mark_implemented", Role::Executor, none());
    let shipped = case.take("tell_implemented", Role::Agent, none());
    assert_eq!(shipped.emits.as_deref(), Some("idea.implemented"));
    assert_eq!(shipped.to, "shipped");
}

// ── Question, praise, referral ──────────────────────────────────────────────────────────────

#[test]
fn question_is_answered_with_an_expert_then_closed_into_an_opportunity() {
    let mut case = Case::new(Kind::Question);
    let asked = case.take("consult_expert", Role::Agent, task("which voltage does model X need?"));
    assert_eq!((asked.from.as_str(), asked.to.as_str()), ("new", "new"), "asking an expert keeps the stage");
    assert_eq!(asked.effects, vec![Effect::CreateTask]);
    let answered = case.take("answer", Role::Executor, note("220 V"));
    assert_eq!(answered.emits.as_deref(), Some("question.answer"));
    assert_eq!(answered.status, Status::Resolved);
    case.take("answer_again", Role::Agent, note("and 50 Hz"));
    let closed = case.take("close", Role::Agent, none());
    assert_eq!(closed.effects, vec![Effect::CreateOpportunity]);
    assert_eq!(closed.status, Status::Closed);
}

#[test]
fn praise_is_thanked_and_handed_to_sales() {
    let mut case = Case::new(Kind::Praise);
    assert_eq!(case.take("thank", Role::Agent, none()).emits.as_deref(), Some("praise.thanks"));
    let handed = case.take("hand_to_sales", Role::Sales, none());
    assert_eq!(handed.effects, vec![Effect::CreateOpportunity]);
    assert!(handed.terminal);
}

#[test]
fn referral_lead_is_recorded_contacted_and_lost_with_a_reason() {
    let mut case = Case::new(Kind::Referral);
    assert_eq!(unmet(case.try_take("record_lead", Role::Agent, none())), Requirement::LeadContact);
    let lead = ActionInput { lead_contact: Some("Ivan, +7 900 000-00-00".into()), ..none() };
    assert_eq!(case.take("record_lead", Role::Agent, lead).effects, vec![Effect::RecordLead]);
    assert_eq!(case.take("contact_lead", Role::Sales, note("called")).emits.as_deref(), Some("referral.thanks"));
    assert!(matches!(case.try_take("win", Role::Agent, none()), Err(Refusal::RoleNotPermitted { .. })));
    assert_eq!(unmet(case.try_take("lose", Role::Sales, none())), Requirement::Reason);
    let lost = case.take("lose", Role::Sales, reason("bought elsewhere"));
    assert_eq!((lost.to.as_str(), lost.status, lost.terminal), ("lost", Status::Closed, true));
}

#[test]
fn referral_lead_can_be_won() {
    let mut case = Case::new(Kind::Referral);
    case.take("record_lead", Role::Sales, ActionInput { lead_contact: Some("anna@example.com".into()), ..none() });
    case.take("contact_lead", Role::Agent, note("emailed"));
    assert_eq!(case.take("win", Role::Sales, none()).to, "won");
}

#[test]
fn unclassified_case_is_dismissed_only_with_a_reason() {
    let mut case = Case::new(Kind::Unclassified);
    assert_eq!(unmet(case.try_take("dismiss", Role::Agent, none())), Requirement::Reason);
    assert_eq!(case.take("dismiss", Role::Agent, reason("spam")).status, Status::Closed);
}

// ── Refusals and roles ──────────────────────────────────────────────────────────────────────

#[test]
fn action_in_the_wrong_stage_is_refused_with_what_is_allowed() {
    let mut case = Case::new(Kind::Complaint);
    match case.try_take("confirm_resolved", Role::Agent, none()) {
        Err(Refusal::NotInThisStage { stage, allowed, .. }) => {
            assert_eq!(stage, "new");
            assert_eq!(allowed, vec!["acknowledge".to_owned(), "ask_contact".to_owned()]);
        }
        other => panic!("expected NotInThisStage, got {other:?}"),
    }
}

#[test]
fn unknown_action_is_refused() {
    let mut case = Case::new(Kind::Praise);
    assert_eq!(
        case.try_take("delete", Role::Admin, none()).unwrap_err(),
        Refusal::UnknownAction { kind: Kind::Praise, action: "delete".into() }
    );
}

#[test]
fn allowed_actions_depend_on_the_role() {
    let mut case = Case::new(Kind::Complaint);
    case.stage = "in_progress".parse().unwrap();
    assert_eq!(case.allowed(Role::Executor), vec!["report_progress"]);
    assert!(case.allowed(Role::Intake).is_empty());
    assert!(case.allowed(Role::Sales).is_empty());
    let agent = case.allowed(Role::Agent);
    assert!(agent.contains(&"offer_solution".to_owned()) && agent.contains(&"add_task".to_owned()));
    assert_eq!(case.allowed(Role::Manager), agent, "a manager may do what an agent may");
    assert_eq!(
        case.allowed(Role::Admin),
        vec!["add_task", "report_progress", "inform_customer", "offer_solution", "refuse"]
    );
}

#[test]
fn admin_may_take_any_action() {
    let mut case = idea_awaiting_approval();
    let due = ActionInput { due_date: Some(date!(2026 - 09 - 01)), ..none() };
    assert_eq!(case.take("accept", Role::Admin, due).to, "accepted");
}

// ── Changed playbooks and kinds ─────────────────────────────────────────────────────────────

#[test]
fn stage_found_by_name_former_name_status_or_initial() {
    let renamed = Workflow::builtin_toml().replace(
        "name = \"in_progress\"\nstatus = \"open\"",
        "name = \"in_progress\"\nstatus = \"open\"\nformerly = [\"working_on_it\"]",
    );
    let playbooks = Playbooks::from_toml(&renamed).unwrap();
    let resolve = |stage, status| playbooks.resolve_stage(Kind::Complaint, stage, status).name.as_str();
    assert_eq!(resolve("solution_offered", Status::Open), "solution_offered");
    assert_eq!(resolve("working_on_it", Status::Open), "in_progress");
    assert_eq!(resolve("gone", Status::WaitingOnCustomer), "awaiting_confirmation");
    assert_eq!(resolve("gone", Status::Resolved), "resolved");
    let initial_only = playbooks.resolve_stage(Kind::Praise, "gone", Status::WaitingOnCustomer);
    assert_eq!(initial_only.name, "new");
}

#[test]
fn case_in_a_renamed_stage_can_still_act() {
    let renamed = Workflow::builtin_toml().replace(
        "name = \"in_progress\"\nstatus = \"open\"",
        "name = \"in_progress\"\nstatus = \"open\"\nformerly = [\"working_on_it\"]",
    );
    let playbooks = Playbooks::from_toml(&renamed).unwrap();
    let facts = CaseFacts {
        stage: "working_on_it",
        status: Status::Open,
        open_tasks: 0,
        pending_compensations: 0,
        pending_amount: None,
    };
    let moved = playbooks.take(Kind::Complaint, "offer_solution", &facts, Role::Agent, &note("fix")).unwrap();
    assert_eq!((moved.from.as_str(), moved.to.as_str()), ("in_progress", "solution_offered"));
}

#[test]
fn changing_kind_enters_the_new_playbooks_initial_stage() {
    let playbooks = Playbooks::builtin();
    for kind in Kind::ALL {
        let entry = playbooks.entry_on_kind_change(*kind);
        assert_eq!(entry.name, "new");
        assert_eq!(entry.status, Status::New);
    }
}

// ── Broken files ────────────────────────────────────────────────────────────────────────────

/// The 1-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|line| line.contains(needle)).unwrap_or_else(|| panic!("no `{needle}` in the file")) + 1
}

/// A small valid file: every kind with `new` → `done`.
fn minimal() -> String {
    let mut text = String::new();
    for kind in Kind::ALL {
        text += &format!(
            "[playbook.{kind}]\ninitial = \"new\"\n\n\
             [[playbook.{kind}.stage]]\nname = \"new\"\nstatus = \"new\"\n\n\
             [[playbook.{kind}.stage]]\nname = \"done\"\nstatus = \"closed\"\nterminal = true\n\n\
             [[playbook.{kind}.action]]\nname = \"finish\"\nfrom = [\"new\"]\nto = \"done\"\nroles = [\"agent\"]\n\n"
        );
    }
    text
}

fn errors(text: &str) -> String {
    Workflow::from_toml(text).expect_err("the file is refused").to_string()
}

#[test]
fn minimal_file_is_valid_and_keeps_the_builtin_calendar() {
    let workflow = Workflow::from_toml(&minimal()).unwrap();
    assert_eq!(workflow.deadlines, Workflow::builtin().deadlines);
}

#[test]
fn toml_syntax_error_names_its_line() {
    let text = minimal().replacen("[playbook.idea]\ninitial = \"new\"", "[playbook.idea]\ninitial = = \"new\"", 1);
    let message = errors(&text);
    assert!(message.starts_with(&format!("line {}: ", line_of(&text, "initial = ="))), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
}

#[test]
fn every_mistake_is_reported_on_its_line() {
    let text = minimal()
        // an action leading to a stage that does not exist
        .replacen("to = \"done\"", "to = \"finished\"", 1)
        // an action without a role, and an unknown role word
        .replacen(
            "[[playbook.idea.action]]\nname = \"finish\"\nfrom = [\"new\"]\nto = \"done\"\nroles = [\"agent\"]",
            "[[playbook.idea.action]]\nname = \"finish\"\nfrom = [\"new\"]\nto = \"done\"\nroles = []\n\n\
             [[playbook.idea.action]]\nname = \"ask\"\nfrom = [\"new\"]\nroles = [\"boss\"]",
            1,
        )
        // a duplicate stage, an unreachable stage with no way out
        .replacen(
            "[[playbook.question.stage]]\nname = \"done\"",
            "[[playbook.question.stage]]\nname = \"new\"\nstatus = \"open\"\n\n\
             [[playbook.question.stage]]\nname = \"limbo\"\nstatus = \"open\"\n\n\
             [[playbook.question.stage]]\nname = \"done\"",
            1,
        )
        // an unknown requirement and an effect whose requirement is missing
        .replacen(
            "[[playbook.praise.action]]\nname = \"finish\"\nfrom = [\"new\"]\nto = \"done\"\nroles = [\"agent\"]",
            "[[playbook.praise.action]]\nname = \"finish\"\nfrom = [\"new\"]\nto = \"done\"\nroles = [\"agent\"]\n\
             requires = [\"signature\"]\neffects = [\"record_lead\", \"teleport\"]",
            1,
        )
        // a duplicate action
        .replacen(
            "[[playbook.referral.action]]",
            "[[playbook.referral.action]]\nname = \"finish\"\nfrom = [\"new\"]\nto = \"done\"\nroles = [\"sales\"]\n\n\
             [[playbook.referral.action]]",
            1,
        );
    let message = errors(&text);
    let expected = [
        (
            line_of(&text, "to = \"finished\""),
            "action `finish` leads to `finished`, which is not a stage of the complaint playbook",
        ),
        (line_of(&text, "roles = []") - 3, "action `finish` has no role"),
        (line_of(&text, "\"boss\""), "unknown role `boss`"),
        (line_of(&text, "name = \"limbo\"") - 4, "stage `new` is defined twice in the question playbook"),
        (line_of(&text, "name = \"limbo\""), "stage `limbo` cannot be reached from the initial stage `new`"),
        (line_of(&text, "name = \"limbo\""), "stage `limbo` has no way out and is not terminal"),
        (line_of(&text, "\"signature\""), "unknown requirement `signature`"),
        (
            line_of(&text, "\"teleport\""),
            "action `finish` has effect `record_lead` but does not require `lead_contact`",
        ),
        (line_of(&text, "\"teleport\""), "unknown effect `teleport`"),
    ];
    for (line, words) in expected {
        assert!(
            message.lines().any(|reported| reported.starts_with(&format!("line {line}: ")) && reported.contains(words)),
            "expected `line {line}: …{words}…` in:\n{message}"
        );
    }
    let duplicate = message.lines().find(|line| line.contains("action `finish` is defined twice")).expect(&message);
    assert!(duplicate.contains("(first on line"), "{duplicate}");
}

#[test]
fn missing_kind_and_unknown_kind_are_reported() {
    let text = minimal()
        .replace("[playbook.praise]", "[playbook.compliment]")
        .replace("playbook.praise.", "playbook.compliment.");
    let message = errors(&text);
    assert!(
        message.contains(&format!(
            "line {}: [playbook.compliment]: unknown kind `compliment`",
            line_of(&text, "[playbook.compliment]")
        )) || message.contains("unknown kind `compliment`"),
        "{message}"
    );
    assert!(message.contains("no playbook for kind(s): praise"), "{message}");
}

#[test]
fn terminal_stage_with_an_action_out_and_a_bad_initial_are_reported() {
    let text = minimal().replacen("initial = \"new\"", "initial = \"start\"", 1).replacen(
        "from = [\"new\"]\nto = \"done\"",
        "from = [\"done\"]\nto = \"new\"",
        1,
    );
    let message = errors(&text);
    assert!(
        message.contains(&format!("line {}: initial stage `start` is not a stage", line_of(&text, "\"start\""))),
        "{message}"
    );
    assert!(message.contains("starts from `done`, a terminal stage"), "{message}");
}

#[test]
fn calendar_deadline_and_compensation_mistakes_are_reported() {
    let text = format!(
        "{}[calendar]\ntime_zone = \"Mars/Olympus\"\nmon = [\"18:00-09:00\"]\nholidays = [\"13-45\"]\n\n\
         [deadlines]\nwarn_at = 1.5\n\n[[deadlines.target]]\nkind = \"question\"\nfirst_response = \"2d business\"\n\n\
         [[deadlines.target]]\nresolution = \"soon\"\n\n\
         [compensation]\ncurrency = \"rubles\"\n\n[compensation.limits]\nintern = 100\n",
        minimal()
    );
    let message = errors(&text);
    for (needle, words) in [
        ("18:00-09:00", "working hours `18:00-09:00` end before they start"),
        ("13-45", "holiday `13-45` should be a date"),
        ("warn_at", "warn_at = 1.5 must be between 0 and 1"),
        ("2d business", "count business time in hours, not days"),
        ("\"soon\"", "deadline `soon` should look like `4h business`"),
        ("\"rubles\"", "currency `rubles`"),
        ("intern", "unknown role `intern`"),
    ] {
        let line = line_of(&text, needle);
        assert!(
            message.contains(&format!("line {line}: ")) && message.contains(words),
            "`{words}` on line {line}:\n{message}"
        );
    }
}

#[test]
fn unknown_time_zone_is_reported_on_its_line() {
    let text = format!("{}[calendar]\ntime_zone = \"Mars/Olympus\"\nmon = [\"09:00-18:00\"]\n", minimal());
    let message = errors(&text);
    assert_eq!(
        message,
        format!(
            "line {}: [calendar]: unknown time zone `Mars/Olympus`; expected an IANA name such as Europe/Moscow",
            line_of(&text, "Mars")
        )
    );
}

#[test]
fn errors_print_one_line_each() {
    let text = minimal().replacen("roles = [\"agent\"]", "roles = [\"agnet\"]", 1).replacen(
        "status = \"closed\"",
        "status = \"done\"",
        1,
    );
    let message = errors(&text);
    assert_eq!(message.lines().count(), 2, "{message}");
    assert!(message.lines().all(|line| line.starts_with("line ")), "{message}");
    let parsed = Workflow::from_toml(&text).unwrap_err();
    assert_eq!(parsed.0[0].column, "status = ".len() + 1, "the column of the opening quote");
}

#[test]
fn the_satisfied_are_thanked_and_invited_to_share_with_an_optional_reward() {
    let playbooks = Playbooks::builtin();
    let facts =
        CaseFacts { stage: "new", status: Status::New, open_tasks: 0, pending_compensations: 0, pending_amount: None };
    let plain = playbooks.take(Kind::Praise, "thank_and_invite", &facts, Role::Agent, &none()).unwrap();
    assert_eq!((plain.emits.as_deref(), plain.to.as_str()), (Some("praise.invite_share"), "thanked"));
    assert!(plain.compensation.is_none());
    let gift = Compensation { kind: CompensationKind::Discount, amount: 50_000, description: Some("10%".into()) };
    let rewarded = playbooks
        .take(
            Kind::Praise,
            "thank_and_invite",
            &facts,
            Role::Agent,
            &ActionInput { compensation: Some(gift), ..none() },
        )
        .unwrap();
    assert!(!rewarded.compensation.expect("a reward").needs_approval, "within the agent's limit");
    // A reward above it waits for a manager, who approves or rejects it on the thanked case.
    let thanked = CaseFacts { stage: "thanked", status: Status::Resolved, pending_compensations: 1, ..facts };
    for (action, input) in [("approve_compensation", none()), ("reject_compensation", reason("слишком щедро"))]
    {
        let taken = playbooks.take(Kind::Praise, action, &thanked, Role::Manager, &input);
        assert!(taken.is_ok(), "{action}: {taken:?}");
    }
}
