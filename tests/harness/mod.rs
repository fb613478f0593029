//! The properties the fuzz targets (`fuzz/`) and the property tests (`tests/fuzz_properties.rs`)
//! check, shared so both hunt for the same bugs: each check takes an input in a plain text or
//! byte form, runs one entry point an attacker or a corrupted store can reach, and panics when a
//! property fails. fuzz/README.md lists them.

// Checks panic to report a failure; that is what both libFuzzer and proptest catch.
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::missing_panics_doc
)]

pub mod fixtures;
pub mod grant;
pub mod listing;
pub mod request;
pub mod seal;
pub mod settings;
