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
mod devices;
mod expiry;
#[cfg(test)]
mod expiry_tests;
mod imports;
mod issuer_keys;
mod key_rotation;
mod ledger;
mod oidc_identities;
mod otp;
mod outbox;
mod person_lists;
mod pledges;
mod profiles;
mod redemptions;
mod report_keys;
mod report_layout;
#[cfg(test)]
mod report_layout_tests;
mod report_scans;
mod reports;
mod roster;
pub(crate) mod row_scan;
mod tables;
mod tokens;
mod trophies;
mod vouchers;
mod writer;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redb::{Database, DatabaseError, ReadTransaction, ReadableDatabase, WriteTransaction};

use super::{AccessGrant, SecretHash, Store, StoreError, StoreResult};
use codec::redb_error;
use writer::Writer;

/// Name of the database file inside the data directory.
const DATABASE_FILE_NAME: &str = "heyblue.redb";
/// After a disk failure, how long to wait between two tries to reopen.
const REOPEN_PAUSE: Duration = Duration::from_secs(1);

/// The redb-backed store.
#[derive(Debug)]
pub(crate) struct EmbeddedStore {
    /// The open database and its writer; `None` once [`Store::close`] has run, so
    /// later calls fail instead of reopening, and while a reopen is under way.
    open: Mutex<Option<OpenDatabase>>,
    /// A read or write of the file failed (a full disk above all). redb then
    /// refuses all work until the database is reopened, so the next call
    /// reopens it first, at most once per [`REOPEN_PAUSE`].
    disk_failed: AtomicBool,
    /// When a reopen was last tried.
    last_reopen: Mutex<Option<Instant>>,
    /// [`Store::close`] has run: never reopen.
    closed: AtomicBool,
    /// The database file, for log and error messages.
    path: PathBuf,
    /// redb's page cache budget, kept for reopens.
    cache: CacheBudget,
    /// Whether writes add their facts to the report aggregates
    /// (`reports.maintain_aggregates`).
    report_upkeep: crate::store::ReportUpkeep,
}

/// How much memory redb may keep as its page cache (it grows as pages are
/// used, up to the budget).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CacheBudget {
    /// redb's default (1 GiB): the server, whose working set is read again
    /// and again.
    Serving,
    /// [`ONE_SHOT_CACHE_BYTES`]: one-shot commands (`heyblue import`, a
    /// statement) that stream through the data once, so their memory stays
    /// bounded whatever the size of the store or the file.
    OneShot,
    /// [`BULK_LOAD_CACHE_BYTES`]: `heyblue reports bench`, whose every write
    /// transaction touches cells and people keys spread over a
    /// multi-gigabyte B-tree: the pages it revisits stay in memory.
    BulkLoad,
}

/// The page cache of one-shot commands.
const ONE_SHOT_CACHE_BYTES: usize = 32 * 1024 * 1024;
/// The page cache of bulk loads.
const BULK_LOAD_CACHE_BYTES: usize = 4 * 1024 * 1024 * 1024;

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
        Self::open_with(data_dir, CacheBudget::Serving).await
    }

    /// Opens the store as [`Self::open`] does, with a page cache of `cache`.
    pub(crate) async fn open_with(data_dir: &Path, cache: CacheBudget) -> StoreResult<Self> {
        let data_dir = data_dir.to_path_buf();
        run_blocking(move || Self::open_blocking(&data_dir, cache)).await
    }

    fn open_blocking(data_dir: &Path, cache: CacheBudget) -> StoreResult<Self> {
        std::fs::create_dir_all(data_dir).map_err(|error| {
            StoreError::Backend(format!(
                "cannot create data directory {}: {error}",
                data_dir.display()
            ))
        })?;
        let path = data_dir.join(DATABASE_FILE_NAME);
        let open = open_database(&path, cache).map_err(|error| match error {
            StoreError::InUse { .. } => StoreError::InUse {
                path: data_dir.display().to_string(),
            },
            other => other,
        })?;
        tracing::info!(path = %path.display(), "embedded store opened");
        Ok(Self {
            open: Mutex::new(Some(open)),
            disk_failed: AtomicBool::new(false),
            last_reopen: Mutex::new(None),
            closed: AtomicBool::new(false),
            path,
            cache,
            report_upkeep: crate::store::ReportUpkeep::default(),
        })
    }

    /// The store, adding the facts of the records it writes to the report
    /// aggregates or not as `upkeep` says.
    pub(crate) fn with_report_upkeep(mut self, upkeep: crate::store::ReportUpkeep) -> Self {
        self.report_upkeep = upkeep;
        self
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
            .ok_or_else(|| {
                if self.disk_failed.load(Ordering::Acquire) {
                    StoreError::StorageFailed(
                        "the database is being reopened after a disk failure".to_owned(),
                    )
                } else {
                    StoreError::Unavailable("embedded store is closed".to_owned())
                }
            })
    }

    /// Notes a disk failure in `outcome`, so the next call reopens the database.
    fn watch<T>(&self, outcome: &StoreResult<T>) {
        if let Err(StoreError::StorageFailed(cause)) = outcome
            && !self.disk_failed.swap(true, Ordering::AcqRel)
        {
            tracing::error!(
                path = %self.path.display(),
                %cause,
                "embedded store: the disk failed; writes are refused until the database reopens"
            );
        }
    }

    /// After a disk failure: closes the database and opens it again (redb
    /// refuses all work until then), once the operations holding it have ended.
    /// Nothing committed is lost: a failed commit wrote nothing that counts.
    async fn reopen_after_disk_failure(&self) -> StoreResult<()> {
        if !self.disk_failed.load(Ordering::Acquire) || self.closed.load(Ordering::Acquire) {
            return Ok(());
        }
        {
            let mut last = self
                .last_reopen
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if last.is_some_and(|at| at.elapsed() < REOPEN_PAUSE) {
                return Err(StoreError::StorageFailed(
                    "the disk failed; the database reopens shortly".to_owned(),
                ));
            }
            *last = Some(Instant::now());
        }
        let taken = self
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let path = self.path.clone();
        let cache = self.cache;
        let reopened = tokio::task::spawn_blocking(move || reopen(taken, &path, cache))
            .await
            .map_err(|error| StoreError::Backend(format!("embedded store task failed: {error}")))?;
        let (open, outcome) = match reopened {
            Ok(open) => (Some(open), Ok(())),
            Err((open, error)) => (open, Err(error)),
        };
        *self.open.lock().unwrap_or_else(PoisonError::into_inner) = open;
        if outcome.is_ok() {
            self.disk_failed.store(false, Ordering::Release);
            tracing::info!(path = %self.path.display(), "embedded store reopened after a disk failure");
        }
        outcome
    }

    /// Runs `operation` in a read transaction on the blocking pool.
    async fn read<T, F>(&self, operation: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&ReadTransaction) -> StoreResult<T> + Send + 'static,
    {
        self.reopen_after_disk_failure().await?;
        let database = self.database()?;
        let outcome = run_blocking(move || {
            let transaction = database.begin_read().map_err(redb_error)?;
            operation(&transaction)
        })
        .await;
        self.watch(&outcome);
        outcome
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
        self.reopen_after_disk_failure().await?;
        let outcome = self.writer()?.write(operation).await;
        self.watch(&outcome);
        outcome
    }
}

/// Opens (creating if missing) the database at `path` with every table.
fn open_database(path: &Path, cache: CacheBudget) -> StoreResult<OpenDatabase> {
    create_owner_only(path).map_err(|error| {
        StoreError::Backend(format!("cannot create {}: {error}", path.display()))
    })?;
    let mut builder = redb::Builder::new();
    match cache {
        CacheBudget::Serving => {}
        CacheBudget::OneShot => {
            builder.set_cache_size(ONE_SHOT_CACHE_BYTES);
        }
        CacheBudget::BulkLoad => {
            builder.set_cache_size(BULK_LOAD_CACHE_BYTES);
        }
    }
    let database = builder.create(path).map_err(|error| match error {
        DatabaseError::DatabaseAlreadyOpen => StoreError::InUse {
            path: path.display().to_string(),
        },
        other => redb_error(other),
    })?;
    let transaction = database.begin_write().map_err(redb_error)?;
    tables::create_all(&transaction)?;
    transaction.commit().map_err(redb_error)?;
    report_layout::bring_up_to_date(&database)?;
    let database = Arc::new(database);
    let writer = Arc::new(Writer::new(Arc::clone(&database)));
    Ok(OpenDatabase { database, writer })
}

/// Closes `open` (when no operation holds it any more) and opens the file again.
/// On failure, gives back what is still open (to try again later) and why.
fn reopen(
    open: Option<OpenDatabase>,
    path: &Path,
    cache: CacheBudget,
) -> Result<OpenDatabase, (Option<OpenDatabase>, StoreError)> {
    let busy = || {
        StoreError::StorageFailed(
            "the disk failed; the database reopens once running operations end".to_owned(),
        )
    };
    if let Some(OpenDatabase { database, writer }) = open {
        // Dropping the writer waits for its drainer (queued writes are answered).
        let writer = match Arc::try_unwrap(writer) {
            Ok(writer) => writer,
            Err(writer) => return Err((Some(OpenDatabase { database, writer }), busy())),
        };
        drop(writer);
        match Arc::try_unwrap(database) {
            // Dropping closes the file and releases its lock.
            Ok(database) => drop(database),
            Err(database) => {
                let writer = Arc::new(Writer::new(Arc::clone(&database)));
                return Err((Some(OpenDatabase { database, writer }), busy()));
            }
        }
    }
    open_database(path, cache).map_err(|error| (None, error))
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
        self.closed.store(true, Ordering::Release);
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
