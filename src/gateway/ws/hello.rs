//! The unauthenticated phase of a socket upgraded without an `Authorization`
//! header: the first frame must be a valid `hello` within `HELLO_TIMEOUT_SECONDS`.
//! No `hello` in time closes with 4002; a bad token, or a first frame that is not
//! `hello` (answered with an `error` first), closes with 4001. WebSocket pings and
//! pongs do not count as the first frame. Nothing else runs on the socket yet, so
//! this phase writes to the sink directly.

use std::fmt::Display;
use std::time::Duration;

use axum::extract::ws::Message;
use futures::{Sink, Stream, StreamExt};
use tokio::time::Instant;

use super::auth::AuthFailure;
use super::outcome::{ConnectionOutcome, SocketEnd};
use super::reader::{Incoming, classify_frame, is_message_too_big};
use super::socket::SocketServices;
use super::writer::{SharedFormat, send_close, write_message};
use crate::identity::Authenticated;
use crate::proto::limits::HELLO_TIMEOUT_SECONDS;
use crate::proto::{
    ClientMessage, ClientMessageType, CloseCode, ErrorCode, ServerMessage, WireFormat,
    decode_client,
};

/// Waits for `hello` and checks its token. On failure the socket has been closed
/// (when it still could be) and the error says how it ended.
pub(crate) async fn await_hello<W, R>(
    sink: &mut W,
    stream: &mut R,
    format: &SharedFormat,
    services: &SocketServices,
) -> Result<Authenticated, SocketEnd>
where
    W: Sink<Message> + Unpin,
    W::Error: Display,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let deadline = Instant::now() + Duration::from_secs(HELLO_TIMEOUT_SECONDS);
    loop {
        let received = tokio::select! {
            biased;
            () = services.shutdown.cancelled() => {
                return Err(refuse(sink, ConnectionOutcome::ShuttingDown, CloseCode::GoingAway).await);
            }
            () = tokio::time::sleep_until(deadline) => {
                tracing::debug!(timeout_seconds = HELLO_TIMEOUT_SECONDS, "no hello in time");
                return Err(refuse(sink, ConnectionOutcome::AuthTimeout, CloseCode::AuthTimeout).await);
            }
            received = stream.next() => received,
        };
        let frame = match received {
            Some(Ok(frame)) => frame,
            Some(Err(error)) if is_message_too_big(&error) => {
                return Err(
                    refuse(sink, ConnectionOutcome::Abandoned, CloseCode::MessageTooBig).await,
                );
            }
            Some(Err(error)) => {
                tracing::debug!(%error, "socket failed before hello");
                return Err(abandoned(SocketEnd::ConnectionLost));
            }
            None => return Err(abandoned(SocketEnd::ConnectionLost)),
        };
        let (frame_format, payload) = match classify_frame(&frame) {
            Incoming::Data { format, payload } => (format, payload),
            Incoming::Heartbeat => continue,
            Incoming::Close => return Err(abandoned(SocketEnd::ClientClosed)),
        };
        format.set(frame_format);
        let token = match decode_client(frame_format, payload) {
            Ok(ClientMessage::Hello(hello)) => {
                crate::metrics::ws_message_received(ClientMessageType::Hello);
                hello.token
            }
            Ok(
                message @ (ClientMessage::Location(_)
                | ClientMessage::GoAvailable(_)
                | ClientMessage::GoUnavailable
                | ClientMessage::RequestConnection(_)
                | ClientMessage::Respond(_)
                | ClientMessage::CancelRequest(_)
                | ClientMessage::Ping
                | ClientMessage::Block(_)
                | ClientMessage::Reauth(_)
                | ClientMessage::Chat(_)
                | ClientMessage::EndConnection(_)),
            ) => {
                crate::metrics::ws_message_received(message.message_type());
                let refusal = (
                    ErrorCode::NotAuthenticated,
                    "send hello with your access token first".to_owned(),
                );
                return Err(refuse_frame(sink, refusal, frame_format).await);
            }
            Err(error) => {
                let refusal = (error.error_code(), error.message());
                return Err(refuse_frame(sink, refusal, frame_format).await);
            }
        };
        return match services.authenticator.check_token(&token).await {
            Ok(caller) => Ok(caller),
            Err(AuthFailure::Rejected) => {
                tracing::debug!("hello token refused");
                Err(refuse(
                    sink,
                    ConnectionOutcome::Unauthorized,
                    CloseCode::Unauthorized,
                )
                .await)
            }
            Err(AuthFailure::Unavailable) => Err(refuse(
                sink,
                ConnectionOutcome::AuthUnavailable,
                CloseCode::GoingAway,
            )
            .await),
        };
    }
}

/// Answers a first frame that is not a valid `hello` with an `error` (code and
/// message), then closes with 4001.
async fn refuse_frame<W>(
    sink: &mut W,
    (code, message): (ErrorCode, String),
    format: WireFormat,
) -> SocketEnd
where
    W: Sink<Message> + Unpin,
    W::Error: Display,
{
    crate::metrics::ws_frame_rejected(code);
    let refusal = ServerMessage::Error { code, message };
    if write_message(sink, &refusal, format).await.is_err() {
        return abandoned(SocketEnd::ConnectionLost);
    }
    refuse(
        sink,
        ConnectionOutcome::Unauthorized,
        CloseCode::Unauthorized,
    )
    .await
}

/// Records `outcome` and closes with `code`.
async fn refuse<W>(sink: &mut W, outcome: ConnectionOutcome, code: CloseCode) -> SocketEnd
where
    W: Sink<Message> + Unpin,
    W::Error: Display,
{
    crate::metrics::ws_connection(outcome);
    if send_close(sink, code).await.is_err() {
        tracing::debug!(code = code.code(), "close frame not delivered");
    }
    SocketEnd::Server(code)
}

/// The client went away before authenticating.
fn abandoned(end: SocketEnd) -> SocketEnd {
    crate::metrics::ws_connection(ConnectionOutcome::Abandoned);
    end
}
