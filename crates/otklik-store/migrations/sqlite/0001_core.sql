-- Otklik's core schema on SQLite. Times are Unix milliseconds (UTC). Nothing is ever deleted.

CREATE TABLE customers (
    id          INTEGER PRIMARY KEY,
    name        TEXT,
    followers   INTEGER,
    vip         INTEGER NOT NULL DEFAULT 0,
    locale      TEXT,
    created_at  INTEGER NOT NULL
);

-- One customer, many identities; an identity belongs to one customer.
CREATE TABLE customer_identities (
    kind         TEXT NOT NULL,
    value        TEXT NOT NULL,
    customer_id  INTEGER NOT NULL REFERENCES customers (id),
    PRIMARY KEY (kind, value)
);
CREATE INDEX customer_identities_by_customer ON customer_identities (customer_id);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT,
    role           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

CREATE TABLE cases (
    id            INTEGER PRIMARY KEY,
    channel       TEXT NOT NULL,
    kind          TEXT NOT NULL,
    audience      TEXT NOT NULL,
    sentiment     TEXT,
    language      TEXT,
    priority      TEXT NOT NULL,
    status        TEXT NOT NULL,
    subject       TEXT,
    location      TEXT,
    product       TEXT,
    assignee      TEXT REFERENCES users (username),
    public        INTEGER NOT NULL,
    hidden        INTEGER NOT NULL DEFAULT 0,
    external_id   TEXT,
    customer_id   INTEGER NOT NULL REFERENCES customers (id),
    status_token  TEXT NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX cases_by_source ON cases (channel, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX cases_by_customer ON cases (customer_id, id);
-- Few indexes on purpose: every one costs each intake write. Listings walk ids newest first and
-- filter as they go; status queues and assignees are selective enough to deserve an index.
CREATE INDEX cases_by_status ON cases (status, id);
CREATE INDEX cases_by_assignee ON cases (assignee, id) WHERE assignee IS NOT NULL;

CREATE TABLE case_tags (
    case_id  INTEGER NOT NULL REFERENCES cases (id),
    tag      TEXT NOT NULL,
    PRIMARY KEY (case_id, tag)
);
CREATE INDEX case_tags_by_tag ON case_tags (tag, case_id);

CREATE TABLE messages (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    direction   TEXT NOT NULL,
    public      INTEGER NOT NULL,
    channel     TEXT NOT NULL,
    author      TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX messages_by_case ON messages (case_id, id);

-- The append-only history of every change.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    case_id    INTEGER NOT NULL REFERENCES cases (id),
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    field      TEXT,
    old_value  TEXT,
    new_value  TEXT
);
CREATE INDEX events_by_case ON events (case_id, id);

CREATE TABLE idempotency_keys (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    body_digest  TEXT NOT NULL,
    case_id      INTEGER NOT NULL REFERENCES cases (id),
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);

-- Stemmed search terms of each case (subject, messages); rowid is the case id. The terms are
-- produced by otklik_core::text::search_terms, so both backends index the same words.
CREATE VIRTUAL TABLE case_search USING fts5 (terms, tokenize = 'unicode61 remove_diacritics 0');
