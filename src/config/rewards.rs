//! The `[rewards]` section: what a point is worth when it is donated. The
//! rate is a decimal written as a string (`"0.01"`), parsed exactly into a
//! [`Decimal`]: money never passes through a float.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{ConfigError, invalid};

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
}

impl Default for RewardsConfig {
    fn default() -> Self {
        Self {
            // One cent a point.
            dollars_per_point: Decimal::new(1, 2),
        }
    }
}

impl RewardsConfig {
    /// A point must be worth something.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.dollars_per_point <= Decimal::ZERO {
            return Err(invalid(
                "rewards.dollars_per_point",
                "must be greater than 0",
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
}
