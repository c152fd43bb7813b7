-- Whether a returning customer complained before is asked at every intake (their priority may
-- rise); a partial index answers it without reading the customer's other cases.
CREATE INDEX cases_complaints_by_customer ON cases (customer_id) WHERE kind = 'complaint';
