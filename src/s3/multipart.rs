//! S3's multipart replies: the new upload's id, the parts it holds, and the completed object.

use serde::{Deserialize, Serialize};

use crate::multipart::UploadId;
use crate::s3::UpstreamError;

/// The largest multipart reply read from S3. A `ListParts` page of 1000 parts stays well under
/// it; anything larger is not a real S3 reply.
pub const MAX_MULTIPART_REPLY_BYTES: usize = 1024 * 1024;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InitiateMultipartUploadResult {
    upload_id: String,
}

/// Reads the upload id from S3's `InitiateMultipartUploadResult`.
pub fn parse_created(xml: &str) -> Result<UploadId, UpstreamError> {
    let reply: InitiateMultipartUploadResult =
        quick_xml::de::from_str(xml).map_err(|_| UpstreamError::malformed())?;
    UploadId::parse(&reply.upload_id).ok_or_else(UpstreamError::malformed)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListPartsResult {
    #[serde(default)]
    part: Vec<ListedPartXml>,
    #[serde(default)]
    is_truncated: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListedPartXml {
    part_number: u16,
    #[serde(rename = "ETag")]
    etag: Option<String>,
    size: u64,
}

/// The parts of an upload, as the caller sees them (JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PartList {
    /// The parts S3 holds, in ascending order.
    pub parts: Vec<ListedPart>,
    /// Whether S3 holds more parts than this page of 1000.
    pub truncated: bool,
}

/// One part of an upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ListedPart {
    /// The part number.
    pub part: u16,
    /// The entity tag a completion names it by, when S3 gives one (some S3-compatible stores
    /// do not).
    pub etag: Option<String>,
    /// Its size in bytes.
    pub size: u64,
}

/// Reads S3's `ListPartsResult`.
pub fn parse_parts(xml: &str) -> Result<PartList, UpstreamError> {
    let reply: ListPartsResult =
        quick_xml::de::from_str(xml).map_err(|_| UpstreamError::malformed())?;
    let mut parts: Vec<ListedPart> = reply
        .part
        .into_iter()
        .map(|p| ListedPart {
            part: p.part_number,
            etag: p.etag.filter(|e| !e.is_empty()),
            size: p.size,
        })
        .collect();
    // S3 lists parts in ascending order; not every compatible store does.
    parts.sort_by_key(|p| p.part);
    Ok(PartList {
        parts,
        truncated: reply.is_truncated,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CompleteMultipartUploadResult {
    #[serde(rename = "ETag")]
    etag: String,
}

/// Reads the completed object's entity tag from S3's `CompleteMultipartUploadResult`.
///
/// S3 may answer a completion `200 OK` and still fail it, with an `<Error>` body sent once the
/// assembly fails: such a reply is an error, classified by its code as any other S3 error.
pub fn parse_completed(xml: &str) -> Result<String, UpstreamError> {
    if let Some(code) = super::error_code(xml) {
        return Err(UpstreamError::from_reply(
            http::StatusCode::BAD_REQUEST,
            Some(code),
        ));
    }
    let reply: CompleteMultipartUploadResult =
        quick_xml::de::from_str(xml).map_err(|_| UpstreamError::malformed())?;
    Ok(reply.etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_replies() {
        let created = r#"<?xml version="1.0"?><InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2FkIElE-_.x</UploadId></InitiateMultipartUploadResult>"#;
        assert_eq!(parse_created(created).unwrap().as_str(), "VXBsb2FkIElE-_.x");
        assert!(parse_created("<InitiateMultipartUploadResult><UploadId>a b</UploadId></InitiateMultipartUploadResult>").is_err());
        let parts = r#"<ListPartsResult><Bucket>b</Bucket><IsTruncated>false</IsTruncated><Part><PartNumber>1</PartNumber><ETag>&quot;a&quot;</ETag><Size>5</Size><LastModified>x</LastModified></Part><Part><PartNumber>2</PartNumber><ETag>"b"</ETag><Size>3</Size></Part></ListPartsResult>"#;
        let list = parse_parts(parts).unwrap();
        assert_eq!(list.parts.len(), 2);
        assert_eq!(list.parts[0].etag.as_deref(), Some("\"a\""));
        assert_eq!(list.parts[1].size, 3);
        assert!(
            parse_parts("<ListPartsResult></ListPartsResult>")
                .unwrap()
                .parts
                .is_empty()
        );
        let done = r#"<CompleteMultipartUploadResult><Location>l</Location><ETag>"x-2"</ETag></CompleteMultipartUploadResult>"#;
        assert_eq!(parse_completed(done).unwrap(), "\"x-2\"");
        let failed = "<Error><Code>InternalError</Code><Message>m</Message></Error>";
        assert_eq!(
            parse_completed(failed).unwrap_err().code(),
            "upstream_rejected"
        );
    }
}
