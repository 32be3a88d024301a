//! The Scylla backend through an outage: the CQL node is stopped under a running
//! server and started again. Requests that need the store answer 503
//! `store_unavailable` within the request timeout, `/readyz` reports it, live
//! presence keeps answering from memory, everything recovers on its own, and an
//! accept that met the outage credits nobody twice.
//!
//! Runs only with `HEYBLUE_TEST_STORE=scylla` and a node that `scripts/cql-node`
//! controls (as `scripts/test` arranges); skipped with a message otherwise.

mod common;

use std::time::Duration;

use common::TestServer;
use common::ws::{Format, WsClient, location, nearest_until};
use serde_json::{Value, json};
use tokio::time::Instant;

const OFFICER_PHONE: &str = "+12125550177";
const CITIZEN_PHONE: &str = "+12125550166";
/// Times Square.
const CITIZEN_AT: (f64, f64) = (40.758_0, -73.985_5);
/// About 50 m north, in the citizen's resolution-9 cell: shown 135 m away (the
/// 250 m band).
const OFFICER_AT: (f64, f64) = (40.758_45, -73.985_5);
/// The test servers' `request_timeout_seconds`, plus slack for a loaded machine.
const STORE_ANSWER_LIMIT: Duration = Duration::from_secs(5 + 5);

/// Runs `scripts/cql-node <command>` and returns its stdout.
fn cql_node(command: &str) -> std::process::Output {
    std::process::Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/cql-node"))
        .arg(command)
        .output()
        .expect("run scripts/cql-node")
}

/// Whether the node under test is one `scripts/cql-node` can stop and start.
fn controllable_node() -> bool {
    if !common::test_store_is_scylla() {
        common::report_skip("store outage test: set HEYBLUE_TEST_STORE=scylla (scripts/test does)");
        return false;
    }
    let uri = std::env::var("HEYBLUE_SCYLLA_URI").unwrap_or_default();
    let status = String::from_utf8_lossy(&cql_node("status").stdout).to_string();
    if status.trim() != format!("running {uri}") {
        common::report_skip(&format!(
            "store outage test: the node at {uri} is not one scripts/cql-node runs ({})",
            status.trim()
        ));
        return false;
    }
    true
}

async fn connect(server: &TestServer, token: &str) -> WsClient {
    let url = server.base_url.replace("http://", "ws://") + "/v1/ws";
    let mut client = WsClient::connect(&url, Some(token), Format::Json)
        .await
        .expect("upgrade accepted");
    let welcome = client.next_message().await;
    assert_eq!(welcome["t"], "welcome", "{welcome}");
    client
}

async fn readyz_status(server: &TestServer) -> u16 {
    server
        .http
        .get(server.url("/readyz"))
        .send()
        .await
        .map_or(0, |response| response.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_fail_fast_while_the_node_is_down_and_recover_when_it_returns() {
    if !controllable_node() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let imported = server
        .import_roster(&format!(
            "phone,display_name,badge,department\n{OFFICER_PHONE},Officer Diaz,4411,NYPD\n"
        ))
        .await;
    assert_eq!(imported.status(), 200);
    let officer_token = server.sign_in(OFFICER_PHONE).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let citizen_token = server.sign_in(CITIZEN_PHONE).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut officer = connect(&server, &officer_token).await;
    officer.send(location(OFFICER_AT)).await;
    officer.send(json!({ "t": "go_available" })).await;
    officer.next_of("availability").await;
    let mut citizen = connect(&server, &citizen_token).await;
    citizen.send(location(CITIZEN_AT)).await;
    let seen = nearest_until(&mut citizen, |officer| !officer.is_null()).await;
    assert_eq!(seen["distance_band_m"], 250);
    // A request made before the outage is accepted during it.
    citizen
        .send(json!({ "t": "request_connection", "officer": seen["handle"], "op_id": "op-outage" }))
        .await;
    let ack = citizen.next_of("request_update").await;
    assert_eq!(ack["state"], "pending", "{ack}");
    let request_id = ack["request_id"].as_str().unwrap().to_owned();
    officer.next_of("connection_requested").await;

    let stopped = cql_node("stop");
    assert!(stopped.status.success(), "{stopped:?}");
    officer
        .send(json!({ "t": "respond", "request_id": request_id, "accept": true }))
        .await;

    // Store-backed requests fail fast with a stable code.
    let asked = Instant::now();
    let during = server.get_authed("/v1/me/profile", &citizen_token).await;
    let (status, code) = common::error_code(during).await;
    assert_eq!((status, code.as_str()), (503, "store_unavailable"));
    assert!(
        asked.elapsed() < STORE_ANSWER_LIMIT,
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(readyz_status(&server).await, 503);
    // Live presence answers from memory.
    officer.send(location((40.771_5, -73.985_5))).await;
    let farther = nearest_until(&mut citizen, |officer| officer["distance_band_m"] == 2000).await;
    assert_eq!(farther["handle"], seen["handle"]);

    let started = cql_node("start");
    assert!(started.status.success(), "{started:?}");
    let deadline = Instant::now() + Duration::from_secs(120);
    while readyz_status(&server).await != 200 {
        assert!(Instant::now() < deadline, "store did not recover");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let after = server.get_authed("/v1/me/profile", &citizen_token).await;
    assert_eq!(after.status(), 200);
    // Conditional writes work again: a fresh sign-in creates its account once.
    let again = server.sign_in("+12125550155").await;
    assert!(again["access_token"].is_string(), "{again}");
    // The accept that met the outage is retried: whatever the retries and the
    // recovery pass did, each side is credited at most once and the balance is
    // the sum of its ledger.
    officer
        .send(json!({ "t": "respond", "request_id": request_id, "accept": true }))
        .await;
    for token in [&citizen_token, &officer_token] {
        let points: Value = server.get_json("/v1/me/points", token).await;
        let entries = points["entries"].as_array().unwrap();
        let sum: i64 = entries
            .iter()
            .map(|entry| entry["delta"].as_i64().unwrap())
            .sum();
        assert_eq!(points["balance"].as_i64().unwrap(), sum, "{points}");
        assert!(sum <= 10, "credited more than once: {points}");
        let mut ids: Vec<&str> = entries
            .iter()
            .map(|entry| entry["entry_id"].as_str().unwrap())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), entries.len(), "{points}");
    }

    officer.close().await;
    citizen.close().await;
    server.stop().await;
}
