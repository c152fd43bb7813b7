-- The cause of a complaint (service, quality, misunderstanding) as triage tells it or an agent
-- corrects it; NULL when it cannot be told or the case is no complaint.
ALTER TABLE cases ADD COLUMN cause TEXT;
