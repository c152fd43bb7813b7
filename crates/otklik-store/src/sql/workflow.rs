//! The playbooks' storage — stages, tasks, compensation, outbox, deadline marks, notifications,
//! jobs — and the changes to cases and customers, on either backend. Each function works in the
//! connection or transaction it is given; `SqlStore` decides where transactions begin and end.

use otklik_core::{CompensationStatus, Effect, OutboxStatus, Pause, Role, TaskStatus};
use time::{Date, OffsetDateTime};

use super::exec::{Conn, query};
use crate::records::{from_millis, millis, word};
use crate::{
    CaseWork, ClockedCase, CompensationRecord, DeadlineMark, Delivery, Job, NewTask, Notification, Opportunity,
    OutboxMessage, Recipient, Stamp, Step, StoreError, Task, TaskComment, TaskUpdate,
};

pub(crate) fn date_text(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

pub(crate) fn parse_date(text: Option<String>) -> Result<Option<Date>, StoreError> {
    let Some(text) = text else { return Ok(None) };
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(&text, &format).map(Some).map_err(|_| StoreError::Corrupt(format!("date `{text}`")))
}

pub(crate) fn optional_time(ms: Option<i64>) -> Result<Option<OffsetDateTime>, StoreError> {
    ms.map(from_millis).transpose()
}

pub(crate) fn pauses(rows: Vec<(i64, Option<i64>)>) -> Result<Vec<Pause>, StoreError> {
    rows.into_iter().map(|(from, to)| Ok(Pause { from: from_millis(from)?, to: optional_time(to)? })).collect()
}

/// Open tasks and compensation waiting for approval on a case.
/// A case's open tasks, pending compensations, and the amount of the oldest pending one.
pub(crate) async fn counts<C: Conn + ?Sized>(
    conn: &mut C,
    case_id: i64,
) -> Result<(u32, u32, Option<u64>), StoreError> {
    let (tasks, compensations, amount): (i64, i64, Option<i64>) = query(
        "SELECT (SELECT count(*) FROM tasks WHERE case_id = $1 AND status = 'open'), \
         (SELECT count(*) FROM compensations WHERE case_id = $1 AND status = 'pending'), \
         (SELECT amount FROM compensations WHERE case_id = $1 AND status = 'pending' ORDER BY id LIMIT 1)",
    )
    .bind(case_id)
    .fetch_one(conn)
    .await?;
    Ok((tasks as u32, compensations as u32, amount.and_then(|amount| u64::try_from(amount).ok())))
}

async fn event<C: Conn + ?Sized>(
    tx: &mut C,
    case_id: i64,
    stamp: &Stamp,
    action: &str,
    field: Option<&str>,
    old_value: Option<&str>,
    new_value: Option<&str>,
) -> Result<(), StoreError> {
    query(
        "INSERT INTO events (case_id, at, actor, action, field, old_value, new_value) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(case_id)
    .bind(millis(stamp.at))
    .bind(&stamp.actor)
    .bind(action)
    .bind(field)
    .bind(old_value)
    .bind(new_value)
    .execute(tx)
    .await?;
    Ok(())
}

pub(crate) async fn notify<C: Conn + ?Sized>(
    tx: &mut C,
    recipient: &Recipient,
    case_id: impl Into<Option<i64>>,
    what: &str,
    body: &str,
    at: i64,
) -> Result<(), StoreError> {
    let case_id: Option<i64> = case_id.into();
    query("INSERT INTO notifications (recipient, case_id, what, body, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(recipient.key())
        .bind(case_id)
        .bind(what)
        .bind(body)
        .bind(at)
        .execute(tx)
        .await?;
    Ok(())
}

async fn require_user<C: Conn + ?Sized>(tx: &mut C, field: &str, username: &Option<String>) -> Result<(), StoreError> {
    let Some(username) = username else { return Ok(()) };
    let known: Option<i64> =
        query("SELECT id FROM users WHERE username = $1").bind(username).scalar_optional(tx).await?;
    match known {
        Some(_) => Ok(()),
        None => Err(StoreError::Invalid(format!("{field}: no user named `{username}`"))),
    }
}

/// Stores a step: see `Store::take_step`.
pub(crate) async fn take_step<C: Conn + ?Sized>(
    tx: &mut C,
    case_id: i64,
    customer_id: i64,
    expected_stage: &str,
    step: &Step,
    stamp: &Stamp,
) -> Result<(), StoreError> {
    let at = millis(stamp.at);
    let transition = &step.transition;
    let finished = matches!(transition.status, otklik_core::Status::Resolved | otklik_core::Status::Closed);
    let moved = query(
        "UPDATE cases SET stage = $1, status = $2, updated_at = $3, watch_at = NULL, \
         first_response_at = CASE WHEN first_response_at IS NULL AND $4 THEN $3 ELSE first_response_at END, \
         resolved_at = CASE WHEN $5 THEN coalesce(resolved_at, $3) ELSE NULL END, \
         due_on = coalesce($6, due_on) \
         WHERE id = $7 AND stage = $8",
    )
    .bind(&transition.to)
    .bind(transition.status.as_str())
    .bind(at)
    .bind(transition.emits.is_some())
    .bind(finished)
    .bind(transition.effects.contains(&Effect::SetDueDate).then_some(step.input.due_date).flatten().map(date_text))
    .bind(case_id)
    .bind(expected_stage)
    .execute(tx)
    .await?;
    if moved == 0 {
        return Err(StoreError::Conflict(format!(
            "a change to the case while `{}` was being taken: it is no longer in stage `{expected_stage}`",
            transition.action
        )));
    }
    event(
        tx,
        case_id,
        stamp,
        "step",
        Some(&transition.action),
        Some(transition.from.as_str()),
        Some(transition.to.as_str()),
    )
    .await?;
    let mut said: Vec<String> = Vec::new();
    if !step.input.apology_forms.is_empty() {
        let forms: Vec<&str> = step.input.apology_forms.iter().map(|form| form.as_str()).collect();
        said.push(format!("apology: {}", forms.join(", ")));
    }
    if let Some(date) = step.input.due_date {
        said.push(format!("due: {}", date_text(date)));
    }
    for (label, text) in [("reason", &step.input.reason), ("lead", &step.input.lead_contact)] {
        if let Some(text) = text {
            said.push(format!("{label}: {text}"));
        }
    }
    if let Some(note) = &step.input.note {
        said.push(note.clone());
    }
    if !said.is_empty() {
        query(
            "INSERT INTO messages (case_id, direction, public, channel, author, body, created_at) \
             VALUES ($1, 'note', $2, $3, $4, $5, $6)",
        )
        .bind(case_id)
        .bind(false)
        .bind(step.channel.as_str())
        .bind(&stamp.actor)
        .bind(format!("{}: {}", transition.action, said.join("\n")))
        .bind(at)
        .execute(tx)
        .await?;
    }
    if let Some(template) = &transition.emits {
        query(
            "INSERT INTO outbox (case_id, template, channel, body, status, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(case_id)
        .bind(template)
        .bind(step.channel.as_str())
        .bind(&step.input.note)
        .bind(OutboxStatus::Pending.as_str())
        .bind(at)
        .execute(tx)
        .await?;
    }
    if transition.waits_on_customer {
        query(
            "INSERT INTO case_pauses (case_id, from_at) SELECT $1, $2 \
             WHERE NOT EXISTS (SELECT 1 FROM case_pauses WHERE case_id = $1 AND to_at IS NULL)",
        )
        .bind(case_id)
        .bind(at)
        .execute(tx)
        .await?;
    } else {
        query("UPDATE case_pauses SET to_at = $1 WHERE case_id = $2 AND to_at IS NULL")
            .bind(at)
            .bind(case_id)
            .execute(tx)
            .await?;
    }
    insert_apology_task(tx, case_id, step, stamp).await?;
    for effect in &transition.effects {
        match effect {
            Effect::CreateTask => {
                let task = NewTask {
                    title: step.input.note.clone().unwrap_or_default(),
                    assignee: None,
                    due_on: step.input.due_date,
                    due_at: None,
                };
                insert_task(tx, case_id, &task, stamp).await?;
            }
            Effect::CreateOpportunity | Effect::RecordLead => {
                query(
                    "INSERT INTO opportunities (case_id, customer_id, source, lead_contact, status, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(case_id)
                .bind(customer_id)
                .bind(&transition.action)
                .bind(if *effect == Effect::RecordLead { step.input.lead_contact.as_deref() } else { None })
                .bind(otklik_core::OpportunityStatus::Open.as_str())
                .bind(at)
                .execute(tx)
                .await?;
                notify(
                    tx,
                    &Recipient::Role(Role::Sales),
                    case_id,
                    "opportunity",
                    &format!("a new opportunity from `{}`", transition.action),
                    at,
                )
                .await?;
            }
            Effect::OfferCompensation => {
                let Some(offer) = &transition.compensation else { continue };
                let status =
                    if offer.needs_approval { CompensationStatus::Pending } else { CompensationStatus::Approved };
                query(
                    "INSERT INTO compensations (case_id, kind, amount, currency, description, apology_form, \
                     status, offered_by, offered_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(case_id)
                .bind(offer.compensation.kind.as_str())
                .bind(
                    i64::try_from(offer.compensation.amount)
                        .map_err(|_| StoreError::Invalid("compensation.amount: too large to store".into()))?,
                )
                .bind(&step.currency)
                .bind(&offer.compensation.description)
                .bind(forms_text(&step.input.apology_forms))
                .bind(status.as_str())
                .bind(&stamp.actor)
                .bind(at)
                .execute(tx)
                .await?;
                let amount = format!(
                    "{}.{:02} {}",
                    offer.compensation.amount / 100,
                    offer.compensation.amount % 100,
                    step.currency
                );
                event(
                    tx,
                    case_id,
                    stamp,
                    "compensation",
                    Some(offer.compensation.kind.as_str()),
                    None,
                    Some(&format!("{amount} {status}")),
                )
                .await?;
                if offer.needs_approval {
                    let body = format!("{} of {amount} waits for your approval", offer.compensation.kind);
                    notify(tx, &Recipient::Role(offer.approver), case_id, "approval", &body, at).await?;
                }
            }
            Effect::ApproveCompensation => {
                query(
                    "UPDATE compensations SET status = $1, decided_by = $2, decided_at = $3 WHERE id = \
                     (SELECT min(id) FROM compensations WHERE case_id = $4 AND status = $5)",
                )
                .bind(CompensationStatus::Approved.as_str())
                .bind(&stamp.actor)
                .bind(at)
                .bind(case_id)
                .bind(CompensationStatus::Pending.as_str())
                .execute(tx)
                .await?;
                event(tx, case_id, stamp, "compensation", None, Some("pending"), Some("approved")).await?;
            }
            Effect::RejectCompensation => {
                query(
                    "UPDATE compensations SET status = $1, decided_by = $2, decided_at = $3, decision_reason = $6 \
                     WHERE id = (SELECT min(id) FROM compensations WHERE case_id = $4 AND status = $5)",
                )
                .bind(CompensationStatus::Rejected.as_str())
                .bind(&stamp.actor)
                .bind(at)
                .bind(case_id)
                .bind(CompensationStatus::Pending.as_str())
                .bind(&step.input.reason)
                .execute(tx)
                .await?;
                event(tx, case_id, stamp, "compensation", None, Some("pending"), Some("rejected")).await?;
            }
            Effect::FollowUp { .. } => {
                let Some(run_at) = step.follow_up_at else { continue };
                query(
                    "INSERT INTO jobs (kind, case_id, payload, run_at, status, created_at) \
                     VALUES ($1, $2, $3, $4, 'pending', $5)",
                )
                .bind(otklik_core::JobKind::FollowUp.as_str())
                .bind(case_id)
                .bind(&transition.to)
                .bind(millis(run_at))
                .bind(at)
                .execute(tx)
                .await?;
            }
            Effect::SetDueDate => {}
        }
    }
    Ok(())
}

/// Apology forms as one column: `call,handwritten_letter`; none is NULL.
fn forms_text(forms: &[otklik_core::ApologyForm]) -> Option<String> {
    (!forms.is_empty()).then(|| forms.iter().map(|form| form.as_str()).collect::<Vec<_>>().join(","))
}

fn forms_of(text: Option<String>) -> Result<Vec<otklik_core::ApologyForm>, StoreError> {
    text.iter().flat_map(|text| text.split(',')).map(word).collect()
}

/// The task an apology call or meeting is: for the person who chose it, or (a token chose it)
/// the case's assignee, due when they agreed with the customer.
async fn insert_apology_task<C: Conn + ?Sized>(
    tx: &mut C,
    case_id: i64,
    step: &Step,
    stamp: &Stamp,
) -> Result<(), StoreError> {
    let (Some(form), Some(due_at)) = (step.input.apology_task(), step.apology_due_at) else { return Ok(()) };
    let person: Option<String> =
        query("SELECT username FROM users WHERE username = $1").bind(&stamp.actor).scalar_optional(&mut *tx).await?;
    let assignee = match person {
        Some(person) => Some(person),
        None => query("SELECT assignee FROM cases WHERE id = $1").bind(case_id).scalar(&mut *tx).await?,
    };
    let what = if form == otklik_core::ApologyForm::Meeting { "meeting" } else { "call" };
    let title = match &step.input.note {
        Some(note) => format!("apology {what}: {}", note.chars().take(120).collect::<String>()),
        None => format!("apology {what}"),
    };
    let task = NewTask { title, assignee, due_on: Some(due_at.date()), due_at: Some(due_at) };
    insert_task(tx, case_id, &task, stamp).await?;
    Ok(())
}

async fn insert_task<C: Conn + ?Sized>(
    tx: &mut C,
    case_id: i64,
    task: &NewTask,
    stamp: &Stamp,
) -> Result<i64, StoreError> {
    require_user(tx, "assignee", &task.assignee).await?;
    let id: i64 = query(
        "INSERT INTO tasks (case_id, title, assignee, due_on, status, created_by, created_at, due_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(case_id)
    .bind(&task.title)
    .bind(&task.assignee)
    .bind(task.due_on.map(date_text))
    .bind(TaskStatus::Open.as_str())
    .bind(&stamp.actor)
    .bind(millis(stamp.at))
    .bind(task.due_at.map(millis))
    .scalar(tx)
    .await?;
    event(tx, case_id, stamp, "task_added", Some("task"), None, Some(&task.title)).await?;
    if let Some(assignee) = &task.assignee {
        notify(
            tx,
            &Recipient::User(assignee.clone()),
            case_id,
            "task",
            &format!("a task for you: {}", task.title),
            millis(stamp.at),
        )
        .await?;
    }
    Ok(id)
}

pub(crate) async fn add_task<C: Conn + ?Sized>(
    tx: &mut C,
    case_id: i64,
    task: &NewTask,
    stamp: &Stamp,
) -> Result<i64, StoreError> {
    let exists: Option<i64> = query("SELECT id FROM cases WHERE id = $1").bind(case_id).scalar_optional(tx).await?;
    exists.ok_or(StoreError::NotFound("case"))?;
    insert_task(tx, case_id, task, stamp).await
}

pub(crate) async fn update_task<C: Conn + ?Sized>(
    tx: &mut C,
    task_id: i64,
    update: &TaskUpdate,
    stamp: &Stamp,
) -> Result<(), StoreError> {
    let at = millis(stamp.at);
    let row: Option<(i64, String)> =
        query("SELECT case_id, status FROM tasks WHERE id = $1").bind(task_id).fetch_optional(tx).await?;
    let (case_id, status) = row.ok_or(StoreError::NotFound("task"))?;
    if let Some(new_status) = update.status
        && new_status.as_str() != status
    {
        let closed_at = (new_status != TaskStatus::Open).then_some(at);
        query("UPDATE tasks SET status = $1, closed_at = $2 WHERE id = $3")
            .bind(new_status.as_str())
            .bind(closed_at)
            .bind(task_id)
            .execute(tx)
            .await?;
        let field = format!("task {task_id}");
        event(tx, case_id, stamp, "task_changed", Some(&field), Some(&status), Some(new_status.as_str())).await?;
    }
    if let Some(comment) = &update.comment {
        query("INSERT INTO task_comments (task_id, author, body, at) VALUES ($1, $2, $3, $4)")
            .bind(task_id)
            .bind(&stamp.actor)
            .bind(comment)
            .bind(at)
            .execute(tx)
            .await?;
    }
    Ok(())
}

type TaskRow = (i64, i64, String, Option<String>, Option<String>, String, String, i64, Option<i64>, Option<i64>);
const TASK_COLUMNS: &str = "id, case_id, title, assignee, due_on, status, created_by, created_at, closed_at, due_at";

async fn tasks_from_rows<C: Conn + ?Sized>(conn: &mut C, rows: Vec<TaskRow>) -> Result<Vec<Task>, StoreError> {
    let mut tasks = Vec::with_capacity(rows.len());
    for (id, case_id, title, assignee, due_on, status, created_by, created_at, closed_at, due_at) in rows {
        let comments: Vec<(String, String, i64)> =
            query("SELECT author, body, at FROM task_comments WHERE task_id = $1 ORDER BY id")
                .bind(id)
                .fetch_all(conn)
                .await?;
        tasks.push(Task {
            id,
            case_id,
            title,
            assignee,
            due_on: parse_date(due_on)?,
            due_at: optional_time(due_at)?,
            status: word(&status)?,
            created_by,
            created_at: from_millis(created_at)?,
            closed_at: optional_time(closed_at)?,
            comments: comments
                .into_iter()
                .map(|(author, body, at)| Ok(TaskComment { author, body, at: from_millis(at)? }))
                .collect::<Result<_, StoreError>>()?,
        });
    }
    Ok(tasks)
}

pub(crate) async fn task<C: Conn + ?Sized>(conn: &mut C, task_id: i64) -> Result<Task, StoreError> {
    let rows: Vec<TaskRow> =
        query(format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1")).bind(task_id).fetch_all(conn).await?;
    tasks_from_rows(conn, rows).await?.pop().ok_or(StoreError::NotFound("task"))
}

pub(crate) async fn tasks_for<C: Conn + ?Sized>(conn: &mut C, assignee: &str) -> Result<Vec<Task>, StoreError> {
    let rows: Vec<TaskRow> = query(format!(
        "SELECT {TASK_COLUMNS} FROM tasks WHERE assignee = $1 AND status = 'open' \
         ORDER BY due_on IS NULL, due_on, id"
    ))
    .bind(assignee)
    .fetch_all(conn)
    .await?;
    tasks_from_rows(conn, rows).await
}

pub(crate) async fn case_work<C: Conn + ?Sized>(conn: &mut C, case_id: i64) -> Result<CaseWork, StoreError> {
    let rows: Vec<TaskRow> = query(format!("SELECT {TASK_COLUMNS} FROM tasks WHERE case_id = $1 ORDER BY id"))
        .bind(case_id)
        .fetch_all(conn)
        .await?;
    let tasks = tasks_from_rows(conn, rows).await?;
    type CompensationRow = (
        i64,
        String,
        i64,
        String,
        Option<String>,
        Option<String>,
        String,
        String,
        i64,
        Option<String>,
        Option<i64>,
        Option<String>,
    );
    let rows: Vec<CompensationRow> = query(
        "SELECT id, kind, amount, currency, description, apology_form, status, offered_by, offered_at, \
         decided_by, decided_at, decision_reason FROM compensations WHERE case_id = $1 ORDER BY id",
    )
    .bind(case_id)
    .fetch_all(conn)
    .await?;
    let compensations = rows
        .into_iter()
        .map(|row| {
            Ok(CompensationRecord {
                id: row.0,
                kind: word(&row.1)?,
                amount: u64::try_from(row.2).map_err(|_| StoreError::Corrupt(format!("amount {}", row.2)))?,
                currency: row.3,
                description: row.4,
                apology_forms: forms_of(row.5)?,
                status: word(&row.6)?,
                offered_by: row.7,
                offered_at: from_millis(row.8)?,
                decided_by: row.9,
                decided_at: optional_time(row.10)?,
                decision_reason: row.11,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    let rows: Vec<OutboxRow> = query(format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE case_id = $1 ORDER BY id"))
        .bind(case_id)
        .fetch_all(conn)
        .await?;
    let outbox = rows.into_iter().map(outbox_message).collect::<Result<_, StoreError>>()?;
    let rows: Vec<(i64, i64, String, Option<String>, String, i64)> = query(
        "SELECT id, customer_id, source, lead_contact, status, created_at FROM opportunities \
         WHERE case_id = $1 ORDER BY id",
    )
    .bind(case_id)
    .fetch_all(conn)
    .await?;
    let opportunities = rows
        .into_iter()
        .map(|(id, customer_id, source, lead_contact, status, created_at)| {
            Ok(Opportunity {
                id,
                case_id,
                customer_id,
                source,
                lead_contact,
                status: word(&status)?,
                created_at: from_millis(created_at)?,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    let rows: Vec<(i64, Option<i64>)> =
        query("SELECT from_at, to_at FROM case_pauses WHERE case_id = $1 ORDER BY from_at")
            .bind(case_id)
            .fetch_all(conn)
            .await?;
    let (first_response_at, resolved_at, due_on): (Option<i64>, Option<i64>, Option<String>) =
        query("SELECT first_response_at, resolved_at, due_on FROM cases WHERE id = $1")
            .bind(case_id)
            .fetch_one(conn)
            .await?;
    Ok(CaseWork {
        tasks,
        compensations,
        outbox,
        opportunities,
        pauses: pauses(rows)?,
        first_response_at: optional_time(first_response_at)?,
        resolved_at: optional_time(resolved_at)?,
        due_on: parse_date(due_on)?,
    })
}

type OutboxRow = (
    i64,
    Option<i64>,
    String,
    String,
    Option<String>,
    String,
    i64,
    i64,
    Option<String>,
    i64,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);
const OUTBOX_COLUMNS: &str = "id, case_id, template, channel, body, status, attempts, next_attempt_at, \
                              last_error, created_at, sent_at, note, survey_id, digest_id, user_id";

fn outbox_message(row: OutboxRow) -> Result<OutboxMessage, StoreError> {
    Ok(OutboxMessage {
        id: row.0,
        case_id: row.1,
        template: row.2,
        channel: word(&row.3)?,
        body: row.4,
        status: word(&row.5)?,
        attempts: row.6 as u32,
        next_attempt_at: from_millis(row.7)?,
        last_error: row.8,
        created_at: from_millis(row.9)?,
        sent_at: optional_time(row.10)?,
        note: row.11,
        survey_id: row.12,
        digest_id: row.13,
        user_id: row.14,
    })
}

pub(crate) async fn claim_outbox<C: Conn + ?Sized>(
    tx: &mut C,
    claim_lock: &str,
    worker: &str,
    channels: &[otklik_core::Channel],
    now: OffsetDateTime,
    lease_until: OffsetDateTime,
    limit: u32,
) -> Result<Vec<OutboxMessage>, StoreError> {
    if channels.is_empty() {
        return Ok(Vec::new());
    }
    let list = channels.iter().map(|c| format!("'{}'", c.as_str())).collect::<Vec<_>>().join(", ");
    let rows: Vec<OutboxRow> = query(format!(
        "UPDATE outbox SET locked_by = $1, next_attempt_at = $2, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $3 \
         AND channel IN ({list}) ORDER BY id LIMIT $4{}) \
         AND status = 'pending' AND next_attempt_at <= $3 RETURNING {OUTBOX_COLUMNS}",
        claim_lock
    ))
    .bind(worker)
    .bind(millis(lease_until))
    .bind(millis(now))
    .bind(i64::from(limit))
    .fetch_all(tx)
    .await?;
    rows.into_iter().map(outbox_message).collect()
}

pub(crate) async fn record_delivery<C: Conn + ?Sized>(
    tx: &mut C,
    message_id: i64,
    worker: &str,
    delivery: &Delivery,
    at: OffsetDateTime,
) -> Result<bool, StoreError> {
    let (status, error, next, sent, note) = match delivery {
        Delivery::Sent { note } => (OutboxStatus::Sent, None, None, Some(millis(at)), note.as_deref()),
        Delivery::OnSite { link } => (OutboxStatus::OnSite, None, None, Some(millis(at)), Some(link.as_str())),
        Delivery::Logged => (OutboxStatus::Logged, None, None, Some(millis(at)), None),
        Delivery::Failed { error, retry_at: Some(retry_at) } => {
            (OutboxStatus::Pending, Some(error.as_str()), Some(millis(*retry_at)), None, None)
        }
        Delivery::Failed { error, retry_at: None } => (OutboxStatus::Failed, Some(error.as_str()), None, None, None),
    };
    let recorded = query(
        "UPDATE outbox SET status = $1, last_error = coalesce($2, last_error), \
         next_attempt_at = coalesce($3, next_attempt_at), sent_at = $4, note = coalesce($7, note), \
         locked_by = NULL WHERE id = $5 AND locked_by = $6 AND status IN ('pending', 'sending')",
    )
    .bind(status.as_str())
    .bind(error)
    .bind(next)
    .bind(sent)
    .bind(message_id)
    .bind(worker)
    .bind(note)
    .execute(tx)
    .await?;
    Ok(recorded == 1)
}

pub(crate) async fn start_sending<C: Conn + ?Sized>(
    tx: &mut C,
    worker: &str,
    ids: &[i64],
    lease_until: OffsetDateTime,
) -> Result<Vec<i64>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Ids are numbers, so they are written into the statement as they are.
    let list = super::id_list(ids);
    let started: Vec<(i64,)> = query(format!(
        "UPDATE outbox SET status = 'sending', next_attempt_at = $2 \
         WHERE id IN ({list}) AND locked_by = $1 AND status = 'pending' RETURNING id"
    ))
    .bind(worker)
    .bind(millis(lease_until))
    .fetch_all(tx)
    .await?;
    Ok(started.into_iter().map(|(id,)| id).collect())
}

/// What an agent reads of a message whose node stopped while sending it.
pub(crate) const INTERRUPTED: &str =
    "the node stopped while handing it to the channel: it may have been sent, so it is not sent again";

pub(crate) async fn settle_interrupted<C: Conn + ?Sized>(
    tx: &mut C,
    now: OffsetDateTime,
) -> Result<Vec<OutboxMessage>, StoreError> {
    let rows: Vec<OutboxRow> = query(format!(
        "UPDATE outbox SET status = 'failed', last_error = $1, locked_by = NULL \
         WHERE status = 'sending' AND next_attempt_at <= $2 RETURNING {OUTBOX_COLUMNS}"
    ))
    .bind(INTERRUPTED)
    .bind(millis(now))
    .fetch_all(&mut *tx)
    .await?;
    let settled = rows.into_iter().map(outbox_message).collect::<Result<Vec<_>, _>>()?;
    for message in &settled {
        let body = format!("message `{}` on {}: {INTERRUPTED}", message.template, message.channel);
        notify(tx, &Recipient::Role(Role::Agent), message.case_id, "delivery_interrupted", &body, millis(now)).await?;
    }
    Ok(settled)
}

pub(crate) async fn clocked_cases<C: Conn + ?Sized>(
    conn: &mut C,
    now: OffsetDateTime,
    limit: u32,
) -> Result<Vec<ClockedCase>, StoreError> {
    type ClockedRow =
        (i64, String, String, bool, bool, Option<String>, i64, Option<i64>, String, Option<String>, Option<i64>);
    const COLUMNS: &str =
        "id, kind, priority, public, hidden, location, created_at, first_response_at, stage, due_on, parent_id";
    // New and changed cases first, then those whose time has come; both walk the
    // partial index on (watch_at, id) of unresolved cases.
    let mut rows: Vec<ClockedRow> = query(format!(
        "SELECT {COLUMNS} FROM cases WHERE resolved_at IS NULL AND watch_at IS NULL ORDER BY id LIMIT $1"
    ))
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    if rows.len() < limit as usize {
        let due: Vec<ClockedRow> = query(format!(
            "SELECT {COLUMNS} FROM cases WHERE resolved_at IS NULL AND watch_at <= $1 \
             ORDER BY watch_at, id LIMIT $2"
        ))
        .bind(millis(now))
        .bind(i64::from(limit) - rows.len() as i64)
        .fetch_all(conn)
        .await?;
        rows.extend(due);
    }
    let mut paused: std::collections::HashMap<i64, Vec<(i64, Option<i64>)>> = Default::default();
    if !rows.is_empty() {
        let ids = rows.iter().map(|row| row.0.to_string()).collect::<Vec<_>>().join(", ");
        let pause_rows: Vec<(i64, i64, Option<i64>)> = query(format!(
            "SELECT case_id, from_at, to_at FROM case_pauses WHERE case_id IN ({ids}) ORDER BY case_id, from_at"
        ))
        .fetch_all(conn)
        .await?;
        for (case_id, from, to) in pause_rows {
            paused.entry(case_id).or_default().push((from, to));
        }
    }
    rows.into_iter()
        .map(
            |(
                case_id,
                kind,
                priority,
                public,
                hidden,
                location,
                created_at,
                first_response_at,
                stage,
                due_on,
                parent,
            )| {
                Ok(ClockedCase {
                    case_id,
                    kind: word(&kind)?,
                    priority: word(&priority)?,
                    public,
                    hidden,
                    linked: parent.is_some(),
                    location,
                    created_at: from_millis(created_at)?,
                    first_response_at: optional_time(first_response_at)?,
                    pauses: pauses(paused.remove(&case_id).unwrap_or_default())?,
                    stage,
                    due_on: parse_date(due_on)?,
                })
            },
        )
        .collect()
}

pub(crate) async fn set_watch<C: Conn + ?Sized>(tx: &mut C, next: &[crate::Watched]) -> Result<(), StoreError> {
    for watched in next {
        query("UPDATE cases SET watch_at = $1, due_at = $2 WHERE id = $3")
            .bind(watched.next.map_or(i64::MAX, millis))
            .bind(watched.due.map_or(crate::records::NO_CLOCK, millis))
            .bind(watched.case_id)
            .execute(tx)
            .await?;
    }
    Ok(())
}

pub(crate) async fn mark_deadline<C: Conn + ?Sized>(
    tx: &mut C,
    mark: &DeadlineMark,
    stamp: &Stamp,
) -> Result<bool, StoreError> {
    let at = millis(stamp.at);
    let milestone = mark.milestone.as_str();
    let recorded = query(
        "INSERT INTO deadline_marks (case_id, milestone, state, at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING",
    )
    .bind(mark.case_id)
    .bind(milestone)
    .bind(mark.state.as_str())
    .bind(at)
    .execute(tx)
    .await?;
    if recorded == 0 {
        return Ok(false);
    }
    event(tx, mark.case_id, stamp, "deadline", Some(milestone), None, Some(mark.state.as_str())).await?;
    notify(tx, &mark.notify, mark.case_id, &format!("deadline_{}", mark.state), &mark.message, at).await?;
    Ok(true)
}

pub(crate) async fn notifications<C: Conn + ?Sized>(
    conn: &mut C,
    recipient: &Recipient,
) -> Result<Vec<Notification>, StoreError> {
    let rows: Vec<(i64, Option<i64>, String, String, i64)> = query(
        "SELECT id, case_id, what, body, created_at FROM notifications WHERE recipient = $1 \
         ORDER BY id DESC LIMIT 200",
    )
    .bind(recipient.key())
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(id, case_id, what, body, created_at)| {
            Ok(Notification {
                id,
                recipient: recipient.clone(),
                case_id,
                what,
                body,
                created_at: from_millis(created_at)?,
            })
        })
        .collect()
}

pub(crate) async fn claim_jobs<C: Conn + ?Sized>(
    tx: &mut C,
    claim_lock: &str,
    worker: &str,
    now: OffsetDateTime,
    lease_until: OffsetDateTime,
    limit: u32,
) -> Result<Vec<Job>, StoreError> {
    // The outer condition repeats the inner one: on PostgreSQL a concurrent claimer that
    // waited for a row re-checks it against the claim just committed and skips it.
    let rows: Vec<(i64, String, Option<i64>, String, i64, i64)> = query(format!(
        "UPDATE jobs SET status = 'running', locked_by = $1, locked_until = $2, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM jobs WHERE (status = 'pending' AND run_at <= $3) \
         OR (status = 'running' AND locked_until < $3) ORDER BY run_at LIMIT $4{claim_lock}\
         ) AND ((status = 'pending' AND run_at <= $3) OR (status = 'running' AND locked_until < $3)) \
         RETURNING id, kind, case_id, payload, run_at, attempts"
    ))
    .bind(worker)
    .bind(millis(lease_until))
    .bind(millis(now))
    .bind(i64::from(limit))
    .fetch_all(tx)
    .await?;
    let mut jobs = Vec::with_capacity(rows.len());
    for (id, kind, case_id, payload, run_at, attempts) in rows {
        // A job of a kind this version does not know (written by another version, or by
        // hand) is given up with the reason, rather than stopping the queue.
        let Ok(kind) = kind.parse() else {
            let error = format!("no worker knows the job kind `{kind}`");
            fail_job(tx, id, worker, &error, None).await?;
            continue;
        };
        jobs.push(Job { id, kind, case_id, payload, run_at: from_millis(run_at)?, attempts: attempts as u32 });
    }
    Ok(jobs)
}

pub(crate) async fn finish_follow_up<C: Conn + ?Sized>(
    tx: &mut C,
    job: &Job,
    worker: &str,
    stamp: &Stamp,
) -> Result<bool, StoreError> {
    let at = millis(stamp.at);
    let finished = query(
        "UPDATE jobs SET status = 'done', done_at = $1, locked_until = NULL \
         WHERE id = $2 AND locked_by = $3 AND status = 'running'",
    )
    .bind(at)
    .bind(job.id)
    .bind(worker)
    .execute(tx)
    .await?;
    if finished == 0 {
        return Ok(false);
    }
    let Some(case_id) = job.case_id else { return Ok(true) };
    let case: Option<(String, String, String)> =
        query("SELECT kind, stage, channel FROM cases WHERE id = $1").bind(case_id).fetch_optional(tx).await?;
    let Some((kind, stage, channel)) = case else { return Ok(true) };
    if stage != job.payload {
        return Ok(true);
    }
    query(
        "INSERT INTO outbox (case_id, template, channel, status, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(case_id)
    .bind(format!("{kind}.follow_up"))
    .bind(&channel)
    .bind(OutboxStatus::Pending.as_str())
    .bind(at)
    .execute(tx)
    .await?;
    event(tx, case_id, stamp, "follow_up", None, None, Some(&stage)).await?;
    Ok(true)
}

/// Applies a customer patch and records each changed field as a customer event.
pub(crate) async fn update_customer<C: Conn + ?Sized>(
    tx: &mut C,
    id: i64,
    patch: &otklik_core::CustomerPatch,
    stamp: &Stamp,
) -> Result<(), StoreError> {
    let current: Option<(Option<String>, bool)> =
        query("SELECT name, vip FROM customers WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
    let (name, vip) = current.ok_or(StoreError::NotFound("customer"))?;
    // An identity another customer has is that customer: they are one person, merged here.
    for identity in &patch.identities {
        match identity_owner(&mut *tx, identity).await? {
            Some(owner) if owner == id => {}
            Some(owner) => merge_customers(&mut *tx, id, owner, stamp).await?,
            None => add_identity(&mut *tx, id, identity, stamp).await?,
        }
    }
    let mut changes: Vec<(&str, Option<String>, Option<String>)> = Vec::new();
    if let Some(new_name) = &patch.name
        && *new_name != name
    {
        changes.push(("name", name.clone(), new_name.clone()));
    }
    if let Some(new_vip) = patch.vip
        && new_vip != vip
    {
        changes.push(("vip", Some(vip.to_string()), Some(new_vip.to_string())));
    }
    query(crate::records::UPDATE_CUSTOMER)
        .bind(id)
        .bind(patch.name.is_some())
        .bind(patch.name.clone().flatten())
        .bind(patch.vip)
        .execute(tx)
        .await?;
    for (field, old_value, new_value) in changes {
        query(
            "INSERT INTO customer_events (customer_id, at, actor, action, field, old_value, new_value) \
             VALUES ($1, $2, $3, 'changed', $4, $5, $6)",
        )
        .bind(id)
        .bind(millis(stamp.at))
        .bind(&stamp.actor)
        .bind(field)
        .bind(old_value)
        .bind(new_value)
        .execute(tx)
        .await?;
    }
    Ok(())
}

/// A customer's events, oldest first.
pub(crate) async fn customer_events<C: Conn + ?Sized>(
    conn: &mut C,
    id: i64,
) -> Result<Vec<otklik_core::Event>, StoreError> {
    let rows: Vec<crate::records::EventRow> = query(
        "SELECT id, at, actor, action, field, old_value, new_value FROM customer_events \
         WHERE customer_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(crate::records::EventRow::into_event).collect()
}

pub(crate) async fn fail_job<C: Conn + ?Sized>(
    tx: &mut C,
    job_id: i64,
    worker: &str,
    error: &str,
    retry_at: Option<OffsetDateTime>,
) -> Result<(), StoreError> {
    let status = if retry_at.is_some() { "pending" } else { "failed" };
    query(
        "UPDATE jobs SET status = $1, run_at = coalesce($2, run_at), last_error = $3, locked_by = NULL, \
         locked_until = NULL WHERE id = $4 AND locked_by = $5",
    )
    .bind(status)
    .bind(retry_at.map(millis))
    .bind(error)
    .bind(job_id)
    .bind(worker)
    .execute(tx)
    .await?;
    Ok(())
}

/// Writes a corrected case and one `changed` event per field that changed.
pub(crate) async fn store_case_changes<C: Conn + ?Sized>(
    tx: &mut C,
    case: &otklik_core::Case,
    changes: &[otklik_core::FieldChange],
    stamp: &Stamp,
) -> Result<(), StoreError> {
    let at = millis(stamp.at);
    query(
        "UPDATE cases SET kind = $2, priority = $3, status = $4, audience = $5, sentiment = $6, language = $7, \
         assignee = $8, location = $9, product = $10, subject = $11, public = $12, hidden = $13, updated_at = $14, \
         stage = $15, cause = $16, watch_at = NULL, \
         resolved_at = CASE WHEN $4 IN ('resolved', 'closed') THEN coalesce(resolved_at, $14) ELSE NULL END \
         WHERE id = $1",
    )
    .bind(case.id)
    .bind(case.kind.as_str())
    .bind(case.priority.as_str())
    .bind(case.status.as_str())
    .bind(case.audience.as_str())
    .bind(case.sentiment.map(|s| s.as_str()))
    .bind(case.language.map(|l| l.as_str()))
    .bind(&case.assignee)
    .bind(&case.location)
    .bind(&case.product)
    .bind(&case.subject)
    .bind(case.public)
    .bind(case.hidden)
    .bind(at)
    .bind(&case.stage)
    .bind(case.cause.map(|c| c.as_str()))
    .execute(tx)
    .await?;
    if changes.iter().any(|change| change.field == "tags") {
        query("DELETE FROM case_tags WHERE case_id = $1").bind(case.id).execute(tx).await?;
        for tag in &case.tags {
            query("INSERT INTO case_tags (case_id, tag) VALUES ($1, $2)").bind(case.id).bind(tag).execute(tx).await?;
        }
    }
    if changes.iter().any(|change| change.field == "employees") {
        query("DELETE FROM case_employees WHERE case_id = $1").bind(case.id).execute(tx).await?;
        for employee in &case.employees {
            query("INSERT INTO case_employees (case_id, employee) VALUES ($1, $2)")
                .bind(case.id)
                .bind(employee)
                .execute(tx)
                .await?;
        }
    }
    for change in changes {
        event(
            tx,
            case.id,
            stamp,
            "changed",
            Some(change.field),
            change.old_value.as_deref(),
            change.new_value.as_deref(),
        )
        .await?;
    }
    Ok(())
}

pub(crate) async fn open_opportunities<C: Conn + ?Sized>(
    conn: &mut C,
    limit: u32,
) -> Result<Vec<(Opportunity, Option<OffsetDateTime>)>, StoreError> {
    type Row = (i64, i64, i64, String, Option<String>, String, i64, i64);
    let rows: Vec<Row> = query(
        "SELECT o.id, o.case_id, o.customer_id, o.source, o.lead_contact, o.status, o.created_at, c.due_at \
         FROM opportunities o JOIN cases c ON c.id = o.case_id WHERE o.status = 'open' \
         ORDER BY c.due_at, o.id LIMIT $1",
    )
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(id, case_id, customer_id, source, lead_contact, status, created_at, due_at)| {
            let opportunity = Opportunity {
                id,
                case_id,
                customer_id,
                source,
                lead_contact,
                status: word(&status)?,
                created_at: from_millis(created_at)?,
            };
            let due = (due_at != crate::records::NO_CLOCK).then(|| from_millis(due_at)).transpose()?;
            Ok((opportunity, due))
        })
        .collect()
}

pub(crate) async fn merge_customers<C: Conn + ?Sized>(
    tx: &mut C,
    into: i64,
    from: i64,
    stamp: &Stamp,
) -> Result<(), StoreError> {
    if into == from {
        return Err(StoreError::Invalid("a customer cannot be merged into themselves".into()));
    }
    type Row = (Option<String>, Option<i64>, bool, Option<String>, Option<i64>);
    let sql = "SELECT name, followers, vip, locale, merged_into FROM customers WHERE id = $1";
    let target: Option<Row> = query(sql).bind(into).fetch_optional(&mut *tx).await?;
    let source: Option<Row> = query(sql).bind(from).fetch_optional(&mut *tx).await?;
    let (target, source) =
        (target.ok_or(StoreError::NotFound("customer"))?, source.ok_or(StoreError::NotFound("customer"))?);
    if target.4.is_some() || source.4.is_some() {
        return Err(StoreError::Conflict("the customer was merged into another already".into()));
    }
    // What the kept record lacks, the merged one gives; VIP if either was.
    query(
        "UPDATE customers SET name = coalesce(name, $2), followers = coalesce(followers, $3), vip = (vip OR $4), \
         locale = coalesce(locale, $5) WHERE id = $1",
    )
    .bind(into)
    .bind(&source.0)
    .bind(source.1)
    .bind(source.2)
    .bind(&source.3)
    .execute(&mut *tx)
    .await?;
    for table in ["customer_identities", "cases", "opportunities", "customer_events"] {
        query(format!("UPDATE {table} SET customer_id = $1 WHERE customer_id = $2"))
            .bind(into)
            .bind(from)
            .execute(&mut *tx)
            .await?;
    }
    super::nps::merge(&mut *tx, into, from).await?;
    // The guards again, as the writes themselves: two merges at once cannot both win.
    let merged = query("UPDATE customers SET merged_into = $1 WHERE id = $2 AND merged_into IS NULL")
        .bind(into)
        .bind(from)
        .execute(&mut *tx)
        .await?;
    let kept = query("UPDATE customers SET merged_into = NULL WHERE id = $1 AND merged_into IS NULL")
        .bind(into)
        .execute(&mut *tx)
        .await?;
    if merged != 1 || kept != 1 {
        return Err(StoreError::Conflict("the customer was merged into another already".into()));
    }
    for (customer, old, new) in
        [(into, Some(from.to_string()), Some(into.to_string())), (from, None, Some(into.to_string()))]
    {
        query(
            "INSERT INTO customer_events (customer_id, at, actor, action, field, old_value, new_value) \
             VALUES ($1, $2, $3, 'merged', 'customer', $4, $5)",
        )
        .bind(customer)
        .bind(millis(stamp.at))
        .bind(&stamp.actor)
        .bind(old)
        .bind(new)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// The customer who has `identity`, if one does.
async fn identity_owner<C: Conn + ?Sized>(
    conn: &mut C,
    identity: &otklik_core::Identity,
) -> Result<Option<i64>, StoreError> {
    query("SELECT customer_id FROM customer_identities WHERE kind = $1 AND value = $2")
        .bind(identity.kind.as_str())
        .bind(&identity.value)
        .scalar_optional(conn)
        .await
}

pub(crate) async fn add_identity<C: Conn + ?Sized>(
    tx: &mut C,
    customer_id: i64,
    identity: &otklik_core::Identity,
    stamp: &Stamp,
) -> Result<(), StoreError> {
    let merged: Option<Option<i64>> =
        query("SELECT merged_into FROM customers WHERE id = $1").bind(customer_id).scalar_optional(&mut *tx).await?;
    if let Some(Some(into)) = merged {
        return Err(StoreError::Conflict(format!("the customer was merged into customer {into}: add it there")));
    }
    match identity_owner(&mut *tx, identity).await? {
        Some(owner) if owner == customer_id => return Ok(()),
        Some(owner) => {
            return Err(StoreError::Conflict(format!(
                "{} `{}` belongs to customer {owner}: merge the two instead",
                identity.kind.as_str(),
                identity.value
            )));
        }
        None => {}
    }
    query("INSERT INTO customer_identities (kind, value, customer_id) VALUES ($1, $2, $3)")
        .bind(identity.kind.as_str())
        .bind(&identity.value)
        .bind(customer_id)
        .execute(&mut *tx)
        .await?;
    query(
        "INSERT INTO customer_events (customer_id, at, actor, action, field, new_value) \
         VALUES ($1, $2, $3, 'identity_added', $4, $5)",
    )
    .bind(customer_id)
    .bind(millis(stamp.at))
    .bind(&stamp.actor)
    .bind(identity.kind.as_str())
    .bind(&identity.value)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Whether some open task is owed a reminder or an escalation.
pub(crate) async fn overdue_tasks_due<C: Conn + ?Sized>(
    conn: &mut C,
    today: Date,
    now: OffsetDateTime,
    escalate_after: time::Duration,
) -> Result<bool, StoreError> {
    let found: Option<i64> = query(
        "SELECT id FROM tasks WHERE status = 'open' AND (due_at < $3 OR (due_at IS NULL AND due_on < $1)) \
         AND (reminded_at IS NULL OR (reminded_at <= $2 AND escalated_at IS NULL)) LIMIT 1",
    )
    .bind(date_text(today))
    .bind(millis(now - escalate_after))
    .bind(millis(now))
    .scalar_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// See `Store::chase_overdue_tasks`. Each mark is set by the update that picks the task, so a
/// task is reminded and escalated once however many nodes chase at once.
pub(crate) async fn chase_overdue_tasks<C: Conn + ?Sized>(
    tx: &mut C,
    today: Date,
    now: OffsetDateTime,
    escalate_after: time::Duration,
) -> Result<(u32, u32), StoreError> {
    type Chased = (i64, i64, String, Option<String>, Option<String>, Option<i64>);
    let reminded: Vec<Chased> = query(
        "UPDATE tasks SET reminded_at = $1 WHERE status = 'open' AND (due_at < $1 OR (due_at IS NULL AND due_on < $2)) \
         AND reminded_at IS NULL RETURNING id, case_id, title, assignee, due_on, due_at",
    )
    .bind(millis(now))
    .bind(date_text(today))
    .fetch_all(&mut *tx)
    .await?;
    let when = |due_on: &Option<String>, due_at: &Option<i64>| -> Result<String, StoreError> {
        Ok(match due_at {
            Some(at) => format!("at {}", from_millis(*at)?),
            None => format!("on {}", due_on.as_deref().unwrap_or("?")),
        })
    };
    for (_, case_id, title, assignee, due_on, due_at) in &reminded {
        let recipient = match assignee {
            Some(person) => Recipient::User(person.clone()),
            None => Recipient::Role(Role::Agent),
        };
        let body = format!("task `{title}` was due {} and is still open", when(due_on, due_at)?);
        notify(tx, &recipient, *case_id, "task_overdue", &body, millis(now)).await?;
    }
    let escalated: Vec<Chased> = query(
        "UPDATE tasks SET escalated_at = $1 WHERE status = 'open' AND reminded_at IS NOT NULL \
         AND reminded_at <= $2 AND escalated_at IS NULL RETURNING id, case_id, title, assignee, due_on, due_at",
    )
    .bind(millis(now))
    .bind(millis(now - escalate_after))
    .fetch_all(&mut *tx)
    .await?;
    for (_, case_id, title, assignee, due_on, due_at) in &escalated {
        let who = assignee.as_deref().unwrap_or("nobody");
        let due = when(due_on, due_at)?;
        let body = format!("task `{title}` ({who}) was due {due}; its assignee was reminded and it is still open");
        notify(tx, &Recipient::Role(Role::Manager), *case_id, "task_escalated", &body, millis(now)).await?;
    }
    Ok((reminded.len() as u32, escalated.len() as u32))
}
