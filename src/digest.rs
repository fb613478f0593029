//! Upload digests. A `Content-MD5` or `x-amz-checksum-sha256` the caller sends is passed to S3
//! under the gatekeeper's signature, so S3 stores exactly the bytes it names or nothing (the body
//! itself is sent unsigned, as it streams). A put grant's `sha256` claim binds the grant to one
//! content: the gatekeeper sends that checksum itself, so a stolen grant cannot store other bytes.

use ct_codecs::{Base64, Decoder, Encoder};
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::grant::Grant;
use crate::upload::UploadError;

/// The body's MD5, base64 (RFC 1864).
pub(crate) const CONTENT_MD5: HeaderName = HeaderName::from_static("content-md5");

/// S3's SHA-256 checksum header: the base64 of the body's SHA-256.
pub(crate) const CHECKSUM_SHA256: HeaderName = HeaderName::from_static("x-amz-checksum-sha256");

/// The digest headers to send S3 with an upload: the caller's `Content-MD5`, and the SHA-256
/// checksum the grants bind the upload to, or else the caller's.
///
/// A header that is not the canonical base64 of a digest of the right length is `bad_digest`;
/// a caller's checksum that differs from the grants', or grants that name different checksums,
/// are `digest_mismatch`: no body could satisfy both.
pub(crate) fn headers(
    request: &HeaderMap,
    grants: &[Grant],
) -> Result<Vec<(HeaderName, HeaderValue)>, UploadError> {
    let md5 = digest::<16>(request, &CONTENT_MD5)?;
    let sent = digest::<32>(request, &CHECKSUM_SHA256)?;
    let mut claimed = grants.iter().filter_map(|g| g.sha256);
    let bound = claimed.next();
    if claimed.any(|other| Some(other) != bound) {
        return Err(UploadError::DigestMismatch);
    }
    let sha256 = match (bound, sent) {
        (Some(bound), Some(sent)) if bound != sent => return Err(UploadError::DigestMismatch),
        (Some(bound), _) => Some(bound),
        (None, sent) => sent,
    };
    let mut headers = Vec::new();
    if let Some(md5) = md5 {
        headers.push((CONTENT_MD5, base64(&md5)?));
    }
    if let Some(sha256) = sha256 {
        headers.push((CHECKSUM_SHA256, base64(&sha256)?));
    }
    Ok(headers)
}

/// The digest in header `name`, if the request has it: exactly one value, the padded base64 of
/// `N` bytes, written the one way base64 writes them.
fn digest<const N: usize>(
    request: &HeaderMap,
    name: &HeaderName,
) -> Result<Option<[u8; N]>, UploadError> {
    let mut values = request.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(UploadError::BadDigest);
    }
    let text = value.to_str().map_err(|_| UploadError::BadDigest)?;
    let mut bytes = [0u8; N];
    let decoded = Base64::decode(&mut bytes, text, None).map_err(|_| UploadError::BadDigest)?;
    if decoded.len() != N {
        return Err(UploadError::BadDigest);
    }
    // Base64 has one spelling of each digest; another (stray bits in the padding) is refused
    // rather than passed on for S3 to read its own way.
    if base64(&bytes)? != text {
        return Err(UploadError::BadDigest);
    }
    Ok(Some(bytes))
}

fn base64(bytes: &[u8]) -> Result<HeaderValue, UploadError> {
    let text = Base64::encode_to_string(bytes).map_err(|_| UploadError::BadDigest)?;
    HeaderValue::try_from(text).map_err(|_| UploadError::BadDigest)
}

/// Reads a grant's `sha256` claim: 64 lower-case hex digits, as `sha256sum` prints them.
pub(crate) fn parse_claim(hex: &str) -> Option<[u8; 32]> {
    let digits = hex.as_bytes();
    if digits.len() != 64
        || !digits
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
        let text = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(text, 16).ok()?;
    }
    Some(bytes)
}
