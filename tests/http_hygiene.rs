//! HTTP hygiene over a real server: `nosniff` on every answer, `no-store` on
//! answers that carry tokens or personal data, JSON bodies only as
//! `application/json`, the WebSocket `Origin` check, and an owner-only data
//! directory.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{ADMIN_TOKEN, TestServer, error_code};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const CITIZEN: &str = "+12025550143";

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
}

#[tokio::test]
async fn every_answer_says_nosniff() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let signed_in = server.sign_in(CITIZEN).await;
    let token = signed_in["access_token"].as_str().unwrap();
    let answers = [
        server
            .http
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap(),
        server
            .http
            .get(server.url("/no/such/route"))
            .send()
            .await
            .unwrap(),
        server
            .http
            .delete(server.url("/healthz"))
            .send()
            .await
            .unwrap(),
        server.get_authed("/v1/me/profile", token).await,
        server.get_authed("/v1/me/profile", "hb_at_wrong").await,
        server
            .post_json("/v1/auth/otp/request", json!({ "phone": "nope" }))
            .await,
        server
            .http
            .get(format!(
                "{}/metrics",
                server.metrics_base_url.as_ref().unwrap()
            ))
            .send()
            .await
            .unwrap(),
    ];
    for answer in &answers {
        assert_eq!(
            header(answer, "x-content-type-options"),
            Some("nosniff"),
            "{} {}",
            answer.url(),
            answer.status()
        );
    }
}

#[tokio::test]
async fn answers_with_tokens_or_personal_data_are_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    server
        .post_json("/v1/auth/otp/request", json!({ "phone": CITIZEN }))
        .await;
    let code = server.last_code_for(CITIZEN);
    let verified = server
        .post_json(
            "/v1/auth/otp/verify",
            json!({ "phone": CITIZEN, "code": code }),
        )
        .await;
    assert_eq!(verified.status(), 200);
    assert_eq!(header(&verified, "cache-control"), Some("no-store"));
    let body: Value = verified.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap();
    for path in [
        "/v1/me/profile",
        "/v1/me/events",
        "/v1/me/points",
        "/v1/me/connections",
        "/v1/me/trophies",
    ] {
        let answer = server.get_authed(path, token).await;
        assert_eq!(answer.status(), 200, "{path}");
        assert_eq!(header(&answer, "cache-control"), Some("no-store"), "{path}");
    }
    let refreshed = server
        .post_json(
            "/v1/auth/refresh",
            json!({ "refresh_token": body["refresh_token"] }),
        )
        .await;
    assert_eq!(header(&refreshed, "cache-control"), Some("no-store"));
    let admin = server
        .import_roster("phone,display_name,badge,department\n")
        .await;
    assert_eq!(header(&admin, "cache-control"), Some("no-store"));
    let cluster = server.get_authed("/v1/admin/cluster", ADMIN_TOKEN).await;
    assert_eq!(header(&cluster, "cache-control"), Some("no-store"));
    // The route names the caller's ZIP, derived from their position.
    let route = server
        .get_authed("/v1/route?lat=40.7580&lng=-73.9855", token)
        .await;
    assert_eq!(route.status(), 200);
    assert_eq!(header(&route, "cache-control"), Some("no-store"));
}

#[tokio::test]
async fn json_endpoints_take_only_application_json() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let body = json!({ "phone": CITIZEN }).to_string();
    let url = server.url("/v1/auth/otp/request");
    let untyped = server
        .http
        .post(&url)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(untyped).await,
        (415, "unsupported_media_type".to_owned())
    );
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "text/json",
    ] {
        let answer = server
            .http
            .post(&url)
            .header("content-type", content_type)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_code(answer).await,
            (415, "unsupported_media_type".to_owned()),
            "{content_type}"
        );
    }
    let typed = server
        .http
        .post(&url)
        .header("content-type", "application/json; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(typed.status(), 202);
    let signed_in = server.sign_in("+12025550144").await;
    let token = signed_in["access_token"].as_str().unwrap();
    let form_patch = server
        .http
        .patch(server.url("/v1/me/profile"))
        .bearer_auth(token)
        .header("content-type", "text/plain")
        .body(json!({ "bio": "hi" }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(form_patch).await,
        (415, "unsupported_media_type".to_owned())
    );
}

/// Status of a WebSocket upgrade to `server` with `origin`, and the refusal's body.
async fn upgrade_with_origin(server: &TestServer, origin: Option<&str>) -> (u16, Option<Value>) {
    let ws_url = server.base_url.replace("http://", "ws://") + "/v1/ws";
    let mut request = ws_url.into_client_request().unwrap();
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", HeaderValue::from_str(origin).unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((_socket, response)) => (response.status().as_u16(), None),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let body = response
                .body()
                .as_ref()
                .and_then(|bytes| serde_json::from_slice(bytes).ok());
            (response.status().as_u16(), body)
        }
        Err(error) => panic!("upgrade failed: {error}"),
    }
}

#[tokio::test]
async fn websocket_origins_must_be_listed_and_native_apps_send_none() {
    let dir = tempfile::tempdir().unwrap();
    let closed = TestServer::start(&dir.path().join("closed")).await;
    assert_eq!(upgrade_with_origin(&closed, None).await.0, 101);
    let (status, body) = upgrade_with_origin(&closed, Some("https://evil.example")).await;
    assert_eq!(status, 403);
    let body = body.expect("a JSON error");
    assert_eq!(body["error"]["code"], "origin_not_allowed", "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");

    let open = TestServer::start_with(
        &dir.path().join("open"),
        "[http]\nallowed_origins = [\"https://app.example.org\"]\n",
    )
    .await;
    assert_eq!(
        upgrade_with_origin(&open, Some("https://app.example.org"))
            .await
            .0,
        101
    );
    assert_eq!(
        upgrade_with_origin(&open, Some("https://app.example.org.evil.example"))
            .await
            .0,
        403
    );
    assert_eq!(upgrade_with_origin(&open, Some("null")).await.0, 403);
}

#[tokio::test]
async fn the_data_directory_and_its_files_are_owner_only() {
    if common::test_store_is_scylla() {
        common::report_skip("file mode test: the redb file belongs to the embedded store");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), "").await;
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&server.data_dir), 0o700);
    let mut files = 0;
    for entry in std::fs::read_dir(&server.data_dir).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
        files += 1;
    }
    assert!(files >= 2, "the store and the master key at least");
}
