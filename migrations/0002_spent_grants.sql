-- Write grants are single use: the (key_id, jti) of every put or delete grant is recorded here
-- before the write, and a second use fails the primary key.
CREATE TABLE spent_grants (
  key_id TEXT NOT NULL,
  jti TEXT NOT NULL,
  expires_ms INTEGER NOT NULL,       -- after this the grant is expired anyway; the row may go
  PRIMARY KEY (key_id, jti)
) WITHOUT ROWID;

CREATE INDEX spent_grants_expires ON spent_grants (expires_ms);
