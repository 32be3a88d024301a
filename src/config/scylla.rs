//! The `[store] type = "scylla"` section: where the CQL cluster is, how data are
//! replicated, the consistency of requests, credentials and TLS.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

/// Connection and schema settings of the ScyllaDB (CQL) backend.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ScyllaConfig {
    /// Contact points, `host:port`; the driver discovers the rest of the cluster.
    pub nodes: Vec<String>,
    /// Keyspace holding every table; created at startup if missing.
    #[serde(default = "default_keyspace")]
    pub keyspace: String,
    /// Datacenter this server prefers for requests (`LOCAL_*` consistencies).
    #[serde(default)]
    pub local_datacenter: Option<String>,
    /// Replication of the keyspace when it is created (an existing keyspace is
    /// left as it is).
    #[serde(default)]
    pub replication: ReplicationConfig,
    /// Consistency of reads and writes; conditional writes use the matching
    /// serial consistency (`local_serial` for `local_*`, `serial` otherwise).
    #[serde(default)]
    pub consistency: ConsistencyLevel,
    /// Client-side limit on one request, retries included; past it the request
    /// fails as `store_unavailable`.
    #[serde(default = "default_request_timeout_seconds")]
    pub request_timeout_seconds: u64,
    /// User name for password authentication, when the cluster requires it.
    #[serde(default)]
    pub username: Option<String>,
    /// Environment variable holding the password of `username`.
    #[serde(default = "default_password_env")]
    pub password_env: String,
    /// TLS to the nodes; plain TCP when absent.
    #[serde(default)]
    pub tls: Option<ScyllaTlsConfig>,
}

fn default_keyspace() -> String {
    "heyblue".to_owned()
}

fn default_request_timeout_seconds() -> u64 {
    5
}

pub(super) fn default_password_env() -> String {
    "HEYBLUE_SCYLLA_PASSWORD".to_owned()
}

/// Keyspace replication, as in `CREATE KEYSPACE ... WITH replication`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "class", rename_all = "snake_case", deny_unknown_fields)]
pub enum ReplicationConfig {
    /// `SimpleStrategy` with one replication factor (development, one datacenter).
    Simple {
        /// Copies of each row.
        factor: u32,
    },
    /// `NetworkTopologyStrategy` with a factor per datacenter (production).
    NetworkTopology {
        /// Copies of each row in each named datacenter.
        datacenters: BTreeMap<String, u32>,
    },
}

impl Default for ReplicationConfig {
    fn default() -> Self {
        Self::Simple { factor: 1 }
    }
}

/// Consistency levels a server may ask for.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ConsistencyLevel {
    /// One replica.
    One,
    /// One replica in the local datacenter.
    LocalOne,
    /// A majority of replicas across datacenters.
    Quorum,
    /// A majority of replicas in the local datacenter.
    #[default]
    LocalQuorum,
    /// A majority in every datacenter.
    EachQuorum,
    /// Every replica.
    All,
}

/// TLS to the CQL nodes (rustls).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ScyllaTlsConfig {
    /// PEM file of the certificate authorities that sign the nodes' certificates.
    pub ca_file: PathBuf,
    /// PEM client certificate chain, for clusters that require client certificates.
    #[serde(default)]
    pub client_cert_file: Option<PathBuf>,
    /// PEM private key of `client_cert_file`.
    #[serde(default)]
    pub client_key_file: Option<PathBuf>,
}

impl ScyllaConfig {
    /// Checks what serde cannot: names, factors and timeouts.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.nodes.is_empty() || self.nodes.iter().any(String::is_empty) {
            return Err(invalid("store.nodes", "must list at least one host:port"));
        }
        if !is_cql_identifier(&self.keyspace) {
            return Err(invalid(
                "store.keyspace",
                "must be 1 to 48 lowercase letters, digits or underscores, starting with a letter",
            ));
        }
        if self.request_timeout_seconds == 0 {
            return Err(invalid(
                "store.request_timeout_seconds",
                "must be greater than 0",
            ));
        }
        match &self.replication {
            ReplicationConfig::Simple { factor } => {
                if *factor == 0 {
                    return Err(invalid(
                        "store.replication.factor",
                        "must be greater than 0",
                    ));
                }
            }
            ReplicationConfig::NetworkTopology { datacenters } => {
                if datacenters.is_empty()
                    || datacenters
                        .iter()
                        .any(|(name, factor)| *factor == 0 || !is_datacenter_name(name))
                {
                    return Err(invalid(
                        "store.replication.datacenters",
                        "must name at least one datacenter (letters, digits, - and _) with a factor above 0",
                    ));
                }
            }
        }
        if let Some(tls) = &self.tls
            && tls.client_cert_file.is_some() != tls.client_key_file.is_some()
        {
            return Err(invalid(
                "store.tls",
                "client_cert_file and client_key_file go together",
            ));
        }
        Ok(())
    }
}

/// Whether `name` can be used unquoted as a keyspace name.
fn is_cql_identifier(name: &str) -> bool {
    let mut characters = name.chars();
    let starts_with_letter = characters
        .next()
        .is_some_and(|first| first.is_ascii_lowercase());
    starts_with_letter
        && name.len() <= 48
        && characters.all(|rest| rest.is_ascii_lowercase() || rest.is_ascii_digit() || rest == '_')
}

/// Whether `name` is safe to write inside a quoted replication map.
fn is_datacenter_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|character| {
            character.is_ascii_alphanumeric() || character == '-' || character == '_'
        })
}
