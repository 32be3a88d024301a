//! [`SocketTasks`]: what `serve()` needs to end open sockets. Upgraded sockets
//! outlive the HTTP server's graceful shutdown (hyper hands them off), so each
//! socket task is tracked here and watches a shutdown token: on shutdown every
//! socket sends a Close frame (1001) and detaches from its session, and `serve()`
//! waits for them, within a grace, before it closes the store.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tokio_util::task::task_tracker::TrackedFuture;

/// The open sockets' shutdown signal and their tasks.
#[derive(Debug, Clone)]
pub(crate) struct SocketTasks {
    /// Cancelled when the server shuts down; every socket then closes with 1001.
    shutdown: CancellationToken,
    /// Every socket task, so shutdown can wait for them.
    tracker: TaskTracker,
}

impl SocketTasks {
    /// Sockets that close when `shutdown` is cancelled.
    pub(crate) fn new(shutdown: CancellationToken) -> Self {
        Self {
            shutdown,
            tracker: TaskTracker::new(),
        }
    }

    /// The token a socket watches.
    pub(crate) fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Tracks one socket's task.
    pub(crate) fn track<F: Future>(&self, socket: F) -> TrackedFuture<F> {
        self.tracker.track_future(socket)
    }

    /// Waits up to `grace` for the open sockets to finish on their own (after
    /// their sessions closed them); false when some were still open.
    pub(crate) async fn wait_until_closed(&self, grace: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + grace;
        while !self.tracker.is_empty() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    /// Tells every socket to close and waits up to `grace` for them to finish.
    /// False when some were still open at the end of the grace.
    pub(crate) async fn close_all(&self, grace: Duration) -> bool {
        self.shutdown.cancel();
        self.tracker.close();
        tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_ok()
    }
}
