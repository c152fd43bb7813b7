-- The playbooks' second pass (issue 15). A manager who turns a compensation offer down says why.
ALTER TABLE compensations ADD COLUMN decision_reason TEXT;

-- Nothing is dropped half-way: a task still open after its day is over reminds its assignee
-- (reminded_at), and a day later is escalated to the managers (escalated_at), each once.
ALTER TABLE tasks ADD COLUMN reminded_at INTEGER;
ALTER TABLE tasks ADD COLUMN escalated_at INTEGER;
CREATE INDEX tasks_open_by_due ON tasks (due_on) WHERE status = 'open' AND due_on IS NOT NULL;
