//! Ed25519 keys in PASERK form: `k4.public.…`, `k4.secret.…`, and the `k4.pid.…` key id.

use std::fmt;
use std::str::FromStr;

use ed25519_compact::{KeyPair, Seed};
use pasetors::keys::{AsymmetricPublicKey, AsymmetricSecretKey};
use pasetors::paserk::{FormatAsPaserk, Id};
use pasetors::version4::V4;

/// A vendor's public key, which verifies grants.
///
/// ```
/// use s3_gatekeeper::grant::PublicKey;
///
/// let key: PublicKey = "k4.public.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".parse().unwrap();
/// assert_eq!(key.id(), "k4.pid.S_XQmeEwHbbvRmiyfXfHYpLGjXGzjTRSDoT1YtTakWFE");
/// assert_eq!(key.to_string(), "k4.public.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
/// assert!("k3.public.AAAA".parse::<PublicKey>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PublicKey {
    pub(crate) inner: AsymmetricPublicKey<V4>,
    id: String,
}

/// Why a public key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidPublicKey {
    /// Not a `k4.public.` PASERK holding a 32-byte key.
    NotPaserk,
    /// An `id` was given and is not the key's `k4.pid`.
    IdMismatch,
}

impl fmt::Display for InvalidPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotPaserk => "not a PASERK k4.public key",
            Self::IdMismatch => "the id is not this key's k4.pid",
        })
    }
}

impl std::error::Error for InvalidPublicKey {}

impl PublicKey {
    /// A key from its 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, InvalidPublicKey> {
        AsymmetricPublicKey::<V4>::from(bytes)
            .map(Self::new)
            .map_err(|_| InvalidPublicKey::NotPaserk)
    }

    fn new(inner: AsymmetricPublicKey<V4>) -> Self {
        let mut id = String::new();
        // Formatting into a String cannot fail.
        let _ = Id::from(&inner).fmt(&mut id);
        Self { inner, id }
    }

    /// The key's PASERK id, `k4.pid.…`, which grants carry in their footer as `kid`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether `signature` is this key's Ed25519 signature of `message`. For the gatekeeper's own
    /// audit seals; grants are verified as PASETO tokens, never through this.
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let Ok(key) = ed25519_compact::PublicKey::from_slice(self.inner.as_bytes()) else {
            return false;
        };
        key.verify(message, &ed25519_compact::Signature::new(*signature))
            .is_ok()
    }
}

impl FromStr for PublicKey {
    type Err = InvalidPublicKey;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AsymmetricPublicKey::<V4>::try_from(s.trim())
            .map(Self::new)
            .map_err(|_| InvalidPublicKey::NotPaserk)
    }
}

impl fmt::Display for PublicKey {
    /// The `k4.public.…` PASERK form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.inner.fmt(&mut s)?;
        f.write_str(&s)
    }
}

/// A vendor's signing key. `Debug` shows only the public id; the secret never leaves through a
/// formatting trait except the explicit [`SigningKey::to_paserk`].
#[derive(Clone)]
pub struct SigningKey {
    pub(crate) secret: AsymmetricSecretKey<V4>,
    public: PublicKey,
}

/// Not a valid `k4.secret` key (64 bytes: seed, then the matching public key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidSecretKey;

impl fmt::Display for InvalidSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a PASERK k4.secret key")
    }
}

impl std::error::Error for InvalidSecretKey {}

impl SigningKey {
    /// A key derived from 32 random bytes, which the caller supplies from a secure source.
    /// An all-zero seed is refused: it can only come from a broken random source.
    pub fn from_seed(seed: [u8; 32]) -> Result<Self, InvalidSecretKey> {
        let pair = KeyPair::try_from_seed(Seed::new(seed)).map_err(|_| InvalidSecretKey)?;
        Self::from_bytes(pair.sk.as_ref())
    }

    /// A key from its 64 raw bytes: the seed, then the public key.
    ///
    /// Two keys are refused. One whose halves disagree, which would sign grants no verifier
    /// accepts (checked by signing a probe message and verifying it with the stored public half).
    /// And one with an all-zero seed: it cannot be a secret, and pasetors panics on it.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, InvalidSecretKey> {
        let secret = ed25519_compact::SecretKey::from_slice(bytes).map_err(|_| InvalidSecretKey)?;
        if secret.seed().iter().all(|&b| b == 0) {
            return Err(InvalidSecretKey);
        }
        let probe = b"s3-gatekeeper key consistency probe";
        secret
            .public_key()
            .verify(probe, &secret.sign(probe, None))
            .map_err(|_| InvalidSecretKey)?;
        let public =
            PublicKey::from_bytes(secret.public_key().as_ref()).map_err(|_| InvalidSecretKey)?;
        let secret = AsymmetricSecretKey::<V4>::from(bytes).map_err(|_| InvalidSecretKey)?;
        Ok(Self { secret, public })
    }

    /// The public key that verifies this key's grants.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The key's PASERK id, `k4.pid.…`.
    pub fn id(&self) -> &str {
        self.public.id()
    }

    /// The Ed25519 signature of `message`, for the gatekeeper's own audit seals. Deterministic
    /// (RFC 8032), so two runs that seal the same rows write the same seal.
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        // `from_bytes` accepted these 64 bytes as an Ed25519 secret key, so this cannot fail.
        ed25519_compact::SecretKey::from_slice(self.secret.as_bytes())
            .map_or([0; 64], |secret| *secret.sign(message, None))
    }

    /// The secret key as a `k4.secret.…` PASERK string: keep it secret.
    pub fn to_paserk(&self) -> String {
        let mut s = String::new();
        let _ = self.secret.fmt(&mut s);
        s
    }
}

impl FromStr for SigningKey {
    type Err = InvalidSecretKey;

    /// Reads a `k4.secret.…` PASERK string. The encoding is decoded here rather than by
    /// pasetors, whose parser panics on an all-zero seed instead of returning an error.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        use ct_codecs::{Base64UrlSafeNoPadding, Decoder};
        let encoded = s
            .trim()
            .strip_prefix("k4.secret.")
            .ok_or(InvalidSecretKey)?;
        let mut buf = [0u8; 64];
        let bytes = Base64UrlSafeNoPadding::decode(&mut buf, encoded, None)
            .map_err(|_| InvalidSecretKey)?;
        Self::from_bytes(bytes)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("id", &self.id())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_secret() {
        let key = SigningKey::from_seed([1; 32]).unwrap();
        let secret = key.to_paserk();
        let shown = format!("{key:?}");
        assert!(shown.contains(key.id()));
        assert!(!shown.contains(&secret["k4.secret.".len()..]));
    }

    #[test]
    fn zero_seed_is_refused_for_new_keys() {
        assert!(SigningKey::from_seed([0; 32]).is_err());
    }

    #[test]
    fn raw_signatures_verify_with_the_public_half_only() {
        let key = SigningKey::from_seed([1; 32]).unwrap();
        let other = SigningKey::from_seed([2; 32]).unwrap();
        let signature = key.sign(b"seal");
        assert_eq!(signature, key.sign(b"seal"), "deterministic");
        assert!(key.public_key().verifies(b"seal", &signature));
        assert!(!key.public_key().verifies(b"seam", &signature));
        assert!(!other.public_key().verifies(b"seal", &signature));
    }

    #[test]
    fn halves_must_agree() {
        let key = SigningKey::from_seed([1; 32]).unwrap();
        let mut bytes = key.secret.as_bytes().to_vec();
        bytes[40] ^= 1;
        assert!(SigningKey::from_bytes(&bytes).is_err());
    }
}
