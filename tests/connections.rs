//! Connection requests over real WebSockets against a real server: accept,
//! decline, cancel, timeout, a busy officer, an officer who went unavailable, out
//! of range, the pair cooldown, the daily cap and a reconnect mid-request; and the
//! REST views of points, connections and trophies.

mod common;

use common::TestServer;
use common::ws::{Format, WsClient, location};
use serde_json::{Value, json};

/// Times Square.
const CITIZEN_AT: (f64, f64) = (40.758_0, -73.985_5);
/// About 50 m north of Times Square, in the same resolution-9 cell: within the
/// nearby threshold, and shown to each other in the 100 m band.
const OFFICER_AT: (f64, f64) = (40.758_45, -73.985_5);
/// About 1.1 km north: shown as nearest, but beyond the request radius.
const OFFICER_FAR: (f64, f64) = (40.768_0, -73.985_5);

struct Scene {
    server: TestServer,
    officer_tokens: Vec<String>,
    citizen_tokens: Vec<String>,
    _dir: tempfile::TempDir,
}

async fn scene(officers: usize, citizens: usize, extra_toml: &str) -> Scene {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), extra_toml).await;
    let mut roster = String::from("phone,display_name,badge,department\n");
    for number in 0..officers {
        roster.push_str(&format!(
            "+1212555020{number},Officer {number},44{number},NYPD\n"
        ));
    }
    assert_eq!(server.import_roster(&roster).await.status(), 200);
    let mut officer_tokens = Vec::new();
    for number in 0..officers {
        let signed_in = server.sign_in(&format!("+1212555020{number}")).await;
        assert_eq!(signed_in["role"], "officer");
        officer_tokens.push(signed_in["access_token"].as_str().unwrap().to_owned());
    }
    let mut citizen_tokens = Vec::new();
    for number in 0..citizens {
        let signed_in = server.sign_in(&format!("+1212555030{number}")).await;
        citizen_tokens.push(signed_in["access_token"].as_str().unwrap().to_owned());
    }
    Scene {
        server,
        officer_tokens,
        citizen_tokens,
        _dir: dir,
    }
}

impl Scene {
    fn ws_url(&self) -> String {
        self.server.base_url.replace("http://", "ws://") + "/v1/ws"
    }

    async fn connect(&self, token: &str) -> WsClient {
        let mut client = WsClient::connect(&self.ws_url(), Some(token), Format::Json)
            .await
            .expect("upgrade accepted");
        assert_eq!(client.next_message().await["t"], "welcome");
        client
    }

    async fn officer(&self, number: usize, at: (f64, f64)) -> WsClient {
        let mut officer = self.connect(&self.officer_tokens[number]).await;
        officer.send(location(at)).await;
        officer.send(json!({ "t": "go_available" })).await;
        officer.next_of("availability").await;
        officer
    }

    /// A located citizen and the handle of the officer it was shown.
    async fn citizen(&self, number: usize) -> (WsClient, String) {
        let mut citizen = self.connect(&self.citizen_tokens[number]).await;
        citizen.send(location(CITIZEN_AT)).await;
        let handle = shown_handle(&mut citizen).await;
        (citizen, handle)
    }
}

/// Reads `nearest` pushes until one names an officer; returns its handle.
async fn shown_handle(citizen: &mut WsClient) -> String {
    for _ in 0..10 {
        let nearest = citizen.next_of("nearest").await;
        if let Some(handle) = nearest["officer"]["handle"].as_str() {
            return handle.to_owned();
        }
    }
    panic!("no officer was shown");
}

/// Sends `request_connection` and returns the acknowledgement.
async fn request(citizen: &mut WsClient, handle: &str, op_id: &str) -> Value {
    citizen
        .send(json!({ "t": "request_connection", "officer": handle, "op_id": op_id }))
        .await;
    let update = citizen.next_of("request_update").await;
    assert_eq!(update["op_id"], op_id, "{update}");
    update
}

/// A pending request: the citizen's acknowledgement and the officer's notice agree.
async fn pending(citizen: &mut WsClient, officer: &mut WsClient, handle: &str, op: &str) -> String {
    let ack = request(citizen, handle, op).await;
    assert_eq!(ack["state"], "pending", "{ack}");
    let request_id = ack["request_id"].as_str().unwrap().to_owned();
    let notice = officer.next_of("connection_requested").await;
    assert_eq!(notice["request_id"], request_id.as_str());
    assert_eq!(notice["citizen"]["distance_band_m"], 100);
    assert!(notice["citizen"]["display_name"].is_string());
    assert!(notice["expires_at_ms"].as_i64().unwrap() > 0);
    assert!(notice["citizen"].get("lat").is_none());
    request_id
}

async fn expect_state(client: &mut WsClient, request_id: &str, state: &str) {
    let update = client.next_of("request_update").await;
    assert_eq!(update["request_id"], request_id, "{update}");
    assert_eq!(update["state"], state, "{update}");
}

/// Accepts and returns both sides' `connection_established`.
async fn accept(
    citizen: &mut WsClient,
    officer: &mut WsClient,
    request_id: &str,
) -> (Value, Value) {
    officer
        .send(json!({ "t": "respond", "request_id": request_id, "accept": true }))
        .await;
    expect_state(citizen, request_id, "accepted").await;
    expect_state(officer, request_id, "accepted").await;
    let citizen_side = citizen.next_of("connection_established").await;
    let officer_side = officer.next_of("connection_established").await;
    assert_eq!(citizen_side["connection_id"], request_id);
    assert_eq!(officer_side["connection_id"], request_id);
    (citizen_side, officer_side)
}

#[tokio::test]
async fn an_accepted_request_establishes_a_connection_and_credits_both_once() {
    let scene = scene(1, 1, "").await;
    let mut officer = scene.officer(0, OFFICER_AT).await;
    let (mut citizen, handle) = scene.citizen(0).await;
    let request_id = pending(&mut citizen, &mut officer, &handle, "op-1").await;
    let (citizen_side, officer_side) = accept(&mut citizen, &mut officer, &request_id).await;
    assert_eq!(citizen_side["points"], 10);
    assert_eq!(citizen_side["peer"]["role"], "officer");
    assert_eq!(citizen_side["peer"]["display_name"], "Officer 0");
    assert_eq!(officer_side["peer"]["role"], "citizen");
    assert!(
        citizen_side["quote"]
            .as_str()
            .is_some_and(|quote| !quote.is_empty())
    );
    assert_eq!(citizen_side["quote"], officer_side["quote"]);
    let points = citizen.next_of("points").await;
    assert_eq!(
        (points["balance"].as_i64(), points["delta"].as_i64()),
        (Some(10), Some(10))
    );
    assert_eq!(points["reason"], "connection");
    let trophy = citizen.next_of("trophy").await;
    assert_eq!(trophy["trophy"], "first_connection");
    assert_eq!(officer.next_of("points").await["balance"], 10);

    // A retried accept is refused as no longer pending and credits nothing.
    officer
        .send(json!({ "t": "respond", "request_id": request_id, "accept": true }))
        .await;
    assert_eq!(officer.next_of("error").await["code"], "unknown_request");
    // A retried request with the same op_id gets the same request back.
    let again = request(&mut citizen, &handle, "op-1").await;
    assert_eq!(again["request_id"], request_id.as_str());
    assert_eq!(again["state"], "accepted");

    let token = &scene.citizen_tokens[0];
    let body: Value = scene.server.get_json("/v1/me/points", token).await;
    assert_eq!(body["balance"], 10);
    assert_eq!(body["entries"].as_array().unwrap().len(), 1);
    assert_eq!(body["entries"][0]["connection_id"], request_id.as_str());
    let body: Value = scene.server.get_json("/v1/me/connections", token).await;
    assert_eq!(body["connections"].as_array().unwrap().len(), 1);
    assert_eq!(body["connections"][0]["points"], 10);
    assert_eq!(body["connections"][0]["peer_role"], "officer");
    assert_eq!(body["connections"][0]["mode"], "in_person");
    let body: Value = scene.server.get_json("/v1/me/trophies", token).await;
    assert_eq!(body["trophies"][0]["trophy"], "first_connection");
    let body: Value = scene
        .server
        .get_json("/v1/me/points", &scene.officer_tokens[0])
        .await;
    assert_eq!(body["balance"], 10);
    let events: Value = scene.server.get_json("/v1/me/events", token).await;
    let established = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["kind"]["type"] == "connection_established")
        .count();
    assert_eq!(established, 1, "{events}");
}

#[tokio::test]
async fn a_declined_request_tells_both_sides() {
    let scene = scene(1, 1, "").await;
    let mut officer = scene.officer(0, OFFICER_AT).await;
    let (mut citizen, handle) = scene.citizen(0).await;
    let request_id = pending(&mut citizen, &mut officer, &handle, "op-1").await;
    officer
        .send(json!({ "t": "respond", "request_id": request_id, "accept": false }))
        .await;
    expect_state(&mut citizen, &request_id, "declined").await;
    expect_state(&mut officer, &request_id, "declined").await;
    let body: Value = scene
        .server
        .get_json("/v1/me/points", &scene.citizen_tokens[0])
        .await;
    assert_eq!(body["balance"], 0);
}

#[tokio::test]
async fn an_officer_blocks_a_citizen_who_then_finds_the_officer_unavailable() {
    let scene = scene(1, 2, "").await;
    let mut officer = scene.officer(0, OFFICER_AT).await;
    let (mut citizen, handle) = scene.citizen(0).await;
    let request_id = pending(&mut citizen, &mut officer, &handle, "op-1").await;
    officer
        .send(json!({ "t": "block", "request_id": request_id }))
        .await;
    let blocked = officer.next_of("citizen_blocked").await;
    assert_eq!(blocked["request_id"], request_id.as_str());
    let day_ms = 24 * 3_600_000;
    let until_ms = blocked["until_ms"].as_i64().unwrap();
    let now_ms = unix_now_ms();
    assert!((until_ms - now_ms - day_ms).abs() < 60_000, "{blocked}");
    expect_state(&mut citizen, &request_id, "declined").await;
    // Reconnecting changes nothing: the officer stays unavailable to this citizen.
    citizen.close().await;
    let (mut citizen, handle) = scene.citizen(0).await;
    let refused = request(&mut citizen, &handle, "op-2").await;
    assert_eq!(refused["state"], "officer_unavailable", "{refused}");
    // Another citizen is not affected.
    let (mut other, handle) = scene.citizen(1).await;
    pending(&mut other, &mut officer, &handle, "op-1").await;
    // Citizens cannot block.
    other
        .send(json!({ "t": "block", "request_id": request_id }))
        .await;
    assert_eq!(other.next_of("error").await["code"], "forbidden");
}

fn unix_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test]
async fn a_cancelled_request_tells_both_sides_and_frees_the_citizen() {
    let scene = scene(1, 1, "").await;
    let mut officer = scene.officer(0, OFFICER_AT).await;
    let (mut citizen, handle) = scene.citizen(0).await;
    let request_id = pending(&mut citizen, &mut officer, &handle, "op-1").await;
    let retried = request(&mut citizen, &handle, "op-1").await;
    assert_eq!(
        retried["request_id"],
        request_id.as_str(),
        "a retry is not a second request"
    );
    assert_eq!(retried["state"], "pending");
    citizen
        .send(json!({ "t": "request_connection", "officer": handle, "op_id": "op-3" }))
        .await;
    assert_eq!(citizen.next_of("error").await["code"], "request_pending");
    citizen
        .send(json!({ "t": "cancel_request", "request_id": request_id }))
        .await;
    expect_state(&mut citizen, &request_id, "cancelled").await;
    expect_state(&mut officer, &request_id, "cancelled").await;
    // No longer pending; but the same officer only after the cooldown.
    citizen
        .send(json!({ "t": "request_connection", "officer": handle, "op_id": "op-4" }))
        .await;
    assert_eq!(citizen.next_of("error").await["code"], "request_cooldown");
}

/// Real time, with a one-second timeout (the paused-clock version with the
/// default 60 s is an actor test).
#[tokio::test]
async fn an_unanswered_request_expires() {
    let scene = scene(1, 1, "").await;
    let mut officer = scene.officer(0, OFFICER_AT).await;
    let (mut citizen, handle) = scene.citizen(0).await;
    let request_id = pending(&mut citizen, &mut officer, &handle, "op-1").await;
    // The default 60 s timeout, on a paused clock (setup ran on the real one: the
    // store's blocking work does not hold a paused clock back). Both apps ping as
    // they would while idle.
    tokio::time::pause();
    for second in 1..=60 {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        if second % 15 == 0 {
            citizen.keep_alive().await;
            officer.keep_alive().await;
        }
    }
    tokio::time::resume();
    expect_state(&mut citizen, &request_id, "expired").await;
    expect_state(&mut officer, &request_id, "expired").await;
    officer
        .send(json!({ "t": "respond", "request_id": request_id, "accept": true }))
        .await;
    assert_eq!(officer.next_of("error").await["code"], "unknown_request");
}

#[tokio::test]
async fn an_officer_holds_at_most_three_pending_requests() {
    let scene = scene(1, 4, "").await;
    let mut officer = scene.officer(0, OFFICER_AT).await;
    let mut citizens = Vec::new();
    for number in 0..4 {
        citizens.push(scene.citizen(number).await);
    }
    for (citizen, handle) in citizens.iter_mut().take(3) {
        pending(citizen, &mut officer, handle, "op").await;
    }
    let (fourth, handle) = &mut citizens[3];
    let busy = request(fourth, handle, "op").await;
    assert_eq!(busy["state"], "officer_busy");
}

#[tokio::test]
async fn requests_end_when_the_officer_goes_unavailable() {
    let scene = scene(1, 1, "").await;
    let mut officer = scene.officer(0, OFFICER_AT).await;
    let (mut citizen, handle) = scene.citizen(0).await;
    let request_id = pending(&mut citizen, &mut officer, &handle, "op-1").await;
    officer.send(json!({ "t": "go_unavailable" })).await;
    expect_state(&mut citizen, &request_id, "officer_unavailable").await;
    expect_state(&mut officer, &request_id, "officer_unavailable").await;
    let refused = request(&mut citizen, &handle, "op-2").await;
    assert_eq!(refused["state"], "officer_unavailable");
    let unknown = request(&mut citizen, "o_never-shown", "op-3").await;
    assert_eq!(unknown["state"], "officer_unavailable");
}

#[tokio::test]
async fn an_officer_beyond_the_request_radius_is_out_of_range() {
    let scene = scene(1, 1, "").await;
    let _officer = scene.officer(0, OFFICER_FAR).await;
    let (mut citizen, handle) = scene.citizen(0).await;
    let refused = request(&mut citizen, &handle, "op-1").await;
    assert_eq!(refused["state"], "out_of_range");
}

#[tokio::test]
async fn a_pair_is_rewarded_once_within_the_cooldown() {
    let scene = scene(1, 1, "").await;
    let mut officer = scene.officer(0, OFFICER_AT).await;
    let (mut citizen, handle) = scene.citizen(0).await;
    let first = pending(&mut citizen, &mut officer, &handle, "op-1").await;
    assert_eq!(
        accept(&mut citizen, &mut officer, &first).await.0["points"],
        10
    );
    let second = pending(&mut citizen, &mut officer, &handle, "op-2").await;
    let (citizen_side, officer_side) = accept(&mut citizen, &mut officer, &second).await;
    assert_eq!(citizen_side["points"], 0);
    assert_eq!(citizen_side["withheld"], "pair_cooldown");
    assert_eq!(officer_side["withheld"], "pair_cooldown");
    let body: Value = scene
        .server
        .get_json("/v1/me/connections", &scene.citizen_tokens[0])
        .await;
    assert_eq!(body["connections"].as_array().unwrap().len(), 2);
    let body: Value = scene
        .server
        .get_json("/v1/me/points", &scene.citizen_tokens[0])
        .await;
    assert_eq!(body["balance"], 10);
}

#[tokio::test]
async fn a_person_past_the_daily_cap_connects_without_points() {
    let scene = scene(2, 1, "[connections]\ndaily_rewarded_connections = 1\n").await;
    let mut first_officer = scene.officer(0, OFFICER_AT).await;
    let (mut citizen, handle) = scene.citizen(0).await;
    let first = pending(&mut citizen, &mut first_officer, &handle, "op-1").await;
    accept(&mut citizen, &mut first_officer, &first).await;
    first_officer.send(json!({ "t": "go_unavailable" })).await;
    let mut second_officer = scene.officer(1, OFFICER_AT).await;
    let second_handle = shown_handle(&mut citizen).await;
    assert_ne!(second_handle, handle);
    let second = pending(&mut citizen, &mut second_officer, &second_handle, "op-2").await;
    let (citizen_side, officer_side) = accept(&mut citizen, &mut second_officer, &second).await;
    assert_eq!(citizen_side["points"], 0);
    assert_eq!(citizen_side["withheld"], "daily_cap");
    assert_eq!(officer_side["points"], 10);
}

#[tokio::test]
async fn a_request_survives_a_reconnect_of_either_side() {
    let scene = scene(1, 1, "").await;
    let mut officer = scene.officer(0, OFFICER_AT).await;
    let (mut citizen, handle) = scene.citizen(0).await;
    let request_id = pending(&mut citizen, &mut officer, &handle, "op-1").await;

    citizen.close().await;
    let mut citizen = scene.connect(&scene.citizen_tokens[0]).await;
    let again = citizen.next_of("request_update").await;
    assert_eq!(again["request_id"], request_id.as_str());
    assert_eq!(again["state"], "pending");
    citizen.send(location(CITIZEN_AT)).await;

    officer.close().await;
    let mut officer = scene.connect(&scene.officer_tokens[0]).await;
    let notice = officer.next_of("connection_requested").await;
    assert_eq!(notice["request_id"], request_id.as_str());

    let (citizen_side, _) = accept(&mut citizen, &mut officer, &request_id).await;
    assert_eq!(citizen_side["points"], 10);
}

#[tokio::test]
async fn asking_again_on_hearing_the_connection_is_never_refused_as_pending() {
    // Without the cooldown after a cancel, which would refuse the next round.
    let scene = scene(1, 1, "[connections]\nrequest_cooldown_seconds = 0\n").await;
    let mut officer = scene.officer(0, OFFICER_AT).await;
    let (mut citizen, handle) = scene.citizen(0).await;
    for round in 0..5 {
        let request_id = pending(&mut citizen, &mut officer, &handle, &format!("op-{round}")).await;
        officer
            .send(json!({ "t": "respond", "request_id": request_id, "accept": true }))
            .await;
        // The message that says the connection is made.
        let established = citizen.next_of("connection_established").await;
        assert_eq!(established["connection_id"], request_id.as_str());
        let again = pending(
            &mut citizen,
            &mut officer,
            &handle,
            &format!("again-{round}"),
        )
        .await;
        citizen
            .send(json!({ "t": "cancel_request", "request_id": again }))
            .await;
        expect_state(&mut citizen, &again, "cancelled").await;
        expect_state(&mut officer, &again, "cancelled").await;
    }
}
