//! Writing audit records to D1.

use worker::Env;
use worker::wasm_bindgen::JsValue;

use crate::Error;
use crate::audit::{AuditRecord, INSERT_SQL, SqlValue};
use crate::grant::GrantError;
use crate::replay::{self, Statement};

/// The D1 binding name in wrangler.toml.
pub(super) const BINDING: &str = "AUDIT_DB";

/// Inserts one record, with every value bound as a parameter.
pub(super) async fn write(env: &Env, record: &AuditRecord) -> worker::Result<()> {
    let params: Vec<JsValue> = record.params().into_iter().map(js).collect();
    env.d1(BINDING)?
        .prepare(INSERT_SQL)
        .bind(&params)?
        .run()
        .await?;
    Ok(())
}

/// Spends write grants' ids, after purging ids whose grants have expired, in one transaction.
pub(super) async fn spend(env: &Env, spend: Statement, now_ms: i64) -> Result<(), Error> {
    let db = env.d1(BINDING).map_err(|_| Error::audit_unavailable())?;
    let statements = [replay::purge(now_ms), spend]
        .into_iter()
        .map(|s| {
            let params: Vec<JsValue> = s.params.into_iter().map(js).collect();
            db.prepare(s.sql).bind(&params)
        })
        .collect::<worker::Result<Vec<_>>>()
        .map_err(|_| Error::audit_unavailable())?;
    match db.batch(statements).await {
        Ok(_) => Ok(()),
        Err(e) if replay::is_replay(&e.to_string()) => Err(GrantError::replayed().into()),
        Err(e) => {
            worker::console_error!("spending a grant id failed: {e}");
            Err(Error::audit_unavailable())
        }
    }
}

/// A parameter as D1 binds it.
pub(super) fn js(value: SqlValue) -> JsValue {
    match value {
        SqlValue::Null => JsValue::NULL,
        // D1 binds JavaScript numbers; every integer in a record is far below 2^53.
        #[allow(clippy::cast_precision_loss)]
        SqlValue::Integer(n) => JsValue::from_f64(n as f64),
        SqlValue::Text(s) => JsValue::from_str(&s),
    }
}
