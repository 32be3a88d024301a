//! The `[rewards]` section: where the voucher signing keys live and how often
//! a running server looks for a rotated key file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

/// File name of the voucher key set when `voucher_keys_file` is not set.
const DEFAULT_KEYS_FILE: &str = "voucher-keys.json";

/// Voucher signing settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct RewardsConfig {
    /// The voucher key set (Ed25519 secret keys, JSON, mode 0600). Absent:
    /// `data_dir/voucher-keys.json`, generated on first start. Every node of a
    /// cluster must name the same file (a shared mount), or their tokens
    /// would not verify against the keys another node publishes.
    pub voucher_keys_file: Option<PathBuf>,
    /// How often a running server checks whether the key file changed
    /// (`heyblue keys rotate`) and reloads it.
    pub voucher_keys_reload_seconds: u64,
}

impl Default for RewardsConfig {
    fn default() -> Self {
        Self {
            voucher_keys_file: None,
            voucher_keys_reload_seconds: 5,
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

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=3_600).contains(&self.voucher_keys_reload_seconds) {
            return Err(invalid(
                "rewards.voucher_keys_reload_seconds",
                "must be 1 to 3600",
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{Config, EnvironmentVariables};

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
}
