//! Sealing and verification of the audit log, end to end in the core: rows are sealed as a cron
//! run would seal them, exported as `wrangler d1 execute --json` prints them, changed the ways an
//! intruder with database access could change them, and verified.

// In tests a panic is the failure report, so unwrapping is the clearest way to fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use s3_gatekeeper::audit::SqlValue;
use s3_gatekeeper::grant::{PublicKey, SigningKey};
use s3_gatekeeper::seal::{
    Export, Finding, Hash, Note, Policy, Report, Row, SEAL_TEXT_VERSION, Seal, SealProblem, Sealer,
    Value, verify,
};
use serde_json::json;

const T0: i64 = 1_780_000_000_000;
const MINUTE: i64 = 60_000;

/// An `audit_log` row as D1 returns it, NULL columns included.
fn log_row(id: i64) -> Row {
    [
        ("id", Value::from(id)),
        ("time_ms", Value::from(T0 + id * 1000)),
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

/// A simulated database: the log and the seals, as a cron run would leave them.
struct Db {
    sealer: Sealer,
    log: Vec<Row>,
    seals: Vec<Seal>,
    next_seq: i64,
}

impl Db {
    fn new() -> Self {
        Self {
            sealer: sealer(),
            log: Vec::new(),
            seals: Vec::new(),
            next_seq: 1,
        }
    }

    fn write(&mut self, n: i64) {
        let next = self.log.last().and_then(Row::id).unwrap_or(0) + 1;
        for id in next..next + n {
            self.log.push(log_row(id));
        }
    }

    /// A cron run: claims every row after the last seal, reads them a page at a time, finishes.
    fn seal(&mut self, purged_through: i64) -> &Seal {
        let prev_last = self.seals.last().map_or(0, |s| s.last_id);
        let last_id = self
            .log
            .last()
            .and_then(Row::id)
            .unwrap_or(0)
            .max(prev_last);
        let claim = Seal {
            seq: self.next_seq,
            scheduled_ms: T0 + self.next_seq * 10 * MINUTE,
            cutoff_ms: T0 + self.next_seq * 10 * MINUTE - 15 * MINUTE,
            first_id: prev_last + 1,
            last_id,
            purged_through,
            proof: None,
        };
        // Numbers may skip: a repeated run uses one up.
        self.next_seq += 2;
        let mut sealing = self.sealer.begin(claim, self.seals.last()).unwrap();
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
            sealing.add(&rows).unwrap();
        }
        let (seal, statement) = sealing.finish().unwrap();
        assert!(statement.sql.starts_with("UPDATE audit_seals SET"));
        assert!(
            statement
                .sql
                .ends_with("WHERE id = ?1 AND signature IS NULL")
        );
        self.seals.push(seal);
        self.seals.last().unwrap()
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
    db.seal(0);
    db.seal(0); // nothing arrived: the seal is written anyway
    db.write(300);
    db.seal(0);
    db
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
    let mut db = sealed();
    db.write(10);
    db.seal(1200); // retention may delete the first seal's rows
    db.purge(1200);
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
    let mut db = sealed();
    db.seal(1200);
    db.purge(1200);
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
    db.seal(1200);
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
    db.seal(0);
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
    let claim = |first_id, last_id| Seal {
        seq: 20,
        scheduled_ms: T0,
        cutoff_ms: T0,
        first_id,
        last_id,
        purged_through: 0,
        proof: None,
    };
    let done = db.seals[2].clone();
    assert!(
        sealer.begin(done.clone(), Some(&db.seals[1])).is_err(),
        "finished"
    );
    assert!(
        sealer.begin(claim(1400, 1500), Some(&done)).is_err(),
        "overlaps the previous seal"
    );
    let mut unfinished = done.clone();
    unfinished.proof = None;
    assert!(
        sealer.begin(claim(1501, 1500), Some(&unfinished)).is_err(),
        "the previous seal must be finished first"
    );

    let mut sealing = sealer.begin(claim(1501, 1510), Some(&done)).unwrap();
    let err = sealing.add(&[log_row(1511)]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "audit_log row 1511 was read out of order or out of range"
    );
    let mut sealing = sealer.begin(claim(1501, 1510), Some(&done)).unwrap();
    assert!(sealing.add(&[log_row(1502), log_row(1501)]).is_err());
    let mut without_id = log_row(1501);
    without_id.set("id", Value::Null);
    let mut sealing = sealer.begin(claim(1501, 1510), Some(&done)).unwrap();
    assert!(sealing.add(&[without_id]).is_err());

    // Every page is read before the seal is signed.
    let mut sealing = sealer.begin(claim(1501, 5000), Some(&done)).unwrap();
    let page: Vec<Row> = (1501..2501).map(log_row).collect();
    sealing.add(&page).unwrap();
    assert!(sealing.next_page().is_some());
    assert!(sealing.finish().is_err());
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
