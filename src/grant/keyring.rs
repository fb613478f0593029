//! The vendor public keys a gatekeeper trusts, each known by its PASERK id.

use pasetors::keys::AsymmetricPublicKey;
use pasetors::paserk::{FormatAsPaserk, Id};
use pasetors::version4::V4;

use crate::Operation;
use crate::grant::GrantError;
use crate::grant::error::Kind;
use crate::grant::time::UnixSeconds;

/// One trusted Ed25519 public key.
///
/// A key may be limited to a validity window, so a vendor can publish the next key ahead of
/// time and retire the old one after a rollover with no downtime, and to a set of operations.
#[derive(Clone, Debug)]
pub struct TrustedKey {
    pub(crate) id: String,
    pub(crate) key: AsymmetricPublicKey<V4>,
    pub(crate) not_before: Option<UnixSeconds>,
    pub(crate) not_after: Option<UnixSeconds>,
    pub(crate) operations: Option<Vec<Operation>>,
}

/// Why a PASERK public key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidPublicKey {
    /// Not a `k4.public.` PASERK holding a 32-byte key.
    NotPaserk,
    /// An `id` was given and is not the key's `k4.pid`.
    IdMismatch,
}

impl std::fmt::Display for InvalidPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NotPaserk => "not a PASERK k4.public key",
            Self::IdMismatch => "the id is not this key's k4.pid",
        })
    }
}

impl std::error::Error for InvalidPublicKey {}

impl TrustedKey {
    /// Trusts the key in a `k4.public.…` PASERK string for every operation, at all times.
    pub fn from_paserk(paserk: &str) -> Result<Self, InvalidPublicKey> {
        let key =
            AsymmetricPublicKey::<V4>::try_from(paserk).map_err(|_| InvalidPublicKey::NotPaserk)?;
        Ok(Self {
            id: key_id(&key),
            key,
            not_before: None,
            not_after: None,
            operations: None,
        })
    }

    /// The key's PASERK id, `k4.pid.…`, which grants carry in their footer as `kid`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Checks that the key may sign a grant for `op` at `now`.
    pub(crate) fn allows(&self, op: Operation, now: UnixSeconds) -> Result<(), GrantError> {
        if self.not_before.is_some_and(|t| now < t) || self.not_after.is_some_and(|t| now >= t) {
            return Err(GrantError::new(Kind::KeyNotValidNow));
        }
        if self
            .operations
            .as_ref()
            .is_some_and(|ops| !ops.contains(&op))
        {
            return Err(GrantError::new(Kind::KeyNotTrustedForOperation));
        }
        Ok(())
    }
}

/// The PASERK `k4.pid` of a public key.
pub(crate) fn key_id(key: &AsymmetricPublicKey<V4>) -> String {
    let mut id = String::new();
    // Formatting into a String cannot fail.
    let _ = Id::from(key).fmt(&mut id);
    id
}

/// The set of trusted keys, looked up by id.
#[derive(Clone, Debug, Default)]
pub struct KeyRing {
    keys: Vec<TrustedKey>,
}

impl KeyRing {
    /// A key ring holding `keys`.
    pub fn new(keys: Vec<TrustedKey>) -> Self {
        Self { keys }
    }

    /// The key with PASERK id `id`.
    pub fn get(&self, id: &str) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.id == id)
    }

    /// Number of trusted keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is trusted (then every grant is refused).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}
