//! The socket's writer: the only code that writes to the socket once it is
//! attached. A future polled by the socket's own task next to the reader (one
//! task per socket, not two), it drains the socket's [`OutboundReceiver`] (a
//! requested close first, then the latest `nearest`, then queued messages in
//! order), encodes each message in the socket's current [`SharedFormat`], sends a
//! WebSocket ping every `PING_INTERVAL_SECONDS`, and on `Outbound::Close(code)`
//! sends the Close frame and ends. It also ends when a write fails or times out,
//! or when every sender is gone; the socket drops it to stop it.

use std::fmt::Display;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message};
use futures::{Sink, SinkExt};
use tokio::time::{Instant, Sleep};

use crate::presence::outbound::{Outbound, OutboundReceiver};
use crate::proto::limits::PING_INTERVAL_SECONDS;
use crate::proto::{CloseCode, ServerMessage, WireFormat, encode_server};

/// Longest one frame may take to reach the socket. A client whose connection
/// accepts nothing for this long (its TCP window stays shut) is treated as gone:
/// waiting longer would pin the socket's memory for a reader that no longer reads.
pub(crate) const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The format the server writes in: the subprotocol's until the client's first
/// frame, then the format of the client's most recent frame. Set by the reader,
/// read by the writer at encoding time (both run in the socket's task and borrow it).
#[derive(Debug)]
pub(crate) struct SharedFormat {
    /// True for MessagePack (binary frames), false for JSON (text frames).
    message_pack: AtomicBool,
}

impl SharedFormat {
    /// Starts in `format`.
    pub(crate) fn new(format: WireFormat) -> Self {
        Self {
            message_pack: AtomicBool::new(format == WireFormat::MessagePack),
        }
    }

    /// The current format.
    pub(crate) fn get(&self) -> WireFormat {
        if self.message_pack.load(Ordering::Relaxed) {
            WireFormat::MessagePack
        } else {
            WireFormat::Json
        }
    }

    /// The client's latest frame was in `format`.
    pub(crate) fn set(&self, format: WireFormat) {
        self.message_pack
            .store(format == WireFormat::MessagePack, Ordering::Relaxed);
    }
}

/// Why the writer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriterEnd {
    /// It sent (or tried to send) a Close frame with this code.
    Closed(CloseCode),
    /// Every sender is gone.
    Stopped,
    /// A write failed or timed out: the connection is gone.
    Failed,
}

/// A write that did not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WriteFailed;

/// Runs the writer until a close, a failed write or the end of the link.
pub(crate) async fn run_writer<W>(
    mut sink: W,
    mut outbound: OutboundReceiver,
    format: &SharedFormat,
) -> WriterEnd
where
    W: Sink<Message> + Unpin,
    W::Error: Display,
{
    let ping_period = Duration::from_secs(PING_INTERVAL_SECONDS);
    let mut next_ping = Instant::now() + ping_period;
    // One timer, not two: the next ping while idle, the send timeout while a
    // frame is written (every timer is kept in the socket's memory for its life).
    let mut timer = pin!(tokio::time::sleep_until(next_ping));
    loop {
        let next = tokio::select! {
            biased;
            next = outbound.next() => next,
            () = timer.as_mut() => {
                if write_within(&mut sink, Message::Ping(Bytes::new()), timer.as_mut()).await.is_err() {
                    return WriterEnd::Failed;
                }
                next_ping = Instant::now() + ping_period;
                timer.as_mut().reset(next_ping);
                continue;
            }
        };
        // Encoded before writing, so the message is not kept while the frame waits.
        let frame = match next {
            None => return WriterEnd::Stopped,
            Some(Outbound::Close(code)) => {
                // Best effort: the close is the end either way.
                if write_within(&mut sink, close_frame(code), timer.as_mut())
                    .await
                    .is_err()
                {
                    tracing::debug!(code = code.code(), "close frame not delivered");
                }
                return WriterEnd::Closed(code);
            }
            Some(Outbound::Message(message)) => encode_frame(&message, format.get()),
        };
        if let Some(frame) = frame {
            if write_within(&mut sink, frame, timer.as_mut())
                .await
                .is_err()
            {
                return WriterEnd::Failed;
            }
            if timer.deadline() != next_ping {
                timer.as_mut().reset(next_ping);
            }
        }
    }
}

/// Encodes `message` in `format` and writes it. A message that cannot be encoded
/// (a bug, see `EncodeError`) is logged and skipped.
pub(crate) async fn write_message<W>(
    sink: &mut W,
    message: &ServerMessage,
    format: WireFormat,
) -> Result<(), WriteFailed>
where
    W: Sink<Message> + Unpin,
    W::Error: Display,
{
    match encode_frame(message, format) {
        Some(frame) => write(sink, frame).await,
        None => Ok(()),
    }
}

/// Sends a Close frame with `code` and its reason name.
pub(crate) async fn send_close<W>(sink: &mut W, code: CloseCode) -> Result<(), WriteFailed>
where
    W: Sink<Message> + Unpin,
    W::Error: Display,
{
    write(sink, close_frame(code)).await
}

/// The Close frame for `code`, with its reason name.
fn close_frame(code: CloseCode) -> Message {
    Message::Close(Some(CloseFrame {
        code: code.code(),
        reason: code.reason().into(),
    }))
}

/// The frame for `message`: text for JSON, binary for MessagePack.
pub(crate) fn encode_frame(message: &ServerMessage, format: WireFormat) -> Option<Message> {
    let bytes = match encode_server(message, format) {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::error!(%error, kind = message.type_name(), "server message not encodable");
            return None;
        }
    };
    match format {
        WireFormat::MessagePack => Some(Message::Binary(Bytes::from(bytes))),
        WireFormat::Json => match String::from_utf8(bytes) {
            Ok(text) => Some(Message::Text(text.into())),
            Err(error) => {
                tracing::error!(%error, kind = message.type_name(), "json encoding is not utf-8");
                None
            }
        },
    }
}

/// Writes and flushes one frame within [`SEND_TIMEOUT`].
async fn write<W>(sink: &mut W, frame: Message) -> Result<(), WriteFailed>
where
    W: Sink<Message> + Unpin,
    W::Error: Display,
{
    let timer = pin!(tokio::time::sleep(SEND_TIMEOUT));
    write_within(sink, frame, timer).await
}

/// Writes and flushes one frame within [`SEND_TIMEOUT`], measured with `timer`
/// (moved only when the write has to wait: most complete at once, and moving a
/// timer takes the timer wheel's lock; the caller sets it back afterwards).
async fn write_within<W>(
    sink: &mut W,
    frame: Message,
    mut timer: Pin<&mut Sleep>,
) -> Result<(), WriteFailed>
where
    W: Sink<Message> + Unpin,
    W::Error: Display,
{
    let mut send = sink.send(frame);
    let sent = match futures::poll!(&mut send) {
        Poll::Ready(sent) => sent,
        Poll::Pending => {
            timer.as_mut().reset(Instant::now() + SEND_TIMEOUT);
            tokio::select! {
                biased;
                sent = send => sent,
                () = timer => {
                    tracing::debug!(
                        timeout_seconds = SEND_TIMEOUT.as_secs(),
                        "socket write timed out"
                    );
                    return Err(WriteFailed);
                }
            }
        }
    };
    sent.map_err(|error| {
        tracing::debug!(%error, "socket write failed");
        WriteFailed
    })
}
