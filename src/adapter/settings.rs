//! Reading the Worker's settings once per isolate.

use std::cell::OnceCell;
use std::rc::Rc;

use worker::Env;
use worker::js_sys::{JSON, Reflect};
use worker::wasm_bindgen::JsValue;

use crate::config::ConfigError;
use crate::{Config, Gatekeeper};

thread_local! {
    /// Settings cannot change within an isolate (a new deployment or secret starts a new one),
    /// so they are parsed and validated once, not on every request.
    static GATEKEEPER: OnceCell<Rc<Result<Gatekeeper, ConfigError>>> = const { OnceCell::new() };
}

/// The gatekeeper for this isolate's settings, or the first setting at fault.
pub(super) fn gatekeeper(env: &Env) -> Result<GatekeeperRef, crate::Error> {
    let loaded = GATEKEEPER.with(|cell| cell.get_or_init(|| Rc::new(load(env))).clone());
    match &*loaded {
        Ok(_) => Ok(GatekeeperRef(loaded)),
        Err(err) => {
            worker::console_error!("misconfigured: {err}");
            Err(crate::Error::misconfigured())
        }
    }
}

/// A shared handle on the loaded gatekeeper.
pub(super) struct GatekeeperRef(Rc<Result<Gatekeeper, ConfigError>>);

impl std::ops::Deref for GatekeeperRef {
    type Target = Gatekeeper;

    fn deref(&self) -> &Gatekeeper {
        match &*self.0 {
            Ok(gatekeeper) => gatekeeper,
            // `gatekeeper()` hands out a GatekeeperRef only for a loaded configuration.
            Err(_) => unreachable!("GatekeeperRef holds a loaded gatekeeper"),
        }
    }
}

/// The bucket for the audit row of a request refused as `misconfigured`: the `S3_BUCKET`
/// setting if it is a valid bucket name, or empty if it is missing or invalid (it may be the
/// setting at fault).
pub(super) fn bucket_name(env: &Env) -> String {
    setting(env, "S3_BUCKET")
        .and_then(|name| name.parse::<crate::s3::Bucket>().ok())
        .map(|bucket| bucket.to_string())
        .unwrap_or_default()
}

fn load(env: &Env) -> Result<Gatekeeper, ConfigError> {
    Config::from_settings(|name| setting(env, name)).map(Gatekeeper::new)
}

/// A `[vars]` string, a secret, or a `[vars]` table (as its JSON text).
fn setting(env: &Env, name: &str) -> Option<String> {
    let env: &JsValue = env.as_ref();
    let value = Reflect::get(env, &JsValue::from_str(name)).ok()?;
    if let Some(text) = value.as_string() {
        return Some(text);
    }
    if value.is_object() {
        return JSON::stringify(&value).ok()?.as_string();
    }
    None
}
