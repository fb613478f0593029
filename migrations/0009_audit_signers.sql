-- Every signer of a request, allowed or refused: a JSON array of {"key_id", "sub", "jti"} objects,
-- in the order of the covering MULTISIG rule's keys, then of VENDOR_KEYS (docs/audit.md). The
-- key_id, sub and jti columns hold the first of them. NULL when no grant's signature verified.
ALTER TABLE audit_log ADD COLUMN signers TEXT;
