//! The Cloudflare Worker: the thin, wasm-only layer that does the I/O the core decides on.
//!
//! For each request it reads the caller's IP and `request.cf`, asks the core for a decision,
//! fetches from S3 with the signed request the core built, records the transaction in D1 before
//! releasing any object bytes, and streams the body through without buffering it. On a cron
//! trigger it seals the audit log and applies retention.

mod audit;
mod convert;
mod seal;
mod settings;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use worker::{
    Context, Date, Env, Request, Response, ResponseBody, ScheduleContext, ScheduledEvent, event,
};

use crate::acl::Caller;
use crate::audit::AuditRecord;
use crate::{Error, replay, response};

#[event(fetch)]
async fn fetch(request: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let arrived_ms = Date::now().as_millis();
    let now = UNIX_EPOCH + Duration::from_millis(arrived_ms);
    let caller = convert::caller(&request);
    let mut record = convert::audit_base(&request, &caller, arrived_ms);

    let gatekeeper = match settings::gatekeeper(&env) {
        Ok(gatekeeper) => gatekeeper,
        // The operator's log names the setting; the caller sees only `misconfigured`.
        Err(err) => return convert::error_response(&err, &HeaderMap::new()),
    };
    record.bucket = gatekeeper.bucket().to_string();
    let Ok(incoming) = convert::to_http(&request) else {
        return convert::error_response(&Error::internal(), &HeaderMap::new());
    };
    let cors = |reply: &mut HeaderMap| gatekeeper.cors().decorate(incoming.headers(), reply);

    // A preflight asks only whether the page may call; it touches nothing and is not audited.
    if incoming.method() == http::Method::OPTIONS {
        let preflight = gatekeeper.cors().preflight(incoming.headers());
        return Ok(Response::empty()?
            .with_status(preflight.status().as_u16())
            .with_headers(convert::headers(preflight.headers())));
    }

    let reply = serve(
        &gatekeeper,
        &incoming,
        &request,
        &caller,
        now,
        &env,
        &mut record,
    )
    .await;
    match reply {
        Ok((status, mut headers, body)) => {
            cors(&mut headers);
            // `Manual`: the runtime must pass S3's bytes as they are. Compressing them on the fly
            // would weaken the ETag (breaking conditional requests), drop Content-Length, and
            // spend CPU on objects that are usually compressed already.
            Ok(worker::ResponseBuilder::new()
                .with_status(status)
                .with_headers(convert::headers(&headers))
                .with_encode_body(worker::EncodeBody::Manual)
                .body(body))
        }
        Err(err) => {
            record.decision = err.code();
            record.status = err.status().as_u16();
            record.s3_status = err.upstream_status().map(|s| s.as_u16());
            record.duration_ms = Some(Date::now().as_millis().saturating_sub(arrived_ms));
            // A refusal is safe to return even when the log cannot take it: nothing was served.
            if let Err(db) = audit::write(&env, &record).await {
                worker::console_error!("audit write failed for a refused request: {db}");
            }
            let mut headers = HeaderMap::new();
            cors(&mut headers);
            convert::error_response(&err, &headers)
        }
    }
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
    let now_ms = i64::try_from(Date::now().as_millis()).unwrap_or(i64::MAX);
    if let Err(err) = seal::run(&env, gatekeeper.sealer(), scheduled_ms, now_ms).await {
        worker::console_error!("audit sealing failed: {err}");
    }
}

/// Carries out an allowed request, or says why not. On success, returns the reply's status,
/// headers and body (S3's, streamed).
async fn serve(
    gatekeeper: &crate::Gatekeeper,
    incoming: &http::Request<()>,
    request: &Request,
    caller: &Caller,
    now: SystemTime,
    env: &Env,
    record: &mut AuditRecord,
) -> Result<(u16, HeaderMap, ResponseBody), Error> {
    let decision = gatekeeper.decide(incoming, caller, now);
    record.describe(decision.intent.as_ref(), &decision.grants);
    record.bytes_in = decision.upload.as_ref().map(|u| u.length);
    let upstream = decision.outcome?;

    // A write grant is spent before the write, so two racing uses cannot both succeed.
    if let Some(spend) = replay::spend(&decision.grants, gatekeeper.clock_skew()) {
        audit::spend(env, spend, record.time_ms).await?;
    }
    let body = match &decision.upload {
        Some(upload) => Some(convert::fixed_length_body(request, upload.length)?),
        None => None,
    };
    let mut s3_response = convert::send(upstream, body).await?;
    let status = s3_response.status_code();
    let success = (200..300).contains(&status) || status == 304;
    if !success {
        let body = s3_response.text().await.unwrap_or_default();
        let code = crate::s3::error_code(&body);
        let status = http::StatusCode::from_u16(status).map_err(|_| Error::internal())?;
        return Err(crate::s3::UpstreamError::from_reply(status, code).into());
    }

    let upstream_headers = convert::header_map(s3_response.headers());
    record.decision = "allowed";
    record.status = status;
    record.s3_status = Some(status);
    record.bytes_out = upstream_headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok());
    record.duration_ms = Some(
        Date::now()
            .as_millis()
            .saturating_sub(record.time_ms.unsigned_abs()),
    );
    // No transaction without its record: the row is committed before a byte is released.
    audit::write(env, record).await.map_err(|db| {
        worker::console_error!("audit write failed; refusing to serve: {db}");
        Error::audit_unavailable()
    })?;

    let headers = response::passthrough_headers(&upstream_headers);
    let (_, body) = s3_response.into_parts();
    Ok((status, headers, body))
}
