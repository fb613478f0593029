//! The audit archive's settings, its object names, and how a cron run shares its budget between
//! sealing and archiving (`s3_gatekeeper::archive`, `s3_gatekeeper::seal::Run`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use s3_gatekeeper::archive::{Storage, retention, rows_key, seal_key, seal_of_rows_key};
use s3_gatekeeper::audit::SqlValue;
use s3_gatekeeper::seal::{
    Budget, MAX_ROWS_PER_PURGE, MAX_ROWS_PER_SEAL, QUERIES_PER_ARCHIVE, QUERIES_PER_SEAL, Run,
};
use s3_gatekeeper::{Config, config::ConfigError};

/// The test settings (`support::try_config`) with `extra`; `None` leaves a setting as it is.
fn load(extra: &[(&str, Option<&str>)]) -> Result<Config, ConfigError> {
    let set: Vec<(&str, &str)> = extra
        .iter()
        .filter_map(|(name, value)| value.map(|v| (*name, v)))
        .collect();
    support::try_config(&set)
}

fn error(extra: &[(&str, Option<&str>)]) -> String {
    load(extra).unwrap_err().to_string()
}

#[test]
fn archiving_is_off_unless_a_bucket_is_set() {
    let config = load(&[("AUDIT_HOT_DAYS", Some("7"))]).unwrap();
    assert!(config.archive.is_none());
    // Off: AUDIT_RETENTION_DAYS applies as before; AUDIT_HOT_DAYS does not.
    assert_eq!(config.seal_policy.retention_days, 180);
    assert_eq!(config.size_budget_mb, 8000);
}

#[test]
fn archiving_keeps_the_hot_period_in_d1() {
    let config = load(&[
        ("AUDIT_ARCHIVE_BUCKET", Some("acme-audit")),
        ("AUDIT_RETENTION_DAYS", Some("400")),
    ])
    .unwrap();
    let archive = config.archive.unwrap();
    assert_eq!(archive.bucket.as_str(), "acme-audit");
    assert_eq!(archive.prefix, "audit/");
    assert_eq!(archive.credentials.access_key_id(), "AKID");
    assert_eq!(config.seal_policy.retention_days, 30);

    let config = load(&[
        ("AUDIT_ARCHIVE_BUCKET", Some("acme-audit")),
        ("AUDIT_ARCHIVE_PREFIX", Some("logs/gatekeeper/")),
        ("AUDIT_ARCHIVE_ACCESS_KEY_ID", Some("AKARCHIVE")),
        ("AUDIT_ARCHIVE_SECRET_ACCESS_KEY", Some("s")),
        ("AUDIT_HOT_DAYS", Some("2")),
        ("AUDIT_SIZE_BUDGET_MB", Some("0")),
    ])
    .unwrap();
    let archive = config.archive.unwrap();
    assert_eq!(archive.prefix, "logs/gatekeeper/");
    assert_eq!(archive.credentials.access_key_id(), "AKARCHIVE");
    assert_eq!(config.seal_policy.retention_days, 2);
    assert_eq!(config.size_budget_mb, 0);
}

#[test]
fn archive_settings_errors_name_the_setting() {
    let bucket = ("AUDIT_ARCHIVE_BUCKET", Some("acme-audit"));
    assert!(
        error(&[("AUDIT_ARCHIVE_BUCKET", Some("Not_A_Bucket"))])
            .starts_with("AUDIT_ARCHIVE_BUCKET: ")
    );
    assert!(
        error(&[bucket, ("AUDIT_ARCHIVE_PREFIX", Some("audit"))])
            .starts_with("AUDIT_ARCHIVE_PREFIX: must end with /")
    );
    assert!(
        error(&[bucket, ("AUDIT_ARCHIVE_PREFIX", Some("/audit/"))])
            .starts_with("AUDIT_ARCHIVE_PREFIX: ")
    );
    assert!(
        error(&[bucket, ("AUDIT_ARCHIVE_PREFIX", Some("a\n/"))])
            .starts_with("AUDIT_ARCHIVE_PREFIX: contains")
    );
    assert!(
        error(&[bucket, ("AUDIT_ARCHIVE_ACCESS_KEY_ID", Some("AK"))])
            .starts_with("AUDIT_ARCHIVE_SECRET_ACCESS_KEY: required")
    );
    assert!(
        error(&[bucket, ("AUDIT_ARCHIVE_SECRET_ACCESS_KEY", Some("s"))])
            .starts_with("AUDIT_ARCHIVE_ACCESS_KEY_ID: required")
    );
    assert!(
        error(&[bucket, ("AUDIT_HOT_DAYS", Some("0"))])
            .starts_with("AUDIT_HOT_DAYS: must be a whole number from 1")
    );
    assert!(error(&[("AUDIT_SIZE_BUDGET_MB", Some("-1"))]).starts_with("AUDIT_SIZE_BUDGET_MB: "));
    // A secret is never printed.
    let e = error(&[
        bucket,
        ("AUDIT_ARCHIVE_SECRET_ACCESS_KEY", Some("wJalrXUtnFEMI")),
    ]);
    assert!(!e.contains("wJalrXUtnFEMI"), "{e}");
}

#[test]
fn objects_are_named_by_the_seals_cutoff_in_utc() {
    // 2026-05-02T23:59:59.999Z and a millisecond later.
    let end = 1_777_766_399_999;
    assert_eq!(
        rows_key("audit/", 7, end),
        "audit/2026/05/02/seal-0000000007.ndjson.gz"
    );
    assert_eq!(
        rows_key("", 7, end + 1),
        "2026/05/03/seal-0000000007.ndjson.gz"
    );
    assert_eq!(seal_key("a/", 12), "a/seals/seal-0000000012.json");
    assert_eq!(
        seal_of_rows_key("audit/2026/05/03/seal-0000000007.ndjson.gz"),
        Some(7)
    );
    assert_eq!(seal_of_rows_key("seals/seal-0000000007.json"), None);
    assert_eq!(seal_of_rows_key("notes.ndjson.gz"), None);
}

#[test]
fn the_size_budget_is_in_megabytes_and_reached_at_its_size() {
    let storage = Storage::new(None, 1);
    assert!(!storage.over_budget(999_999));
    // At the budget: over it, for the cron as for `GET /health`.
    assert!(storage.over_budget(1_000_000));
    assert!(storage.over_budget(1_000_001));
    assert!(Storage::new(None, 0).over_budget(0));
}

#[test]
fn retention_with_an_archive_deletes_only_archived_rows() {
    // Within the budget: up to the lower of the seal's purged_through and the last archived row.
    let [delete, ..] = &retention::step(None, 5, false)[..] else {
        panic!("statements")
    };
    assert!(delete.sql.starts_with("DELETE FROM audit_log"));
    assert!(delete.sql.contains("id <= MIN(?2, COALESCE((SELECT MAX(last_id) FROM audit_archives WHERE kind = 'seal'), 0))"), "{}", delete.sql);
    assert_eq!(
        delete.params,
        vec![SqlValue::Integer(MAX_ROWS_PER_PURGE), SqlValue::Integer(0)]
    );
    // Over it: the oldest archived rows, whatever purged_through allows; still never unarchived.
    let [delete, ..] = &retention::step(None, 5, true)[..] else {
        panic!("statements")
    };
    assert!(delete.sql.contains("id <= COALESCE((SELECT MAX(last_id) FROM audit_archives WHERE kind = 'seal'), 0) ORDER BY id LIMIT ?1"), "{}", delete.sql);
    assert_eq!(delete.params, vec![SqlValue::Integer(MAX_ROWS_PER_PURGE)]);
}

const T: i64 = 1_780_000_000_000;

#[test]
fn a_run_archives_each_seal_it_makes_within_its_budget() {
    let mut run = Run::new(Budget::CRON, T, T).archiving();
    let mut seals = 0;
    while run.next_seal(T + 1000).is_some() {
        for _ in 0..QUERIES_PER_SEAL {
            run.count(0);
        }
        for _ in 0..20 {
            run.count(2500);
        }
        run.sealed(T, true, MAX_ROWS_PER_SEAL, T + 1);
        seals += 1;
        assert!(run.next_archive(T + 1000));
        for _ in 0..QUERIES_PER_ARCHIVE {
            run.count(0);
        }
        run.count(usize::try_from(MAX_ROWS_PER_SEAL).unwrap());
        run.archived(T, true, T + 1);
    }
    // Each seal and its archiving fit: fewer seals than without archiving, none left unarchived.
    assert!(seals >= 2, "{seals}");
    assert!(run.queries() <= Budget::CRON.queries, "{}", run.queries());
    let mut plain = Run::new(Budget::CRON, T, T);
    let mut plain_seals = 0;
    while plain.next_seal(T + 1000).is_some() {
        for _ in 0..QUERIES_PER_SEAL {
            plain.count(0);
        }
        plain.sealed(T, true, MAX_ROWS_PER_SEAL, T + 1);
        plain_seals += 1;
    }
    assert!(plain_seals > seals);
}

#[test]
fn a_failed_archive_ends_archiving_for_the_run() {
    let mut run = Run::new(Budget::CRON, T, T).archiving();
    assert!(run.next_archive(T), "the first is always tried");
    run.archived(T, false, T + 10);
    assert!(!run.next_archive(T + 10));
    // Without archiving, never.
    assert!(!Run::new(Budget::CRON, T, T).next_archive(T));
}

#[test]
fn the_archive_is_refused_where_grants_can_reach_it() {
    // Same bucket as S3_BUCKET, and the prefix inside the keys grants name (no S3_KEY_ROOT): a
    // vendor's grant could read, overwrite or delete the archive through the gatekeeper.
    let same = ("AUDIT_ARCHIVE_BUCKET", Some("examplebucket"));
    assert!(
        error(&[same]).starts_with("AUDIT_ARCHIVE_PREFIX: "),
        "{}",
        error(&[same])
    );
    let root = ("S3_KEY_ROOT", Some("tenant-7/"));
    for prefix in ["tenant-7/audit/", "tenant-7/", "tenant-"] {
        let e = load(&[same, root, ("AUDIT_ARCHIVE_PREFIX", Some(prefix))]);
        assert!(
            e.is_err_and(|e| e.setting() == "AUDIT_ARCHIVE_PREFIX"),
            "{prefix}"
        );
    }
    assert!(
        load(&[
            same,
            ("S3_KEY_ROOT", Some("tenant-7/audit/")),
            ("AUDIT_ARCHIVE_PREFIX", Some("tenant-7/"))
        ])
        .is_err()
    );
    // Outside the key root, or another bucket: fine.
    let config = load(&[same, root, ("AUDIT_ARCHIVE_PREFIX", Some("audit/"))]).unwrap();
    assert_eq!(config.archive.unwrap().prefix, "audit/");
    assert!(load(&[("AUDIT_ARCHIVE_BUCKET", Some("acme-audit"))]).is_ok());
}
