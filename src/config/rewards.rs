//! The `[rewards]` section: what a point is worth when it is donated, where
//! the voucher signing keys live, how often a running server looks for a
//! rotated key file, and how long an unfinished redemption waits before the
//! recovery pass takes it over. The rate is a decimal written as a string (`"0.01"`),
//! parsed exactly into a [`Decimal`]: money never passes through a float.

use std::path::{Path, PathBuf};

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{ConfigError, invalid};

/// File name of the voucher key set when `voucher_keys_file` is not set.
const DEFAULT_KEYS_FILE: &str = "voucher-keys.json";

/// Rewards settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct RewardsConfig {
    /// Dollars one donated point is pledged at, stamped on each pledge when
    /// it is made (a later change never re-prices earlier pledges).
    #[serde(
        serialize_with = "decimal_text",
        deserialize_with = "decimal_from_text"
    )]
    pub dollars_per_point: Decimal,
    /// The voucher key set (Ed25519 secret keys, JSON, mode 0600). Absent:
    /// `data_dir/voucher-keys.json`, generated on first start. Every node of a
    /// cluster must name the same file (a shared mount), or their tokens
    /// would not verify against the keys another node publishes.
    pub voucher_keys_file: Option<PathBuf>,
    /// How often a running server checks whether the key file changed
    /// (`heyblue keys rotate`) and reloads it.
    pub voucher_keys_reload_seconds: u64,
    /// How old an unfinished redemption, voucher release or donation must be
    /// before the recovery pass takes it over. Absent: twice
    /// `http.request_timeout_seconds` plus 60, so the request that started it
    /// has ended. Shorter is still exactly-once (steps are keyed, one runner
    /// writes at a time) but may take over a request that is still running.
    pub recovery_grace_seconds: Option<u64>,
}

impl Default for RewardsConfig {
    fn default() -> Self {
        Self {
            // One cent a point.
            dollars_per_point: Decimal::new(1, 2),
            voucher_keys_file: None,
            voucher_keys_reload_seconds: 5,
            recovery_grace_seconds: None,
        }
    }
}

impl RewardsConfig {
    /// The key file: the configured one, else the default in `data_dir`.
    pub fn voucher_keys_path(&self, data_dir: &Path) -> PathBuf {
        self.voucher_keys_file
            .clone()
            .unwrap_or_else(|| data_dir.join(DEFAULT_KEYS_FILE))
    }

    /// A point must be worth something; the key settings must be usable.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.dollars_per_point <= Decimal::ZERO {
            return Err(invalid(
                "rewards.dollars_per_point",
                "must be greater than 0",
            ));
        }
        if !(1..=3_600).contains(&self.voucher_keys_reload_seconds) {
            return Err(invalid(
                "rewards.voucher_keys_reload_seconds",
                "must be 1 to 3600",
            ));
        }
        if self
            .recovery_grace_seconds
            .is_some_and(|seconds| seconds > 86_400)
        {
            return Err(invalid(
                "rewards.recovery_grace_seconds",
                "must be 0 to 86400, or left out for twice the request timeout plus 60",
            ));
        }
        if self
            .voucher_keys_file
            .as_ref()
            .is_some_and(|path| path.as_os_str().is_empty())
        {
            return Err(invalid(
                "rewards.voucher_keys_file",
                "must name a file, or be left out for data_dir/voucher-keys.json",
            ));
        }
        Ok(())
    }
}

/// Writes a decimal as its text.
fn decimal_text<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// The rate as written: a string such as `"0.01"`. A bare TOML number (how
/// an environment override such as `0.02` arrives) is read from its shortest
/// text, which is the number as typed.
fn decimal_from_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Text(String),
        Integer(i64),
        Float(f64),
    }
    let text = match Written::deserialize(deserializer)? {
        Written::Text(text) => text,
        Written::Integer(number) => number.to_string(),
        Written::Float(number) => number.to_string(),
    };
    Decimal::from_str_exact(text.trim()).map_err(|_| {
        serde::de::Error::custom(format!(
            "must be a decimal number written as a string, e.g. \"0.01\" (got {text:?})"
        ))
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::str::FromStr;

    use rust_decimal::Decimal;

    use crate::config::{Config, EnvironmentVariables};

    #[test]
    fn a_point_is_a_cent_unless_configured() {
        let defaults = Config::from_toml_str("").expect("defaults");
        assert_eq!(defaults.rewards.dollars_per_point.to_string(), "0.01");
        let configured =
            Config::from_toml_str("[rewards]\ndollars_per_point = \"0.0125\"\n").expect("config");
        assert_eq!(
            configured.rewards.dollars_per_point,
            Decimal::from_str("0.0125").expect("decimal")
        );
        let environment =
            EnvironmentVariables::from_pairs([("HEYBLUE_REWARDS__DOLLARS_PER_POINT", "0.02")]);
        let overridden = Config::load(None, &environment).expect("override");
        assert_eq!(overridden.rewards.dollars_per_point.to_string(), "0.02");
    }

    #[test]
    fn the_rate_must_be_a_positive_decimal() {
        for bad in ["\"0\"", "\"-0.01\"", "\"a cent\"", "\"\""] {
            let error = Config::from_toml_str(&format!("[rewards]\ndollars_per_point = {bad}\n"))
                .expect_err(bad);
            assert!(
                error.to_string().contains("dollars_per_point"),
                "{bad}: {error}"
            );
        }
        let unknown = Config::from_toml_str("[rewards]\ncents_per_point = 1\n").unwrap_err();
        assert!(unknown.to_string().contains("cents_per_point"), "{unknown}");
    }

    #[test]
    fn the_key_file_defaults_to_the_data_dir_and_follows_the_environment() {
        let defaults = Config::load(None, &EnvironmentVariables::default()).unwrap();
        assert_eq!(
            defaults.rewards.voucher_keys_path(Path::new("/srv/data")),
            Path::new("/srv/data/voucher-keys.json")
        );
        let environment = EnvironmentVariables::from_pairs([(
            "HEYBLUE_REWARDS__VOUCHER_KEYS_FILE",
            "/mnt/shared/voucher-keys.json",
        )]);
        let overridden = Config::load(None, &environment).unwrap();
        assert_eq!(
            overridden.rewards.voucher_keys_path(Path::new("/srv/data")),
            Path::new("/mnt/shared/voucher-keys.json")
        );
    }

    #[test]
    fn a_reload_interval_of_zero_is_refused() {
        let error = Config::from_toml_str("[rewards]\nvoucher_keys_reload_seconds = 0\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("rewards.voucher_keys_reload_seconds"),
            "{error}"
        );
    }

    #[test]
    fn the_recovery_grace_follows_the_request_timeout_unless_configured() {
        let defaults = Config::from_toml_str("").expect("defaults");
        assert_eq!(defaults.rewards.recovery_grace_seconds, None);
        let configured =
            Config::from_toml_str("[rewards]\nrecovery_grace_seconds = 0\n").expect("config");
        assert_eq!(configured.rewards.recovery_grace_seconds, Some(0));
        let error = Config::from_toml_str("[rewards]\nrecovery_grace_seconds = 86401\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("rewards.recovery_grace_seconds"), "{error}");
    }
}
