-- The customer's status link can be revoked by an agent (the page then answers like a wrong
-- link), and the customer rates a resolved case once from it (CSAT, 1 to 5, and a comment).
ALTER TABLE cases ADD COLUMN status_link_revoked_at BIGINT;

CREATE TABLE ratings (
    case_id     BIGINT PRIMARY KEY REFERENCES cases (id),
    score       BIGINT NOT NULL,
    comment     TEXT,
    created_at  BIGINT NOT NULL
);
