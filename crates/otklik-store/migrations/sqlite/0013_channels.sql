-- The channels (issue 14). An outbox message is `sending` while a node hands it to its channel:
-- if the node stops then, the message is not sent again (it may have left already) but marked
-- failed for an agent to look at. `note` keeps what the channel said of it: the address of a
-- public post to answer on the site itself, or the message's id at the provider.
ALTER TABLE outbox ADD COLUMN note TEXT;

-- One customer across channels: an agent merges two records of one person. The merged record
-- keeps its row (nothing is deleted) with where it went; its identities, cases and history move.
ALTER TABLE customers ADD COLUMN merged_into INTEGER REFERENCES customers (id);
