-- Shorter rows: a request that one grant alone vouched for stores `signers` as '1' instead of a
-- JSON array that would only repeat the row's own key_id, sub and jti (about 130 of the 700
-- bytes a typical row took). docs/audit.md ("Columns", "Capacity") describes the encoding and
-- the measurement. Rows written before keep their array; both are sealed as they are stored.
--
-- audit_readable gives the array back for every row, and gains the columns added since it was
-- made, after the ones it had, so queries written against it keep their meaning.
-- denied_last_24h and user_activity read it by name and follow.
DROP VIEW audit_readable;

CREATE VIEW audit_readable AS
SELECT id,
       strftime('%Y-%m-%dT%H:%M:%fZ', time_ms / 1000.0, 'unixepoch') AS time,
       request_id, operation, bucket, object_key, decision, status, s3_status,
       bytes_in, bytes_out, duration_ms, ip, country, asn, colo, user_agent, origin,
       key_id, sub, jti,
       method,
       CASE WHEN signers = '1' THEN json_array(json_object('jti', jti, 'key_id', key_id, 'sub', sub))
            ELSE signers END AS signers,
       body_relayed, s3_ms, d1_ms, spent
FROM audit_log;
