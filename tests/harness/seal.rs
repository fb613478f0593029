//! Audit exports, as `gatekeeper audit verify` reads them: raw, and as an intruder with database
//! access would change them.

use std::sync::OnceLock;

use s3_gatekeeper::seal::{Evidence, Export, Hash, Policy, Row, Seal, Sealer, Value, verify};

use super::fixtures::{seal_key, seal_public};

const T0: i64 = 1_780_000_000_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

/// Rows sealed by the pristine log's seals; rows after them are not sealed yet.
pub const SEALED_THROUGH: i64 = 40;
/// Rows in the pristine log, before any purge.
pub const ROWS: i64 = 43;
/// How far retention went in the purged pristine log.
pub const PURGED_THROUGH: i64 = 25;

/// Columns of `audit_log`, as D1 returns them.
const LOG_COLUMNS: [&str; 21] = [
    "id",
    "time_ms",
    "request_id",
    "operation",
    "bucket",
    "object_key",
    "decision",
    "status",
    "s3_status",
    "bytes_in",
    "bytes_out",
    "duration_ms",
    "ip",
    "country",
    "asn",
    "colo",
    "user_agent",
    "origin",
    "key_id",
    "sub",
    "jti",
];

/// Columns of `audit_seals`.
const SEAL_COLUMNS: [&str; 14] = [
    "id",
    "scheduled_ms",
    "cutoff_ms",
    "first_id",
    "last_id",
    "purged_through",
    "row_count",
    "prev",
    "head",
    "manifest_digest",
    "key_id",
    "signature",
    "hash",
    "manifest",
];

fn log_row(id: i64) -> Row {
    [
        ("id", Value::from(id)),
        ("time_ms", Value::from(T0 + id * 1000)),
        ("request_id", Value::from(format!("ray-{id}").as_str())),
        (
            "operation",
            Value::from(if id % 3 == 0 { "put" } else { "get" }),
        ),
        ("bucket", Value::from("examplebucket")),
        (
            "object_key",
            Value::from(format!("reports/{id}.csv").as_str()),
        ),
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

/// A sealed log as a cron run leaves it: rows 1 to 43; seal 1 over 1 to 25, seal 3 over no rows
/// (seal numbers may skip), seal 4 over 26 to 40; 41 to 43 not sealed yet. With `purged`,
/// retention has deleted rows 1 to 25 and emptied seal 1's manifest.
pub struct Pristine {
    pub log: Vec<Row>,
    pub seals: Vec<Row>,
    parsed: Vec<Seal>,
    latest: Hash,
}

fn build(purged: bool) -> Pristine {
    let sealer = Sealer::new(seal_key(), Policy::default());
    let log: Vec<Row> = (1..=ROWS).map(log_row).collect();
    let mut seals: Vec<Seal> = Vec::new();
    for (seq, last_id, purged_through) in [
        (1, 25, 0),
        (3, 25, 0),
        (4, SEALED_THROUGH, if purged { PURGED_THROUGH } else { 0 }),
    ] {
        let first_id = seals.last().map_or(0, |s| s.last_id) + 1;
        let claim = Seal {
            seq,
            // An hour after the rows arrived, so every row is older than the grace period.
            scheduled_ms: T0 + HOUR + seq * 10 * MINUTE,
            cutoff_ms: T0 + HOUR + seq * 10 * MINUTE - 15 * MINUTE,
            first_id,
            last_id,
            purged_through,
            proof: None,
        };
        // What the cron run would read: retention may reach exactly what the claim says, the
        // log ends at its last row, and the run is the claim's own.
        let evidence = Evidence {
            purgeable_through: purged_through,
            log_end: ROWS,
            now_ms: claim.scheduled_ms,
        };
        let mut sealing = sealer.begin(claim, seals.last(), evidence).unwrap();
        if sealing.next_page().is_some() {
            let rows: Vec<Row> = log
                .iter()
                .filter(|r| (first_id..=last_id).contains(&r.id().unwrap()))
                .cloned()
                .collect();
            sealing.add(&rows).unwrap();
        }
        seals.push(sealing.finish().unwrap().0);
    }
    let mut log = log;
    if purged {
        log.retain(|r| r.id().unwrap() > PURGED_THROUGH);
        seals[0].proof.as_mut().unwrap().manifest = None;
        seals[1].proof.as_mut().unwrap().manifest = None;
    }
    Pristine {
        log,
        seals: seals.iter().map(Seal::to_row).collect(),
        latest: seals.last().unwrap().proof.as_ref().unwrap().hash,
        parsed: normalised(seals),
    }
}

/// The pristine log, untouched or after retention.
pub fn pristine(purged: bool) -> &'static Pristine {
    static FULL: OnceLock<Pristine> = OnceLock::new();
    static PURGED: OnceLock<Pristine> = OnceLock::new();
    if purged {
        PURGED.get_or_init(|| build(true))
    } else {
        FULL.get_or_init(|| build(false))
    }
}

/// The log and seals as `wrangler d1 execute --json` prints two `SELECT *` statements.
pub fn export_json(log: &[Row], seals: &[Row]) -> String {
    serde_json::json!([
        {"results": log, "success": true, "meta": {}},
        {"results": seals, "success": true, "meta": {}},
    ])
    .to_string()
}

/// An export's raw bytes, as the CLI reads a file. Properties: no panic, and a report no larger
/// than the export (each finding and note stands for some of its bytes).
pub fn check_export(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut export = Export::default();
    if export.read(text).is_err() {
        return;
    }
    let report = verify(
        &export.seals,
        &export.log,
        std::slice::from_ref(seal_public()),
    );
    assert!(report.findings().len() <= data.len());
    assert!(report.notes().len() <= data.len());
    assert!(report.verified <= export.log.len() as u64);
    assert_eq!(report.seals, export.seals.len());
    for finding in report.findings() {
        let _ = finding.to_string();
    }
    for note in report.notes() {
        let _ = note.to_string();
    }
}

fn value(c: u8) -> Value {
    match c % 6 {
        0 => Value::Null,
        1 => Value::from(i64::from(c) - 100),
        2 => Value::Text(format!("v{c}")),
        3 => Value::Blob(vec![c, 0]),
        4 => Value::number(-0.0),
        _ => Value::Text(String::new()),
    }
}

/// Applies the edits `program` describes (4 bytes each: what, which, which column, what value)
/// to the pristine log (`program[0]` odd: after retention), exports the result as JSON and
/// verifies it. The property, both ways: the report is intact and still holds the latest seal
/// exactly when every sealed row keeps its digest and every seal reads as it was written. So
/// no edit that changes a sealed row or a seal goes unnoticed (short of removing the newest
/// seals, which `holds` catches), and no harmless one (reordering, a NULL column) is reported.
pub fn check_tamper(program: &[u8]) {
    let purged = program.first().is_some_and(|b| b % 2 == 1);
    let pristine = pristine(purged);
    let mut log = pristine.log.clone();
    let mut seals = pristine.seals.clone();
    for op in program.get(1..).unwrap_or_default().chunks_exact(4) {
        let [what, which, column, pick] = [op[0], op[1], op[2], op[3]];
        let (which, column) = (usize::from(which), usize::from(column));
        let (rows, sealed) = (log.len(), seals.len());
        match what % 10 {
            0 if rows > 0 => {
                log[which % rows].set(LOG_COLUMNS[column % LOG_COLUMNS.len()], value(pick));
            }
            1 if rows > 0 => {
                log.remove(which % rows);
            }
            2 if rows > 0 => log.push(log[which % rows].clone()),
            3 if rows > 0 => log[which % rows].set("id", i64::from(pick) - 8),
            4 if sealed > 0 => {
                seals[which % sealed].set(SEAL_COLUMNS[column % SEAL_COLUMNS.len()], value(pick));
            }
            5 if sealed > 0 => {
                seals.remove(which % sealed);
            }
            6 if rows > 0 => log.swap(which % rows, column % rows),
            7 if sealed > 0 => seals.push(seals[which % sealed].clone()),
            8 if rows > 0 => {
                let name = LOG_COLUMNS[column % LOG_COLUMNS.len()];
                let copied = log[usize::from(pick) % rows].get(name).clone();
                log[which % rows].set(name, copied);
            }
            9 if rows > 0 => log[which % rows].set(&format!("extra{}", column % 4), value(pick)),
            _ => {}
        }
    }

    let mut export = Export::default();
    export
        .read(&export_json(&log, &seals))
        .expect("an export of D1 rows reads back");
    let report = verify(
        &export.seals,
        &export.log,
        std::slice::from_ref(seal_public()),
    );
    let vouched = report.is_intact() && report.holds(&pristine.latest);
    let unchanged = sealed_digests(&export.log) == sealed_digests(&pristine.log)
        && parsed(&export.seals).as_ref() == Some(&pristine.parsed);
    assert_eq!(
        vouched,
        unchanged,
        "intact: {}, findings: {:?}",
        report.is_intact(),
        report.findings()
    );
}

/// The (id, digest) of every row a seal covers, or that has no id, sorted.
fn sealed_digests(log: &[Row]) -> Vec<(Option<i64>, Hash)> {
    let mut digests: Vec<(Option<i64>, Hash)> = log
        .iter()
        .filter(|row| row.id().is_none_or(|id| id <= SEALED_THROUGH))
        .map(|row| (row.id(), row.digest()))
        .collect();
    digests.sort_by_key(|(id, digest)| (*id, *digest.as_bytes()));
    digests
}

fn parsed(seals: &[Row]) -> Option<Vec<Seal>> {
    let mut parsed = seals
        .iter()
        .map(Seal::from_row)
        .collect::<Result<Vec<_>, _>>()
        .ok()?;
    parsed.sort_by_key(|s| s.seq);
    Some(normalised(parsed))
}

/// Seals as the property compares them. A seal of no rows has an empty manifest, which matches
/// its digest; stored as '' or as NULL (once retention has passed it), it says the same thing, so
/// that edit is harmless. (An empty manifest for a seal of rows does not match its digest.)
fn normalised(mut seals: Vec<Seal>) -> Vec<Seal> {
    for proof in seals.iter_mut().filter_map(|s| s.proof.as_mut()) {
        if proof.row_count == 0
            && proof
                .manifest
                .as_ref()
                .is_some_and(s3_gatekeeper::seal::Manifest::is_empty)
        {
            proof.manifest = None;
        }
    }
    seals
}
