-- The indexes of audit_log, one for each question of docs/audit.md ("Indexes").
--
-- An SQLite index also holds each row's id, in order: for `WHERE x = ? ORDER BY id` an index on
-- (x) alone returns the rows already sorted, where one on (x, time_ms) returns them by time and
-- needs a sort. No documented query filters on the IP, the key or the user together with a range
-- of time_ms (the views' `time` is text computed from it, which no index can serve), so the
-- three (x, time_ms) indexes become (x) indexes: smaller, and the sort is gone.
--
-- The cron's sealing and retention, and the statements that write and complete rows, find rows
-- by id and use none of these.

-- Kept as they are (0001_audit_log.sql):
--   audit_log_time (time_ms): top_callers_24h, `time_ms >=` the last 24 hours.
--   audit_log_denied_time (time_ms) WHERE decision <> 'allowed': denied_last_24h, and so "What
--   was refused in the last day?" and "Refusals by reason in the last day".

-- "Everything from one IP address in a time window": WHERE ip = ? … ORDER BY id.
DROP INDEX audit_log_ip_time;
CREATE INDEX audit_log_ip ON audit_log (ip);

-- "Everyone who read one report": WHERE object_key = ? … ORDER BY id.
DROP INDEX audit_log_key_time;
CREATE INDEX audit_log_key ON audit_log (object_key);

-- user_activity (WHERE sub IS NOT NULL ORDER BY sub, id), and "Everything one user touched"
-- (WHERE sub = ?, which implies a sub): only rows that have one.
DROP INDEX audit_log_sub_time;
CREATE INDEX audit_log_sub ON audit_log (sub) WHERE sub IS NOT NULL;
