-- Every signer of a request, refused or not: a JSON array of {"key_id", "sub", "jti"} objects, in
-- the order of the covering MULTISIG rule's keys, then of VENDOR_KEYS (docs/audit.md). key_id,
-- sub and jti hold the first of them; rows written before this column exist hold NULL here.
ALTER TABLE audit_log ADD COLUMN signers TEXT;
