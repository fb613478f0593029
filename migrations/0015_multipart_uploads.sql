-- Multipart uploads: each upload id S3 gives is bound to the grant that created it, so that only
-- that grant can add parts, complete, abort or list it, and never past its size limit.
-- docs/api.md ("Uploads in parts") describes the flow.
CREATE TABLE multipart_uploads (
  upload_id TEXT PRIMARY KEY,
  key_id TEXT NOT NULL,              -- the PASERK id of the key that signed the creating grant
  jti TEXT NOT NULL,                 -- that grant's id, spent by the creation
  object_key TEXT NOT NULL,          -- relative to the key root
  max_bytes INTEGER NOT NULL,        -- the most the whole object may hold
  expires_ms INTEGER NOT NULL,       -- after this the grant, and so the upload, can no longer be used
  UNIQUE (key_id, jti)
) WITHOUT ROWID;

CREATE INDEX multipart_uploads_expires ON multipart_uploads (expires_ms);

-- The size of each part, counted before its bytes are sent: never less than what S3 may hold
-- for that part number. A part sent again counts the larger size until S3 has taken it and no
-- other sending of that part is in flight or began later (`generation`, `pending`).
CREATE TABLE multipart_parts (
  upload_id TEXT NOT NULL,
  part INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  generation INTEGER NOT NULL,       -- how many times the part was counted
  pending INTEGER NOT NULL,          -- sendings counted and not yet settled
  PRIMARY KEY (upload_id, part)
) WITHOUT ROWID;
