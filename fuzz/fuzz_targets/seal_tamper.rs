//! Edits to a sealed audit log: `seal::verify` notices exactly those that change a sealed row
//! or a seal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3_gatekeeper_fuzz::harness;

fuzz_target!(|data: &[u8]| {
    harness::seal::check_tamper(data);
});
