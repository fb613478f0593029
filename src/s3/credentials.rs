//! The customer's AWS credentials, which never leave the gatekeeper.

use std::fmt;

/// An access key pair, optionally with a session token, scoped by the customer's IAM policy to
/// the one bucket. `Debug` redacts the secret parts so a stray log line cannot leak them.
#[derive(Clone)]
pub struct Credentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
}

impl Credentials {
    /// Credentials from their parts.
    pub fn new(
        access_key_id: String,
        secret_access_key: String,
        session_token: Option<String>,
    ) -> Self {
        Self {
            access_key_id,
            secret_access_key,
            session_token,
        }
    }

    /// The public half of the key pair, which is safe to log.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    pub(crate) fn to_identity(&self) -> aws_smithy_runtime_api::client::identity::Identity {
        aws_credential_types::Credentials::new(
            &self.access_key_id,
            &self.secret_access_key,
            self.session_token.clone(),
            None,
            "s3-gatekeeper",
        )
        .into()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "** redacted **"),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let c = Credentials::new("AKID".into(), "s3cr3t".into(), Some("t0k3n".into()));
        let shown = format!("{c:?}");
        assert!(shown.contains("AKID"));
        assert!(!shown.contains("s3cr3t") && !shown.contains("t0k3n"));
    }
}
