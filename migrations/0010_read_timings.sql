-- How long a read waited on each of its two round trips: S3 for the reply's headers, D1 for the
-- row's INSERT. Both start together, so a read waits for the longer, not the sum. NULL for writes
-- and refusals. docs/audit.md describes both.
ALTER TABLE audit_log ADD COLUMN s3_ms INTEGER;
ALTER TABLE audit_log ADD COLUMN d1_ms INTEGER;

-- Rows are written in batches: one statement inserts new rows and sets the outcome of pending
-- ones, naming those by id. An outcome whose row does not exist must not create one (with an id
-- that may lie inside a sealed range), so it is skipped. A new row names no id (NEW.id is -1).
CREATE TRIGGER audit_log_outcome_needs_its_row
BEFORE INSERT ON audit_log
WHEN NEW.id >= 0 AND NOT EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id)
BEGIN
  SELECT RAISE(IGNORE);
END;
