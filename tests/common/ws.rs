//! A WebSocket client for tests: connects with a Bearer header or a `hello` frame,
//! speaks JSON or MessagePack, and reads frames with a deadline.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Bytes, Message};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How frames are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    MessagePack,
}

/// Yields a paused-clock read may take before giving up (the server answers
/// within a few hundred).
const PAUSED_READ_SPINS: usize = 100_000;

/// One client socket.
pub(crate) struct WsClient {
    socket: Socket,
    format: Format,
    /// Every server message received, in order (for privacy checks).
    pub(crate) received: Vec<Value>,
    /// Messages read while waiting for a `pong`, not yet handed out.
    pending: std::collections::VecDeque<Value>,
}

/// An upgrade the server refused.
#[derive(Debug)]
pub(crate) struct Refused {
    /// The HTTP status.
    pub(crate) status: u16,
    /// Seconds of its `Retry-After` header, if any.
    pub(crate) retry_after: Option<u64>,
}

/// What reading a frame found.
#[derive(Debug)]
pub(crate) enum Frame {
    Message(Value),
    Closed(Option<u16>),
    Nothing,
}

impl WsClient {
    /// Connects to `ws_url`, authenticating with a Bearer header when given.
    pub(crate) async fn connect(
        ws_url: &str,
        bearer: Option<&str>,
        format: Format,
    ) -> Result<Self, u16> {
        let request = upgrade_request(ws_url, bearer, format);
        let connected = tokio_tungstenite::connect_async(request).await;
        Self::upgraded(connected, format).map_err(|refused| refused.status)
    }

    /// Connects from the loopback address `source` (each one a different client
    /// to the server's per-address limits).
    pub(crate) async fn connect_from(
        source: IpAddr,
        ws_url: &str,
        bearer: Option<&str>,
        format: Format,
    ) -> Result<Self, Refused> {
        let request = upgrade_request(ws_url, bearer, format);
        let uri = request.uri();
        let server = format!("{}:{}", uri.host().unwrap(), uri.port_u16().unwrap());
        let tcp = tokio::net::TcpSocket::new_v4().unwrap();
        tcp.bind(SocketAddr::new(source, 0)).unwrap();
        let stream = tcp.connect(server.parse().unwrap()).await.unwrap();
        let connected = tokio_tungstenite::client_async(
            request,
            tokio_tungstenite::MaybeTlsStream::Plain(stream),
        )
        .await;
        Self::upgraded(connected, format)
    }

    fn upgraded<R>(
        connected: Result<(Socket, R), tokio_tungstenite::tungstenite::Error>,
        format: Format,
    ) -> Result<Self, Refused> {
        match connected {
            Ok((socket, _response)) => Ok(Self {
                socket,
                format,
                received: Vec::new(),
                pending: std::collections::VecDeque::new(),
            }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(Refused {
                status: response.status().as_u16(),
                retry_after: response
                    .headers()
                    .get("retry-after")
                    .and_then(|value| value.to_str().ok()?.parse().ok()),
            }),
            Err(error) => panic!("websocket connect failed: {error}"),
        }
    }

    /// Sends a message map.
    pub(crate) async fn send(&mut self, message: Value) {
        let frame = match self.format {
            Format::Json => Message::Text(message.to_string().into()),
            Format::MessagePack => {
                Message::Binary(Bytes::from(rmp_serde::to_vec_named(&message).unwrap()))
            }
        };
        self.socket.send(frame).await.unwrap();
    }

    /// Sends raw frame bytes (for malformed input).
    pub(crate) async fn send_raw(&mut self, frame: Message) {
        self.socket.send(frame).await.unwrap();
    }

    /// Shows the server the client is alive (as an app does while idle): sends
    /// `ping` and reads up to its `pong`, keeping other messages for later. Meant
    /// for a paused clock, which it does not move while waiting.
    pub(crate) async fn keep_alive(&mut self) {
        self.send(serde_json::json!({ "t": "ping" })).await;
        loop {
            match self.read_frame_on_paused_clock().await {
                Frame::Message(message) if message["t"] == "pong" => return,
                Frame::Message(message) => self.pending.push_back(message),
                other => panic!("socket ended while idle: {other:?}"),
            }
        }
    }

    /// The next server message, close, or nothing within `wait`.
    pub(crate) async fn next_within(&mut self, wait: Duration) -> Frame {
        if let Some(message) = self.pending.pop_front() {
            return Frame::Message(message);
        }
        self.read_frame(wait).await
    }

    async fn read_frame(&mut self, wait: Duration) -> Frame {
        loop {
            let next = match tokio::time::timeout(wait, self.socket.next()).await {
                Err(_) => return Frame::Nothing,
                Ok(next) => next,
            };
            if let Some(frame) = self.frame_of(next) {
                return frame;
            }
        }
    }

    /// Reads the next frame without letting a paused clock move: a timeout
    /// would jump ahead while the answer is still on its way through the
    /// kernel, whereas a task that keeps yielding keeps the clock still and
    /// lets the I/O driver deliver it.
    async fn read_frame_on_paused_clock(&mut self) -> Frame {
        for _ in 0..PAUSED_READ_SPINS {
            if let Some(next) = futures::FutureExt::now_or_never(self.socket.next())
                && let Some(frame) = self.frame_of(next)
            {
                return frame;
            }
            tokio::task::yield_now().await;
        }
        Frame::Nothing
    }

    /// What a read found; `None` for control frames.
    fn frame_of(
        &mut self,
        next: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> Option<Frame> {
        match next {
            None | Some(Err(_)) => Some(Frame::Closed(None)),
            Some(Ok(Message::Close(frame))) => {
                Some(Frame::Closed(frame.map(|frame| u16::from(frame.code))))
            }
            Some(Ok(Message::Text(text))) => {
                assert_eq!(self.format, Format::Json, "answered in the client's format");
                let value: Value = serde_json::from_str(&text).unwrap();
                self.received.push(value.clone());
                Self::unless_cadence(value)
            }
            Some(Ok(Message::Binary(bytes))) => {
                assert_eq!(
                    self.format,
                    Format::MessagePack,
                    "answered in the client's format"
                );
                let value: Value = rmp_serde::from_slice(&bytes).unwrap();
                self.received.push(value.clone());
                Self::unless_cadence(value)
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => None,
        }
    }

    /// A message, except `cadence`: it arrives on connect and whenever a
    /// session's class changes, beside whatever flow a test follows, so reads
    /// pass over it (it stays in `received`).
    fn unless_cadence(value: Value) -> Option<Frame> {
        if value["t"] == "cadence" {
            return None;
        }
        Some(Frame::Message(value))
    }

    /// The next server message, failing the test otherwise.
    pub(crate) async fn next_message(&mut self) -> Value {
        match self.next_within(Duration::from_secs(5)).await {
            Frame::Message(value) => value,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// The next message of type `kind`, skipping others.
    pub(crate) async fn next_of(&mut self, kind: &str) -> Value {
        for _ in 0..20 {
            let message = self.next_message().await;
            if message["t"] == kind {
                return message;
            }
        }
        panic!("no {kind} message arrived");
    }

    /// The close code the server sends next.
    pub(crate) async fn expect_close(&mut self) -> Option<u16> {
        loop {
            match self.next_within(Duration::from_secs(10)).await {
                Frame::Closed(code) => return code,
                Frame::Message(_) => {}
                Frame::Nothing => panic!("the server did not close the socket"),
            }
        }
    }

    /// Closes the socket from the client side.
    pub(crate) async fn close(mut self) {
        let _ = self
            .socket
            .close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
                code: CloseCode::Normal,
                reason: "bye".into(),
            }))
            .await;
    }
}

/// A `location` message.
pub(crate) fn location((lat, lng): (f64, f64)) -> Value {
    serde_json::json!({ "t": "location", "lat": lat, "lng": lng })
}

/// Reads `nearest` pushes until one satisfies `accept` (an officer's cell may
/// publish a moment after a citizen's first answer).
pub(crate) async fn nearest_until(client: &mut WsClient, accept: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..10 {
        let nearest = client.next_of("nearest").await;
        if accept(&nearest["officer"]) {
            return nearest["officer"].clone();
        }
    }
    panic!("no matching nearest answer");
}

/// The upgrade request: the subprotocol of `format`, and the Bearer header when given.
fn upgrade_request(
    ws_url: &str,
    bearer: Option<&str>,
    format: Format,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut request = ws_url.into_client_request().unwrap();
    if format == Format::MessagePack {
        // Pushes before the client's first frame (welcome) follow the subprotocol.
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "heyblue.v1.msgpack".parse().unwrap(),
        );
    }
    if let Some(token) = bearer {
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    request
}
