//! Where the bucket lives: the S3 endpoint, the addressing style and the bucket name.

use std::fmt;
use std::str::FromStr;

use http::Uri;
use http::uri::{Authority, Scheme};

use crate::s3::key::encode_path;

/// How the bucket is named in a request URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Addressing {
    /// `https://BUCKET.s3.REGION.amazonaws.com/KEY`: Amazon S3's standard form.
    #[default]
    VirtualHosted,
    /// `https://ENDPOINT/BUCKET/KEY`: for S3-compatible servers and local testing.
    Path,
}

impl FromStr for Addressing {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "virtual" => Ok(Self::VirtualHosted),
            "path" => Ok(Self::Path),
            _ => Err(()),
        }
    }
}

/// A bucket name, checked against S3's naming rules.
///
/// S3 rules: 3 to 63 characters of lower-case letters, digits, `.` and `-`, beginning and ending
/// with a letter or digit, with no `..` and not shaped like an IPv4 address. Checking them here
/// means a typo in the configuration is reported by name instead of as a puzzling S3 error.
///
/// ```
/// use s3_gatekeeper::s3::Bucket;
///
/// assert!("acme-reports".parse::<Bucket>().is_ok());
/// assert!("Acme_Reports".parse::<Bucket>().is_err());
/// assert!("192.168.1.1".parse::<Bucket>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket(String);

/// The string breaks one of S3's bucket naming rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidBucket;

impl fmt::Display for InvalidBucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a valid S3 bucket name (3-63 of a-z, 0-9, '.', '-')")
    }
}

impl std::error::Error for InvalidBucket {}

impl FromStr for Bucket {
    type Err = InvalidBucket;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let edge_ok =
            |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let valid = (3..=63).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
            && edge_ok(s.chars().next())
            && edge_ok(s.chars().last())
            && !s.contains("..")
            && s.parse::<std::net::Ipv4Addr>().is_err();
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidBucket)
        }
    }
}

impl Bucket {
    /// The bucket name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The base URL of the S3 service: scheme and authority, nothing else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    scheme: Scheme,
    authority: Authority,
}

/// Why an endpoint URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidEndpoint {
    /// Not an absolute URL.
    NotAUrl,
    /// Neither `https` nor `http`.
    UnsupportedScheme,
    /// The URL has a path, query or user info; the bucket and key are added by the gatekeeper.
    NotBare,
}

impl fmt::Display for InvalidEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotAUrl => "not an absolute URL such as https://s3.eu-west-1.amazonaws.com",
            Self::UnsupportedScheme => "the scheme must be https (or http for local testing)",
            Self::NotBare => "the URL must have no path, query or user name",
        })
    }
}

impl std::error::Error for InvalidEndpoint {}

impl FromStr for Endpoint {
    type Err = InvalidEndpoint;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let uri: Uri = s.parse().map_err(|_| InvalidEndpoint::NotAUrl)?;
        let parts = uri.into_parts();
        let (Some(scheme), Some(authority)) = (parts.scheme, parts.authority) else {
            return Err(InvalidEndpoint::NotAUrl);
        };
        if scheme != Scheme::HTTPS && scheme != Scheme::HTTP {
            return Err(InvalidEndpoint::UnsupportedScheme);
        }
        let bare_path = parts.path_and_query.is_none_or(|pq| pq.as_str() == "/");
        if !bare_path || authority.as_str().contains('@') || authority.host().is_empty() {
            return Err(InvalidEndpoint::NotBare);
        }
        Ok(Self { scheme, authority })
    }
}

impl Endpoint {
    /// Amazon S3's regional endpoint, `https://s3.REGION.amazonaws.com`.
    pub fn amazon(region: &str) -> Result<Self, InvalidEndpoint> {
        format!("https://s3.{region}.amazonaws.com").parse()
    }
}

/// The fixed part of every request URL: endpoint, bucket, addressing and key root folder.
#[derive(Clone, Debug)]
pub(crate) struct BucketUrl {
    /// `scheme://host[:port]`, with the bucket as a subdomain for virtual-hosted addressing.
    origin: String,
    /// `/bucket/` for path-style addressing, `/` otherwise.
    base_path: String,
    /// Prepended to every key, so the gatekeeper can be confined to one folder of the bucket.
    key_root: String,
}

impl BucketUrl {
    pub(crate) fn new(
        endpoint: &Endpoint,
        bucket: &Bucket,
        addressing: Addressing,
        key_root: String,
    ) -> Self {
        let (origin, base_path) = match addressing {
            Addressing::VirtualHosted => (
                format!("{}://{}.{}", endpoint.scheme, bucket, endpoint.authority),
                "/".to_owned(),
            ),
            Addressing::Path => (
                format!("{}://{}", endpoint.scheme, endpoint.authority),
                format!("/{bucket}/"),
            ),
        };
        Self {
            origin,
            base_path,
            key_root,
        }
    }

    /// The full S3 key for a key named in a grant.
    pub(crate) fn full_key(&self, key: &str) -> String {
        format!("{}{key}", self.key_root)
    }

    /// The URL of the bucket itself, for bucket operations such as listing.
    pub(crate) fn bucket(&self) -> String {
        format!("{}{}", self.origin, self.base_path)
    }

    /// The folder every key is placed under.
    pub(crate) fn key_root(&self) -> &str {
        &self.key_root
    }

    /// The URL of one object, already in SigV4's canonical encoding.
    pub(crate) fn object(&self, key: &str) -> String {
        let mut url = format!("{}{}", self.origin, self.base_path);
        encode_path(&self.full_key(key), &mut url);
        url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(endpoint: &str, addressing: Addressing, root: &str) -> BucketUrl {
        let bucket: Bucket = "acme-reports".parse().unwrap();
        BucketUrl::new(
            &endpoint.parse().unwrap(),
            &bucket,
            addressing,
            root.to_owned(),
        )
    }

    #[test]
    fn virtual_hosted_puts_the_bucket_in_the_host() {
        let u = url(
            "https://s3.eu-west-1.amazonaws.com",
            Addressing::VirtualHosted,
            "",
        );
        assert_eq!(
            u.object("a b.csv"),
            "https://acme-reports.s3.eu-west-1.amazonaws.com/a%20b.csv"
        );
    }

    #[test]
    fn path_style_keeps_port_and_root() {
        let u = url("http://127.0.0.1:9001", Addressing::Path, "tenant-7/");
        assert_eq!(
            u.object("q3.csv"),
            "http://127.0.0.1:9001/acme-reports/tenant-7/q3.csv"
        );
    }

    #[test]
    fn endpoint_must_be_bare() {
        assert_eq!(
            "https://h/x".parse::<Endpoint>(),
            Err(InvalidEndpoint::NotBare)
        );
        assert_eq!(
            "https://u@h".parse::<Endpoint>(),
            Err(InvalidEndpoint::NotBare)
        );
        assert_eq!(
            "ftp://h".parse::<Endpoint>(),
            Err(InvalidEndpoint::UnsupportedScheme)
        );
        assert_eq!("h".parse::<Endpoint>(), Err(InvalidEndpoint::NotAUrl));
        assert!("https://h/".parse::<Endpoint>().is_ok());
    }
}
