//! The settings, changed from a valid base: `Config::from_settings`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3_gatekeeper_fuzz::harness;

fuzz_target!(|data: &[u8]| {
    harness::settings::check(data);
});
