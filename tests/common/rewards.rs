//! What the rewards tests share: the wall clock offers are valid around, the
//! access token of a sign-in answer, and creating catalog entries as the admin.

use serde_json::Value;

use super::{ADMIN_TOKEN, TestServer};

/// Now, in Unix ms (offers' validity is set around it).
pub(crate) fn now_ms() -> i64 {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970");
    i64::try_from(elapsed.as_millis()).expect("fits")
}

/// The access token of a sign-in answer.
pub(crate) fn token_of(signed_in: &Value) -> String {
    signed_in["access_token"]
        .as_str()
        .expect("access token")
        .to_owned()
}

/// POSTs `body` to `/v1/admin/catalog/{collection}` as the admin; the created
/// entry (201 asserted).
pub(crate) async fn admin_create(server: &TestServer, collection: &str, body: Value) -> Value {
    let response = server
        .http
        .post(server.url(&format!("/v1/admin/catalog/{collection}")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201, "{collection}");
    response.json().await.expect("created entry")
}
