-- A claim (a new row of audit_seals) must follow on from the latest seal, as the cron's own claim
-- statement does. docs/audit.md, "The triggers", lists these rules.
--
-- Defence in depth: someone who can write to D1 can drop triggers. What stops a forged claim
-- from being signed is the cron itself, which recomputes every value of a claim before signing
-- it. These rules only make a forged claim take that extra step.
--
-- The checks run after the insert, when the new seal's id is known; RAISE(ABORT) undoes it.

-- A claim is inserted unsigned; only the cron, holding the key, finishes it.
CREATE TRIGGER audit_seals_claimed_unsigned
AFTER INSERT ON audit_seals
WHEN NEW.row_count IS NOT NULL OR NEW.prev IS NOT NULL OR NEW.head IS NOT NULL
  OR NEW.manifest_digest IS NOT NULL OR NEW.key_id IS NOT NULL OR NEW.signature IS NOT NULL
  OR NEW.hash IS NOT NULL OR NEW.manifest IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, 'audit seal claims are inserted unsigned');
END;

-- One seal in the making at a time: the next is claimed once the last is finished.
CREATE TRIGGER audit_seals_one_claim_at_a_time
AFTER INSERT ON audit_seals
WHEN EXISTS (SELECT 1 FROM audit_seals WHERE signature IS NULL AND id <> NEW.id)
BEGIN
  SELECT RAISE(ABORT, 'an audit seal is already being made');
END;

-- The claim comes last and follows on from the latest seal: its rows start right after that
-- seal's, it is scheduled later with a cutoff no earlier (and not after its own scheduled time),
-- and retention may reach no less than before and no row the latest seal did not seal.
CREATE TRIGGER audit_seals_claim_follows_on
AFTER INSERT ON audit_seals
WHEN NEW.id <> (SELECT MAX(id) FROM audit_seals)
  OR NEW.first_id <> COALESCE((SELECT last_id FROM audit_seals WHERE id < NEW.id ORDER BY id DESC LIMIT 1), 0) + 1
  OR NEW.last_id < NEW.first_id - 1
  OR NEW.scheduled_ms <= COALESCE((SELECT scheduled_ms FROM audit_seals WHERE id < NEW.id ORDER BY id DESC LIMIT 1), NEW.scheduled_ms - 1)
  OR NEW.cutoff_ms > NEW.scheduled_ms
  OR NEW.cutoff_ms < COALESCE((SELECT cutoff_ms FROM audit_seals WHERE id < NEW.id ORDER BY id DESC LIMIT 1), NEW.cutoff_ms)
  OR NEW.purged_through < COALESCE((SELECT purged_through FROM audit_seals WHERE id < NEW.id ORDER BY id DESC LIMIT 1), 0)
  OR NEW.purged_through > NEW.first_id - 1
BEGIN
  SELECT RAISE(ABORT, 'audit seal claim does not follow on from the latest seal');
END;

-- A claim's range, times and purge are fixed when it is made; finishing it fills in the rest.
CREATE TRIGGER audit_seals_claims_are_fixed
BEFORE UPDATE OF id, scheduled_ms, cutoff_ms, first_id, last_id, purged_through ON audit_seals
WHEN OLD.signature IS NULL
BEGIN
  SELECT RAISE(ABORT, 'audit seal claim is fixed');
END;

-- Seals are kept, but a claim that was never signed may be removed: the cron refuses to sign a
-- claim it did not make, and sealing waits until that claim is gone (docs/audit.md).
DROP TRIGGER audit_seals_are_kept;

CREATE TRIGGER audit_seals_are_kept
BEFORE DELETE ON audit_seals
WHEN OLD.signature IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, 'audit seals are kept');
END;
