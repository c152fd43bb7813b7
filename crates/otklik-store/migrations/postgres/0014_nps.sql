-- NPS campaigns (issue 14, surveys): "how likely are you to recommend us, 0 to 10?" sent to a
-- chosen list of customers on one channel. Each customer's request is one row; its message goes
-- through the outbox like every other (an outbox row with no case, naming its request), and the
-- customer's answer (a lone number, or a Telegram button) is kept on the request.
CREATE TABLE nps_campaigns (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL,
    channel     TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE TABLE nps_requests (
    id           BIGSERIAL PRIMARY KEY,
    campaign_id  BIGINT NOT NULL REFERENCES nps_campaigns (id),
    customer_id  BIGINT NOT NULL REFERENCES customers (id),
    channel      TEXT NOT NULL,
    score        BIGINT,
    answered_at  BIGINT,
    -- The answering message's id at its source: a redelivered answer is recognised.
    answer_ref   TEXT,
    created_at   BIGINT NOT NULL,
    UNIQUE (campaign_id, customer_id)
);
CREATE INDEX nps_requests_unanswered ON nps_requests (customer_id, channel) WHERE answered_at IS NULL;
CREATE INDEX nps_requests_by_answer ON nps_requests (answered_at) WHERE answered_at IS NOT NULL;
CREATE INDEX nps_requests_by_answer_ref ON nps_requests (channel, answer_ref) WHERE answer_ref IS NOT NULL;

-- An outbox message belongs to a case, or (a survey) to an NPS request.
ALTER TABLE outbox ALTER COLUMN case_id DROP NOT NULL;
ALTER TABLE outbox ADD COLUMN survey_id BIGINT REFERENCES nps_requests (id);
ALTER TABLE outbox ADD CONSTRAINT outbox_case_or_survey CHECK ((case_id IS NULL) <> (survey_id IS NULL));
CREATE INDEX outbox_by_survey ON outbox (survey_id) WHERE survey_id IS NOT NULL;
