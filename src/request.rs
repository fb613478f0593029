//! Reading what the caller asks for: the route, the operation, the key and the grant.
//!
//! The API (docs/api.md):
//! - `GET /objects/{key}`: GetObject; `HEAD /objects/{key}`: HeadObject;
//!   `PUT /objects/{key}`: PutObject; `DELETE /objects/{key}`: DeleteObject.
//!
//! The key in the path is percent-decoded exactly once and then compared with the grant byte for
//! byte. It is never normalised: a path that the URL standard rewrote on the way (dot segments
//! are resolved by every URL parser, including the Workers runtime's) decodes to a different key
//! than the grant names, and is refused.

use std::fmt;

use http::{Method, Request, StatusCode, header};
use percent_encoding::percent_decode_str;

use crate::Operation;
use crate::grant::Scope;
use crate::s3::{InvalidKey, ObjectKey};

/// The longest request path accepted, in bytes: a 1024-byte key, fully percent-encoded, fits.
pub const MAX_PATH_LEN: usize = 8 + 3 * crate::s3::MAX_KEY_BYTES;

/// The prefix of object URLs.
const OBJECTS: &str = "/objects/";

/// What the caller asked for, before any check of who they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Intent {
    /// The operation.
    pub operation: Operation,
    /// The object key, or for `list` the prefix.
    pub target: Scope,
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
    /// The operation exists in the API but this gatekeeper does not offer it yet.
    NotImplemented,
    /// The operation is switched off in this gatekeeper's configuration.
    OperationDisabled,
}

impl RequestError {
    pub(crate) fn status(self) -> StatusCode {
        match self {
            Self::NoRoute => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed | Self::NotImplemented | Self::OperationDisabled => {
                StatusCode::METHOD_NOT_ALLOWED
            }
            Self::UriTooLong => StatusCode::URI_TOO_LONG,
            Self::BadKey(_) => StatusCode::BAD_REQUEST,
        }
    }

    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::NoRoute => "no_route",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::UriTooLong => "uri_too_long",
            Self::BadKey(_) => "bad_key",
            Self::NotImplemented => "operation_not_supported",
            Self::OperationDisabled => "operation_disabled",
        }
    }

    pub(crate) fn message(self) -> &'static str {
        match self {
            Self::NoRoute => "no such endpoint; objects are at /objects/{key}",
            Self::MethodNotAllowed => "this endpoint does not accept that method",
            Self::UriTooLong => "the URL is too long",
            Self::BadKey(_) => "the object key in the URL is not a valid key",
            Self::NotImplemented => "this gatekeeper does not offer that operation",
            Self::OperationDisabled => "this operation is switched off on this gatekeeper",
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

/// Works out the operation and key of `request`.
pub fn intent<B>(request: &Request<B>) -> Result<Intent, RequestError> {
    let path = request.uri().path();
    if path.len() > MAX_PATH_LEN {
        return Err(RequestError::UriTooLong);
    }
    let encoded_key = path.strip_prefix(OBJECTS).ok_or(RequestError::NoRoute)?;
    let operation = match *request.method() {
        Method::GET => Operation::Get,
        Method::HEAD => Operation::Head,
        Method::PUT => Operation::Put,
        Method::DELETE => Operation::Delete,
        _ => return Err(RequestError::MethodNotAllowed),
    };
    let key = percent_decode_str(encoded_key)
        .decode_utf8()
        .map_err(|_| RequestError::BadKey(None))?;
    let key: ObjectKey = key.parse().map_err(|e| RequestError::BadKey(Some(e)))?;
    Ok(Intent {
        operation,
        target: Scope::Key(key),
    })
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
        .filter_map(|v| v.strip_prefix("Bearer "))
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
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
            })
        };
        assert_eq!(get("/objects/a%20b/c.csv"), want("a b/c.csv"));
        assert_eq!(get("/objects/a%252F"), want("a%2F"));
        assert_eq!(get("/objects/a%2Fb"), want("a/b"));
        assert_eq!(get("/objects/a+b"), want("a+b"));
        assert_eq!(get("/objects/%C3%A9"), want("é"));
    }

    #[test]
    fn refuses_bad_routes_and_keys() {
        assert_eq!(get("/nope"), Err(RequestError::NoRoute));
        assert_eq!(
            get("/objects/"),
            Err(RequestError::BadKey(Some(InvalidKey::Empty)))
        );
        assert_eq!(get("/objects/%FF"), Err(RequestError::BadKey(None)));
        assert_eq!(
            get("/objects/a%0Ab"),
            Err(RequestError::BadKey(Some(InvalidKey::ControlCharacter)))
        );
        let post = Request::post("/objects/a").body(()).unwrap();
        assert_eq!(intent(&post), Err(RequestError::MethodNotAllowed));
        let post = Request::patch("/objects/a").body(()).unwrap();
        assert_eq!(intent(&post), Err(RequestError::MethodNotAllowed));
    }
}
