//! Writes officers' availability stretches to the store, off the session
//! actors that end them: each write runs in a tracked task and is retried a
//! few times with the same record (its id makes a retry count once); the
//! runtime waits for the tasks at shutdown, before the store closes. A
//! stretch whose every attempt fails is logged and lost to reports.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::store::{AvailabilityRecord, Store};

/// Attempts per stretch.
const ATTEMPTS: u32 = 4;
/// The wait before the first retry; doubled before each next one.
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(500);

/// The writer of availability stretches.
#[derive(Debug)]
pub(crate) struct AvailabilityLog {
    /// Where stretches go.
    store: Arc<dyn Store>,
    /// The writes under way, waited for at shutdown.
    tasks: TaskTracker,
}

impl AvailabilityLog {
    /// A log writing to `store`.
    pub(crate) fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            tasks: TaskTracker::new(),
        }
    }

    /// Writes `record` in the background. A stretch of no length is not
    /// written.
    pub(crate) fn record(&self, record: AvailabilityRecord) {
        if record.ended_at_ms <= record.started_at_ms {
            return;
        }
        let store = self.store.clone();
        let span = tracing::info_span!("availability_record", window_id = %record.window_id);
        self.tasks
            .spawn(write_with_retries(store, record).instrument(span));
    }

    /// Waits up to `grace` for the writes under way; later records are still
    /// written, but no longer waited for.
    pub(crate) async fn finish(&self, grace: Duration) {
        self.tasks.close();
        if tokio::time::timeout(grace, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                pending = self.tasks.len(),
                "availability records still being written at shutdown"
            );
        }
        self.tasks.reopen();
    }
}

async fn write_with_retries(store: Arc<dyn Store>, record: AvailabilityRecord) {
    let mut delay = FIRST_RETRY_DELAY;
    for attempt in 1..=ATTEMPTS {
        match store.record_availability(&record).await {
            Ok(()) => return,
            Err(error) if attempt < ATTEMPTS => {
                tracing::debug!(%error, attempt, "availability record not written, retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(error) => {
                tracing::warn!(%error, "availability record not written; reports miss it");
            }
        }
    }
}
