//! One upgraded socket, from the first frame to the last: authenticate (already
//! done from the header, or `hello`), attach to the session through the hub,
//! write `welcome` before anything the session queued, run the reader loop with
//! the writer beside it in the same task (a second task per socket would cost
//! ~1 KiB per idle session), then close, clean up, and after a server-sent Close
//! wait briefly for the client's reply. On every exit path after `attach` the
//! session's inbox is detached exactly once (a drop guard, so a cancelled or
//! panicking socket detaches too) and the writer is ended (given a grace to send
//! a requested Close frame, dropped otherwise).

use std::fmt::Display;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Message;
use futures::{Sink, Stream, StreamExt};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::account_budgets::AccountBudgets;
use super::auth::TokenAuthenticator;
use super::hello::await_hello;
use super::outcome::{ConnectionOutcome, SocketEnd};
use super::reader::{Reader, ReaderExit, SocketIdentity, SocketLimits};
use super::writer::{SharedFormat, WriterEnd, run_writer, send_close, write_message};
use crate::clock::Clock;
use crate::gateway::address_slots::AddressSlot;
use crate::identity::Authenticated;
use crate::presence::hub::{SessionHub, SessionInbox};
use crate::presence::outbound::outbound_channel;
use crate::proto::{CloseCode, ServerMessage, WireFormat};

/// How long the writer gets to send a requested Close frame before it is dropped.
/// Bounded by the writer's own send timeout in practice; this guards the socket
/// against waiting on a stuck writer forever.
const WRITER_FINISH_GRACE: Duration = Duration::from_secs(15);

/// After the server's Close frame: how long to wait for the client's Close reply
/// before dropping the connection. Dropping it at once, with client data still
/// unread, makes the kernel reset the connection, and a client that had not read
/// our Close frame yet would see 1006 instead of our code (and could not tell
/// 4001 from a network failure).
pub(crate) const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// How a socket starts.
#[derive(Debug)]
pub(crate) enum Admission {
    /// The upgrade carried a valid `Authorization: Bearer` token (and was
    /// counted against the account's sockets per minute).
    Authenticated(Authenticated),
    /// No header: the first frame must be `hello`. The socket holds its client
    /// address's pending slot until then.
    AwaitHello(AddressSlot),
}

/// What one socket starts with.
#[derive(Debug)]
pub(crate) struct SocketSetup {
    /// Process-unique id of the socket (log field, outbound link id).
    pub(crate) connection_id: u64,
    /// Header authentication, or wait for `hello`.
    pub(crate) admission: Admission,
    /// Format of pushes before the client's first frame (from the subprotocol).
    pub(crate) initial_format: WireFormat,
}

/// What every socket shares.
#[derive(Debug, Clone)]
pub(crate) struct SocketServices {
    /// Binds sockets to sessions.
    pub(crate) hub: Arc<dyn SessionHub>,
    /// Checks the token of `hello`.
    pub(crate) authenticator: Arc<dyn TokenAuthenticator>,
    /// `server_time_ms` of `welcome`.
    pub(crate) clock: Clock,
    /// Cancelled when the server shuts down: sockets close with 1001.
    pub(crate) shutdown: CancellationToken,
    /// How fast the client may send.
    pub(crate) limits: SocketLimits,
    /// The node's per-account budgets of sockets, control messages and refused frames.
    pub(crate) budgets: Arc<AccountBudgets>,
}

/// Runs one socket to its end and records how it ended.
pub(crate) async fn run_socket<W, R>(
    sink: W,
    mut stream: R,
    setup: SocketSetup,
    services: SocketServices,
) -> SocketEnd
where
    W: Sink<Message> + Unpin,
    W::Error: Display,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let end = serve_socket(sink, &mut stream, setup, &services).await;
    crate::metrics::ws_socket_ended(end);
    tracing::debug!(end = end.as_str(), "socket ended");
    match end {
        // After 1009 the library is mid-way through a message it refused to
        // buffer: reading on would buffer it after all.
        SocketEnd::Server(CloseCode::MessageTooBig)
        | SocketEnd::ClientClosed
        | SocketEnd::ConnectionLost => {}
        SocketEnd::Server(_) => linger(&mut stream).await,
    }
    end
}

/// Reads (and drops) what the client still sends until its Close reply, the end
/// of the stream, or [`CLOSE_LINGER`].
async fn linger<R>(stream: &mut R)
where
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let reply = async {
        while let Some(Ok(frame)) = stream.next().await {
            if matches!(frame, Message::Close(_)) {
                return;
            }
        }
    };
    if tokio::time::timeout(CLOSE_LINGER, reply).await.is_err() {
        tracing::debug!(linger_seconds = CLOSE_LINGER.as_secs(), "no close reply");
    }
}

async fn serve_socket<W, R>(
    mut sink: W,
    stream: &mut R,
    setup: SocketSetup,
    services: &SocketServices,
) -> SocketEnd
where
    W: Sink<Message> + Unpin,
    W::Error: Display,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let format = SharedFormat::new(setup.initial_format);
    let caller = match setup.admission {
        Admission::Authenticated(caller) => caller,
        Admission::AwaitHello(pending_slot) => {
            // Boxed: the hello phase's state exists only while it runs, not for
            // the socket's whole life.
            let hello = Box::pin(await_hello(&mut sink, stream, &format, services)).await;
            drop(pending_slot);
            let caller = match hello {
                Ok(caller) => caller,
                Err(end) => return end,
            };
            if let Err(wait) = services
                .budgets
                .try_connect(caller.account_id, Instant::now())
            {
                tracing::debug!(
                    wait_seconds = wait.as_secs(),
                    "too many sockets for the account"
                );
                crate::metrics::ws_connection(ConnectionOutcome::TooManyConnects);
                if send_close(&mut sink, CloseCode::TooManyConnects)
                    .await
                    .is_err()
                {
                    tracing::debug!("close frame not delivered");
                }
                return SocketEnd::Server(CloseCode::TooManyConnects);
            }
            caller
        }
    };
    tracing::Span::current().record("role", caller.role.as_str());

    let (outbound, receiver) = outbound_channel(setup.connection_id);
    let inbox = match services.hub.attach(caller, outbound.clone()).await {
        Ok(inbox) => AttachedInbox(inbox),
        Err(error) => {
            tracing::info!(%error, "socket not attached");
            crate::metrics::ws_connection(ConnectionOutcome::AttachFailed);
            if send_close(&mut sink, CloseCode::GoingAway).await.is_err() {
                tracing::debug!("close frame not delivered");
            }
            return SocketEnd::Server(CloseCode::GoingAway);
        }
    };
    crate::metrics::ws_connection(ConnectionOutcome::Accepted);

    // Written here, before the writer runs, so it precedes anything the session
    // queued during `attach`; scoped so the message is not kept for the socket's life.
    let welcomed = {
        let welcome = ServerMessage::Welcome {
            account_id: caller.account_id,
            role: caller.role,
            server_time_ms: services.clock.now_ms(),
            location_interval_ms: u64::try_from(services.limits.location_min_interval.as_millis())
                .unwrap_or(u64::MAX),
        };
        write_message(&mut sink, &welcome, format.get()).await
    };
    if welcomed.is_err() {
        return SocketEnd::ConnectionLost;
    }

    let mut writer = pin!(run_writer(sink, receiver, &format));
    let identity = SocketIdentity {
        caller,
        authenticator: services.authenticator.as_ref(),
        clock: services.clock,
        budgets: services.budgets.as_ref(),
    };
    let mut reader = Reader::new(
        &outbound,
        inbox.0.as_ref(),
        &format,
        services.limits,
        identity,
    );
    let exit = reader
        .run(stream, writer.as_mut(), &services.shutdown)
        .await;
    // On a client close or a lost connection the writer is dropped as it is: a
    // frame it was still writing has no reader.
    let end = match exit {
        ReaderExit::WriterEnded(ended) => socket_end_of(ended),
        ReaderExit::Close(code) => {
            outbound.close(code);
            finish_writer(writer).await
        }
        ReaderExit::ClientClosed => SocketEnd::ClientClosed,
        ReaderExit::ConnectionLost => SocketEnd::ConnectionLost,
    };
    drop(inbox);
    end
}

/// The session's inbox while the socket is attached; dropping it detaches.
struct AttachedInbox(
    /// The inbox `attach` returned.
    Box<dyn SessionInbox>,
);

impl Drop for AttachedInbox {
    fn drop(&mut self) {
        self.0.detach();
    }
}

/// Drives the writer to its end (the requested Close frame), up to
/// [`WRITER_FINISH_GRACE`].
async fn finish_writer<F>(writer: Pin<&mut F>) -> SocketEnd
where
    F: Future<Output = WriterEnd>,
{
    match tokio::time::timeout(WRITER_FINISH_GRACE, writer).await {
        Ok(ended) => socket_end_of(ended),
        Err(_) => {
            tracing::debug!(
                grace_seconds = WRITER_FINISH_GRACE.as_secs(),
                "writer dropped"
            );
            SocketEnd::ConnectionLost
        }
    }
}

/// How the socket ended, from the writer's side.
fn socket_end_of(ended: WriterEnd) -> SocketEnd {
    match ended {
        WriterEnd::Closed(code) => SocketEnd::Server(code),
        WriterEnd::Stopped | WriterEnd::Failed => SocketEnd::ConnectionLost,
    }
}
