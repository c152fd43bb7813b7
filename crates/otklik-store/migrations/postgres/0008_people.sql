-- People sign in to the workspace: a person can be deactivated (they keep their history, lose
-- their sessions and cannot sign in), chooses a language and a time zone, and is kept signed in
-- by a session that lives in the database, so any node serves any request.
ALTER TABLE users ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE users ADD COLUMN language TEXT;
ALTER TABLE users ADD COLUMN time_zone TEXT;

CREATE TABLE sessions (
    -- SHA-256 (hex) of the secret in the person's cookie: the database never holds the secret.
    id_hash       TEXT PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users (id),
    -- The token every form of the session carries (CSRF).
    csrf_token    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- One-time links to set a password (a new person's first, or a reset): the SHA-256 of the
-- link's secret, used at most once, before it expires.
CREATE TABLE password_links (
    token_hash    TEXT PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users (id),
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    used_at       BIGINT
);
