//! The embedded store's writes, with group commit. redb admits one write
//! transaction at a time: with every write on its own blocking-pool thread,
//! writers queued on redb's lock and each commit paid its own sync to disk. Here
//! writes join one queue, and one drainer on tokio's blocking pool (started when
//! the queue fills, gone when it empties) runs every write waiting (up to
//! [`MAX_BATCH`]) in one transaction, commits once, and only then answers each
//! caller. Each write sees the writes before it, exactly as if they had run alone
//! one after another, and none is answered before it is durable. When one write of
//! a batch fails, the batch is rolled back and each of its writes runs again in a
//! transaction of its own, so a failure only ever touches its own write. (A
//! blocking-pool task, not a thread of our own: tokio's paused test clock does not
//! advance while a blocking task runs, so tests see writes as work in progress.)

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use redb::{Database, WriteTransaction};
use tokio::sync::oneshot;

use super::codec::redb_error;
use crate::store::{StoreError, StoreResult};

/// Writes committed together at most: bounds how long one commit keeps the
/// callers of its first write waiting.
const MAX_BATCH: usize = 128;

/// One queued write: run in a transaction (possibly more than once, if its batch
/// is rolled back), then answered with the outcome of the commit.
trait QueuedWrite: Send {
    /// Runs the write in `transaction`, keeping its outcome for [`Self::answer`].
    fn run(&mut self, transaction: &WriteTransaction) -> StoreResult<()>;
    /// Tells the caller: its kept outcome if `committed` is `Ok`, else the error.
    fn answer(self: Box<Self>, committed: StoreResult<()>);
}

/// A write with its caller's reply channel.
struct Pending<T, F> {
    /// The write itself; `FnMut` because a rolled-back batch runs it again.
    operation: F,
    /// What the last run returned.
    outcome: Option<T>,
    /// The caller.
    reply: oneshot::Sender<StoreResult<T>>,
    /// The caller's span, so the write logs inside it.
    span: tracing::Span,
}

impl<T, F> QueuedWrite for Pending<T, F>
where
    T: Send,
    F: FnMut(&WriteTransaction) -> StoreResult<T> + Send,
{
    fn run(&mut self, transaction: &WriteTransaction) -> StoreResult<()> {
        let outcome = self.span.in_scope(|| (self.operation)(transaction))?;
        self.outcome = Some(outcome);
        Ok(())
    }

    fn answer(self: Box<Self>, committed: StoreResult<()>) {
        let Self { outcome, reply, .. } = *self;
        let answer = committed.and_then(|()| {
            outcome.ok_or_else(|| StoreError::Backend("embedded write was not run".to_owned()))
        });
        // The caller may have gone (a cancelled request); the write stands.
        let _caller_gone = reply.send(answer);
    }
}

/// The queue of one database. Dropping it waits until no drainer holds the
/// database, so the database is released when the store is: a reopen right after
/// a drop finds the file free.
#[derive(Debug)]
pub(super) struct Writer {
    /// What the drainer shares.
    shared: Arc<Shared>,
}

/// The queue and the drainer's state.
struct Shared {
    /// The database written to.
    database: Arc<Database>,
    /// Queued writes, and whether a drainer runs.
    state: Mutex<QueueState>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Shared").finish_non_exhaustive()
    }
}

/// Writes waiting, oldest first.
#[derive(Default)]
struct QueueState {
    /// The queue.
    writes: VecDeque<Box<dyn QueuedWrite>>,
    /// Whether a drainer is running (it takes everything queued before it stops).
    draining: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Writer {
    /// The writer of `database`.
    pub(super) fn new(database: Arc<Database>) -> Self {
        Self {
            shared: Arc::new(Shared {
                database,
                state: Mutex::new(QueueState::default()),
            }),
        }
    }

    /// Queues `operation` and waits until it is committed (or failed).
    pub(super) async fn write<T, F>(&self, operation: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnMut(&WriteTransaction) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            operation,
            outcome: None,
            reply,
            span: tracing::Span::current(),
        };
        let start_drainer = {
            let mut state = self.shared.lock();
            state.writes.push_back(Box::new(pending));
            !std::mem::replace(&mut state.draining, true)
        };
        if start_drainer {
            let shared = Arc::clone(&self.shared);
            // Dropping the handle detaches the drainer; it ends when the queue does.
            drop(tokio::task::spawn_blocking(move || drain(&shared)));
        }
        answer.await.map_err(|_| {
            StoreError::Backend("embedded store write was dropped unanswered".to_owned())
        })?
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // A drainer holds the queue (and the database) until its last batch is
        // committed; writes still queued are finished first.
        while Arc::strong_count(&self.shared) > 1 {
            std::thread::sleep(DRAINER_POLL);
        }
    }
}

/// How often a dropped writer looks whether the drainer has finished.
const DRAINER_POLL: Duration = Duration::from_millis(1);

/// Commits batches until the queue is empty, then stops.
fn drain(shared: &Shared) {
    loop {
        let batch: Vec<Box<dyn QueuedWrite>> = {
            let mut state = shared.lock();
            if state.writes.is_empty() {
                state.draining = false;
                return;
            }
            let taken = state.writes.len().min(MAX_BATCH);
            state.writes.drain(..taken).collect()
        };
        crate::metrics::store_write_batch(batch.len());
        // A write that panics fails its batch (the callers' replies are dropped:
        // they get an error) and the transaction is rolled back; the drainer goes
        // on, so one bad write never stalls the queue.
        let committed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            commit_batch(&shared.database, batch);
        }));
        if committed.is_err() {
            tracing::error!("a store write panicked; its batch was rolled back");
        }
    }
}

/// Runs `batch` in one transaction; on a failed write, runs each alone instead.
fn commit_batch(database: &Database, mut batch: Vec<Box<dyn QueuedWrite>>) {
    if batch.len() == 1 {
        batch
            .into_iter()
            .for_each(|write| commit_alone(database, write));
        return;
    }
    let transaction = match database.begin_write() {
        Ok(transaction) => transaction,
        Err(error) => {
            let error = redb_error(error);
            for write in batch {
                write.answer(Err(error.clone()));
            }
            return;
        }
    };
    let all_ran = batch
        .iter_mut()
        .all(|write| write.run(&transaction).is_ok());
    if !all_ran {
        if let Err(error) = transaction.abort() {
            tracing::warn!(error = %redb_error(error), "rolling back a store batch failed");
        }
        batch
            .into_iter()
            .for_each(|write| commit_alone(database, write));
        return;
    }
    let committed = transaction.commit().map_err(redb_error);
    for write in batch {
        write.answer(committed.clone());
    }
}

/// Runs one write in a transaction of its own.
fn commit_alone(database: &Database, mut write: Box<dyn QueuedWrite>) {
    let committed = database
        .begin_write()
        .map_err(redb_error)
        .and_then(|transaction| {
            write.run(&transaction)?;
            transaction.commit().map_err(redb_error)
        });
    write.answer(committed);
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
