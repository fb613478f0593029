-- A write's pending row spends its grant ids in the same statement that inserts it: the Worker
-- puts them in `spent` (a JSON array of {"key_id", "jti", "keep_until_ms"}), and this trigger
-- inserts them into spent_grants. An id spent before fails that table's primary key, which fails
-- the row's insert with it: one statement, one transaction, and a replayed grant records nothing.
-- docs/audit.md describes the column.
ALTER TABLE audit_log ADD COLUMN spent TEXT;

CREATE TRIGGER audit_log_spends_write_grants
AFTER INSERT ON audit_log
WHEN NEW.spent IS NOT NULL
BEGIN
  INSERT INTO spent_grants (key_id, jti, expires_ms)
  SELECT value ->> 'key_id', value ->> 'jti', value ->> 'keep_until_ms' FROM json_each(NEW.spent);
END;
