//! Where the archive goes, and the signed requests that write and read it back.

use std::fmt;
use std::time::SystemTime;

use ct_codecs::Encoder as _;
use http::{HeaderName, HeaderValue, Method, Request};

use crate::archive::{ArchiveError, Object, ObjectKind};
use crate::s3::{Addressing, Bucket, BucketUrl, Credentials, Endpoint, Payload, Signer};

/// The archive settings: `AUDIT_ARCHIVE_BUCKET`, `AUDIT_ARCHIVE_PREFIX` and the credentials
/// (`AUDIT_ARCHIVE_ACCESS_KEY_ID` / `AUDIT_ARCHIVE_SECRET_ACCESS_KEY`, or the main ones). The
/// endpoint, region and addressing are the gatekeeper's own (`S3_ENDPOINT`, `S3_REGION`,
/// `S3_ADDRESSING`).
#[derive(Clone, Debug)]
pub struct Target {
    /// The bucket.
    pub bucket: Bucket,
    /// The folder every archive object is placed under: empty, or ending in `/`.
    pub prefix: String,
    /// The credentials that write and read the archive.
    pub credentials: Credentials,
}

/// `AUDIT_ARCHIVE_PREFIX` is not a folder: it must be empty or end in `/`, must not start with
/// `/`, and is at most 512 bytes without control characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidPrefix;

impl fmt::Display for InvalidPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a folder: empty, or up to 512 bytes ending in / (and not starting with /)")
    }
}

impl std::error::Error for InvalidPrefix {}

impl Target {
    /// Checks `prefix` (`AUDIT_ARCHIVE_PREFIX`).
    pub fn prefix(prefix: &str) -> Result<String, InvalidPrefix> {
        let folder = prefix.is_empty() || (prefix.ends_with('/') && !prefix.starts_with('/'));
        if !folder || prefix.len() > 512 || prefix.chars().any(char::is_control) {
            return Err(InvalidPrefix);
        }
        Ok(prefix.to_owned())
    }
}

/// The archive bucket, with what it takes to sign requests to it.
#[derive(Clone, Debug)]
pub struct Archive {
    signer: Signer,
    prefix: String,
}

impl Archive {
    /// The archive `target`, reached like the gatekeeper's own bucket.
    pub fn new(
        target: Target,
        endpoint: &Endpoint,
        region: String,
        addressing: Addressing,
    ) -> Self {
        let url = BucketUrl::new(endpoint, &target.bucket, addressing, String::new());
        Self {
            signer: Signer::new(url, region, target.credentials),
            prefix: target.prefix,
        }
    }

    /// The folder every archive object is placed under.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The signed request that writes `object`. The signature covers the body's SHA-256, so S3
    /// stores exactly these bytes or nothing; `x-amz-checksum-sha256` is the integrity header a
    /// bucket with S3 Object Lock requires of every write.
    pub fn put(&self, object: &Object, now: SystemTime) -> Result<Request<()>, ArchiveError> {
        let checksum = ct_codecs::Base64::encode_to_string(object.sha256.as_bytes())
            .map_err(|_| ArchiveError::unsigned())?;
        let content_type = match object.kind {
            ObjectKind::Rows => "application/gzip",
            ObjectKind::Seal => "application/json",
        };
        let headers = [
            (
                http::header::CONTENT_TYPE,
                HeaderValue::from_static(content_type),
            ),
            (
                HeaderName::from_static("x-amz-checksum-sha256"),
                HeaderValue::try_from(checksum).map_err(|_| ArchiveError::unsigned())?,
            ),
        ];
        self.signer
            .object(
                Method::PUT,
                &object.key,
                headers,
                Payload::Digest(*object.sha256.as_bytes()),
                now,
            )
            .map_err(|_| ArchiveError::unsigned())
    }

    /// The signed request that reads `object` back.
    pub fn get(&self, object: &Object, now: SystemTime) -> Result<Request<()>, ArchiveError> {
        self.signer
            .object(Method::GET, &object.key, [], Payload::Empty, now)
            .map_err(|_| ArchiveError::unsigned())
    }
}
