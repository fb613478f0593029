//! The rules an upload must meet before a byte of it is sent to S3.

use std::fmt;

use http::{HeaderMap, HeaderValue, StatusCode, header};

use crate::grant::Grant;

/// S3's limit for a single PutObject: 5 GiB.
pub const S3_MAX_PUT_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// An upload that breaks a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadError {
    /// No `Content-Length` (for example a chunked upload): S3 needs the length up front, and
    /// without it the size limits cannot be checked before streaming starts.
    LengthRequired,
    /// `Content-Length` is not a number.
    BadLength,
    /// Larger than the grant's `max_size` or the gatekeeper's `MAX_UPLOAD_BYTES`.
    TooLarge,
    /// The `Content-Type` is not the one the grant names.
    ContentTypeMismatch,
    /// A `Content-MD5` or `x-amz-checksum-sha256` that is not the base64 of a digest.
    BadDigest,
    /// An `x-amz-checksum-sha256` other than the grant's `sha256`, or grants that name
    /// different ones.
    DigestMismatch,
}

impl UploadError {
    /// Every kind, for checks that every code is documented.
    pub(crate) const ALL: [Self; 6] = [
        Self::LengthRequired,
        Self::BadLength,
        Self::TooLarge,
        Self::ContentTypeMismatch,
        Self::BadDigest,
        Self::DigestMismatch,
    ];
}

impl UploadError {
    pub(crate) fn status(self) -> StatusCode {
        match self {
            Self::LengthRequired => StatusCode::LENGTH_REQUIRED,
            Self::BadLength | Self::BadDigest | Self::DigestMismatch => StatusCode::BAD_REQUEST,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::ContentTypeMismatch => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        }
    }

    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::LengthRequired => "length_required",
            Self::BadLength => "bad_content_length",
            Self::TooLarge => "too_large",
            Self::ContentTypeMismatch => "content_type_mismatch",
            Self::BadDigest => "bad_digest",
            Self::DigestMismatch => "digest_mismatch",
        }
    }

    pub(crate) fn message(self) -> &'static str {
        match self {
            Self::LengthRequired => {
                "uploads need a Content-Length; chunked uploads are not accepted"
            }
            Self::BadLength => "the Content-Length is not a valid number",
            Self::TooLarge => "the upload is larger than allowed",
            Self::ContentTypeMismatch => {
                "the upload's Content-Type is not the one the grant allows"
            }
            Self::BadDigest => {
                "Content-MD5 and x-amz-checksum-sha256 must each be the base64 of one digest"
            }
            Self::DigestMismatch => "the upload's checksum is not the one the grant allows",
        }
    }
}

impl fmt::Display for UploadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl std::error::Error for UploadError {}

/// An upload's checked length and content type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The exact number of body bytes; the adapter enforces it while streaming.
    pub length: u64,
    /// The content type to store, if any.
    pub content_type: Option<HeaderValue>,
}

/// An upload's `Content-Length`: required, and only digits.
pub(crate) fn length(headers: &HeaderMap) -> Result<u64, UploadError> {
    headers
        .get(header::CONTENT_LENGTH)
        .ok_or(UploadError::LengthRequired)?
        .to_str()
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse().ok())
        .ok_or(UploadError::BadLength)
}

/// Checks that the upload's `Content-Type` is the one every grant that names one allows.
pub(crate) fn check_type(headers: &HeaderMap, grants: &[Grant]) -> Result<(), UploadError> {
    let content_type = headers.get(header::CONTENT_TYPE);
    for wanted in grants.iter().filter_map(|g| g.content_type.as_deref()) {
        if content_type.and_then(|v| v.to_str().ok()) != Some(wanted) {
            return Err(UploadError::ContentTypeMismatch);
        }
    }
    Ok(())
}

/// Checks an upload's headers against the gatekeeper's limit and every grant's bounds.
pub(crate) fn check(
    headers: &HeaderMap,
    grants: &[Grant],
    max_bytes: u64,
) -> Result<Upload, UploadError> {
    let length = length(headers)?;
    let limit = grants
        .iter()
        .filter_map(|g| g.max_size)
        .fold(max_bytes, u64::min);
    if length > limit {
        return Err(UploadError::TooLarge);
    }
    check_type(headers, grants)?;
    Ok(Upload {
        length,
        content_type: headers.get(header::CONTENT_TYPE).cloned(),
    })
}
