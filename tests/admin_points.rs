//! Admin point adjustments over real HTTP: a credit or debit is one
//! `adjustment` ledger entry, a replayed `Idempotency-Key` moves the points
//! once, a debit never takes the balance below zero, and every adjustment is
//! audited.

mod common;

use common::{ADMIN_TOKEN, TestServer, error_code};
use serde_json::{Value, json};

const CITIZEN_PHONE: &str = "+12125550155";

async fn adjust(
    server: &TestServer,
    account_id: &str,
    key: &str,
    body: Value,
) -> reqwest::Response {
    server
        .http
        .post(server.url(&format!("/v1/admin/accounts/{account_id}/points")))
        .bearer_auth(ADMIN_TOKEN)
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_admin_adjusts_points_once_per_key_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let signed_in = server.sign_in(CITIZEN_PHONE).await;
    let token = signed_in["access_token"].as_str().unwrap().to_owned();
    let account_id = signed_in["account_id"].as_str().unwrap().to_owned();
    let goodwill = json!({ "points": 250, "reason": "goodwill: app outage" });

    let first = adjust(&server, &account_id, "goodwill-1", goodwill.clone()).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["balance_after"], 250);
    let replay = adjust(&server, &account_id, "goodwill-1", goodwill).await;
    assert_eq!(replay.status(), 200, "a replay answers the same entry");
    let replay: Value = replay.json().await.unwrap();
    assert_eq!(replay["entry_id"], first["entry_id"]);
    let reused = adjust(
        &server,
        &account_id,
        "goodwill-1",
        json!({ "points": 9, "reason": "x" }),
    )
    .await;
    assert_eq!(
        error_code(reused).await,
        (422, "idempotency_key_reused".to_owned())
    );

    let too_much = adjust(
        &server,
        &account_id,
        "fix-1",
        json!({ "points": -251, "reason": "fix" }),
    )
    .await;
    assert_eq!(
        error_code(too_much).await,
        (409, "insufficient_points".to_owned())
    );
    let correction = adjust(
        &server,
        &account_id,
        "fix-2",
        json!({ "points": -50, "reason": "fix" }),
    )
    .await;
    assert_eq!(correction.status(), 201);

    let points = server.get_json("/v1/me/points", &token).await;
    assert_eq!(points["balance"], 200);
    let reasons: Vec<&str> = points["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["adjustment", "adjustment"], "one entry per key");

    for (body, expected) in [
        (
            json!({ "points": 0, "reason": "zero" }),
            (422, "invalid_field"),
        ),
        (
            json!({ "points": 5, "reason": " " }),
            (422, "invalid_field"),
        ),
        (
            json!({ "points": 5_000_000, "reason": "typo" }),
            (422, "invalid_field"),
        ),
    ] {
        let refused = adjust(&server, &account_id, "bad", body).await;
        assert_eq!(
            error_code(refused).await,
            (expected.0, expected.1.to_owned())
        );
    }
    let unknown = adjust(
        &server,
        "00000000-0000-4000-8000-000000000000",
        "k",
        json!({ "points": 5, "reason": "who" }),
    )
    .await;
    assert_eq!(
        error_code(unknown).await,
        (404, "account_not_found".to_owned())
    );

    let audit = server
        .http
        .get(server.url("/v1/admin/audit"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let adjusted: Vec<&Value> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["action"] == "points_adjusted")
        .collect();
    assert_eq!(
        adjusted.len(),
        2,
        "the two adjustments that moved points: {audit}"
    );
    assert_eq!(adjusted[1]["target"], account_id.as_str());
    assert_eq!(adjusted[1]["detail"], "+250 points: goodwill: app outage");
}
