//! ListObjectsV2: asking for one page of keys under a prefix, and reading S3's XML answer.

use serde::{Deserialize, Serialize};

use crate::s3::UpstreamError;

/// The most keys one page may hold, as in S3.
pub const MAX_LIST_KEYS: u16 = 1000;

/// The largest list reply read from S3. A full page of 1000 keys of 1024 bytes each, with their
/// metadata, stays well under it; anything larger is not a real S3 reply.
pub const MAX_LIST_REPLY_BYTES: usize = 4 * 1024 * 1024;

/// One page of a listing, as the caller asked for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListRequest {
    /// The prefix, relative to the key root; must equal the grant's prefix.
    pub prefix: String,
    /// The opaque cursor from the previous page.
    pub cursor: Option<String>,
    /// Keys per page, 1 to 1000.
    pub limit: u16,
    /// Whether to group keys by `/` into `prefixes`, like folders.
    pub folders: bool,
}

/// One page of keys, as the caller sees it (JSON).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Listing {
    /// The prefix listed.
    pub prefix: String,
    /// Objects on this page.
    pub objects: Vec<ListedObject>,
    /// With `folders`, the "sub-folders" (common prefixes ending in `/`).
    pub prefixes: Vec<String>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// One object in a listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ListedObject {
    /// The key, relative to the key root.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// The entity tag, when S3 gives one.
    pub etag: Option<String>,
    /// Last modification, as S3 reports it (ISO 8601).
    pub last_modified: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListBucketResult {
    #[serde(default)]
    contents: Vec<Contents>,
    #[serde(default)]
    common_prefixes: Vec<CommonPrefix>,
    #[serde(default)]
    is_truncated: bool,
    next_continuation_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Contents {
    key: String,
    size: u64,
    #[serde(rename = "ETag")]
    etag: Option<String>,
    #[serde(default)]
    last_modified: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CommonPrefix {
    prefix: String,
}

/// Reads S3's `ListBucketResult` for a request of `prefix` under `key_root`.
///
/// Keys come back relative to the key root. Every key and prefix must lie under the requested
/// prefix; a reply that names anything else is refused rather than passed on, so a listing can
/// never reveal keys outside the grant.
pub fn parse(xml: &str, key_root: &str, prefix: &str) -> Result<Listing, UpstreamError> {
    let reply: ListBucketResult =
        quick_xml::de::from_str(xml).map_err(|_| UpstreamError::malformed())?;
    let full_prefix = format!("{key_root}{prefix}");
    let relative = |key: String| -> Result<String, UpstreamError> {
        if key.starts_with(&full_prefix) {
            Ok(key[key_root.len()..].to_owned())
        } else {
            Err(UpstreamError::malformed())
        }
    };
    let objects = reply
        .contents
        .into_iter()
        .map(|c| {
            Ok(ListedObject {
                key: relative(c.key)?,
                size: c.size,
                etag: c.etag.filter(|e| !e.is_empty()),
                last_modified: c.last_modified,
            })
        })
        .collect::<Result<_, UpstreamError>>()?;
    let prefixes = reply
        .common_prefixes
        .into_iter()
        .map(|p| relative(p.prefix))
        .collect::<Result<_, _>>()?;
    let next_cursor = if reply.is_truncated {
        reply.next_continuation_token
    } else {
        None
    };
    Ok(Listing {
        prefix: prefix.to_owned(),
        objects,
        prefixes,
        next_cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPLY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>acme</Name><Prefix>t7/reports/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <Contents><Key>t7/reports/a &amp; b.csv</Key><LastModified>2026-11-27T20:00:00.000Z</LastModified><ETag>&quot;abc&quot;</ETag><Size>42</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>t7/reports/q3.csv</Key><LastModified>2026-11-27T20:01:00.000Z</LastModified><ETag>"def"</ETag><Size>7</Size></Contents>
  <CommonPrefixes><Prefix>t7/reports/2026/</Prefix></CommonPrefixes>
</ListBucketResult>"#;

    #[test]
    fn reads_a_page_relative_to_the_root() {
        let listing = parse(REPLY, "t7/", "reports/").unwrap();
        assert_eq!(listing.objects.len(), 2);
        assert_eq!(listing.objects[0].key, "reports/a & b.csv");
        assert_eq!(listing.objects[0].etag.as_deref(), Some("\"abc\""));
        assert_eq!(listing.objects[1].size, 7);
        assert_eq!(listing.prefixes, vec!["reports/2026/"]);
        assert_eq!(
            listing.next_cursor.as_deref(),
            Some("1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=")
        );
    }

    /// The XML schema does not order `Contents` against `CommonPrefixes`; a server that
    /// interleaves them (in key order) gives the same page.
    #[test]
    fn reads_interleaved_contents_and_prefixes() {
        let xml = r"<ListBucketResult><IsTruncated>false</IsTruncated>
  <Contents><Key>reports/a.csv</Key><Size>1</Size></Contents>
  <CommonPrefixes><Prefix>reports/b/</Prefix></CommonPrefixes>
  <Contents><Key>reports/c.csv</Key><Size>2</Size></Contents>
  <CommonPrefixes><Prefix>reports/d/</Prefix></CommonPrefixes>
</ListBucketResult>";
        let listing = parse(xml, "", "reports/").unwrap();
        let keys: Vec<_> = listing.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["reports/a.csv", "reports/c.csv"]);
        assert_eq!(listing.prefixes, ["reports/b/", "reports/d/"]);
        assert_eq!(listing.next_cursor, None);
    }

    #[test]
    fn refuses_keys_outside_the_prefix() {
        assert!(parse(REPLY, "t7/", "reports/q").is_err());
        assert!(parse("<nope", "", "").is_err());
    }
}
