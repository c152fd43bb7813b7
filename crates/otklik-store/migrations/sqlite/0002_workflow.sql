-- The playbooks at work (SQLite): each case's stage, its tasks, compensation, the messages it owes
-- the customer (the outbox), deadline marks, notifications and the job queue. Times are Unix
-- milliseconds (UTC). Nothing is deleted: rows change status.

ALTER TABLE cases ADD COLUMN stage TEXT NOT NULL DEFAULT 'new';
-- When the first message to the customer went out (meets the first-response deadline).
ALTER TABLE cases ADD COLUMN first_response_at INTEGER;
-- When the case reached a resolved or closed status (meets the resolution deadline).
ALTER TABLE cases ADD COLUMN resolved_at INTEGER;
-- A date the business promised (an accepted idea's delivery), ISO 8601.
ALTER TABLE cases ADD COLUMN due_on TEXT;
-- When the deadline watch should look at the case next: NULL soon (new or changed), a time,
-- or the largest value when no clock can still fire.
ALTER TABLE cases ADD COLUMN watch_at INTEGER;
CREATE INDEX cases_to_watch ON cases (watch_at, id) WHERE resolved_at IS NULL;

-- Time a case spent waiting on the customer: the deadline clocks stop meanwhile.
CREATE TABLE case_pauses (
    id        INTEGER PRIMARY KEY,
    case_id   INTEGER NOT NULL REFERENCES cases (id),
    from_at   INTEGER NOT NULL,
    to_at     INTEGER
);
CREATE INDEX case_pauses_by_case ON case_pauses (case_id, from_at);

CREATE TABLE tasks (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    title       TEXT NOT NULL,
    assignee    TEXT REFERENCES users (username),
    due_on      TEXT,
    status      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    closed_at   INTEGER
);
CREATE INDEX tasks_by_case ON tasks (case_id, id);
CREATE INDEX tasks_by_assignee ON tasks (assignee, status) WHERE assignee IS NOT NULL;

CREATE TABLE task_comments (
    id        INTEGER PRIMARY KEY,
    task_id   INTEGER NOT NULL REFERENCES tasks (id),
    author    TEXT NOT NULL,
    body      TEXT NOT NULL,
    at        INTEGER NOT NULL
);
CREATE INDEX task_comments_by_task ON task_comments (task_id, id);

CREATE TABLE compensations (
    id            INTEGER PRIMARY KEY,
    case_id       INTEGER NOT NULL REFERENCES cases (id),
    kind          TEXT NOT NULL,
    amount        INTEGER NOT NULL,
    currency      TEXT NOT NULL,
    description   TEXT,
    apology_form  TEXT,
    status        TEXT NOT NULL,
    offered_by    TEXT NOT NULL,
    offered_at    INTEGER NOT NULL,
    decided_by    TEXT,
    decided_at    INTEGER
);
CREATE INDEX compensations_by_case ON compensations (case_id, id);

-- Customers handed to sales: after a resolved complaint, an answered question, praise, or a
-- referral's lead.
CREATE TABLE opportunities (
    id            INTEGER PRIMARY KEY,
    case_id       INTEGER NOT NULL REFERENCES cases (id),
    customer_id   INTEGER NOT NULL REFERENCES customers (id),
    source        TEXT NOT NULL,
    lead_contact  TEXT,
    status        TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX opportunities_by_case ON opportunities (case_id);

-- Messages owed to the customer, written in the same transaction as the step that owes them;
-- the channels deliver them and record the outcome.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    case_id          INTEGER NOT NULL REFERENCES cases (id),
    template         TEXT NOT NULL,
    channel          TEXT NOT NULL,
    body             TEXT,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    last_error       TEXT,
    -- The node delivering it now; its claim lasts until next_attempt_at.
    locked_by        TEXT,
    created_at       INTEGER NOT NULL,
    sent_at          INTEGER
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_by_case ON outbox (case_id, id);

-- Deadline warnings, breaches and escalations: one row per case, clock and state, so each is
-- recorded once however many nodes notice it.
CREATE TABLE deadline_marks (
    case_id    INTEGER NOT NULL REFERENCES cases (id),
    milestone  TEXT NOT NULL,
    state      TEXT NOT NULL,
    at         INTEGER NOT NULL,
    PRIMARY KEY (case_id, milestone, state)
);

CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY,
    recipient   TEXT NOT NULL,
    case_id     INTEGER REFERENCES cases (id),
    what        TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    read_at     INTEGER
);
CREATE INDEX notifications_by_recipient ON notifications (recipient, id);

-- Work due later: follow-ups and the like. A node claims due rows for a while (the lease), runs
-- them and records the outcome; a claim that lapses (the node died) is taken again.
CREATE TABLE jobs (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL,
    case_id       INTEGER REFERENCES cases (id),
    payload       TEXT NOT NULL,
    run_at        INTEGER NOT NULL,
    status        TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    locked_by     TEXT,
    locked_until  INTEGER,
    last_error    TEXT,
    created_at    INTEGER NOT NULL,
    done_at       INTEGER
);
CREATE INDEX jobs_due ON jobs (status, run_at);
