-- How long a read waited on each of its two round trips: S3 for the reply's headers, D1 for the
-- row's INSERT. Both start together, so a read waits for the longer, not the sum. NULL for writes
-- and refusals. docs/audit.md describes both.
ALTER TABLE audit_log ADD COLUMN s3_ms INTEGER;
ALTER TABLE audit_log ADD COLUMN d1_ms INTEGER;
