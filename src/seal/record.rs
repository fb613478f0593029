//! A seal as stored in `audit_seals`, and the canonical text its signature covers.

use std::fmt;
use std::fmt::Write as _;

use ct_codecs::{Decoder, Encoder, Hex};

use crate::audit::SqlValue;
use crate::audit::Statement;
use crate::grant::PublicKey;
use crate::seal::{Hash, Manifest, Row, Value};

/// First line of a seal's canonical text; it names the version of every encoding involved.
pub const SEAL_TEXT_VERSION: &str = "s3-gatekeeper audit seal v1";

/// One seal: the audit log rows `first_id..=last_id`, chained, signed.
#[derive(Clone, Debug, PartialEq)]
pub struct Seal {
    /// The seal's number (`id` in the table). Numbers increase but may skip: a cron run that
    /// finds its seal already made uses one up.
    pub seq: i64,
    /// The scheduled time of the cron run that made it, in ms since the Unix epoch; plus one for
    /// each seal that run made before it.
    pub scheduled_ms: i64,
    /// Every sealed row arrived by this time: `scheduled_ms` less the grace period.
    pub cutoff_ms: i64,
    /// The first audit log id sealed: one past the previous seal's `last_id`.
    pub first_id: i64,
    /// The last audit log id sealed; `first_id - 1` when no rows arrived.
    pub last_id: i64,
    /// Retention may delete audit log rows up to this id.
    pub purged_through: i64,
    /// What makes the seal verifiable; `None` while a cron run is still making it.
    pub proof: Option<Proof>,
}

/// The finished part of a seal.
#[derive(Clone, Debug, PartialEq)]
pub struct Proof {
    /// How many rows were sealed.
    pub row_count: i64,
    /// The previous seal's `hash` (zeros for the first seal).
    pub prev: Hash,
    /// The chain over the sealed rows, starting from `prev`.
    pub head: Hash,
    /// The SHA-256 of the manifest.
    pub manifest_digest: Hash,
    /// The manifest; `None` once retention has purged the rows.
    pub manifest: Option<Manifest>,
    /// The PASERK id of the gatekeeper key that signed.
    pub key_id: String,
    /// The Ed25519 signature of [`Seal::text`].
    pub signature: [u8; 64],
    /// The SHA-256 of [`Seal::text`]: the next seal's `prev`.
    pub hash: Hash,
}

/// A stored seal with a column missing or unreadable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MalformedSeal {
    column: &'static str,
}

impl MalformedSeal {
    pub(crate) const fn new(column: &'static str) -> Self {
        Self { column }
    }

    /// The column at fault.
    pub fn column(&self) -> &'static str {
        self.column
    }
}

impl fmt::Display for MalformedSeal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "its column {} is missing or malformed", self.column)
    }
}

impl std::error::Error for MalformedSeal {}

/// Why a seal cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SealProblem {
    /// A column is missing or unreadable.
    Malformed(MalformedSeal),
    /// Two seals share a number.
    Duplicate,
    /// Not finished, yet a later seal exists (only the latest seal can be in the making).
    Unfinished,
    /// Signed by a key that was not given to the verifier.
    UnknownKey(String),
    /// The signature does not verify: the seal was changed.
    BadSignature,
    /// The stored `hash` is not the hash of the seal's text.
    WrongHash,
    /// The manifest does not match the digest the signature covers.
    ManifestChanged,
    /// The manifest was emptied although retention has not reached its rows.
    ManifestMissing,
    /// `prev` is not the hash of the seal before it: a seal was removed or inserted.
    BrokenLink,
    /// Its rows do not start right after the previous seal's.
    WrongRange,
    /// Its `purged_through` is less than the previous seal's: purged rows cannot come back.
    PurgeDecreased {
        /// Its `purged_through`.
        purged_through: i64,
        /// The previous seal's.
        previous: i64,
    },
    /// Its `purged_through` passes the previous seal's `last_id`: it lets retention delete rows
    /// that no seal had sealed when it was signed.
    PurgePastSealed {
        /// Its `purged_through`.
        purged_through: i64,
        /// The previous seal's `last_id`.
        previous_last_id: i64,
    },
    /// Its `purged_through` lets retention delete rows younger than the retention period the
    /// verifier was given.
    PurgedTooYoung {
        /// Its `purged_through`.
        purged_through: i64,
        /// The most the retention period allows at its scheduled time.
        allowed: i64,
        /// The retention period, in days.
        retention_days: u32,
    },
}

impl fmt::Display for SealProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(e) => e.fmt(f),
            Self::Duplicate => f.write_str("another seal has the same number"),
            Self::Unfinished => f.write_str("it was never finished, yet later seals exist"),
            Self::UnknownKey(id) => write!(f, "it is signed by {id}, which is not a key given"),
            Self::BadSignature => f.write_str("its signature does not verify: it was changed"),
            Self::WrongHash => f.write_str("its stored hash is not the hash of its contents"),
            Self::ManifestChanged => f.write_str("its manifest was changed"),
            Self::ManifestMissing => {
                f.write_str("its manifest was removed although retention has not reached its rows")
            }
            Self::BrokenLink => f.write_str(
                "it does not follow the seal before it: a seal was removed, inserted or changed",
            ),
            Self::WrongRange => f.write_str("its rows do not follow the previous seal's"),
            Self::PurgeDecreased {
                purged_through,
                previous,
            } => write!(
                f,
                "its purged_through {purged_through} is less than the previous seal's, {previous}"
            ),
            Self::PurgePastSealed {
                purged_through,
                previous_last_id,
            } => write!(
                f,
                "its purged_through {purged_through} passes the last row the previous seal sealed, {previous_last_id}"
            ),
            Self::PurgedTooYoung {
                purged_through,
                allowed,
                retention_days,
            } => write!(
                f,
                "its purged_through {purged_through} lets retention purge rows younger than {retention_days} days (only rows up to id {allowed} were that old)"
            ),
        }
    }
}

/// Column names of `audit_seals`.
mod column {
    pub(super) const ID: &str = "id";
    pub(super) const SCHEDULED_MS: &str = "scheduled_ms";
    pub(super) const CUTOFF_MS: &str = "cutoff_ms";
    pub(super) const FIRST_ID: &str = "first_id";
    pub(super) const LAST_ID: &str = "last_id";
    pub(super) const PURGED_THROUGH: &str = "purged_through";
    pub(super) const ROW_COUNT: &str = "row_count";
    pub(super) const PREV: &str = "prev";
    pub(super) const HEAD: &str = "head";
    pub(super) const MANIFEST_DIGEST: &str = "manifest_digest";
    pub(super) const KEY_ID: &str = "key_id";
    pub(super) const SIGNATURE: &str = "signature";
    pub(super) const HASH: &str = "hash";
    pub(super) const MANIFEST: &str = "manifest";

    /// The columns a cron run fills in when it finishes a seal.
    pub(super) const FINISHED: [&str; 8] = [
        ROW_COUNT,
        PREV,
        HEAD,
        MANIFEST_DIGEST,
        KEY_ID,
        SIGNATURE,
        HASH,
        MANIFEST,
    ];
}

impl Seal {
    /// Reads a seal from its row in `audit_seals`. A seal whose `signature` is NULL is one in the
    /// making, and its other finishing columns are not read.
    pub fn from_row(row: &Row) -> Result<Self, MalformedSeal> {
        let malformed = |column| MalformedSeal { column };
        let integer = |column| row.get(column).as_integer().ok_or(malformed(column));
        let text = |column| row.get(column).as_text().ok_or(malformed(column));
        let hash = |column| text(column)?.parse::<Hash>().map_err(|_| malformed(column));
        let proof = if *row.get(column::SIGNATURE) == Value::Null {
            None
        } else {
            let mut signature = [0u8; 64];
            let decoded = Hex::decode(&mut signature, text(column::SIGNATURE)?, None)
                .map_err(|_| malformed(column::SIGNATURE))?;
            if decoded.len() != signature.len() {
                return Err(malformed(column::SIGNATURE));
            }
            let manifest = match row.get(column::MANIFEST) {
                Value::Null => None,
                _ => Some(
                    Manifest::from_text(text(column::MANIFEST)?)
                        .map_err(|_| malformed(column::MANIFEST))?,
                ),
            };
            Some(Proof {
                row_count: integer(column::ROW_COUNT)?,
                prev: hash(column::PREV)?,
                head: hash(column::HEAD)?,
                manifest_digest: hash(column::MANIFEST_DIGEST)?,
                manifest,
                key_id: text(column::KEY_ID)?.to_owned(),
                signature,
                hash: hash(column::HASH)?,
            })
        };
        Ok(Self {
            seq: integer(column::ID)?,
            scheduled_ms: integer(column::SCHEDULED_MS)?,
            cutoff_ms: integer(column::CUTOFF_MS)?,
            first_id: integer(column::FIRST_ID)?,
            last_id: integer(column::LAST_ID)?,
            purged_through: integer(column::PURGED_THROUGH)?,
            proof,
        })
    }

    /// The canonical text that is hashed and signed: one `name value` line per field, in this
    /// order, each ending in a newline (docs/audit.md shows an example).
    pub fn text(&self, proof: &Proof) -> String {
        let mut text = String::with_capacity(512);
        // Writing to a String cannot fail.
        let _ = write!(
            text,
            "{SEAL_TEXT_VERSION}\nseal {}\nkey {}\nscheduled_ms {}\ncutoff_ms {}\nfirst_id {}\nlast_id {}\nrow_count {}\npurged_through {}\nprev {}\nhead {}\nmanifest {}\n",
            self.seq,
            proof.key_id,
            self.scheduled_ms,
            self.cutoff_ms,
            self.first_id,
            self.last_id,
            proof.row_count,
            self.purged_through,
            proof.prev,
            proof.head,
            proof.manifest_digest,
        );
        text
    }

    /// Checks the seal on its own: finished, signed by one of `keys`, its stored hash and its
    /// manifest consistent with what was signed. Returns the proof when all holds.
    pub fn check(&self, keys: &[PublicKey]) -> Result<&Proof, SealProblem> {
        let proof = self.proof.as_ref().ok_or(SealProblem::Unfinished)?;
        let key = keys
            .iter()
            .find(|k| k.id() == proof.key_id)
            .ok_or_else(|| SealProblem::UnknownKey(proof.key_id.clone()))?;
        let text = self.text(proof);
        if !key.verifies(text.as_bytes(), &proof.signature) {
            return Err(SealProblem::BadSignature);
        }
        if Hash::of(text.as_bytes()) != proof.hash {
            return Err(SealProblem::WrongHash);
        }
        if let Some(manifest) = &proof.manifest {
            let in_range = manifest
                .entries()
                .iter()
                .all(|e| (self.first_id..=self.last_id).contains(&e.id));
            if manifest.digest() != proof.manifest_digest
                || !in_range
                || i64::try_from(manifest.len()) != Ok(proof.row_count)
            {
                return Err(SealProblem::ManifestChanged);
            }
        }
        Ok(proof)
    }

    /// The statement that stores this seal's proof, unless another run finished it first (both
    /// would have written the same: the rows are frozen and the signature is deterministic).
    pub(crate) fn finish_statement(&self) -> Statement {
        let assignments: Vec<String> = column::FINISHED
            .iter()
            .enumerate()
            .map(|(i, name)| format!("{name} = ?{}", i + 2))
            .collect();
        let row = self.to_row();
        let params = std::iter::once(SqlValue::Integer(self.seq))
            .chain(column::FINISHED.iter().map(|name| match row.get(name) {
                Value::Number(_) => SqlValue::from(row.get(name).as_integer()),
                Value::Text(text) => SqlValue::Text(text.clone()),
                Value::Null | Value::Blob(_) => SqlValue::Null,
            }))
            .collect();
        Statement {
            sql: format!(
                "UPDATE audit_seals SET {} WHERE id = ?1 AND signature IS NULL",
                assignments.join(", ")
            ),
            params,
        }
    }

    /// The seal as its row in `audit_seals` (the unfinished columns NULL while in the making).
    pub fn to_row(&self) -> Row {
        let mut row: Row = [
            (column::ID, self.seq),
            (column::SCHEDULED_MS, self.scheduled_ms),
            (column::CUTOFF_MS, self.cutoff_ms),
            (column::FIRST_ID, self.first_id),
            (column::LAST_ID, self.last_id),
            (column::PURGED_THROUGH, self.purged_through),
        ]
        .into_iter()
        .collect();
        let Some(proof) = &self.proof else {
            for name in column::FINISHED {
                row.set(name, Value::Null);
            }
            return row;
        };
        let mut signature = [0u8; 128];
        // The buffer is exactly large enough.
        let signature = Hex::encode_to_str(&mut signature, proof.signature).unwrap_or_default();
        row.set(column::ROW_COUNT, proof.row_count);
        row.set(column::PREV, proof.prev.to_string().as_str());
        row.set(column::HEAD, proof.head.to_string().as_str());
        row.set(
            column::MANIFEST_DIGEST,
            proof.manifest_digest.to_string().as_str(),
        );
        row.set(column::KEY_ID, proof.key_id.as_str());
        row.set(column::SIGNATURE, signature);
        row.set(column::HASH, proof.hash.to_string().as_str());
        row.set(
            column::MANIFEST,
            proof
                .manifest
                .as_ref()
                .map_or(Value::Null, |m| Value::Text(m.to_text())),
        );
        row
    }
}
