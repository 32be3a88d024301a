//! One simulated phone: opens its socket (from a spread-out loopback source
//! address, with the bearer header and the MessagePack subprotocol), waits for
//! `welcome`, and then runs one task that writes the frames the scheduler hands it
//! and reads pushes, checking every `nearest` against ground truth as it arrives.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Bytes, Message};

use super::change_latency::Received;
use super::movement::PersonKind;
use super::net::{connect_from, source_address};
use super::send_log::SendLog;
use super::stats::{Counters, Latencies, bump, lock, record};
use super::truth::{self, Answer, Rules, Verdict};
use super::world::World;
use crate::geo::LatLng;
use crate::privacy::ShownPosition;
use crate::proto::{
    ClientMessage, LocationUpdate, ServerMessage, WireFormat, decode_server, encode_client,
};

/// A client socket.
pub(crate) type Socket = WebSocketStream<TcpStream>;

/// Read buffer of each client socket: as small as the server's, so the bench's own
/// memory does not limit how many sockets a worker holds.
const CLIENT_READ_BUFFER_BYTES: usize = 4096;
/// How long the server may take to answer during setup (welcome, availability).
const SETUP_ANSWER_TIMEOUT: Duration = Duration::from_secs(15);
/// Frames queued per socket before the scheduler skips an update.
pub(crate) const OUTGOING_QUEUE: usize = 4;

/// One simulated person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Person {
    /// Officer or citizen.
    pub(crate) kind: PersonKind,
    /// Global index within its kind.
    pub(crate) index: u32,
}

/// What the scheduler hands a session.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// A `location` frame due at `scheduled_us`.
    Frame {
        /// Encoded MessagePack.
        bytes: Vec<u8>,
        /// The movement tick it belongs to.
        tick: u64,
        /// When it was due, Unix microseconds.
        scheduled_us: i64,
    },
    /// Close the socket and stop.
    Close,
}

/// One server sockets connect to.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    /// Its socket address.
    pub(crate) server: SocketAddr,
    /// Its WebSocket URL.
    pub(crate) ws_url: String,
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub(crate) struct Connector {
    /// The servers, taken round-robin by socket number (one, or a cluster's nodes).
    pub(crate) endpoints: Vec<Endpoint>,
    /// Loopback source addresses to spread sockets over.
    pub(crate) source_addresses: u32,
    /// Offer the MessagePack subprotocol (not to the echo server, which picks none).
    pub(crate) offer_message_pack: bool,
}

/// What every session of a worker shares.
#[derive(Debug)]
pub(crate) struct SessionContext {
    /// Counters reported to the coordinator.
    pub(crate) counters: Arc<Counters>,
    /// Histograms reported at the end.
    pub(crate) latencies: Arc<Latencies>,
    /// Ground truth (city only).
    pub(crate) world: Option<Arc<RwLock<World>>>,
    /// The server's nearest rules and the tolerance.
    pub(crate) rules: Rules,
    /// Every push each citizen received, in arrival order: the last one is the
    /// final check's answer, and all of them are timed against the truth changes.
    pub(crate) pushes: Mutex<std::collections::HashMap<u32, Vec<Received>>>,
    /// When each location frame was written, for the truth replay.
    pub(crate) sent: SendLog,
    /// Set once the worker closes its sockets: closes are no longer failures.
    pub(crate) finishing: AtomicBool,
    /// Talking to the echo baseline instead of a Hey Blue! node.
    pub(crate) echo: bool,
}

impl Connector {
    /// Opens socket number `socket_number`, authenticated with `bearer` when given.
    pub(crate) async fn open(
        &self,
        socket_number: u32,
        bearer: Option<&str>,
    ) -> Result<Socket, String> {
        let endpoint = self.endpoint(socket_number)?;
        let source = source_address(socket_number, self.source_addresses);
        let tcp = connect_from(source, endpoint.server)
            .await
            .map_err(|error| {
                format!("tcp connect from {source} to {}: {error}", endpoint.server)
            })?;
        let mut request = endpoint
            .ws_url
            .as_str()
            .into_client_request()
            .map_err(|error| format!("bad websocket url: {error}"))?;
        let headers = request.headers_mut();
        if self.offer_message_pack {
            headers.insert(
                "sec-websocket-protocol",
                http_value(crate::proto::SUBPROTOCOL_MESSAGE_PACK)?,
            );
        }
        if let Some(token) = bearer {
            headers.insert("authorization", http_value(&format!("Bearer {token}"))?);
        }
        let config = WebSocketConfig::default()
            .read_buffer_size(CLIENT_READ_BUFFER_BYTES)
            .write_buffer_size(0);
        let (socket, _response) =
            tokio_tungstenite::client_async_with_config(request, tcp, Some(config))
                .await
                .map_err(|error| format!("websocket upgrade: {error}"))?;
        Ok(socket)
    }

    /// The server socket `socket_number` goes to.
    fn endpoint(&self, socket_number: u32) -> Result<&Endpoint, String> {
        let position = usize::try_from(socket_number).unwrap_or(0) % self.endpoints.len().max(1);
        self.endpoints
            .get(position)
            .ok_or_else(|| "no server to connect to".to_owned())
    }
}

fn http_value(text: &str) -> Result<tokio_tungstenite::tungstenite::http::HeaderValue, String> {
    text.parse()
        .map_err(|_| "header value is not valid".to_owned())
}

/// Sends one frame.
pub(crate) async fn send(socket: &mut Socket, bytes: Vec<u8>) -> Result<(), String> {
    socket
        .send(Message::Binary(Bytes::from(bytes)))
        .await
        .map_err(|error| format!("send failed: {error}"))
}

/// Reads server messages until `wanted` accepts one, within the setup timeout.
pub(crate) async fn wait_for(
    socket: &mut Socket,
    what: &str,
    wanted: impl Fn(&ServerMessage) -> bool,
) -> Result<ServerMessage, String> {
    let deadline = tokio::time::Instant::now() + SETUP_ANSWER_TIMEOUT;
    loop {
        let next = tokio::time::timeout_at(deadline, socket.next())
            .await
            .map_err(|_| format!("no {what} within {} s", SETUP_ANSWER_TIMEOUT.as_secs()))?;
        let bytes = match next {
            Some(Ok(Message::Binary(bytes))) => bytes,
            Some(Ok(Message::Text(text))) => Bytes::from(text.as_bytes().to_vec()),
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
            Some(Ok(Message::Close(frame))) => {
                return Err(format!("closed while waiting for {what}: {frame:?}"));
            }
            Some(Err(error)) => return Err(format!("socket failed waiting for {what}: {error}")),
            None => return Err(format!("socket ended waiting for {what}")),
        };
        let message = decode_server(WireFormat::MessagePack, &bytes)
            .or_else(|_| decode_server(WireFormat::Json, &bytes))
            .map_err(|error| format!("undecodable frame: {error}"))?;
        if wanted(&message) {
            return Ok(message);
        }
    }
}

/// Reads one echoed frame (echo baseline setup).
pub(crate) async fn wait_for_echo(socket: &mut Socket) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + SETUP_ANSWER_TIMEOUT;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => return Err("no echo".to_owned()),
            Ok(Some(Ok(Message::Binary(_) | Message::Text(_)))) => return Ok(()),
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)))) => {}
            Ok(Some(Ok(Message::Close(_))) | None) => {
                return Err("closed before the echo".to_owned());
            }
            Ok(Some(Err(error))) => return Err(format!("echo failed: {error}")),
        }
    }
}

/// The session task: writes queued frames, reads and checks pushes, until told to
/// close or the socket ends.
pub(crate) async fn run(
    mut socket: Socket,
    person: Person,
    mut outgoing: mpsc::Receiver<Outgoing>,
    context: Arc<SessionContext>,
) {
    let mut previous_answer: Option<Answer> = None;
    let mut echo_pending: VecDeque<i64> = VecDeque::new();
    loop {
        tokio::select! {
            command = outgoing.recv() => match command {
                Some(Outgoing::Frame { bytes, tick, scheduled_us }) => {
                    let written_us = unix_now_us();
                    if send(&mut socket, bytes).await.is_err() {
                        note_drop(&context);
                        return;
                    }
                    context.sent.record(person, tick, written_us);
                    bump(&context.counters.updates_sent);
                    record(&context.latencies.send_lateness_us, written_us - scheduled_us);
                    if context.echo {
                        echo_pending.push_back(written_us);
                    }
                }
                Some(Outgoing::Close) | None => {
                    let _close_result_irrelevant = socket.close(None).await;
                    context.counters.open.fetch_sub(1, Ordering::Relaxed);
                    return;
                }
            },
            frame = socket.next() => {
                let received_us = unix_now_us();
                let bytes = match frame {
                    Some(Ok(Message::Binary(bytes))) => bytes,
                    Some(Ok(Message::Text(text))) => Bytes::from(text.as_bytes().to_vec()),
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                    Some(Ok(Message::Close(_)) | Err(_)) | None => {
                        note_drop(&context);
                        return;
                    }
                };
                if context.echo {
                    if let Some(written_us) = echo_pending.pop_front() {
                        bump(&context.counters.echoed);
                        record(&context.latencies.echo_us, received_us - written_us);
                    }
                    continue;
                }
                on_frame(&context, person, &bytes, received_us, &mut previous_answer);
            }
        }
    }
}

fn note_drop(context: &SessionContext) {
    context.counters.open.fetch_sub(1, Ordering::Relaxed);
    if !context.finishing.load(Ordering::Relaxed) {
        bump(&context.counters.dropped);
    }
}

fn on_frame(
    context: &SessionContext,
    person: Person,
    bytes: &[u8],
    received_us: i64,
    previous_answer: &mut Option<Answer>,
) {
    let message = match decode_server(WireFormat::MessagePack, bytes)
        .or_else(|_| decode_server(WireFormat::Json, bytes))
    {
        Ok(message) => message,
        Err(error) => {
            bump(&context.counters.server_errors);
            context
                .latencies
                .keep_wrong(format!("undecodable server frame: {error}"));
            return;
        }
    };
    match message {
        ServerMessage::Nearest { officer } => {
            bump(&context.counters.pushes);
            if person.kind == PersonKind::Citizen {
                let answer = match officer {
                    None => Answer {
                        officer: None,
                        shown_cell: None,
                    },
                    Some(view) => match truth::officer_index(&view.display_name) {
                        Some(index) => Answer {
                            officer: Some((index, view.distance_band_m)),
                            shown_cell: LatLng::new(view.approx_lat, view.approx_lng)
                                .ok()
                                .map(|shown| ShownPosition::of(shown).cell()),
                        },
                        None => {
                            bump(&context.counters.wrong);
                            context.latencies.keep_wrong(format!(
                                "citizen {} was shown unknown officer {:?}",
                                person.index, view.display_name
                            ));
                            return;
                        }
                    },
                };
                judge(context, person.index, received_us, answer, *previous_answer);
                *previous_answer = Some(answer);
            }
        }
        ServerMessage::Nearby { .. } => bump(&context.counters.nearby),
        ServerMessage::Error { code, message } => {
            bump(&context.counters.server_errors);
            context
                .latencies
                .keep_wrong(format!("server error {}: {message}", code.as_str()));
        }
        ServerMessage::AvailabilityEnded { reason } => {
            bump(&context.counters.server_errors);
            context.latencies.keep_wrong(format!(
                "officer {} availability ended: {reason:?}",
                person.index
            ));
        }
        ServerMessage::Welcome { .. }
        | ServerMessage::Cadence { .. }
        | ServerMessage::Chat { .. }
        | ServerMessage::ConnectionEnded { .. }
        | ServerMessage::Availability { .. }
        | ServerMessage::ConnectionRequested { .. }
        | ServerMessage::RequestUpdate { .. }
        | ServerMessage::ConnectionEstablished { .. }
        | ServerMessage::Points { .. }
        | ServerMessage::Trophy { .. }
        | ServerMessage::CitizenBlocked { .. }
        | ServerMessage::TokenExpiring { .. }
        | ServerMessage::Reauthenticated { .. }
        | ServerMessage::Pong => {}
    }
}

/// Checks an answer against ground truth and records the verdict.
fn judge(
    context: &SessionContext,
    citizen: u32,
    received_us: i64,
    answer: Answer,
    previous: Option<Answer>,
) {
    if let Some(world) = &context.world {
        let verdict = {
            let needed = read(world).tick_needed_at(received_us);
            if !read(world).has_tick(needed) {
                write(world).advance_to(needed);
            }
            truth::check(
                &read(world),
                &context.rules,
                citizen,
                received_us,
                answer,
                previous,
            )
        };
        match verdict {
            Verdict::Correct(Some(cause)) => {
                bump(&context.counters.correct);
                let histogram = match cause.mover {
                    PersonKind::Officer => &context.latencies.officer_move_us,
                    PersonKind::Citizen => &context.latencies.citizen_move_us,
                };
                record(histogram, cause.latency_us);
            }
            Verdict::Correct(None) => {
                bump(&context.counters.correct);
                bump(&context.counters.unattributed);
            }
            Verdict::Stale => bump(&context.counters.stale),
            Verdict::Wrong(reason) => {
                bump(&context.counters.wrong);
                context
                    .latencies
                    .keep_wrong(format!("citizen {citizen}: {reason}"));
            }
        }
    }
    lock(&context.pushes)
        .entry(citizen)
        .or_default()
        .push(Received {
            at_us: received_us,
            answer,
        });
}

/// Read access to the world, taking over a poisoned lock.
pub(crate) fn read(world: &RwLock<World>) -> std::sync::RwLockReadGuard<'_, World> {
    world
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Write access to the world, taking over a poisoned lock.
pub(crate) fn write(world: &RwLock<World>) -> std::sync::RwLockWriteGuard<'_, World> {
    world
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A `location` frame (MessagePack) with `tick` as its sequence number.
pub(crate) fn location_frame(lat: f64, lng: f64, tick: u64) -> Result<Vec<u8>, String> {
    encode(&ClientMessage::Location(LocationUpdate {
        lat,
        lng,
        accuracy_m: None,
        seq: Some(tick),
    }))
}

/// A client message as a MessagePack frame.
pub(crate) fn encode(message: &ClientMessage) -> Result<Vec<u8>, String> {
    encode_client(message, WireFormat::MessagePack).map_err(|error| format!("encode: {error}"))
}

/// Sleeps until a Unix time (microseconds), never waking early; returns at once if
/// it has passed. Callers group sends by deadline so one wake serves many.
pub(crate) async fn sleep_until_unix(target_us: i64) {
    let wait_us = target_us - unix_now_us();
    if wait_us > 0 {
        let deadline = tokio::time::Instant::now()
            + Duration::from_micros(u64::try_from(wait_us).unwrap_or(0));
        tokio::time::sleep_until(deadline).await;
        // tokio's timer never fires early by its own clock; guard against the two
        // clocks disagreeing by a hair.
        while unix_now_us() < target_us {
            tokio::task::yield_now().await;
        }
    }
}

/// Now, Unix microseconds (shared by all processes of a run).
pub(crate) fn unix_now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_micros()).unwrap_or(i64::MAX)
        })
}
