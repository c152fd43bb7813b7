-- The weekly digest (issue 16): a person may give an e-mail address, and each week's digest to
-- the managers is recorded once (the first node to insert the week wins), its e-mails going out
-- through the outbox like every other message: an outbox row names a case, an NPS request, or
-- a digest and the person it is for.
ALTER TABLE users ADD COLUMN email TEXT;

CREATE TABLE digests (
    id           BIGSERIAL PRIMARY KEY,
    -- The business days it covers, `YYYY-MM-DD`, Monday to Sunday.
    period_from  TEXT NOT NULL UNIQUE,
    period_to    TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

ALTER TABLE outbox ADD COLUMN digest_id BIGINT REFERENCES digests (id);
ALTER TABLE outbox ADD COLUMN user_id BIGINT REFERENCES users (id);
ALTER TABLE outbox DROP CONSTRAINT outbox_case_or_survey;
ALTER TABLE outbox ADD CONSTRAINT outbox_one_owner
    CHECK ((case_id IS NOT NULL)::int + (survey_id IS NOT NULL)::int + (digest_id IS NOT NULL)::int = 1);
ALTER TABLE outbox ADD CONSTRAINT outbox_digest_to_person CHECK ((digest_id IS NULL) = (user_id IS NULL));
CREATE INDEX outbox_by_digest ON outbox (digest_id) WHERE digest_id IS NOT NULL;
