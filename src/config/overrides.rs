//! `HEYBLUE_*` environment overrides. `HEYBLUE_LISTEN=0.0.0.0:9000` sets `listen`;
//! a double underscore descends into a section: `HEYBLUE_IDENTITY__OTP_TTL_SECONDS=60`.
//! Values are read as TOML scalars when they parse as one (`30`, `true`), otherwise
//! as strings. Variables that hold secrets named by a `*_env` key
//! (`HEYBLUE_ADMIN_TOKEN`, `HEYBLUE_MASTER_KEY`, ...) are not overrides, and
//! neither are the test tooling's variables ([`TOOLING_PREFIXES`]).

use std::collections::BTreeMap;

use super::{Config, ConfigError};

const PREFIX: &str = "HEYBLUE_";

/// Variables of `scripts/test`, `scripts/cql-node` (the CQL node for tests),
/// `cluster/local` and `heyblue bench` (which a spawned server inherits), which
/// share the `HEYBLUE_` prefix but are not config keys.
const TOOLING_PREFIXES: [&str; 6] = [
    "HEYBLUE_SCYLLA_URI",
    "HEYBLUE_TEST_STORE",
    "HEYBLUE_CQL_NODE_",
    "HEYBLUE_CLUSTER_DIR",
    "HEYBLUE_BENCH_",
    "HEYBLUE_SKIP_",
];

/// A snapshot of the process environment: the one seam through which the server
/// reads environment variables, so tests pass their own instead of mutating the
/// process.
#[derive(Debug, Clone, Default)]
pub struct EnvironmentVariables {
    variables: BTreeMap<String, String>,
}

impl EnvironmentVariables {
    /// The current process environment (non-UTF-8 variables are skipped).
    pub fn from_process() -> Self {
        Self {
            variables: std::env::vars().collect(),
        }
    }

    /// An environment made of exactly these pairs.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            variables: pairs
                .into_iter()
                .map(|(key, value)| (key.into(), value.into()))
                .collect(),
        }
    }

    /// The value of `name`, if set and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.variables
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }
}

pub(super) fn apply(
    table: &mut toml::Table,
    environment: &EnvironmentVariables,
) -> Result<(), ConfigError> {
    let secret_names = secret_variable_names(table);
    for (name, raw_value) in &environment.variables {
        let Some(key) = name.strip_prefix(PREFIX) else {
            continue;
        };
        if secret_names.iter().any(|secret| secret == name)
            || TOOLING_PREFIXES
                .iter()
                .any(|tooling| name.starts_with(tooling))
        {
            continue;
        }
        let path: Vec<String> = key.split("__").map(str::to_ascii_lowercase).collect();
        set_path(table, &path, parse_scalar(raw_value)).map_err(|problem| ConfigError::Key {
            key: path.join("."),
            problem: format!("from environment variable {name}: {problem}"),
        })?;
    }
    Ok(())
}

/// Names held by `*_env` keys, in the file or by default.
fn secret_variable_names(table: &toml::Table) -> Vec<String> {
    let mut names = Vec::new();
    collect_env_names(table, &mut names);
    if let Ok(toml::Value::Table(defaults)) = toml::Value::try_from(Config::default()) {
        collect_env_names(&defaults, &mut names);
    }
    // Sections absent from the defaults name secrets by default too.
    names.push(super::cluster::default_cookie_env());
    names.push(super::scylla::default_password_env());
    names
}

fn collect_env_names(table: &toml::Table, names: &mut Vec<String>) {
    for (key, value) in table {
        match value {
            toml::Value::String(name) if key.ends_with("_env") => names.push(name.clone()),
            toml::Value::Table(inner) => collect_env_names(inner, names),
            _ => {}
        }
    }
}

fn parse_scalar(raw: &str) -> toml::Value {
    let document = format!("value = {raw}");
    match document.parse::<toml::Table>() {
        Ok(mut parsed) => match parsed.remove("value") {
            Some(
                value @ (toml::Value::Integer(_)
                | toml::Value::Float(_)
                | toml::Value::Boolean(_)
                | toml::Value::Array(_)),
            ) => value,
            _ => toml::Value::String(raw.to_owned()),
        },
        Err(_) => toml::Value::String(raw.to_owned()),
    }
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        return Err("empty key".to_owned());
    };
    if path.iter().any(String::is_empty) {
        return Err("empty key segment".to_owned());
    }
    let mut current = table;
    for parent in parents {
        let entry = current
            .entry(parent.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| format!("`{parent}` is not a section"))?;
    }
    current.insert(last.clone(), value);
    Ok(())
}
