-- Views for the questions customers ask most; docs/audit.md shows them in use.

-- Every row with a readable UTC time.
CREATE VIEW audit_readable AS
SELECT id,
       strftime('%Y-%m-%dT%H:%M:%fZ', time_ms / 1000.0, 'unixepoch') AS time,
       request_id, operation, bucket, object_key, decision, status, s3_status,
       bytes_in, bytes_out, duration_ms, ip, country, asn, colo, user_agent, origin,
       key_id, sub, jti
FROM audit_log;

-- Refused requests of the last 24 hours, newest first.
CREATE VIEW denied_last_24h AS
SELECT * FROM audit_readable
WHERE decision <> 'allowed'
  AND id IN (SELECT id FROM audit_log
             WHERE decision <> 'allowed'
               AND time_ms >= (CAST(strftime('%s', 'now') AS INTEGER) - 86400) * 1000)
ORDER BY id DESC;

-- Callers of the last 24 hours by number of requests, with how many were refused.
CREATE VIEW top_callers_24h AS
SELECT ip, country, asn,
       count(*) AS requests,
       sum(decision <> 'allowed') AS denied,
       coalesce(sum(bytes_out), 0) AS bytes_out,
       coalesce(sum(bytes_in), 0) AS bytes_in
FROM audit_log
WHERE time_ms >= (CAST(strftime('%s', 'now') AS INTEGER) - 86400) * 1000
GROUP BY ip, country, asn
ORDER BY requests DESC;

-- What each user (the grant's sub) touched, oldest first.
CREATE VIEW user_activity AS
SELECT sub, time, operation, object_key, decision, status, bytes_in, bytes_out, ip, country
FROM audit_readable
WHERE sub IS NOT NULL
ORDER BY sub, id;
