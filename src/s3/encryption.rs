//! Server-side encryption, which the gatekeeper sets on every upload.

use std::str::FromStr;

use http::{HeaderName, HeaderValue};

/// How uploaded objects are encrypted at rest. Chosen by the customer, never by the caller.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Encryption {
    /// `AES256`: S3-managed keys (SSE-S3). The default.
    #[default]
    Aes256,
    /// `aws:kms`: AWS KMS keys (SSE-KMS), with the bucket's default key or this key id.
    Kms(Option<HeaderValue>),
    /// Send no encryption header and rely on the bucket's default encryption.
    BucketDefault,
}

impl FromStr for Encryption {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "AES256" => Ok(Self::Aes256),
            "aws:kms" => Ok(Self::Kms(None)),
            "bucket-default" => Ok(Self::BucketDefault),
            _ => Err(()),
        }
    }
}

impl Encryption {
    /// The headers an upload carries to S3.
    pub(crate) fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        let sse = HeaderName::from_static("x-amz-server-side-encryption");
        match self {
            Self::Aes256 => vec![(sse, HeaderValue::from_static("AES256"))],
            Self::Kms(key) => {
                let mut headers = vec![(sse, HeaderValue::from_static("aws:kms"))];
                if let Some(key) = key {
                    let name =
                        HeaderName::from_static("x-amz-server-side-encryption-aws-kms-key-id");
                    headers.push((name, key.clone()));
                }
                headers
            }
            Self::BucketDefault => Vec::new(),
        }
    }
}
