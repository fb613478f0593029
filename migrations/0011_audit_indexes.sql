-- The indexes of audit_log, cut to what the queries of docs/audit.md ("Indexes") use.
--
-- An SQLite index also holds each row's id, in order: for `WHERE x = ? ORDER BY id` an index on
-- (x) alone returns the rows already sorted, where one on (x, time_ms) returns them by time and
-- needs a sort. No documented query filters on the IP, the key or the user together with a range
-- of time_ms (the views' `time` is text computed from it, which no index can serve), so the
-- three (x, time_ms) indexes become (x) indexes: smaller, cheaper to write, and the sort is gone.
-- audit_log_time and audit_log_denied_time stay as they are.
--
-- The cron's sealing and retention, and the statements that write and complete rows, find rows
-- by id and use none of these.

-- "Everything from one IP address in a time window": WHERE ip = ? … ORDER BY id.
DROP INDEX audit_log_ip_time;
CREATE INDEX audit_log_ip ON audit_log (ip);

-- "Everyone who read one report": WHERE object_key = ? … ORDER BY id.
DROP INDEX audit_log_key_time;
CREATE INDEX audit_log_key ON audit_log (object_key);

-- user_activity (ORDER BY sub, id), and "Everything one user touched": WHERE sub = ?.
DROP INDEX audit_log_sub_time;
CREATE INDEX audit_log_sub ON audit_log (sub) WHERE sub IS NOT NULL;
