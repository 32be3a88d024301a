//! Outbox endpoints through the admin API: a rate limit is set when an
//! endpoint is created, changed or lifted with `PATCH`, checked for range,
//! shown in the listing, and audited; only the admin may change it.

mod common;

use common::{ADMIN_TOKEN, TestServer, error_code};
use serde_json::{Value, json};

async fn create(server: &TestServer, body: Value) -> reqwest::Response {
    server
        .http
        .post(server.url("/v1/admin/outbox/endpoints"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn patch(server: &TestServer, id: &str, token: &str, body: Value) -> reqwest::Response {
    server
        .http
        .patch(server.url(&format!("/v1/admin/outbox/endpoints/{id}")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn listed_limit(server: &TestServer, id: &str) -> Value {
    let listing = server
        .get_json("/v1/admin/outbox/endpoints", ADMIN_TOKEN)
        .await;
    listing["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .find(|endpoint| endpoint["id"] == id)
        .expect("listed")["rate_limit_per_second"]
        .clone()
}

#[tokio::test]
async fn a_rate_limit_is_set_changed_lifted_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        TestServer::start_with(dir.path(), "[outbox]\nallow_private_destinations = true\n").await;
    let url = "http://127.0.0.1:9/hook";

    for refused in [json!(0), json!(1_001)] {
        let answer = create(
            &server,
            json!({ "url": url, "event_types": ["connection.completed"], "rate_limit_per_second": refused }),
        )
        .await;
        assert_eq!(
            error_code(answer).await,
            (422, "invalid_rate_limit".to_owned())
        );
    }
    let created = create(
        &server,
        json!({ "url": url, "event_types": ["connection.completed"], "rate_limit_per_second": 5 }),
    )
    .await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["rate_limit_per_second"], 5);
    let id = created["id"].as_str().expect("id").to_owned();

    let changed = patch(
        &server,
        &id,
        ADMIN_TOKEN,
        json!({ "rate_limit_per_second": 2 }),
    )
    .await;
    assert_eq!(changed.status(), 200);
    assert_eq!(listed_limit(&server, &id).await, 2);
    let out_of_range = patch(
        &server,
        &id,
        ADMIN_TOKEN,
        json!({ "rate_limit_per_second": 0 }),
    )
    .await;
    assert_eq!(
        error_code(out_of_range).await,
        (422, "invalid_rate_limit".to_owned())
    );
    assert_eq!(
        listed_limit(&server, &id).await,
        2,
        "a refusal changes nothing"
    );
    let unknown_field = patch(
        &server,
        &id,
        ADMIN_TOKEN,
        json!({ "url": "https://x.example" }),
    )
    .await;
    assert!(unknown_field.status().is_client_error());
    let lifted = patch(
        &server,
        &id,
        ADMIN_TOKEN,
        json!({ "rate_limit_per_second": null }),
    )
    .await;
    assert_eq!(lifted.status(), 200);
    assert_eq!(listed_limit(&server, &id).await, Value::Null);

    let unknown = patch(
        &server,
        "00000000-0000-4000-8000-000000000000",
        ADMIN_TOKEN,
        json!({ "rate_limit_per_second": 3 }),
    )
    .await;
    assert_eq!(unknown.status(), 404);
    let not_admin = patch(
        &server,
        &id,
        "not-the-admin-token",
        json!({ "rate_limit_per_second": 3 }),
    )
    .await;
    assert_eq!(not_admin.status(), 403);
    assert_eq!(listed_limit(&server, &id).await, Value::Null);

    let audit = server
        .get_json("/v1/admin/audit?limit=50", ADMIN_TOKEN)
        .await;
    let text = audit.to_string();
    assert!(
        text.contains(&format!("endpoint {id} limited to 2/s")),
        "{text}"
    );
    assert!(
        text.contains(&format!("endpoint {id} limit lifted")),
        "{text}"
    );
}
