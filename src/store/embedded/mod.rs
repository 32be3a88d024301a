//! The embedded backend: one redb file, `heyblue.redb`, under the data directory.
//! Zero setup and single node; the file lock keeps a second process (or a second
//! open) off the same directory.
//!
//! redb is synchronous, so every operation runs on tokio's blocking pool in one
//! redb transaction. Conditional writes read and write inside one write
//! transaction; redb admits one writer at a time, which makes them atomic.

mod accounts;
mod codec;
mod connections;
mod ledger;
mod otp;
mod profiles;
mod roster;
mod tables;
mod tokens;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use redb::{Database, DatabaseError, ReadTransaction, ReadableDatabase, WriteTransaction};

use super::{Store, StoreError, StoreResult};
use codec::redb_error;

/// Name of the database file inside the data directory.
const DATABASE_FILE_NAME: &str = "heyblue.redb";

/// The redb-backed store.
#[derive(Debug)]
pub(crate) struct EmbeddedStore {
    /// The open database, shared with the blocking tasks that use it; `None` once
    /// [`Store::close`] has run, so later calls fail instead of reopening.
    database: Mutex<Option<Arc<Database>>>,
    /// The database file, for log and error messages.
    path: PathBuf,
}

impl EmbeddedStore {
    /// Opens (creating if missing) `data_dir/heyblue.redb`. Fails with
    /// [`StoreError::InUse`] while another process or handle has it open.
    pub(crate) async fn open(data_dir: &Path) -> StoreResult<Self> {
        let data_dir = data_dir.to_path_buf();
        run_blocking(move || Self::open_blocking(&data_dir)).await
    }

    fn open_blocking(data_dir: &Path) -> StoreResult<Self> {
        std::fs::create_dir_all(data_dir).map_err(|error| {
            StoreError::Backend(format!(
                "cannot create data directory {}: {error}",
                data_dir.display()
            ))
        })?;
        let path = data_dir.join(DATABASE_FILE_NAME);
        let database = Database::create(&path).map_err(|error| match error {
            DatabaseError::DatabaseAlreadyOpen => StoreError::InUse {
                path: data_dir.display().to_string(),
            },
            other => redb_error(other),
        })?;
        let transaction = database.begin_write().map_err(redb_error)?;
        tables::create_all(&transaction)?;
        transaction.commit().map_err(redb_error)?;
        tracing::info!(path = %path.display(), "embedded store opened");
        Ok(Self {
            database: Mutex::new(Some(Arc::new(database))),
            path,
        })
    }

    /// The open database, or `Unavailable` after [`Store::close`].
    fn database(&self) -> StoreResult<Arc<Database>> {
        self.database
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(Arc::clone)
            .ok_or_else(|| StoreError::Unavailable("embedded store is closed".to_owned()))
    }

    /// Runs `operation` in a read transaction on the blocking pool.
    async fn read<T, F>(&self, operation: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&ReadTransaction) -> StoreResult<T> + Send + 'static,
    {
        let database = self.database()?;
        run_blocking(move || {
            let transaction = database.begin_read().map_err(redb_error)?;
            operation(&transaction)
        })
        .await
    }

    /// Runs `operation` in a write transaction on the blocking pool and commits it.
    /// An error from `operation` drops the transaction, which rolls back everything
    /// it wrote.
    async fn write<T, F>(&self, operation: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> StoreResult<T> + Send + 'static,
    {
        let database = self.database()?;
        run_blocking(move || {
            let transaction = database.begin_write().map_err(redb_error)?;
            let outcome = operation(&transaction)?;
            transaction.commit().map_err(redb_error)?;
            Ok(outcome)
        })
        .await
    }
}

/// Runs blocking store work on tokio's blocking pool, inside the caller's span.
async fn run_blocking<T, F>(operation: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> StoreResult<T> + Send + 'static,
{
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(operation))
        .await
        .map_err(|error| StoreError::Backend(format!("embedded store task failed: {error}")))?
}

#[async_trait]
impl Store for EmbeddedStore {
    fn backend_name(&self) -> &'static str {
        "embedded"
    }

    async fn ping(&self) -> StoreResult<()> {
        self.read(|_transaction| Ok(())).await
    }

    async fn close(&self) -> StoreResult<()> {
        let taken = self
            .database
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(database) = taken else {
            return Ok(());
        };
        // Every commit is already durable; closing releases the file lock. An
        // operation still running holds its own handle, and the file closes when
        // it finishes.
        let Ok(database) = Arc::try_unwrap(database) else {
            tracing::info!(path = %self.path.display(), "embedded store closes after running operations");
            return Ok(());
        };
        run_blocking(move || database.close().map_err(redb_error)).await?;
        tracing::info!(path = %self.path.display(), "embedded store closed");
        Ok(())
    }
}
