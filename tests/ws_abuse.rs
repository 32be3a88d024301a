//! Limits on WebSocket traffic that a reconnect must not reset: sockets opened,
//! control messages and refused frames are budgeted per account, not per
//! socket; a flood of `location` frames is refused and then closed; sockets that
//! never say `hello` are capped per client address — against a real server,
//! over real sockets, from several loopback addresses.

mod common;

use std::net::{IpAddr, Ipv4Addr};
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

/// Sockets one account may open per minute in these tests.
const SOCKETS_PER_MINUTE: usize = 5;
/// Sockets one address may hold before `hello`.
const PENDING_PER_ADDRESS: usize = 4;

async fn scene() -> Scene {
    scene_with(&format!(
        "[presence]\ncontrol_messages_per_minute = {CONTROL_PER_MINUTE}\n"
    ))
    .await
}

async fn scene_with(config: &str) -> Scene {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), config).await;
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

fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

async fn socket_limits_scene() -> Scene {
    scene_with(&format!(
        "[presence]\nsockets_per_account_per_minute = {SOCKETS_PER_MINUTE}\n\
         [http]\nmax_pending_sockets_per_ip = {PENDING_PER_ADDRESS}\n"
    ))
    .await
}

#[tokio::test]
async fn reconnects_of_one_account_are_throttled_from_any_address() {
    let scene = socket_limits_scene().await;
    let url = scene.server.base_url.replace("http://", "ws://") + "/v1/ws";
    // Every reconnect from another address: the budget is the account's.
    for attempt in 0..SOCKETS_PER_MINUTE {
        let source = loopback(10 + attempt as u8);
        let mut client = WsClient::connect_from(source, &url, Some(&scene.token), Format::Json)
            .await
            .expect("within the budget");
        assert_eq!(client.next_message().await["t"], "welcome");
        client.close().await;
    }
    let refused = WsClient::connect_from(loopback(30), &url, Some(&scene.token), Format::Json)
        .await
        .err()
        .expect("one socket too many in the minute");
    assert_eq!(refused.status, 429);
    let retry_after = refused.retry_after.expect("Retry-After");
    assert!((1..=60).contains(&retry_after), "{retry_after}");

    // Authenticating with `hello` instead of the header does not escape it.
    let mut client = WsClient::connect_from(loopback(31), &url, None, Format::Json)
        .await
        .expect("upgrade without a token");
    client
        .send(json!({ "t": "hello", "token": scene.token }))
        .await;
    assert_eq!(client.expect_close().await, Some(4013));
}

#[tokio::test]
async fn sockets_that_never_say_hello_are_capped_per_address() {
    let scene = socket_limits_scene().await;
    let url = scene.server.base_url.replace("http://", "ws://") + "/v1/ws";
    let crowded = loopback(40);
    let mut waiting = Vec::new();
    for _ in 0..PENDING_PER_ADDRESS {
        let client = WsClient::connect_from(crowded, &url, None, Format::Json)
            .await
            .expect("within the address's pending sockets");
        waiting.push(client);
    }
    let refused = WsClient::connect_from(crowded, &url, None, Format::Json)
        .await
        .err()
        .expect("one pending socket too many");
    assert_eq!(refused.status, 429);
    assert!(refused.retry_after.is_some());
    let other = WsClient::connect_from(loopback(41), &url, None, Format::Json).await;
    assert!(other.is_ok(), "another address has its own allowance");

    // A socket that says hello is no longer pending: its slot is free again.
    let mut greeted = waiting.pop().unwrap();
    greeted
        .send(json!({ "t": "hello", "token": scene.token }))
        .await;
    assert_eq!(greeted.next_message().await["t"], "welcome");
    let admitted = WsClient::connect_from(crowded, &url, None, Format::Json).await;
    assert!(admitted.is_ok(), "the greeted socket's slot was freed");
}
