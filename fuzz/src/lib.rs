//! The checks the fuzz targets run, shared with the property tests in `tests/fuzz_properties.rs`.

#[path = "../../tests/harness/mod.rs"]
pub mod harness;
