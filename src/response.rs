//! The headers of every reply: only what is safe, plus what keeps the data out of caches.

use http::{HeaderMap, HeaderValue, Response, header};

use crate::Error;
use crate::s3::SAFE_HEADERS;

/// Headers on every reply, success or error. Objects are private data: no shared cache may keep
/// them, no browser may sniff them into something executable, and no page may embed them as a
/// document that runs script.
pub const SECURITY_HEADERS: [(header::HeaderName, &str); 4] = [
    // `no-transform`: intermediaries, Cloudflare's edge included, must not re-encode the bytes.
    (header::CACHE_CONTROL, "no-store, no-transform"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; sandbox",
    ),
    (header::REFERRER_POLICY, "no-referrer"),
];

fn add_security_headers(headers: &mut HeaderMap) {
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// The headers of a reply that passes on an S3 answer: the safe subset of S3's headers and the
/// security headers.
pub fn passthrough_headers(upstream: &HeaderMap) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for name in SAFE_HEADERS {
        if let Some(value) = upstream.get(&name) {
            headers.insert(name, value.clone());
        }
    }
    add_security_headers(&mut headers);
    headers
}

/// The JSON reply for an error.
pub fn error(err: &Error) -> Response<String> {
    let mut response = Response::new(err.to_json());
    *response.status_mut() = err.status();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    add_security_headers(headers);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_amazon_headers() {
        let mut upstream = HeaderMap::new();
        upstream.insert("x-amz-request-id", HeaderValue::from_static("ABC"));
        upstream.insert("x-amz-id-2", HeaderValue::from_static("DEF"));
        upstream.insert(header::SERVER, HeaderValue::from_static("AmazonS3"));
        upstream.insert(header::ETAG, HeaderValue::from_static("\"e\""));
        upstream.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        );
        let h = passthrough_headers(&upstream);
        assert_eq!(h[header::ETAG], "\"e\"");
        assert_eq!(h[header::CACHE_CONTROL], "no-store, no-transform");
        assert!(
            h.keys()
                .all(|k| !k.as_str().starts_with("x-amz") && k != header::SERVER)
        );
    }
}
