-- A location's own working hours, one line (`mon-fri 09:00-18:00; sat 10:00-16:00`); the
-- business's hours when NULL. The playbook file's `[calendar.location."<slug>"]` still wins.
ALTER TABLE locations ADD COLUMN hours TEXT;
