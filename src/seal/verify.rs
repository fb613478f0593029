//! Checking an exported audit log against the exported seals and the gatekeeper's public key.
//!
//! First the seals, on their own and as a chain: each must be signed by a given key, and each
//! must name the one before it by hash, so a seal cannot be removed, inserted or changed. Each
//! seal's `purged_through` must follow on (never down, never past the previous seal's rows) and,
//! given a retention period, reach no row younger than that. Then the rows, seal by seal, against
//! the seal's manifest: a row that differs is changed, a row the seal lists and the export lacks is
//! removed (unless retention purged it, which a trusted seal whose purge passed those checks says
//! it may), a row it does not list is inserted. Finally the chain over each seal's rows must lead
//! to the signed `head`, which binds the rows' full digests.

use std::collections::BTreeMap;
use std::fmt;

use crate::grant::PublicKey;
use crate::seal::sealer::MS_PER_DAY;
use crate::seal::{Chain, Hash, Manifest, Proof, Row, Seal, SealProblem};

/// Something in the export that its seals do not vouch for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Finding {
    /// A seal that cannot be trusted.
    Seal {
        /// The seal's number.
        seq: i64,
        /// What is wrong.
        problem: SealProblem,
    },
    /// A sealed row that differs from what was sealed.
    Changed {
        /// The row's id.
        id: i64,
        /// The seal that sealed it.
        seal: i64,
    },
    /// A sealed row that is gone, although retention had not reached it.
    Removed {
        /// The row's id.
        id: i64,
        /// The seal that sealed it.
        seal: i64,
    },
    /// A row in a sealed range that no seal lists.
    Inserted {
        /// The row's id.
        id: i64,
        /// The seal whose range it is in, if any.
        seal: Option<i64>,
    },
    /// The rows of a seal do not lead to its chain head, and the manifest cannot say which row is
    /// at fault (it was removed, or a change kept the row's digest prefix).
    Unlocated {
        /// The seal.
        seal: i64,
        /// Its first row id.
        first_id: i64,
        /// Its last row id.
        last_id: i64,
    },
    /// A row with no whole-number id, at this position in the export (from 0).
    WithoutId {
        /// The position.
        position: usize,
    },
}

impl Finding {
    /// Seals first, then rows by id, so the first finding is the first thing that was changed.
    fn order(&self) -> (u8, i64) {
        match self {
            Self::Seal { seq, .. } => (0, *seq),
            Self::Changed { id, .. } | Self::Removed { id, .. } | Self::Inserted { id, .. } => {
                (1, *id)
            }
            Self::Unlocated { first_id, .. } => (1, *first_id),
            Self::WithoutId { position } => (2, i64::try_from(*position).unwrap_or(i64::MAX)),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Seal { seq, problem } => write!(f, "seal {seq}: {problem}"),
            Self::Changed { id, seal } => {
                write!(f, "row {id} was changed after seal {seal} sealed it")
            }
            Self::Removed { id, seal } => write!(
                f,
                "row {id} was removed: seal {seal} sealed it and retention had not reached it"
            ),
            Self::Inserted {
                id,
                seal: Some(seal),
            } => {
                write!(f, "row {id} was inserted: seal {seal} does not list it")
            }
            Self::Inserted { id, seal: None } => {
                write!(f, "row {id} was inserted: no seal covers that id")
            }
            Self::Unlocated {
                seal,
                first_id,
                last_id,
            } => write!(
                f,
                "rows {first_id} to {last_id} do not match seal {seal}: one of them was changed, removed or inserted"
            ),
            Self::WithoutId { position } => {
                write!(f, "the row at position {position} of the export has no id")
            }
        }
    }
}

/// Something worth knowing that is not evidence of tampering.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Note {
    /// The latest seal is still being made; its rows count as not yet sealed.
    InProgress {
        /// The seal's number.
        seq: i64,
    },
    /// Ids in a seal's range that were not in the log when it was sealed. Ids are assigned one
    /// after another, so such a gap means rows were deleted before they could be sealed.
    Absent {
        /// The seal's number.
        seal: i64,
        /// The first missing id.
        first_id: i64,
        /// The last missing id.
        last_id: i64,
    },
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InProgress { seq } => write!(
                f,
                "seal {seq} is still being made; its rows count as not yet sealed"
            ),
            Self::Absent {
                seal,
                first_id,
                last_id,
            } if first_id == last_id => {
                write!(
                    f,
                    "id {first_id} was already missing when seal {seal} was made"
                )
            }
            Self::Absent {
                seal,
                first_id,
                last_id,
            } => write!(
                f,
                "ids {first_id} to {last_id} were already missing when seal {seal} was made"
            ),
        }
    }
}

/// The latest trusted seal, to compare with a copy kept elsewhere (the Worker logs each one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latest {
    /// Its number.
    pub seq: i64,
    /// Its hash.
    pub hash: Hash,
    /// Its cron run's scheduled time, in ms since the Unix epoch.
    pub scheduled_ms: i64,
    /// The last row id it sealed.
    pub last_id: i64,
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    findings: Vec<Finding>,
    notes: Vec<Note>,
    /// Seals in the export.
    pub seals: usize,
    /// Rows that match their seals.
    pub verified: u64,
    /// Sealed rows that retention deleted.
    pub purged: u64,
    /// Rows newer than the latest seal.
    pub unsealed: u64,
    /// Rows in the range of a seal that cannot be trusted, so not checked.
    pub unchecked: u64,
    /// The latest trusted seal.
    pub latest: Option<Latest>,
    /// The hashes of every trusted seal, oldest first.
    trusted: Vec<Hash>,
}

impl Report {
    /// Whether nothing contradicts the seals.
    pub fn is_intact(&self) -> bool {
        self.findings.is_empty()
    }

    /// Whether a trusted seal with this hash is in the export. A hash noted from an earlier
    /// export (or the Worker's log) that is missing now means the newest seals, and the rows they
    /// sealed, were removed: the one change the chain cannot show by itself.
    pub fn holds(&self, hash: &Hash) -> bool {
        self.trusted.contains(hash)
    }

    /// What contradicts the seals, the first change first.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// What is worth knowing besides.
    pub fn notes(&self) -> &[Note] {
        &self.notes
    }
}

/// Checks the audit log rows `log` against the seals `seals` (rows of `audit_seals`, in any order)
/// and the gatekeeper's public keys (more than one after a key rotation).
pub fn verify(seals: &[Row], log: &[Row], keys: &[PublicKey]) -> Report {
    check(seals, log, keys, None)
}

/// [`verify`], and also that no seal let retention purge a row younger than `retention_days`.
pub fn verify_with_retention(
    seals: &[Row],
    log: &[Row],
    keys: &[PublicKey],
    retention_days: u32,
) -> Report {
    check(seals, log, keys, Some(retention_days))
}

fn check(seals: &[Row], log: &[Row], keys: &[PublicKey], retention_days: Option<u32>) -> Report {
    let mut report = Report {
        seals: seals.len(),
        ..Report::default()
    };
    let Checked {
        trusted,
        claimed_through,
        purged_through,
    } = check_seals(seals, keys, retention_days, &mut report);

    let mut by_id: BTreeMap<i64, Vec<&Row>> = BTreeMap::new();
    for (position, row) in log.iter().enumerate() {
        match row.id() {
            Some(id) => by_id.entry(id).or_default().push(row),
            None => report.findings.push(Finding::WithoutId { position }),
        }
    }

    for seal in &trusted {
        let Some(proof) = &seal.proof else {
            continue;
        };
        let rows: Vec<(i64, &[&Row])> = if seal.first_id <= seal.last_id {
            by_id
                .range(seal.first_id..=seal.last_id)
                .map(|(id, rows)| (*id, rows.as_slice()))
                .collect()
        } else {
            Vec::new()
        };
        // A seal of no rows signs the empty manifest: whether it is stored as '' or not at all,
        // it lists the same nothing, and rows found in its range are inserted either way.
        let empty = Manifest::default();
        let manifest = proof.manifest.as_ref().or_else(|| {
            (proof.row_count == 0 && empty.digest() == proof.manifest_digest).then_some(&empty)
        });
        match manifest {
            Some(manifest) => check_rows(seal, proof, manifest, &rows, purged_through, &mut report),
            None if seal.last_id <= purged_through => {
                report.purged += u64::try_from(proof.row_count).unwrap_or(0);
                for (id, _) in &rows {
                    report.findings.push(Finding::Inserted {
                        id: *id,
                        seal: Some(seal.seq),
                    });
                }
            }
            None => {
                report.findings.push(Finding::Seal {
                    seq: seal.seq,
                    problem: SealProblem::ManifestMissing,
                });
                let mut chain = Chain::new(proof.prev);
                for row in rows.iter().flat_map(|(_, rows)| rows.iter()) {
                    chain.push(&row.digest());
                }
                if chain.head() == proof.head {
                    report.verified += rows.len() as u64;
                } else {
                    report.findings.push(Finding::Unlocated {
                        seal: seal.seq,
                        first_id: seal.first_id,
                        last_id: seal.last_id,
                    });
                }
            }
        }
    }

    for (id, rows) in &by_id {
        let n = rows.len() as u64;
        if *id > claimed_through {
            report.unsealed += n;
        } else if *id < 1 {
            report.findings.push(Finding::Inserted {
                id: *id,
                seal: None,
            });
        } else if !trusted
            .iter()
            .any(|s| (s.first_id..=s.last_id).contains(id))
        {
            // In the range of a seal already reported as untrustworthy.
            report.unchecked += n;
        }
    }

    report.trusted = trusted
        .iter()
        .filter_map(|seal| seal.proof.as_ref().map(|p| p.hash))
        .collect();
    report.latest = trusted.last().and_then(|seal| {
        seal.proof.as_ref().map(|proof| Latest {
            seq: seal.seq,
            hash: proof.hash,
            scheduled_ms: seal.scheduled_ms,
            last_id: seal.last_id,
        })
    });
    report.findings.sort_by_key(Finding::order);
    report
}

/// What [`check_seals`] found.
struct Checked {
    /// The seals that can be trusted (their signatures hold), in order.
    trusted: Vec<Seal>,
    /// The last row id any finished seal claims to cover.
    claimed_through: i64,
    /// How far retention may have purged, by the trusted seals whose `purged_through` follows
    /// on: a missing sealed row up to here was purged, beyond it removed.
    purged_through: i64,
}

/// How far retention may reach at a given time: the trusted seals so far, with the latest cutoff
/// among each one and those before it.
#[derive(Default)]
struct Reach {
    cutoffs: Vec<i64>,
    last_ids: Vec<i64>,
}

impl Reach {
    fn push(&mut self, seal: &Seal) {
        let cutoff = self
            .cutoffs
            .last()
            .map_or(seal.cutoff_ms, |c| (*c).max(seal.cutoff_ms));
        let last_id = self
            .last_ids
            .last()
            .map_or(seal.last_id, |l| (*l).max(seal.last_id));
        self.cutoffs.push(cutoff);
        self.last_ids.push(last_id);
    }

    /// The last row that arrived by `horizon_ms`, as far as the seals can tell: the end of the
    /// longest run of seals, from the first, whose rows all arrived by then (each row arrived by
    /// its seal's cutoff).
    fn through(&self, horizon_ms: i64) -> i64 {
        let n = self.cutoffs.partition_point(|c| *c <= horizon_ms);
        n.checked_sub(1).map_or(0, |i| self.last_ids[i])
    }
}

/// Whether `seal`'s `purged_through` follows on from the seal before it (`prev_last`,
/// `prev_purged`) and, given a retention period, lets nothing younger go.
fn purge_problem(
    seal: &Seal,
    prev_last: i64,
    prev_purged: i64,
    reach: &Reach,
    retention_days: Option<u32>,
) -> Option<SealProblem> {
    let purged_through = seal.purged_through;
    if purged_through < prev_purged {
        return Some(SealProblem::PurgeDecreased {
            purged_through,
            previous: prev_purged,
        });
    }
    if purged_through > prev_last {
        return Some(SealProblem::PurgePastSealed {
            purged_through,
            previous_last_id: prev_last,
        });
    }
    let retention_days = retention_days?;
    let allowed = reach.through(
        seal.scheduled_ms
            .saturating_sub(i64::from(retention_days) * MS_PER_DAY),
    );
    // Named where it was raised, not again in every later seal that keeps it.
    (purged_through > prev_purged && purged_through > allowed).then_some(
        SealProblem::PurgedTooYoung {
            purged_through,
            allowed,
            retention_days,
        },
    )
}

/// Reads and checks the seals, alone and as a chain, and that each lets retention purge only
/// what follows on (and, given `retention_days`, only rows older than that).
fn check_seals(
    rows: &[Row],
    keys: &[PublicKey],
    retention_days: Option<u32>,
    report: &mut Report,
) -> Checked {
    let mut seals = Vec::with_capacity(rows.len());
    for row in rows {
        match Seal::from_row(row) {
            Ok(seal) => seals.push(seal),
            Err(e) => report.findings.push(Finding::Seal {
                seq: row.id().unwrap_or(0),
                problem: SealProblem::Malformed(e),
            }),
        }
    }
    seals.sort_by_key(|s| s.seq);

    let mut trusted = Vec::with_capacity(seals.len());
    let mut reach = Reach::default();
    let mut prev = Hash::ZERO;
    let mut prev_last = 0;
    let mut prev_purged = 0;
    let mut claimed_through = 0;
    let mut purged_through = 0;
    let count = seals.len();
    for (i, seal) in seals.into_iter().enumerate() {
        let seq = seal.seq;
        let problem = move |problem| Finding::Seal { seq, problem };
        if trusted.last().is_some_and(|t: &Seal| t.seq == seal.seq) {
            report.findings.push(problem(SealProblem::Duplicate));
            continue;
        }
        let purge = purge_problem(&seal, prev_last, prev_purged, &reach, retention_days);
        let Some(proof) = &seal.proof else {
            if i + 1 == count {
                report.notes.push(Note::InProgress { seq: seal.seq });
                // A claim no cron run would make shows even before anything signs it.
                if let Some(p) = purge {
                    report.findings.push(problem(p));
                }
            } else {
                report.findings.push(problem(SealProblem::Unfinished));
            }
            continue;
        };
        let checked = seal.check(keys).map(|_| ());
        if proof.prev != prev {
            report.findings.push(problem(SealProblem::BrokenLink));
        } else if seal.first_id != prev_last + 1 {
            report.findings.push(problem(SealProblem::WrongRange));
        }
        // Follow the stored hash even from a bad seal, so one change is reported once rather
        // than again at every later seal.
        prev = proof.hash;
        prev_last = seal.last_id;
        claimed_through = claimed_through.max(seal.last_id);
        if let Err(p) = checked {
            report.findings.push(problem(p));
            continue;
        }
        if let Some(p) = purge {
            report.findings.push(problem(p));
        } else {
            // Only a purge that follows on (and is old enough, if that is checked) tells purged
            // rows from removed ones.
            let allowed = retention_days.map_or(seal.purged_through, |days| {
                reach.through(
                    seal.scheduled_ms
                        .saturating_sub(i64::from(days) * MS_PER_DAY),
                )
            });
            purged_through =
                purged_through.max(seal.purged_through.min(allowed.max(purged_through)));
        }
        // A seal that cannot be trusted says nothing about what retention may do next.
        prev_purged = seal.purged_through;
        reach.push(&seal);
        trusted.push(seal);
    }
    Checked {
        trusted,
        claimed_through,
        purged_through,
    }
}

/// Checks the rows in one seal's range against its manifest and chain.
fn check_rows(
    seal: &Seal,
    proof: &Proof,
    manifest: &Manifest,
    rows: &[(i64, &[&Row])],
    purged_through: i64,
    report: &mut Report,
) {
    let mut chain = Chain::new(proof.prev);
    let mut complete = true;
    let mut consistent = true;
    let present: BTreeMap<i64, &[&Row]> = rows.iter().copied().collect();
    for entry in manifest.entries() {
        let Some(candidates) = present.get(&entry.id) else {
            complete = false;
            if entry.id <= purged_through {
                report.purged += 1;
            } else {
                consistent = false;
                report.findings.push(Finding::Removed {
                    id: entry.id,
                    seal: seal.seq,
                });
            }
            continue;
        };
        let digests: Vec<Hash> = candidates.iter().map(|row| row.digest()).collect();
        if let Some(digest) = digests.iter().find(|d| entry.matches(d)) {
            chain.push(digest);
            report.verified += 1;
        } else {
            consistent = false;
            report.findings.push(Finding::Changed {
                id: entry.id,
                seal: seal.seq,
            });
        }
        // A second row with the id of a sealed one: the export was edited to add it.
        if candidates.len() > 1 {
            consistent = false;
            report.findings.push(Finding::Inserted {
                id: entry.id,
                seal: Some(seal.seq),
            });
        }
    }
    for (id, _) in rows {
        if manifest.get(*id).is_none() {
            consistent = false;
            report.findings.push(Finding::Inserted {
                id: *id,
                seal: Some(seal.seq),
            });
        }
    }
    if complete && consistent && chain.head() != proof.head {
        report.findings.push(Finding::Unlocated {
            seal: seal.seq,
            first_id: seal.first_id,
            last_id: seal.last_id,
        });
    }

    // Gaps in the sealed ids.
    let mut expected = seal.first_id;
    for entry in manifest.entries() {
        if entry.id > expected {
            report.notes.push(Note::Absent {
                seal: seal.seq,
                first_id: expected,
                last_id: entry.id - 1,
            });
        }
        expected = entry.id + 1;
    }
    if expected <= seal.last_id {
        report.notes.push(Note::Absent {
            seal: seal.seq,
            first_id: expected,
            last_id: seal.last_id,
        });
    }
}
