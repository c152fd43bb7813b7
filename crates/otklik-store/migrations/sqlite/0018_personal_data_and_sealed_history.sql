-- Personal data and a history no one can rewrite unnoticed (issue 17).
-- A customer's personal data can be erased: the record keeps who erased it and when.
ALTER TABLE customers ADD COLUMN erased_at INTEGER;
ALTER TABLE customers ADD COLUMN erased_by TEXT;
-- Each case's events are hash-chained by the clock work shortly after they are written ("sealed"):
-- `values_digest` is the SHA-256 of a random `salt` and the event's old and new values (which
-- may hold personal data), `digest` the SHA-256 of the event before it (`prev_digest`), the
-- event's other fields and `values_digest`. Erasing a value keeps its `values_digest` and
-- marks the event `erased_at`, so the chain still verifies (`otklik audit verify`).
ALTER TABLE events ADD COLUMN salt TEXT;
ALTER TABLE events ADD COLUMN values_digest TEXT;
ALTER TABLE events ADD COLUMN prev_digest TEXT;
ALTER TABLE events ADD COLUMN digest TEXT;
ALTER TABLE events ADD COLUMN erased_at INTEGER;
CREATE INDEX events_unsealed ON events (id) WHERE digest IS NULL;
-- The search index forgets replaced terms at once (not at its next merge), so an erased
-- customer's words leave it with the erasure.
INSERT INTO case_search (case_search, rank) VALUES ('secure-delete', 1);
