//! A token payload signed by a trusted key (or an untrusted one, by the first byte), so the
//! claims are read past the signature.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3_gatekeeper_fuzz::harness;

fuzz_target!(|data: &[u8]| {
    if let Some((&signer, payload)) = data.split_first() {
        harness::grant::check_payload(payload, harness::grant::Signer::from_byte(signer));
    }
});
