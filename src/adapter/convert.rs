//! Moving between the Workers runtime's types and the `http` types the core speaks.

use std::net::IpAddr;

use http::{HeaderMap, HeaderName, HeaderValue};
use worker::js_sys::{Function, Reflect, global};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::web_sys::ReadableStream;
use worker::{Headers, Request, Response};

use crate::acl::Caller;
use crate::audit::AuditRecord;
use crate::request::RequestError;
use crate::s3::{SAFE_HEADERS, UpstreamError};
use crate::{Error, response};

/// The caller's headers the core reads; no other is copied out of the runtime.
///
/// Each header crosses from JavaScript into the Worker as two strings, and a browser sends a dozen
/// or more the gatekeeper never looks at, so copying all of them costs CPU on every request for
/// nothing. The list must name every header the core reads from a request:
/// - `Authorization`: the grants (`request::grants`);
/// - `Origin` and `Access-Control-Request-Method`: CORS checks and preflights (`cors`);
/// - `Range` and the four conditional headers: passed on, signed, to S3 on a read (`gatekeeper`);
/// - `Content-Length` and `Content-Type`: an upload's size and type (`upload`).
///
/// The caller's IP and the audit record's `cf-ray`, `User-Agent` and `Origin` are read apart, by
/// [`caller`] and [`audit_base`].
const REQUEST_HEADERS: [HeaderName; 12] = [
    http::header::AUTHORIZATION,
    http::header::ORIGIN,
    http::header::ACCESS_CONTROL_REQUEST_METHOD,
    http::header::RANGE,
    http::header::IF_MATCH,
    http::header::IF_NONE_MATCH,
    http::header::IF_MODIFIED_SINCE,
    http::header::IF_UNMODIFIED_SINCE,
    http::header::CONTENT_LENGTH,
    http::header::CONTENT_TYPE,
    // An upload's digests, which S3 checks the body against (docs/api.md, upload integrity).
    HeaderName::from_static("content-md5"),
    HeaderName::from_static("x-amz-checksum-sha256"),
];

/// The caller as the edge sees it: `CF-Connecting-IP` and `request.cf` only.
pub(super) fn caller(request: &Request) -> Caller {
    let ip = request
        .headers()
        .get("cf-connecting-ip")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<IpAddr>().ok());
    let country = request
        .cf()
        .and_then(worker::Cf::country)
        .and_then(|c| c.parse().ok());
    Caller { ip, country }
}

/// The parts of the audit record known on arrival.
pub(super) fn audit_base(request: &Request, caller: &Caller, arrived_ms: u64) -> AuditRecord {
    let header = |name: &str| request.headers().get(name).ok().flatten();
    let cf = request.cf();
    AuditRecord {
        time_ms: i64::try_from(arrived_ms).unwrap_or(i64::MAX),
        request_id: header("cf-ray").unwrap_or_else(random_id),
        ip: caller.ip.map(|ip| ip.to_string()),
        country: cf.and_then(worker::Cf::country),
        asn: cf.and_then(worker::Cf::asn),
        colo: cf.map(worker::Cf::colo),
        method: Some(request.inner().method()),
        user_agent: header("user-agent"),
        origin: header("origin"),
        decision: "internal",
        status: 500,
        ..AuditRecord::default()
    }
}

/// A fresh request id from the runtime's `crypto.randomUUID()`, for requests without a cf-ray.
fn random_id() -> String {
    let uuid = || -> Option<String> {
        let crypto = Reflect::get(&global(), &JsValue::from_str("crypto")).ok()?;
        let random_uuid: Function = Reflect::get(&crypto, &JsValue::from_str("randomUUID"))
            .ok()?
            .dyn_into()
            .ok()?;
        random_uuid.call0(&crypto).ok()?.as_string()
    };
    uuid().unwrap_or_default()
}

/// The request as the core sees it: method, path and query, the headers it reads
/// ([`REQUEST_HEADERS`]); no body.
///
/// The method is the runtime's own string, as the caller sent it: `worker::Request::method`
/// maps every method it does not know (and any spelling) to one it does, `GET` by default, which
/// would serve and record a `PROPFIND` as a read.
pub(super) fn to_http(request: &Request) -> Result<http::Request<()>, Error> {
    let method = http::Method::from_bytes(request.inner().method().as_bytes())
        .map_err(|_| Error::from(RequestError::MethodNotAllowed))?;
    let url = request.inner().url();
    let mut builder = http::Request::builder()
        .method(method)
        .uri(crate::request::path_and_query(&url).ok_or_else(Error::internal)?);
    if let Some(headers) = builder.headers_mut() {
        *headers = named(request.headers(), &REQUEST_HEADERS);
    }
    builder.body(()).map_err(|_| Error::internal())
}

/// The caller's body as a stream of exactly `length` bytes.
///
/// The runtime's `FixedLengthStream` makes the outgoing request carry `Content-Length` instead of
/// chunked encoding (S3 refuses a PUT without a length), and errors the upload if the caller
/// sends a byte more or less. The body is piped in JavaScript, never copied into the Worker.
pub(super) fn fixed_length_body(request: &Request, length: u64) -> Result<JsValue, Error> {
    // The pipe's promise settles when the stream ends; a failure surfaces as a failed fetch.
    let readable = if let Some(body) = request.inner().body() {
        pipe_fixed(&body, length)?.0
    } else {
        let fixed = fixed_length(length)?;
        drop(fixed.writable().close());
        fixed.readable()
    };
    Ok(readable.into())
}

/// Pipes `stream` through a native stream of exactly `length` bytes, returning its readable side
/// and the pipe's promise, which settles when the stream has ended, whole or cut off.
pub(super) fn pipe_fixed(
    stream: &ReadableStream,
    length: u64,
) -> Result<(ReadableStream, worker::js_sys::Promise), Error> {
    let fixed = fixed_length(length)?;
    let piped = stream.pipe_to(&fixed.writable());
    Ok((fixed.readable(), piped))
}

/// The runtime's native `FixedLengthStream`: no byte passes through the Worker, and a stream
/// that ends short of, or runs past, `length` fails.
fn fixed_length(length: u64) -> Result<worker::worker_sys::FixedLengthStream, Error> {
    worker::worker_sys::FixedLengthStream::new_big_int(worker::js_sys::BigInt::from(length))
        .map_err(|_| Error::internal())
}

/// Sends the signed request to S3, with `body` for an upload, and waits at most `timeout` for
/// the reply's headers. The body is then streamed with no deadline.
///
/// The runtime's `fetch(url, init)` builds the one request it sends: building a `Request` first
/// and fetching it with an init that adds the abort signal would make the runtime copy it.
pub(super) async fn send(
    upstream: http::Request<()>,
    body: Option<JsValue>,
    timeout: std::time::Duration,
) -> Result<Response, Error> {
    use futures_util::future::{Either, select};
    use worker::wasm_bindgen_futures::JsFuture;
    use worker::web_sys::{self, RequestRedirect, WorkerGlobalScope};

    let controller = worker::AbortController::default();
    let init = web_sys::RequestInit::new();
    init.set_method(upstream.method().as_str());
    init.set_headers(&headers(upstream.headers()).0);
    init.set_redirect(RequestRedirect::Follow);
    if let Some(body) = &body {
        init.set_body(body);
    }
    let signal = controller.signal();
    init.set_signal(Some(&signal));
    let scope: WorkerGlobalScope = global().unchecked_into();
    let reply = JsFuture::from(scope.fetch_with_str_and_init(&upstream.uri().to_string(), &init));
    match select(reply, worker::Delay::from(timeout)).await {
        Either::Left((Ok(reply), _)) => reply
            .dyn_into::<web_sys::Response>()
            .map(Response::from)
            .map_err(|_| Error::internal()),
        Either::Left((Err(_), _)) => Err(UpstreamError::unreachable().into()),
        Either::Right(_) => {
            controller.abort();
            Err(UpstreamError::timeout().into())
        }
    }
}

/// Drops a reply that will not be served, cancelling its body so that S3's bytes stop coming.
pub(super) fn discard(reply: Response) {
    if let worker::ResponseBody::Stream(body) = reply.into_parts().1 {
        // The promise only says when the cancellation is done; nothing waits for it.
        drop(body.cancel());
    }
}

/// S3's reply headers that the gatekeeper uses: those it may pass to the caller
/// ([`SAFE_HEADERS`], which include the `Content-Length` the audit record takes). S3 sends more
/// (request ids, server, encryption details); they are never copied out of the runtime.
pub(super) fn header_map(headers: &Headers) -> HeaderMap {
    named(headers, &SAFE_HEADERS)
}

/// The headers called `names` as a `HeaderMap`, skipping any the `http` crate cannot represent.
///
/// The runtime's `get` joins repeated fields with `, `, as iterating its headers does, so a
/// repeated header reaches the core exactly as it did when every header was copied.
fn named(headers: &Headers, names: &[HeaderName]) -> HeaderMap {
    let mut map = HeaderMap::with_capacity(names.len());
    for name in names {
        let value = headers
            .get(name.as_str())
            .ok()
            .flatten()
            .and_then(|v| HeaderValue::try_from(v).ok());
        if let Some(value) = value {
            map.insert(name.clone(), value);
        }
    }
    map
}

/// A `HeaderMap` as runtime headers.
pub(super) fn headers(map: &HeaderMap) -> Headers {
    let headers = Headers::new();
    for (name, value) in map {
        if let Ok(value) = value.to_str() {
            // Names and values from a HeaderMap are always valid for the runtime.
            let _ = headers.append(name.as_str(), value);
        }
    }
    headers
}

/// The JSON error reply, with `extra` headers (the CORS headers, when the page is allowed).
pub(super) fn error_response(err: &Error, extra: &HeaderMap) -> worker::Result<Response> {
    let mut reply = response::error(err);
    reply.headers_mut().extend(extra.clone());
    Ok(Response::ok(reply.body().clone())?
        .with_status(reply.status().as_u16())
        .with_headers(headers(reply.headers())))
}
