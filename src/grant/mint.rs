//! Minting grants: what a vendor's server does, here for the CLI, tests and benchmarks.
//!
//! The gatekeeper never mints grants in production; it only verifies them. Minting lives in the
//! core so that the CLI signs with exactly the format the worker checks.

use ed25519_compact::{KeyPair, Seed};
use pasetors::keys::{AsymmetricPublicKey, AsymmetricSecretKey};
use pasetors::paserk::FormatAsPaserk;
use pasetors::version4::{PublicToken, V4};

use crate::grant::claims::Claims;
use crate::grant::keyring::key_id;

/// A vendor signing key. `Debug` shows only the public id.
pub struct SigningKey {
    secret: AsymmetricSecretKey<V4>,
    public: AsymmetricPublicKey<V4>,
    id: String,
}

/// The bytes are not a PASERK `k4.secret` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidSecretKey;

impl std::fmt::Display for InvalidSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a PASERK k4.secret key")
    }
}

impl std::error::Error for InvalidSecretKey {}

/// Minting failed; only an empty payload can cause it, and claims are never empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MintFailed;

impl std::fmt::Display for MintFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the grant could not be signed")
    }
}

impl std::error::Error for MintFailed {}

impl SigningKey {
    /// A key derived from 32 random bytes, which the caller supplies from a secure source.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let pair = KeyPair::from_seed(Seed::new(seed));
        let secret = AsymmetricSecretKey::<V4>::from(pair.sk.as_ref());
        let public = AsymmetricPublicKey::<V4>::from(pair.pk.as_ref());
        match (secret, public) {
            (Ok(secret), Ok(public)) => Self::from_parts(secret, public),
            // ed25519-compact always yields 64- and 32-byte keys, which is all pasetors checks.
            _ => unreachable!("ed25519-compact key sizes are fixed"),
        }
    }

    /// Reads a `k4.secret.…` PASERK string.
    pub fn from_paserk(paserk: &str) -> Result<Self, InvalidSecretKey> {
        let secret =
            AsymmetricSecretKey::<V4>::try_from(paserk.trim()).map_err(|_| InvalidSecretKey)?;
        let public = AsymmetricPublicKey::<V4>::try_from(&secret).map_err(|_| InvalidSecretKey)?;
        Ok(Self::from_parts(secret, public))
    }

    fn from_parts(secret: AsymmetricSecretKey<V4>, public: AsymmetricPublicKey<V4>) -> Self {
        let id = key_id(&public);
        Self { secret, public, id }
    }

    /// The secret key as a `k4.secret.…` PASERK string: keep it secret.
    pub fn secret_paserk(&self) -> String {
        let mut s = String::new();
        let _ = self.secret.fmt(&mut s);
        s
    }

    /// The public key as a `k4.public.…` PASERK string, for the gatekeeper's `VENDOR_KEYS`.
    pub fn public_paserk(&self) -> String {
        let mut s = String::new();
        let _ = self.public.fmt(&mut s);
        s
    }

    /// The key's PASERK id, `k4.pid.…`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Signs `claims` as a `v4.public` token whose footer names this key.
    pub fn mint(&self, claims: &Claims) -> Result<String, MintFailed> {
        let payload = serde_json::to_vec(claims).map_err(|_| MintFailed)?;
        let footer = serde_json::json!({ "kid": self.id }).to_string();
        PublicToken::sign(&self.secret, &payload, Some(footer.as_bytes()), None)
            .map_err(|_| MintFailed)
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}
