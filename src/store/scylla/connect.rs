//! Connecting to the cluster: the driver session built from `[store]`, the
//! keyspace and schema applied idempotently, the schema version checked, and the
//! statements prepared.

use std::sync::Arc;
use std::time::Duration;

use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::policies::load_balancing::DefaultPolicy;
use scylla::statement::{Consistency, SerialConsistency};

use super::codec::{execution_error, first_row};
use super::statements::Statements;
use crate::config::{ConsistencyLevel, ReplicationConfig, ScyllaConfig, ScyllaTlsConfig};
use crate::store::StoreError;

/// The schema version this binary writes and understands (see `schema.cql`).
pub(crate) const SCHEMA_VERSION: i32 = 15;

/// Name of this binary's row in `schema_version`.
const SCHEMA_COMPONENT: &str = "heyblue";

/// The schema, statement by statement.
const SCHEMA_CQL: &str = include_str!("../schema.cql");

/// What the backend needs to connect: the `[store]` section and the password
/// read from its environment variable.
#[derive(Clone)]
pub(crate) struct Settings {
    /// The `[store] type = "scylla"` section.
    pub(crate) config: ScyllaConfig,
    /// Password for `config.username`; never logged.
    pub(crate) password: Option<String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Settings")
            .field("config", &self.config)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A live session and its prepared statements.
#[derive(Debug)]
pub(super) struct Connected {
    /// The driver session; it reconnects to nodes on its own.
    pub(super) session: Session,
    /// Every statement, prepared.
    pub(super) statements: Statements,
}

/// Why a connection attempt failed.
#[derive(Debug)]
pub(super) enum ConnectError {
    /// The cluster is unreachable or not ready; try again later.
    Retryable(String),
    /// Trying again cannot help (a newer schema, unreadable TLS files).
    Refused(String),
}

impl From<ConnectError> for StoreError {
    fn from(error: ConnectError) -> Self {
        match error {
            ConnectError::Retryable(message) => StoreError::Unavailable(message),
            ConnectError::Refused(message) => StoreError::Backend(message),
        }
    }
}

/// One attempt: connect, apply the schema, prepare the statements.
pub(super) async fn connect(settings: &Settings) -> Result<Connected, ConnectError> {
    let config = &settings.config;
    let session = build_session(settings).await?;
    let replication = replication_map(&config.replication);
    session
        .query_unpaged(
            format!(
                "CREATE KEYSPACE IF NOT EXISTS {} WITH replication = {replication}",
                config.keyspace
            ),
            (),
        )
        .await
        .map_err(|error| ConnectError::Retryable(format!("cannot create keyspace: {error}")))?;
    session
        .use_keyspace(config.keyspace.as_str(), false)
        .await
        .map_err(|error| ConnectError::Retryable(format!("cannot use keyspace: {error}")))?;
    let stored_version = apply_schema(&session).await?;
    // Boxed: the future of every statement's preparation is large, and a
    // caller awaiting a connect on a small stack must not hold it inline.
    let statements = Box::pin(Statements::prepare(&session))
        .await
        .map_err(|error| ConnectError::Retryable(format!("cannot prepare statements: {error}")))?;
    // Not fatal: a node that cannot move them now serves anyway (the marks
    // stay where they are and the next connect tries again), rather than
    // staying down over a queue only the recovery pass reads.
    if stored_version.is_some_and(|version| version < 6)
        && let Err(error) = super::roster::seed_roster_size(&session).await
    {
        tracing::warn!(%error, "roster size not counted; it reads low until counted");
    }
    match super::incomplete::move_legacy_marks(&session).await {
        Ok(0) => {}
        Ok(moved) => tracing::info!(moved, "incomplete connection marks moved to time buckets"),
        Err(error) => tracing::warn!(
            %error,
            "incomplete connection marks of schema version 5 not moved; retried at next connect"
        ),
    }
    match super::time_queue::move_legacy_items(&session).await {
        Ok(0) => {}
        Ok(moved) => tracing::info!(moved, "recovery queue rows moved to time buckets"),
        Err(error) => tracing::warn!(
            %error,
            "recovery queue rows of schema version 6 not moved; retried at next connect"
        ),
    }
    Ok(Connected {
        session,
        statements,
    })
}

async fn build_session(settings: &Settings) -> Result<Session, ConnectError> {
    let config = &settings.config;
    let request_timeout = Duration::from_secs(config.request_timeout_seconds);
    let mut policy = DefaultPolicy::builder().token_aware(true);
    if let Some(datacenter) = &config.local_datacenter {
        policy = policy
            .prefer_datacenter(datacenter.clone())
            .permit_dc_failover(false);
    }
    let (consistency, serial_consistency) = consistency(config.consistency);
    let profile = ExecutionProfile::builder()
        .consistency(consistency)
        .serial_consistency(Some(serial_consistency))
        .request_timeout(Some(request_timeout))
        .load_balancing_policy(policy.build())
        .build();
    let mut builder = SessionBuilder::new()
        .known_nodes(&config.nodes)
        .default_execution_profile_handle(profile.into_handle())
        .connection_timeout(request_timeout)
        .schema_agreement_timeout(Duration::from_secs(30));
    if let Some(username) = &config.username {
        builder = builder.user(username, settings.password.clone().unwrap_or_default());
    }
    if let Some(tls) = &config.tls {
        builder = builder.tls_context(Some(rustls_config(tls)?));
    }
    builder
        .build()
        .await
        .map_err(|error| ConnectError::Retryable(format!("cannot connect: {error}")))
}

/// The driver's consistency and the matching serial consistency for `IF`.
fn consistency(level: ConsistencyLevel) -> (Consistency, SerialConsistency) {
    match level {
        ConsistencyLevel::One => (Consistency::One, SerialConsistency::Serial),
        ConsistencyLevel::LocalOne => (Consistency::LocalOne, SerialConsistency::LocalSerial),
        ConsistencyLevel::Quorum => (Consistency::Quorum, SerialConsistency::Serial),
        ConsistencyLevel::LocalQuorum => (Consistency::LocalQuorum, SerialConsistency::LocalSerial),
        ConsistencyLevel::EachQuorum => (Consistency::EachQuorum, SerialConsistency::Serial),
        ConsistencyLevel::All => (Consistency::All, SerialConsistency::Serial),
    }
}

/// The `replication = {...}` map of `CREATE KEYSPACE` (names are validated by
/// the config, so they can be written inside quotes).
fn replication_map(replication: &ReplicationConfig) -> String {
    match replication {
        ReplicationConfig::Simple { factor } => {
            format!("{{'class': 'SimpleStrategy', 'replication_factor': {factor}}}")
        }
        ReplicationConfig::NetworkTopology { datacenters } => {
            let factors: Vec<String> = datacenters
                .iter()
                .map(|(name, factor)| format!("'{name}': {factor}"))
                .collect();
            format!(
                "{{'class': 'NetworkTopologyStrategy', {}}}",
                factors.join(", ")
            )
        }
    }
}

/// Creates every table (idempotent), refusing a keyspace written by a newer
/// binary; returns the version the keyspace had before (`None`: new).
async fn apply_schema(session: &Session) -> Result<Option<i32>, ConnectError> {
    let statements = schema_statements();
    let Some((version_table, tables)) = statements.split_first() else {
        return Err(ConnectError::Refused("schema.cql is empty".to_owned()));
    };
    run_schema_statement(session, version_table).await?;
    let stored = session
        .query_unpaged(
            "SELECT version FROM schema_version WHERE component = ?",
            (SCHEMA_COMPONENT,),
        )
        .await
        .map_err(|error| ConnectError::Retryable(format!("cannot read schema version: {error}")))?;
    let stored_version = first_row::<(Option<i32>,)>(stored, "schema version")
        .map_err(|error| ConnectError::Refused(error.to_string()))?
        .and_then(|(version,)| version);
    if let Some(stored_version) = stored_version
        && stored_version > SCHEMA_VERSION
    {
        return Err(ConnectError::Refused(format!(
            "the keyspace has schema version {stored_version}, newer than version \
             {SCHEMA_VERSION} of this heyblue binary: run a newer heyblue"
        )));
    }
    let migrating = stored_version != Some(SCHEMA_VERSION);
    for statement in tables {
        // Table options are changed once, by the connect that migrates:
        // applying them again would be a schema change on every start.
        if statement.starts_with("ALTER TABLE") && !migrating {
            continue;
        }
        match run_schema_statement(session, statement).await {
            Ok(()) => {}
            // Two nodes migrating at once both add a column; the second
            // finds it there, which is the state it wanted.
            Err(ConnectError::Retryable(message))
                if statement.contains(" ADD ") && column_exists(&message) => {}
            Err(error) => return Err(error),
        }
    }
    if migrating {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| {
                i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
            });
        session
            .query_unpaged(
                "INSERT INTO schema_version (component, version, applied_at_ms) VALUES (?, ?, ?)",
                (SCHEMA_COMPONENT, SCHEMA_VERSION, now_ms),
            )
            .await
            .map_err(|error| {
                ConnectError::Retryable(format!("cannot write schema version: {error}"))
            })?;
        tracing::info!(
            from = ?stored_version,
            to = SCHEMA_VERSION,
            "scylla schema migrated"
        );
    }
    Ok(stored_version)
}

/// Whether a schema error says the column being added is there already
/// (Scylla and Cassandra word it differently).
fn column_exists(message: &str) -> bool {
    message.contains("conflicts with an existing column") || message.contains("already exists")
}

async fn run_schema_statement(session: &Session, statement: &str) -> Result<(), ConnectError> {
    session
        .query_unpaged(statement, ())
        .await
        .map(|_| ())
        .map_err(|error| {
            ConnectError::Retryable(format!(
                "cannot apply schema statement: {}",
                execution_error(error)
            ))
        })
}

/// `schema.cql` without comments, split at semicolons.
fn schema_statements() -> Vec<String> {
    let without_comments: String = SCHEMA_CQL
        .lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    without_comments
        .split(';')
        .map(str::trim)
        .filter(|statement| !statement.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A rustls client config trusting `tls.ca_file`, with the client certificate
/// when one is configured.
fn rustls_config(tls: &ScyllaTlsConfig) -> Result<Arc<rustls::ClientConfig>, ConnectError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let refused = |what: &str, path: &std::path::Path, error: &dyn std::fmt::Display| {
        ConnectError::Refused(format!("cannot read {what} {}: {error}", path.display()))
    };
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_file_iter(&tls.ca_file)
        .map_err(|error| refused("tls.ca_file", &tls.ca_file, &error))?
    {
        let certificate =
            certificate.map_err(|error| refused("tls.ca_file", &tls.ca_file, &error))?;
        roots
            .add(certificate)
            .map_err(|error| refused("tls.ca_file", &tls.ca_file, &error))?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| ConnectError::Refused(format!("cannot set up tls: {error}")))?
        .with_root_certificates(roots);
    let config = match (&tls.client_cert_file, &tls.client_key_file) {
        (Some(cert_file), Some(key_file)) => {
            let chain = CertificateDer::pem_file_iter(cert_file)
                .map_err(|error| refused("tls.client_cert_file", cert_file, &error))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|error| refused("tls.client_cert_file", cert_file, &error))?;
            let key = PrivateKeyDer::from_pem_file(key_file)
                .map_err(|error| refused("tls.client_key_file", key_file, &error))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|error| refused("tls.client_key_file", key_file, &error))?
        }
        (None, None) | (Some(_), None) | (None, Some(_)) => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_splits_into_create_statements_starting_with_the_version_table() {
        let statements = schema_statements();
        assert!(statements[0].contains("schema_version"));
        assert!(statements.len() >= 10);
        assert!(statements.iter().all(|statement| {
            statement.starts_with("CREATE TABLE IF NOT EXISTS")
                || statement.starts_with("ALTER TABLE")
        }));
    }

    #[test]
    fn replication_maps_name_the_strategy() {
        assert_eq!(
            replication_map(&ReplicationConfig::Simple { factor: 3 }),
            "{'class': 'SimpleStrategy', 'replication_factor': 3}"
        );
        let datacenters = [("dc1".to_owned(), 3), ("dc2".to_owned(), 2)].into();
        assert_eq!(
            replication_map(&ReplicationConfig::NetworkTopology { datacenters }),
            "{'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 2}"
        );
    }
}
