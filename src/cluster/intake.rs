//! The router's intake: a bounded queue between the `NodeRouter` (whose ractor
//! mailbox is unbounded and filled by the cluster link as fast as peers send)
//! and the task that does the work each message asks for. The router only
//! decodes a frame and offers it here, which takes microseconds, so its mailbox
//! drains as fast as frames arrive; when the worker falls behind (a peer floods,
//! or a shard start holds it), messages beyond [`ROUTER_QUEUE_CAPACITY`] are
//! shed and counted instead of piling up in memory. Heartbeats never come here:
//! the router hands them on at once, so a flood cannot make a live peer look
//! dead.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

use super::link::wire_kind;
use super::wire::Wire;

/// Messages waiting for the router's worker, at most: about a second of a busy
/// peer's officer changes. Each is a decoded message of at most the cluster's
/// frame limit.
pub(crate) const ROUTER_QUEUE_CAPACITY: usize = 16_384;

/// The router's end of the queue.
#[derive(Debug)]
pub(crate) struct Intake {
    /// Into the worker's queue.
    sender: mpsc::Sender<Wire>,
    /// Messages shed because the queue was full, since start.
    shed: AtomicU64,
}

/// A queue of `capacity` messages: the router's end and the worker's.
pub(crate) fn intake(capacity: usize) -> (Intake, mpsc::Receiver<Wire>) {
    let (sender, receiver) = mpsc::channel(capacity.max(1));
    (
        Intake {
            sender,
            shed: AtomicU64::new(0),
        },
        receiver,
    )
}

impl Intake {
    /// Queues `wire` for the worker; a full queue sheds it (counted, and in
    /// `heyblue_cluster_messages_shed_total`). False when it was not queued.
    pub(crate) fn offer(&self, wire: Wire) -> bool {
        match self.sender.try_send(wire) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(wire)) => {
                self.shed.fetch_add(1, Ordering::Relaxed);
                crate::metrics::cluster_message_shed(wire_kind(&wire));
                false
            }
            // The worker is gone: the router is stopping.
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Messages shed so far (the metric is what operators read).
    #[cfg(test)]
    pub(crate) fn shed(&self) -> u64 {
        self.shed.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AccountId;
    use crate::proto::ServerMessage;

    fn push() -> Wire {
        Wire::Push {
            account_id: AccountId::random(),
            message: ServerMessage::Nearest { officer: None },
            origin: "peer".to_owned(),
        }
    }

    #[tokio::test]
    async fn beyond_its_capacity_the_queue_sheds_and_counts() {
        let (intake, mut worker) = intake(4);
        let queued = (0..10).filter(|_| intake.offer(push())).count();
        assert_eq!((queued, intake.shed()), (4, 6));
        assert!(worker.recv().await.is_some());
        assert!(intake.offer(push()), "room again once the worker took one");
        drop(worker);
        assert!(!intake.offer(push()));
        assert_eq!(intake.shed(), 6, "a closed queue is not a shed message");
    }
}
