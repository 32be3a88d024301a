//! The `[outbox]` section: how this node sends the outbox's deliveries
//! (`crate::outbox`): whether it sends at all, how long it holds a delivery
//! while sending, how often it looks for due ones, the retry schedule, and
//! whether loopback and private addresses may be reached (off: the SSRF
//! guard; on only for local receivers in development and tests).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

/// How the outbox sends.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxConfig {
    /// Whether this node runs the sending loop (deliveries are written
    /// either way, and sent by any node that runs it).
    pub send: bool,
    /// Whether endpoints may be on loopback or private addresses.
    pub allow_private_destinations: bool,
    /// How long a node holds a delivery it is sending before another may take
    /// it over; longer than an attempt on every endpoint.
    pub lease_seconds: u64,
    /// Wait between looks for due deliveries when none was found.
    pub poll_interval_ms: u64,
    /// Deliveries taken per look.
    pub batch_size: usize,
    /// Deliveries of a look sent at once (each to its endpoints in turn):
    /// a slow endpoint holds up only its own deliveries, and the store's
    /// writes of a look are committed together.
    pub concurrency: usize,
    /// Open deliveries of each state read every 30 s for the per-endpoint
    /// backlog gauges; a longer backlog counts as this many.
    pub backlog_scan_limit: usize,
    /// Delays before attempts 2, 3, ...; after the last, a dead letter.
    pub retry_delays_seconds: Vec<u64>,
    /// Fraction (0 to 1) by which each retry delay randomly varies.
    pub retry_jitter: f64,
    /// An endpoint whose every attempt fails for this long is disabled
    /// (the admin is told by a warning, a metric and its listing).
    pub disable_after_failing_hours: u64,
    /// The social file: post templates by event type and 3-digit ZIP place
    /// names (docs/outbox.md); the built-in templates and no place names
    /// when unset. Read and checked at startup.
    pub social_file: Option<PathBuf>,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            send: true,
            allow_private_destinations: false,
            lease_seconds: 120,
            poll_interval_ms: 1_000,
            batch_size: 100,
            concurrency: 16,
            backlog_scan_limit: 10_000,
            retry_delays_seconds: vec![5, 300, 1_800, 7_200, 18_000, 36_000, 36_000],
            retry_jitter: 0.2,
            disable_after_failing_hours: 120,
            social_file: None,
        }
    }
}

impl OutboxConfig {
    /// Checks the values against each other.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.lease_seconds < 30 {
            return Err(invalid(
                "outbox.lease_seconds",
                "must be at least 30: longer than one attempt (15 s) plus a settlement",
            ));
        }
        if self.poll_interval_ms == 0 {
            return Err(invalid("outbox.poll_interval_ms", "must be positive"));
        }
        if self.batch_size == 0 {
            return Err(invalid("outbox.batch_size", "must be positive"));
        }
        if !(1..=256).contains(&self.concurrency) {
            return Err(invalid("outbox.concurrency", "must be from 1 to 256"));
        }
        if !(1..=100_000).contains(&self.backlog_scan_limit) {
            return Err(invalid(
                "outbox.backlog_scan_limit",
                "must be from 1 to 100000",
            ));
        }
        if self.disable_after_failing_hours == 0 {
            return Err(invalid(
                "outbox.disable_after_failing_hours",
                "must be positive",
            ));
        }
        if !(0.0..=1.0).contains(&self.retry_jitter) {
            return Err(invalid("outbox.retry_jitter", "must be between 0 and 1"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn the_outbox_defaults_follow_the_published_schedule_and_are_checked() {
        let config = Config::from_toml_str("").expect("defaults");
        assert_eq!(config.outbox.retry_delays_seconds.len(), 7);
        assert!(!config.outbox.allow_private_destinations);
        let error = Config::from_toml_str("[outbox]\nlease_seconds = 5\n").unwrap_err();
        assert!(
            error.to_string().contains("outbox.lease_seconds"),
            "{error}"
        );
        let error = Config::from_toml_str("[outbox]\nretry_jitter = 2.0\n").unwrap_err();
        assert!(error.to_string().contains("outbox.retry_jitter"), "{error}");
        let config = Config::from_toml_str(
            "[outbox]\nallow_private_destinations = true\nretry_delays_seconds = [1, 2]\n",
        )
        .expect("valid");
        assert_eq!(config.outbox.retry_delays_seconds, vec![1, 2]);
    }
}
