//! A crash between a fact and its delivery, with a real process: a
//! connection is established on a server that does not send (`outbox.send =
//! false`), so its `connection.completed` delivery is written with it and
//! left pending; the server is killed with SIGKILL; a restart on the same
//! data directory, sending, posts it to a receiver this test runs on
//! 127.0.0.1, which checks the Standard Webhooks signature itself. Nothing
//! is lost, and nothing arrives that names a connection the store does not
//! hold.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::ADMIN_TOKEN;
use common::points::earn_points;
use common::process::ServerProcess;
use common::rewards::token_of;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

const OFFICER_PHONE: &str = "+12125550217";
const CITIZEN_PHONE: &str = "+12125550317";
/// Everything, restart included, ends within this.
const TEST_LIMIT: Duration = Duration::from_secs(55);

/// What the receiver got: (webhook-id, body, signature verified).
type Inbox = Arc<Mutex<Vec<(String, String, bool)>>>;

/// The receiver's state: the secret it verifies with, and what it got.
#[derive(Clone)]
struct Receiver {
    secret: Arc<Mutex<String>>,
    inbox: Inbox,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let id = header("webhook-id");
    let secret = receiver
        .secret
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let verified = verify(
        &secret,
        &id,
        &header("webhook-timestamp"),
        &body,
        &header("webhook-signature"),
    );
    receiver
        .inbox
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push((id, body, verified));
    StatusCode::OK
}

/// The spec, read independently: HMAC-SHA256 keyed by the base64 after
/// `whsec_`, over `id.timestamp.body`, any `v1,` signature matching.
fn verify(secret: &str, id: &str, timestamp: &str, body: &str, header: &str) -> bool {
    let Some(key) = secret
        .strip_prefix("whsec_")
        .and_then(|encoded| STANDARD.decode(encoded).ok())
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    let expected = mac.finalize().into_bytes();
    header.split(' ').any(|signature| {
        signature
            .strip_prefix("v1,")
            .and_then(|encoded| STANDARD.decode(encoded).ok())
            .is_some_and(|decoded| decoded.as_slice() == expected.as_slice())
    })
}

/// The `connection.completed` deliveries of an admin listing.
fn completed(listing: &Value) -> Vec<Value> {
    listing["deliveries"]
        .as_array()
        .expect("a list")
        .iter()
        .filter(|delivery| delivery["event_type"] == "connection.completed")
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_delivery_cut_off_by_a_crash_is_sent_after_a_restart() {
    tokio::time::timeout(TEST_LIMIT, crash_and_deliver())
        .await
        .expect("the crash test ends in time");
}

async fn crash_and_deliver() {
    let receiver = Receiver {
        secret: Arc::new(Mutex::new(String::new())),
        inbox: Arc::new(Mutex::new(Vec::new())),
    };
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let root = tempfile::tempdir().unwrap();
    let mut first = ServerProcess::start(
        root.path(),
        "[outbox]\nsend = false\nallow_private_destinations = true\n",
    )
    .await;
    let server = &first.api;
    let roster =
        format!("phone,display_name,badge,department\n{OFFICER_PHONE},Officer K,447,NYPD\n");
    assert_eq!(server.import_roster(&roster).await.status(), 200);
    let officer = token_of(&server.sign_in(OFFICER_PHONE).await);
    let citizen = token_of(&server.sign_in(CITIZEN_PHONE).await);
    let created = server
        .http
        .post(server.url("/v1/admin/outbox/endpoints"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({ "url": hook_url, "event_types": ["connection.completed"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let secret = created["secret"].as_str().expect("the secret, once");
    *receiver
        .secret
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = secret.to_owned();
    // Both people share their connections (a post needs both consents).
    for token in [&officer, &citizen] {
        let shared = server
            .http
            .patch(server.url("/v1/me/profile"))
            .bearer_auth(token)
            .json(&json!({ "share_to_social": true }))
            .send()
            .await
            .unwrap();
        assert_eq!(shared.status(), 200);
    }
    earn_points(server, &officer, &citizen).await;
    let pending = server
        .get_json("/v1/admin/outbox?state=pending", ADMIN_TOKEN)
        .await;
    // The connection's delivery, and those of the trophies it earned.
    assert_eq!(completed(&pending).len(), 1);
    first.kill();

    let second = ServerProcess::start(
        root.path(),
        "[outbox]\nsend = true\nallow_private_destinations = true\npoll_interval_ms = 100\n",
    )
    .await;
    let server = &second.api;
    let mut delivered = Vec::new();
    for _ in 0..200 {
        let listed = server
            .get_json("/v1/admin/outbox?state=delivered", ADMIN_TOKEN)
            .await;
        delivered = completed(&listed);
        if !delivered.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(delivered.len(), 1);
    let inbox = receiver
        .inbox
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    assert!(!inbox.is_empty(), "the delivery arrived after the restart");
    assert!(inbox.iter().all(|(_, _, verified)| *verified));
    let ids: HashSet<&str> = inbox.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(ids.len(), 1, "duplicates carry one webhook-id");
    assert_eq!(
        Some(*ids.iter().next().unwrap()),
        delivered[0]["id"].as_str()
    );
    let connections = server.get_json("/v1/me/connections", &citizen).await;
    let held: HashSet<&str> = connections["connections"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|connection| connection["connection_id"].as_str())
        .collect();
    for (_, body, _) in &inbox {
        let body: Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["type"], "connection.completed");
        assert!(
            body["post"]
                .as_str()
                .is_some_and(|post| post.contains("an officer and a neighbour")),
            "the post names nobody who did not agree: {body}"
        );
        let named = body["connection_id"].as_str().unwrap();
        assert!(held.contains(named), "no delivery without its fact");
    }
}
