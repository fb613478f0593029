//! The `filename` claim, and the `Content-Disposition` it puts on a read's reply.
//!
//! A link opened in a browser shows the object or saves it under a name the browser makes up
//! from the URL. A grant may name the file instead: the reply then says
//! `Content-Disposition: attachment` with that name, in both forms RFC 6266 asks for, a plain
//! ASCII `filename` for old clients and `filename*=UTF-8''…` (RFC 8187, which replaced RFC 5987)
//! for the rest.
//!
//! The name comes from the vendor, but it ends up in the caller's file system and in a reply
//! header, so a name that could do harm there is refused, which refuses the grant: control
//! characters (a line break would split the header), path separators and `.`/`..` (a path, not
//! a name), and the invisible characters that make `invoice\u{202e}fdp.exe` read as
//! `invoiceexe.pdf`. Quotes, `;`, `%` and non-ASCII are fine: they are encoded.

use std::fmt::{self, Write as _};
use std::str::FromStr;

use http::HeaderValue;

use crate::grant::Grant;

/// The longest name, in UTF-8 bytes: most file systems take no longer one.
pub const MAX_FILENAME_BYTES: usize = 255;

/// A file name a grant may give its reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filename(String);

/// Why a name is not a [`Filename`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidFilename {
    kind: Kind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Empty,
    TooLong,
    ControlCharacter,
    PathSeparator,
    DotSegment,
    InvisibleCharacter,
}

impl fmt::Display for InvalidFilename {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            Kind::Empty => "a file name may not be empty",
            Kind::TooLong => "a file name may not be longer than 255 bytes",
            Kind::ControlCharacter => "a file name may not contain control characters",
            Kind::PathSeparator => "a file name may not contain / or \\",
            Kind::DotSegment => "a file name may not be . or ..",
            Kind::InvisibleCharacter => {
                "a file name may not contain invisible formatting characters (bidi, zero-width)"
            }
        })
    }
}

impl std::error::Error for InvalidFilename {}

/// Characters that change how a name reads without being seen: bidirectional marks, overrides
/// and isolates, zero-width characters, the byte order mark, and the line and paragraph
/// separators (which `char::is_control` does not cover).
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{061c}'
        | '\u{200b}'..='\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{feff}')
}

impl FromStr for Filename {
    type Err = InvalidFilename;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let refuse = |kind| Err(InvalidFilename { kind });
        if name.is_empty() {
            return refuse(Kind::Empty);
        }
        if name.len() > MAX_FILENAME_BYTES {
            return refuse(Kind::TooLong);
        }
        if name.chars().any(char::is_control) {
            return refuse(Kind::ControlCharacter);
        }
        if name.contains(['/', '\\']) {
            return refuse(Kind::PathSeparator);
        }
        if name == "." || name == ".." {
            return refuse(Kind::DotSegment);
        }
        if name.chars().any(is_invisible) {
            return refuse(Kind::InvisibleCharacter);
        }
        Ok(Self(name.to_owned()))
    }
}

impl Filename {
    /// The name as the grant gave it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `attachment; filename="…"; filename*=UTF-8''…`.
    ///
    /// The quoted `filename` is the name with every byte outside printable ASCII, and `"`, `\`
    /// and `%`, replaced by `_`: quoted-string escapes are read inconsistently by browsers
    /// (RFC 6266, appendix D), and some percent-decode this form. `filename*` carries the name
    /// exactly, UTF-8 percent-encoded except for RFC 8187's `attr-char`s; clients that read it
    /// prefer it.
    pub fn content_disposition(&self) -> HeaderValue {
        let fallback: String = self
            .0
            .chars()
            .map(|c| match c {
                '"' | '\\' | '%' => '_',
                ' '..='~' => c,
                _ => '_',
            })
            .collect();
        let mut value = format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''");
        for &byte in self.0.as_bytes() {
            if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
                value.push(char::from(byte));
            } else {
                // Writing to a String cannot fail.
                let _ = write!(value, "%{byte:02X}");
            }
        }
        // Only printable ASCII was written, which is always a valid header value.
        HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("attachment"))
    }
}

/// The `Content-Disposition` a read's reply gets from its grants: that of the first grant, in
/// the order the audit log names them (which the caller cannot choose), that has a `filename`;
/// `None` when none has one, and S3's own header, if any, is passed on instead.
pub fn header(grants: &[Grant]) -> Option<HeaderValue> {
    grants
        .iter()
        .find_map(|grant| grant.filename.as_ref())
        .map(Filename::content_disposition)
}
