-- Seals: tamper evidence for audit_log. docs/audit.md explains the chain, the signature, and how
-- `gatekeeper audit verify` checks an export against them.
--
-- A cron run first claims the rows it will seal (a row with the range and no signature yet), then
-- reads them, then finishes the seal. From the claim on, the rows are frozen by the triggers
-- below, so what was read is what stays sealed.
CREATE TABLE audit_seals (
  id INTEGER PRIMARY KEY AUTOINCREMENT, -- the seal's number, part of what is signed
  scheduled_ms INTEGER NOT NULL UNIQUE, -- the cron run's scheduled time: one seal per run
  cutoff_ms INTEGER NOT NULL,           -- scheduled_ms less the grace period; every row sealed arrived by then
  first_id INTEGER NOT NULL,            -- the audit_log ids sealed: first_id to last_id
  last_id INTEGER NOT NULL,             -- (first_id - 1 when no rows arrived)
  purged_through INTEGER NOT NULL,      -- retention deletes audit_log rows up to this id
  row_count INTEGER,                    -- this and the columns below stay NULL until the seal is finished
  prev TEXT,                            -- hex SHA-256 of the previous seal (64 zeros for the first)
  head TEXT,                            -- hex SHA-256 chain over the rows, from prev
  manifest_digest TEXT,                 -- hex SHA-256 of the manifest, which the signature covers
  key_id TEXT,                          -- k4.pid of the key that signed
  signature TEXT,                       -- hex Ed25519 signature of the seal's canonical text
  hash TEXT,                            -- hex SHA-256 of that text: the next seal's prev
  manifest TEXT                         -- each row's id and digest prefix, base64url; NULL once purged
                                        -- (last, so reading the other columns skips its pages)
);

-- The seal in the making, if any, and the seals retention may have reached.
CREATE INDEX audit_seals_unfinished ON audit_seals (id) WHERE signature IS NULL;
CREATE INDEX audit_seals_cutoff ON audit_seals (cutoff_ms, last_id) WHERE signature IS NOT NULL;

-- A sealed (or claimed) row is final. A completion that arrives after the seal is refused rather
-- than applied, so a sealed row can never differ from what its seal says.
CREATE TRIGGER audit_log_sealed_rows_are_final
BEFORE UPDATE ON audit_log
WHEN OLD.id <= (SELECT last_id FROM audit_seals ORDER BY id DESC LIMIT 1)
BEGIN
  SELECT RAISE(ABORT, 'audit_log row is sealed');
END;

-- Rows leave only through retention, which deletes sealed rows up to the latest seal's
-- purged_through. Deleting an unsealed row would leave no trace, so it is refused.
CREATE TRIGGER audit_log_rows_leave_by_retention_only
BEFORE DELETE ON audit_log
WHEN OLD.id > COALESCE((SELECT purged_through FROM audit_seals WHERE signature IS NOT NULL ORDER BY id DESC LIMIT 1), 0)
BEGIN
  SELECT RAISE(ABORT, 'audit_log rows are deleted by retention only');
END;

-- A finished seal never changes, except that retention empties the manifest of a purged range.
CREATE TRIGGER audit_seals_are_final
BEFORE UPDATE OF id, scheduled_ms, cutoff_ms, first_id, last_id, purged_through, row_count, prev, head, manifest_digest, key_id, signature, hash ON audit_seals
WHEN OLD.signature IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, 'audit seal is final');
END;

CREATE TRIGGER audit_seals_manifest_only_emptied
BEFORE UPDATE OF manifest ON audit_seals
WHEN OLD.signature IS NOT NULL AND NEW.manifest IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, 'audit seal is final');
END;

CREATE TRIGGER audit_seals_are_kept
BEFORE DELETE ON audit_seals
BEGIN
  SELECT RAISE(ABORT, 'audit seals are kept');
END;
