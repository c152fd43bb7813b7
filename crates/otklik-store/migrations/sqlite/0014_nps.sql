-- NPS campaigns (issue 14, surveys): "how likely are you to recommend us, 0 to 10?" sent to a
-- chosen list of customers on one channel. Each customer's request is one row; its message goes
-- through the outbox like every other (an outbox row with no case, naming its request), and the
-- customer's answer (a lone number, or a Telegram button) is kept on the request.
CREATE TABLE nps_campaigns (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    channel     TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE TABLE nps_requests (
    id           INTEGER PRIMARY KEY,
    campaign_id  INTEGER NOT NULL REFERENCES nps_campaigns (id),
    customer_id  INTEGER NOT NULL REFERENCES customers (id),
    channel      TEXT NOT NULL,
    score        INTEGER,
    answered_at  INTEGER,
    -- The answering message's id at its source: a redelivered answer is recognised.
    answer_ref   TEXT,
    created_at   INTEGER NOT NULL,
    UNIQUE (campaign_id, customer_id)
);
CREATE INDEX nps_requests_unanswered ON nps_requests (customer_id, channel) WHERE answered_at IS NULL;
CREATE INDEX nps_requests_by_answer ON nps_requests (answered_at) WHERE answered_at IS NOT NULL;
CREATE INDEX nps_requests_by_answer_ref ON nps_requests (channel, answer_ref) WHERE answer_ref IS NOT NULL;

-- An outbox message belongs to a case, or (a survey) to an NPS request. SQLite cannot drop a
-- NOT NULL constraint, so the table is rebuilt with the same rows and ids.
CREATE TABLE outbox_rebuilt (
    id               INTEGER PRIMARY KEY,
    case_id          INTEGER REFERENCES cases (id),
    template         TEXT NOT NULL,
    channel          TEXT NOT NULL,
    body             TEXT,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    last_error       TEXT,
    locked_by        TEXT,
    created_at       INTEGER NOT NULL,
    sent_at          INTEGER,
    note             TEXT,
    survey_id        INTEGER REFERENCES nps_requests (id),
    CHECK ((case_id IS NULL) <> (survey_id IS NULL))
);
INSERT INTO outbox_rebuilt (id, case_id, template, channel, body, status, attempts, next_attempt_at,
                            last_error, locked_by, created_at, sent_at, note)
    SELECT id, case_id, template, channel, body, status, attempts, next_attempt_at,
           last_error, locked_by, created_at, sent_at, note FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_rebuilt RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_by_case ON outbox (case_id, id);
CREATE INDEX outbox_by_note ON outbox (channel, note) WHERE note IS NOT NULL;
CREATE INDEX outbox_by_survey ON outbox (survey_id) WHERE survey_id IS NOT NULL;
