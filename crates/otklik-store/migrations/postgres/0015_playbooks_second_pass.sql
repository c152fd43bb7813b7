-- The playbooks' second pass (issue 15). A manager who turns a compensation offer down says why.
ALTER TABLE compensations ADD COLUMN decision_reason TEXT;

-- Nothing is dropped half-way: a task still open after its day is over reminds its assignee
-- (reminded_at), and a day later is escalated to the managers (escalated_at), each once.
ALTER TABLE tasks ADD COLUMN reminded_at BIGINT;
ALTER TABLE tasks ADD COLUMN escalated_at BIGINT;
CREATE INDEX tasks_open_by_due ON tasks (due_on) WHERE status = 'open' AND due_on IS NOT NULL;

-- Who was involved: the employees a case concerns (a waiter, a courier), apart from its
-- assignee, by name, for the reports per employee.
CREATE TABLE case_employees (
    case_id   BIGINT NOT NULL REFERENCES cases (id),
    employee  TEXT NOT NULL,
    PRIMARY KEY (case_id, employee)
);
CREATE INDEX case_employees_by_employee ON case_employees (employee, case_id);
