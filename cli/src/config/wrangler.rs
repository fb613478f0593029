//! The settings one wrangler environment gives the Worker, as the Worker will see them.

use std::collections::BTreeMap;

use toml::{Table, Value};

use super::Finding;

/// The `[vars]` of one environment, plus the values supplied with `--var`.
pub(crate) struct Vars {
    /// Each setting as the Worker reads it: text as it is, a table or an array as its JSON text.
    values: BTreeMap<String, String>,
    /// The settings given with `--var` (secrets among them), which are never printed.
    supplied: Vec<String>,
    /// Names in `[vars]`, whatever their type, for spotting settings the Worker never reads.
    names: Vec<String>,
    /// Vars the Worker would not see as the operator meant.
    mistakes: Vec<Finding>,
}

/// Reads the `[vars]` of `env`, or the top-level `[vars]` without one. `vars` is not inherited
/// by wrangler environments, so an environment has only its own `[env.NAME.vars]`.
pub(crate) fn vars(text: &str, env: Option<&str>) -> Result<Vars, String> {
    let file: Table = text
        .parse()
        .map_err(|e: toml::de::Error| format!("not valid TOML: {}", e.message()))?;
    let scope = match env {
        None => &file,
        Some(name) => file
            .get("env")
            .and_then(|envs| envs.get(name))
            .and_then(Value::as_table)
            .ok_or_else(|| format!("no [env.{name}] environment"))?,
    };
    let table = match scope.get("vars") {
        None => Table::new(),
        Some(Value::Table(table)) => table.clone(),
        Some(_) => return Err("vars is not a table".to_owned()),
    };
    let mut vars = Vars {
        values: BTreeMap::new(),
        supplied: Vec::new(),
        names: table.keys().cloned().collect(),
        mistakes: Vec::new(),
    };
    for (name, value) in table {
        match value {
            Value::String(text) => {
                vars.values.insert(name, text);
            }
            // wrangler hands a table or an array to the Worker as a JSON value, which the Worker
            // reads as its JSON text (src/adapter/settings.rs).
            Value::Table(_) | Value::Array(_) => {
                let json = serde_json::to_string(&value)
                    .map_err(|e| format!("vars.{name}: cannot be read as JSON: {e}"))?;
                vars.values.insert(name, json);
            }
            // A number or a boolean reaches the Worker as a JavaScript number or boolean, which
            // the Worker does not read: the setting would silently keep its default.
            other => vars.mistakes.push(Finding::new(
                name,
                format!(
                    "a TOML {} is not read by the Worker, which would use the default instead; write it as a string",
                    other.type_str()
                ),
            )),
        }
    }
    Ok(vars)
}

impl Vars {
    /// The value the Worker would read for `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Sets `name` as a deploy would (a secret, or a value replaced at deploy time).
    pub(crate) fn supply(&mut self, name: &str, value: &str) {
        self.values.insert(name.to_owned(), value.to_owned());
        self.supplied.push(name.to_owned());
    }

    /// Whether `name` was given with `--var`.
    pub(crate) fn supplied(&self, name: &str) -> bool {
        self.supplied.iter().any(|n| n == name)
    }

    /// Whether `name` is written in wrangler.toml's `[vars]`.
    pub(crate) fn in_file(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// The names in wrangler.toml's `[vars]`.
    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    pub(crate) fn mistakes(&self) -> &[Finding] {
        &self.mistakes
    }
}
