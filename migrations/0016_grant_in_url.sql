-- Whether the request carried its grant in the URL (`?grant=`, a link) rather than in
-- `Authorization`: 1 if it did, whether the grant was accepted or not; NULL otherwise, and in rows
-- written before this column existed. Sealed rows hash every column that is not NULL, so the
-- mark is covered by the seal, and rows without it keep the digests they were sealed with.
-- The token itself is never stored. docs/audit.md describes the column.
ALTER TABLE audit_log ADD COLUMN grant_in_url INTEGER;
