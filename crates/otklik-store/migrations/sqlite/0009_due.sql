-- The workspace's queues by deadline risk: when the earliest running clock of an unresolved case
-- falls due (NULL while every clock is stopped or met). Intake sets it, the deadline watch keeps
-- it current; an index over unresolved cases answers "breached", "due within the hour", "later"
-- and the sort by due time.
ALTER TABLE cases ADD COLUMN due_at INTEGER;
CREATE INDEX cases_by_due ON cases (due_at, id) WHERE resolved_at IS NULL;
-- Queues by stage (the manager's approvals) read only unresolved cases.
CREATE INDEX cases_by_stage ON cases (kind, stage, id) WHERE resolved_at IS NULL;
