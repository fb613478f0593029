//! Requests as a caller sends them: method, URL and headers, read and decided.
//!
//! The text form, one line each (`\r\n` or `\n`):
//!
//! ```text
//! GET /objects/reports/q3.csv      method and request target
//! Range: bytes=0-9                 headers, any bytes after ": "
//! +grant                           a grant for what the request asks, by the vendor key
//! +grant2                          and one by the approver key
//! +urlgrant                        a grant by the vendor key in the URL (`?grant=`), as a link
//! +ip 203.0.113.9                  the caller's IP (default 203.0.113.9)
//! +country NL                      the caller's country (default NL)
//! ```

use std::net::IpAddr;

use http::{HeaderName, HeaderValue, Method, Request, Uri, header};
use s3_gatekeeper::acl::Caller;
use s3_gatekeeper::grant::{Claims, Scope, format_time};
use s3_gatekeeper::request::{self, Intent};
use s3_gatekeeper::{Operation, s3};

use super::fixtures::{self, KEY_ROOT, approver_key, gatekeeper, vendor_key};

/// A request read from its text form, with the caller and which grants to add.
pub struct Parsed {
    pub request: Request<()>,
    pub caller: Caller,
    pub grant: bool,
    pub grant2: bool,
    pub url_grant: bool,
}

/// Reads the text form; `None` when the first line is no method and URI `http` accepts.
pub fn parse(text: &[u8]) -> Option<Parsed> {
    let mut lines = text
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let first = lines.next()?;
    let space = first.iter().position(|&b| b == b' ')?;
    let method = Method::from_bytes(&first[..space]).ok()?;
    let uri = Uri::try_from(&first[space + 1..]).ok()?;
    let mut builder = Request::builder().method(method).uri(uri);
    let mut caller = Caller {
        ip: Some("203.0.113.9".parse().unwrap()),
        country: Some("NL".parse().unwrap()),
    };
    let (mut grant, mut grant2, mut url_grant) = (false, false, false);
    for line in lines {
        if let Some(directive) = line.strip_prefix(b"+") {
            let directive = String::from_utf8_lossy(directive);
            let (name, value) = directive.split_once(' ').unwrap_or((&directive, ""));
            match name {
                "grant" => grant = true,
                "grant2" => grant2 = true,
                "urlgrant" => url_grant = true,
                "ip" => caller.ip = value.parse::<IpAddr>().ok(),
                "country" => caller.country = value.parse().ok(),
                _ => {}
            }
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let value = &line[colon + 1..];
        let value = value.strip_prefix(b" ").unwrap_or(value);
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(value),
        ) {
            builder = builder.header(name, value);
        }
    }
    Some(Parsed {
        request: builder.body(()).ok()?,
        caller,
        grant,
        grant2,
        url_grant,
    })
}

/// Percent-decodes once, the way the API promises to (docs/api.md), written independently of
/// the gatekeeper's own decoding: `%XX` becomes the byte, anything else stays.
pub fn decode_once(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(u8::try_from(h * 16 + l).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// Percent-encodes as SigV4 canonicalises for S3: every byte but `A-Za-z0-9-_.~` (and `/` in a
/// path), in upper-case hex.
pub fn sigv4_encode(s: &str, keep_slash: bool) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Reads and decides a request. Properties:
/// - `operation` and `intent` agree, and the key `intent` reads is the path after `/objects/`
///   percent-decoded exactly once, byte for byte;
/// - `grants` yields only non-empty, trimmed pieces of `Authorization` values;
/// - `decide` never fails with an internal fault on any input, and signs a request only when
///   verified grants cover exactly the operation and key asked for, and then for exactly that key
///   under the key root, with the operation's method.
pub fn check(text: &[u8]) {
    let Some(mut parsed) = parse(text) else {
        return;
    };
    let intent = check_reading(&parsed.request);
    if let Ok(intent) = &intent
        && (parsed.grant || parsed.grant2)
    {
        let (op, key) = match &intent.target {
            Scope::Key(key) => (intent.operation, key.as_str()),
            Scope::Prefix(prefix) => (Operation::List, prefix.as_str()),
        };
        let claims = fixtures::claims(op.as_str(), key);
        let mut tokens = Vec::new();
        if parsed.grant {
            tokens.push(vendor_key().mint(&claims).unwrap());
        }
        if parsed.grant2 {
            tokens.push(approver_key().mint(&claims).unwrap());
        }
        let value = HeaderValue::try_from(format!("Bearer {}", tokens.join(", "))).unwrap();
        parsed
            .request
            .headers_mut()
            .append(header::AUTHORIZATION, value);
    }
    if let Ok(intent) = &intent
        && parsed.url_grant
    {
        let (op, key) = match &intent.target {
            Scope::Key(key) => (intent.operation, key.as_str()),
            Scope::Prefix(prefix) => (Operation::List, prefix.as_str()),
        };
        // Within a link's shorter lifetime (5 minutes by default).
        let claims = Claims {
            exp: format_time(fixtures::NOW + 200).unwrap(),
            ..fixtures::claims(op.as_str(), key)
        };
        let token = vendor_key().mint(&claims).unwrap();
        let uri = parsed.request.uri().to_string();
        let joined = if uri.contains('?') { '&' } else { '?' };
        if let Ok(uri) = Uri::try_from(format!("{uri}{joined}grant={token}")) {
            *parsed.request.uri_mut() = uri;
        }
    }
    check_decision(&parsed);
}

fn check_reading(request: &Request<()>) -> Result<Intent, request::RequestError> {
    let operation = request::operation(request);
    let intent = request::intent(request);
    let path = request.uri().path();
    match &intent {
        Ok(intent) => {
            assert_eq!(operation, Some(intent.operation), "{path}");
            match &intent.target {
                Scope::Key(key) => {
                    let encoded = path.strip_prefix("/objects/").expect("an object path");
                    assert_eq!(
                        key.as_str().as_bytes(),
                        decode_once(encoded),
                        "the key is the path decoded once"
                    );
                    assert_ne!(intent.operation, Operation::List);
                    assert!(intent.page.is_none());
                }
                Scope::Prefix(prefix) => {
                    assert_eq!(path, "/objects");
                    assert_eq!(request.method(), Method::GET);
                    let page = intent.page.as_ref().expect("a listing has a page");
                    assert_eq!(&page.prefix, prefix);
                    assert!((1..=s3::MAX_LIST_KEYS).contains(&page.limit));
                    assert!(prefix.len() <= s3::MAX_KEY_BYTES);
                }
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    let budget: usize = request
        .headers()
        .get_all(header::AUTHORIZATION)
        .iter()
        .map(HeaderValue::len)
        .sum();
    let mut count = 0;
    for token in request::grants(request) {
        count += 1;
        assert!(!token.is_empty() && !token.contains(',') && token.trim() == token);
    }
    assert!(count <= budget);
    intent
}

fn check_decision(parsed: &Parsed) {
    let decision = gatekeeper().decide(&parsed.request, &parsed.caller, fixtures::now());
    let signed = match decision.outcome {
        Err(e) => {
            assert!(
                e.status().is_client_error(),
                "bad input must be a 4xx, not {} ({})",
                e.status(),
                e.code()
            );
            let _ = e.to_json();
            return;
        }
        Ok(signed) => signed,
    };
    let intent = decision.intent.expect("a signed request had an intent");
    assert!(!decision.grants.is_empty(), "signed without a grant");
    for grant in &decision.grants {
        assert!(
            grant
                .permits(intent.operation, &intent.target, parsed.caller.ip)
                .is_ok()
        );
    }
    let base = "http://127.0.0.1:9001/examplebucket/";
    let uri = signed.uri().to_string();
    match &intent.target {
        Scope::Key(key) => {
            let want = format!("{base}{}", sigv4_encode(&format!("{KEY_ROOT}{key}"), true));
            assert_eq!(uri, want, "S3 gets exactly the granted key");
            let method = match intent.operation {
                Operation::Get => Method::GET,
                Operation::Head => Method::HEAD,
                Operation::Put => Method::PUT,
                Operation::Delete => Method::DELETE,
                Operation::List => unreachable!("a key is never listed"),
            };
            assert_eq!(signed.method(), method);
        }
        Scope::Prefix(prefix) => {
            assert!(uri.starts_with(&format!("{base}?")), "{uri}");
            let want = format!(
                "prefix={}",
                sigv4_encode(&format!("{KEY_ROOT}{prefix}"), false)
            );
            assert!(
                uri.split(['?', '&']).any(|p| p == want),
                "S3 lists exactly the granted prefix: {uri}"
            );
            assert_eq!(signed.method(), Method::GET);
        }
    }
    // A grant, in the URL or a header, never reaches S3.
    assert!(!uri.contains("v4.public"), "a grant reached S3: {uri}");
    for (name, value) in signed.headers() {
        assert!(
            !value.as_bytes().windows(9).any(|w| w == b"v4.public"),
            "a grant reached S3 in {name}"
        );
    }
    let auth = signed
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDFUZZ/"),
        "{auth}"
    );
}
