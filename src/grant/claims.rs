//! The claims a vendor grant carries. docs/grants.md is the vendor-facing description.

use serde::{Deserialize, Serialize};

/// The JSON payload of a grant, exactly as it travels.
///
/// Times are RFC 3339 strings, as PASETO registers them. Claims this gatekeeper does not know are
/// ignored, so a vendor may add its own.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Audience: the identifier of the one gatekeeper this grant is for (`GATEKEEPER_ID`).
    pub aud: String,
    /// Expiry, required.
    pub exp: String,
    /// Not before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<String>,
    /// Issued at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<String>,
    /// The vendor's id of the user the grant was issued to, recorded in the audit log.
    pub sub: String,
    /// A unique id for this grant; required for writes, which may use it only once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The operation: `get`, `head`, `put`, `list` or `delete`.
    pub op: String,
    /// The one object key the grant covers (every operation but `list`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The key prefix a `list` grant covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// A CIDR block the caller's IP must be in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// For `put`: the largest object, in bytes, the caller may upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<u64>,
    /// For `put`: the only `Content-Type` the upload may have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// For `put`: the SHA-256 of the only content the upload may have, as 64 lower-case hex
    /// digits; the gatekeeper has S3 check it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// For `get` and `head`: the name the reply offers the object under, as an attachment
    /// (`Content-Disposition`; see [`crate::disposition`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// For `put`: whether the upload may be made in parts (S3 multipart upload). Needs
    /// `max_size`, which then bounds the whole object (docs/grants.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multipart: Option<bool>,
}
