-- The channels (issue 14). An outbox message is `sending` while a node hands it to its channel:
-- if the node stops then, the message is not sent again (it may have left already) but marked
-- failed for an agent to look at. `note` keeps what the channel said of it: the address of a
-- public post to answer on the site itself, or the message's id at the provider.
ALTER TABLE outbox ADD COLUMN note TEXT;
-- A provider's delivery report names the message by its id there.
CREATE INDEX outbox_by_note ON outbox (channel, note) WHERE note IS NOT NULL;

-- One customer across channels: an agent merges two records of one person. The merged record
-- keeps its row (nothing is deleted) with where it went; its identities, cases and history move.
ALTER TABLE customers ADD COLUMN merged_into INTEGER REFERENCES customers (id);

-- Outbound webhooks for the business's own systems (CRM, BI): each subscriber reads the case
-- events in order from its cursor (the last event handed over), so what it receives is exactly
-- what was committed; a failed delivery holds the cursor and is tried again with doubling waits.
-- One node at a time delivers to a subscriber (locked_by until lease_until).
CREATE TABLE webhooks (
    id               INTEGER PRIMARY KEY,
    url              TEXT NOT NULL,
    secret           TEXT NOT NULL,
    events           TEXT NOT NULL,
    active           INTEGER NOT NULL DEFAULT 1,
    cursor           INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    delivered        INTEGER NOT NULL DEFAULT 0,
    locked_by        TEXT,
    lease_until      INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL
);
