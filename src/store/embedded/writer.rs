//! The embedded store's one writer thread, with group commit. redb admits one
//! write transaction at a time: with every write on its own blocking-pool thread,
//! writers queued on redb's lock and each commit paid its own sync to disk. Here
//! writes queue to one thread, which runs every write waiting (up to
//! [`MAX_BATCH`]) in one transaction, commits once, and only then answers each
//! caller. Each write sees the writes before it, exactly as if they had run alone
//! one after another, and none is answered before it is durable. When one write of
//! a batch fails, the batch is rolled back and each of its writes runs again in a
//! transaction of its own, so a failure only ever touches its own write.

use std::sync::Arc;
use std::thread::JoinHandle;

use redb::{Database, WriteTransaction};
use tokio::sync::{mpsc, oneshot};

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

/// The sending end, held by the store. Dropping it lets queued writes finish and
/// then joins the thread, so the database is released when the store is: a
/// reopen right after a drop finds the file free.
#[derive(Debug)]
pub(super) struct Writer {
    /// Queued writes; `None` once dropping.
    queue: Option<mpsc::UnboundedSender<Box<dyn QueuedWrite>>>,
    /// The thread; `None` once joined.
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the writer thread of `database`.
    pub(super) fn start(database: Arc<Database>) -> StoreResult<Self> {
        let (queue, writes) = mpsc::unbounded_channel();
        let thread = std::thread::Builder::new()
            .name("heyblue-store-writer".to_owned())
            .spawn(move || write_until_closed(&database, writes))
            .map_err(|error| StoreError::Backend(format!("cannot start store writer: {error}")))?;
        Ok(Self {
            queue: Some(queue),
            thread: Some(thread),
        })
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
        self.queue
            .as_ref()
            .ok_or_else(closed)?
            .send(Box::new(pending))
            .map_err(|_| closed())?;
        wait_for(answer).await
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("embedded store writer panicked");
        }
    }
}

/// The writer thread's answer.
#[cfg(not(test))]
async fn wait_for<T>(answer: oneshot::Receiver<StoreResult<T>>) -> StoreResult<T> {
    answer.await.map_err(|_| closed())?
}

/// The writer thread's answer, waited for on the blocking pool: unit tests run on
/// a paused clock, which tokio advances whenever nothing runs, and a write on the
/// writer thread is invisible to it (a blocking task is not), so timers would
/// fire while the store is still writing.
#[cfg(test)]
async fn wait_for<T: Send + 'static>(answer: oneshot::Receiver<StoreResult<T>>) -> StoreResult<T> {
    tokio::task::spawn_blocking(move || answer.blocking_recv())
        .await
        .map_err(|_| closed())?
        .map_err(|_| closed())?
}

fn closed() -> StoreError {
    StoreError::Unavailable("embedded store is closed".to_owned())
}

/// The thread: waits for a write, takes whatever else is queued, commits.
fn write_until_closed(
    database: &Database,
    mut writes: mpsc::UnboundedReceiver<Box<dyn QueuedWrite>>,
) {
    while let Some(first) = writes.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match writes.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        crate::metrics::store_write_batch(batch.len());
        commit_batch(database, batch);
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
