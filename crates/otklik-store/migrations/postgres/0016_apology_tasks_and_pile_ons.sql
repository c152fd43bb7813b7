-- Apology in the right form (issue 15): a call or a meeting is a task with a time, not only a
-- day. due_at (milliseconds) is that time; due_on keeps its day for listings.
ALTER TABLE tasks ADD COLUMN due_at BIGINT;
CREATE INDEX tasks_open_by_due_at ON tasks (due_at) WHERE status = 'open' AND due_at IS NOT NULL;

-- Friends pile on (issue 15): comments on one public incident are linked to one parent case;
-- the reply on the parent answers them all and closing it closes them.
ALTER TABLE cases ADD COLUMN parent_id BIGINT REFERENCES cases (id);
CREATE INDEX cases_by_parent ON cases (parent_id) WHERE parent_id IS NOT NULL;

-- Reports (issue 16): the cases created in a period (exports, breaches); the median and 90th
-- percentile of response and resolution times, read at their rank from the duration's order.
CREATE INDEX cases_by_created ON cases (created_at, id);
-- Repeat complainers: each customer's complaints in time order, covering the period's filter.
CREATE INDEX cases_complaints_by_customer_time ON cases (customer_id, created_at, hidden) WHERE kind = 'complaint';
CREATE INDEX cases_first_response_time ON cases ((first_response_at - created_at), created_at, hidden)
    WHERE first_response_at IS NOT NULL;
CREATE INDEX cases_resolution_time ON cases ((resolved_at - created_at), created_at, hidden)
    WHERE resolved_at IS NOT NULL;
