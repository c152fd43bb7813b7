-- A customer's history: every change to their record (a name corrected, VIP given or taken) is
-- an event, as a case's changes are.
CREATE TABLE customer_events (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers (id),
    at           INTEGER NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    field        TEXT,
    old_value    TEXT,
    new_value    TEXT
);
CREATE INDEX customer_events_by_customer ON customer_events (customer_id, id);
