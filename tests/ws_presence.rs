//! Live presence over real WebSockets against a real server: both ways to
//! authenticate, both frame formats, an officer and a citizen meeting, bad input,
//! replaced sockets, rate limits, and the route endpoint.

mod common;

use std::time::Duration;

use common::TestServer;
use common::ws::{Format, Frame, WsClient, location, nearest_until};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const OFFICER_PHONE: &str = "+12125550188";
const CITIZEN_PHONE: &str = "+12125550123";
/// Times Square.
const CITIZEN_AT: (f64, f64) = (40.758_0, -73.985_5);
/// About 50 m north of Times Square; shown at its cell's centre, 135 m from the
/// citizen (the 250 m band, within the nearby threshold).
const OFFICER_AT: (f64, f64) = (40.758_45, -73.985_5);

struct Scene {
    server: TestServer,
    officer_token: String,
    citizen_token: String,
    _dir: tempfile::TempDir,
}

async fn scene() -> Scene {
    scene_with("").await
}

/// Two sign-ins of one phone within seconds need no wait between code requests.
const SECOND_SIGN_IN: &str = "[identity]\notp_min_interval_seconds = 0\n";

async fn scene_with(extra_toml: &str) -> Scene {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), extra_toml).await;
    let response = server
        .import_roster(&format!(
            "phone,display_name,badge,department\n{OFFICER_PHONE},Officer Diaz,4411,NYPD\n"
        ))
        .await;
    assert_eq!(response.status(), 200);
    let officer = server.sign_in(OFFICER_PHONE).await;
    assert_eq!(officer["role"], "officer");
    let citizen = server.sign_in(CITIZEN_PHONE).await;
    Scene {
        officer_token: officer["access_token"].as_str().unwrap().to_owned(),
        citizen_token: citizen["access_token"].as_str().unwrap().to_owned(),
        server,
        _dir: dir,
    }
}

impl Scene {
    fn ws_url(&self) -> String {
        self.server.base_url.replace("http://", "ws://") + "/v1/ws"
    }

    async fn connect(&self, token: &str, format: Format) -> WsClient {
        let mut client = WsClient::connect(&self.ws_url(), Some(token), format)
            .await
            .expect("upgrade accepted");
        let welcome = client.next_message().await;
        assert_eq!(welcome["t"], "welcome", "{welcome}");
        client
    }

    async fn available_officer(&self, at: (f64, f64)) -> WsClient {
        let mut officer = self.connect(&self.officer_token, Format::Json).await;
        officer.send(location(at)).await;
        officer.send(json!({ "t": "go_available" })).await;
        let availability = officer.next_of("availability").await;
        assert!(availability["until_ms"].as_i64().unwrap() > 0);
        officer
    }
}

#[tokio::test]
async fn bearer_header_and_hello_frame_both_authenticate() {
    let scene = scene().await;
    let mut by_header = scene.connect(&scene.citizen_token, Format::Json).await;
    by_header.send(json!({ "t": "ping" })).await;
    assert_eq!(by_header.next_message().await["t"], "pong");

    let mut by_hello = WsClient::connect(&scene.ws_url(), None, Format::Json)
        .await
        .unwrap();
    by_hello
        .send(json!({ "t": "hello", "token": scene.officer_token }))
        .await;
    let welcome = by_hello.next_message().await;
    assert_eq!(welcome["t"], "welcome");
    assert_eq!(welcome["role"], "officer");

    let refused = WsClient::connect(&scene.ws_url(), Some("hba_not-a-token"), Format::Json).await;
    assert_eq!(refused.err(), Some(401));

    let mut bad_hello = WsClient::connect(&scene.ws_url(), None, Format::Json)
        .await
        .unwrap();
    bad_hello
        .send(json!({ "t": "hello", "token": "hba_not-a-token" }))
        .await;
    assert_eq!(bad_hello.expect_close().await, Some(4001));
}

#[tokio::test(start_paused = true)]
async fn no_hello_within_five_seconds_closes_the_socket() {
    if common::test_store_is_scylla() {
        // Paused time fires the CQL driver's connect timeouts at once.
        common::report_skip("paused-time test: it runs on the embedded store only");
        return;
    }
    let scene = scene().await;
    let mut silent = WsClient::connect(&scene.ws_url(), None, Format::Json)
        .await
        .unwrap();
    assert_eq!(silent.expect_close().await, Some(4002));
}

#[tokio::test]
async fn citizen_sees_the_officer_then_nearby_and_never_a_precise_position() {
    let scene = scene().await;
    let mut officer = scene.available_officer(OFFICER_AT).await;
    let mut citizen = scene
        .connect(&scene.citizen_token, Format::MessagePack)
        .await;
    citizen.send(location(CITIZEN_AT)).await;
    let seen = nearest_until(&mut citizen, |officer| !officer.is_null()).await;
    assert_eq!(seen["display_name"], "Officer Diaz");
    assert_eq!(seen["distance_band_m"], 250);
    let nearby = citizen.next_of("nearby").await;
    assert_eq!(nearby["officer"]["handle"], seen["handle"]);

    // Farther away: the band grows; out of range: null.
    officer.send(location((40.771_5, -73.985_5))).await;
    let farther = nearest_until(&mut citizen, |officer| officer["distance_band_m"] == 2000).await;
    assert_eq!(farther["handle"], seen["handle"]);
    officer.send(location((40.820_0, -73.985_5))).await;
    nearest_until(&mut citizen, Value::is_null).await;
    officer.send(json!({ "t": "go_unavailable" })).await;
    let ended = officer.next_of("availability_ended").await;
    assert_eq!(ended["reason"], "went_unavailable");

    for frame in &citizen.received {
        let text = frame.to_string();
        for precise in ["40.75845", "40.7715", "40.82"] {
            assert!(!text.contains(precise), "precise position leaked: {text}");
        }
        assert!(
            !text.contains("account_id") || frame["t"] == "welcome",
            "{text}"
        );
    }
}

#[tokio::test]
async fn officer_disconnect_within_grace_keeps_the_window() {
    let scene = scene().await;
    let officer = scene.available_officer(OFFICER_AT).await;
    let mut citizen = scene.connect(&scene.citizen_token, Format::Json).await;
    citizen.send(location(CITIZEN_AT)).await;
    nearest_until(&mut citizen, |officer| !officer.is_null()).await;
    citizen.next_of("nearby").await;
    officer.close().await;
    let mut back = scene.connect(&scene.officer_token, Format::Json).await;
    let availability = back.next_of("availability").await;
    assert!(availability["until_ms"].as_i64().unwrap() > 0);
    let after = citizen.next_within(Duration::from_millis(500)).await;
    assert!(matches!(after, Frame::Nothing), "{after:?}");
}

#[tokio::test]
async fn bad_input_gets_stable_error_codes_and_the_socket_stays_open() {
    let scene = scene().await;
    let mut json_client = scene.connect(&scene.citizen_token, Format::Json).await;
    let cases = [
        (json!({ "t": "teleport" }), "unknown_type"),
        (json!({ "lat": 1.0 }), "missing_type"),
        (json!({ "t": "location", "lat": 40.0 }), "missing_field"),
        (
            json!({ "t": "location", "lat": 91.0, "lng": 0.0 }),
            "invalid_coordinates",
        ),
        (
            json!({ "t": "location", "lat": 0.0, "lng": -181.0 }),
            "invalid_coordinates",
        ),
        (json!({ "t": "go_available" }), "forbidden"),
    ];
    for (message, code) in cases {
        json_client.send(message.clone()).await;
        let error = json_client.next_of("error").await;
        assert_eq!(error["code"], code, "for {message}");
    }
    json_client
        .send_raw(Message::Text("{not json".into()))
        .await;
    assert_eq!(
        json_client.next_of("error").await["code"],
        "malformed_frame"
    );
    json_client
        .send_raw(Message::Text(
            format!("{{\"t\":\"ping\",\"pad\":\"{}\"}}", "x".repeat(17_000)).into(),
        ))
        .await;
    assert_eq!(
        json_client.next_of("error").await["code"],
        "frame_too_large"
    );
    json_client.send(json!({ "t": "ping" })).await;
    assert_eq!(json_client.next_of("pong").await["t"], "pong");

    let mut msgpack_client = scene
        .connect(&scene.officer_token, Format::MessagePack)
        .await;
    #[derive(serde::Serialize)]
    struct RawLocation {
        t: &'static str,
        lat: f64,
        lng: f64,
    }
    let not_a_number = rmp_serde::to_vec_named(&RawLocation {
        t: "location",
        lat: f64::NAN,
        lng: 0.0,
    })
    .unwrap();
    msgpack_client
        .send_raw(Message::Binary(not_a_number.into()))
        .await;
    assert_eq!(
        msgpack_client.next_of("error").await["code"],
        "invalid_coordinates"
    );
    msgpack_client.send(json!({ "t": "ping" })).await;
    assert_eq!(msgpack_client.next_of("pong").await["t"], "pong");
}

#[tokio::test]
async fn a_second_socket_replaces_the_first() {
    let scene = scene().await;
    let mut first = scene.connect(&scene.citizen_token, Format::Json).await;
    let mut second = scene.connect(&scene.citizen_token, Format::Json).await;
    assert_eq!(first.expect_close().await, Some(4003));
    second.send(json!({ "t": "ping" })).await;
    assert_eq!(second.next_of("pong").await["t"], "pong");
}

#[tokio::test]
async fn control_messages_are_rate_limited() {
    let scene = scene().await;
    let mut officer = scene.connect(&scene.officer_token, Format::Json).await;
    for _ in 0..100 {
        officer
            .send(json!({ "t": "go_available", "minutes": 15 }))
            .await;
    }
    for _ in 0..100 {
        assert_eq!(officer.next_of("availability").await["t"], "availability");
    }
    officer
        .send(json!({ "t": "go_available", "minutes": 15 }))
        .await;
    assert_eq!(officer.next_of("error").await["code"], "rate_limited");
}

#[tokio::test]
async fn logout_closes_the_socket() {
    let scene = scene().await;
    let mut officer = scene.available_officer(OFFICER_AT).await;
    let response = scene
        .server
        .http
        .post(scene.server.url("/v1/auth/logout"))
        .bearer_auth(&scene.officer_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(
        officer.next_of("availability_ended").await["reason"],
        "logout"
    );
    assert_eq!(officer.expect_close().await, Some(4011));
}

#[tokio::test]
async fn a_reused_refresh_token_closes_the_socket_of_its_sign_in() {
    let scene = scene_with(SECOND_SIGN_IN).await;
    let signed_in = scene.server.sign_in(CITIZEN_PHONE).await;
    let access = signed_in["access_token"].as_str().unwrap();
    let refresh = signed_in["refresh_token"].as_str().unwrap();
    let mut socket = scene.connect(access, Format::Json).await;
    let refresh_once = json!({ "refresh_token": refresh });
    let rotated = scene
        .server
        .post_json("/v1/auth/refresh", refresh_once.clone())
        .await;
    assert_eq!(rotated.status(), 200);
    let started = std::time::Instant::now();
    let reused = scene
        .server
        .post_json("/v1/auth/refresh", refresh_once)
        .await;
    assert_eq!(reused.status(), 401);
    assert_eq!(socket.expect_close().await, Some(4011));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "closed within a second"
    );
}

#[tokio::test]
async fn logging_out_one_sign_in_leaves_another_s_socket_open() {
    let scene = scene_with(SECOND_SIGN_IN).await;
    let other = scene.server.sign_in(CITIZEN_PHONE).await;
    let mut socket = scene
        .connect(other["access_token"].as_str().unwrap(), Format::Json)
        .await;
    let response = scene
        .server
        .http
        .post(scene.server.url("/v1/auth/logout"))
        .bearer_auth(&scene.citizen_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    socket.send(json!({ "t": "ping" })).await;
    assert_eq!(socket.next_of("pong").await["t"], "pong");
}

#[tokio::test]
async fn route_names_the_node_zip_and_shard() {
    let scene = scene().await;
    let route = |query: &'static str| {
        scene
            .server
            .http
            .get(scene.server.url(&format!("/v1/route?{query}")))
            .bearer_auth(&scene.citizen_token)
            .send()
    };
    let answer: Value = route("lat=40.758&lng=-73.9855")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["ws_url"], scene.ws_url());
    let zip = answer["zip"].as_str().unwrap();
    assert!(zip.starts_with("10"), "{answer}");
    assert_eq!(answer["shard"], zip[..3], "the shard is the ZIP's prefix");
    assert_eq!(answer["node"], "local");
    let hoboken: Value = route("lat=40.744&lng=-74.0324")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hoboken["shard"], "070");
    let given: Value = route("lat=40.758&lng=-73.9855&zip=07030")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(given["zip"], "07030");
    let response = route("lat=40.758&lng=-73.9855&zip=00000").await.unwrap();
    assert_eq!(
        common::error_code(response).await,
        (422, "unknown_zip".into())
    );
    let response = route("lat=91&lng=0").await.unwrap();
    assert_eq!(
        common::error_code(response).await,
        (422, "invalid_coordinates".into())
    );
    let ocean: Value = route("lat=35.0&lng=-40.0")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        ocean["shard"].as_str().unwrap().starts_with("h3:"),
        "{ocean}"
    );
    assert_eq!(ocean["zip"], Value::Null);
    let response = scene
        .server
        .http
        .get(scene.server.url("/v1/route?lat=40.758&lng=-73.9855"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        common::error_code(response).await,
        (401, "missing_token".into())
    );
}

/// Pauses the clock and lets `seconds` pass while the clients stay alive. Setup
/// runs on the real clock: the store's blocking work does not hold a paused clock
/// back, so timeouts would fire early during it.
async fn idle(clients: &mut [&mut WsClient], seconds: u64) {
    tokio::time::pause();
    for elapsed in 1..=seconds {
        tokio::time::sleep(Duration::from_secs(1)).await;
        // An app pings well inside the server's 60 s idle limit.
        if elapsed % 15 == 0 || elapsed == seconds {
            for client in clients.iter_mut() {
                client.keep_alive().await;
            }
        }
    }
    // Back to the real clock: store calls (a reconnect checks its token) time out
    // at once on a paused one.
    tokio::time::resume();
}

#[tokio::test]
async fn an_availability_window_expires_with_the_clock() {
    let scene = scene().await;
    let mut officer = scene.connect(&scene.officer_token, Format::Json).await;
    officer.send(location(OFFICER_AT)).await;
    officer
        .send(json!({ "t": "go_available", "minutes": 1 }))
        .await;
    officer.next_of("availability").await;
    let mut citizen = scene.connect(&scene.citizen_token, Format::Json).await;
    citizen.send(location(CITIZEN_AT)).await;
    nearest_until(&mut citizen, |officer| !officer.is_null()).await;
    citizen.next_of("nearby").await;
    idle(&mut [&mut officer, &mut citizen], 61).await;
    let ended = officer.next_of("availability_ended").await;
    assert_eq!(ended["reason"], "expired");
    nearest_until(&mut citizen, Value::is_null).await;
}

#[tokio::test]
async fn an_officer_gone_longer_than_the_grace_leaves_the_map() {
    let scene = scene().await;
    let officer = scene.available_officer(OFFICER_AT).await;
    let mut citizen = scene.connect(&scene.citizen_token, Format::Json).await;
    citizen.send(location(CITIZEN_AT)).await;
    nearest_until(&mut citizen, |officer| !officer.is_null()).await;
    citizen.next_of("nearby").await;
    officer.close().await;
    idle(&mut [&mut citizen], 31).await;
    nearest_until(&mut citizen, Value::is_null).await;
    let mut back = scene.connect(&scene.officer_token, Format::Json).await;
    back.send(json!({ "t": "ping" })).await;
    assert_eq!(
        back.next_message().await["t"],
        "pong",
        "no availability to restore"
    );
}

/// The `cadence` messages a client was sent so far, as (interval, distance).
fn cadences(client: &WsClient) -> Vec<(i64, i64)> {
    client
        .received
        .iter()
        .filter(|message| message["t"] == "cadence")
        .map(|message| {
            (
                message["interval_ms"].as_i64().unwrap(),
                message["min_distance_m"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn sockets_are_told_their_cadence_after_welcome_and_when_it_changes() {
    let scene = scene().await;
    let mut officer = scene
        .connect(&scene.officer_token, Format::MessagePack)
        .await;
    officer.send(json!({ "t": "ping" })).await;
    officer.next_of("pong").await;
    assert_eq!(officer.received[0]["t"], "welcome");
    assert_eq!(officer.received[1]["t"], "cadence", "right after welcome");
    assert_eq!(
        cadences(&officer),
        vec![(0, 0)],
        "not available: no reports"
    );
    officer.send(location(OFFICER_AT)).await;
    officer.send(json!({ "t": "go_available" })).await;
    officer.next_of("availability").await;
    officer.send(json!({ "t": "ping" })).await;
    officer.next_of("pong").await;
    assert_eq!(cadences(&officer), vec![(0, 0), (2_000, 10)]);

    let mut citizen = scene.connect(&scene.citizen_token, Format::Json).await;
    citizen.send(location(CITIZEN_AT)).await;
    nearest_until(&mut citizen, |officer| !officer.is_null()).await;
    citizen.send(json!({ "t": "ping" })).await;
    citizen.next_of("pong").await;
    assert_eq!(
        cadences(&citizen),
        vec![(30_000, 100), (1_000, 5)],
        "far before its first fix, near once an officer is in sight"
    );
}
