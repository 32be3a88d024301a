//! The link from a session to its socket's writer: a bounded queue for ordinary
//! messages, a short run of `nearest` answers not yet written (every answer of a
//! burst is delivered in order, but a slow client never makes the server buffer
//! more than [`NEAREST_BURST`] of them: the newest then overwrites the last), and
//! a close request that gets through even when the queue is full. All three sit
//! behind one lock in one allocation, with one wake-up for the writer: a link
//! costs an idle socket a few hundred bytes, and the buffers exist only while
//! they hold messages.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

use crate::proto::{CloseCode, ServerMessage};

/// Messages queued per socket before the client counts as too slow: room for a
/// full minute of rate-limited control answers in one burst.
pub(crate) const OUTBOUND_QUEUE_CAPACITY: usize = 256;

/// `nearest` answers kept for a socket's writer before a newer one overwrites
/// the newest kept. Answers that change faster than the writer runs (two
/// officers' frames handled microseconds apart) are each true for a moment, and
/// the client sees each of them; a client too slow to read them gets the
/// oldest few and the newest, never an unbounded backlog of stale positions.
pub(crate) const NEAREST_BURST: usize = 4;

/// Messages queued (or waiting among the `nearest` answers) on every socket of
/// the process, not yet taken by their writers: exported as a gauge, so a soak
/// run shows whether slow readers make the server buffer more and more.
static PENDING_MESSAGES: AtomicI64 = AtomicI64::new(0);

/// Messages waiting for their socket's writer, over the whole process.
pub(crate) fn pending_messages() -> i64 {
    PENDING_MESSAGES.load(Ordering::Relaxed)
}

fn count_pending(change: i64) {
    PENDING_MESSAGES.fetch_add(change, Ordering::Relaxed);
}

/// What the writer does next.
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

/// What both ends share.
#[derive(Debug)]
struct Link {
    /// Everything the writer has not taken yet.
    pending: Mutex<Pending>,
    /// Wakes the writer. `notify_one` keeps a permit when the writer is not
    /// waiting, so a message queued between its check and its wait is not missed.
    wake_writer: Notify,
}

/// The link's contents, under one lock (held only to move a message in or out).
#[derive(Debug, Default)]
struct Pending {
    /// Ordinary messages, in order. Its buffer is released whenever it empties,
    /// so an idle socket holds none.
    queue: VecDeque<ServerMessage>,
    /// `nearest` answers not yet written, oldest first, at most
    /// [`NEAREST_BURST`]. Its buffer is released whenever it empties.
    nearest: VecDeque<ServerMessage>,
    /// The close code requested, if any (the first request wins).
    close: Option<CloseCode>,
    /// Live `OutboundSender`s: at zero the writer ends once it has written the rest.
    senders: usize,
    /// The receiver was dropped: nothing more is accepted.
    receiver_gone: bool,
}

/// The session's end: cheap to clone, never blocks.
#[derive(Debug)]
pub(crate) struct OutboundSender {
    /// Identifies the socket, so a stale socket's detach is ignored.
    connection_id: u64,
    /// Shared with the receiver.
    link: Arc<Link>,
}

/// The writer's end.
#[derive(Debug)]
pub(crate) struct OutboundReceiver {
    /// Shared with the senders.
    link: Arc<Link>,
}

/// A fresh link for socket `connection_id`.
pub(crate) fn outbound_channel(connection_id: u64) -> (OutboundSender, OutboundReceiver) {
    let link = Arc::new(Link {
        pending: Mutex::new(Pending {
            senders: 1,
            ..Pending::default()
        }),
        wake_writer: Notify::new(),
    });
    (
        OutboundSender {
            connection_id,
            link: link.clone(),
        },
        OutboundReceiver { link },
    )
}

impl Link {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl OutboundSender {
    /// The socket this sender writes to.
    pub(crate) fn connection_id(&self) -> u64 {
        self.connection_id
    }

    /// Queues a message; a full queue closes the socket as too slow.
    pub(crate) fn send(&self, message: ServerMessage) -> Result<(), OutboundError> {
        let mut pending = self.link.lock();
        if pending.receiver_gone {
            return Err(OutboundError::Closed);
        }
        if pending.queue.len() >= OUTBOUND_QUEUE_CAPACITY {
            if pending.close.is_none() {
                pending.close = Some(CloseCode::SlowConsumer);
            }
            drop(pending);
            self.link.wake_writer.notify_one();
            return Err(OutboundError::Full);
        }
        pending.queue.push_back(message);
        count_pending(1);
        drop(pending);
        self.link.wake_writer.notify_one();
        Ok(())
    }

    /// Adds a `nearest` answer after those not yet written; when
    /// [`NEAREST_BURST`] are waiting, it replaces the newest of them.
    pub(crate) fn send_nearest(&self, message: ServerMessage) -> Result<(), OutboundError> {
        let mut pending = self.link.lock();
        if pending.receiver_gone {
            return Err(OutboundError::Closed);
        }
        if pending.nearest.len() < NEAREST_BURST {
            pending.nearest.push_back(message);
            count_pending(1);
        } else if let Some(newest) = pending.nearest.back_mut() {
            *newest = message;
        }
        drop(pending);
        self.link.wake_writer.notify_one();
        Ok(())
    }

    /// Asks the writer to close the socket with `code` (the first request wins).
    pub(crate) fn close(&self, code: CloseCode) {
        let mut pending = self.link.lock();
        if pending.close.is_some() {
            return;
        }
        pending.close = Some(code);
        drop(pending);
        self.link.wake_writer.notify_one();
    }
}

impl Clone for OutboundSender {
    fn clone(&self) -> Self {
        self.link.lock().senders += 1;
        Self {
            connection_id: self.connection_id,
            link: self.link.clone(),
        }
    }
}

impl Drop for OutboundSender {
    fn drop(&mut self) {
        let mut pending = self.link.lock();
        pending.senders -= 1;
        let last = pending.senders == 0;
        drop(pending);
        if last {
            self.link.wake_writer.notify_one();
        }
    }
}

impl OutboundReceiver {
    /// The next thing to do: once a close is requested, the messages already
    /// queued and then the close; otherwise the waiting `nearest` answers, then
    /// queued messages, each in order. `None` when every sender is gone and nothing is
    /// left. Cancel-safe: nothing is taken from the link until it is returned.
    pub(crate) async fn next(&mut self) -> Option<Outbound> {
        loop {
            if let Some(next) = self.try_next() {
                return next;
            }
            self.link.wake_writer.notified().await;
        }
    }

    /// What [`Self::next`] returns now, if it would not wait: `Some(None)` when
    /// the link is finished.
    fn try_next(&self) -> Option<Option<Outbound>> {
        let mut pending = self.link.lock();
        if let Some(code) = pending.close {
            // Messages queued before the close still go out (an officer learns
            // why the window ended before the socket closes), except for a
            // client too slow to read them.
            if code != CloseCode::SlowConsumer
                && let Some(message) = pending.take_queued()
            {
                return Some(Some(Outbound::Message(message)));
            }
            return Some(Some(Outbound::Close(code)));
        }
        if let Some(message) = pending.take_nearest() {
            return Some(Some(Outbound::Message(message)));
        }
        if let Some(message) = pending.take_queued() {
            return Some(Some(Outbound::Message(message)));
        }
        if pending.senders == 0 {
            return Some(None);
        }
        None
    }
}

impl Pending {
    /// The oldest queued message; an emptied queue gives its buffer back.
    fn take_queued(&mut self) -> Option<ServerMessage> {
        take_front(&mut self.queue)
    }

    /// The oldest `nearest` answer not yet written.
    fn take_nearest(&mut self) -> Option<ServerMessage> {
        take_front(&mut self.nearest)
    }
}

/// The front of `messages`; an emptied buffer is given back, so an idle socket
/// holds none.
fn take_front(messages: &mut VecDeque<ServerMessage>) -> Option<ServerMessage> {
    let message = messages.pop_front()?;
    count_pending(-1);
    if messages.is_empty() {
        *messages = VecDeque::new();
    }
    Some(message)
}

impl Drop for OutboundReceiver {
    fn drop(&mut self) {
        let mut pending = self.link.lock();
        pending.receiver_gone = true;
        let dropped = pending.queue.len() + pending.nearest.len();
        count_pending(-i64::try_from(dropped).unwrap_or(i64::MAX));
        pending.queue = VecDeque::new();
        pending.nearest = VecDeque::new();
    }
}

#[cfg(test)]
mod tests;
