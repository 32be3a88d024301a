//! Admin control of accounts over real HTTP and WebSocket: look an account up,
//! disable and enable it, revoke its sign-ins, take an officer off the roster —
//! each closing the affected sockets — and the append-only audit log that
//! records every one of them.

mod common;

use std::time::{Duration, Instant};

use common::ws::{Format, WsClient, location, nearest_until};
use common::{ADMIN_TOKEN, TestServer, error_code};
use serde_json::{Value, json};

const OFFICER_PHONE: &str = "+12125550177";
const CITIZEN_PHONE: &str = "+12125550166";
const CITIZEN_AT: (f64, f64) = (40.758_0, -73.985_5);
const OFFICER_AT: (f64, f64) = (40.758_45, -73.985_5);
/// Signing in again at once (the default asks for a pause between codes).
const QUICK_CODES: &str = "[identity]\notp_min_interval_seconds = 0\n";
/// How soon a revoked socket must close.
const CLOSE_WITHIN: Duration = Duration::from_secs(1);

struct Scene {
    server: TestServer,
    _dir: tempfile::TempDir,
}

async fn scene() -> Scene {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), QUICK_CODES).await;
    let response = server
        .import_roster(&format!(
            "phone,display_name,badge,department\n{OFFICER_PHONE},Officer Reyes,5120,NYPD\n"
        ))
        .await;
    assert_eq!(response.status(), 200);
    Scene { server, _dir: dir }
}

impl Scene {
    async fn admin_post(&self, path: &str, body: Option<Value>) -> reqwest::Response {
        let request = self
            .server
            .http
            .post(self.server.url(path))
            .bearer_auth(ADMIN_TOKEN);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        request.send().await.unwrap()
    }

    async fn admin_json(&self, path: &str, body: Option<Value>) -> Value {
        let response = self.admin_post(path, body).await;
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.unwrap()
    }

    async fn connect(&self, token: &str) -> WsClient {
        let url = self.server.base_url.replace("http://", "ws://") + "/v1/ws";
        let mut client = WsClient::connect(&url, Some(token), Format::Json)
            .await
            .expect("upgrade accepted");
        assert_eq!(client.next_message().await["t"], "welcome");
        client
    }

    /// Signs in and returns (access token, refresh token, account id).
    async fn sign_in(&self, phone: &str) -> (String, String, String) {
        let signed_in = self.server.sign_in(phone).await;
        let text = |key: &str| signed_in[key].as_str().unwrap().to_owned();
        (
            text("access_token"),
            text("refresh_token"),
            text("account_id"),
        )
    }

    /// The answer to verifying a fresh code for `phone`.
    async fn try_sign_in(&self, phone: &str) -> reqwest::Response {
        let requested = self
            .server
            .post_json("/v1/auth/otp/request", json!({ "phone": phone }))
            .await;
        assert_eq!(requested.status(), 202);
        let code = self.server.last_code_for(phone);
        self.server
            .post_json(
                "/v1/auth/otp/verify",
                json!({ "phone": phone, "code": code }),
            )
            .await
    }

    async fn audit(&self, query: &str) -> Value {
        let response = self
            .server
            .get_authed(&format!("/v1/admin/audit{query}"), ADMIN_TOKEN)
            .await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }
}

/// Waits for the socket to close and returns its code, failing after
/// `CLOSE_WITHIN`.
async fn closed_within_a_second(client: &mut WsClient) -> Option<u16> {
    let started = Instant::now();
    let code = client.expect_close().await;
    assert!(
        started.elapsed() <= CLOSE_WITHIN,
        "closed after {:?}",
        started.elapsed()
    );
    code
}

#[tokio::test]
async fn an_account_is_found_by_phone_and_nothing_else_answers_without_the_admin_token() {
    let scene = scene().await;
    let (access, _refresh, account_id) = scene.sign_in(CITIZEN_PHONE).await;

    let found = scene
        .admin_json(
            "/v1/admin/accounts/lookup",
            Some(json!({ "phone": CITIZEN_PHONE })),
        )
        .await;
    assert_eq!(
        found,
        json!({ "account_id": account_id, "role": "citizen", "status": "active" })
    );
    let unknown = scene
        .admin_post(
            "/v1/admin/accounts/lookup",
            Some(json!({ "phone": "+12125550100" })),
        )
        .await;
    assert_eq!(error_code(unknown).await, (404, "account_not_found".into()));

    let as_citizen = scene
        .server
        .http
        .post(scene.server.url("/v1/admin/accounts/lookup"))
        .bearer_auth(&access)
        .json(&json!({ "phone": CITIZEN_PHONE }))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(as_citizen).await, (403, "forbidden".into()));
    let path = format!("/v1/admin/accounts/{account_id}/disable");
    let as_citizen = scene
        .server
        .http
        .post(scene.server.url(&path))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(as_citizen).await, (403, "forbidden".into()));
    let not_an_id = scene
        .admin_post("/v1/admin/accounts/not-an-id/disable", None)
        .await;
    assert_eq!(
        error_code(not_an_id).await,
        (404, "account_not_found".into())
    );
}

#[tokio::test]
async fn a_disabled_account_loses_its_socket_and_sign_in_until_enabled() {
    let scene = scene().await;
    let (access, refresh, account_id) = scene.sign_in(CITIZEN_PHONE).await;
    let mut socket = scene.connect(&access).await;

    let disabled = scene
        .admin_json(&format!("/v1/admin/accounts/{account_id}/disable"), None)
        .await;
    assert_eq!(disabled["status"], "disabled");
    assert_eq!(disabled["revoked_sign_ins"], 1);
    assert_eq!(closed_within_a_second(&mut socket).await, Some(4011));

    let me = scene.server.get_authed("/v1/me/profile", &access).await;
    assert_eq!(error_code(me).await, (401, "invalid_token".into()));
    let refreshed = scene
        .server
        .post_json("/v1/auth/refresh", json!({ "refresh_token": refresh }))
        .await;
    assert_eq!(refreshed.status(), 401);
    let again = scene.try_sign_in(CITIZEN_PHONE).await;
    assert_eq!(error_code(again).await, (403, "account_disabled".into()));
    let found = scene
        .admin_json(
            "/v1/admin/accounts/lookup",
            Some(json!({ "phone": CITIZEN_PHONE })),
        )
        .await;
    assert_eq!(found["status"], "disabled");

    let enabled = scene
        .admin_json(&format!("/v1/admin/accounts/{account_id}/enable"), None)
        .await;
    assert_eq!(enabled["status"], "active");
    let (access, _refresh, same_account) = scene.sign_in(CITIZEN_PHONE).await;
    assert_eq!(
        same_account, account_id,
        "the account and its history are kept"
    );
    let profile = scene.server.get_json("/v1/me/profile", &access).await;
    assert_eq!(profile["account_id"], account_id);
}

#[tokio::test]
async fn revoking_sessions_closes_every_socket_and_allows_a_new_sign_in() {
    let scene = scene().await;
    let (first_access, _first_refresh, account_id) = scene.sign_in(CITIZEN_PHONE).await;
    let (_second_access, second_refresh, _) = scene.sign_in(CITIZEN_PHONE).await;
    let mut socket = scene.connect(&first_access).await;

    let revoked = scene
        .admin_json(
            &format!("/v1/admin/accounts/{account_id}/sessions/revoke"),
            None,
        )
        .await;
    assert_eq!(revoked["revoked_sign_ins"], 2);
    assert_eq!(closed_within_a_second(&mut socket).await, Some(4011));
    let refreshed = scene
        .server
        .post_json(
            "/v1/auth/refresh",
            json!({ "refresh_token": second_refresh }),
        )
        .await;
    assert_eq!(error_code(refreshed).await, (401, "invalid_token".into()));
    let again = scene.try_sign_in(CITIZEN_PHONE).await;
    assert_eq!(again.status(), 200, "revoking does not disable");

    let unknown = scene
        .admin_post(
            &format!(
                "/v1/admin/accounts/{}/sessions/revoke",
                uuid::Uuid::new_v4()
            ),
            None,
        )
        .await;
    assert_eq!(error_code(unknown).await, (404, "account_not_found".into()));
}

#[tokio::test]
async fn an_officer_taken_off_the_roster_disappears_and_signs_in_as_a_citizen() {
    let scene = scene().await;
    let (officer_access, _, officer_id) = scene.sign_in(OFFICER_PHONE).await;
    let (citizen_access, _, _) = scene.sign_in(CITIZEN_PHONE).await;
    let mut officer = scene.connect(&officer_access).await;
    officer.send(location(OFFICER_AT)).await;
    officer.send(json!({ "t": "go_available" })).await;
    officer.next_of("availability").await;
    let mut citizen = scene.connect(&citizen_access).await;
    citizen.send(location(CITIZEN_AT)).await;
    nearest_until(&mut citizen, |nearest| !nearest.is_null()).await;

    let removal = scene
        .admin_json(
            "/v1/admin/roster/remove",
            Some(json!({ "phone": OFFICER_PHONE })),
        )
        .await;
    assert_eq!(
        removal,
        json!({ "account_id": officer_id, "removed_from_roster": true, "revoked_sign_ins": 1 })
    );
    assert_eq!(closed_within_a_second(&mut officer).await, Some(4011));
    nearest_until(&mut citizen, Value::is_null).await;

    let (_, _, account_id) = scene.sign_in(OFFICER_PHONE).await;
    let found = scene
        .admin_json(
            "/v1/admin/accounts/lookup",
            Some(json!({ "phone": OFFICER_PHONE })),
        )
        .await;
    assert_eq!(account_id, officer_id);
    assert_eq!(found["role"], "citizen", "the next sign-in is a citizen's");
    let twice = scene
        .admin_post(
            "/v1/admin/roster/remove",
            Some(json!({ "phone": OFFICER_PHONE })),
        )
        .await;
    assert_eq!(error_code(twice).await, (404, "not_on_roster".into()));
}

#[tokio::test]
async fn every_admin_action_is_in_the_audit_log_newest_first_without_phones() {
    let scene = scene().await;
    let (_, _, account_id) = scene.sign_in(CITIZEN_PHONE).await;
    scene
        .admin_json(
            "/v1/admin/accounts/lookup",
            Some(json!({ "phone": CITIZEN_PHONE })),
        )
        .await;
    scene
        .admin_json(&format!("/v1/admin/accounts/{account_id}/disable"), None)
        .await;
    scene
        .admin_json(&format!("/v1/admin/accounts/{account_id}/enable"), None)
        .await;
    scene
        .admin_json(
            "/v1/admin/roster/remove",
            Some(json!({ "phone": OFFICER_PHONE })),
        )
        .await;

    let mut actions = Vec::new();
    let mut query = "?limit=2".to_owned();
    loop {
        let page = scene.audit(&query).await;
        let text = page.to_string();
        assert!(
            !text.contains("5550166") && !text.contains("5550177"),
            "{text}"
        );
        for entry in page["entries"].as_array().unwrap() {
            assert!(
                entry["actor"]
                    .as_str()
                    .unwrap()
                    .starts_with("admin_token@127.")
            );
            actions.push((
                entry["action"].as_str().unwrap().to_owned(),
                entry["target"].clone(),
            ));
        }
        match page["next_before"].as_str() {
            Some(cursor) => query = format!("?limit=2&before={cursor}"),
            None => break,
        }
    }
    let target = json!(account_id);
    assert_eq!(
        actions,
        vec![
            ("roster_removed".to_owned(), Value::Null),
            ("account_enabled".to_owned(), target.clone()),
            ("account_disabled".to_owned(), target.clone()),
            ("account_lookup".to_owned(), target),
            ("roster_imported".to_owned(), Value::Null),
        ]
    );
    let bad_cursor = scene
        .server
        .get_authed("/v1/admin/audit?before=yesterday", ADMIN_TOKEN)
        .await;
    assert_eq!(error_code(bad_cursor).await, (422, "invalid_field".into()));
    let metrics = scene.server.scrape_metrics().await;
    assert!(
        metrics.contains("heyblue_admin_actions_total{action=\"account_disabled\"}"),
        "admin actions are counted by action"
    );
}
