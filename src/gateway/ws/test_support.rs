//! Drives [`run_socket`] with channels instead of a network socket: frames from the
//! "client" go in through an unbounded channel, frames from the server come out of
//! a bounded one (its capacity decides whether the writer can block), and a fake
//! hub and authenticator stand in for sessions and the store. Tests run on paused
//! tokio time, so every timer is exact and nothing sleeps for real.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::extract::ws::Message;
use futures::channel::mpsc as futures_mpsc;
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::account_budgets::AccountBudgets;
use super::auth::{AuthFailure, TokenAuthenticator};
use super::outcome::SocketEnd;
use super::reader::SocketLimits;
use super::socket::{Admission, SocketServices, SocketSetup, run_socket};
use crate::clock::Clock;
use crate::domain::{AccountId, Role};
use crate::gateway::address_slots::AddressSlots;
use crate::identity::Authenticated;
use crate::presence::hub::{AttachError, SessionHub, SessionInbox};
use crate::presence::outbound::OutboundSender;
use crate::proto::{ClientMessage, ServerMessage, WireFormat, decode_server};

/// The token the fake authenticator accepts.
pub(super) const GOOD_TOKEN: &str = "hbat_good_token";
/// A token whose check fails as if the store were down.
pub(super) const STORE_DOWN_TOKEN: &str = "hbat_store_down";
/// Wall clock of the fake server at the start of every test.
pub(super) const START_MS: i64 = 1_767_225_600_000;

/// The account every test socket belongs to.
pub(super) fn caller() -> Authenticated {
    Authenticated {
        account_id: AccountId(Uuid::from_u128(0x3b2f_9c1e_8d4a_4f7b_a6c5_1e2d_3f4a_5b6c)),
        role: Role::Citizen,
        family_id: Uuid::from_u128(7),
        expires_at_ms: START_MS + 3_600_000,
    }
}

/// A token of the same sign-in that expires an hour later than [`caller`]'s.
pub(super) const RENEWED_TOKEN: &str = "hbat_renewed_token";
/// A valid token of another account.
pub(super) const OTHER_ACCOUNT_TOKEN: &str = "hbat_other_account";

/// Accepts [`GOOD_TOKEN`], fails [`STORE_DOWN_TOKEN`] as unavailable, rejects the rest.
#[derive(Debug)]
struct FakeAuthenticator;

#[async_trait]
impl TokenAuthenticator for FakeAuthenticator {
    async fn check_token(&self, token: &str) -> Result<Authenticated, AuthFailure> {
        match token {
            GOOD_TOKEN => Ok(caller()),
            RENEWED_TOKEN => Ok(Authenticated {
                expires_at_ms: caller().expires_at_ms + 3_600_000,
                ..caller()
            }),
            OTHER_ACCOUNT_TOKEN => Ok(Authenticated {
                account_id: AccountId(Uuid::from_u128(99)),
                ..caller()
            }),
            STORE_DOWN_TOKEN => Err(AuthFailure::Unavailable),
            _ => Err(AuthFailure::Rejected),
        }
    }
}

/// What the fake session saw; shared by the hub, the inbox and the test.
#[derive(Debug, Default)]
pub(super) struct SessionProbe {
    /// `deliver` answers this negated (false: the session is gone).
    pub(super) gone: AtomicBool,
    /// `detach` calls.
    pub(super) detach_calls: AtomicUsize,
    /// `attach` calls.
    pub(super) attach_calls: AtomicUsize,
    /// The socket's outbound link, once attached (the test pushes through it).
    pub(super) outbound: Mutex<Option<OutboundSender>>,
}

/// Attaches every socket to a fake session (or refuses them all).
#[derive(Debug)]
struct FakeHub {
    /// Refuse every attach.
    refuse: bool,
    /// Pushed by the "session" during attach, before `welcome` is written.
    pushes_on_attach: Vec<ServerMessage>,
    /// Shared with the test.
    probe: Arc<SessionProbe>,
    /// Delivered messages go here.
    delivered: mpsc::UnboundedSender<ClientMessage>,
}

#[async_trait]
impl SessionHub for FakeHub {
    async fn attach(
        &self,
        attached: Authenticated,
        outbound: OutboundSender,
    ) -> Result<Box<dyn SessionInbox>, AttachError> {
        assert_eq!(attached, caller());
        self.probe.attach_calls.fetch_add(1, Ordering::SeqCst);
        if self.refuse {
            return Err(AttachError::ShuttingDown);
        }
        for push in &self.pushes_on_attach {
            outbound.send(push.clone()).unwrap();
        }
        *self.probe.outbound.lock().unwrap() = Some(outbound);
        Ok(Box::new(FakeInbox {
            probe: self.probe.clone(),
            delivered: self.delivered.clone(),
        }))
    }
}

/// The fake session's inbox.
#[derive(Debug)]
struct FakeInbox {
    /// Shared with the test.
    probe: Arc<SessionProbe>,
    /// Delivered messages go here.
    delivered: mpsc::UnboundedSender<ClientMessage>,
}

impl SessionInbox for FakeInbox {
    fn deliver(&self, message: ClientMessage) -> bool {
        if self.probe.gone.load(Ordering::SeqCst) {
            return false;
        }
        self.delivered.send(message).is_ok()
    }

    fn detach(&self) {
        self.probe.detach_calls.fetch_add(1, Ordering::SeqCst);
    }
}

/// How a test socket starts.
#[derive(Debug)]
pub(super) struct Options {
    /// Authenticated by header, or waiting for `hello`.
    pub(super) header_auth: bool,
    /// Format selected by the subprotocol.
    pub(super) initial_format: WireFormat,
    /// The hub refuses the socket.
    pub(super) refuse_attach: bool,
    /// Frames the server can write before a write blocks (the test not reading).
    pub(super) sink_capacity: usize,
    /// Pushed by the session during attach.
    pub(super) pushes_on_attach: Vec<ServerMessage>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            header_auth: true,
            initial_format: WireFormat::Json,
            refuse_attach: false,
            sink_capacity: 1024,
            pushes_on_attach: Vec::new(),
        }
    }
}

/// A socket under test and both ends of its "network".
#[derive(Debug)]
pub(super) struct Harness {
    /// Frames from the client (an `Err` simulates a read error).
    pub(super) client: futures_mpsc::UnboundedSender<Result<Message, axum::Error>>,
    /// Frames the server wrote.
    pub(super) server_frames: futures_mpsc::Receiver<Message>,
    /// Messages the session received.
    pub(super) delivered: mpsc::UnboundedReceiver<ClientMessage>,
    /// The fake session's view.
    pub(super) probe: Arc<SessionProbe>,
    /// The server's shutdown signal.
    pub(super) shutdown: CancellationToken,
    /// The socket task.
    pub(super) socket: JoinHandle<SocketEnd>,
    /// When the socket started.
    pub(super) started: Instant,
}

impl Harness {
    /// Starts a socket with `options`.
    pub(super) fn start(options: Options) -> Self {
        let (client, client_frames) = futures_mpsc::unbounded();
        let (sink, server_frames) = futures_mpsc::channel(options.sink_capacity);
        let (delivered_sender, delivered) = mpsc::unbounded_channel();
        let probe = Arc::new(SessionProbe::default());
        let shutdown = CancellationToken::new();
        let services = SocketServices {
            hub: Arc::new(FakeHub {
                refuse: options.refuse_attach,
                pushes_on_attach: options.pushes_on_attach,
                probe: probe.clone(),
                delivered: delivered_sender,
            }),
            authenticator: Arc::new(FakeAuthenticator),
            clock: Clock::starting_at(START_MS),
            shutdown: shutdown.clone(),
            limits: SocketLimits::default(),
            budgets: Arc::new(AccountBudgets::new(
                crate::proto::limits::CONTROL_MESSAGES_PER_MINUTE,
                crate::proto::limits::ERRORS_PER_MINUTE_BEFORE_CLOSE,
                crate::proto::limits::SOCKETS_PER_ACCOUNT_PER_MINUTE,
            )),
        };
        let setup = SocketSetup {
            connection_id: 1,
            admission: if options.header_auth {
                Admission::Authenticated(caller())
            } else {
                let pending = AddressSlots::new(1);
                Admission::AwaitHello(pending.try_admit(Ipv4Addr::LOCALHOST.into()).unwrap())
            },
            initial_format: options.initial_format,
        };
        let started = Instant::now();
        let socket = tokio::spawn(run_socket(sink, client_frames, setup, services));
        Self {
            client,
            server_frames,
            delivered,
            probe,
            shutdown,
            socket,
            started,
        }
    }

    /// Starts a header-authenticated socket and reads its `welcome`.
    pub(super) async fn attached() -> Self {
        let mut harness = Self::start(Options::default());
        let welcome = harness.next_message().await;
        assert!(
            matches!(welcome, ServerMessage::Welcome { .. }),
            "{welcome:?}"
        );
        harness
    }

    /// Time since the socket started.
    pub(super) fn elapsed_ms(&self) -> u128 {
        self.started.elapsed().as_millis()
    }

    /// The client sends `frame`.
    pub(super) async fn send(&mut self, frame: Message) {
        self.client.send(Ok(frame)).await.unwrap();
    }

    /// The client sends `value` as a JSON text frame.
    pub(super) async fn send_json(&mut self, value: Value) {
        self.send(Message::Text(value.to_string().into())).await;
    }

    /// The client sends `value` as a MessagePack binary frame.
    pub(super) async fn send_msgpack(&mut self, value: Value) {
        let bytes = rmp_serde::to_vec_named(&value).unwrap();
        self.send(Message::Binary(bytes.into())).await;
    }

    /// The client's read half fails with `error`.
    pub(super) async fn fail_read(&mut self, error: axum::Error) {
        self.client.send(Err(error)).await.unwrap();
    }

    /// The next frame the server wrote; `None` once the writer let go of the sink.
    pub(super) async fn next_frame(&mut self) -> Option<Message> {
        self.server_frames.next().await
    }

    /// The next non-ping frame, decoded, with its format.
    pub(super) async fn next_message_with_format(&mut self) -> (WireFormat, ServerMessage) {
        loop {
            match self.next_frame().await {
                Some(Message::Text(text)) => {
                    let message = decode_server(WireFormat::Json, text.as_str().as_bytes());
                    return (WireFormat::Json, message.unwrap());
                }
                Some(Message::Binary(bytes)) => {
                    let message = decode_server(WireFormat::MessagePack, &bytes);
                    return (WireFormat::MessagePack, message.unwrap());
                }
                Some(Message::Ping(_)) => {}
                other => panic!("expected a message, got {other:?}"),
            }
        }
    }

    /// The next non-ping frame, decoded.
    pub(super) async fn next_message(&mut self) -> ServerMessage {
        self.next_message_with_format().await.1
    }

    /// The `error` code of the next message.
    pub(super) async fn next_error_code(&mut self) -> &'static str {
        match self.next_message().await {
            ServerMessage::Error { code, .. } => code.as_str(),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    /// The next non-ping frame must be a Close frame: its code and reason.
    pub(super) async fn next_close(&mut self) -> (u16, String) {
        loop {
            match self.next_frame().await {
                Some(Message::Close(Some(frame))) => {
                    return (frame.code, frame.reason.as_str().to_owned());
                }
                Some(Message::Ping(_)) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    }

    /// Waits for the socket task to end.
    pub(super) async fn end(&mut self) -> SocketEnd {
        (&mut self.socket).await.unwrap()
    }

    /// `detach` calls so far.
    pub(super) fn detach_calls(&self) -> usize {
        self.probe.detach_calls.load(Ordering::SeqCst)
    }

    /// `attach` calls so far.
    pub(super) fn attach_calls(&self) -> usize {
        self.probe.attach_calls.load(Ordering::SeqCst)
    }

    /// The session pushes `message` through the socket's outbound link.
    pub(super) fn push(
        &self,
        message: ServerMessage,
    ) -> Result<(), crate::presence::outbound::OutboundError> {
        self.outbound().send(message)
    }

    /// The socket's outbound link, as the session holds it.
    pub(super) fn outbound(&self) -> OutboundSender {
        self.probe
            .outbound
            .lock()
            .unwrap()
            .clone()
            .expect("the socket is attached")
    }

    /// Whether the session has nothing more delivered right now.
    pub(super) fn nothing_delivered(&mut self) -> bool {
        self.delivered.try_recv().is_err()
    }
}
