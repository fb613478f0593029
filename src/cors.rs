//! Cross-origin rules for the vendor's web pages, which call the gatekeeper from the browser.
//!
//! Only the customer's configured origins (`ALLOWED_ORIGINS`) may call it from a page. Requests
//! that carry another `Origin` are refused outright: a browser would hide the reply from such a
//! page anyway, and refusing means a leaked grant cannot be spent from a foreign page either.
//! Requests with no `Origin` (not from a browser page) are unaffected. No cookies are used, so
//! credentials are never allowed.

use std::fmt;
use std::str::FromStr;

use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};

/// Methods the API has.
const METHODS: &str = "GET, HEAD, PUT, POST, DELETE";
/// Request headers a page may send: the grant and the headers the API reads.
const REQUEST_HEADERS: &str = "authorization, content-type, range, if-match, if-none-match, if-modified-since, if-unmodified-since, content-md5, x-amz-checksum-sha256";
/// Response headers a page may read, beyond the CORS-safelisted ones.
/// `content-disposition` carries a grant's `filename` (see [`crate::disposition`]).
const EXPOSED_HEADERS: &str =
    "content-length, content-range, accept-ranges, etag, last-modified, content-disposition";
/// How long a browser may cache a preflight answer, in seconds.
const MAX_AGE: &str = "600";

/// An origin: `scheme://host[:port]`, compared exactly as browsers send it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin(String);

/// Not a bare `https://host[:port]` (or `http://` for local development) origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidOrigin;

impl fmt::Display for InvalidOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not an origin such as https://app.example.com (no path, no trailing slash)")
    }
}

impl std::error::Error for InvalidOrigin {}

impl FromStr for Origin {
    type Err = InvalidOrigin;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))
            .ok_or(InvalidOrigin)?;
        let host_ok = !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.:[]".contains(&b));
        if host_ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidOrigin)
        }
    }
}

/// The page's origin is not one the customer allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OriginNotAllowed;

impl OriginNotAllowed {
    pub(crate) const CODE: &'static str = "origin_not_allowed";
    pub(crate) const MESSAGE: &'static str = "pages from this origin may not call this gatekeeper";
}

impl fmt::Display for OriginNotAllowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::CODE)
    }
}

impl std::error::Error for OriginNotAllowed {}

/// The allowed origins.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cors {
    origins: Vec<Origin>,
}

impl Cors {
    /// Allows pages from `origins`.
    pub fn new(origins: Vec<Origin>) -> Self {
        Self { origins }
    }

    /// The request's `Origin`, if it is allowed; `Err` if it is present and not allowed.
    pub fn check(&self, headers: &HeaderMap) -> Result<Option<HeaderValue>, OriginNotAllowed> {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return Ok(None);
        };
        let allowed = origin
            .to_str()
            .is_ok_and(|o| self.origins.iter().any(|a| a.0 == o));
        if allowed {
            Ok(Some(origin.clone()))
        } else {
            Err(OriginNotAllowed)
        }
    }

    /// Adds the headers that let an allowed page read a reply (success or error).
    pub fn decorate(&self, request: &HeaderMap, reply: &mut HeaderMap) {
        reply.append(header::VARY, HeaderValue::from_static("Origin"));
        if let Ok(Some(origin)) = self.check(request) {
            reply.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            reply.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSED_HEADERS),
            );
        }
    }

    /// The answer to a preflight (`OPTIONS`) request: `204` with the API's methods and headers
    /// for an allowed origin, `403` otherwise. Preflights never touch the bucket.
    pub fn preflight(&self, request: &HeaderMap) -> Response<()> {
        let mut response = Response::new(());
        let headers = response.headers_mut();
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
        let asks_for_known_method = request
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|m| m.to_str().ok()?.parse::<Method>().ok())
            .is_some_and(|m| {
                [
                    Method::GET,
                    Method::HEAD,
                    Method::PUT,
                    Method::POST,
                    Method::DELETE,
                ]
                .contains(&m)
            });
        match self.check(request) {
            Ok(Some(origin)) if asks_for_known_method => {
                *response.status_mut() = StatusCode::NO_CONTENT;
                let headers = response.headers_mut();
                headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
                headers.insert(
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    HeaderValue::from_static(METHODS),
                );
                headers.insert(
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    HeaderValue::from_static(REQUEST_HEADERS),
                );
                headers.insert(
                    header::ACCESS_CONTROL_MAX_AGE,
                    HeaderValue::from_static(MAX_AGE),
                );
            }
            _ => *response.status_mut() = StatusCode::FORBIDDEN,
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors() -> Cors {
        Cors::new(vec!["https://app.vendor.example".parse().unwrap()])
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    http::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn origins_must_be_bare() {
        for bad in [
            "app.example",
            "https://app.example/",
            "https://App.example",
            "ftp://x",
            "https://",
        ] {
            assert!(bad.parse::<Origin>().is_err(), "{bad}");
        }
        assert!("http://127.0.0.1:8788".parse::<Origin>().is_ok());
    }

    #[test]
    fn preflight_allows_only_configured_origins_and_known_methods() {
        let ok = cors().preflight(&headers(&[
            ("origin", "https://app.vendor.example"),
            ("access-control-request-method", "PUT"),
        ]));
        assert_eq!(ok.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            ok.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://app.vendor.example"
        );
        assert!(
            ok.headers()[header::ACCESS_CONTROL_ALLOW_HEADERS]
                .to_str()
                .unwrap()
                .contains("authorization")
        );
        let foreign = cors().preflight(&headers(&[
            ("origin", "https://evil.example"),
            ("access-control-request-method", "GET"),
        ]));
        assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
        assert!(
            foreign
                .headers()
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .is_none()
        );
        let patch = cors().preflight(&headers(&[
            ("origin", "https://app.vendor.example"),
            ("access-control-request-method", "PATCH"),
        ]));
        assert_eq!(patch.status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn an_allowed_page_may_read_the_name_a_grant_gives_the_file() {
        let mut reply = HeaderMap::new();
        cors().decorate(
            &headers(&[("origin", "https://app.vendor.example")]),
            &mut reply,
        );
        let exposed = reply[header::ACCESS_CONTROL_EXPOSE_HEADERS]
            .to_str()
            .unwrap();
        assert!(exposed.split(", ").any(|h| h == "content-disposition"));
    }

    #[test]
    fn no_origin_is_not_a_page() {
        assert_eq!(cors().check(&HeaderMap::new()), Ok(None));
        assert_eq!(
            cors().check(&headers(&[("origin", "null")])),
            Err(OriginNotAllowed)
        );
    }
}
