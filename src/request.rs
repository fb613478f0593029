//! Reading what the caller asks for: the route, the operation, the key and the grant.
//!
//! The API (docs/api.md):
//! - `GET /objects/{key}`: GetObject; `HEAD /objects/{key}`: HeadObject;
//!   `PUT /objects/{key}`: PutObject; `DELETE /objects/{key}`: DeleteObject;
//! - `GET /objects?prefix=…[&cursor=…][&limit=…][&folders=true]`: ListObjectsV2;
//! - uploads in parts, all `put`: `POST /objects/{key}?uploads`,
//!   `PUT /objects/{key}?uploadId=…&partNumber=N`, `POST /objects/{key}?uploadId=…`,
//!   `DELETE /objects/{key}?uploadId=…`, `GET /objects/{key}?uploadId=…` ([`crate::multipart`]).
//!
//! The key in the path is percent-decoded exactly once and then compared with the grant byte for
//! byte; a `%` that starts no escape is refused. The gatekeeper does not normalise it, but it
//! sees the URL only after the Workers runtime has parsed it by the URL standard, which resolves
//! dot segments (`.`, `..`, and `%2e` forms of them) and turns `\` into `/`. So `/objects/a/./b`
//! arrives as `/objects/a/b` and names the key `a/b`, which the grant must then allow; the raw
//! request line is not available to a Worker (docs/grants.md).

use std::fmt;

use http::{Method, Request, StatusCode, header};
use percent_encoding::percent_decode_str;

use crate::Operation;
use crate::grant::Scope;
use crate::multipart::{MultipartError, Step};
use crate::s3::{InvalidKey, ListRequest, MAX_LIST_KEYS, ObjectKey};

/// The longest request path accepted, in bytes: a 1024-byte key, fully percent-encoded, fits.
pub const MAX_PATH_LEN: usize = 8 + 3 * crate::s3::MAX_KEY_BYTES;

/// The prefix of object URLs.
const OBJECTS: &str = "/objects/";
/// The listing URL.
const LISTING: &str = "/objects";

/// What the caller asked for, before any check of who they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Intent {
    /// The operation.
    pub operation: Operation,
    /// The object key, or for `list` the prefix.
    pub target: Scope,
    /// For `list`, the page asked for.
    pub page: Option<ListRequest>,
    /// For a call of an upload in parts (a `put`), which call.
    pub multipart: Option<Step>,
}

/// The request cannot be understood or is not one the API has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    /// No such route.
    NoRoute,
    /// The route exists but not with this method.
    MethodNotAllowed,
    /// The URL is longer than [`MAX_PATH_LEN`].
    UriTooLong,
    /// The key in the path is not valid percent-encoded UTF-8, or not a valid S3 key.
    BadKey(Option<InvalidKey>),
    /// The listing query is missing `prefix`, or has an unknown or invalid parameter.
    BadQuery,
    /// A header the gatekeeper passes on to S3 has bytes outside printable ASCII, which the
    /// request signature cannot cover.
    BadHeader,
    /// The operation exists in the API but this gatekeeper does not offer it yet.
    NotImplemented,
    /// The operation is switched off in this gatekeeper's configuration.
    OperationDisabled,
    /// An object request asks for what S3 would do with `versionId` or a `response-*`
    /// parameter, which the gatekeeper does not pass on.
    UnsupportedParameter,
    /// The URL carries a grant (`?grant=`), which this gatekeeper does not accept.
    GrantInUrlDisabled,
    /// The URL carries a grant for an operation that is not a read of one object.
    GrantInUrlNotAllowed,
    /// The request carries grants in two places (`Authorization` and the URL), or the URL
    /// carries `grant` more than once: which one speaks is not the caller's to leave open.
    GrantAmbiguous,
    /// A multipart call's query is not one the API has.
    Multipart(MultipartError),
}

impl RequestError {
    /// Every kind, for checks that every code is documented.
    pub(crate) const ALL: [Self; 12] = [
        Self::NoRoute,
        Self::MethodNotAllowed,
        Self::UriTooLong,
        Self::BadKey(None),
        Self::BadQuery,
        Self::BadHeader,
        Self::NotImplemented,
        Self::OperationDisabled,
        Self::UnsupportedParameter,
        Self::GrantInUrlDisabled,
        Self::GrantInUrlNotAllowed,
        Self::GrantAmbiguous,
    ];
}

impl RequestError {
    pub(crate) fn status(self) -> StatusCode {
        match self {
            Self::NoRoute => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed | Self::NotImplemented | Self::OperationDisabled => {
                StatusCode::METHOD_NOT_ALLOWED
            }
            Self::UriTooLong => StatusCode::URI_TOO_LONG,
            Self::BadKey(_)
            | Self::BadQuery
            | Self::BadHeader
            | Self::UnsupportedParameter
            | Self::GrantInUrlNotAllowed
            | Self::GrantAmbiguous => StatusCode::BAD_REQUEST,
            Self::GrantInUrlDisabled => StatusCode::FORBIDDEN,
            Self::Multipart(e) => e.status(),
        }
    }

    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::NoRoute => "no_route",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::UriTooLong => "uri_too_long",
            Self::BadKey(_) => "bad_key",
            Self::BadQuery => "bad_query",
            Self::BadHeader => "bad_header",
            Self::NotImplemented => "operation_not_supported",
            Self::OperationDisabled => "operation_disabled",
            Self::UnsupportedParameter => "unsupported_parameter",
            Self::GrantInUrlDisabled => "grant_in_url_disabled",
            Self::GrantInUrlNotAllowed => "grant_in_url_not_allowed",
            Self::GrantAmbiguous => "grant_ambiguous",
            Self::Multipart(e) => e.code(),
        }
    }

    pub(crate) fn message(self) -> &'static str {
        match self {
            Self::NoRoute => "no such endpoint; objects are at /objects/{key}",
            Self::MethodNotAllowed => "this endpoint does not accept that method",
            Self::UriTooLong => "the URL is too long",
            Self::BadKey(_) => "the object key in the URL is not a valid key",
            Self::BadQuery => {
                "a listing takes prefix, and optionally cursor, limit (1-1000) and folders=true"
            }
            Self::BadHeader => "Range, If-*, and Content-Type headers must be printable ASCII",
            Self::NotImplemented => "this gatekeeper does not offer that operation",
            Self::OperationDisabled => "this operation is switched off on this gatekeeper",
            Self::UnsupportedParameter => {
                "versionId and response-* are not supported: objects are served as stored, current version only"
            }
            Self::GrantInUrlDisabled => {
                "this gatekeeper does not accept grants in the URL; send Authorization: Bearer"
            }
            Self::GrantInUrlNotAllowed => {
                "a grant in the URL is accepted only to GET or HEAD one object"
            }
            Self::GrantAmbiguous => "send one grant parameter, or Authorization: Bearer, not both",
            Self::Multipart(e) => e.message(),
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadKey(Some(why)) => write!(f, "{}: {why}", self.code()),
            _ => f.write_str(self.code()),
        }
    }
}

impl std::error::Error for RequestError {}

/// The operation `request` asks for, from its method and path alone: cheap enough to run before
/// any other check. `None` when it is no operation the API has.
pub fn operation<B>(request: &Request<B>) -> Option<Operation> {
    let path = request.uri().path();
    match *request.method() {
        Method::GET if path == LISTING => Some(Operation::List),
        _ if !path.starts_with(OBJECTS) => None,
        // Every call of an upload in parts is a `put`, whatever its method.
        _ if request
            .uri()
            .query()
            .is_some_and(crate::multipart::names_multipart) =>
        {
            Some(Operation::Put)
        }
        Method::GET => Some(Operation::Get),
        Method::HEAD => Some(Operation::Head),
        Method::PUT => Some(Operation::Put),
        Method::DELETE => Some(Operation::Delete),
        _ => None,
    }
}

/// The methods the API takes, on any path (a preflight's `OPTIONS` is answered before a request
/// gets here). Method names are case-sensitive (RFC 9110, section 9.1): `get` is not `GET`.
const METHODS: [Method; 4] = [Method::GET, Method::HEAD, Method::PUT, Method::DELETE];

/// Works out the operation and key of `request`.
pub fn intent<B>(request: &Request<B>) -> Result<Intent, RequestError> {
    let multipart = if request.uri().path().starts_with(OBJECTS) {
        Step::from_query(request.method(), request.uri().query())
            .map_err(RequestError::Multipart)?
    } else {
        None
    };
    if multipart.is_none() && !METHODS.contains(request.method()) {
        return Err(RequestError::MethodNotAllowed);
    }
    let path = request.uri().path();
    if path.len() > MAX_PATH_LEN {
        return Err(RequestError::UriTooLong);
    }
    if path == LISTING {
        if request.method() != Method::GET {
            return Err(RequestError::MethodNotAllowed);
        }
        let page = list_query(request.uri().query().unwrap_or_default())?;
        return Ok(Intent {
            operation: Operation::List,
            target: Scope::Prefix(page.prefix.clone()),
            page: Some(page),
            multipart: None,
        });
    }
    let encoded_key = path.strip_prefix(OBJECTS).ok_or(RequestError::NoRoute)?;
    let operation = match *request.method() {
        _ if multipart.is_some() => Operation::Put,
        Method::GET => Operation::Get,
        Method::HEAD => Operation::Head,
        Method::PUT => Operation::Put,
        Method::DELETE => Operation::Delete,
        _ => return Err(RequestError::MethodNotAllowed),
    };
    if overrides_s3(request.uri().query().unwrap_or_default()) {
        return Err(RequestError::UnsupportedParameter);
    }
    if !well_escaped(encoded_key) {
        return Err(RequestError::BadKey(None));
    }
    let key = percent_decode_str(encoded_key)
        .decode_utf8()
        .map_err(|_| RequestError::BadKey(None))?;
    let key: ObjectKey = key.parse().map_err(|e| RequestError::BadKey(Some(e)))?;
    Ok(Intent {
        operation,
        target: Scope::Key(key),
        page: None,
        multipart,
    })
}

/// Whether an object request's query asks for another version (`versionId`) or for S3 to
/// rewrite its reply headers (`response-content-type`, `response-content-disposition`, …). The
/// gatekeeper sends S3 no query string for an object, so S3 would serve the current version
/// with its stored headers, and a caller asking for something else would silently get that;
/// it is refused instead. Names are compared ignoring case, as some S3-compatible servers do.
fn overrides_s3(query: &str) -> bool {
    form_urlencoded::parse(query.as_bytes()).any(|(name, _)| {
        name.eq_ignore_ascii_case("versionId")
            || name
                .get(..9)
                .is_some_and(|start| start.eq_ignore_ascii_case("response-"))
    })
}

/// Whether every `%` in `path` starts a percent-escape (`%` and two hex digits). Decoding takes
/// any other `%` literally, so `a%zzb` would silently name the key `a%zzb`; it is refused instead.
fn well_escaped(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    })
}

/// Reads a listing's query. Each parameter may appear once; unknown ones are refused, so a typo
/// is an error rather than a silently different listing.
fn list_query(query: &str) -> Result<ListRequest, RequestError> {
    let mut page = ListRequest {
        prefix: String::new(),
        cursor: None,
        limit: MAX_LIST_KEYS,
        folders: false,
    };
    let mut seen = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if seen.contains(&name) {
            return Err(RequestError::BadQuery);
        }
        match &*name {
            "prefix" => page.prefix = value.to_string(),
            "cursor" => page.cursor = Some(value.to_string()),
            "limit" => {
                page.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIST_KEYS).contains(n))
                    .ok_or(RequestError::BadQuery)?;
            }
            "folders" => page.folders = value == "true",
            // A grant in the URL is read as such and refused for a listing by the gatekeeper
            // (`grant_in_url_not_allowed`), which says more than `bad_query` would.
            URL_GRANT => {}
            _ => return Err(RequestError::BadQuery),
        }
        seen.push(name);
    }
    let prefix_ok = seen.iter().any(|n| n == "prefix")
        && page.prefix.len() <= crate::s3::MAX_KEY_BYTES
        && !page.prefix.chars().any(char::is_control);
    if prefix_ok {
        Ok(page)
    } else {
        Err(RequestError::BadQuery)
    }
}

/// The query parameter that carries a grant in the URL, for a link.
pub const URL_GRANT: &str = "grant";

/// The grant tokens the URL carries in its one `grant` query parameter (`?grant=v4.public…`,
/// several separated by commas as in the header), or `None` when it has none. The value is
/// form-decoded once. `grant` twice is [`RequestError::GrantAmbiguous`].
///
/// Whether such a grant may be used at all is the gatekeeper's decision: this only reads it.
/// Other query parameters of an object URL are ignored, as they always were.
pub fn url_grants<B>(request: &Request<B>) -> Result<Option<Vec<String>>, RequestError> {
    let Some(query) = request.uri().query() else {
        return Ok(None);
    };
    let mut found = None;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name != URL_GRANT {
            continue;
        }
        if found.is_some() {
            return Err(RequestError::GrantAmbiguous);
        }
        found = Some(
            value
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
        );
    }
    Ok(found)
}

/// The grant tokens the request carries in `Authorization: Bearer …`.
///
/// Several grants (for operations that need more than one signature) are separated by commas;
/// a PASETO token never contains one.
pub fn grants<B>(request: &Request<B>) -> impl Iterator<Item = &str> {
    request
        .headers()
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        // The scheme name is case-insensitive (RFC 7235); one or more spaces follow it.
        .filter_map(|v| {
            let (scheme, credentials) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(credentials)
        })
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The path and query of an absolute URL as WHATWG URL serialises it (the runtime's
/// `request.url`): everything from the first `/` after the host, without a fragment; `None` for
/// anything else.
///
/// The runtime has already parsed and normalised a request's URL, so the Worker takes the part
/// it needs instead of parsing it again: in that serialisation the first `/` after `scheme://`
/// begins the path, and a `#` within the path or the query is percent-encoded.
///
/// ```
/// use s3_gatekeeper::request::path_and_query;
///
/// assert_eq!(path_and_query("https://gk.example/objects/a%20b?x=1"), Some("/objects/a%20b?x=1"));
/// assert_eq!(path_and_query("http://127.0.0.1:8787/"), Some("/"));
/// assert_eq!(path_and_query("not a url"), None);
/// ```
#[must_use]
pub fn path_and_query(url: &str) -> Option<&str> {
    let host = url.find("://")? + 3;
    let path = host + url[host..].find('/')?;
    let end = url[path..].find('#').map_or(url.len(), |i| path + i);
    url.get(path..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(uri: &str) -> Result<Intent, RequestError> {
        intent(&Request::get(uri).body(()).unwrap())
    }

    #[test]
    fn decodes_the_key_exactly_once() {
        let want = |k: &str| {
            Ok(Intent {
                operation: Operation::Get,
                target: Scope::Key(k.parse().unwrap()),
                page: None,
                multipart: None,
            })
        };
        assert_eq!(get("/objects/a%20b/c.csv"), want("a b/c.csv"));
        assert_eq!(get("/objects/a%252F"), want("a%2F"));
        assert_eq!(get("/objects/a%2Fb"), want("a/b"));
        assert_eq!(get("/objects/a+b"), want("a+b"));
        assert_eq!(get("/objects/%C3%A9"), want("é"));
    }

    #[test]
    fn reads_listing_queries() {
        let page = |q: &str| match get(&format!("/objects?{q}")) {
            Ok(Intent {
                page: Some(page), ..
            }) => Ok(page),
            Ok(_) => unreachable!("a listing has a page"),
            Err(e) => Err(e),
        };
        let p = page("prefix=a%20b/&cursor=x%2By&limit=5&folders=true").unwrap();
        assert_eq!(
            (p.prefix.as_str(), p.cursor.as_deref(), p.limit, p.folders),
            ("a b/", Some("x+y"), 5, true)
        );
        assert_eq!(page("prefix=").unwrap().limit, 1000);
        for bad in [
            "",
            "cursor=x",
            "prefix=a&prefix=b",
            "prefix=a&limit=0",
            "prefix=a&limit=1001",
            "prefix=a&sort=x",
        ] {
            assert_eq!(page(bad), Err(RequestError::BadQuery), "{bad}");
        }
    }

    #[test]
    fn refuses_bad_routes_and_keys() {
        assert_eq!(get("/nope"), Err(RequestError::NoRoute));
        assert_eq!(
            get("/objects/"),
            Err(RequestError::BadKey(Some(InvalidKey::Empty)))
        );
        assert_eq!(get("/objects/%FF"), Err(RequestError::BadKey(None)));
        // A `%` that does not start a percent-escape is not taken literally.
        for bad in [
            "/objects/a%zzb",
            "/objects/a%",
            "/objects/a%4",
            "/objects/%%41",
        ] {
            assert_eq!(get(bad), Err(RequestError::BadKey(None)), "{bad}");
        }
        assert_eq!(
            get("/objects/a%0Ab"),
            Err(RequestError::BadKey(Some(InvalidKey::ControlCharacter)))
        );
        let post = Request::post("/objects/a").body(()).unwrap();
        assert_eq!(intent(&post), Err(RequestError::MethodNotAllowed));
        let post = Request::patch("/objects/a").body(()).unwrap();
        assert_eq!(intent(&post), Err(RequestError::MethodNotAllowed));
    }

    #[test]
    fn methods_are_case_sensitive_and_unknown_ones_are_refused_on_every_path() {
        let with = |method: &str, uri: &str| {
            let request = Request::builder().method(method).uri(uri).body(()).unwrap();
            intent(&request)
        };
        for method in [
            "PROPFIND", "get", "Get", "head", "FOO", "POST", "PATCH", "TRACE",
        ] {
            for uri in ["/objects/a", "/objects?prefix=", "/nowhere"] {
                assert_eq!(
                    with(method, uri),
                    Err(RequestError::MethodNotAllowed),
                    "{method} {uri}"
                );
            }
        }
        assert_eq!(with("GET", "/nowhere"), Err(RequestError::NoRoute));
        assert!(with("HEAD", "/objects/a").is_ok());
    }
}
