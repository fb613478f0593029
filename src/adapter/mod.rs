//! The Cloudflare Worker: the thin, wasm-only layer that does the I/O the core decides on.
//!
//! For each request it reads the caller's IP and `request.cf`, asks the core for a decision,
//! fetches from S3 with the signed request the core built while recording the transaction in D1,
//! releases no object byte before both have answered, and streams the body through without
//! buffering it. On a cron trigger it seals the audit log, archives it to S3 when that is on, and
//! applies retention.

mod audit;
mod commit;
mod convert;
mod health;
mod multipart;
mod seal;
mod settings;
mod signature;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use worker::js_sys::Promise;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{
    Context, Env, Request, Response, ResponseBody, ScheduleContext, ScheduledEvent, event,
};

use crate::acl::Caller;
use crate::{Error, replay, response};

#[event(fetch)]
async fn fetch(request: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let arrived_ms = now_ms();
    let now = UNIX_EPOCH + Duration::from_millis(arrived_ms);
    let caller = convert::caller(&request);
    let mut record = convert::audit_base(&request, &caller, arrived_ms);
    let incoming = convert::to_http(&request);

    let gatekeeper = match settings::gatekeeper(&env) {
        Ok(gatekeeper) => gatekeeper,
        // The operator's log names the setting; the caller sees only `misconfigured`, and the
        // audit log shows that the gatekeeper refused the request because of its settings.
        // A preflight is never recorded (it touches nothing), misconfigured or not.
        Err(err) => {
            let preflight = incoming
                .as_ref()
                .is_ok_and(|r| r.method() == http::Method::OPTIONS);
            if !preflight {
                record.bucket = settings::bucket_name(&env);
                if let Ok(incoming) = &incoming {
                    record.describe(crate::request::intent(incoming).ok().as_ref(), &[]);
                    record.grant_in_url = !matches!(crate::request::url_grants(incoming), Ok(None));
                }
                audit::Trail::new(&env, &ctx, record)
                    .finish(Err(&err))
                    .await;
            }
            return convert::error_response(&err, &HeaderMap::new());
        }
    };
    record.bucket = gatekeeper.bucket().to_string();
    let incoming = match incoming {
        Ok(incoming) => incoming,
        Err(err) => {
            audit::Trail::new(&env, &ctx, record)
                .finish(Err(&err))
                .await;
            return convert::error_response(&err, &HeaderMap::new());
        }
    };
    let cors = |reply: &mut HeaderMap| gatekeeper.cors().decorate(incoming.headers(), reply);

    // A preflight asks only whether the page may call; it touches nothing and is not audited.
    if incoming.method() == http::Method::OPTIONS {
        let preflight = gatekeeper.cors().preflight(incoming.headers());
        return Ok(Response::empty()?
            .with_status(preflight.status().as_u16())
            .with_headers(convert::headers(preflight.headers())));
    }

    // A health probe reads one statement and writes nothing (docs/api.md, "Health"). The ACL
    // applies: a caller it refuses goes the usual way, and is refused and recorded as any other.
    if crate::health::is_probe(incoming.method(), incoming.uri().path())
        && gatekeeper.admits(&caller)
    {
        let head = incoming.method() == http::Method::HEAD;
        return health::answer(&env, gatekeeper.health(), head).await;
    }

    let mut trail = audit::Trail::new(&env, &ctx, record);
    let reply = serve(&gatekeeper, &incoming, &request, &caller, now, &mut trail).await;
    let mut headers = HeaderMap::new();
    cors(&mut headers);
    match reply {
        Ok(Reply {
            status,
            headers: body_headers,
            body,
            stream_end,
        }) => {
            // A read's row is completed, in one statement, once the relay ends, off the critical
            // path: the runtime keeps the Worker alive for it. The pipe settles once its last byte
            // is handed to the runtime, which may buffer it long after the caller has gone: so
            // this records the relay, not the delivery. A reply without a streamed body completes
            // its row at once.
            if let Some(end) = trail.read_end(status) {
                ctx.wait_until(async move {
                    let relayed = match stream_end {
                        Some(piped) => Some(JsFuture::from(piped).await.is_ok()),
                        None => None,
                    };
                    end.run(relayed).await;
                });
            } else {
                trail.finish(Ok(status)).await;
            }
            headers.extend(body_headers);
            // `Manual`: S3's bytes pass as they are (with `Cache-Control: no-transform` for the
            // edge). Compressing on the fly would weaken the ETag, which breaks conditional
            // requests, drop Content-Length, and spend CPU on objects often compressed already.
            Ok(worker::ResponseBuilder::new()
                .with_status(status)
                .with_headers(convert::headers(&headers))
                .with_encode_body(worker::EncodeBody::Manual)
                .body(body))
        }
        Err(err) => {
            trail.finish(Err(&err)).await;
            convert::error_response(&err, &headers)
        }
    }
}

/// The runtime's clock, in milliseconds since the epoch: `Date.now()`, which, unlike
/// `worker::Date::now`, makes no `Date` object to read it from (a read asks several times).
fn now_ms() -> u64 {
    // Whole milliseconds since 1970, far below 2^53, and never negative on the runtime's clock.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let ms = worker::js_sys::Date::now() as u64;
    ms
}

#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    // A configuration error was logged, naming the setting, when the settings were read.
    let Ok(gatekeeper) = settings::gatekeeper(&env) else {
        return;
    };
    // The scheduled time is whole milliseconds; it identifies the run, so a repeated run
    // (Cloudflare delivers at least once) finds its seal already made.
    #[allow(clippy::cast_possible_truncation)]
    let scheduled_ms = event.schedule() as i64;
    let now_ms = i64::try_from(now_ms()).unwrap_or(i64::MAX);
    if let Err(err) = seal::run(
        &env,
        gatekeeper.sealer(),
        gatekeeper.storage(),
        scheduled_ms,
        now_ms,
    )
    .await
    {
        worker::console_error!("audit sealing failed: {err}");
    }
}

/// What an allowed request answers.
struct Reply {
    status: u16,
    headers: HeaderMap,
    body: ResponseBody,
    /// For a streamed read: the promise that settles when the stream ends.
    stream_end: Option<Promise>,
}

/// Carries out an allowed request, or says why not.
async fn serve(
    gatekeeper: &crate::Gatekeeper,
    incoming: &http::Request<()>,
    request: &Request,
    caller: &Caller,
    now: SystemTime,
    trail: &mut audit::Trail<'_>,
) -> Result<Reply, Error> {
    let decision = signature::decide(gatekeeper, incoming, caller, now).await;
    trail
        .record
        .describe(decision.intent.as_ref(), &decision.grants);
    // A refusal that a genuine, current grant vouches for is recorded in full, whatever the
    // flood bound.
    trail.signed = decision.current_signature;
    trail.record.bytes_in = decision.upload.as_ref().map(|u| u.length);
    trail.record.grant_in_url = decision.grant_in_url;
    let disposition = crate::disposition::header(&decision.grants);
    let upstream = decision.outcome?;
    if let Some(call) = &decision.multipart {
        return multipart::serve(
            gatekeeper,
            call,
            &decision.grants,
            upstream,
            incoming,
            request,
            trail,
        )
        .await;
    }

    // A write is recorded, and its grant spent, before a byte goes to S3: if the log cannot take
    // it, nothing is stored, and two racing uses of one grant cannot both succeed.
    let is_write = decision
        .intent
        .as_ref()
        .is_some_and(|i| i.operation.is_write());
    if is_write {
        let spend = replay::spend(&decision.grants, gatekeeper.clock_skew());
        trail.begin_write(&spend).await?;
    }
    let body = match &decision.upload {
        Some(upload) => Some(convert::fixed_length_body(request, upload.length)?),
        None => None,
    };
    // From here on the request was authorised: any failure is recorded in full.
    trail.reached_s3 = true;
    let ask = convert::send(upstream, body, gatekeeper.upstream_timeout());
    // No transaction without its record: a read's row is inserted while S3 is asked, and no byte
    // is released unless both succeeded.
    let mut s3_response = if is_write {
        ask.await?
    } else {
        trail.begin_read(ask).await?
    };
    let status = s3_response.status_code();
    let success = (200..300).contains(&status) || status == 304;
    if !success {
        let body = s3_response.text().await.unwrap_or_default();
        let code = crate::s3::error_code(&body);
        let status = http::StatusCode::from_u16(status).map_err(|_| Error::internal())?;
        return Err(crate::s3::UpstreamError::from_reply(status, code).into());
    }

    let upstream_headers = convert::header_map(s3_response.headers());
    trail.record.s3_status = Some(status);
    trail.record.bytes_out = upstream_headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok());

    // A listing is S3 XML turned into JSON, so it is read whole; S3 bounds it at 1000 keys.
    let listing = match decision.intent.as_ref().and_then(|i| i.page.as_ref()) {
        Some(page) => {
            let json = list_json(&mut s3_response, gatekeeper.key_root(), &page.prefix).await?;
            trail.record.bytes_out = Some(json.len() as u64);
            Some(json)
        }
        None => None,
    };
    if let Some(json) = listing {
        let mut headers = response::passthrough_headers(&HeaderMap::new());
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        return Ok(Reply {
            status,
            headers,
            body: ResponseBody::Body(json.into_bytes()),
            stream_end: None,
        });
    }
    let mut headers = response::passthrough_headers(&upstream_headers);
    // The grant's `filename` names the file, over whatever S3 stored.
    if let Some(disposition) = disposition {
        headers.insert(http::header::CONTENT_DISPOSITION, disposition);
    }
    let (_, body) = s3_response.into_parts();
    // A body of known length is piped through the runtime's native FixedLengthStream: no byte
    // passes through the Worker, and the pipe settles when the stream ends, whole or cut off.
    if let (false, ResponseBody::Stream(stream), Some(length)) =
        (is_write, &body, trail.record.bytes_out)
    {
        let (readable, piped) = convert::pipe_fixed(stream, length)?;
        return Ok(Reply {
            status,
            headers,
            body: ResponseBody::Stream(readable),
            stream_end: Some(piped),
        });
    }
    Ok(Reply {
        status,
        headers,
        body,
        stream_end: None,
    })
}

/// Reads S3's list reply and returns the page as JSON.
async fn list_json(reply: &mut Response, key_root: &str, prefix: &str) -> Result<String, Error> {
    let declared: Option<usize> = reply
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse().ok());
    if declared.is_some_and(|n| n > crate::s3::MAX_LIST_REPLY_BYTES) {
        return Err(crate::s3::UpstreamError::malformed().into());
    }
    let xml = reply
        .text()
        .await
        .map_err(|_| crate::s3::UpstreamError::unreachable())?;
    if xml.len() > crate::s3::MAX_LIST_REPLY_BYTES {
        return Err(crate::s3::UpstreamError::malformed().into());
    }
    let listing = crate::s3::parse_listing(&xml, key_root, prefix)?;
    serde_json::to_string(&listing).map_err(|_| Error::internal())
}
