//! Several audit rows written by one statement: a request's new row and the outcomes of earlier
//! requests that ride with it; the Worker joins the batches of requests that arrive together into
//! one statement ([`Batch::written_among`]).
//!
//! A D1 database runs its writes one at a time, so what bounds how many requests one audit
//! database can take is the number of statements and transactions, not their size. A [`Batch`]
//! is one statement and so one transaction: it inserts new rows and completes pending ones, and
//! every row in it is written, or none is.
//!
//! D1 takes at most 100 bound parameters per statement, far fewer than a batch of rows has, so
//! the batch is bound as a single JSON array and `SQLite` reads each row from it with `json_each`.
//! Every value is still a bound parameter: nothing from a request is ever part of the SQL text.
//!
//! ```
//! use s3_gatekeeper::audit::{AuditRecord, Batch, Entry};
//!
//! let mut batch = Batch::default();
//! batch.push(Entry::Record(AuditRecord { decision: "allowed", ..AuditRecord::default() }));
//! batch.push(Entry::Outcome { id: 7, record: AuditRecord::default(), body_relayed: Some(true) });
//! let statement = batch.statement();
//! assert_eq!(statement.params.len(), 1);
//! // D1 returns the id of the inserted row, and of the completed one.
//! assert_eq!(batch.written(&[8, 7]).unwrap(), vec![Some(8), Some(7)]);
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::io::Write as _;
use std::sync::OnceLock;

#[cfg(test)]
use serde_json::Value;

use super::{AuditRecord, SqlValue, Statement};

/// The most rows one batch writes: about 40 KiB of JSON at the longest documented values, far
/// below D1's limits on a statement's size, and a transaction that stays short.
pub const MAX_ENTRIES: usize = 64;

/// The columns a new row is inserted with, in the order of [`AuditRecord::params`].
const RECORD_COLUMNS: [&str; 24] = [
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
    "signers",
    "method",
    "spent",
    "grant_in_url",
];

/// The columns an outcome sets on a pending row: what S3 answered and how the request ended.
/// Who asked, for what, and when, are written once, with the row.
const OUTCOME_COLUMNS: [&str; 8] = [
    "decision",
    "status",
    "s3_status",
    "bytes_out",
    "duration_ms",
    "s3_ms",
    "d1_ms",
    "body_relayed",
];

/// The columns of [`RECORD_COLUMNS`] an outcome's entry carries: those it sets, and those that
/// `NOT NULL` requires of any insert.
const OUTCOME_ROW_COLUMNS: [&str; 8] = [
    "time_ms",
    "request_id",
    "bucket",
    "decision",
    "status",
    "s3_status",
    "bytes_out",
    "duration_ms",
];

/// One row's part in a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// A new row. A row inserted with `status` [`super::PENDING_STATUS`] is completed later by
    /// an [`Entry::Outcome`].
    Record(AuditRecord),
    /// The outcome of the pending row `id`: the columns of `OUTCOME_COLUMNS` are set from
    /// `record`, and `body_relayed` is whether a streamed body was relayed to its end (`None`
    /// when no body was streamed).
    ///
    /// Only a row still pending and not yet sealed is changed, so an outcome is written at most
    /// once and a sealed row never changes. An outcome whose row does not exist writes nothing
    /// (the trigger of migration 0010 sees to that).
    Outcome {
        /// The pending row.
        id: i64,
        /// The request's record, complete.
        record: AuditRecord,
        /// How a streamed body's relay ended.
        body_relayed: Option<bool>,
    },
}

/// The rows of several requests, written by one statement.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    entries: Vec<Entry>,
}

/// D1's answer to a batch did not account for the rows it inserted.
///
/// Never seen in practice; if it happens, no request of the batch may take its row as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnaccountedRows {
    /// Rows inserted.
    pub expected: usize,
    /// New ids returned.
    pub returned: usize,
}

impl fmt::Display for UnaccountedRows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a batch inserted {} rows but D1 returned {} new ids",
            self.expected, self.returned
        )
    }
}

impl std::error::Error for UnaccountedRows {}

impl Batch {
    /// Adds an entry.
    pub fn push(&mut self, entry: Entry) {
        self.entries.push(entry);
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The entries, in order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }

    /// The entries, in order, by value.
    pub fn into_entries(self) -> Vec<Entry> {
        self.entries
    }

    /// Whether the batch holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The one statement that writes the whole batch, in one transaction, returning the id of
    /// every row it inserted or completed.
    ///
    /// New rows are inserted in the order of the batch. `audit_log.id` is an `AUTOINCREMENT`
    /// key, so each new row's id is larger than every id before it, and the new ids, sorted,
    /// follow the batch's order: that is how [`Batch::written`] gives each entry its id,
    /// whatever order `SQLite` returns them in.
    pub fn statement(&self) -> Statement {
        let mut json = Vec::with_capacity(640 * self.entries.len());
        json.push(b'[');
        for (i, entry) in self.entries.iter().enumerate() {
            if i > 0 {
                json.push(b',');
            }
            write_row(&mut json, entry);
        }
        json.push(b']');
        Statement {
            sql: SQL.get_or_init(sql).clone(),
            // Only UTF-8 was written: JSON punctuation, numbers, `null`, and Rust strings
            // escaped by serde_json; the lossy conversion never replaces anything.
            params: vec![SqlValue::Text(String::from_utf8(json).unwrap_or_else(
                |e| String::from_utf8_lossy(e.as_bytes()).into_owned(),
            ))],
        }
    }

    /// What each entry got, given the ids the statement returned: for a new row its id; for an
    /// outcome `Some(id)` if it completed its row, `None` if the row was no longer pending or
    /// already sealed.
    ///
    /// # Errors
    ///
    /// [`UnaccountedRows`] if the number of new ids is not the number of rows inserted.
    pub fn written(&self, returned: &[i64]) -> Result<Vec<Option<i64>>, UnaccountedRows> {
        let completed: BTreeSet<i64> = self
            .entries
            .iter()
            .filter_map(|e| match e {
                Entry::Outcome { id, .. } => Some(*id),
                Entry::Record(_) => None,
            })
            .collect();
        let new = returned.iter().filter(|id| !completed.contains(id)).count();
        let expected = self.records();
        if new != expected {
            return Err(UnaccountedRows {
                expected,
                returned: new,
            });
        }
        self.written_among(returned, 0, expected)
    }

    /// As [`Batch::written`], for a batch whose rows went to D1 as part of a larger statement
    /// (the rows of several requests, one after another): `returned` is every id that statement
    /// returned, `before` how many new rows came before this batch's in it, and `records` how
    /// many new rows it inserted in all.
    ///
    /// A completed row existed before the statement, and `audit_log.id` is `AUTOINCREMENT`, so
    /// the statement's new rows have its largest ids, in the order of its rows: this batch's are
    /// the `before`-th and those after it.
    ///
    /// ```
    /// use s3_gatekeeper::audit::{AuditRecord, Batch, Entry};
    ///
    /// let mut batch = Batch::default();
    /// batch.push(Entry::Record(AuditRecord::default()));
    /// batch.push(Entry::Outcome { id: 3, record: AuditRecord::default(), body_relayed: None });
    /// // Another request's new row (10) came first; this batch's row is 11; row 3 was completed,
    /// // and the other request's outcome for row 4 too.
    /// assert_eq!(batch.written_among(&[4, 10, 3, 11], 1, 2).unwrap(), vec![Some(11), Some(3)]);
    /// ```
    ///
    /// # Errors
    ///
    /// [`UnaccountedRows`] if the statement returned fewer new ids than this batch's rows need.
    pub fn written_among(
        &self,
        returned: &[i64],
        before: usize,
        records: usize,
    ) -> Result<Vec<Option<i64>>, UnaccountedRows> {
        let mine = self.records();
        let mut sorted = returned.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let unaccounted = UnaccountedRows {
            expected: records,
            returned: sorted.len().min(records),
        };
        if sorted.len() < records || before + mine > records {
            return Err(unaccounted);
        }
        let new = &sorted[sorted.len() - records..];
        let completed = &sorted[..sorted.len() - records];
        // An outcome names a row that existed before: one of the statement's new ids would mean
        // the ids cannot be told apart.
        let outcome_ids = self.entries.iter().filter_map(|e| match e {
            Entry::Outcome { id, .. } => Some(*id),
            Entry::Record(_) => None,
        });
        if outcome_ids.clone().any(|id| new.binary_search(&id).is_ok()) {
            return Err(unaccounted);
        }
        let mut own = new[before..before + mine].iter().copied();
        Ok(self
            .entries
            .iter()
            .map(|e| match e {
                Entry::Record(_) => own.next(),
                Entry::Outcome { id, .. } => completed.binary_search(id).is_ok().then_some(*id),
            })
            .collect())
    }

    /// The number of new rows ([`Entry::Record`]s).
    pub fn records(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| matches!(e, Entry::Record(_)))
            .count()
    }
}

/// [`sql`], assembled once.
static SQL: OnceLock<String> = OnceLock::new();

/// The batch statement: an insert of every row of the JSON array `?1`, in array order, where a
/// row that names an existing `id` sets only its outcome, and only while that row is pending
/// and unsealed. (`WHERE true` keeps `SQLite` from reading `ON CONFLICT` as a join's `ON`.)
fn sql() -> String {
    let columns = ["id"]
        .iter()
        .chain(RECORD_COLUMNS.iter())
        .chain(OUTCOME_COLUMNS[5..].iter());
    let names: Vec<&str> = columns.clone().copied().collect();
    let values: Vec<String> = columns.map(|c| format!("value ->> '{c}'")).collect();
    let sets: Vec<String> = OUTCOME_COLUMNS
        .iter()
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO audit_log ({}) SELECT {} FROM json_each(?1) WHERE true ORDER BY key \
         ON CONFLICT (id) DO UPDATE SET {} WHERE audit_log.status = 0 AND audit_log.{} \
         RETURNING id",
        names.join(", "),
        values.join(", "),
        sets.join(", "),
        crate::seal::UNSEALED,
    )
}

/// An entry as one JSON object of the batch array, written straight into `out`: a read writes
/// one statement of about two entries, and building a map of every column first cost more than
/// writing the text.
///
/// A new row carries every column. An outcome carries only what it sets, and the columns that
/// `NOT NULL` requires of any insert (`SQLite` checks them before it finds the conflict that
/// turns the insert into the update): the rest, often the longest text (key, user agent, grant
/// ids), would be sent to D1 only to be ignored.
fn write_row(out: &mut Vec<u8>, entry: &Entry) {
    match entry {
        Entry::Record(record) => {
            out.extend_from_slice(b"{\"id\":null");
            for (column, value) in RECORD_COLUMNS.iter().zip(record.params()) {
                write_key(out, column);
                write_value(out, value);
            }
            write_timings(out, record, None);
        }
        Entry::Outcome {
            id,
            record,
            body_relayed,
        } => {
            out.extend_from_slice(b"{\"id\":");
            write_integer(out, Some(*id));
            let params = record.params();
            for (column, value) in RECORD_COLUMNS.iter().zip(params) {
                if OUTCOME_ROW_COLUMNS.contains(column) {
                    write_key(out, column);
                    write_value(out, value);
                }
            }
            write_timings(out, record, *body_relayed);
        }
    }
    out.push(b'}');
}

fn write_value(out: &mut Vec<u8>, value: SqlValue) {
    match value {
        SqlValue::Null => out.extend_from_slice(b"null"),
        SqlValue::Integer(n) => write_integer(out, Some(n)),
        // Writing into a Vec cannot fail, and a str always serialises.
        SqlValue::Text(s) => drop(serde_json::to_writer(&mut *out, &s)),
    }
}

/// The columns a row has beyond [`RECORD_COLUMNS`]: the read's timings and how its relay ended.
fn write_timings(out: &mut Vec<u8>, record: &AuditRecord, body_relayed: Option<bool>) {
    write_key(out, "s3_ms");
    write_integer(out, record.s3_ms);
    write_key(out, "d1_ms");
    write_integer(out, record.d1_ms);
    write_key(out, "body_relayed");
    write_integer(out, body_relayed.map(i64::from));
}

/// `,"column":` (column names are plain ASCII words).
fn write_key(out: &mut Vec<u8>, column: &str) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(column.as_bytes());
    out.extend_from_slice(b"\":");
}

fn write_integer(out: &mut Vec<u8>, value: Option<impl fmt::Display>) {
    match value {
        // Writing into a Vec cannot fail.
        Some(n) => drop(write!(out, "{n}")),
        None => out.extend_from_slice(b"null"),
    }
}

#[cfg(test)]
/// An entry as the JSON value the statement binds, for the tests.
fn row(entry: &Entry) -> Value {
    let mut json = Vec::new();
    write_row(&mut json, entry);
    serde_json::from_slice(&json).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(decision: &'static str, status: u16) -> AuditRecord {
        AuditRecord {
            time_ms: 1_700_000_000_000,
            request_id: "r".into(),
            bucket: "b".into(),
            decision,
            status,
            ..AuditRecord::default()
        }
    }

    #[test]
    fn one_statement_one_parameter_whatever_the_size() {
        let mut batch = Batch::default();
        for _ in 0..MAX_ENTRIES {
            batch.push(Entry::Record(record("allowed", 0)));
        }
        let statement = batch.statement();
        assert_eq!(statement.params.len(), 1);
        assert_eq!(statement.sql.matches('?').count(), 1);
        let SqlValue::Text(json) = &statement.params[0] else {
            panic!("the batch is bound as text")
        };
        let rows: Vec<Value> = serde_json::from_str(json).unwrap();
        assert_eq!(rows.len(), MAX_ENTRIES);
    }

    #[test]
    fn hostile_text_stays_a_bound_value() {
        let mut hostile = record("allowed", 200);
        hostile.user_agent = Some("x'); DROP TABLE audit_log; --".into());
        let mut batch = Batch::default();
        batch.push(Entry::Record(hostile));
        let statement = batch.statement();
        assert!(!statement.sql.contains("DROP"));
        let SqlValue::Text(json) = &statement.params[0] else {
            panic!("text")
        };
        let rows: Vec<Value> = serde_json::from_str(json).unwrap();
        assert_eq!(rows[0]["user_agent"], "x'); DROP TABLE audit_log; --");
    }

    #[test]
    fn text_is_escaped_as_json_whatever_it_holds() {
        let mut odd = record("allowed", 0);
        odd.user_agent =
            Some("quote \" backslash \\ nul \u{0} newline \n tab \t é \u{2028}".into());
        odd.origin = Some("https://vendor.example".into());
        let mut batch = Batch::default();
        batch.push(Entry::Record(odd.clone()));
        let SqlValue::Text(json) = &batch.statement().params[0] else {
            panic!("text")
        };
        let rows: Vec<Value> = serde_json::from_str(json).unwrap();
        assert_eq!(rows[0]["user_agent"], odd.user_agent.unwrap().as_str());
        assert_eq!(rows[0]["origin"], "https://vendor.example");
        assert_eq!(rows[0]["time_ms"], 1_700_000_000_000_i64);
    }

    #[test]
    fn a_row_carries_every_column_and_cuts_text_as_a_single_insert_does() {
        let mut long = record("allowed", 0);
        long.user_agent = Some("é".repeat(200));
        let row = row(&Entry::Record(long.clone()));
        let object = row.as_object().unwrap();
        assert_eq!(object.len(), 1 + RECORD_COLUMNS.len() + 3);
        assert_eq!(object["id"], Value::Null);
        assert_eq!(
            object["user_agent"].as_str().unwrap().len(),
            crate::audit::MAX_TEXT
        );
        assert_eq!(object["status"], 0);
        assert_eq!(object["body_relayed"], Value::Null);
    }

    #[test]
    fn an_outcome_carries_only_what_it_sets_and_what_not_null_requires() {
        let mut done = record("allowed", 200);
        done.user_agent = Some("a browser".into());
        done.object_key = Some("reports/q3.pdf".into());
        let row = row(&Entry::Outcome {
            id: 7,
            record: done,
            body_relayed: Some(true),
        });
        let mut keys: Vec<&str> = row
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        let mut expected: Vec<&str> = ["id", "s3_ms", "d1_ms", "body_relayed"]
            .into_iter()
            .chain(OUTCOME_ROW_COLUMNS)
            .collect();
        expected.sort_unstable();
        assert_eq!(keys, expected);
        // Everything the update sets is carried.
        for column in OUTCOME_COLUMNS {
            assert!(keys.contains(&column), "{column}");
        }
    }

    #[test]
    fn an_outcome_carries_every_column_the_schema_makes_not_null() {
        let mut not_null = Vec::new();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let migration = std::fs::read_to_string(file).unwrap();
            let migration = migration.as_str();
            let table = migration
                .find("CREATE TABLE audit_log")
                .map(|start| &migration[start..start + migration[start..].find(");").unwrap()]);
            let columns = table.into_iter().flat_map(|t| t.lines().skip(1)).chain(
                migration
                    .lines()
                    .filter_map(|l| l.strip_prefix("ALTER TABLE audit_log ADD COLUMN ")),
            );
            for line in columns {
                let line = line.split("--").next().unwrap();
                if line.contains("NOT NULL") && !line.contains("PRIMARY KEY") {
                    not_null.push(line.split_whitespace().next().unwrap().to_owned());
                }
            }
        }
        assert_eq!(
            not_null,
            ["time_ms", "request_id", "bucket", "decision", "status"]
        );
        for column in &not_null {
            assert!(OUTCOME_ROW_COLUMNS.contains(&column.as_str()), "{column}");
        }
    }

    #[test]
    fn an_outcome_names_its_row_and_how_the_relay_ended() {
        let mut done = record("allowed", 200);
        done.s3_status = Some(200);
        done.s3_ms = Some(300);
        done.d1_ms = Some(12);
        let row = row(&Entry::Outcome {
            id: 42,
            record: done,
            body_relayed: Some(false),
        });
        assert_eq!(row["id"], 42);
        assert_eq!(row["s3_status"], 200);
        assert_eq!(row["s3_ms"], 300);
        assert_eq!(row["d1_ms"], 12);
        assert_eq!(row["body_relayed"], 0);
    }

    #[test]
    fn the_statement_changes_only_pending_unsealed_rows_and_only_their_outcome() {
        let sql = sql();
        assert!(sql.contains("ON CONFLICT (id) DO UPDATE SET decision = excluded.decision"));
        assert!(sql.contains(&format!(
            "WHERE audit_log.status = 0 AND audit_log.{}",
            crate::seal::UNSEALED
        )));
        let set = &sql[sql.find("DO UPDATE SET").unwrap()..sql.find(" WHERE audit_log").unwrap()];
        for column in [
            "time_ms",
            "request_id",
            "ip",
            "sub",
            "jti",
            "signers",
            "key_id",
        ] {
            assert!(
                !set.contains(&format!("{column} =")),
                "{column} is never changed"
            );
        }
        assert!(sql.ends_with("RETURNING id"));
    }

    /// The outcome of the allowed read whose pending row is `id`.
    fn outcome(id: i64, body_relayed: Option<bool>) -> Entry {
        Entry::Outcome {
            id,
            record: record("allowed", 200),
            body_relayed,
        }
    }

    #[test]
    fn a_batch_among_others_takes_its_own_new_ids_and_knows_its_outcomes() {
        let mut batch = Batch::default();
        batch.push(Entry::Record(record("allowed", 0)));
        batch.push(outcome(4, Some(true)));
        batch.push(outcome(5, None));
        // The statement carried three requests' rows: new ids 20, 21, 22 in their order (this
        // batch's is the second), and completed rows 4 (this batch's) and 2 (another's).
        let returned = [22, 2, 20, 4, 21];
        assert_eq!(
            batch.written_among(&returned, 1, 3).unwrap(),
            vec![Some(21), Some(4), None]
        );
        // Fewer new ids than the statement inserted.
        assert!(batch.written_among(&[20, 4], 1, 3).is_err());
        // A batch cannot start past the statement's new rows.
        assert!(batch.written_among(&returned, 3, 3).is_err());
        // An outcome's row among the new ids: the ids cannot be told apart.
        assert!(batch.written_among(&[4, 5, 6], 0, 3).is_err());
        // Alone, it is `written`.
        assert_eq!(
            batch.written(&[30, 4]).unwrap(),
            batch.written_among(&[30, 4], 0, 1).unwrap()
        );
    }

    #[test]
    fn new_ids_follow_the_batch_order_whatever_order_they_come_back_in() {
        let mut batch = Batch::default();
        batch.push(Entry::Record(record("allowed", 0)));
        batch.push(outcome(5, None));
        batch.push(Entry::Record(record("bad_grant", 401)));
        batch.push(outcome(6, None));
        // Row 6 was no longer pending: it is not returned.
        assert_eq!(
            batch.written(&[11, 5, 10]).unwrap(),
            vec![Some(10), Some(5), Some(11), None]
        );
        assert_eq!(
            batch.written(&[10]),
            Err(UnaccountedRows {
                expected: 2,
                returned: 1
            })
        );
        assert_eq!(
            batch.written(&[10, 11, 12]),
            Err(UnaccountedRows {
                expected: 2,
                returned: 3
            })
        );
    }
}
