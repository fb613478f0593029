//! Tamper evidence and retention for the audit log.
//!
//! A cron run seals the rows written since the last seal: it hashes each row in a canonical
//! encoding ([`Row::digest`]), chains the digests in id order starting from the previous seal's
//! hash ([`Chain`]), lists each row's id and digest prefix ([`Manifest`]), and signs the result with
//! the gatekeeper's own Ed25519 key ([`Seal`]). The same run deletes sealed rows older than the
//! retention period, and the seal records how far that may go, so a verifier can tell rows that
//! retention purged from rows that were deleted. [`verify`] checks an export of the log against
//! the seals and names the first row that was changed, removed or inserted.
//!
//! Like the rest of the core this is pure: the Worker runs the statements [`Sealer`] builds and
//! passes in the rows and the time; the CLI reads exports from files. docs/audit.md describes the
//! design for operators, including every encoding.

mod budget;
mod chain;
mod claim;
mod export;
mod manifest;
mod record;
mod row;
mod sealer;
mod verify;

pub use budget::{Budget, QUERIES_PER_ARCHIVE, QUERIES_PER_PURGE, QUERIES_PER_SEAL, Run};
pub use chain::{Chain, Hash, InvalidHash};
pub use claim::Evidence;
pub use export::{Export, ExportError};
pub use manifest::{Entry, InvalidManifest, Manifest};
pub use record::{MalformedSeal, Proof, SEAL_TEXT_VERSION, Seal, SealProblem};
pub use row::{Row, Value};
pub use sealer::{MAX_ROWS_PER_PURGE, MAX_ROWS_PER_SEAL, Policy, SealError, Sealer, Sealing};
pub(crate) use sealer::{PAGE, empty_manifests, rows_page};
pub use verify::{Finding, Latest, Note, Report, verify, verify_with_retention};

/// The condition, on `audit_log`, that a row is not sealed yet. A statement that completes a row
/// once its streamed reply has ended must include it (`UPDATE audit_log SET … WHERE id = ?1 AND`
/// this), so that completing a sealed row changes nothing instead of failing: the database refuses
/// to change sealed rows (`migrations/0003_audit_seals.sql`), and a completion that arrives after
/// the seal is dropped, never applied behind the seal's back.
pub const UNSEALED: &str = unsealed!();

/// [`UNSEALED`] as a literal, so statements can be assembled with `concat!` at compile time.
macro_rules! unsealed {
    () => {
        "id > COALESCE((SELECT last_id FROM audit_seals ORDER BY id DESC LIMIT 1), 0)"
    };
}
pub(crate) use unsealed;
