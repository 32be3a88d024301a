//! Storage. Callers see only the traits in [`traits`] and the records in
//! [`records`]; a backend is chosen by `[store] type` and injected as
//! `Arc<dyn Store>`. The embedded redb backend is the zero-setup default.

pub(crate) mod embedded;
mod instrumented;
pub(crate) mod records;
pub(crate) mod traits;

#[cfg(test)]
pub(crate) mod conformance;

use std::path::Path;
use std::sync::Arc;

pub(crate) use records::*;
pub(crate) use traits::*;

use crate::config::StoreConfig;

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
    /// Stored bytes could not be decoded.
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    /// Any other backend failure.
    #[error("store failure: {0}")]
    Backend(String),
}

/// Result of a store operation.
pub(crate) type StoreResult<T> = Result<T, StoreError>;

/// Opens the backend the config names, wrapped so every call is measured.
pub(crate) async fn open(config: &StoreConfig, data_dir: &Path) -> StoreResult<Arc<dyn Store>> {
    let backend: Arc<dyn Store> = match config {
        StoreConfig::Embedded => Arc::new(embedded::EmbeddedStore::open(data_dir).await?),
    };
    Ok(Arc::new(instrumented::InstrumentedStore::new(backend)))
}
