//! An `Authorization: Bearer` value: tokens, comma-separated, verified alone and together.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3_gatekeeper_fuzz::harness;

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = std::str::from_utf8(data) {
        harness::grant::check_header(header);
    }
});
