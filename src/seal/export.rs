//! Reading what `wrangler d1 execute --json` prints: an array of result sets, one per statement,
//! each with its rows under `results`.

use std::fmt;

use serde::Deserialize;

use crate::seal::Row;

/// Rows of `audit_log` and `audit_seals`, from one or more exports.
///
/// Rows are told apart by their columns (`request_id` or `signature`), so the log and the seals
/// may come in one export, with both statements in one `--command`, or in separate files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Export {
    /// The audit log rows.
    pub log: Vec<Row>,
    /// The seals.
    pub seals: Vec<Row>,
}

/// An export that cannot be read.
#[derive(Debug)]
#[non_exhaustive]
pub enum ExportError {
    /// Not the JSON `wrangler d1 execute --json` prints.
    Json(serde_json::Error),
    /// A result set whose rows are neither audit log rows nor seals (this many, from 0).
    UnknownRows(usize),
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Json(e) => write!(
                f,
                "not the JSON that `wrangler d1 execute --json` prints: {e}"
            ),
            Self::UnknownRows(i) => write!(
                f,
                "result set {i} holds neither audit_log rows nor audit_seals rows (export them with SELECT *)"
            ),
        }
    }
}

impl std::error::Error for ExportError {}

#[derive(Deserialize)]
struct ResultSet {
    results: Vec<Row>,
}

impl Export {
    /// Adds the rows of one export.
    ///
    /// ```
    /// use s3_gatekeeper::seal::Export;
    ///
    /// let mut export = Export::default();
    /// export
    ///     .read(r#"[{"results": [{"id": 1, "request_id": "r", "time_ms": 5}], "success": true},
    ///               {"results": [], "success": true}]"#)
    ///     .unwrap();
    /// assert_eq!(export.log.len(), 1);
    /// assert!(export.read(r#"{"error": {"text": "no such table"}}"#).is_err());
    /// ```
    pub fn read(&mut self, json: &str) -> Result<(), ExportError> {
        let sets: Vec<ResultSet> = serde_json::from_str(json).map_err(ExportError::Json)?;
        for (i, set) in sets.into_iter().enumerate() {
            for row in set.results {
                if row.has("signature") {
                    self.seals.push(row);
                } else if row.has("request_id") {
                    self.log.push(row);
                } else {
                    return Err(ExportError::UnknownRows(i));
                }
            }
        }
        Ok(())
    }
}
