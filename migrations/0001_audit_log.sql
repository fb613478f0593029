-- The audit log: one row per request, allowed or denied. docs/audit.md describes every column.
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ms INTEGER NOT NULL,          -- arrival, milliseconds since 1970-01-01 UTC
  request_id TEXT NOT NULL,          -- cf-ray, or a UUID where the edge gave none
  operation TEXT,                    -- get, head, put, list, delete; NULL if none could be read
  bucket TEXT NOT NULL,
  object_key TEXT,                   -- the key, or the prefix of a list
  decision TEXT NOT NULL,            -- 'allowed' or the stable refusal code
  status INTEGER NOT NULL,           -- HTTP status returned to the caller
  s3_status INTEGER,                 -- HTTP status S3 returned, if S3 was asked
  bytes_in INTEGER,
  bytes_out INTEGER,
  duration_ms INTEGER,
  ip TEXT,
  country TEXT,
  asn INTEGER,
  colo TEXT,
  user_agent TEXT,
  origin TEXT,
  key_id TEXT,                       -- k4.pid of the key that signed the grant
  sub TEXT,                          -- the vendor's user id, from the grant
  jti TEXT                           -- the grant's unique id
);

CREATE INDEX audit_log_time ON audit_log (time_ms);
CREATE INDEX audit_log_ip_time ON audit_log (ip, time_ms);
CREATE INDEX audit_log_key_time ON audit_log (object_key, time_ms);
CREATE INDEX audit_log_sub_time ON audit_log (sub, time_ms);
CREATE INDEX audit_log_denied_time ON audit_log (time_ms) WHERE decision <> 'allowed';
