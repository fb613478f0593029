//! What a cron run does, as statements for the adapter to run: claim the rows to seal, read them,
//! finish the seal, then apply retention.
//!
//! The order makes sealing safe against the completion of a row (bytes and final status, written
//! when a streamed reply ends): the claim is committed before any row is read, and from then on
//! the database refuses to update a claimed row (`migrations/0003_audit_seals.sql`). So a row is
//! sealed either with its completion or, if the completion comes later, without it, and never
//! differs from its seal. The grace period only makes the second case rare.

use std::fmt;

use crate::audit::SqlValue;
use crate::audit::Statement;
use crate::grant::SigningKey;
use crate::replay;
use crate::seal::claim::{self, Refusal};
use crate::seal::{Chain, Evidence, Hash, MalformedSeal, Manifest, Proof, Row, Seal};

/// Most rows one seal covers. A backlog (after the cron was stopped, say) is sealed in several
/// seals rather than one that would outgrow a Worker's memory or D1's row size: each row adds 16
/// bytes to the manifest. A run makes as many as its budget allows ([`crate::seal::Run`]).
pub const MAX_ROWS_PER_SEAL: i64 = 50_000;

/// Most rows one retention step deletes, for the same reason; a run takes as many steps as its
/// budget allows.
pub const MAX_ROWS_PER_PURGE: i64 = 50_000;

/// Rows read from D1 per query while sealing.
pub(crate) const PAGE: i64 = 1_000;

pub(crate) const MS_PER_DAY: i64 = 86_400_000;

/// Every column of `audit_seals` but the manifest, which a cron run never needs to read.
const SEAL_COLUMNS: &str = "id, scheduled_ms, cutoff_ms, first_id, last_id, purged_through, row_count, prev, head, manifest_digest, key_id, signature, hash";

/// How sealing and retention treat the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// `AUDIT_SEAL_GRACE_SECONDS`: a row is sealed only once it is this old, so that a streamed
    /// reply has time to complete it. Default 900.
    pub grace_seconds: u32,
    /// `AUDIT_RETENTION_DAYS`: sealed rows older than this are deleted. Default 180.
    pub retention_days: u32,
}

impl Policy {
    /// The cutoff of the run scheduled at `scheduled_ms`: rows that arrived by then are sealed.
    pub fn cutoff(self, scheduled_ms: i64) -> i64 {
        scheduled_ms.saturating_sub(i64::from(self.grace_seconds) * 1000)
    }

    /// The retention horizon of the run scheduled at `scheduled_ms`: rows that arrived by then
    /// may be purged.
    pub fn horizon(self, scheduled_ms: i64) -> i64 {
        scheduled_ms.saturating_sub(i64::from(self.retention_days) * MS_PER_DAY)
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            grace_seconds: 900,
            retention_days: 180,
        }
    }
}

/// Seals the audit log with the gatekeeper's key, and applies retention.
#[derive(Clone, Debug)]
pub struct Sealer {
    key: SigningKey,
    policy: Policy,
}

/// A cron run cannot go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealError {
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Malformed(MalformedSeal),
    AlreadyFinished,
    PreviousUnfinished,
    RowWithoutId,
    RowOutOfRange(i64),
    Incomplete,
    Refused { seq: i64, refusal: Refusal },
}

impl From<MalformedSeal> for SealError {
    fn from(e: MalformedSeal) -> Self {
        Self {
            kind: Kind::Malformed(e),
        }
    }
}

impl SealError {
    const fn new(kind: Kind) -> Self {
        Self { kind }
    }

    /// Whether a claim was refused because a value in it is not what the cron run recomputes:
    /// someone wrote it to the database directly. Sealing stops until it is removed
    /// (docs/audit.md).
    pub fn is_refused_claim(&self) -> bool {
        matches!(self.kind, Kind::Refused { .. })
    }
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Malformed(e) => write!(f, "a stored seal cannot be read: {e}"),
            Kind::AlreadyFinished => f.write_str("the seal is already finished"),
            Kind::PreviousUnfinished => f.write_str("the seal before it is not finished"),
            Kind::RowWithoutId => f.write_str("an audit_log row has no whole-number id"),
            Kind::RowOutOfRange(id) => {
                write!(
                    f,
                    "audit_log row {id} was read out of order or out of range"
                )
            }
            Kind::Incomplete => f.write_str("not every row of the seal was read"),
            Kind::Refused { seq, refusal } => write!(f, "refused to sign seal {seq}: {refusal}"),
        }
    }
}

impl std::error::Error for SealError {}

impl Sealer {
    /// A sealer that signs with `key`.
    pub fn new(key: SigningKey, policy: Policy) -> Self {
        Self { key, policy }
    }

    /// The key seals are signed with.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The grace period and retention.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Claims the rows for the seal scheduled at `scheduled_ms` (a run's first seal is scheduled at
    /// the run's time, each further one a millisecond later): every row after the last seal's,
    /// up to (not including) the first that arrived after the grace period began, at most
    /// [`MAX_ROWS_PER_SEAL`]. The claim also fixes what retention may purge: the rows of every
    /// finished seal whose cutoff is older than the retention period, never less than the
    /// previous seal allowed and never past the rows it sealed.
    ///
    /// Inserts nothing if a seal for `scheduled_ms` or a later one exists (a repeated or late
    /// run), if the cutoff would be before the previous seal's (the grace period was raised:
    /// sealing waits until time has caught up), or if another seal is still being made (finish
    /// that first). What it inserts follows on from the latest seal, as the database requires
    /// (`migrations/0007_audit_seal_claims.sql`), and is what [`Sealer::begin`] recomputes.
    pub fn claim(&self, scheduled_ms: i64) -> Statement {
        Statement {
            sql: "INSERT INTO audit_seals (scheduled_ms, cutoff_ms, first_id, last_id, purged_through) \
                  SELECT ?1, ?2, prev.last_id + 1, \
                    MAX(prev.last_id, MIN(prev.last_id + ?3, COALESCE(\
                      (SELECT MIN(id) - 1 FROM audit_log WHERE id > prev.last_id AND time_ms > ?2), \
                      (SELECT MAX(id) FROM audit_log), \
                      prev.last_id))), \
                    MIN(prev.last_id, MAX(prev.purged_through, COALESCE(\
                      (SELECT MAX(last_id) FROM audit_seals WHERE signature IS NOT NULL AND cutoff_ms <= ?4), 0))) \
                  FROM (SELECT COALESCE(latest.last_id, 0) AS last_id, \
                          COALESCE(latest.purged_through, 0) AS purged_through, \
                          latest.scheduled_ms AS scheduled_ms, latest.cutoff_ms AS cutoff_ms \
                        FROM (SELECT 1) LEFT JOIN \
                          (SELECT last_id, purged_through, scheduled_ms, cutoff_ms FROM audit_seals ORDER BY id DESC LIMIT 1) AS latest \
                          ON 1) AS prev \
                  WHERE NOT EXISTS (SELECT 1 FROM audit_seals WHERE signature IS NULL) \
                    AND (prev.scheduled_ms IS NULL OR ?1 > prev.scheduled_ms) \
                    AND (prev.cutoff_ms IS NULL OR ?2 >= prev.cutoff_ms) \
                  ON CONFLICT (scheduled_ms) DO NOTHING"
                .to_owned(),
            params: vec![
                SqlValue::Integer(scheduled_ms),
                SqlValue::Integer(self.policy.cutoff(scheduled_ms)),
                SqlValue::Integer(MAX_ROWS_PER_SEAL),
                SqlValue::Integer(self.policy.horizon(scheduled_ms)),
            ],
        }
    }

    /// The latest seal, finished or not (without its manifest).
    pub fn latest() -> Statement {
        Statement {
            sql: format!("SELECT {SEAL_COLUMNS} FROM audit_seals ORDER BY id DESC LIMIT 1"),
            params: Vec::new(),
        }
    }

    /// The latest finished seal (without its manifest): the one retention follows.
    pub fn latest_finished() -> Statement {
        Statement {
            sql: format!(
                "SELECT {SEAL_COLUMNS} FROM audit_seals WHERE signature IS NOT NULL ORDER BY id DESC LIMIT 1"
            ),
            params: Vec::new(),
        }
    }

    /// The seal before seal `seq` (without its manifest).
    pub fn before(seq: i64) -> Statement {
        Statement {
            sql: format!(
                "SELECT {SEAL_COLUMNS} FROM audit_seals WHERE id < ?1 ORDER BY id DESC LIMIT 1"
            ),
            params: vec![SqlValue::Integer(seq)],
        }
    }

    /// The statement that reads what `claim` must agree with ([`Evidence`]): how far retention
    /// may reach by the claim's own scheduled time, and the log's last id.
    pub fn evidence(&self, claim: &Seal) -> Statement {
        Statement {
            sql: "SELECT \
                    COALESCE((SELECT MAX(last_id) FROM audit_seals WHERE id < ?1 AND signature IS NOT NULL AND cutoff_ms <= ?2), 0) AS purgeable_through, \
                    COALESCE((SELECT MAX(id) FROM audit_log), 0) AS log_end"
                .to_owned(),
            params: vec![
                SqlValue::Integer(claim.seq),
                SqlValue::Integer(self.policy.horizon(claim.scheduled_ms)),
            ],
        }
    }

    /// Starts finishing `claim`, which follows `previous` (`None` for the first seal), once it
    /// is shown to be what this sealer would have claimed: every value in it is recomputed from
    /// the policy, `previous` and `evidence` (what the database holds around the claim). Anyone
    /// who can write to the database can insert a claim; the cron signs only what it can
    /// reproduce, so a claim cannot make it sign a purge the retention period does not allow.
    pub fn begin(
        &self,
        claim: Seal,
        previous: Option<&Seal>,
        evidence: Evidence,
    ) -> Result<Sealing<'_>, SealError> {
        if claim.proof.is_some() {
            return Err(SealError::new(Kind::AlreadyFinished));
        }
        let (prev, prev_last) = match previous {
            None => (Hash::ZERO, 0),
            Some(seal) => match &seal.proof {
                Some(proof) => (proof.hash, seal.last_id),
                None => return Err(SealError::new(Kind::PreviousUnfinished)),
            },
        };
        claim::check(&claim, previous, &evidence, self.policy).map_err(|refusal| {
            SealError::new(Kind::Refused {
                seq: claim.seq,
                refusal,
            })
        })?;
        Ok(Sealing {
            key: &self.key,
            read_through: prev_last,
            done: claim.last_id == prev_last,
            seal: claim,
            prev,
            chain: Chain::new(prev),
            manifest: Manifest::default(),
        })
    }

    /// Retention after `latest`, the latest finished seal (if any), at `now_ms`: deletes the
    /// oldest rows up to its `purged_through` (at most [`MAX_ROWS_PER_PURGE`] per step), empties
    /// the manifests of seals none of whose rows are left, and deletes spent grant ids that
    /// expired.
    pub fn retention(latest: Option<&Seal>, now_ms: i64) -> Vec<Statement> {
        let through = latest.map_or(0, |seal| seal.purged_through);
        let mut statements = Vec::with_capacity(3);
        if through > 0 {
            statements.push(Statement {
                sql: "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE id <= ?1 ORDER BY id LIMIT ?2)"
                    .to_owned(),
                params: vec![
                    SqlValue::Integer(through),
                    SqlValue::Integer(MAX_ROWS_PER_PURGE),
                ],
            });
            statements.push(empty_manifests(through));
        }
        statements.push(replay::purge(now_ms));
        statements
    }
}

/// A seal being finished: the rows are added page by page, then it is signed.
#[derive(Debug)]
pub struct Sealing<'a> {
    key: &'a SigningKey,
    seal: Seal,
    prev: Hash,
    chain: Chain,
    manifest: Manifest,
    read_through: i64,
    done: bool,
}

/// Empties the manifest of every finished seal up to row `through` none of whose rows is left:
/// a manifest is kept while any of its rows is, so a verifier can still check them.
pub(crate) fn empty_manifests(through: i64) -> Statement {
    Statement {
        sql: "UPDATE audit_seals SET manifest = NULL \
              WHERE manifest IS NOT NULL AND signature IS NOT NULL AND last_id <= ?1 \
              AND NOT EXISTS (SELECT 1 FROM audit_log WHERE audit_log.id <= audit_seals.last_id)"
            .to_owned(),
        params: vec![SqlValue::Integer(through)],
    }
}

/// The next [`PAGE`] rows of `audit_log` after `read_through`, up to `last_id`, in id order: how
/// a seal's rows are read, to seal them and to archive them.
pub(crate) fn rows_page(read_through: i64, last_id: i64) -> Statement {
    Statement {
        sql: "SELECT * FROM audit_log WHERE id > ?1 AND id <= ?2 ORDER BY id LIMIT ?3".to_owned(),
        params: vec![
            SqlValue::Integer(read_through),
            SqlValue::Integer(last_id),
            SqlValue::Integer(PAGE),
        ],
    }
}

impl Sealing<'_> {
    /// The seal being finished.
    pub fn seal(&self) -> &Seal {
        &self.seal
    }

    /// The query for the next page of rows, or `None` once every row has been read.
    pub fn next_page(&self) -> Option<Statement> {
        (!self.done).then(|| rows_page(self.read_through, self.seal.last_id))
    }

    /// Adds a page of rows, as [`Sealing::next_page`] returned them.
    pub fn add(&mut self, rows: &[Row]) -> Result<(), SealError> {
        for row in rows {
            let id = row.id().ok_or(SealError::new(Kind::RowWithoutId))?;
            if id <= self.read_through || id > self.seal.last_id {
                return Err(SealError::new(Kind::RowOutOfRange(id)));
            }
            claim::arrived_by(row, id, self.seal.cutoff_ms).map_err(|refusal| {
                SealError::new(Kind::Refused {
                    seq: self.seal.seq,
                    refusal,
                })
            })?;
            let digest = row.digest();
            self.chain.push(&digest);
            self.manifest.push(id, &digest);
            self.read_through = id;
        }
        let short_page = i64::try_from(rows.len()).is_ok_and(|n| n < PAGE);
        self.done = short_page || self.read_through == self.seal.last_id;
        Ok(())
    }

    /// Signs the seal. Returns it finished, and the statement that stores it.
    pub fn finish(self) -> Result<(Seal, Statement), SealError> {
        if !self.done {
            return Err(SealError::new(Kind::Incomplete));
        }
        let mut proof = Proof {
            row_count: i64::try_from(self.manifest.len()).unwrap_or(i64::MAX),
            prev: self.prev,
            head: self.chain.head(),
            manifest_digest: self.manifest.digest(),
            manifest: Some(self.manifest),
            key_id: self.key.id().to_owned(),
            signature: [0; 64],
            hash: Hash::ZERO,
        };
        let mut seal = self.seal;
        let text = seal.text(&proof);
        proof.signature = self.key.sign(text.as_bytes());
        proof.hash = Hash::of(text.as_bytes());
        seal.proof = Some(proof);
        let statement = seal.finish_statement();
        Ok((seal, statement))
    }
}
