//! Storage. Callers see only the traits in [`traits`] and the records in
//! [`records`]; a backend is chosen by `[store] type` and injected as
//! `Arc<dyn Store>`. The embedded redb backend is the zero-setup default.

// pub(crate) mod embedded;
pub(crate) mod records;
pub(crate) mod traits;

// pub(crate) mod conformance;

pub(crate) use records::*;
pub(crate) use traits::*;

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
