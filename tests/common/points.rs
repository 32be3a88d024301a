//! Earning points the only way the server grants them: an officer accepts a
//! citizen's connection request over the WebSocket.

use serde_json::json;

use super::TestServer;
use super::ws::{Format, WsClient, location};

/// Times Square, and about 50 m north of it.
const CITIZEN_AT: (f64, f64) = (40.758_0, -73.985_5);
const OFFICER_AT: (f64, f64) = (40.758_45, -73.985_5);

/// One accepted connection between the two, which credits both (as many
/// points as the server's `[connections]` section grants).
pub(crate) async fn earn_points(server: &TestServer, officer_token: &str, citizen_token: &str) {
    let ws_url = server.base_url.replace("http://", "ws://") + "/v1/ws";
    let mut officer = WsClient::connect(&ws_url, Some(officer_token), Format::Json)
        .await
        .expect("officer socket");
    officer.next_of("welcome").await;
    officer.send(location(OFFICER_AT)).await;
    officer.send(json!({ "t": "go_available" })).await;
    officer.next_of("availability").await;
    let mut citizen = WsClient::connect(&ws_url, Some(citizen_token), Format::Json)
        .await
        .expect("citizen socket");
    citizen.next_of("welcome").await;
    citizen.send(location(CITIZEN_AT)).await;
    let mut handle = None;
    while handle.is_none() {
        let nearest = citizen.next_of("nearest").await;
        handle = nearest["officer"]["handle"].as_str().map(str::to_owned);
    }
    citizen
        .send(json!({ "t": "request_connection", "officer": handle, "op_id": "earn" }))
        .await;
    let request_id = citizen.next_of("request_update").await["request_id"].clone();
    officer.next_of("connection_requested").await;
    officer
        .send(json!({ "t": "respond", "request_id": request_id, "accept": true }))
        .await;
    citizen.next_of("connection_established").await;
    officer.next_of("connection_established").await;
}
