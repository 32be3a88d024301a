//! The `[cluster]` section (how this node joins the others) and the `[[regions]]`
//! map (which ZIP prefixes belong to which region, so ops can pin a region's
//! shards to the nodes labelled with it).

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

/// How this node joins a cluster. Absent: the node runs alone and owns every shard.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// Address the cluster port binds to.
    pub listen: SocketAddr,
    /// Host name or address peers dial to reach this node's cluster port
    /// (default: the IP of `listen`, which must then not be unspecified).
    #[serde(default)]
    pub advertise_host: Option<String>,
    /// Cluster addresses (`host:port`) of other nodes; one live seed is enough,
    /// the rest of the cluster is learned from it.
    #[serde(default)]
    pub seeds: Vec<String>,
    /// Region label of this node (see `[[regions]]`).
    #[serde(default = "default_region")]
    pub region: String,
    /// Environment variable holding the shared cookie that authenticates nodes
    /// to each other (never written in a file).
    #[serde(default = "default_cookie_env")]
    pub cookie_env: String,
    /// How often this node tells the others it is alive.
    #[serde(default = "default_heartbeat_interval_ms")]
    pub heartbeat_interval_ms: u64,
    /// A peer silent this long is treated as gone and its shards re-placed.
    #[serde(default = "default_peer_timeout_ms")]
    pub peer_timeout_ms: u64,
    /// How long a drain waits after handing shards off before closing sockets,
    /// so officers' presence reaches the new owners first.
    #[serde(default = "default_drain_handoff_ms")]
    pub drain_handoff_ms: u64,
    /// Encrypts the cluster links and authenticates both ends by a cluster CA
    /// (`[cluster.tls]`); plain TCP with the cookie only without it.
    #[serde(default)]
    pub tls: Option<ClusterTlsConfig>,
}

/// Mutual TLS on the cluster port: every node presents a certificate signed
/// by the cluster CA, for the host its peers dial (`advertise_host`), and
/// accepts only peers presenting one. Nodes then dial every seed themselves
/// (ractor_cluster's transitive dialing is plain TCP): list every node in
/// `seeds`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClusterTlsConfig {
    /// PEM file of the cluster CA (the only issuer trusted on the cluster port).
    pub ca_file: std::path::PathBuf,
    /// This node's certificate chain, PEM, issued by the cluster CA.
    pub certificate_chain_file: std::path::PathBuf,
    /// Its private key, PEM.
    pub private_key_file: std::path::PathBuf,
}

/// One region: a label and the ZIP prefixes (1 to 3 digits) whose shards it holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RegionConfig {
    /// Label, matched against `cluster.region` of nodes.
    pub name: String,
    /// ZIP prefixes; the longest matching prefix over all regions wins.
    pub zip_prefixes: Vec<String>,
}

fn default_region() -> String {
    "default".to_owned()
}

pub(super) fn default_cookie_env() -> String {
    "HEYBLUE_CLUSTER_COOKIE".to_owned()
}

fn default_heartbeat_interval_ms() -> u64 {
    250
}

fn default_peer_timeout_ms() -> u64 {
    2_000
}

fn default_drain_handoff_ms() -> u64 {
    1_000
}

/// Longest accepted label (node names and regions travel in every heartbeat).
const MAX_LABEL_LEN: usize = 64;

impl ClusterConfig {
    /// The host peers dial: `advertise_host`, else the listen IP.
    pub fn advertised_host(&self) -> String {
        self.advertise_host
            .clone()
            .unwrap_or_else(|| self.listen.ip().to_string())
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.advertise_host.is_none() && self.listen.ip().is_unspecified() {
            return Err(invalid(
                "cluster.advertise_host",
                "must be set when cluster.listen is an unspecified address",
            ));
        }
        if self.region.is_empty() || self.region.len() > MAX_LABEL_LEN {
            return Err(invalid("cluster.region", "must be 1 to 64 characters"));
        }
        if self.cookie_env.is_empty() {
            return Err(invalid("cluster.cookie_env", "must name a variable"));
        }
        if let Some(seed) = self.seeds.iter().find(|seed| !is_host_port(seed)) {
            return Err(ConfigError::Key {
                key: "cluster.seeds".to_owned(),
                problem: format!("{seed:?} is not host:port"),
            });
        }
        if !(50..=10_000).contains(&self.heartbeat_interval_ms) {
            return Err(invalid(
                "cluster.heartbeat_interval_ms",
                "must be 50 to 10000",
            ));
        }
        if self.peer_timeout_ms < 3 * self.heartbeat_interval_ms || self.peer_timeout_ms > 60_000 {
            return Err(invalid(
                "cluster.peer_timeout_ms",
                "must be at least 3 heartbeats and at most 60000",
            ));
        }
        if self.drain_handoff_ms > 60_000 {
            return Err(invalid("cluster.drain_handoff_ms", "must be at most 60000"));
        }
        Ok(())
    }
}

/// Checks the `[[regions]]` map: labels set, prefixes of 1 to 3 digits, no prefix twice.
pub(super) fn validate_regions(regions: &[RegionConfig]) -> Result<(), ConfigError> {
    let mut seen = std::collections::HashSet::new();
    for region in regions {
        if region.name.is_empty() || region.name.len() > MAX_LABEL_LEN {
            return Err(invalid("regions.name", "must be 1 to 64 characters"));
        }
        for prefix in &region.zip_prefixes {
            let digits = !prefix.is_empty()
                && prefix.len() <= 3
                && prefix.bytes().all(|byte| byte.is_ascii_digit());
            if !digits {
                return Err(ConfigError::Key {
                    key: "regions.zip_prefixes".to_owned(),
                    problem: format!("{prefix:?} is not 1 to 3 digits"),
                });
            }
            if !seen.insert(prefix.clone()) {
                return Err(ConfigError::Key {
                    key: "regions.zip_prefixes".to_owned(),
                    problem: format!("{prefix:?} is listed in two regions"),
                });
            }
        }
    }
    Ok(())
}

fn is_host_port(text: &str) -> bool {
    text.rsplit_once(':').is_some_and(|(host, port)| {
        !host.is_empty() && port.parse::<u16>().is_ok_and(|port| port != 0)
    })
}
