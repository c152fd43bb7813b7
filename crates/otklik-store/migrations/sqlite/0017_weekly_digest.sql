-- The weekly digest (issue 16): a person may give an e-mail address, and each week's digest to
-- the managers is recorded once (the first node to insert the week wins), its e-mails going out
-- through the outbox like every other message: an outbox row names a case, an NPS request, or
-- a digest and the person it is for.
ALTER TABLE users ADD COLUMN email TEXT;

CREATE TABLE digests (
    id           INTEGER PRIMARY KEY,
    -- The business days it covers, `YYYY-MM-DD`, Monday to Sunday.
    period_from  TEXT NOT NULL UNIQUE,
    period_to    TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);

-- SQLite cannot change a CHECK constraint, so the table is rebuilt with the same rows and ids.
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
    digest_id        INTEGER REFERENCES digests (id),
    user_id          INTEGER REFERENCES users (id),
    CHECK ((case_id IS NOT NULL) + (survey_id IS NOT NULL) + (digest_id IS NOT NULL) = 1),
    CHECK ((digest_id IS NULL) = (user_id IS NULL))
);
INSERT INTO outbox_rebuilt (id, case_id, template, channel, body, status, attempts, next_attempt_at,
                            last_error, locked_by, created_at, sent_at, note, survey_id)
    SELECT id, case_id, template, channel, body, status, attempts, next_attempt_at,
           last_error, locked_by, created_at, sent_at, note, survey_id FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_rebuilt RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_by_case ON outbox (case_id, id);
CREATE INDEX outbox_by_note ON outbox (channel, note) WHERE note IS NOT NULL;
CREATE INDEX outbox_by_survey ON outbox (survey_id) WHERE survey_id IS NOT NULL;
CREATE INDEX outbox_by_digest ON outbox (digest_id) WHERE digest_id IS NOT NULL;
