//! S3 multipart uploads through the gatekeeper: objects larger than one request may carry.
//!
//! A `put` grant with `multipart: true` (and a `max_size`) allows one upload in parts. Creating
//! it spends the grant's `jti`, as a single PUT does, and binds S3's new upload id to that grant
//! in D1 ([`ledger`]): its key, size limit and expiry. Each part, the completion, the abort and
//! the list of parts must carry that same grant and name that upload id; a part is counted
//! against the limit, in one SQL statement, before a byte of it is sent to S3. docs/api.md and
//! docs/grants.md describe the calls for vendors.

mod completion;
mod error;
pub mod ledger;

pub use completion::{Completion, MAX_COMPLETION_BYTES, PartTag};
pub use error::MultipartError;

use std::fmt;

use http::Method;

use crate::grant::Grant;
use error::Kind;

/// The highest part number S3 accepts.
pub const MAX_PART_NUMBER: u16 = 10_000;

/// The longest upload id accepted. S3's are a few hundred bytes at most.
pub const MAX_UPLOAD_ID_BYTES: usize = 1024;

/// The largest object S3 can assemble from parts: 5 TiB.
pub const S3_MAX_OBJECT_BYTES: u64 = 5 * 1024 * 1024 * 1024 * 1024;

/// An upload id as S3 gave it: printable ASCII without the characters that would need care in a
/// query or a log (S3's are base64url-like, garage's hex, others UUIDs).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UploadId(String);

impl UploadId {
    /// Checks an upload id, from the caller's query or from S3's reply.
    pub fn parse(id: &str) -> Option<Self> {
        let ok = !id.is_empty()
            && id.len() <= MAX_UPLOAD_ID_BYTES
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.~+/=".contains(&b));
        ok.then(|| Self(id.to_owned()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UploadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One call of a multipart upload, read from the method and query of `/objects/{key}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// `POST ?uploads`: `CreateMultipartUpload`.
    Create,
    /// `PUT ?uploadId=…&partNumber=N`: `UploadPart`.
    Part {
        /// The upload.
        upload: UploadId,
        /// The part number, 1 to [`MAX_PART_NUMBER`].
        number: u16,
    },
    /// `POST ?uploadId=…`: `CompleteMultipartUpload`, with a JSON body.
    Complete {
        /// The upload.
        upload: UploadId,
    },
    /// `DELETE ?uploadId=…`: `AbortMultipartUpload`.
    Abort {
        /// The upload.
        upload: UploadId,
    },
    /// `GET ?uploadId=…`: `ListParts`.
    ListParts {
        /// The upload.
        upload: UploadId,
    },
}

impl Step {
    /// The step `method` and `query` on an object ask for: `Ok(None)` when the query names no
    /// multipart parameter (a plain object call), an error when it names one wrongly.
    ///
    /// Each parameter may appear once and no other may appear, so a typo is an error rather than
    /// a silently different call.
    pub fn from_query(
        method: &Method,
        query: Option<&str>,
    ) -> Result<Option<Self>, MultipartError> {
        let bad = || MultipartError::new(Kind::BadQuery);
        let Some(query) = query.filter(|q| names_multipart(q)) else {
            return Ok(None);
        };
        let (mut uploads, mut upload, mut number) = (false, None, None);
        let mut seen: Vec<String> = Vec::new();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            if seen.iter().any(|s| *s == name) {
                return Err(bad());
            }
            match &*name {
                "uploads" if value.is_empty() => uploads = true,
                "uploadId" => upload = Some(UploadId::parse(&value).ok_or_else(bad)?),
                "partNumber" => {
                    number = Some(
                        Some(&*value)
                            .filter(|v| {
                                !v.starts_with('0') && v.bytes().all(|b| b.is_ascii_digit())
                            })
                            .and_then(|v| v.parse::<u16>().ok())
                            .filter(|n| (1..=MAX_PART_NUMBER).contains(n))
                            .ok_or_else(bad)?,
                    );
                }
                _ => return Err(bad()),
            }
            seen.push(name.into_owned());
        }
        let step = match (method, uploads, upload, number) {
            (&Method::POST, true, None, None) => Self::Create,
            (&Method::PUT, false, Some(upload), Some(number)) => Self::Part { upload, number },
            (&Method::POST, false, Some(upload), None) => Self::Complete { upload },
            (&Method::DELETE, false, Some(upload), None) => Self::Abort { upload },
            (&Method::GET, false, Some(upload), None) => Self::ListParts { upload },
            _ => return Err(bad()),
        };
        Ok(Some(step))
    }

    /// The upload this call is about; `None` for [`Step::Create`], which makes one.
    pub fn upload(&self) -> Option<&UploadId> {
        match self {
            Self::Create => None,
            Self::Part { upload, .. }
            | Self::Complete { upload }
            | Self::Abort { upload }
            | Self::ListParts { upload } => Some(upload),
        }
    }

    /// The name of the call, as the audit log records it in `operation`.
    pub const fn audit_name(&self) -> &'static str {
        match self {
            Self::Create => "put.create",
            Self::Part { .. } => "put.part",
            Self::Complete { .. } => "put.complete",
            Self::Abort { .. } => "put.abort",
            Self::ListParts { .. } => "put.parts",
        }
    }
}

/// Whether a query names a multipart parameter at all, which makes it a multipart call.
pub fn names_multipart(query: &str) -> bool {
    form_urlencoded::parse(query.as_bytes())
        .any(|(name, _)| matches!(&*name, "uploads" | "uploadId" | "partNumber"))
}

/// What an allowed multipart call may do: which grant it is made under and the upload's limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The call.
    pub step: Step,
    /// The upload's binding: for [`Step::Create`] the one to record, for every other call the
    /// one the upload id must have.
    pub binding: Binding,
    /// The largest part, in bytes.
    pub part_max_bytes: u64,
}

/// The grant and limits an upload id is bound to in D1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The PASERK id of the key that signed the grant (the first, in the audit log's order).
    pub key_id: String,
    /// That grant's `jti`.
    pub jti: String,
    /// The object key, relative to the key root.
    pub object_key: String,
    /// The largest the whole object may be, in bytes.
    pub max_bytes: u64,
    /// The last millisecond the upload may be used: when its grant can no longer be accepted.
    pub expires_ms: i64,
}

impl Binding {
    /// The binding of an upload made under `grants` (all allowing it, the first named in the
    /// audit log) for `object_key`: the smallest `max_size` of them, no more than `max_bytes`,
    /// until the earliest expiry plus the clock-skew allowance. `None` unless every grant allows
    /// uploads in parts and the first has a `jti`.
    pub fn of(grants: &[Grant], object_key: &str, max_bytes: u64, clock_skew: u32) -> Option<Self> {
        let first = grants.first()?;
        if !grants.iter().all(|g| g.multipart) {
            return None;
        }
        let max_bytes = grants
            .iter()
            .map(|g| g.max_size)
            .try_fold(max_bytes.min(S3_MAX_OBJECT_BYTES), |limit, size| {
                size.map(|size| limit.min(size))
            })?;
        let expires = grants.iter().map(|g| g.expires).min()?;
        // Grants are checked to the whole second: one is accepted through the last millisecond
        // of the second `exp + skew`.
        let expires_ms = expires
            .saturating_add(i64::from(clock_skew))
            .saturating_add(1)
            .saturating_mul(1000)
            .saturating_sub(1);
        Some(Self {
            key_id: first.key_id.clone(),
            jti: first.jti.clone()?,
            object_key: object_key.to_owned(),
            max_bytes,
            expires_ms,
        })
    }
}
