//! Object keys, kept byte for byte as the grant names them.

use std::fmt;
use std::str::FromStr;

/// S3 refuses keys longer than 1024 bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 1024;

/// An S3 object key.
///
/// The key a grant names is the key that is signed and sent to S3, byte for byte: there is no
/// normalisation of `..`, `//`, `%2F`, `+`, trailing slashes or Unicode forms, because any
/// rewriting between the check and the signature is a way to reach an object the grant does not
/// name. S3 itself treats keys as opaque byte strings.
///
/// A key is non-empty valid UTF-8 of at most 1024 bytes with no control characters (S3 accepts
/// some, but they cannot travel in an HTTP header or be shown safely in an audit log), and with
/// no `.` or `..` segment between slashes: every URL parser, the Workers runtime's `fetch`
/// included, resolves those (even percent-encoded), so such a key could never be sent to S3 as
/// it was signed. It is refused up front instead of failing obscurely at S3.
///
/// ```
/// use s3_gatekeeper::ObjectKey;
///
/// let key: ObjectKey = "reports//2026/q3 (final).csv".parse().unwrap();
/// assert_eq!(key.as_str(), "reports//2026/q3 (final).csv", "kept exactly as given");
/// assert!("reports/../q3.csv".parse::<ObjectKey>().is_err());
/// assert!("".parse::<ObjectKey>().is_err());
/// assert!("a\nb".parse::<ObjectKey>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey(String);

/// Why a string is not an acceptable object key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidKey {
    /// The key is empty.
    Empty,
    /// The key is longer than [`MAX_KEY_BYTES`].
    TooLong,
    /// The key contains a control character.
    ControlCharacter,
    /// The key has a `.` or `..` segment.
    DotSegment,
}

impl fmt::Display for InvalidKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "the key is empty",
            Self::TooLong => "the key is longer than 1024 bytes",
            Self::ControlCharacter => "the key contains a control character",
            Self::DotSegment => "the key has a . or .. segment, which URLs cannot carry",
        })
    }
}

impl std::error::Error for InvalidKey {}

impl ObjectKey {
    /// The key as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this key lies under `prefix`, compared byte for byte.
    pub fn starts_with(&self, prefix: &str) -> bool {
        self.0.starts_with(prefix)
    }
}

impl FromStr for ObjectKey {
    type Err = InvalidKey;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            Err(InvalidKey::Empty)
        } else if s.len() > MAX_KEY_BYTES {
            Err(InvalidKey::TooLong)
        } else if s.chars().any(char::is_control) {
            Err(InvalidKey::ControlCharacter)
        } else if s
            .split('/')
            .any(|segment| segment == "." || segment == "..")
        {
            Err(InvalidKey::DotSegment)
        } else {
            Ok(Self(s.to_owned()))
        }
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Percent-encodes a key for a URL path (an S3 request's, or the gatekeeper's own), the way SigV4
/// canonicalises it for S3.
///
/// Every byte except the RFC 3986 unreserved characters and `/` is encoded, so the path that is
/// sent is already canonical and S3 decodes it back to exactly the same bytes. `/` stays literal
/// because S3 keys use it as a plain character and SigV4 for S3 does not encode it.
pub fn encode_path(key: &str, out: &mut String) {
    encode(key, b"/", out);
}

/// Percent-encodes a query value the way SigV4 canonicalises it: every byte but the RFC 3986
/// unreserved characters, `/` included.
pub(crate) fn encode_query(value: &str, out: &mut String) {
    encode(value, b"", out);
}

fn encode(text: &str, also_literal: &[u8], out: &mut String) {
    use std::fmt::Write;
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'_' | b'.' | b'~')
            || also_literal.contains(&byte)
        {
            out.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_everything_but_unreserved_and_slash() {
        let mut out = String::new();
        encode_path("a b/c+d%2F/é/..//~x", &mut out);
        assert_eq!(out, "a%20b/c%2Bd%252F/%C3%A9/..//~x");
    }

    #[test]
    fn length_is_counted_in_bytes() {
        assert!("é".repeat(512).parse::<ObjectKey>().is_ok());
        assert_eq!(
            "é".repeat(513).parse::<ObjectKey>(),
            Err(InvalidKey::TooLong)
        );
    }
}
