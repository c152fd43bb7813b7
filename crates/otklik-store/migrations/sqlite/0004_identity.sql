-- Who is who (issue: a token's identity was its free-text name, a notification's recipient one
-- string, and a redelivery key global to every source):
-- - a token belongs to a person (user_id) or is an integration with none;
-- - a notification names a user (`user:NAME`) or a role (`role:ROLE`), never a bare word;
-- - a case remembers the source that sent it (`token:7`), and a source's external ids are its own.
ALTER TABLE api_tokens ADD COLUMN user_id INTEGER REFERENCES users (id);

UPDATE notifications SET recipient = 'role:' || recipient
    WHERE recipient IN ('admin', 'manager', 'agent', 'executor', 'sales', 'intake');
UPDATE notifications SET recipient = 'user:' || recipient WHERE recipient NOT LIKE 'role:%';

ALTER TABLE cases ADD COLUMN source TEXT NOT NULL DEFAULT '';
DROP INDEX cases_by_source;
CREATE UNIQUE INDEX cases_by_source ON cases (source, channel, external_id) WHERE external_id IS NOT NULL;
