//! The gatekeeper's per-request cryptography, exported to JavaScript so that a worker can time it
//! against WebCrypto: the check of a PASETO `v4.public` grant (pasetors over ed25519-compact, as
//! `src/grant/token.rs` does it) and the SigV4 key derivation and signature (HMAC-SHA256 with the
//! `hmac` and `sha2` crates `aws-sigv4` uses, and the SHA-256 of the canonical request).
//!
//! Each function repeats its work `n` times inside wasm, as the gatekeeper runs it: no crossing
//! into JavaScript per operation.

use ed25519_compact::{KeyPair, Seed};
use hmac::{Hmac, KeyInit, Mac};
use pasetors::Public;
use pasetors::keys::{AsymmetricPublicKey, AsymmetricSecretKey};
use pasetors::token::UntrustedToken;
use pasetors::version4::{PublicToken, V4};
use sha2::{Digest, Sha256};
use wasm_bindgen::prelude::wasm_bindgen;

/// A fixed key pair: the measurement needs a valid token, not a secret.
fn key_pair() -> KeyPair {
    KeyPair::from_seed(Seed::new([7; 32]))
}

/// A grant of the size the benchmark sends, signed by the fixed key, with a `k4.pid`-sized footer.
#[wasm_bindgen]
pub fn grant(claims: &str, footer: &str) -> String {
    let secret = AsymmetricSecretKey::<V4>::from(key_pair().sk.as_ref()).expect("64-byte key");
    PublicToken::sign(&secret, claims.as_bytes(), Some(footer.as_bytes()), None).expect("signs")
}

/// The fixed public key's 32 bytes, for WebCrypto's `importKey`.
#[wasm_bindgen]
pub fn public_key() -> Vec<u8> {
    key_pair().pk.as_ref().to_vec()
}

/// Verifies `token` `n` times; returns how many verified.
#[wasm_bindgen]
pub fn verify_grant(n: u32, token: &str) -> u32 {
    let public = AsymmetricPublicKey::<V4>::from(key_pair().pk.as_ref()).expect("32-byte key");
    let mut ok = 0;
    for _ in 0..n {
        let Ok(untrusted) = UntrustedToken::<Public, V4>::try_from(token) else {
            continue;
        };
        if PublicToken::verify(&public, &untrusted, None, None).is_ok() {
            ok += 1;
        }
    }
    ok
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// One SigV4 signature: the SHA-256 of the canonical request, then the signing key derived from
/// the secret (four HMACs) and the signature over the string to sign (a fifth).
fn sigv4(secret: &str, date: &str, region: &str, canonical: &str) -> [u8; 32] {
    let hashed = Sha256::digest(canonical.as_bytes());
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{date}T000000Z\n{date}/{region}/s3/aws4_request\n{}",
        hex(&hashed)
    );
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, b"s3");
    let k_signing = hmac(&k_service, b"aws4_request");
    hmac(&k_signing, string_to_sign.as_bytes())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Computes the SigV4 signature `n` times; returns the last one, hex-encoded (for the check that
/// both implementations agree).
#[wasm_bindgen]
pub fn sign_sigv4(n: u32, secret: &str, date: &str, region: &str, canonical: &str) -> String {
    let mut last = [0; 32];
    for _ in 0..n {
        last = sigv4(secret, date, region, canonical);
    }
    hex(&last)
}
