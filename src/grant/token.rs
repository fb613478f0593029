//! The PASETO `v4.public` token layer: format, footer and signature, nothing about claims.

use pasetors::Public;
use pasetors::token::UntrustedToken;
use pasetors::version4::{PublicToken, V4};

use crate::grant::error::Kind;
use crate::grant::{GrantError, PublicKey, SigningKey};

/// The longest token the gatekeeper will look at. Real grants are a few hundred bytes; the bound
/// keeps a hostile header from costing more than a length check.
pub const MAX_TOKEN_LEN: usize = 4096;

/// A token whose format has been checked but whose signature has not.
#[derive(Debug)]
pub struct Untrusted(UntrustedToken<Public, V4>);

impl Untrusted {
    /// Checks the length and format: `v4.public.`, then base64url (no padding) of a payload with
    /// its 64-byte signature, then optionally a base64url footer; nothing else. No signature work
    /// is done, so this is cheap enough to run on any input.
    pub fn parse(token: &str) -> Result<Self, GrantError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(GrantError::new(Kind::TooLong));
        }
        UntrustedToken::<Public, V4>::try_from(token)
            .map(Self)
            .map_err(|_| GrantError::new(Kind::Malformed))
    }

    /// The footer, unauthenticated until [`Untrusted::open`] succeeds.
    pub fn footer(&self) -> &[u8] {
        self.0.untrusted_footer()
    }

    /// The payload as it stands, before the signature is checked: for diagnostics only, never
    /// for a decision.
    pub fn unverified_payload(&self) -> &[u8] {
        self.0.untrusted_payload()
    }

    /// Verifies the signature under `key`, binding the footer and `implicit` assertion, and
    /// returns the payload.
    pub fn open(&self, key: &PublicKey, implicit: &[u8]) -> Result<String, GrantError> {
        PublicToken::verify(&key.inner, &self.0, None, Some(implicit))
            .map(|trusted| trusted.payload().to_owned())
            .map_err(|_| GrantError::new(Kind::BadSignature))
    }
}

/// Signs `payload` as a `v4.public` token with `footer` and `implicit` assertion.
pub fn seal(
    key: &SigningKey,
    payload: &[u8],
    footer: &[u8],
    implicit: &[u8],
) -> Result<String, GrantError> {
    let footer = (!footer.is_empty()).then_some(footer);
    PublicToken::sign(&key.secret, payload, footer, Some(implicit))
        .map_err(|_| GrantError::new(Kind::Malformed))
}
