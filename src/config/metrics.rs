//! The `[metrics]` section: the Prometheus endpoint's own listener, kept apart
//! from the public one so that scrapes and their numbers never face clients.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

/// Where `GET /metrics` is served.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Address of the metrics listener; loopback by default, so only this machine
    /// (or a sidecar) scrapes. Port 0 takes any free port.
    pub listen: SocketAddr,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
        }
    }
}

impl MetricsConfig {
    /// The metrics listener needs an address of its own: not the public
    /// listener's, nor the cluster port's.
    pub(super) fn validate(
        &self,
        public_listen: SocketAddr,
        cluster_listen: Option<SocketAddr>,
    ) -> Result<(), ConfigError> {
        if self.listen.port() == 0 {
            return Ok(());
        }
        let clashes = |other: SocketAddr| {
            other.port() == self.listen.port()
                && (other.ip() == self.listen.ip()
                    || other.ip().is_unspecified()
                    || self.listen.ip().is_unspecified())
        };
        if clashes(public_listen) {
            return Err(invalid(
                "metrics.listen",
                "must differ from listen: /metrics has a listener of its own",
            ));
        }
        if cluster_listen.is_some_and(clashes) {
            return Err(invalid("metrics.listen", "must differ from cluster.listen"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, EnvironmentVariables};

    #[test]
    fn metrics_listen_on_loopback_by_default_and_can_be_overridden() {
        let defaults = Config::load(None, &EnvironmentVariables::default()).unwrap();
        assert_eq!(defaults.metrics.listen.to_string(), "127.0.0.1:9464");
        let environment =
            EnvironmentVariables::from_pairs([("HEYBLUE_METRICS__LISTEN", "127.0.0.1:0")]);
        let overridden = Config::load(None, &environment).unwrap();
        assert_eq!(overridden.metrics.listen.port(), 0);
    }

    #[test]
    fn the_metrics_listener_cannot_share_the_public_address() {
        let error = Config::from_toml_str(
            "listen = \"0.0.0.0:9000\"\n[metrics]\nlisten = \"127.0.0.1:9000\"\n",
        )
        .unwrap_err();
        assert!(error.to_string().contains("metrics.listen"), "{error}");
        let unknown = Config::from_toml_str("[metrics]\npath = \"/m\"\n").unwrap_err();
        assert!(unknown.to_string().contains("path"), "{unknown}");
        assert!(Config::from_toml_str("[metrics]\nlisten = \"127.0.0.1:9100\"\n").is_ok());
    }
}
