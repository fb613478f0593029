//! The vendor public keys a gatekeeper trusts, each known by its PASERK id.

use crate::Operation;
use crate::grant::GrantError;
use crate::grant::PublicKey;
use crate::grant::error::Kind;
use crate::grant::time::UnixSeconds;

/// One trusted public key.
///
/// A key may be limited to a validity window, so a vendor can publish the next key ahead of
/// time and retire the old one after a rollover with no downtime, and to a set of operations.
#[derive(Clone, Debug)]
pub struct TrustedKey {
    pub(crate) key: PublicKey,
    pub(crate) not_before: Option<UnixSeconds>,
    pub(crate) not_after: Option<UnixSeconds>,
    pub(crate) operations: Option<Vec<Operation>>,
}

impl TrustedKey {
    /// Trusts `key` for every operation, at all times.
    pub fn new(key: PublicKey) -> Self {
        Self {
            key,
            not_before: None,
            not_after: None,
            operations: None,
        }
    }

    /// The key's PASERK id.
    pub fn id(&self) -> &str {
        self.key.id()
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
        self.keys.iter().find(|k| k.id() == id)
    }

    /// Where the key with PASERK id `id` stands in the ring (the order of `VENDOR_KEYS`).
    pub(crate) fn position(&self, id: &str) -> Option<usize> {
        self.keys.iter().position(|k| k.id() == id)
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
