-- The playbooks' second pass (issue 15). A manager who turns a compensation offer down says why.
ALTER TABLE compensations ADD COLUMN decision_reason TEXT;
