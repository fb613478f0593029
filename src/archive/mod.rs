//! The audit archive: each sealed period written to the customer's own S3 bucket before D1
//! forgets it, and read back from there to verify.
//!
//! A cron run archives finished seals oldest first. For each it writes two objects
//! ([`Archiving`]): the seal's rows as gzip NDJSON under a date path, for queries (Athena,
//! `DuckDB`),
//! and the seal itself, for verification. It reads each object back and checks its SHA-256
//! before it records the seal as archived in `audit_archives`; only then may retention delete the
//! seal's rows from D1 ([`retention`]), and when D1 passes its size budget, the oldest archived
//! rows go first. The CLI reads a downloaded archive back ([`Bundle`]) and verifies it, alone or
//! merged with a D1 export, with the same code as an export ([`crate::seal::verify`]).
//!
//! Like the rest of the core this is pure: objects are built and checked here, the Worker sends
//! the signed requests and runs the statements, the CLI reads the files. docs/audit.md describes
//! the layout for operators.

mod bundle;
mod object;
pub mod retention;
mod target;

pub use bundle::{Bundle, BundleError, Source};
pub use object::{
    ArchiveError, Archiving, Object, ObjectKind, rows_key, seal_key, seal_of_rows_key,
};
pub use retention::Storage;
pub use target::{Archive, InvalidPrefix, Target};

/// The table of archived objects, as a condition: the last audit log id whose seal, and every
/// seal before it, is archived (seals are archived in order). Retention deletes no row past it
/// while archiving is on.
pub(crate) const ARCHIVED_THROUGH: &str =
    "COALESCE((SELECT MAX(last_id) FROM audit_archives WHERE kind = 'seal'), 0)";
