//! Storage. Callers see only the traits in [`traits`] and the records in
//! [`records`]; a backend is chosen by `[store] type` and injected as
//! `Arc<dyn Store>`. The embedded redb backend is the zero-setup default.

mod availability_records;
pub(crate) mod embedded;
mod import_records;
mod instrumented;
mod oidc_records;
mod pledge_records;
pub(crate) mod records;
pub(crate) mod report_area;
pub(crate) mod report_facts;
pub(crate) mod report_records;
pub(crate) mod scylla;
pub(crate) mod traits;
mod voucher_records;

#[cfg(test)]
pub(crate) mod conformance;

use std::path::Path;
use std::sync::Arc;

pub(crate) use availability_records::*;
pub(crate) use import_records::*;
pub(crate) use oidc_records::*;
pub(crate) use pledge_records::*;
pub(crate) use records::*;
pub(crate) use report_records::ReportUpkeep;
pub(crate) use traits::*;
pub(crate) use voucher_records::*;

use crate::config::{Config, EnvironmentVariables, StoreConfig};

/// A storage failure, as callers need to tell them apart.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The backend cannot be reached or timed out; the request may be retried.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Another server process holds the embedded store.
    #[error("data directory {path} is already in use by another heyblue process")]
    InUse {
        /// The data directory.
        path: String,
    },
    /// The disk under the data directory failed a read or write (full, or an
    /// I/O error): nothing was written; the request may be retried once space
    /// or the disk is back (the embedded store reopens itself).
    #[error("data directory storage failed: {0}")]
    StorageFailed(String),
    /// Stored bytes could not be decoded.
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    /// Any other backend failure.
    #[error("store failure: {0}")]
    Backend(String),
}

/// One page of a scan over all records of a kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScanPage<T> {
    /// The records, in the backend's order.
    pub(crate) records: Vec<T>,
    /// Where the next page starts; `None` after the last page.
    pub(crate) next: Option<Vec<u8>>,
}

/// Result of a store operation.
pub(crate) type StoreResult<T> = Result<T, StoreError>;

/// Applies the schema of the configured backend and closes it again; returns
/// what was done, for `heyblue migrate`. Waits for the cluster (no background
/// retries), so an unreachable cluster is an error.
pub(crate) async fn migrate(
    config: &StoreConfig,
    data_dir: &Path,
    environment: &EnvironmentVariables,
) -> StoreResult<String> {
    match config {
        StoreConfig::Embedded => {
            let store = embedded::EmbeddedStore::open(data_dir).await?;
            store.close().await?;
            Ok(format!(
                "embedded store in {} is ready (it needs no migrations)",
                data_dir.display()
            ))
        }
        StoreConfig::Scylla(scylla_config) => {
            let settings = scylla::Settings {
                config: scylla_config.as_ref().clone(),
                password: environment
                    .get(&scylla_config.password_env)
                    .map(str::to_owned),
            };
            let store = scylla::ScyllaStore::connect(settings).await?;
            store.close().await?;
            Ok(format!(
                "keyspace {} is at schema version {}",
                scylla_config.keyspace,
                scylla::SCHEMA_VERSION
            ))
        }
    }
}

/// [`open_now`] with the store, data directory and report upkeep of `config`:
/// what every one-shot command opens.
pub(crate) async fn open_now_for(
    config: &Config,
    environment: &EnvironmentVariables,
) -> StoreResult<Arc<dyn Store>> {
    open_now(
        &config.store,
        &config.data_dir,
        environment,
        config.reports.upkeep(),
    )
    .await
}

/// Opens the backend the config names and waits until it answers (one-shot
/// commands: an unreachable cluster is an error, not a background retry; the
/// embedded store keeps a small page cache, as the command reads the data once).
/// `upkeep` says whether writes add their facts to the report aggregates.
pub(crate) async fn open_now(
    config: &StoreConfig,
    data_dir: &Path,
    environment: &EnvironmentVariables,
    upkeep: ReportUpkeep,
) -> StoreResult<Arc<dyn Store>> {
    match config {
        StoreConfig::Embedded => Ok(Arc::new(
            embedded::EmbeddedStore::open_with(data_dir, embedded::CacheBudget::OneShot)
                .await?
                .with_report_upkeep(upkeep),
        )),
        StoreConfig::Scylla(scylla_config) => {
            let settings = scylla::Settings {
                config: scylla_config.as_ref().clone(),
                password: environment
                    .get(&scylla_config.password_env)
                    .map(str::to_owned),
            };
            Ok(Arc::new(
                scylla::ScyllaStore::connect(settings)
                    .await?
                    .with_report_upkeep(upkeep),
            ))
        }
    }
}

/// Opens the backend the config names as [`open_now`] does, for a bulk load
/// of report facts (`heyblue reports bench`): the embedded store keeps a
/// large page cache.
pub(crate) async fn open_for_bulk_load(
    config: &StoreConfig,
    data_dir: &Path,
    environment: &EnvironmentVariables,
) -> StoreResult<Arc<dyn Store>> {
    match config {
        StoreConfig::Embedded => Ok(Arc::new(
            embedded::EmbeddedStore::open_with(data_dir, embedded::CacheBudget::BulkLoad).await?,
        )),
        StoreConfig::Scylla(_) => {
            open_now(config, data_dir, environment, ReportUpkeep::Maintain).await
        }
    }
}

/// Opens the backend the config names, wrapped so every call is measured. The
/// Scylla backend returns at once and connects in the background (calls fail as
/// unavailable until it has). `upkeep` says whether writes add their facts to
/// the report aggregates.
pub(crate) async fn open(
    config: &StoreConfig,
    data_dir: &Path,
    environment: &EnvironmentVariables,
    upkeep: ReportUpkeep,
) -> StoreResult<Arc<dyn Store>> {
    let backend: Arc<dyn Store> = match config {
        StoreConfig::Embedded => Arc::new(
            embedded::EmbeddedStore::open(data_dir)
                .await?
                .with_report_upkeep(upkeep),
        ),
        StoreConfig::Scylla(scylla_config) => {
            let settings = scylla::Settings {
                config: scylla_config.as_ref().clone(),
                password: environment
                    .get(&scylla_config.password_env)
                    .map(str::to_owned),
            };
            Arc::new(scylla::ScyllaStore::start(settings).with_report_upkeep(upkeep))
        }
    };
    Ok(Arc::new(instrumented::InstrumentedStore::new(backend)))
}
