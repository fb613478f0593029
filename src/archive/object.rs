//! The objects one seal is archived as, and the statements that find the next seal to archive and
//! record it once archived.
//!
//! - `<prefix>YYYY/MM/DD/seal-<seq>.ndjson.gz`: the rows of the seal still in D1, one JSON object
//!   per line (every column, as `wrangler d1 execute --json` prints them), gzip-compressed. The
//!   date is the seal's cutoff (UTC): every row in it arrived by then. A seal with no rows left
//!   has no rows object.
//! - `<prefix>seals/seal-<seq>.json`: `{"seal": …, "rows": …}`: the seal's row of `audit_seals`,
//!   manifest included, and what its rows object holds (`key`, `sha256`, `count`, `first_id`,
//!   `last_id`; `null` without one), so that a rows object deleted or replaced is named. It is
//!   outside the date folders so that queries over them read rows only.
//!
//! `<seq>` is the seal's number, zero-padded to 10 digits so that names sort in seal order.

use std::fmt;
use std::fmt::Write as _;
use std::io::Write as _;

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::audit::{SqlValue, Statement};
use crate::seal::{Hash, Row, Seal};

/// Which of a seal's two objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    /// The seal's rows, gzip NDJSON.
    Rows,
    /// The seal itself, JSON.
    Seal,
}

impl ObjectKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Rows => "rows",
            Self::Seal => "seal",
        }
    }
}

/// One object to write to the archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    /// Its key in the archive bucket, prefix included.
    pub key: String,
    /// Which of the seal's objects it is.
    pub kind: ObjectKind,
    /// Its bytes.
    pub body: Vec<u8>,
    /// The SHA-256 of `body`: checked when the object is read back.
    pub sha256: Hash,
    /// Audit log rows it holds (0 for the seal object).
    pub rows: i64,
}

impl Object {
    fn new(key: String, kind: ObjectKind, body: Vec<u8>, rows: i64) -> Self {
        Self {
            sha256: Hash::of(&body),
            key,
            kind,
            body,
            rows,
        }
    }

    /// Whether `body`, as read back from the archive, is exactly what was written.
    pub fn matches(&self, body: &[u8]) -> bool {
        body.len() == self.body.len() && Hash::of(body) == self.sha256
    }
}

/// Why a seal could not be archived. The rows stay in D1 and the next run tries again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveError {
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Malformed(&'static str),
    RowOutOfRange(i64),
    Encoding,
    Unsigned,
    Write { key: String, status: u16 },
    Unreachable { key: String },
    ReadBack { key: String },
}

impl ArchiveError {
    const fn new(kind: Kind) -> Self {
        Self { kind }
    }

    /// S3 refused to store `key` with this status.
    pub fn refused(key: &str, status: u16) -> Self {
        Self::new(Kind::Write {
            key: key.to_owned(),
            status,
        })
    }

    /// S3 could not be reached for `key`.
    pub fn unreachable(key: &str) -> Self {
        Self::new(Kind::Unreachable {
            key: key.to_owned(),
        })
    }

    /// `key` read back is not what was written.
    pub fn read_back(key: &str) -> Self {
        Self::new(Kind::ReadBack {
            key: key.to_owned(),
        })
    }

    pub(crate) const fn unsigned() -> Self {
        Self::new(Kind::Unsigned)
    }
}

impl fmt::Display for ArchiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Malformed(column) => {
                write!(f, "the seal to archive has no valid {column}")
            }
            Kind::RowOutOfRange(id) => {
                write!(
                    f,
                    "audit_log row {id} was read out of order or out of range"
                )
            }
            Kind::Encoding => f.write_str("the rows could not be compressed"),
            Kind::Unsigned => f.write_str("the archive request could not be signed"),
            Kind::Write { key, status } => {
                write!(f, "S3 answered {status} to storing {key}")
            }
            Kind::Unreachable { key } => write!(f, "S3 could not be reached for {key}"),
            Kind::ReadBack { key } => write!(
                f,
                "{key} read back from S3 is not what was written (its SHA-256 differs)"
            ),
        }
    }
}

impl std::error::Error for ArchiveError {}

/// The key of the rows object of seal `seq` whose cutoff is `cutoff_ms`.
///
/// ```
/// use s3_gatekeeper::archive::rows_key;
/// // 2026-05-02T09:40:00Z
/// assert_eq!(rows_key("audit/", 41, 1_777_714_800_000), "audit/2026/05/02/seal-0000000041.ndjson.gz");
/// ```
pub fn rows_key(prefix: &str, seq: i64, cutoff_ms: i64) -> String {
    let day = time::OffsetDateTime::from_unix_timestamp(cutoff_ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{prefix}{:04}/{:02}/{:02}/seal-{seq:010}.ndjson.gz",
        day.year(),
        u8::from(day.month()),
        day.day()
    )
}

/// The key of seal `seq`'s own object.
pub fn seal_key(prefix: &str, seq: i64) -> String {
    format!("{prefix}seals/seal-{seq:010}.json")
}

/// The seal number a rows object's file name carries (`seal-0000000041.ndjson.gz`), if it is one.
pub fn seal_of_rows_key(key: &str) -> Option<i64> {
    let name = key.rsplit('/').next()?;
    let digits = name.strip_prefix("seal-")?.strip_suffix(".ndjson.gz")?;
    digits.parse().ok()
}

/// One seal being archived: its rows are read page by page, then its objects are built.
#[derive(Debug)]
pub struct Archiving {
    prefix: String,
    seal: Seal,
    seal_row: Row,
    encoder: GzEncoder<Vec<u8>>,
    rows: i64,
    first_read: Option<i64>,
    read_through: i64,
    done: bool,
}

impl Archiving {
    /// The statement that selects the next seal to archive: the oldest finished seal after the
    /// last one archived, every column (its manifest too).
    pub fn next() -> Statement {
        Statement {
            sql: "SELECT * FROM audit_seals WHERE signature IS NOT NULL AND id > \
                  COALESCE((SELECT MAX(seal_id) FROM audit_archives WHERE kind = 'seal'), 0) \
                  ORDER BY id LIMIT 1"
                .to_owned(),
            params: Vec::new(),
        }
    }

    /// Starts archiving the seal `row` (as [`Archiving::next`] selected it) under `prefix`.
    pub fn begin(prefix: &str, row: Row) -> Result<Self, ArchiveError> {
        let seal =
            Seal::from_row(&row).map_err(|e| ArchiveError::new(Kind::Malformed(e.column())))?;
        if seal.proof.is_none() {
            return Err(ArchiveError::new(Kind::Malformed("signature")));
        }
        Ok(Self {
            prefix: prefix.to_owned(),
            read_through: seal.first_id - 1,
            done: seal.last_id < seal.first_id,
            seal,
            seal_row: row,
            // Level 1: a seal's rows compress about as well (they repeat column names and
            // values) for a fraction of the CPU time of the default level.
            encoder: GzEncoder::new(Vec::new(), Compression::fast()),
            rows: 0,
            first_read: None,
        })
    }

    /// The seal being archived.
    pub fn seal(&self) -> &Seal {
        &self.seal
    }

    /// The query for the next page of the seal's rows still in D1, or `None` once all are read.
    pub fn next_page(&self) -> Option<Statement> {
        (!self.done).then(|| crate::seal::rows_page(self.read_through, self.seal.last_id))
    }

    /// Adds a page of rows, as [`Archiving::next_page`] returned them: one JSON line each.
    pub fn add(&mut self, rows: &[Row]) -> Result<(), ArchiveError> {
        for row in rows {
            let id = row.id().ok_or(ArchiveError::new(Kind::RowOutOfRange(0)))?;
            if id <= self.read_through || id > self.seal.last_id {
                return Err(ArchiveError::new(Kind::RowOutOfRange(id)));
            }
            let mut line =
                serde_json::to_vec(row).map_err(|_| ArchiveError::new(Kind::Encoding))?;
            line.push(b'\n');
            self.encoder
                .write_all(&line)
                .map_err(|_| ArchiveError::new(Kind::Encoding))?;
            self.read_through = id;
            self.first_read.get_or_insert(id);
            self.rows += 1;
        }
        let short_page = i64::try_from(rows.len()).is_ok_and(|n| n < crate::seal::PAGE);
        self.done = short_page || self.read_through >= self.seal.last_id;
        Ok(())
    }

    /// The seal's objects, rows first (none if no row is left in D1), then the seal.
    pub fn finish(self) -> Result<Vec<Object>, ArchiveError> {
        let mut objects = Vec::with_capacity(2);
        let compressed = self
            .encoder
            .finish()
            .map_err(|_| ArchiveError::new(Kind::Encoding))?;
        let mut rows = serde_json::Value::Null;
        if let (true, Some(first_id)) = (self.rows > 0, self.first_read) {
            let object = Object::new(
                rows_key(&self.prefix, self.seal.seq, self.seal.cutoff_ms),
                ObjectKind::Rows,
                compressed,
                self.rows,
            );
            rows = serde_json::json!({
                "key": object.key.strip_prefix(&self.prefix).unwrap_or(&object.key),
                "sha256": object.sha256.to_string(),
                "count": self.rows,
                "first_id": first_id,
                "last_id": self.read_through,
            });
            objects.push(object);
        }
        let mut seal = serde_json::to_vec(&serde_json::json!({
            "seal": self.seal_row,
            "rows": rows,
        }))
        .map_err(|_| ArchiveError::new(Kind::Encoding))?;
        seal.push(b'\n');
        objects.push(Object::new(
            seal_key(&self.prefix, self.seal.seq),
            ObjectKind::Seal,
            seal,
            0,
        ));
        Ok(objects)
    }

    /// The statement that records `objects` of seal `seal` as archived at `now_ms`: one row of
    /// `audit_archives` each, the seal's last, in one statement. A second run that archived the
    /// same seal records nothing more.
    pub fn record(seal: &Seal, objects: &[Object], now_ms: i64) -> Statement {
        let mut sql = String::from(
            "INSERT INTO audit_archives (seal_id, kind, object_key, sha256, bytes, row_count, first_id, last_id, archived_ms) VALUES ",
        );
        let mut params = Vec::with_capacity(objects.len() * 6 + 4);
        params.push(SqlValue::Integer(seal.seq));
        params.push(SqlValue::Integer(seal.first_id));
        params.push(SqlValue::Integer(seal.last_id));
        params.push(SqlValue::Integer(now_ms));
        for (i, object) in objects.iter().enumerate() {
            let n = params.len();
            if i > 0 {
                sql.push_str(", ");
            }
            let _ = write!(
                sql,
                "(?1, ?{}, ?{}, ?{}, ?{}, ?{}, ?2, ?3, ?4)",
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5
            );
            params.push(SqlValue::Text(object.kind.as_str().to_owned()));
            params.push(SqlValue::Text(object.key.clone()));
            params.push(SqlValue::Text(object.sha256.to_string()));
            params.push(SqlValue::Integer(
                i64::try_from(object.body.len()).unwrap_or(i64::MAX),
            ));
            params.push(SqlValue::Integer(object.rows));
        }
        sql.push_str(" ON CONFLICT (object_key) DO NOTHING");
        Statement { sql, params }
    }
}
