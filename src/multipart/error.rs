//! Why a multipart call was refused.

use std::fmt;

use http::StatusCode;

/// A multipart call that breaks a rule. Each refusal has a stable code (docs/api.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultipartError {
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A grant of the request does not carry `multipart: true`.
    NotAllowed,
    /// The query is not one of the multipart calls: an unknown or repeated parameter, an upload
    /// id that is not one S3 gives, or a part number outside 1 to 10 000.
    BadQuery,
    /// The upload id is not bound to this grant and key (another upload, another grant, one
    /// completed, aborted or expired).
    UnknownUpload,
    /// The part is larger than the gatekeeper's part size (`MULTIPART_PART_MAX_MB`).
    PartTooLarge,
    /// The part would take the upload past its size limit.
    UploadTooLarge,
    /// The completion's body is not the documented JSON.
    BadCompletion,
    /// The completion's body is larger than [`super::MAX_COMPLETION_BYTES`].
    CompletionTooLarge,
    /// The completion names a part that was never uploaded through the gatekeeper.
    UnknownPart,
}

impl MultipartError {
    /// Every kind, for checks that every code is documented.
    pub(crate) const ALL: [Self; 8] = [
        Self::new(Kind::NotAllowed),
        Self::new(Kind::BadQuery),
        Self::new(Kind::UnknownUpload),
        Self::new(Kind::PartTooLarge),
        Self::new(Kind::UploadTooLarge),
        Self::new(Kind::BadCompletion),
        Self::new(Kind::CompletionTooLarge),
        Self::new(Kind::UnknownPart),
    ];

    pub(crate) const fn new(kind: Kind) -> Self {
        Self { kind }
    }

    /// The grant does not allow uploads in parts.
    pub const fn not_allowed() -> Self {
        Self::new(Kind::NotAllowed)
    }

    /// The upload id is not bound to this grant and key.
    pub const fn unknown_upload() -> Self {
        Self::new(Kind::UnknownUpload)
    }

    /// The part would take the upload past its size limit.
    pub const fn upload_too_large() -> Self {
        Self::new(Kind::UploadTooLarge)
    }

    /// The part is larger than the gatekeeper's part size.
    pub const fn part_too_large() -> Self {
        Self::new(Kind::PartTooLarge)
    }

    /// The completion names a part never uploaded through the gatekeeper.
    pub const fn unknown_part() -> Self {
        Self::new(Kind::UnknownPart)
    }

    /// The completion's body is not the documented JSON.
    pub const fn bad_completion() -> Self {
        Self::new(Kind::BadCompletion)
    }

    /// The completion's body is too large.
    pub const fn completion_too_large() -> Self {
        Self::new(Kind::CompletionTooLarge)
    }

    /// The HTTP status to answer with.
    pub fn status(self) -> StatusCode {
        match self.kind {
            Kind::NotAllowed => StatusCode::FORBIDDEN,
            Kind::BadQuery | Kind::BadCompletion | Kind::UnknownPart => StatusCode::BAD_REQUEST,
            Kind::UnknownUpload => StatusCode::NOT_FOUND,
            Kind::PartTooLarge | Kind::UploadTooLarge | Kind::CompletionTooLarge => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
        }
    }

    /// The stable code in replies and the audit log.
    pub fn code(self) -> &'static str {
        match self.kind {
            Kind::NotAllowed => "multipart_not_allowed",
            Kind::BadQuery => "multipart_bad_query",
            Kind::UnknownUpload => "multipart_upload_unknown",
            Kind::PartTooLarge => "multipart_part_too_large",
            Kind::UploadTooLarge => "multipart_too_large",
            Kind::BadCompletion => "multipart_bad_completion",
            Kind::CompletionTooLarge => "multipart_completion_too_large",
            Kind::UnknownPart => "multipart_part_unknown",
        }
    }

    /// A short message that is safe to show anyone.
    pub fn message(self) -> &'static str {
        match self.kind {
            Kind::NotAllowed => "the grant does not allow uploads in parts",
            Kind::BadQuery => {
                "a multipart call takes uploads, or uploadId (and partNumber 1-10000 for a part)"
            }
            Kind::UnknownUpload => "no such upload for this grant and key",
            Kind::PartTooLarge => "the part is larger than this gatekeeper's part size",
            Kind::UploadTooLarge => "the part would take the upload past its size limit",
            Kind::BadCompletion => {
                "a completion is {\"parts\":[{\"part\":N,\"etag\":\"…\"}]}, parts in ascending order"
            }
            Kind::CompletionTooLarge => "the completion's body is too large",
            Kind::UnknownPart => "the completion names a part that was not uploaded",
        }
    }
}

impl fmt::Display for MultipartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl std::error::Error for MultipartError {}
