//! The `GET /v1/ws` handler. It refuses web origins that are not allowed
//! ([`check_origin`]), authenticates from `Authorization: Bearer` when
//! the header is present (refusing with a JSON 401/503 before upgrading, and
//! with 429 when the account opened too many sockets this minute), otherwise
//! takes one of the client address's pending slots (429 when it holds its
//! `http.max_pending_sockets_per_ip`), picks
//! the starting format from the subprotocol (`heyblue.v1.msgpack` preferred over
//! `heyblue.v1.json` when both are offered), sizes the WebSocket buffers for many
//! idle sockets, and runs the socket in a tracked task with its own span. Query
//! strings are never read: tokens do not go in URLs.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use futures::StreamExt;
use futures::stream::{SplitSink, SplitStream};
use tokio::time::Instant;
use tracing::Instrument;

use super::auth::{AuthFailure, classify};
use super::origin::check_origin;
use super::outcome::ConnectionOutcome;
use super::reader::SocketLimits;
use super::socket::{Admission, SocketServices, SocketSetup, run_socket};
use crate::gateway::AppState;
use crate::gateway::address_slots::AddressSlot;
use crate::gateway::bearer::bearer_token;
use crate::gateway::client_address::ClientAddress;
use crate::gateway::error::ApiError;
use crate::identity::Authenticated;
use crate::proto::limits::{HELLO_TIMEOUT_SECONDS, TRANSPORT_MAX_MESSAGE_BYTES};
use crate::proto::{SUBPROTOCOL_JSON, SUBPROTOCOL_MESSAGE_PACK, WireFormat};

/// Read buffer per socket, in bytes. The library's default (128 KiB) would cost
/// 100+ KB per idle socket, and the buffer stays allocated for the socket's life.
/// 1 KiB holds any ordinary message (a `location` is ~65 bytes) and several queued
/// ones in one read; a larger frame still arrives (the library reserves room for
/// the whole frame once its header is read). 4 KiB cost 3 KiB more per idle
/// session (`docs/benchmarks.md`).
const READ_BUFFER_BYTES: usize = 1024;

/// Write buffer target: 0 writes each frame through at once instead of batching,
/// so no buffer lingers on idle sockets (our frames are small and few).
const WRITE_BUFFER_BYTES: usize = 0;

/// Source of connection ids: unique within the process, never reused.
static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

/// `GET /v1/ws`.
pub(crate) async fn upgrade(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    check_origin(&headers, &state.config.http.allowed_origins)?;
    let upgrade = upgrade.map_err(|rejection| {
        ApiError::new(
            rejection.status(),
            "websocket_upgrade_required",
            "this endpoint only accepts WebSocket upgrades",
        )
    })?;
    let admission = if headers.contains_key(header::AUTHORIZATION) {
        let caller = authenticate_header(&state, &headers).await?;
        admit_account(&state, &caller)?;
        Admission::Authenticated(caller)
    } else {
        Admission::AwaitHello(admit_pending(&state, client)?)
    };
    let upgrade = upgrade
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        // Frames and messages up to the transport cap reach the codec, which
        // answers anything over MAX_FRAME_BYTES with `frame_too_large`; beyond the
        // cap the library refuses to buffer and the socket closes with 1009.
        .max_message_size(TRANSPORT_MAX_MESSAGE_BYTES)
        .max_frame_size(TRANSPORT_MAX_MESSAGE_BYTES)
        .protocols([SUBPROTOCOL_MESSAGE_PACK, SUBPROTOCOL_JSON]);
    let initial_format = upgrade
        .selected_protocol()
        .and_then(|protocol| protocol.to_str().ok())
        .and_then(WireFormat::from_subprotocol)
        .unwrap_or(WireFormat::Json);
    let setup = SocketSetup {
        connection_id: NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed),
        admission,
        initial_format,
    };
    let services = SocketServices {
        hub: state.hub.clone(),
        authenticator: state.identity.clone(),
        clock: state.clock,
        shutdown: state.sockets.shutdown_token(),
        limits: SocketLimits::from_config(&state.config.presence),
        budgets: state.account_budgets.clone(),
    };
    // A root span: the socket outlives the upgrade request. `role` is recorded once
    // the socket is authenticated; no token and no account-identifying field.
    let span = tracing::info_span!(
        parent: None,
        "ws",
        connection_id = setup.connection_id,
        role = tracing::field::Empty
    );
    let sockets = state.sockets.clone();
    let upgrade = upgrade.on_failed_upgrade(|error| {
        tracing::debug!(%error, "websocket upgrade failed");
    });
    // Boxed: axum keeps the callback's captures for the socket's whole life.
    let captured = Box::new((setup, services, span, sockets));
    Ok(upgrade.on_upgrade(move |socket| {
        let (setup, services, span, sockets) = *captured;
        let (sink, stream) = socket.split();
        sockets.track(run_socket_quietly(sink, stream, setup, services).instrument(span))
    }))
}

/// Counts the socket against the account's sockets per minute; 429 beyond.
fn admit_account(state: &AppState, caller: &Authenticated) -> Result<(), ApiError> {
    state
        .account_budgets
        .try_connect(caller.account_id, Instant::now())
        .map_err(|wait| {
            crate::metrics::ws_connection(ConnectionOutcome::TooManyConnects);
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_connects",
                format!(
                    "this account opened {} sockets in the last minute, retry later",
                    state.config.presence.sockets_per_account_per_minute
                ),
            )
            .retry_after(wait.as_secs().max(1))
        })
}

/// A pending slot of the client's address; 429 when it holds them all.
fn admit_pending(state: &AppState, client: IpAddr) -> Result<AddressSlot, ApiError> {
    state.pending_sockets.try_admit(client).ok_or_else(|| {
        crate::metrics::ws_connection(ConnectionOutcome::TooManyPending);
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_pending_sockets",
            "too many sockets from this address are waiting to send hello",
        )
        .retry_after(HELLO_TIMEOUT_SECONDS)
    })
}

/// `run_socket` without its result (the upgrade callback returns `()`).
fn run_socket_quietly(
    sink: SplitSink<WebSocket, Message>,
    stream: SplitStream<WebSocket>,
    setup: SocketSetup,
    services: SocketServices,
) -> impl std::future::Future<Output = ()> {
    futures::FutureExt::map(run_socket(sink, stream, setup, services), drop)
}

/// The caller of an upgrade that carries `Authorization`; a bad header or token
/// is refused before upgrading.
async fn authenticate_header(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Authenticated, ApiError> {
    let token = bearer_token(headers).inspect_err(|_| {
        crate::metrics::ws_connection(ConnectionOutcome::Unauthorized);
    })?;
    state.identity.authenticate(token).await.map_err(|error| {
        let outcome = match classify(&error) {
            AuthFailure::Rejected => ConnectionOutcome::Unauthorized,
            AuthFailure::Unavailable => ConnectionOutcome::AuthUnavailable,
        };
        crate::metrics::ws_connection(outcome);
        ApiError::from(error)
    })
}
