//! Carrying out the calls of an upload in parts, which the core allowed: the D1 ledger is asked
//! before S3 for every call, and each call writes its own audit row.
//!
//! - Create: the row is inserted, spending the grant's `jti`, before S3 is asked; S3's new upload
//!   id is then bound to the grant in D1.
//! - Part: one statement checks that the upload id is bound to this grant and key and counts the
//!   part against the upload's limit ([`ledger::reserve`]); only then is the row inserted and the
//!   body streamed to S3. Once S3 answers, the part's count is settled ([`ledger::settle`]).
//! - Complete, abort, list: the binding is checked first; a completion names only parts that
//!   were counted, and its row carries their total size.

use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;
use worker::wasm_bindgen::JsValue;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{D1Database, Request, Response, ResponseBody};

use super::audit::{BINDING, Trail, prepare};
use super::{Reply, convert};
use crate::audit::Statement;
use crate::grant::Grant;
use crate::multipart::{
    Call, Completion, MAX_COMPLETION_BYTES, MultipartError, Step, UploadId, ledger,
};
use crate::s3::{MAX_MULTIPART_REPLY_BYTES, UpstreamError};
use crate::{Error, Gatekeeper, replay, response};

/// What every call needs beside the request.
struct Context<'g> {
    gatekeeper: &'g Gatekeeper,
    db: D1Database,
    now_ms: i64,
    timeout: std::time::Duration,
}

/// Carries out `call`, whose S3 request `upstream` the core signed.
pub(super) async fn serve(
    gatekeeper: &Gatekeeper,
    call: &Call,
    grants: &[Grant],
    upstream: http::Request<()>,
    incoming: &http::Request<()>,
    request: &Request,
    trail: &mut Trail<'_>,
) -> Result<Reply, Error> {
    let cx = Context {
        gatekeeper,
        db: trail
            .env()
            .d1(BINDING)
            .map_err(|_| Error::audit_unavailable())?,
        now_ms: trail.record.time_ms,
        timeout: gatekeeper.upstream_timeout(),
    };
    match &call.step {
        Step::Create => create(&cx, call, grants, upstream, trail).await,
        Step::Part { upload, number } => {
            part(&cx, call, upload, *number, upstream, request, trail).await
        }
        Step::Complete { upload } => {
            complete(&cx, call, upload, upstream, incoming, request, trail).await
        }
        Step::Abort { upload } | Step::ListParts { upload } => {
            abort_or_list(&cx, call, upload, upstream, trail).await
        }
    }
}

/// Creates the upload: spends the grant, then binds S3's new upload id to it.
async fn create(
    cx: &Context<'_>,
    call: &Call,
    grants: &[Grant],
    upstream: http::Request<()>,
    trail: &mut Trail<'_>,
) -> Result<Reply, Error> {
    trail
        .begin_write(&replay::spend(grants, cx.gatekeeper.clock_skew()))
        .await?;
    trail.reached_s3 = true;
    let mut reply = success(convert::send(upstream, None, cx.timeout).await?, trail).await?;
    let upload = crate::s3::parse_created(&read(&mut reply).await?)?;
    // Bindings whose grant can no longer be used go with each creation; a clock running a
    // little ahead must not forget one that another would still accept.
    let forget_before = cx.now_ms.saturating_sub(replay::KEEP_MARGIN_MS);
    let mut statements: Vec<Statement> = ledger::purge(forget_before).into();
    statements.push(ledger::bind(&upload, &call.binding));
    batch(&cx.db, statements).await.map_err(|e| {
        worker::console_error!("binding a new upload failed: {e}");
        Error::audit_unavailable()
    })?;
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({
            "uploadId": upload.as_str(),
            "partMaxBytes": call.part_max_bytes,
            "maxBytes": call.binding.max_bytes,
        }),
        None,
    ))
}

/// Uploads one part: counted against the upload's limit before a byte is sent, settled after.
async fn part(
    cx: &Context<'_>,
    call: &Call,
    upload: &UploadId,
    number: u16,
    upstream: http::Request<()>,
    request: &Request,
    trail: &mut Trail<'_>,
) -> Result<Reply, Error> {
    let length = trail.record.bytes_in.unwrap_or_default();
    let results = batch(
        &cx.db,
        vec![
            ledger::lookup(upload, &call.binding, cx.now_ms),
            ledger::reserve(upload, number, length, &call.binding, cx.now_ms),
        ],
    )
    .await
    .map_err(|e| {
        worker::console_error!("counting a part failed: {e}");
        Error::audit_unavailable()
    })?;
    let Some(reserved) = first::<ledger::Reserved>(&results, 1) else {
        return Err(if mine(&results) {
            MultipartError::upload_too_large()
        } else {
            MultipartError::unknown_upload()
        }
        .into());
    };
    let sent = async {
        trail.begin_write(&[]).await?;
        let body = convert::fixed_length_body(request, length)?;
        trail.reached_s3 = true;
        let reply = convert::send(upstream, Some(body), cx.timeout).await?;
        success(reply, trail).await
    }
    .await;
    let settle = ledger::settle(upload, number, reserved.generation, length, sent.is_ok());
    if let Err(e) = batch(&cx.db, vec![settle]).await {
        // The part keeps the larger of its sizes: safe, only less generous.
        worker::console_error!("settling a part's size failed: {e}");
    }
    let etag = convert::header_map(sent?.headers())
        .get(header::ETAG)
        .cloned();
    let body = serde_json::json!({
        "part": number,
        "etag": etag.as_ref().and_then(|v| v.to_str().ok()),
    });
    Ok(json(StatusCode::OK, &body, etag))
}

/// Completes the upload from the parts the caller names, all of which must have been counted.
async fn complete(
    cx: &Context<'_>,
    call: &Call,
    upload: &UploadId,
    upstream: http::Request<()>,
    incoming: &http::Request<()>,
    request: &Request,
    trail: &mut Trail<'_>,
) -> Result<Reply, Error> {
    let completion = Completion::from_json(&completion_body(incoming, request).await?)?;
    let results = batch(
        &cx.db,
        vec![
            ledger::lookup(upload, &call.binding, cx.now_ms),
            ledger::counted(upload, &completion.numbers()),
        ],
    )
    .await
    .map_err(|e| {
        worker::console_error!("reading an upload's parts failed: {e}");
        Error::audit_unavailable()
    })?;
    if !mine(&results) {
        return Err(MultipartError::unknown_upload().into());
    }
    let counted = first::<ledger::Counted>(&results, 1).ok_or_else(Error::internal)?;
    if usize::try_from(counted.parts).ok() != Some(completion.parts.len()) {
        return Err(MultipartError::unknown_part().into());
    }
    let size = u64::try_from(counted.bytes).unwrap_or_default();
    trail.record.bytes_in = Some(size);
    trail.begin_write(&[]).await?;
    trail.reached_s3 = true;
    let body = JsValue::from_str(&completion.to_xml());
    let mut reply = success(
        convert::send(upstream, Some(body), cx.timeout).await?,
        trail,
    )
    .await?;
    let etag = crate::s3::parse_completed(&read(&mut reply).await?)?;
    forget(&cx.db, upload).await;
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "etag": etag, "size": size }),
        None,
    ))
}

/// Aborts the upload, or lists the parts S3 holds for it.
async fn abort_or_list(
    cx: &Context<'_>,
    call: &Call,
    upload: &UploadId,
    upstream: http::Request<()>,
    trail: &mut Trail<'_>,
) -> Result<Reply, Error> {
    let results = batch(
        &cx.db,
        vec![ledger::lookup(upload, &call.binding, cx.now_ms)],
    )
    .await
    .map_err(|e| {
        worker::console_error!("reading an upload's binding failed: {e}");
        Error::audit_unavailable()
    })?;
    if !mine(&results) {
        return Err(MultipartError::unknown_upload().into());
    }
    trail.begin_write(&[]).await?;
    trail.reached_s3 = true;
    let mut reply = success(convert::send(upstream, None, cx.timeout).await?, trail).await?;
    if matches!(call.step, Step::Abort { .. }) {
        forget(&cx.db, upload).await;
        return Ok(Reply {
            status: StatusCode::NO_CONTENT.as_u16(),
            headers: response::passthrough_headers(&HeaderMap::new()),
            body: ResponseBody::Empty,
            stream_end: None,
        });
    }
    let parts = crate::s3::parse_parts(&read(&mut reply).await?)?;
    let body = serde_json::to_value(&parts).map_err(|_| Error::internal())?;
    let reply = json(StatusCode::OK, &body, None);
    if let ResponseBody::Body(bytes) = &reply.body {
        trail.record.bytes_out = Some(bytes.len() as u64);
    }
    Ok(reply)
}

/// S3's reply if it is a success; otherwise the error it stands for.
async fn success(mut reply: Response, trail: &mut Trail<'_>) -> Result<Response, Error> {
    let status = reply.status_code();
    trail.record.s3_status = Some(status);
    if (200..300).contains(&status) {
        return Ok(reply);
    }
    let body = reply.text().await.unwrap_or_default();
    let status = StatusCode::from_u16(status).map_err(|_| Error::internal())?;
    Err(UpstreamError::from_reply(status, crate::s3::error_code(&body)).into())
}

/// S3's XML reply, whole: it is small, and one larger than [`MAX_MULTIPART_REPLY_BYTES`] is no
/// real reply.
async fn read(reply: &mut Response) -> Result<String, Error> {
    let declared: Option<usize> = reply
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse().ok());
    if declared.is_some_and(|n| n > MAX_MULTIPART_REPLY_BYTES) {
        return Err(UpstreamError::malformed().into());
    }
    let xml = reply
        .text()
        .await
        .map_err(|_| UpstreamError::unreachable())?;
    if xml.len() > MAX_MULTIPART_REPLY_BYTES {
        return Err(UpstreamError::malformed().into());
    }
    Ok(xml)
}

/// The completion's JSON body: its declared length is checked before a byte is read.
async fn completion_body(
    incoming: &http::Request<()>,
    request: &Request,
) -> Result<Vec<u8>, Error> {
    let length = crate::upload::length(incoming.headers())?;
    if length > MAX_COMPLETION_BYTES {
        return Err(MultipartError::completion_too_large().into());
    }
    let buffer = request
        .inner()
        .array_buffer()
        .map_err(|_| MultipartError::bad_completion())?;
    let buffer = JsFuture::from(buffer)
        .await
        .map_err(|_| MultipartError::bad_completion())?;
    Ok(worker::js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Runs `statements` as one D1 batch (one transaction).
async fn batch(
    db: &D1Database,
    statements: Vec<Statement>,
) -> worker::Result<Vec<worker::D1Result>> {
    let statements = statements
        .into_iter()
        .map(|s| prepare(db, s))
        .collect::<worker::Result<Vec<_>>>()?;
    db.batch(statements).await
}

/// The first row of the `index`th result, if it has one of type `T`.
fn first<T: for<'de> Deserialize<'de>>(results: &[worker::D1Result], index: usize) -> Option<T> {
    results.get(index)?.results::<T>().ok()?.into_iter().next()
}

/// Whether the first result, a [`ledger::lookup`], found the upload bound to this grant and key.
fn mine(results: &[worker::D1Result]) -> bool {
    first::<ledger::Lookup>(results, 0).is_some_and(|row| row.mine == 1)
}

/// Forgets a completed or aborted upload. A failure leaves rows that the purge removes once the
/// grant has expired; S3 refuses further calls on the upload id anyway.
async fn forget(db: &D1Database, upload: &UploadId) {
    if let Err(e) = batch(db, ledger::forget(upload).into()).await {
        worker::console_error!("forgetting a finished upload failed: {e}");
    }
}

/// A JSON reply, with the part's `ETag` when there is one.
fn json(status: StatusCode, body: &serde_json::Value, etag: Option<HeaderValue>) -> Reply {
    let mut headers = response::passthrough_headers(&HeaderMap::new());
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(etag) = etag {
        headers.insert(header::ETAG, etag);
    }
    Reply {
        status: status.as_u16(),
        headers,
        body: ResponseBody::Body(body.to_string().into_bytes()),
        stream_end: None,
    }
}
