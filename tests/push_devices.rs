//! `POST /v1/me/devices`: a phone registers its push token; tokens are
//! checked, bounded per account, listed in the owner's export, and removed
//! when the sign-in that registered them logs out. Also the naming consent
//! of social posts (`share_name`) on the profile.

mod common;

use common::rewards::token_of;
use common::{TestServer, error_code};
use serde_json::{Value, json};

const PHONE: &str = "+12125550411";
/// One phone signs in more than once within a minute.
const QUICK_CODES: &str = "[identity]\notp_min_interval_seconds = 0\n";

async fn register(server: &TestServer, token: &str, body: Value) -> reqwest::Response {
    server
        .http
        .post(server.url("/v1/me/devices"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn push_token(index: usize) -> String {
    format!("{index:064x}")
}

async fn exported_devices(server: &TestServer, token: &str) -> Vec<Value> {
    let export = server.get_json("/v1/me/export", token).await;
    export["devices"].as_array().expect("devices").clone()
}

#[tokio::test]
async fn devices_are_checked_bounded_exported_and_removed_on_logout() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), QUICK_CODES).await;
    let phone_one = token_of(&server.sign_in(PHONE).await);
    let phone_two = token_of(&server.sign_in(PHONE).await);

    let first = register(
        &server,
        &phone_one,
        json!({ "platform": "ios", "token": push_token(1) }),
    )
    .await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["platform"], "ios");
    assert!(first.get("token").is_none(), "the token is not echoed");
    let again = register(
        &server,
        &phone_one,
        json!({ "platform": "ios", "token": push_token(1) }),
    )
    .await;
    assert_eq!(again.status(), 200, "the same token is the same device");
    let second = register(
        &server,
        &phone_two,
        json!({ "platform": "android", "token": "fcm-token:APA91b_x.y-123456" }),
    )
    .await;
    assert_eq!(second.status(), 201);

    for (body, field) in [
        (
            json!({ "platform": "web", "token": push_token(2) }),
            "platform",
        ),
        (json!({ "platform": "ios", "token": "short" }), "token"),
        (
            json!({ "platform": "ios", "token": "a b c d e f g h i j k l" }),
            "token",
        ),
        (
            json!({ "platform": "ios", "token": "x".repeat(513) }),
            "token",
        ),
    ] {
        let response = register(&server, &phone_one, body).await;
        assert_eq!(
            error_code(response).await,
            (422, "invalid_field".to_owned()),
            "{field}"
        );
    }
    let extra = register(
        &server,
        &phone_one,
        json!({ "platform": "ios", "token": push_token(3), "name": "x" }),
    )
    .await;
    assert_eq!(extra.status(), 422, "unknown fields are refused");

    // Ten per account: two registered, eight more fit, the eleventh does not.
    for index in 10..18 {
        let response = register(
            &server,
            &phone_one,
            json!({ "platform": "ios", "token": push_token(index) }),
        )
        .await;
        assert_eq!(response.status(), 201);
    }
    let full = register(
        &server,
        &phone_one,
        json!({ "platform": "ios", "token": push_token(99) }),
    )
    .await;
    assert_eq!(error_code(full).await, (409, "too_many_devices".to_owned()));

    let devices = exported_devices(&server, &phone_two).await;
    assert_eq!(devices.len(), 10);
    assert!(
        devices
            .iter()
            .any(|device| device["token"] == "fcm-token:APA91b_x.y-123456"),
        "the export holds the tokens: {devices:?}"
    );

    // One device removed by id; then phone one logs out: its devices go,
    // phone two's stays. (Three exports an hour: each one counts.)
    let removed = server
        .http
        .delete(server.url(&format!(
            "/v1/me/devices/{}",
            first["device_id"].as_str().unwrap()
        )))
        .bearer_auth(&phone_one)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    let logout = server
        .http
        .post(server.url("/v1/auth/logout"))
        .bearer_auth(&phone_one)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    let left = exported_devices(&server, &phone_two).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(
        left.iter()
            .all(|device| device["device_id"] != first["device_id"]),
        "the removed device is gone"
    );
    assert_eq!(left[0]["platform"], "android");
    let everywhere = server
        .http
        .post(server.url("/v1/auth/logout_all"))
        .bearer_auth(&phone_two)
        .send()
        .await
        .unwrap();
    assert_eq!(everywhere.status(), 200);
    let phone_three = token_of(&server.sign_in(PHONE).await);
    assert!(exported_devices(&server, &phone_three).await.is_empty());
}

#[tokio::test]
async fn naming_consent_is_a_profile_choice_that_starts_off() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let token = token_of(&server.sign_in(PHONE).await);
    let profile = server.get_json("/v1/me/profile", &token).await;
    assert_eq!(profile["share_to_social"], false);
    assert_eq!(profile["share_name"], false);
    let changed = server
        .http
        .patch(server.url("/v1/me/profile"))
        .bearer_auth(&token)
        .json(&json!({ "share_to_social": true, "share_name": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    let profile = server.get_json("/v1/me/profile", &token).await;
    assert_eq!(profile["share_to_social"], true);
    assert_eq!(profile["share_name"], true);
}
