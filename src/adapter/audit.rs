//! Writing audit records to D1.

use worker::Env;
use worker::wasm_bindgen::JsValue;

use crate::audit::{AuditRecord, INSERT_SQL, SqlValue};

/// The D1 binding name in wrangler.toml.
const BINDING: &str = "AUDIT_DB";

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

fn js(value: SqlValue) -> JsValue {
    match value {
        SqlValue::Null => JsValue::NULL,
        // D1 binds JavaScript numbers; every integer in a record is far below 2^53.
        #[allow(clippy::cast_precision_loss)]
        SqlValue::Integer(n) => JsValue::from_f64(n as f64),
        SqlValue::Text(s) => JsValue::from_str(&s),
    }
}
