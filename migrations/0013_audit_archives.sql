-- The audit archive: each sealed period written to the customer's own S3 bucket
-- (AUDIT_ARCHIVE_BUCKET) before D1 forgets it. docs/audit.md describes the objects.
--
-- One row per archived object, written only after the object was read back from S3 and its
-- SHA-256 checked. A seal has a rows object (none if no row of it was left in D1) and a seal
-- object; its seal object's row is recorded last, in the same statement, so a seal counts as
-- archived once that row exists. Seals are archived in order, so the highest such last_id is how
-- far the log is archived.
CREATE TABLE audit_archives (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  seal_id INTEGER NOT NULL,                           -- audit_seals.id of the seal the object covers
  kind TEXT NOT NULL CHECK (kind IN ('rows', 'seal')),
  object_key TEXT NOT NULL UNIQUE,                    -- the key in the archive bucket, prefix included
  sha256 TEXT NOT NULL,                               -- hex SHA-256 of the object as written and read back
  bytes INTEGER NOT NULL,                             -- the object's size
  row_count INTEGER NOT NULL,                         -- audit_log rows in it (0 for a seal object)
  first_id INTEGER NOT NULL,                          -- the seal's range of audit_log ids
  last_id INTEGER NOT NULL,
  archived_ms INTEGER NOT NULL                        -- when it was recorded, ms since 1970-01-01 UTC
);

CREATE INDEX audit_archives_seal ON audit_archives (kind, seal_id);
CREATE INDEX audit_archives_time ON audit_archives (archived_ms);

-- Rows leave D1 through retention (up to the latest seal's purged_through) or, once archived,
-- through the size budget (docs/audit.md, "The archive"). Deleting a row that is neither is
-- refused: it would leave no trace.
DROP TRIGGER audit_log_rows_leave_by_retention_only;

CREATE TRIGGER audit_log_rows_leave_by_retention_only
BEFORE DELETE ON audit_log
WHEN OLD.id > COALESCE((SELECT purged_through FROM audit_seals WHERE signature IS NOT NULL ORDER BY id DESC LIMIT 1), 0)
  AND OLD.id > COALESCE((SELECT MAX(last_id) FROM audit_archives WHERE kind = 'seal'), 0)
BEGIN
  SELECT RAISE(ABORT, 'audit_log rows are deleted by retention only');
END;

-- What is archived stays recorded: an archived object is never rewritten (retention relies on it).
CREATE TRIGGER audit_archives_are_final
BEFORE UPDATE ON audit_archives
BEGIN
  SELECT RAISE(ABORT, 'audit archive records are final');
END;
