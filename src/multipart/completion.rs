//! The completion's body: the caller's small JSON list of parts, turned into S3's XML.

use serde::Deserialize;

use super::{MAX_PART_NUMBER, MultipartError};

/// The largest completion body read, in bytes: 10 000 parts with S3's longest entity tags fit.
pub const MAX_COMPLETION_BYTES: u64 = 1024 * 1024;

/// The longest entity tag accepted. S3's are 34 bytes (quotes included), a few more with a
/// checksum suffix.
const MAX_ETAG_BYTES: usize = 256;

/// One part the completion assembles.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartTag {
    /// The part number.
    pub part: u16,
    /// The `ETag` S3 gave the part.
    pub etag: String,
}

/// The parts a completion assembles, in ascending order, as S3 requires.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Completion {
    /// The parts.
    pub parts: Vec<PartTag>,
}

impl Completion {
    /// Reads `{"parts":[{"part":1,"etag":"…"}, …]}`: at least one part, numbers 1 to 10 000 in
    /// strictly ascending order, entity tags of printable ASCII.
    pub fn from_json(body: &[u8]) -> Result<Self, MultipartError> {
        if body.len() as u64 > MAX_COMPLETION_BYTES {
            return Err(MultipartError::completion_too_large());
        }
        let completion: Self =
            serde_json::from_slice(body).map_err(|_| MultipartError::bad_completion())?;
        let numbers_ok = completion
            .parts
            .iter()
            .all(|p| (1..=MAX_PART_NUMBER).contains(&p.part))
            && completion.parts.windows(2).all(|w| w[0].part < w[1].part);
        let tags_ok = completion.parts.iter().all(|p| {
            !p.etag.is_empty()
                && p.etag.len() <= MAX_ETAG_BYTES
                && p.etag.bytes().all(|b| b.is_ascii_graphic())
        });
        if completion.parts.is_empty() || !numbers_ok || !tags_ok {
            return Err(MultipartError::bad_completion());
        }
        Ok(completion)
    }

    /// The part numbers, in order.
    pub fn numbers(&self) -> Vec<u16> {
        self.parts.iter().map(|p| p.part).collect()
    }

    /// S3's `CompleteMultipartUpload` body.
    pub fn to_xml(&self) -> String {
        let mut xml = String::from(
            r#"<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">"#,
        );
        for part in &self.parts {
            xml.push_str("<Part><PartNumber>");
            xml.push_str(&part.part.to_string());
            xml.push_str("</PartNumber><ETag>");
            escape(&part.etag, &mut xml);
            xml.push_str("</ETag></Part>");
        }
        xml.push_str("</CompleteMultipartUpload>");
        xml
    }
}

/// Escapes text for an XML element. Entity tags are checked to be printable ASCII, so only the
/// markup characters need it.
fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}
