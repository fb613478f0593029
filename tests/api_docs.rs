//! docs/api.md names every error code the gatekeeper can answer with.

// In tests a panic is the failure report, so unwrapping is the clearest way to fail.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;

use s3_gatekeeper::Error;

fn api_md() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/api.md")).unwrap()
}

#[test]
fn every_error_code_is_in_the_api_docs_with_its_status() {
    let docs = api_md();
    let mut missing = Vec::new();
    for error in Error::all() {
        let code = format!("`{}`", error.code());
        // The code must sit in a row of the errors table that also names its status.
        let status = error.status().as_u16().to_string();
        let documented = docs
            .lines()
            .any(|line| line.starts_with('|') && line.contains(&code) && line.contains(&status));
        if !documented {
            missing.push(format!("{code} ({status})"));
        }
    }
    assert!(
        missing.is_empty(),
        "docs/api.md lacks a table row for: {}",
        missing.join(", ")
    );
}

/// The codes written as string literals in every `fn code` of the sources: what `Error::all`
/// must cover, found without it, so that a code added without a place in `all` is noticed.
fn codes_in_sources(dir: &Path, found: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            codes_in_sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for (start, _) in text.match_indices("fn code(") {
                // The body runs to the first line that closes the function at its indent.
                let body = &text[start..];
                let end = body.find("\n    }\n").unwrap_or(body.len());
                for piece in body[..end].split('"').skip(1).step_by(2) {
                    if piece.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                        found.insert(piece.to_owned());
                    }
                }
            }
            // Codes kept in a constant (`const CODE: &'static str = "…"`).
            for (start, _) in text.match_indices("const CODE: &'static str = \"") {
                let rest = &text[start + "const CODE: &'static str = \"".len()..];
                found.insert(rest[..rest.find('"').unwrap()].to_owned());
            }
        }
    }
}

#[test]
fn error_all_covers_every_code_in_the_sources() {
    let mut in_sources = BTreeSet::new();
    codes_in_sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut in_sources,
    );
    let listed: BTreeSet<String> = Error::all().iter().map(|e| e.code().to_owned()).collect();
    let unlisted: Vec<_> = in_sources.difference(&listed).collect();
    assert!(
        unlisted.is_empty(),
        "codes in the sources but not in Error::all(): {unlisted:?}"
    );
    assert!(listed.len() > 40, "only {} codes found", listed.len());
}
