//! An audit export as `gatekeeper audit verify` reads it: `seal::Export::read` and
//! `seal::verify`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3_gatekeeper_fuzz::harness;

fuzz_target!(|data: &[u8]| {
    harness::seal::check_export(data);
});
