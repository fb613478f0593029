//! A request: method, URL, headers and caller, read by `request::*` and decided by
//! `Gatekeeper::decide`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3_gatekeeper_fuzz::harness;

fuzz_target!(|data: &[u8]| {
    harness::request::check(data);
});
