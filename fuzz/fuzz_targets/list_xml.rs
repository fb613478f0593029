//! S3's ListObjectsV2 reply: `s3::parse_listing`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3_gatekeeper_fuzz::harness;

fuzz_target!(|data: &[u8]| {
    harness::listing::check(data);
});
