//! The embedded backend: one redb file, `heyblue.redb`, under the data directory.
//! Zero setup and single node; the file lock keeps a second process (or a second
//! open) off the same directory.
//!
//! redb is synchronous, so every read runs on tokio's blocking pool in one redb
//! read transaction. Writes join one queue (`writer`), drained on the blocking
//! pool, which commits the writes waiting together; conditional writes read and
//! write inside the write transaction, and writes run one after another, which
//! makes them atomic.

mod accounts;
mod audit;
mod catalog;
mod codec;
mod connections;
mod issuer_keys;
mod ledger;
mod otp;
mod person_lists;
mod pledges;
mod profiles;
mod redemptions;
mod roster;
mod tables;
mod tokens;
mod vouchers;
mod writer;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use redb::{Database, DatabaseError, ReadTransaction, ReadableDatabase, WriteTransaction};

use super::{AccessGrant, SecretHash, Store, StoreError, StoreResult};
use codec::redb_error;
use writer::Writer;

/// Name of the database file inside the data directory.
const DATABASE_FILE_NAME: &str = "heyblue.redb";

/// The redb-backed store.
#[derive(Debug)]
pub(crate) struct EmbeddedStore {
    /// The open database and its writer; `None` once [`Store::close`] has run, so
    /// later calls fail instead of reopening.
    open: Mutex<Option<OpenDatabase>>,
    /// The database file, for log and error messages.
    path: PathBuf,
}

/// An open database: readers share it on the blocking pool, writes go through
/// the writer queue.
#[derive(Debug)]
struct OpenDatabase {
    /// The database.
    database: Arc<Database>,
    /// Its one writer.
    writer: Arc<Writer>,
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
        create_owner_only(&path).map_err(|error| {
            StoreError::Backend(format!("cannot create {}: {error}", path.display()))
        })?;
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
        let database = Arc::new(database);
        let writer = Arc::new(Writer::new(Arc::clone(&database)));
        Ok(Self {
            open: Mutex::new(Some(OpenDatabase { database, writer })),
            path,
        })
    }

    /// The open database, or `Unavailable` after [`Store::close`].
    fn database(&self) -> StoreResult<Arc<Database>> {
        self.with_open(|open| Arc::clone(&open.database))
    }

    /// The writer, or `Unavailable` after [`Store::close`].
    fn writer(&self) -> StoreResult<Arc<Writer>> {
        self.with_open(|open| Arc::clone(&open.writer))
    }

    fn with_open<T>(&self, pick: impl FnOnce(&OpenDatabase) -> T) -> StoreResult<T> {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(pick)
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

    /// Runs `operation` in a write transaction on the blocking pool and answers once
    /// it is committed. An error from `operation` rolls back everything it wrote
    /// (and nothing else). It may run more than once (when a write committed with
    /// it fails), always from the state before it.
    async fn write<T, F>(&self, operation: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnMut(&WriteTransaction) -> StoreResult<T> + Send + 'static,
    {
        self.writer()?.write(operation).await
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
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(OpenDatabase { database, writer }) = taken else {
            return Ok(());
        };
        // Queued writes finish first; every commit is durable when answered.
        if let Ok(writer) = Arc::try_unwrap(writer) {
            run_blocking(move || {
                drop(writer);
                Ok(())
            })
            .await?;
        }
        // Closing releases the file lock. An operation still running holds its
        // own handle, and the file closes when it finishes.
        let Ok(database) = Arc::try_unwrap(database) else {
            tracing::info!(path = %self.path.display(), "embedded store closes after running operations");
            return Ok(());
        };
        run_blocking(move || database.close().map_err(redb_error)).await?;
        tracing::info!(path = %self.path.display(), "embedded store closed");
        Ok(())
    }

    async fn access_grant(&self, hash: &SecretHash) -> StoreResult<Option<AccessGrant>> {
        let hash = *hash;
        self.read(move |transaction| tokens::read_access_grant(transaction, &hash))
            .await
    }
}

/// Creates an empty `path` with mode 0600 unless it exists: redb fills an empty
/// file, and would otherwise create it readable by others.
fn create_owner_only(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(crate::data_dir::FILE_MODE)
        .open(path)
    {
        Ok(_file) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}
