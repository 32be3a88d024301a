//! Limits on WebSocket traffic that a reconnect must not reset: control messages
//! and refused frames are budgeted per account, not per socket, and a flood of
//! `location` frames is refused and then closed — against a real server, over
//! real sockets.

mod common;

use std::time::Duration;

use common::TestServer;
use common::ws::{Format, Frame, WsClient, location};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const CITIZEN_PHONE: &str = "+12125550190";
/// A small control budget keeps the test short; the rule is the same at 100.
const CONTROL_PER_MINUTE: usize = 20;
/// Refused frames per minute before the socket closes with 4008.
const ERRORS_PER_MINUTE: usize = 20;

struct Scene {
    server: TestServer,
    token: String,
    _dir: tempfile::TempDir,
}

async fn scene() -> Scene {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(
        dir.path(),
        &format!("[presence]\ncontrol_messages_per_minute = {CONTROL_PER_MINUTE}\n"),
    )
    .await;
    let signed_in = server.sign_in(CITIZEN_PHONE).await;
    Scene {
        token: signed_in["access_token"].as_str().unwrap().to_owned(),
        server,
        _dir: dir,
    }
}

impl Scene {
    async fn connect(&self) -> WsClient {
        let url = self.server.base_url.replace("http://", "ws://") + "/v1/ws";
        let mut client = WsClient::connect(&url, Some(&self.token), Format::Json)
            .await
            .expect("upgrade accepted");
        assert_eq!(client.next_message().await["t"], "welcome");
        client
    }
}

/// The answer to a `ping`: `pong`, or the error code that refused it.
async fn ping(client: &mut WsClient) -> String {
    client.send(json!({ "t": "ping" })).await;
    loop {
        let answer = client.next_message().await;
        match answer["t"].as_str() {
            Some("pong") => return "pong".to_owned(),
            Some("error") => return answer["code"].as_str().unwrap().to_owned(),
            _other => {}
        }
    }
}

#[tokio::test]
async fn control_messages_are_counted_per_account_across_reconnects() {
    let scene = scene().await;
    let mut answered = 0;
    // Reconnecting after every few pings, as an abusive client would.
    for _ in 0..CONTROL_PER_MINUTE / 5 + 2 {
        let mut client = scene.connect().await;
        for _ in 0..5 {
            if ping(&mut client).await == "pong" {
                answered += 1;
            }
        }
        client.close().await;
    }
    assert_eq!(
        answered, CONTROL_PER_MINUTE,
        "one account gets its minute's worth of control messages, reconnects or not"
    );
    let mut client = scene.connect().await;
    assert_eq!(ping(&mut client).await, "rate_limited");
}

#[tokio::test]
async fn refused_frames_are_counted_per_account_across_reconnects() {
    let scene = scene().await;
    let mut client = scene.connect().await;
    for _ in 0..ERRORS_PER_MINUTE - 1 {
        client.send_raw(Message::Text("{\"t\":".into())).await;
        assert_eq!(client.next_of("error").await["code"], "malformed_frame");
    }
    client.close().await;
    let mut client = scene.connect().await;
    client.send_raw(Message::Text("{\"t\":".into())).await;
    assert_eq!(client.next_of("error").await["code"], "malformed_frame");
    client.send_raw(Message::Text("{\"t\":".into())).await;
    assert_eq!(
        client.expect_close().await,
        Some(4008),
        "the 21st refused frame of the minute closes, on a new socket too"
    );
}

#[tokio::test]
async fn a_location_flood_is_refused_and_then_closed() {
    let scene = scene().await;
    let mut client = scene.connect().await;
    for step in 0..500 {
        let offset = f64::from(step) * 1e-6;
        client.send(location((40.758 + offset, -73.9855))).await;
    }
    let mut refused = 0;
    let closed = loop {
        match client.next_within(Duration::from_secs(5)).await {
            Frame::Message(message) if is_rate_limited(&message) => refused += 1,
            Frame::Message(_) => {}
            Frame::Closed(code) => break code,
            Frame::Nothing => panic!("the flood was neither refused nor closed"),
        }
    };
    assert_eq!(closed, Some(4008));
    assert_eq!(refused, ERRORS_PER_MINUTE, "refused, then closed");
}

fn is_rate_limited(message: &Value) -> bool {
    message["t"] == "error" && message["code"] == "rate_limited"
}
