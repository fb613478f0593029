//! Minting grants: what a vendor's server does, here for the CLI, tests and benchmarks.
//!
//! The gatekeeper never mints grants in production; it only verifies them. Minting lives in the
//! core so that the CLI signs with exactly the format the worker checks.

use crate::grant::claims::Claims;
use crate::grant::{GrantError, SigningKey, token};

impl SigningKey {
    /// Signs `claims` as a `v4.public` token whose footer, `{"kid":"k4.pid.…"}`, names this key.
    pub fn mint(&self, claims: &Claims) -> Result<String, GrantError> {
        let payload = serde_json::to_vec(claims).map_err(|_| GrantError::malformed())?;
        let footer = serde_json::json!({ "kid": self.id() }).to_string();
        token::seal(self, &payload, footer.as_bytes(), b"")
    }
}
