-- Otklik's core schema on PostgreSQL. Times are Unix milliseconds (UTC), as on SQLite, so both
-- backends store and compare the same values. Nothing is ever deleted.

CREATE TABLE customers (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT,
    followers   BIGINT,
    vip         BOOLEAN NOT NULL DEFAULT FALSE,
    locale      TEXT,
    created_at  BIGINT NOT NULL
);

CREATE TABLE customer_identities (
    kind         TEXT NOT NULL,
    value        TEXT NOT NULL,
    customer_id  BIGINT NOT NULL REFERENCES customers (id),
    PRIMARY KEY (kind, value)
);
CREATE INDEX customer_identities_by_customer ON customer_identities (customer_id);

CREATE TABLE users (
    id             BIGSERIAL PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT,
    role           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

CREATE TABLE cases (
    id            BIGSERIAL PRIMARY KEY,
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
    public        BOOLEAN NOT NULL,
    hidden        BOOLEAN NOT NULL DEFAULT FALSE,
    external_id   TEXT,
    customer_id   BIGINT NOT NULL REFERENCES customers (id),
    status_token  TEXT NOT NULL UNIQUE,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX cases_by_source ON cases (channel, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX cases_by_customer ON cases (customer_id, id);
-- The same few indexes as on SQLite: every one costs each intake write.
CREATE INDEX cases_by_status ON cases (status, id);
CREATE INDEX cases_by_assignee ON cases (assignee, id) WHERE assignee IS NOT NULL;

CREATE TABLE case_tags (
    case_id  BIGINT NOT NULL REFERENCES cases (id),
    tag      TEXT NOT NULL,
    PRIMARY KEY (case_id, tag)
);
CREATE INDEX case_tags_by_tag ON case_tags (tag, case_id);

CREATE TABLE messages (
    id          BIGSERIAL PRIMARY KEY,
    case_id     BIGINT NOT NULL REFERENCES cases (id),
    direction   TEXT NOT NULL,
    public      BOOLEAN NOT NULL,
    channel     TEXT NOT NULL,
    author      TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX messages_by_case ON messages (case_id, id);

CREATE TABLE events (
    id         BIGSERIAL PRIMARY KEY,
    case_id    BIGINT NOT NULL REFERENCES cases (id),
    at         BIGINT NOT NULL,
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
    case_id      BIGINT NOT NULL REFERENCES cases (id),
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);

-- Stemmed search terms of each case, from otklik_core::text::search_terms; the 'simple'
-- configuration only lowercases, so PostgreSQL indexes exactly the words SQLite indexes.
CREATE TABLE case_search (
    case_id  BIGINT PRIMARY KEY REFERENCES cases (id),
    terms    TEXT NOT NULL,
    document TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', terms)) STORED
);
CREATE INDEX case_search_document ON case_search USING GIN (document);
