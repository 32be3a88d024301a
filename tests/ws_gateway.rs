//! `GET /v1/ws` against a real server with a real WebSocket client: refusals before
//! the upgrade, the unauthenticated phase, the frame and transport size limits, the
//! subprotocol, and the Close frame at shutdown. (Sessions are not wired into
//! `serve()` yet; flows after `welcome` are covered by the socket loop's unit tests.)

mod common;

use std::time::Duration;

use common::TestServer;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, Request, header};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Upper bound for any single wait on the server (real time: this is a real server).
const WAIT: Duration = Duration::from_secs(10);

fn ws_request(server: &TestServer, path_and_query: &str) -> Request<()> {
    let url = format!(
        "{}{path_and_query}",
        server.base_url.replace("http://", "ws://")
    );
    url.into_client_request().unwrap()
}

async fn connect(request: Request<()>) -> Client {
    let (client, response) = connect_async(request).await.expect("upgrade accepted");
    assert_eq!(response.status(), 101);
    client
}

/// The next frame that is not a ping or pong.
async fn next_frame(client: &mut Client) -> Message {
    loop {
        let frame = tokio::time::timeout(WAIT, client.next())
            .await
            .expect("the server answers in time")
            .expect("the socket is open")
            .expect("the frame is readable");
        if !matches!(frame, Message::Ping(_) | Message::Pong(_)) {
            return frame;
        }
    }
}

async fn next_json(client: &mut Client) -> Value {
    match next_frame(client).await {
        Message::Text(text) => serde_json::from_str(text.as_str()).unwrap(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

/// The next frame must be a Close frame; answers it as a well-behaved client does
/// (the server waits briefly for that reply before dropping the connection).
async fn next_close(client: &mut Client) -> (u16, String) {
    let close = match next_frame(client).await {
        Message::Close(Some(frame)) => (frame.code.into(), frame.reason.as_str().to_owned()),
        other => panic!("expected a close frame, got {other:?}"),
    };
    // Sends the reply the library queued; the server may already be gone.
    client.flush().await.ok();
    close
}

#[tokio::test]
async fn an_unknown_bearer_token_is_refused_with_401_before_upgrading() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut request = ws_request(&server, "/v1/ws");
    request.headers_mut().insert(
        header::AUTHORIZATION,
        HeaderValue::from_static("Bearer hba_not_a_real_token"),
    );
    let Err(WsError::Http(response)) = connect_async(request).await else {
        panic!("the upgrade must be refused");
    };
    assert_eq!(response.status(), 401);
    let body: Value = serde_json::from_slice(response.body().as_deref().unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "invalid_token");
    server.stop().await;
}

#[tokio::test]
async fn a_plain_get_is_not_an_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let (status, code) =
        common::error_code(server.http.get(server.url("/v1/ws")).send().await.unwrap()).await;
    assert!((400..500).contains(&status), "{status}");
    assert_eq!(code, "websocket_upgrade_required");
    server.stop().await;
}

#[tokio::test]
async fn hello_with_a_bad_token_closes_with_4001_and_query_tokens_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let signed_in = server.sign_in("+12125550123").await;
    let access = signed_in["access_token"].as_str().unwrap();
    // A valid token in the URL authenticates nothing: the socket still needs hello.
    let mut client = connect(ws_request(
        &server,
        &format!("/v1/ws?access_token={access}"),
    ))
    .await;
    client
        .send(Message::text(
            json!({"t": "hello", "token": "hba_wrong"}).to_string(),
        ))
        .await
        .unwrap();
    assert_eq!(
        next_close(&mut client).await,
        (4001, "unauthorized".to_owned())
    );
    server.stop().await;
}

#[tokio::test]
async fn a_first_frame_over_16_kib_gets_frame_too_large() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut client = connect(ws_request(&server, "/v1/ws")).await;
    let padded = json!({"t": "hello", "token": "x", "pad": "y".repeat(40 * 1024)});
    client
        .send(Message::text(padded.to_string()))
        .await
        .unwrap();
    let answer = next_json(&mut client).await;
    assert_eq!(answer["t"], "error");
    assert_eq!(answer["code"], "frame_too_large");
    assert_eq!(next_close(&mut client).await.0, 4001);
    server.stop().await;
}

#[tokio::test]
async fn a_message_over_64_kib_closes_with_1009() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut client = connect(ws_request(&server, "/v1/ws")).await;
    client
        .send(Message::binary(vec![0x80; 70 * 1024]))
        .await
        .unwrap();
    assert_eq!(
        next_close(&mut client).await,
        (1009, "message_too_big".to_owned())
    );
    server.stop().await;
}

#[tokio::test]
async fn the_message_pack_subprotocol_is_echoed_and_used() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut request = ws_request(&server, "/v1/ws");
    request.headers_mut().insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static("heyblue.v1.json, heyblue.v1.msgpack"),
    );
    let (mut client, response) = connect_async(request).await.unwrap();
    assert_eq!(
        response.headers()[header::SEC_WEBSOCKET_PROTOCOL],
        "heyblue.v1.msgpack"
    );
    client.send(Message::binary(vec![0xc1])).await.unwrap();
    let Message::Binary(answer) = next_frame(&mut client).await else {
        panic!("a binary frame gets a binary answer");
    };
    let answer: Value = rmp_serde::from_slice(&answer).unwrap();
    assert_eq!(answer["code"], "malformed_frame");
    assert_eq!(next_close(&mut client).await.0, 4001);
    server.stop().await;
}

#[tokio::test]
async fn shutdown_closes_open_sockets_with_1001() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut client = connect(ws_request(&server, "/v1/ws")).await;
    let stopping = tokio::spawn(server.stop());
    assert_eq!(
        next_close(&mut client).await,
        (1001, "going_away".to_owned())
    );
    drop(client);
    tokio::time::timeout(WAIT, stopping)
        .await
        .expect("the server stops in time")
        .unwrap();
}
