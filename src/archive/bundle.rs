//! An archive read back (a downloaded prefix), alone or together with a D1 export, as one log and
//! one list of seals for [`crate::seal::verify`], remembering where each row and seal came from so
//! that a finding can name the object at fault.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read as _;

use flate2::read::GzDecoder;

use crate::archive::{rows_key, seal_key, seal_of_rows_key};
use serde::Deserialize;

use crate::seal::{Export, Finding, Hash, Row, Seal};

/// Where a row or a seal was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The D1 export.
    Export,
    /// The archive object with this key (relative to the archive's folder).
    Object(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Export => f.write_str("the D1 export"),
            Self::Object(key) => write!(f, "archive object {key}"),
        }
    }
}

/// An archive object that cannot be read.
#[derive(Debug)]
pub struct BundleError {
    key: String,
    problem: String,
}

impl fmt::Display for BundleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "archive object {}: {}", self.key, self.problem)
    }
}

impl std::error::Error for BundleError {}

/// Rows and seals from an archive and from exports, by id.
#[derive(Debug, Default)]
pub struct Bundle {
    rows: BTreeMap<i64, Vec<(Row, Vec<Source>)>>,
    seals: BTreeMap<i64, Vec<(Row, Vec<Source>)>>,
    /// Rows without a whole-number id, kept so the verifier reports them.
    odd: Vec<Row>,
    /// Rows objects by the seal number their names carry, with their SHA-256.
    rows_objects: BTreeMap<i64, (String, Hash)>,
    /// What each archived seal object says its rows object holds.
    expected: BTreeMap<i64, Expected>,
}

/// The `rows` of a seal object: what the seal's rows object held when it was archived.
#[derive(Debug, Deserialize)]
struct Expected {
    key: String,
    sha256: String,
    count: i64,
}

/// A seal object.
#[derive(Deserialize)]
struct SealObject {
    seal: Row,
    rows: Option<Expected>,
}

impl Bundle {
    /// Adds the rows and seals of a D1 export.
    pub fn add_export(&mut self, export: Export) {
        for row in export.log {
            self.add_row(row, &Source::Export);
        }
        for seal in export.seals {
            self.add_seal(seal, &Source::Export);
        }
    }

    /// Adds one archive object: `key` is its path under the archive's folder, `bytes` its
    /// content. A `*.ndjson.gz` is a seal's rows; a `*.json` under `seals/` is a seal. Returns
    /// whether it was either (other files are not the archive's and are left out).
    pub fn add_object(&mut self, key: &str, bytes: &[u8]) -> Result<bool, BundleError> {
        let error = |problem: String| BundleError {
            key: key.to_owned(),
            problem,
        };
        let source = Source::Object(key.to_owned());
        if let Some(seq) = seal_of_rows_key(key) {
            let mut text = String::new();
            GzDecoder::new(bytes)
                .read_to_string(&mut text)
                .map_err(|e| error(format!("not gzip-compressed UTF-8 text: {e}")))?;
            for (n, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let row: Row = serde_json::from_str(line)
                    .map_err(|e| error(format!("line {}: not an audit_log row: {e}", n + 1)))?;
                self.add_row(row, &source);
            }
            self.rows_objects
                .insert(seq, (key.to_owned(), Hash::of(bytes)));
            return Ok(true);
        }
        let in_seals = key.rsplit('/').nth(1) == Some("seals");
        if in_seals
            && std::path::Path::new(key)
                .extension()
                .is_some_and(|ext| ext == "json")
        {
            let object: SealObject = serde_json::from_slice(bytes)
                .map_err(|e| error(format!("not a seal object: {e}")))?;
            if !object.seal.has("signature") {
                return Err(error("not a seal object: its seal has no signature".into()));
            }
            let seq = object.seal.id().unwrap_or(0);
            if let Some(rows) = object.rows {
                self.expected.insert(seq, rows);
            }
            self.add_seal(object.seal, &source);
            return Ok(true);
        }
        Ok(false)
    }

    fn add_row(&mut self, row: Row, source: &Source) {
        let Some(id) = row.id() else {
            self.odd.push(row);
            return;
        };
        let copies = self.rows.entry(id).or_default();
        // The same row in D1 and in the archive (retention had not deleted it yet) counts once.
        let digest = row.digest();
        match copies.iter_mut().find(|(r, _)| r.digest() == digest) {
            Some((_, sources)) => sources.push(source.clone()),
            None => copies.push((row, vec![source.clone()])),
        }
    }

    fn add_seal(&mut self, row: Row, source: &Source) {
        let seq = row.id().unwrap_or(0);
        let copies = self.seals.entry(seq).or_default();
        // D1 empties a seal's manifest once its rows are purged; the archived copy keeps it. The
        // two are the same seal if they agree on everything else, and the one with the manifest
        // is kept.
        let without_manifest = |r: &Row| {
            let mut r = r.clone();
            r.set("manifest", crate::seal::Value::Null);
            r.digest()
        };
        let key = without_manifest(&row);
        match copies.iter_mut().find(|(r, _)| without_manifest(r) == key) {
            Some((kept, sources)) => {
                sources.push(source.clone());
                if *kept.get("manifest") == crate::seal::Value::Null {
                    *kept = row;
                }
            }
            None => copies.push((row, vec![source.clone()])),
        }
    }

    /// The seals, one per number unless two copies differ (which the verifier reports).
    pub fn seals(&self) -> Vec<Row> {
        self.seals
            .values()
            .flat_map(|copies| copies.iter().map(|(row, _)| row.clone()))
            .collect()
    }

    /// The log rows, one per id unless two copies differ (which the verifier reports).
    pub fn log(&self) -> Vec<Row> {
        self.rows
            .values()
            .flat_map(|copies| copies.iter().map(|(row, _)| row.clone()))
            .collect()
    }

    /// Where what `finding` is about was read from, or is missing from, if the archive can say.
    /// Nothing is said when no archive object was read: an export alone reads as it always did.
    pub fn locate(&self, finding: &Finding) -> Option<String> {
        if !self.has_objects() {
            return None;
        }
        match finding {
            Finding::Changed { id, .. } | Finding::Inserted { id, .. } => {
                let copies = self.rows.get(id)?;
                let sources: Vec<String> = copies
                    .iter()
                    .flat_map(|(_, sources)| sources.iter().map(ToString::to_string))
                    .collect();
                Some(format!("in {}", sources.join(" and ")))
            }
            Finding::Removed { seal, .. } | Finding::Unlocated { seal, .. } => {
                match self.rows_objects.get(seal) {
                    Some((key, _)) => Some(format!("archive object {key}")),
                    None => self
                        .expected_rows_key(*seal)
                        .map(|key| format!("its archive object {key} is missing")),
                }
            }
            Finding::Seal { seq, .. } => {
                let copies = self.seals.get(seq)?;
                let sources: Vec<String> = copies
                    .iter()
                    .flat_map(|(_, sources)| sources.iter().map(ToString::to_string))
                    .collect();
                Some(format!("in {}", sources.join(" and ")))
            }
            _ => None,
        }
    }

    /// What the archive shows by itself: a rows object whose seal is in no object nor export
    /// (the seal object was deleted), and a rows object missing or not the one archived with its
    /// seal (deleted, or replaced: rows retention had purged would otherwise go unnoticed).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (seq, expected) in &self.expected {
            match self.rows_objects.get(seq) {
                None => problems.push(format!(
                    "seal {seq}: its archive object {} ({} rows) is missing",
                    expected.key, expected.count
                )),
                Some((key, sha256)) if sha256.to_string() != expected.sha256 => problems.push(format!(
                    "archive object {key} is not the one archived with seal {seq}: its SHA-256 differs"
                )),
                Some(_) => {}
            }
        }
        for (seq, (key, _)) in &self.rows_objects {
            if !self.seals.contains_key(seq) {
                problems.push(format!(
                    "archive object {key} holds the rows of seal {seq}, whose archive object {} is missing",
                    seal_key("", *seq)
                ));
            }
        }
        problems
    }

    /// Whether any archive object was read.
    pub fn has_objects(&self) -> bool {
        !self.rows_objects.is_empty()
            || self
                .seals
                .values()
                .flatten()
                .any(|(_, sources)| sources.iter().any(|s| matches!(s, Source::Object(_))))
    }

    /// The key the rows object of seal `seq` has (relative to the archive's folder), from the
    /// seal's cutoff, if the seal is known and sealed rows.
    fn expected_rows_key(&self, seq: i64) -> Option<String> {
        let (row, _) = self.seals.get(&seq)?.first()?;
        let seal = Seal::from_row(row).ok()?;
        (seal.last_id >= seal.first_id).then(|| rows_key("", seq, seal.cutoff_ms))
    }

    /// Rows without a whole-number id, for the verifier to report.
    pub fn odd_rows(&self) -> &[Row] {
        &self.odd
    }
}
