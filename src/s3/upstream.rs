//! What S3 answered, turned into what the caller may see.
//!
//! Nothing from S3 reaches the caller unfiltered: successful replies pass through only the headers
//! in [`SAFE_HEADERS`], and error replies become gatekeeper errors whose body names no bucket,
//! request id or account.

use std::fmt;

use http::{HeaderName, StatusCode, header};

/// Response headers from S3 that are passed to the caller. Everything else (`x-amz-*` request
/// ids, server names, replication and encryption details) stays inside the gatekeeper.
pub const SAFE_HEADERS: [HeaderName; 9] = [
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    header::CONTENT_RANGE,
    header::CONTENT_ENCODING,
    header::CONTENT_DISPOSITION,
    header::CONTENT_LANGUAGE,
    header::ACCEPT_RANGES,
    header::ETAG,
    header::LAST_MODIFIED,
];

/// S3 could not, or would not, carry out the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamError {
    kind: Kind,
    status: Option<StatusCode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    NotFound,
    Auth,
    PreconditionFailed,
    RangeNotSatisfiable,
    Rejected,
    Unavailable,
    Timeout,
    Unreachable,
    Malformed,
    DigestMismatch,
}

impl UpstreamError {
    /// One error of each kind, for checks that every code is documented.
    pub(crate) fn all() -> Vec<Self> {
        [
            Kind::NotFound,
            Kind::Auth,
            Kind::PreconditionFailed,
            Kind::RangeNotSatisfiable,
            Kind::Rejected,
            Kind::Unavailable,
            Kind::Timeout,
            Kind::Unreachable,
            Kind::Malformed,
            Kind::DigestMismatch,
        ]
        .into_iter()
        .map(|kind| Self { kind, status: None })
        .collect()
    }
}

impl UpstreamError {
    /// S3 did not answer in time.
    pub const fn timeout() -> Self {
        Self {
            kind: Kind::Timeout,
            status: None,
        }
    }

    /// The connection to S3 failed before an answer arrived.
    pub const fn unreachable() -> Self {
        Self {
            kind: Kind::Unreachable,
            status: None,
        }
    }

    /// S3 answered with something that is not a valid reply.
    pub const fn malformed() -> Self {
        Self {
            kind: Kind::Malformed,
            status: None,
        }
    }

    /// Classifies a non-success reply from S3 by its status and the `<Code>` of its XML body.
    ///
    /// A 304 Not Modified is not an error and is never passed here.
    pub fn from_reply(status: StatusCode, s3_code: Option<&str>) -> Self {
        let kind = match (status.as_u16(), s3_code) {
            (404, _) => Kind::NotFound,
            (412, _) => Kind::PreconditionFailed,
            (416, _) => Kind::RangeNotSatisfiable,
            // A refused signature, an unknown or expired key, or an IAM policy that does not allow
            // the action: the customer's credentials or policy need attention, not the caller.
            (401 | 403, _)
            | (
                400,
                Some(
                    "AuthorizationHeaderMalformed"
                    | "ExpiredToken"
                    | "InvalidToken"
                    | "InvalidAccessKeyId"
                    | "SignatureDoesNotMatch"
                    | "NotSignedUp",
                ),
            ) => Kind::Auth,
            // The body did not match the `Content-MD5` or checksum sent with it: the caller's
            // bytes, not the gatekeeper, are at fault, and S3 stored nothing.
            (400, Some("BadDigest" | "InvalidDigest" | "XAmzContentChecksumMismatch")) => {
                Kind::DigestMismatch
            }
            (500..=599, _) => Kind::Unavailable,
            _ => Kind::Rejected,
        };
        Self {
            kind,
            status: Some(status),
        }
    }

    /// The status S3 answered with, if it answered.
    pub fn upstream_status(&self) -> Option<StatusCode> {
        self.status
    }

    pub(crate) fn status(&self) -> StatusCode {
        match self.kind {
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Kind::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            Kind::DigestMismatch => StatusCode::BAD_REQUEST,
            Kind::Auth
            | Kind::Rejected
            | Kind::Unavailable
            | Kind::Unreachable
            | Kind::Malformed => StatusCode::BAD_GATEWAY,
            Kind::Timeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    pub(crate) fn code(&self) -> &'static str {
        match self.kind {
            Kind::NotFound => "not_found",
            Kind::PreconditionFailed => "precondition_failed",
            Kind::RangeNotSatisfiable => "range_not_satisfiable",
            Kind::Auth => "upstream_auth",
            Kind::Rejected => "upstream_rejected",
            Kind::Unavailable => "upstream_unavailable",
            Kind::Timeout => "upstream_timeout",
            Kind::Unreachable => "upstream_unreachable",
            Kind::Malformed => "upstream_malformed",
            Kind::DigestMismatch => "digest_mismatch",
        }
    }

    pub(crate) fn message(&self) -> &'static str {
        match self.kind {
            Kind::NotFound => "no such object",
            Kind::PreconditionFailed => "the object does not match the request's conditions",
            Kind::RangeNotSatisfiable => "the requested range is not within the object",
            Kind::Auth => {
                "the storage service refused the gatekeeper's signature; the bucket owner should check the gatekeeper's credentials and IAM policy"
            }
            Kind::Rejected => "the storage service refused the request",
            Kind::Unavailable => "the storage service failed; try again later",
            Kind::Timeout => "the storage service did not answer in time",
            Kind::Unreachable => "the storage service could not be reached",
            Kind::Malformed => "the storage service answered with something unexpected",
            Kind::DigestMismatch => "the uploaded bytes do not match their checksum",
        }
    }
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(f, "{} (S3 answered {status})", self.code()),
            None => f.write_str(self.code()),
        }
    }
}

impl std::error::Error for UpstreamError {}

/// The `<Code>` of an S3 XML error body, such as `SignatureDoesNotMatch`.
///
/// S3 error bodies are small and flat (`<Error><Code>…</Code>…</Error>`), so a search for the
/// element is enough; a body without one yields `None` and the status alone decides.
pub fn error_code(body: &str) -> Option<&str> {
    let start = body.find("<Code>")? + "<Code>".len();
    let len = body[start..].find("</Code>")?;
    let code = &body[start..start + len];
    code.bytes()
        .all(|b| b.is_ascii_alphanumeric())
        .then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_replies() {
        let cases = [
            (404, Some("NoSuchKey"), StatusCode::NOT_FOUND, "not_found"),
            (
                403,
                Some("SignatureDoesNotMatch"),
                StatusCode::BAD_GATEWAY,
                "upstream_auth",
            ),
            (
                403,
                Some("AccessDenied"),
                StatusCode::BAD_GATEWAY,
                "upstream_auth",
            ),
            (
                400,
                Some("InvalidAccessKeyId"),
                StatusCode::BAD_GATEWAY,
                "upstream_auth",
            ),
            (
                400,
                Some("InvalidArgument"),
                StatusCode::BAD_GATEWAY,
                "upstream_rejected",
            ),
            (
                412,
                None,
                StatusCode::PRECONDITION_FAILED,
                "precondition_failed",
            ),
            (
                416,
                None,
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range_not_satisfiable",
            ),
            (
                503,
                Some("SlowDown"),
                StatusCode::BAD_GATEWAY,
                "upstream_unavailable",
            ),
        ];
        for (status, code, want_status, want_code) in cases {
            let e = UpstreamError::from_reply(StatusCode::from_u16(status).unwrap(), code);
            assert_eq!(
                (e.status(), e.code()),
                (want_status, want_code),
                "{status} {code:?}"
            );
        }
    }

    #[test]
    fn finds_the_error_code() {
        let body = "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><Message>x</Message></Error>";
        assert_eq!(error_code(body), Some("SignatureDoesNotMatch"));
        assert_eq!(error_code("<Error><Code>a<b</Code></Error>"), None);
        assert_eq!(error_code("nothing"), None);
    }
}
