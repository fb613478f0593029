//! The one error type every refusal and failure turns into before it reaches a caller.
//!
//! Each error knows three public things: the HTTP status, a stable machine-readable `code` that
//! clients and the audit log can match on, and a short human message that is safe to show anyone.
//! Its `Display` form carries the private detail (which setting is wrong, what S3 said) and is
//! meant for the operator's log only; it never reaches a response body.

use std::fmt;

use http::StatusCode;

use crate::acl::AclDenial;
use crate::cors::OriginNotAllowed;
use crate::grant::GrantError;
use crate::multipart::MultipartError;
use crate::request::RequestError;
use crate::s3::UpstreamError;
use crate::upload::UploadError;

/// A refusal or failure of one transaction.
///
/// Opaque by design: callers match on [`Error::code`], which is stable, rather than on variants,
/// which may grow.
#[derive(Debug)]
pub struct Error {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Misconfigured,
    Request(RequestError),
    Acl(AclDenial),
    Origin(OriginNotAllowed),
    Grant(GrantError),
    Upstream(UpstreamError),
    Upload(UploadError),
    Multipart(MultipartError),
    AuditUnavailable,
    Internal,
}

impl Error {
    /// The settings are missing or invalid; the adapter logs which one.
    pub const fn misconfigured() -> Self {
        Self {
            kind: Kind::Misconfigured,
        }
    }

    /// The audit log could not record the transaction, so it was not carried out.
    pub const fn audit_unavailable() -> Self {
        Self {
            kind: Kind::AuditUnavailable,
        }
    }

    /// A fault inside the gatekeeper or its runtime; the detail belongs in the log only.
    pub const fn internal() -> Self {
        Self {
            kind: Kind::Internal,
        }
    }

    /// The HTTP status to answer with.
    pub fn status(&self) -> StatusCode {
        match &self.kind {
            Kind::Misconfigured | Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Kind::Request(e) => e.status(),
            Kind::Acl(_) | Kind::Origin(_) => StatusCode::FORBIDDEN,
            Kind::Grant(e) => e.status(),
            Kind::Upstream(e) => e.status(),
            Kind::Upload(e) => e.status(),
            Kind::Multipart(e) => e.status(),
            Kind::AuditUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The stable, machine-readable reason, also recorded as the audit decision.
    pub fn code(&self) -> &'static str {
        match &self.kind {
            Kind::Misconfigured => "misconfigured",
            Kind::Request(e) => e.code(),
            Kind::Acl(e) => e.code(),
            Kind::Origin(_) => OriginNotAllowed::CODE,
            Kind::Grant(e) => e.code(),
            Kind::Upstream(e) => e.code(),
            Kind::Upload(e) => e.code(),
            Kind::Multipart(e) => e.code(),
            Kind::AuditUnavailable => "audit_unavailable",
            Kind::Internal => "internal",
        }
    }

    /// A short message that is safe to show the caller: it names no key, setting or secret.
    pub fn message(&self) -> &'static str {
        match &self.kind {
            Kind::Misconfigured => {
                "the gatekeeper is misconfigured; its operator has been told why"
            }
            Kind::Request(e) => e.message(),
            Kind::Acl(_) => "requests from this network or country are not allowed",
            Kind::Origin(_) => OriginNotAllowed::MESSAGE,
            Kind::Grant(e) => e.message(),
            Kind::Upstream(e) => e.message(),
            Kind::Upload(e) => e.message(),
            Kind::Multipart(e) => e.message(),
            Kind::AuditUnavailable => {
                "the audit log cannot record this request right now, so it was not carried out"
            }
            Kind::Internal => "internal error",
        }
    }

    /// The JSON body of the reply: `{"error":{"code":"…","message":"…"}}`.
    pub fn to_json(&self) -> String {
        serde_json::json!({ "error": { "code": self.code(), "message": self.message() } })
            .to_string()
    }

    /// The HTTP status S3 answered with, when the error came from S3.
    pub fn upstream_status(&self) -> Option<StatusCode> {
        match &self.kind {
            Kind::Upstream(e) => e.upstream_status(),
            _ => None,
        }
    }
}

impl Error {
    /// One error of every kind the gatekeeper can answer with, so that tests can check that
    /// each code is documented (`tests/api_docs.rs`).
    pub fn all() -> Vec<Self> {
        let mut all = vec![
            Self::misconfigured(),
            Self::audit_unavailable(),
            Self::internal(),
            OriginNotAllowed.into(),
        ];
        all.extend(RequestError::ALL.map(Self::from));
        all.extend(AclDenial::ALL.map(Self::from));
        all.extend(GrantError::all().into_iter().map(Self::from));
        all.extend(UpstreamError::all().into_iter().map(Self::from));
        all.extend(UploadError::ALL.map(Self::from));
        all.extend(MultipartError::ALL.map(Self::from));
        all
    }
}

/// The operator's view: the full, private detail. Never sent to a caller.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Misconfigured => f.write_str("misconfigured"),
            Kind::Request(e) => write!(f, "bad request: {e}"),
            Kind::Acl(e) => write!(f, "denied by ACL: {e}"),
            Kind::Origin(e) => write!(f, "refused: {e}"),
            Kind::Grant(e) => write!(f, "grant refused: {e}"),
            Kind::Upstream(e) => write!(f, "upstream: {e}"),
            Kind::Upload(e) => write!(f, "upload refused: {e}"),
            Kind::Multipart(e) => write!(f, "multipart call refused: {e}"),
            Kind::AuditUnavailable => f.write_str("audit log unavailable"),
            Kind::Internal => f.write_str("internal error"),
        }
    }
}

impl std::error::Error for Error {}

macro_rules! from_kind {
    ($($source:ty => $variant:ident),* $(,)?) => {$(
        impl From<$source> for Error {
            fn from(e: $source) -> Self {
                Self { kind: Kind::$variant(e) }
            }
        }
    )*};
}

from_kind! {
    RequestError => Request,
    AclDenial => Acl,
    OriginNotAllowed => Origin,
    GrantError => Grant,
    UpstreamError => Upstream,
    UploadError => Upload,
    MultipartError => Multipart,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_body_has_only_code_and_message() {
        let body: serde_json::Value =
            serde_json::from_str(&Error::audit_unavailable().to_json()).unwrap();
        assert_eq!(body["error"]["code"], "audit_unavailable");
        assert_eq!(body["error"].as_object().unwrap().len(), 2);
    }
}
