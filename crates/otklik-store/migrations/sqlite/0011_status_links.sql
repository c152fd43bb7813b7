-- The customer's status link can be revoked by an agent (the page then answers like a wrong
-- link), and the customer rates a resolved case once from it (CSAT, 1 to 5, and a comment).
ALTER TABLE cases ADD COLUMN status_link_revoked_at INTEGER;

CREATE TABLE ratings (
    case_id     INTEGER PRIMARY KEY REFERENCES cases (id),
    score       INTEGER NOT NULL,
    comment     TEXT,
    created_at  INTEGER NOT NULL
);
