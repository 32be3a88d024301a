//! The reader loop of an attached socket. It owns the socket's read half and, in
//! one `select!`, waits for: shutdown (close 1001), the writer ending (the
//! session closed the socket, or a write failed; the loop polls the writer, which
//! runs in the same task), the next frame, the pending
//! location falling due, and the idle deadline (close 4004 after
//! `IDLE_TIMEOUT_SECONDS` without any frame, pongs included). Each frame is decoded
//! in its own format; decode errors are answered with `error` and the session goes
//! on. Control messages are limited to `presence.control_messages_per_minute`
//! (`rate_limited` beyond), error answers to `ERRORS_PER_MINUTE_BEFORE_CLOSE`
//! (close 4008 beyond), locations are coalesced to one per
//! `presence.location_min_interval_ms`, and everything else goes to the session's
//! inbox in arrival order.

use std::future::Future;
use std::pin::{Pin, pin};
use std::time::Duration;

use axum::extract::ws::Message;
use futures::{Stream, StreamExt};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::account_budgets::{AccountBudgets, Budget};
use super::auth::{AuthFailure, TokenAuthenticator};
use super::expiry::{ReauthRefusal, TokenEvent, TokenExpiry};
use super::rate::{LocationCoalescer, WindowLimiter};
use super::writer::{SharedFormat, WriterEnd};
use crate::clock::Clock;
use crate::config::PresenceConfig;
use crate::domain::AccountId;
use crate::identity::Authenticated;
use crate::presence::hub::SessionInbox;
use crate::presence::outbound::OutboundSender;
use crate::proto::limits::{ERRORS_PER_MINUTE_BEFORE_CLOSE, IDLE_TIMEOUT_SECONDS};
use crate::proto::{
    ClientMessage, ClientMessageType, CloseCode, ErrorCode, ServerMessage, WireFormat,
    decode_client,
};

/// The window location floods are counted over.
const LOCATION_FLOOD_WINDOW: Duration = Duration::from_secs(1);

/// What a received frame is to the loops.
#[derive(Debug)]
pub(crate) enum Incoming<'frame> {
    /// A message frame: text is JSON, binary is MessagePack.
    Data {
        /// The frame's format.
        format: WireFormat,
        /// Its bytes.
        payload: &'frame [u8],
    },
    /// A WebSocket ping or pong: traffic, nothing to decode (pongs to the client's
    /// pings are sent by the WebSocket library).
    Heartbeat,
    /// The client closed the socket.
    Close,
}

/// Sorts a received frame.
pub(crate) fn classify_frame(frame: &Message) -> Incoming<'_> {
    match frame {
        Message::Text(text) => Incoming::Data {
            format: WireFormat::Json,
            payload: text.as_str().as_bytes(),
        },
        Message::Binary(bytes) => Incoming::Data {
            format: WireFormat::MessagePack,
            payload: bytes,
        },
        Message::Ping(_) | Message::Pong(_) => Incoming::Heartbeat,
        Message::Close(_) => Incoming::Close,
    }
}

/// Whether a read error is the WebSocket library refusing a message over
/// `TRANSPORT_MAX_MESSAGE_BYTES` (tungstenite's `Capacity(MessageTooLong)`). axum
/// boxes the library's error and its type is not nameable from here, so the
/// error text is matched; `tests/ws_gateway.rs` pins the behaviour end to end.
pub(crate) fn is_message_too_big(error: &axum::Error) -> bool {
    error.to_string().contains("Message too long")
}

/// Why the reader loop ended.
#[derive(Debug)]
pub(crate) enum ReaderExit {
    /// The client sent a Close frame.
    ClientClosed,
    /// The read half ended or failed without a Close frame.
    ConnectionLost,
    /// The socket must be closed with this code.
    Close(CloseCode),
    /// The writer ended first; its result.
    WriterEnded(WriterEnd),
}

/// What to do after a frame.
#[derive(Debug)]
enum Flow {
    /// Read on.
    Continue,
    /// Check this `reauth` token, then read on.
    Reauth(String),
    /// Stop the loop.
    Exit(ReaderExit),
}

/// What the reader's one timer waits for.
#[derive(Debug, Clone, Copy)]
struct Deadlines {
    /// No frame since `IDLE_TIMEOUT_SECONDS`: close 4004.
    idle: Instant,
    /// The token's next event: the expiry notice, then the expiry.
    token: Instant,
    /// When the held-back location may go to the session, if one is held.
    location: Option<Instant>,
}

impl Deadlines {
    fn earliest(&self) -> Instant {
        let earliest = self.idle.min(self.token);
        self.location.map_or(earliest, |due| earliest.min(due))
    }
}

/// Who the socket belongs to and how its tokens are checked.
#[derive(Debug)]
pub(crate) struct SocketIdentity<'socket> {
    /// The account, sign-in and token expiry the socket was opened with.
    pub(crate) caller: Authenticated,
    /// Checks `reauth` tokens.
    pub(crate) authenticator: &'socket dyn TokenAuthenticator,
    /// Wall-clock time, for token expiry.
    pub(crate) clock: Clock,
    /// The node's per-account budgets of control messages and refused frames.
    pub(crate) budgets: &'socket AccountBudgets,
}

/// The reader's state for one socket.
#[derive(Debug)]
pub(crate) struct Reader<'socket> {
    /// Where error answers go (the same link the session writes to).
    outbound: &'socket OutboundSender,
    /// The session's inbox.
    inbox: &'socket dyn SessionInbox,
    /// The format the writer encodes in, set from each received frame.
    format: &'socket SharedFormat,
    /// The account's budgets of control messages and refused frames (shared by
    /// its sockets over time, so a reconnect refills nothing).
    budgets: &'socket AccountBudgets,
    /// Whose budgets.
    account: AccountId,
    /// Location frames received in the last second: beyond a flood's worth
    /// they are refused (and spend the error budget).
    location_frames: WindowLimiter,
    /// The location flood limit, for the refusal's text.
    location_frames_per_second: u32,
    /// Holds back locations that arrive faster than one per interval.
    locations: LocationCoalescer,
    /// Checks `reauth` tokens.
    authenticator: &'socket dyn TokenAuthenticator,
    /// Wall-clock time.
    clock: Clock,
    /// When the socket's token runs out.
    expiry: TokenExpiry,
}

/// How fast one socket may send, from `[presence]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SocketLimits {
    /// Locations are handled at most about once per this interval.
    pub(crate) location_min_interval: Duration,
}

/// Location frames a socket may send per location interval before they count as
/// a flood (a client sends one; a burst after a reconnect may send a few).
const LOCATION_FRAMES_PER_INTERVAL: u32 = 10;

impl SocketLimits {
    /// The limits `presence` configures.
    pub(crate) fn from_config(presence: &PresenceConfig) -> Self {
        Self {
            location_min_interval: Duration::from_millis(presence.location_min_interval_ms),
        }
    }

    /// Location frames allowed in any second.
    fn location_frames_per_second(self) -> u32 {
        let interval_ms = self.location_min_interval.as_millis().max(1);
        let per_second = u128::from(LOCATION_FRAMES_PER_INTERVAL) * 1_000 / interval_ms;
        u32::try_from(per_second)
            .unwrap_or(u32::MAX)
            .max(LOCATION_FRAMES_PER_INTERVAL)
    }
}

impl Default for SocketLimits {
    fn default() -> Self {
        Self::from_config(&PresenceConfig::default())
    }
}

impl<'socket> Reader<'socket> {
    /// A reader for an attached socket.
    pub(crate) fn new(
        outbound: &'socket OutboundSender,
        inbox: &'socket dyn SessionInbox,
        format: &'socket SharedFormat,
        limits: SocketLimits,
        identity: SocketIdentity<'socket>,
    ) -> Self {
        let location_frames_per_second = limits.location_frames_per_second();
        Self {
            outbound,
            inbox,
            format,
            budgets: identity.budgets,
            account: identity.caller.account_id,
            location_frames: WindowLimiter::new(location_frames_per_second, LOCATION_FLOOD_WINDOW),
            location_frames_per_second,
            locations: LocationCoalescer::new(limits.location_min_interval),
            authenticator: identity.authenticator,
            clock: identity.clock,
            expiry: TokenExpiry::new(identity.caller),
        }
    }

    /// Reads until the socket must end, driving `writer` meanwhile (also while a
    /// `reauth` token is checked); once this returns `WriterEnded` the writer must
    /// not be polled again.
    pub(crate) async fn run<R, W>(
        &mut self,
        stream: &mut R,
        mut writer: Pin<&mut W>,
        shutdown: &CancellationToken,
    ) -> ReaderExit
    where
        R: Stream<Item = Result<Message, axum::Error>> + Unpin,
        W: Future<Output = WriterEnd>,
    {
        let idle_timeout = Duration::from_secs(IDLE_TIMEOUT_SECONDS);
        let mut deadlines = Deadlines {
            idle: Instant::now() + idle_timeout,
            token: self.expiry.next_deadline(self.clock.now_ms()),
            location: None,
        };
        // One timer for the idle timeout, the token (its notice, then its expiry)
        // and the held-back location: set to the earliest, pinned once (every
        // timer is kept in the socket's memory for its life).
        let mut timer = pin!(tokio::time::sleep_until(deadlines.earliest()));
        loop {
            deadlines.location = self.locations.due_at();
            let earliest = deadlines.earliest();
            if timer.deadline() != earliest {
                timer.as_mut().reset(earliest);
            }
            let mut flow = tokio::select! {
                biased;
                () = shutdown.cancelled() => Flow::Exit(ReaderExit::Close(CloseCode::GoingAway)),
                ended = writer.as_mut() => Flow::Exit(ReaderExit::WriterEnded(ended)),
                received = stream.next() => {
                    deadlines.idle = Instant::now() + idle_timeout;
                    self.on_received(received)
                }
                () = timer.as_mut() => self.on_deadlines(&mut deadlines),
            };
            if let Flow::Reauth(token) = flow {
                // Boxed: a check exists only while it runs.
                flow = tokio::select! {
                    biased;
                    ended = writer.as_mut() => Flow::Exit(ReaderExit::WriterEnded(ended)),
                    checked = Box::pin(self.reauth(&token)) => checked,
                };
                deadlines.token = self.expiry.next_deadline(self.clock.now_ms());
            }
            if let Flow::Exit(exit) = flow {
                return exit;
            }
        }
    }

    /// The timer fired: releases a location that fell due, tells the client about
    /// its token or closes at its expiry, and closes a silent socket, in that order.
    fn on_deadlines(&mut self, deadlines: &mut Deadlines) -> Flow {
        let now = Instant::now();
        if deadlines.location.is_some_and(|due| due <= now)
            && let flow @ Flow::Exit(_) = self.release_location()
        {
            return flow;
        }
        if deadlines.token <= now {
            let flow = self.on_token_deadline();
            deadlines.token = self.expiry.next_deadline(self.clock.now_ms());
            if let Flow::Exit(_) = flow {
                return flow;
            }
        }
        if deadlines.idle <= now {
            tracing::debug!(idle_seconds = IDLE_TIMEOUT_SECONDS, "client silent");
            return Flow::Exit(ReaderExit::Close(CloseCode::HeartbeatTimeout));
        }
        Flow::Continue
    }

    fn on_received(&mut self, received: Option<Result<Message, axum::Error>>) -> Flow {
        let frame = match received {
            Some(Ok(frame)) => frame,
            Some(Err(error)) if is_message_too_big(&error) => {
                return Flow::Exit(ReaderExit::Close(CloseCode::MessageTooBig));
            }
            Some(Err(error)) => {
                tracing::debug!(%error, "socket read failed");
                return Flow::Exit(ReaderExit::ConnectionLost);
            }
            None => return Flow::Exit(ReaderExit::ConnectionLost),
        };
        match classify_frame(&frame) {
            Incoming::Data { format, payload } => {
                self.format.set(format);
                match decode_client(format, payload) {
                    Ok(message) => self.on_message(message),
                    Err(error) => self.refuse(error.error_code(), error.message()),
                }
            }
            Incoming::Heartbeat => Flow::Continue,
            Incoming::Close => Flow::Exit(ReaderExit::ClientClosed),
        }
    }

    fn on_message(&mut self, message: ClientMessage) -> Flow {
        let message_type = message.message_type();
        crate::metrics::ws_message_received(message_type);
        let now = Instant::now();
        if message_type.is_control() && !self.budgets.try_spend(self.account, Budget::Control, now)
        {
            return self.refuse(
                ErrorCode::RateLimited,
                format!(
                    "more than {} control messages in a minute; this one was dropped",
                    self.budgets.control_per_minute()
                ),
            );
        }
        if message_type == ClientMessageType::Location && !self.location_frames.try_acquire(now) {
            return self.refuse(
                ErrorCode::RateLimited,
                format!(
                    "more than {} locations in a second; this one was dropped",
                    self.location_frames_per_second
                ),
            );
        }
        match message {
            ClientMessage::Hello(_) => self.refuse(
                ErrorCode::AlreadyAuthenticated,
                "this socket is already authenticated".to_owned(),
            ),
            ClientMessage::Location(update) => match self.locations.offer(update, Instant::now()) {
                Some(due) => self.deliver(ClientMessage::Location(due)),
                None => Flow::Continue,
            },
            message @ (ClientMessage::GoAvailable(_)
            | ClientMessage::GoUnavailable
            | ClientMessage::RequestConnection(_)
            | ClientMessage::Respond(_)
            | ClientMessage::CancelRequest(_)
            | ClientMessage::Ping
            | ClientMessage::Block(_)
            | ClientMessage::Chat(_)
            | ClientMessage::EndConnection(_)) => self.deliver(message),
            ClientMessage::Reauth(reauth) => Flow::Reauth(reauth.token),
        }
    }

    /// The token's deadline: tell the client it is about to expire, or close.
    fn on_token_deadline(&mut self) -> Flow {
        match self.expiry.on_deadline() {
            TokenEvent::Expiring(expires_at_ms) => {
                let notice = ServerMessage::TokenExpiring { expires_at_ms };
                if let Err(error) = self.outbound.send(notice) {
                    tracing::debug!(%error, "expiry notice not queued");
                }
                Flow::Continue
            }
            TokenEvent::Expired => {
                tracing::debug!("access token expired");
                Flow::Exit(ReaderExit::Close(CloseCode::TokenExpired))
            }
        }
    }

    /// `reauth{token}`: a fresh token of the same sign-in moves the expiry.
    async fn reauth(&mut self, token: &str) -> Flow {
        let refusal = match self.authenticator.check_token(token).await {
            Ok(renewed) => match self.expiry.renew(&renewed) {
                Ok(expires_at_ms) => {
                    let answer = ServerMessage::Reauthenticated { expires_at_ms };
                    if let Err(error) = self.outbound.send(answer) {
                        tracing::debug!(%error, "reauth answer not queued");
                    }
                    return Flow::Continue;
                }
                Err(ReauthRefusal::OtherSignIn) => {
                    "the token belongs to another sign-in; reconnect with it"
                }
                Err(ReauthRefusal::NotFresher) => "the token expires no later than the current one",
            },
            Err(AuthFailure::Rejected) => "invalid or expired token",
            Err(AuthFailure::Unavailable) => "the token could not be checked now; try again",
        };
        self.refuse(ErrorCode::ReauthFailed, refusal.to_owned())
    }

    fn release_location(&mut self) -> Flow {
        match self.locations.take_due(Instant::now()) {
            Some(update) => self.deliver(ClientMessage::Location(update)),
            None => Flow::Continue,
        }
    }

    /// Hands a message to the session; a gone session closes the socket so the
    /// client reconnects.
    fn deliver(&mut self, message: ClientMessage) -> Flow {
        if self.inbox.deliver(message) {
            Flow::Continue
        } else {
            tracing::debug!("session gone");
            Flow::Exit(ReaderExit::Close(CloseCode::GoingAway))
        }
    }

    /// Answers the frame just read with an `error`, unless this error is one too
    /// many in the last minute: then the socket closes with 4008.
    fn refuse(&mut self, code: ErrorCode, message: String) -> Flow {
        crate::metrics::ws_frame_rejected(code);
        if !self
            .budgets
            .try_spend(self.account, Budget::Error, Instant::now())
        {
            tracing::debug!(
                errors_per_minute = ERRORS_PER_MINUTE_BEFORE_CLOSE,
                "too many refused frames"
            );
            return Flow::Exit(ReaderExit::Close(CloseCode::PolicyViolation));
        }
        // Full: the link has already asked the writer to close with 4009. Closed:
        // the writer is gone. Either way the writer ending ends this loop.
        if let Err(error) = self.outbound.send(ServerMessage::Error { code, message }) {
            tracing::debug!(%error, "error answer not queued");
        }
        Flow::Continue
    }
}
