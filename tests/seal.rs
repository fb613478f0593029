//! Sealing and verification of the audit log, end to end in the core: rows are sealed as a cron
//! run would seal them, exported as `wrangler d1 execute --json` prints them, changed the ways an
//! intruder with database access could change them, and verified.

// In tests a panic is the failure report, so unwrapping is the clearest way to fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use s3_gatekeeper::audit::SqlValue;
use s3_gatekeeper::grant::{PublicKey, SigningKey};
use s3_gatekeeper::seal::{
    Evidence, Export, Finding, Hash, Note, Policy, Report, Row, SEAL_TEXT_VERSION, Seal, SealError,
    SealProblem, Sealer, Value, verify, verify_with_retention,
};
use serde_json::json;

const T0: i64 = 1_780_000_000_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// An `audit_log` row as D1 returns it, NULL columns included. Rows arrive a millisecond apart
/// from `T0`, so every run an hour later may seal them all.
fn log_row(id: i64) -> Row {
    [
        ("id", Value::from(id)),
        ("time_ms", Value::from(T0 + id)),
        ("request_id", Value::from(format!("ray-{id}").as_str())),
        ("operation", Value::from("get")),
        ("bucket", Value::from("acme-reports")),
        ("object_key", Value::from("reports/q3.csv")),
        ("decision", Value::from("allowed")),
        ("status", Value::from(200)),
        ("s3_status", Value::from(200)),
        ("bytes_in", Value::Null),
        ("bytes_out", Value::from(1234 + id)),
        ("duration_ms", Value::from(12)),
        ("ip", Value::from("203.0.113.9")),
        ("country", Value::from("NL")),
        ("asn", Value::from(64_500)),
        ("colo", Value::from("AMS")),
        ("user_agent", Value::from("Mozilla/5.0 (é)")),
        ("origin", Value::Null),
        ("key_id", Value::from("k4.pid.x")),
        ("sub", Value::from("user-42")),
        ("jti", Value::Null),
    ]
    .into_iter()
    .collect()
}

fn sealer() -> Sealer {
    Sealer::new(support::seal_key(), Policy::default())
}

fn public() -> Vec<PublicKey> {
    vec![support::seal_key().public_key().clone()]
}

/// A simulated database: the log and the seals, as cron runs would leave them.
struct Db {
    sealer: Sealer,
    log: Vec<Row>,
    seals: Vec<Seal>,
    next_seq: i64,
    /// The scheduled time of the next cron run; each run moves it on by ten minutes.
    clock: i64,
}

impl Db {
    fn new() -> Self {
        Self {
            sealer: sealer(),
            log: Vec::new(),
            seals: Vec::new(),
            next_seq: 1,
            clock: T0 + HOUR,
        }
    }

    fn write(&mut self, n: i64) {
        let next = self.log.last().and_then(Row::id).unwrap_or(0) + 1;
        for id in next..next + n {
            self.log.push(log_row(id));
        }
    }

    fn log_end(&self) -> i64 {
        self.log.last().and_then(Row::id).unwrap_or(0)
    }

    /// The last row of the newest finished seal before seal `seq` whose cutoff is at least the
    /// retention period before `scheduled_ms`, as the evidence statement reads it.
    fn purgeable_through(&self, seq: i64, scheduled_ms: i64) -> i64 {
        let horizon = scheduled_ms - i64::from(self.sealer.policy().retention_days) * DAY;
        self.seals
            .iter()
            .filter(|s| s.seq < seq && s.proof.is_some() && s.cutoff_ms <= horizon)
            .map(|s| s.last_id)
            .max()
            .unwrap_or(0)
    }

    /// The claim the cron run at `self.clock` inserts, written out here from what the claim
    /// statement says: rows up to the cutoff, and retention as far as the policy allows.
    fn claim(&self) -> Seal {
        let (prev_last, prev_purged) = self
            .seals
            .last()
            .map_or((0, 0), |s| (s.last_id, s.purged_through));
        let cutoff_ms = self.clock - i64::from(self.sealer.policy().grace_seconds) * 1000;
        let up_to = self
            .log
            .iter()
            .find(|r| {
                r.id().unwrap() > prev_last && r.get("time_ms").as_integer().unwrap() > cutoff_ms
            })
            .map_or(self.log_end().max(prev_last), |r| r.id().unwrap() - 1);
        let purged = prev_purged.max(self.purgeable_through(self.next_seq, self.clock));
        Seal {
            seq: self.next_seq,
            scheduled_ms: self.clock,
            cutoff_ms,
            first_id: prev_last + 1,
            last_id: up_to
                .min(prev_last + s3_gatekeeper::seal::MAX_ROWS_PER_SEAL)
                .max(prev_last),
            purged_through: purged.min(prev_last),
            proof: None,
        }
    }

    /// What the cron run reads before finishing `claim`.
    fn evidence(&self, claim: &Seal) -> Evidence {
        Evidence {
            purgeable_through: self.purgeable_through(claim.seq, claim.scheduled_ms),
            log_end: self.log_end(),
            now_ms: self.clock,
        }
    }

    /// A cron run: claims every row after the last seal, reads them a page at a time, finishes.
    fn seal(&mut self) -> &Seal {
        let claim = self.claim();
        self.finish(claim).unwrap()
    }

    /// Finishes `claim` as the cron run would: checks it, reads its rows, signs.
    fn finish(&mut self, claim: Seal) -> Result<&Seal, SealError> {
        let evidence = self.evidence(&claim);
        let mut sealing = self.sealer.begin(claim, self.seals.last(), evidence)?;
        while let Some(page) = sealing.next_page() {
            let [
                SqlValue::Integer(after),
                SqlValue::Integer(through),
                SqlValue::Integer(limit),
            ] = page.params[..]
            else {
                panic!("a page query has three integer parameters")
            };
            let rows: Vec<Row> = self
                .log
                .iter()
                .filter(|r| (after + 1..=through).contains(&r.id().unwrap()))
                .take(usize::try_from(limit).unwrap())
                .cloned()
                .collect();
            sealing.add(&rows)?;
        }
        let (seal, statement) = sealing.finish()?;
        assert!(statement.sql.starts_with("UPDATE audit_seals SET"));
        assert!(
            statement
                .sql
                .ends_with("WHERE id = ?1 AND signature IS NULL")
        );
        // Numbers may skip: a repeated run uses one up.
        self.next_seq += 2;
        self.clock += 10 * MINUTE;
        self.seals.push(seal);
        Ok(self.seals.last().unwrap())
    }

    /// Retention up to `through`, as the statements the sealer builds would apply it.
    fn purge(&mut self, through: i64) {
        self.log.retain(|r| r.id().unwrap() > through);
        for seal in &mut self.seals {
            if seal.last_id <= through {
                seal.proof.as_mut().unwrap().manifest = None;
            }
        }
    }

    /// Half a year on: the next run is `after` later than the retention period after the first
    /// seal's run.
    fn half_a_year_on(&mut self, after: i64) {
        self.clock = self.seals[0].scheduled_ms + 180 * DAY + after;
    }

    fn seal_rows(&self) -> Vec<Row> {
        self.seals.iter().map(Seal::to_row).collect()
    }

    fn verify(&self) -> Report {
        verify(&self.seal_rows(), &self.log, &public())
    }
}

/// Three seals over 1 500 rows (so sealing reads several pages), one of them empty.
fn sealed() -> Db {
    let mut db = Db::new();
    db.write(1200);
    db.seal();
    db.seal(); // nothing arrived: the seal is written anyway
    db.write(300);
    db.seal();
    db
}

/// `sealed()`, then half a year later a fourth seal that lets retention purge the first seal's
/// rows (the second seal, empty, ends there too), and those rows purged.
fn purged() -> Db {
    let mut db = sealed();
    db.write(10);
    // The run is half a year after the first seal's; the third seal's cutoff, 20 minutes later
    // than the first's, is not yet that old.
    db.half_a_year_on(0);
    assert_eq!(db.seal().purged_through, 1200);
    db.purge(1200);
    db
}

/// Re-signs the last seal after `change`, as only the holder of the seal key could: a seal the
/// gatekeeper should never have signed.
fn resign_last(db: &mut Db, change: impl FnOnce(&mut Seal)) {
    let seal = db.seals.last_mut().unwrap();
    change(seal);
    let mut proof = seal.proof.take().unwrap();
    let text = seal.text(&proof);
    let secret = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([9; 32])).sk;
    proof.signature = *secret.sign(text.as_bytes(), None);
    proof.hash = Hash::of(text.as_bytes());
    seal.proof = Some(proof);
}

fn first(report: &Report) -> &Finding {
    report.findings().first().expect("a finding")
}

#[test]
fn an_untouched_log_is_intact() {
    let db = sealed();
    let report = db.verify();
    assert!(report.is_intact(), "{:?}", report.findings());
    assert_eq!(report.verified, 1500);
    assert_eq!(report.seals, 3);
    assert_eq!(report.unsealed, 0);
    assert!(report.notes().is_empty());
    let latest = report.latest.unwrap();
    assert_eq!(latest.seq, 5);
    assert_eq!(latest.last_id, 1500);
    assert_eq!(
        latest.hash,
        db.seals[2].proof.as_ref().unwrap().hash,
        "the hash to compare with the one the Worker logged"
    );
    assert_eq!(db.seals[1].proof.as_ref().unwrap().row_count, 0);
    assert_eq!(db.seals[1].last_id, db.seals[1].first_id - 1);
}

#[test]
fn one_chain_runs_through_every_seal() {
    let db = sealed();
    let proofs: Vec<_> = db.seals.iter().map(|s| s.proof.as_ref().unwrap()).collect();
    assert_eq!(proofs[0].prev, Hash::ZERO);
    assert_eq!(proofs[1].prev, proofs[0].hash);
    assert_eq!(proofs[2].prev, proofs[1].hash);
    assert_eq!(
        proofs[1].head, proofs[1].prev,
        "no rows: the chain is where it was"
    );
}

#[test]
fn an_edited_row_is_named() {
    let mut db = sealed();
    db.log[700].set("user_agent", "curl/8.0");
    let report = db.verify();
    assert_eq!(report.findings(), [Finding::Changed { id: 701, seal: 1 }]);
    assert_eq!(
        first(&report).to_string(),
        "row 701 was changed after seal 1 sealed it"
    );
}

#[test]
fn a_null_set_or_cleared_is_a_change() {
    let mut db = sealed();
    db.log[10].set("jti", "forged");
    db.log[20].set("ip", Value::Null);
    let report = db.verify();
    assert_eq!(
        report.findings(),
        [
            Finding::Changed { id: 11, seal: 1 },
            Finding::Changed { id: 21, seal: 1 }
        ]
    );
}

#[test]
fn a_deleted_row_is_named() {
    let mut db = sealed();
    db.log.remove(1299);
    let report = db.verify();
    assert_eq!(report.findings(), [Finding::Removed { id: 1300, seal: 5 }]);
}

#[test]
fn an_inserted_row_is_named() {
    // A forged row given the id of a real one, next to it.
    let mut db = sealed();
    let mut forged = db.log[40].clone();
    forged.set("sub", "someone-else");
    db.log.insert(41, forged);
    assert_eq!(
        db.verify().findings(),
        [Finding::Inserted {
            id: 41,
            seal: Some(1)
        }]
    );

    // A row with an id no seal was ever given.
    let mut db = sealed();
    db.log.insert(0, log_row(0));
    assert_eq!(
        db.verify().findings(),
        [Finding::Inserted { id: 0, seal: None }]
    );
}

#[test]
fn the_first_change_is_named_first() {
    let mut db = sealed();
    db.log[1400].set("status", 403);
    db.log.remove(900);
    db.log[5].set("decision", "grant_missing");
    let report = db.verify();
    assert_eq!(
        report.findings(),
        [
            Finding::Changed { id: 6, seal: 1 },
            Finding::Removed { id: 901, seal: 1 },
            Finding::Changed { id: 1401, seal: 5 },
        ]
    );
}

#[test]
fn rows_after_the_last_seal_are_not_yet_sealed() {
    let mut db = sealed();
    db.write(7);
    // Unsealed rows are not checked: a change there cannot be seen yet.
    db.log[1503].set("sub", "anyone");
    let report = db.verify();
    assert!(report.is_intact());
    assert_eq!(report.unsealed, 7);
}

#[test]
fn purged_rows_are_told_from_deleted_ones() {
    let db = purged();
    let report = db.verify();
    assert!(report.is_intact(), "{:?}", report.findings());
    assert_eq!(report.purged, 1200);
    assert_eq!(report.verified, 310);

    // Rows beyond purged_through were not the retention's to delete.
    let mut deleted = db;
    deleted.log.retain(|r| r.id() != Some(1201));
    assert_eq!(
        deleted.verify().findings(),
        [Finding::Removed { id: 1201, seal: 5 }]
    );
}

#[test]
fn a_row_slipped_into_a_purged_range_is_named() {
    let mut db = purged();
    db.log.insert(0, log_row(17));
    assert_eq!(
        db.verify().findings(),
        [Finding::Inserted {
            id: 17,
            seal: Some(1)
        }]
    );
}

#[test]
fn a_partly_purged_seal_still_checks_its_remaining_rows() {
    // Retention deletes in batches: mid-way, some of a seal's rows are gone and some are left.
    let mut db = sealed();
    db.half_a_year_on(0);
    assert_eq!(db.seal().purged_through, 1200);
    db.log.retain(|r| r.id().unwrap() > 600);
    let report = db.verify();
    assert!(report.is_intact());
    assert_eq!((report.purged, report.verified), (600, 900));
    db.log[0].set("bytes_out", 1);
    assert_eq!(
        db.verify().findings(),
        [Finding::Changed { id: 601, seal: 1 }]
    );
}

#[test]
fn a_changed_seal_is_caught() {
    let db = sealed();
    let mut seals = db.seal_rows();
    seals[0].set("purged_through", 1200);
    let report = verify(&seals, &db.log, &public());
    assert_eq!(
        report.findings(),
        [Finding::Seal {
            seq: 1,
            problem: SealProblem::BadSignature
        }]
    );
    assert_eq!(report.unchecked, 1200, "its rows cannot be vouched for");
}

#[test]
fn a_removed_seal_breaks_the_chain() {
    let db = sealed();
    let mut seals = db.seal_rows();
    seals.remove(1);
    assert_eq!(
        verify(&seals, &db.log, &public()).findings(),
        [Finding::Seal {
            seq: 5,
            problem: SealProblem::BrokenLink
        }]
    );
    // Removing the first seal is seen too: the next one does not start the chain.
    let mut seals = db.seal_rows();
    seals.remove(0);
    let report = verify(&seals, &db.log, &public());
    assert_eq!(
        report.findings(),
        [Finding::Seal {
            seq: 3,
            problem: SealProblem::BrokenLink
        }]
    );
    assert_eq!(report.unchecked, 1200);
}

#[test]
fn a_seal_signed_by_another_key_is_not_trusted() {
    let db = sealed();
    let other = SigningKey::from_seed([3; 32]).unwrap().public_key().clone();
    let report = verify(&db.seal_rows(), &db.log, &[other]);
    assert!(matches!(
        first(&report),
        Finding::Seal {
            seq: 1,
            problem: SealProblem::UnknownKey(id)
        } if id == support::seal_key().id()
    ));
    // After a rotation, the old and the new key are both given.
    let mut both = public();
    both.push(SigningKey::from_seed([3; 32]).unwrap().public_key().clone());
    assert!(verify(&db.seal_rows(), &db.log, &both).is_intact());
}

#[test]
fn an_emptied_manifest_still_leaves_the_chain() {
    let mut db = sealed();
    let mut seals = db.seal_rows();
    seals[0].set("manifest", Value::Null);
    let report = verify(&seals, &db.log, &public());
    assert_eq!(
        report.findings(),
        [Finding::Seal {
            seq: 1,
            problem: SealProblem::ManifestMissing
        }]
    );
    db.log[3].set("sub", "x");
    let report = verify(&seals, &db.log, &public());
    assert_eq!(
        report.findings()[1],
        Finding::Unlocated {
            seal: 1,
            first_id: 1,
            last_id: 1200
        }
    );
}

#[test]
fn a_seal_in_the_making_is_noted_not_trusted() {
    let mut db = sealed();
    db.write(5);
    let mut seals = db.seal_rows();
    let mut pending = db.seals[2].clone();
    pending.seq = 9;
    pending.first_id = 1501;
    pending.last_id = 1505;
    pending.proof = None;
    seals.push(pending.to_row());
    let report = verify(&seals, &db.log, &public());
    assert!(report.is_intact());
    assert_eq!(report.notes(), [Note::InProgress { seq: 9 }]);
    assert_eq!(report.unsealed, 5);

    // Only the latest seal may be unfinished.
    seals.swap(2, 3);
    seals[2].set("id", 4);
    let report = verify(&seals, &db.log, &public());
    assert!(report.findings().contains(&Finding::Seal {
        seq: 4,
        problem: SealProblem::Unfinished
    }));
}

#[test]
fn rows_missing_before_sealing_are_noted() {
    let mut db = Db::new();
    db.write(10);
    db.log.retain(|r| !matches!(r.id(), Some(4..=5)));
    db.seal();
    let report = db.verify();
    assert!(report.is_intact());
    assert_eq!(
        report.notes(),
        [Note::Absent {
            seal: 1,
            first_id: 4,
            last_id: 5
        }]
    );
    assert_eq!(
        report.notes()[0].to_string(),
        "ids 4 to 5 were already missing when seal 1 was made"
    );
}

#[test]
fn finishing_is_deterministic() {
    // Two runs that finish the same claim write the same seal, so either may win.
    let a = sealed();
    let b = sealed();
    assert_eq!(a.seal_rows(), b.seal_rows());
}

#[test]
fn the_seal_text_is_as_documented() {
    let db = sealed();
    let seal = &db.seals[0];
    let proof = seal.proof.as_ref().unwrap();
    let text = seal.text(proof);
    let expected = format!(
        "{SEAL_TEXT_VERSION}\nseal 1\nkey {}\nscheduled_ms {}\ncutoff_ms {}\nfirst_id 1\nlast_id 1200\nrow_count 1200\npurged_through 0\nprev {}\nhead {}\nmanifest {}\n",
        support::seal_key().id(),
        seal.scheduled_ms,
        seal.cutoff_ms,
        "0".repeat(64),
        proof.head,
        proof.manifest_digest
    );
    assert_eq!(text, expected);
    assert_eq!(proof.hash, Hash::of(text.as_bytes()));
    assert_eq!(Seal::from_row(&seal.to_row()).unwrap(), *seal);
}

#[test]
fn a_wrangler_export_round_trips() {
    // What `wrangler d1 execute --json --command "SELECT * FROM audit_log ORDER BY id;
    // SELECT * FROM audit_seals ORDER BY id"` prints.
    let db = sealed();
    let set = |rows: Vec<Row>| json!({"results": rows, "success": true, "meta": {"duration": 1}});
    let text =
        serde_json::to_string_pretty(&json!([set(db.log.clone()), set(db.seal_rows())])).unwrap();
    assert!(
        text.contains(r#""time_ms": 1780000001000,"#),
        "integers as JavaScript prints them"
    );

    let mut export = Export::default();
    export.read(&text).unwrap();
    assert_eq!(export.log.len(), 1500);
    assert_eq!(export.seals.len(), 3);
    assert!(verify(&export.seals, &export.log, &public()).is_intact());

    // Edited in the file: the seals name the row.
    let edited = text.replacen("\"ray-42\"", "\"ray-4242\"", 1);
    let mut export = Export::default();
    export.read(&edited).unwrap();
    assert_eq!(
        verify(&export.seals, &export.log, &public()).findings(),
        [Finding::Changed { id: 42, seal: 1 }]
    );

    // The seals may come in a file of their own.
    let mut split = Export::default();
    split
        .read(&serde_json::to_string(&json!([set(db.log.clone())])).unwrap())
        .unwrap();
    split
        .read(&serde_json::to_string(&json!([set(db.seal_rows())])).unwrap())
        .unwrap();
    assert!(verify(&split.seals, &split.log, &public()).is_intact());
    assert!(split.read(r#"[{"results": [{"name": "x"}]}]"#).is_err());
}

#[test]
fn sealing_refuses_what_it_cannot_seal_honestly() {
    let sealer = sealer();
    let db = sealed();
    let done = db.seals[2].clone();
    let claim = |first_id, last_id| Seal {
        seq: 20,
        scheduled_ms: done.scheduled_ms + 10 * MINUTE,
        cutoff_ms: done.scheduled_ms - 5 * MINUTE,
        first_id,
        last_id,
        purged_through: 0,
        proof: None,
    };
    let evidence = Evidence {
        purgeable_through: 0,
        log_end: 5000,
        now_ms: done.scheduled_ms + 10 * MINUTE,
    };
    assert!(
        sealer
            .begin(done.clone(), Some(&db.seals[1]), evidence)
            .is_err(),
        "finished"
    );
    assert!(
        sealer
            .begin(claim(1400, 1500), Some(&done), evidence)
            .is_err(),
        "overlaps the previous seal"
    );
    let mut unfinished = done.clone();
    unfinished.proof = None;
    assert!(
        sealer
            .begin(claim(1501, 1500), Some(&unfinished), evidence)
            .is_err(),
        "the previous seal must be finished first"
    );

    let begin = || {
        sealer
            .begin(claim(1501, 1510), Some(&done), evidence)
            .unwrap()
    };
    let mut sealing = begin();
    let err = sealing.add(&[log_row(1511)]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "audit_log row 1511 was read out of order or out of range"
    );
    let mut sealing = begin();
    assert!(sealing.add(&[log_row(1502), log_row(1501)]).is_err());
    let mut without_id = log_row(1501);
    without_id.set("id", Value::Null);
    let mut sealing = begin();
    assert!(sealing.add(&[without_id]).is_err());

    // Every page is read before the seal is signed.
    let mut sealing = sealer
        .begin(claim(1501, 5000), Some(&done), evidence)
        .unwrap();
    let page: Vec<Row> = (1501..2501).map(log_row).collect();
    sealing.add(&page).unwrap();
    assert!(sealing.next_page().is_some());
    assert!(sealing.finish().is_err());
}

/// What `db.finish(claim)` refuses with, as the Worker would log it.
fn refusal(db: &mut Db, claim: Seal) -> String {
    match db.finish(claim) {
        Ok(seal) => panic!(
            "seal {} was signed, purged through {}",
            seal.seq, seal.purged_through
        ),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_forged_purge_is_never_signed() {
    let mut db = sealed();
    db.write(10);
    let honest = db.claim();
    assert_eq!(honest.purged_through, 0, "no row is half a year old yet");

    // Someone with write access to D1 claims that retention may purge everything sealed so far.
    let mut forged = honest.clone();
    forged.purged_through = 1500;
    assert_eq!(
        refusal(&mut db, forged),
        "refused to sign seal 7: its purged_through is 1500, but the retention period and the previous seals allow 0"
    );
    // Even one row too many.
    let mut forged = honest.clone();
    forged.purged_through = 1;
    assert!(refusal(&mut db, forged).contains("purged_through is 1,"));
    assert!(db.seals.len() == 3, "nothing was signed");

    // The honest claim is signed, and the forged value is carried into no later seal.
    assert_eq!(db.finish(honest).unwrap().purged_through, 0);
    db.write(5);
    assert_eq!(db.seal().purged_through, 0);
    assert!(db.verify().is_intact());

    // Half a year on, retention reaches what the policy allows, and no further.
    db.half_a_year_on(0);
    let mut forged = db.claim();
    assert_eq!(forged.purged_through, 1200);
    forged.purged_through = 1500;
    assert!(
        refusal(&mut db, forged).contains("allow 1200"),
        "past the retention period"
    );
    let mut forged = db.claim();
    forged.purged_through = 0;
    assert!(
        refusal(&mut db, forged).contains("purged_through is 0,"),
        "it never decreases"
    );
    assert_eq!(db.seal().purged_through, 1200);
}

#[test]
fn a_purge_never_passes_the_previous_seals_rows() {
    // Even when the policy would allow more (a retention of zero days), a claim may let
    // retention reach only rows that are sealed already.
    let mut db = Db::new();
    db.sealer = Sealer::new(
        support::seal_key(),
        Policy {
            grace_seconds: 900,
            retention_days: 0,
        },
    );
    db.write(10);
    db.seal();
    db.write(10);
    let mut forged = db.claim();
    assert_eq!(forged.purged_through, 10);
    forged.purged_through = 20;
    assert!(refusal(&mut db, forged).contains("purged_through is 20,"));
    assert_eq!(db.seal().purged_through, 10);
}

#[test]
fn a_claim_with_a_forged_time_is_never_signed() {
    let mut db = sealed();
    db.write(10);
    let honest = db.claim();

    // A cutoff other than the scheduled time less the grace period.
    let mut forged = honest.clone();
    forged.cutoff_ms -= 180 * DAY;
    let said = refusal(&mut db, forged);
    assert!(
        said.starts_with("refused to sign seal 7: its cutoff_ms is "),
        "{said}"
    );
    assert!(
        said.contains(&format!("gives {}", honest.cutoff_ms)),
        "{said}"
    );

    // A scheduled time that is not after the previous seal's, or is still to come.
    let mut forged = honest.clone();
    forged.scheduled_ms = db.seals[2].scheduled_ms;
    forged.cutoff_ms = forged.scheduled_ms - 15 * MINUTE;
    assert!(refusal(&mut db, forged).contains("scheduled_ms"));
    let mut forged = honest.clone();
    forged.scheduled_ms += DAY;
    forged.cutoff_ms += DAY;
    assert!(refusal(&mut db, forged).contains("scheduled_ms"));

    // A cutoff (and so a scheduled time) going back behind the previous seal's, which would make
    // retention count that seal's rows as older than they are.
    let mut db2 = sealed();
    db2.sealer = Sealer::new(
        support::seal_key(),
        Policy {
            grace_seconds: 3600,
            retention_days: 180,
        },
    );
    let claim = db2.claim();
    assert!(refusal(&mut db2, claim).contains("cutoff_ms"));

    assert_eq!(db.seals.len(), 3, "nothing was signed");
    db.finish(honest).unwrap();
}

#[test]
fn a_claim_with_a_forged_range_is_never_signed() {
    let mut db = sealed();
    db.write(10);
    let honest = db.claim();
    assert_eq!(honest.last_id, 1510);

    // Rows that arrived after the cutoff: row 1511 arrives two hours after the seal's cutoff.
    let mut late = log_row(1511);
    late.set("time_ms", honest.cutoff_ms + 2 * HOUR);
    db.log.push(late);
    let mut forged = honest.clone();
    forged.last_id = 1511;
    assert_eq!(
        refusal(&mut db, forged),
        "refused to sign seal 7: audit_log row 1511 arrived after its cutoff_ms"
    );

    // Ids that no row has yet: rows written later would fall into a sealed range.
    let mut forged = honest.clone();
    forged.last_id = 9000;
    assert!(
        refusal(&mut db, forged).contains("last_id is 9000, past the last row of the log (1511)")
    );

    // More rows than one seal may hold.
    let mut forged = honest.clone();
    forged.last_id = 1500 + s3_gatekeeper::seal::MAX_ROWS_PER_SEAL + 1;
    db.write(s3_gatekeeper::seal::MAX_ROWS_PER_SEAL + 10);
    assert!(refusal(&mut db, forged).contains("more rows than one seal holds"));

    assert_eq!(db.seals.len(), 3, "nothing was signed");
    assert_eq!(db.finish(honest).unwrap().last_id, 1510);
}

#[test]
fn a_claim_left_by_a_run_that_stopped_is_finished_later() {
    // A run claimed, then stopped before signing; a run an hour later finishes the claim from its
    // own scheduled time, while more rows have arrived.
    let mut db = sealed();
    db.write(10);
    let claim = db.claim();
    db.write(20);
    db.clock += HOUR;
    let seal = db.finish(claim.clone()).unwrap();
    assert_eq!((seal.first_id, seal.last_id), (1501, 1510));
    assert_eq!(seal.scheduled_ms, claim.scheduled_ms);
    assert!(db.verify().is_intact());
}

#[test]
fn the_verifier_requires_purges_to_follow_on() {
    // purged_through going down.
    let mut db = purged();
    db.write(5);
    db.seal();
    resign_last(&mut db, |seal| seal.purged_through = 3);
    let report = db.verify();
    assert_eq!(
        report.findings(),
        [Finding::Seal {
            seq: 9,
            problem: SealProblem::PurgeDecreased {
                purged_through: 3,
                previous: 1200
            }
        }]
    );
    assert_eq!(
        first(&report).to_string(),
        "seal 9: its purged_through 3 is less than the previous seal's, 1200"
    );

    // purged_through past the rows the previous seal sealed: retention would reach rows that were
    // not sealed when the seal was signed.
    let mut db = sealed();
    db.write(10);
    db.seal();
    resign_last(&mut db, |seal| seal.purged_through = 1510);
    db.log.retain(|r| r.id().unwrap() > 1510);
    let report = db.verify();
    assert!(
        report.findings().contains(&Finding::Seal {
            seq: 7,
            problem: SealProblem::PurgePastSealed {
                purged_through: 1510,
                previous_last_id: 1500
            }
        }),
        "{:?}",
        report.findings()
    );
    assert_eq!(
        first(&report).to_string(),
        "seal 7: its purged_through 1510 passes the last row the previous seal sealed, 1500"
    );
    // Such a seal does not excuse the rows as purged.
    assert!(
        report
            .findings()
            .contains(&Finding::Removed { id: 1501, seal: 7 })
    );
}

#[test]
fn the_verifier_finds_rows_purged_before_the_retention_period() {
    // A seal that lets retention purge everything sealed before it, after ten minutes: it follows
    // on, so only the retention period shows it.
    let mut db = sealed();
    db.write(10);
    db.seal();
    resign_last(&mut db, |seal| seal.purged_through = 1500);
    db.log.retain(|r| r.id().unwrap() > 1500);
    assert!(
        db.verify().is_intact(),
        "without a retention period it looks like retention"
    );
    let report = verify_with_retention(&db.seal_rows(), &db.log, &public(), 180);
    assert!(
        report.findings().contains(&Finding::Seal {
            seq: 7,
            problem: SealProblem::PurgedTooYoung {
                purged_through: 1500,
                allowed: 0,
                retention_days: 180
            }
        }),
        "{:?}",
        report.findings()
    );
    assert_eq!(
        first(&report).to_string(),
        "seal 7: its purged_through 1500 lets retention purge rows younger than 180 days (only rows up to id 0 were that old)"
    );
    assert!(
        report
            .findings()
            .contains(&Finding::Removed { id: 1, seal: 1 })
    );

    // Honest retention passes the same check, and one day too many does not.
    let db = purged();
    assert!(verify_with_retention(&db.seal_rows(), &db.log, &public(), 180).is_intact());
    assert!(!verify_with_retention(&db.seal_rows(), &db.log, &public(), 181).is_intact());
}

#[test]
fn the_verifier_finds_a_forged_claim_not_yet_signed() {
    // A claim no cron run made: it is not signed, so retention does not follow it, but it shows.
    let db = sealed();
    let mut seals = db.seal_rows();
    let mut forged = db.seals[2].clone();
    forged.seq = 9;
    forged.scheduled_ms += 10 * MINUTE;
    forged.cutoff_ms += 10 * MINUTE;
    forged.first_id = 1501;
    forged.last_id = 1500;
    forged.purged_through = 1500;
    forged.proof = None;
    seals.push(forged.to_row());
    let report = verify_with_retention(&seals, &db.log, &public(), 180);
    assert_eq!(
        report.findings(),
        [Finding::Seal {
            seq: 9,
            problem: SealProblem::PurgedTooYoung {
                purged_through: 1500,
                allowed: 0,
                retention_days: 180
            }
        }]
    );
}

#[test]
fn the_claim_applies_the_grace_period_and_retention() {
    let sealer = Sealer::new(
        support::seal_key(),
        Policy {
            grace_seconds: 600,
            retention_days: 30,
        },
    );
    let claim = sealer.claim(T0);
    assert!(claim.sql.contains("ON CONFLICT (scheduled_ms) DO NOTHING"));
    assert_eq!(
        claim.params,
        [
            SqlValue::Integer(T0),
            SqlValue::Integer(T0 - 600_000),
            SqlValue::Integer(s3_gatekeeper::seal::MAX_ROWS_PER_SEAL),
            SqlValue::Integer(T0 - 30 * 86_400_000),
        ]
    );

    // Retention follows the latest finished seal, and also forgets expired grant ids.
    let db = sealed();
    let mut latest = db.seals[2].clone();
    assert_eq!(Sealer::retention(None, T0).len(), 1, "nothing to purge yet");
    assert_eq!(Sealer::retention(Some(&latest), T0).len(), 1);
    latest.purged_through = 1200;
    let statements = Sealer::retention(Some(&latest), T0);
    assert_eq!(statements.len(), 3);
    assert!(statements[0].sql.starts_with("DELETE FROM audit_log"));
    assert_eq!(statements[0].params[0], SqlValue::Integer(1200));
    assert!(statements[2].sql.starts_with("DELETE FROM spent_grants"));
}

// The archive (`s3_gatekeeper::archive`): each seal written as a rows object and a seal object,
// read back as a `Bundle`, alone or merged with a D1 export, and verified with the same code.

mod archived {
    use super::*;
    use s3_gatekeeper::archive::{Archiving, Bundle, Object, ObjectKind};

    /// The objects `db` archives seal `index` as, read from the rows D1 holds now.
    fn archive(db: &Db, index: usize) -> Vec<Object> {
        let mut archiving = Archiving::begin("audit/", db.seals[index].to_row()).unwrap();
        while let Some(page) = archiving.next_page() {
            let [
                SqlValue::Integer(after),
                SqlValue::Integer(through),
                SqlValue::Integer(limit),
            ] = page.params[..]
            else {
                panic!("a page query has three integer parameters")
            };
            let rows: Vec<Row> = db
                .log
                .iter()
                .filter(|r| (after + 1..=through).contains(&r.id().unwrap()))
                .take(usize::try_from(limit).unwrap())
                .cloned()
                .collect();
            archiving.add(&rows).unwrap();
        }
        archiving.finish().unwrap()
    }

    /// Every seal of `db` archived, as files under the prefix: (key without `audit/`, bytes).
    fn archive_all(db: &Db) -> Vec<(String, Vec<u8>)> {
        (0..db.seals.len())
            .flat_map(|i| archive(db, i))
            .map(|o| (o.key.strip_prefix("audit/").unwrap().to_owned(), o.body))
            .collect()
    }

    fn bundle(files: &[(String, Vec<u8>)], export: Option<&Db>) -> Bundle {
        // As the CLI reads them: the export first, then the archive.
        let mut bundle = Bundle::default();
        if let Some(db) = export {
            bundle.add_export(Export {
                log: db.log.clone(),
                seals: db.seal_rows(),
            });
        }
        for (key, body) in files {
            assert!(bundle.add_object(key, body).unwrap(), "{key}");
        }
        bundle
    }

    fn check(bundle: &Bundle) -> Report {
        verify(&bundle.seals(), &bundle.log(), &public())
    }

    #[test]
    fn a_seal_is_archived_as_its_rows_and_itself() {
        let db = sealed();
        let objects = archive(&db, 0);
        let seal = &db.seals[0];
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[0].kind, ObjectKind::Rows);
        assert_eq!(objects[0].rows, 1200);
        assert_eq!(objects[1].key, "audit/seals/seal-0000000001.json");
        assert!(
            objects[0].key.starts_with("audit/2026/05/"),
            "{}",
            objects[0].key
        );
        assert!(objects[0].key.ends_with("/seal-0000000001.ndjson.gz"));
        // Every row, one JSON line each, exactly as D1 holds it.
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(&objects[0].body[..]),
            &mut text,
        )
        .unwrap();
        let lines: Vec<Row> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines, db.log[..1200].to_vec());
        // The seal object holds the seal row, and what its rows object holds.
        let object: serde_json::Value = serde_json::from_slice(&objects[1].body).unwrap();
        assert_eq!(
            serde_json::from_value::<Row>(object["seal"].clone()).unwrap(),
            seal.to_row()
        );
        assert_eq!(object["rows"]["count"], 1200);
        assert_eq!(
            object["rows"]["sha256"],
            objects[0].sha256.to_string().as_str()
        );
        // An empty seal has no rows object.
        let empty = archive(&db, 1);
        assert_eq!(empty.len(), 1);
        assert_eq!(empty[0].kind, ObjectKind::Seal);
        // Recorded in one statement, the seal object last.
        let record = Archiving::record(seal, &objects, 5);
        assert!(record.sql.starts_with("INSERT INTO audit_archives"));
        assert_eq!(record.params.len(), 4 + 2 * 5);
    }

    #[test]
    fn a_read_back_must_be_exactly_what_was_written() {
        let db = sealed();
        let object = &archive(&db, 0)[0];
        assert!(object.matches(&object.body));
        let mut changed = object.body.clone();
        changed[20] ^= 1;
        assert!(!object.matches(&changed));
        assert!(!object.matches(&object.body[..object.body.len() - 1]));
        assert!(!object.matches(&[]));
    }

    #[test]
    fn rows_out_of_the_seals_range_are_refused() {
        let db = sealed();
        let mut archiving = Archiving::begin("", db.seals[2].to_row()).unwrap();
        assert!(archiving.add(&[log_row(5)]).is_err());
        let mut unfinished = db.seals[0].clone();
        unfinished.proof = None;
        assert!(Archiving::begin("", unfinished.to_row()).is_err());
    }

    #[test]
    fn an_archive_verifies_alone_and_with_the_d1_export() {
        let db = sealed();
        let files = archive_all(&db);
        let alone = check(&bundle(&files, None));
        assert!(alone.is_intact(), "{:?}", alone.findings());
        assert_eq!(alone.verified, 1500);
        // The same rows in D1 and in the archive count once.
        let both = check(&bundle(&files, Some(&db)));
        assert!(both.is_intact(), "{:?}", both.findings());
        assert_eq!(both.verified, 1500);
        assert_eq!(bundle(&files, Some(&db)).problems(), Vec::<String>::new());
    }

    #[test]
    fn one_chain_runs_across_the_archive_and_d1() {
        // Seals 1 and 3 archived while their rows were in D1; then retention purged them from D1
        // (emptying seal 1's manifest there). Seal 5 archived after, seal 7 only in D1.
        let mut before = sealed();
        before.write(10);
        let db = purged();
        let files: Vec<_> = [archive(&before, 0), archive(&before, 1), archive(&db, 2)]
            .into_iter()
            .flatten()
            .map(|o| (o.key.strip_prefix("audit/").unwrap().to_owned(), o.body))
            .collect();
        let report = check(&bundle(&files, Some(&db)));
        assert!(report.is_intact(), "{:?}", report.findings());
        assert_eq!(report.verified, 1510);
        assert_eq!(report.purged, 0);
        assert_eq!(report.seals, 4);
        // D1 alone: the first seal's rows were purged, as its seals allow.
        let d1 = db.verify();
        assert!(d1.is_intact());
        assert_eq!(d1.purged, 1200);
    }

    fn tamper(files: &mut [(String, Vec<u8>)], name: &str, change: impl FnOnce(&mut Vec<Row>)) {
        let (_, body) = files.iter_mut().find(|(k, _)| k.contains(name)).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut text)
            .unwrap();
        let mut rows: Vec<Row> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        change(&mut rows);
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        for row in &rows {
            std::io::Write::write_all(
                &mut encoder,
                format!("{}\n", serde_json::to_string(row).unwrap()).as_bytes(),
            )
            .unwrap();
        }
        *body = encoder.finish().unwrap();
    }

    #[test]
    fn a_changed_archived_row_is_named_with_its_object() {
        let db = sealed();
        let mut files = archive_all(&db);
        tamper(&mut files, "seal-0000000005.ndjson", |rows| {
            rows[7].set("sub", "someone-else");
        });
        let bundle = bundle(&files, None);
        let report = check(&bundle);
        let finding = first(&report);
        assert_eq!(*finding, Finding::Changed { id: 1208, seal: 5 });
        let object = files
            .iter()
            .find(|(k, _)| k.contains("seal-0000000005.ndjson"))
            .unwrap()
            .0
            .clone();
        assert_eq!(
            bundle.locate(finding),
            Some(format!("in archive object {object}"))
        );
        // The seal object says which rows object it was archived with.
        assert_eq!(
            bundle.problems(),
            vec![format!(
                "archive object {object} is not the one archived with seal 5: its SHA-256 differs"
            )]
        );
    }

    #[test]
    fn a_deleted_archive_object_is_named() {
        let db = sealed();
        let files = archive_all(&db);
        let rows_object = files
            .iter()
            .find(|(k, _)| k.ends_with("seal-0000000005.ndjson.gz"))
            .unwrap()
            .0
            .clone();

        // The rows object gone: its rows are removed, by the seal, and the object named.
        let without: Vec<_> = files
            .iter()
            .filter(|(k, _)| *k != rows_object)
            .cloned()
            .collect();
        let bundle_ = bundle(&without, None);
        let report = check(&bundle_);
        assert_eq!(*first(&report), Finding::Removed { id: 1201, seal: 5 });
        assert_eq!(
            bundle_.locate(first(&report)),
            Some(format!("its archive object {rows_object} is missing"))
        );
        assert_eq!(
            bundle_.problems(),
            vec![format!(
                "seal 5: its archive object {rows_object} (300 rows) is missing"
            )]
        );

        // The seal object gone: the chain breaks at the next seal, and the orphan is named.
        let without: Vec<_> = files
            .iter()
            .filter(|(k, _)| k != "seals/seal-0000000003.json")
            .cloned()
            .collect();
        let bundle_ = bundle(&without, None);
        let report = check(&bundle_);
        assert!(
            report.findings().contains(&Finding::Seal {
                seq: 5,
                problem: SealProblem::BrokenLink
            }),
            "{:?}",
            report.findings()
        );
        assert_eq!(
            bundle_.locate(&Finding::Seal {
                seq: 5,
                problem: SealProblem::BrokenLink
            }),
            Some("in archive object seals/seal-0000000005.json".to_owned())
        );
        assert_eq!(bundle_.problems().len(), 0, "seal 3 is the empty one");

        let without: Vec<_> = files
            .iter()
            .filter(|(k, _)| k != "seals/seal-0000000001.json")
            .cloned()
            .collect();
        let problems = bundle(&without, None).problems();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].ends_with(
                "holds the rows of seal 1, whose archive object seals/seal-0000000001.json is missing"
            ),
            "{problems:?}"
        );
    }

    #[test]
    fn a_seal_that_differs_between_d1_and_the_archive_is_not_merged() {
        let mut db = sealed();
        let files = archive_all(&db);
        resign_last(&mut db, |seal| seal.purged_through = 1);
        let report = check(&bundle(&files, Some(&db)));
        assert!(
            report.findings().contains(&Finding::Seal {
                seq: 5,
                problem: SealProblem::Duplicate
            }),
            "{:?}",
            report.findings()
        );
    }

    #[test]
    fn an_export_alone_reads_as_before() {
        let db = sealed();
        let mut bundle = Bundle::default();
        bundle.add_export(Export {
            log: db.log.clone(),
            seals: db.seal_rows(),
        });
        assert_eq!(bundle.locate(&Finding::Changed { id: 1, seal: 1 }), None);
        assert!(check(&bundle).is_intact());
    }
}
