//! Otklik's domain: the types every other crate speaks in. No I/O, no async, no SQL, no HTTP.

pub mod calendar;
pub mod case;
pub mod clock;
pub mod compensation;
pub mod customer;
pub mod deadline;
pub mod incoming;
pub mod playbook;
pub mod report;
pub mod rights;
pub mod standard;
pub mod text;
pub mod vocab;

pub use calendar::{
    BusinessCalendar, CalendarError, Holiday, Pause, WorkingHours, clock_words, in_time_zone, parse_week,
};
pub use case::{
    Case, CaseFilter, CasePatch, CaseRef, Cursor, Event, FieldChange, Message, NewFeedback, NewMessage, Page,
    ReturningPriority, Sort,
};
pub use clock::Clock;
pub use compensation::{ApprovalLimits, Compensation, CompensationOffer};
pub use customer::{Customer, CustomerPatch, Identity, IdentityKind, NewCustomer};
pub use deadline::{
    ClockFacts, ClockReading, DeadlinePolicy, DeadlineRule, DeadlineState, DeadlineStatus, Hours, Milestone, Target,
};
pub use incoming::{Attachment, Incoming};
pub use playbook::{
    Action, ActionInput, CaseFacts, Effect, Playbook, PlaybookError, PlaybookErrors, Playbooks, Refusal, Requirement,
    Stage, StageSet, Transition, Workflow,
};
pub use rights::Right;
pub use vocab::{
    ApologyForm, Audience, Cause, Channel, CompensationKind, CompensationStatus, Direction, JobKind, Kind, Language,
    MarkState, OpportunityStatus, OutboxStatus, Priority, Role, Sentiment, StageName, Status, TaskStatus, UnknownWord,
};
