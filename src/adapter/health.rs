//! `GET /health` and the cron's size line: reads from D1 what `crate::health` judges.

use std::cell::Cell;

use http::HeaderMap;
use worker::{D1Database, Env, Response};

use super::audit::{BINDING, prepare};
use super::convert;
use crate::audit::Statement;
use crate::health::{self, Health, Inputs, Limits};
use crate::seal::Row;

thread_local! {
    /// The last answer of this isolate and until when it may be reused (ms since the epoch):
    /// probes cost D1 one read per isolate per `health::CACHE_MS`, however many arrive.
    static CACHED: Cell<Option<(i64, Option<Health>)>> = const { Cell::new(None) };
}

/// Answers a health probe. Nothing is written: no audit row, no log line.
pub(super) async fn answer(env: &Env, limits: Limits, head: bool) -> worker::Result<Response> {
    let now_ms = clock();
    let cached = CACHED
        .get()
        .filter(|(until, _)| now_ms < *until)
        .map(|(_, health)| health);
    let health = if let Some(health) = cached {
        health
    } else {
        let health = match read(env, limits.archiving).await {
            Ok((sealed_ms, archived_ms, size_bytes)) => Some(limits.judge(&Inputs {
                now_ms,
                sealed_ms,
                archived_ms,
                size_bytes,
            })),
            Err(err) => {
                worker::console_error!("health: the audit database could not be read: {err}");
                None
            }
        };
        CACHED.set(Some((now_ms.saturating_add(health::CACHE_MS), health)));
        health
    };
    let (status, body) = match health {
        Some(health) => (health.status(), health.body()),
        None => (
            http::StatusCode::SERVICE_UNAVAILABLE,
            health::UNAVAILABLE_BODY.to_owned(),
        ),
    };
    let mut headers = crate::response::passthrough_headers(&HeaderMap::new());
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    let reply = if head {
        Response::empty()?
    } else {
        Response::ok(body)?
    };
    Ok(reply
        .with_status(status.as_u16())
        .with_headers(convert::headers(&headers)))
}

/// The newest seal's time, the newest archive's time, and the database's size: one statement.
async fn read(
    env: &Env,
    archiving: bool,
) -> worker::Result<(Option<i64>, Option<i64>, Option<u64>)> {
    let db = env.d1(BINDING)?;
    let (row, size) = one_row(&db, health::inputs_sql(archiving)).await?;
    Ok((
        row.get("sealed_ms").as_integer(),
        row.get("archived_ms").as_integer(),
        size,
    ))
}

/// The one row `sql` selects, and the database's size that D1 reported with it.
async fn one_row(db: &D1Database, sql: &str) -> worker::Result<(Row, Option<u64>)> {
    let statement = Statement {
        sql: sql.to_owned(),
        params: Vec::new(),
    };
    let result = prepare(db, statement)?.all().await?;
    let size = result
        .meta()?
        .and_then(|m| m.size_after)
        .and_then(|n| u64::try_from(n).ok());
    let row = result
        .results::<Row>()?
        .into_iter()
        .next()
        .unwrap_or_default();
    Ok((row, size))
}

fn clock() -> i64 {
    i64::try_from(super::now_ms()).unwrap_or(i64::MAX)
}
