-- What inbound channels need: a case remembers the conversation it began in at its source (an
-- e-mail thread, a chat), so later messages of it continue the case; a message remembers its
-- own id at the source, so a redelivered one is recognised; and the files that came with them.
ALTER TABLE cases ADD COLUMN thread_key TEXT;
CREATE INDEX cases_by_thread ON cases (source, channel, thread_key, id) WHERE thread_key IS NOT NULL;

ALTER TABLE messages ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX messages_by_external_id ON messages (case_id, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE attachments (
    id            INTEGER PRIMARY KEY,
    case_id       INTEGER NOT NULL REFERENCES cases (id),
    name          TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    -- SHA-256 of the content, hex: the same file sent again on the case is kept once.
    digest        TEXT NOT NULL,
    content       BLOB NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX attachments_by_case ON attachments (case_id, digest, name);
