-- The workspace's queues by deadline risk and its sorts. `due_at`: when the earliest running
-- clock of a case falls due, or the largest value when no clock runs (so that "by due time" is
-- one index walk, the same on both databases). Intake sets it, the deadline watch keeps it
-- current; every unresolved case is looked at again once so that older cases get theirs.
ALTER TABLE cases ADD COLUMN due_at BIGINT NOT NULL DEFAULT 9223372036854775807;
UPDATE cases SET watch_at = NULL WHERE resolved_at IS NULL;
CREATE INDEX cases_by_due ON cases (due_at, id);
-- Most urgent first: the same expression as the listing's ORDER BY.
CREATE INDEX cases_by_priority ON cases ((CASE priority WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 WHEN 'normal' THEN 1 ELSE 0 END), id);
-- Queues by stage (the manager's approvals) read only unresolved cases.
CREATE INDEX cases_by_stage ON cases (kind, stage, id) WHERE resolved_at IS NULL;
