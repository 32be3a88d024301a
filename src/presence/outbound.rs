//! The link from a session to its socket's writer task: a bounded queue for
//! ordinary messages, a one-slot "latest nearest" that a newer answer overwrites
//! (a slow client never makes the server buffer stale positions), and a close
//! request that gets through even when the queue is full.

use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, mpsc, watch};

use crate::proto::{CloseCode, ServerMessage};

/// Messages queued per socket before the client counts as too slow: room for a
/// full minute of rate-limited control answers in one burst (slots are allocated
/// as they fill, so an idle socket does not pay for them).
pub(crate) const OUTBOUND_QUEUE_CAPACITY: usize = 256;

/// What the writer task does next.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outbound {
    /// Write this message.
    Message(ServerMessage),
    /// Send a Close frame with this code and stop.
    Close(CloseCode),
}

/// Why a message was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum OutboundError {
    /// The client reads too slowly; the socket is being closed.
    #[error("outbound queue is full")]
    Full,
    /// The socket is gone.
    #[error("socket is closed")]
    Closed,
}

/// State shared by both ends.
#[derive(Debug)]
struct Shared {
    /// The close code requested, if any.
    close: Mutex<Option<CloseCode>>,
    /// Wakes the writer when a close is requested.
    close_requested: Notify,
}

/// The session's end: cheap to clone, never blocks.
#[derive(Debug, Clone)]
pub(crate) struct OutboundSender {
    /// Identifies the socket, so a stale socket's detach is ignored.
    connection_id: u64,
    /// Ordinary messages, in order (boxed: the channel allocates its first block
    /// of slots up front, so small slots keep an idle socket cheap).
    queue: mpsc::Sender<Box<ServerMessage>>,
    /// The latest `nearest` answer not yet written.
    latest_nearest: Arc<watch::Sender<Option<ServerMessage>>>,
    /// Close requests.
    shared: Arc<Shared>,
}

/// The writer task's end.
#[derive(Debug)]
pub(crate) struct OutboundReceiver {
    /// Ordinary messages.
    queue: mpsc::Receiver<Box<ServerMessage>>,
    /// The latest `nearest` answer.
    latest_nearest: watch::Receiver<Option<ServerMessage>>,
    /// Close requests.
    shared: Arc<Shared>,
}

/// A fresh link for socket `connection_id`.
pub(crate) fn outbound_channel(connection_id: u64) -> (OutboundSender, OutboundReceiver) {
    let (queue_sender, queue_receiver) = mpsc::channel(OUTBOUND_QUEUE_CAPACITY);
    let (nearest_sender, nearest_receiver) = watch::channel(None);
    let shared = Arc::new(Shared {
        close: Mutex::new(None),
        close_requested: Notify::new(),
    });
    (
        OutboundSender {
            connection_id,
            queue: queue_sender,
            latest_nearest: Arc::new(nearest_sender),
            shared: shared.clone(),
        },
        OutboundReceiver {
            queue: queue_receiver,
            latest_nearest: nearest_receiver,
            shared,
        },
    )
}

impl OutboundSender {
    /// The socket this sender writes to.
    pub(crate) fn connection_id(&self) -> u64 {
        self.connection_id
    }

    /// Queues a message; a full queue closes the socket as too slow.
    pub(crate) fn send(&self, message: ServerMessage) -> Result<(), OutboundError> {
        match self.queue.try_send(Box::new(message)) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.close(CloseCode::SlowConsumer);
                Err(OutboundError::Full)
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(OutboundError::Closed),
        }
    }

    /// Replaces the pending `nearest` answer with a newer one.
    pub(crate) fn send_latest_nearest(&self, message: ServerMessage) -> Result<(), OutboundError> {
        if self.queue.is_closed() {
            return Err(OutboundError::Closed);
        }
        self.latest_nearest.send_replace(Some(message));
        Ok(())
    }

    /// Asks the writer to close the socket with `code` (the first request wins).
    pub(crate) fn close(&self, code: CloseCode) {
        let mut close = self
            .shared
            .close
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if close.is_none() {
            *close = Some(code);
            self.shared.close_requested.notify_one();
        }
    }
}

impl OutboundReceiver {
    /// The next thing to do: once a close is requested, the messages already
    /// queued and then the close; otherwise the latest `nearest` answer, then
    /// queued messages in order. `None` when every sender is gone.
    pub(crate) async fn next(&mut self) -> Option<Outbound> {
        loop {
            if let Some(code) = self.requested_close() {
                // Messages queued before the close still go out (an officer learns
                // why the window ended before the socket closes), except for a
                // client too slow to read them.
                if code != CloseCode::SlowConsumer
                    && let Ok(message) = self.queue.try_recv()
                {
                    return Some(Outbound::Message(*message));
                }
                return Some(Outbound::Close(code));
            }
            if self.latest_nearest.has_changed().unwrap_or(false) {
                let latest = self.latest_nearest.borrow_and_update().clone();
                if let Some(message) = latest {
                    return Some(Outbound::Message(message));
                }
                continue;
            }
            tokio::select! {
                biased;
                () = self.shared.close_requested.notified() => {}
                changed = self.latest_nearest.changed() => {
                    if changed.is_err() {
                        // Every sender is gone: only queued messages remain.
                        return self.queue.recv().await.map(|message| Outbound::Message(*message));
                    }
                    // `changed` marked the value seen: take it now.
                    let latest = self.latest_nearest.borrow_and_update().clone();
                    if let Some(message) = latest {
                        return Some(Outbound::Message(message));
                    }
                }
                message = self.queue.recv() => {
                    return message.map(|message| Outbound::Message(*message));
                }
            }
        }
    }

    fn requested_close(&self) -> Option<CloseCode> {
        *self
            .shared
            .close
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
