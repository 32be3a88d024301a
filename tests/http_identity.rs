//! Sign-in, tokens, profiles and roster over real HTTP against a real server.

mod common;

use common::{TestServer, error_code};
use serde_json::{Value, json};

const CITIZEN: &str = "+12125550123";
const OFFICER: &str = "+12125550188";

#[tokio::test]
async fn full_sign_in_flow_then_profile() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let signed_in = server.sign_in(CITIZEN).await;
    assert_eq!(signed_in["role"], "citizen");
    assert_eq!(signed_in["expires_in"], 3600);
    let access = signed_in["access_token"].as_str().unwrap();
    assert!(access.len() >= 40);
    let response = server.get_authed("/v1/me/profile", access).await;
    assert_eq!(response.status(), 200);
    let profile: Value = response.json().await.unwrap();
    assert_eq!(profile["account_id"], signed_in["account_id"]);
    let suffix = &signed_in["account_id"].as_str().unwrap()[32..];
    assert_eq!(profile["display_name"], format!("Citizen {suffix}"));
    assert_eq!(profile["role"], "citizen");
}

#[tokio::test]
async fn roster_decides_officer_or_citizen() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let response = server
        .import_roster(&format!(
            "phone,display_name,badge,department\n{OFFICER},Officer Diaz,4411,NYPD\n"
        ))
        .await;
    assert_eq!(response.status(), 200);
    let officer = server.sign_in(OFFICER).await;
    assert_eq!(officer["role"], "officer");
    let profile: Value = server
        .get_json("/v1/me/profile", officer["access_token"].as_str().unwrap())
        .await;
    assert_eq!(profile["display_name"], "Officer Diaz");
    let citizen = server.sign_in(CITIZEN).await;
    assert_eq!(citizen["role"], "citizen");
}

#[tokio::test]
async fn a_citizen_cannot_make_themselves_an_officer() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let citizen = server.sign_in(CITIZEN).await;
    let access = citizen["access_token"].as_str().unwrap();
    let response = server
        .http
        .patch(server.url("/v1/me/profile"))
        .bearer_auth(access)
        .json(&json!({ "role": "officer" }))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(response).await, (422, "unknown_field".into()));
    let response = server
        .http
        .post(server.url("/v1/admin/import/officers"))
        .bearer_auth(access)
        .body(format!(
            "phone,display_name,badge,department\n{CITIZEN},Me,1,X\n"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(response).await, (403, "forbidden".into()));
}

#[tokio::test]
async fn refresh_rotates_and_reuse_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let first = server.sign_in(CITIZEN).await;
    let response = server
        .post_json(
            "/v1/auth/refresh",
            json!({ "refresh_token": first["refresh_token"] }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let second: Value = response.json().await.unwrap();
    assert_ne!(second["access_token"], first["access_token"]);
    let response = server
        .post_json(
            "/v1/auth/refresh",
            json!({ "refresh_token": first["refresh_token"] }),
        )
        .await;
    assert_eq!(
        error_code(response).await,
        (401, "refresh_token_reused".into())
    );
    let response = server
        .get_authed("/v1/me/profile", second["access_token"].as_str().unwrap())
        .await;
    assert_eq!(error_code(response).await, (401, "invalid_token".into()));
}

#[tokio::test]
async fn logout_revokes_the_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let signed_in = server.sign_in(CITIZEN).await;
    let access = signed_in["access_token"].as_str().unwrap();
    let response = server
        .http
        .post(server.url("/v1/auth/logout"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let response = server.get_authed("/v1/me/profile", access).await;
    assert_eq!(error_code(response).await, (401, "invalid_token".into()));
    let response = server
        .post_json(
            "/v1/auth/refresh",
            json!({ "refresh_token": signed_in["refresh_token"] }),
        )
        .await;
    assert_eq!(error_code(response).await, (401, "invalid_token".into()));
}

#[tokio::test]
async fn wrong_codes_and_rate_limits_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let response = server
        .post_json("/v1/auth/otp/request", json!({ "phone": CITIZEN }))
        .await;
    assert_eq!(response.status(), 202);
    let response = server
        .post_json("/v1/auth/otp/request", json!({ "phone": CITIZEN }))
        .await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    assert_eq!(error_code(response).await, (429, "rate_limited".into()));
    let code = server.last_code_for(CITIZEN);
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..4 {
        let response = server
            .post_json(
                "/v1/auth/otp/verify",
                json!({ "phone": CITIZEN, "code": wrong }),
            )
            .await;
        assert_eq!(error_code(response).await, (401, "invalid_code".into()));
    }
    let response = server
        .post_json(
            "/v1/auth/otp/verify",
            json!({ "phone": CITIZEN, "code": wrong }),
        )
        .await;
    assert_eq!(
        error_code(response).await,
        (401, "code_attempts_exhausted".into())
    );
    let response = server
        .post_json(
            "/v1/auth/otp/verify",
            json!({ "phone": CITIZEN, "code": code }),
        )
        .await;
    assert_eq!(error_code(response).await, (401, "invalid_code".into()));
}

#[tokio::test]
async fn malformed_oversized_and_unknown_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let raw = |body: &'static str| {
        server
            .http
            .post(server.url("/v1/auth/otp/request"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    assert_eq!(
        error_code(raw("{\"phone\":").await.unwrap()).await,
        (400, "malformed_json".into())
    );
    assert_eq!(
        error_code(raw("{\"phone\":42}").await.unwrap()).await,
        (400, "invalid_type".into())
    );
    assert_eq!(
        error_code(raw("{}").await.unwrap()).await,
        (422, "missing_field".into())
    );
    assert_eq!(
        error_code(raw("{\"phone\":\"+12125550123\",\"x\":1}").await.unwrap()).await,
        (422, "unknown_field".into())
    );
    assert_eq!(
        error_code(raw("{\"phone\":\"hello\"}").await.unwrap()).await,
        (422, "invalid_phone".into())
    );
    let huge = format!("{{\"phone\":\"{}\"}}", "1".repeat(70 * 1024));
    let response = server
        .http
        .post(server.url("/v1/auth/otp/request"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(response).await,
        (413, "payload_too_large".into())
    );
    let response = server
        .http
        .get(server.url("/v1/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(response).await, (404, "not_found".into()));
    let response = server
        .http
        .get(server.url("/v1/auth/refresh"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(response).await,
        (405, "method_not_allowed".into())
    );
    let response = server
        .http
        .get(server.url("/v1/me/profile"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(response).await, (401, "missing_token".into()));
}

#[tokio::test]
async fn profile_edits_are_validated_and_become_events() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let signed_in = server.sign_in(CITIZEN).await;
    let access = signed_in["access_token"].as_str().unwrap().to_owned();
    let patch = |body: Value| {
        server
            .http
            .patch(server.url("/v1/me/profile"))
            .bearer_auth(&access)
            .json(&body)
            .send()
    };
    for (body, field) in [
        (json!({ "display_name": "" }), "display_name"),
        (json!({ "display_name": "x".repeat(41) }), "display_name"),
        (json!({ "bio": "b".repeat(281) }), "bio"),
        (
            json!({ "avatar_url": "http://example.com/a.png" }),
            "avatar_url",
        ),
    ] {
        let response = patch(body).await.unwrap();
        let status = response.status();
        let error: Value = response.json().await.unwrap();
        assert_eq!(status, 422);
        assert_eq!(error["error"]["code"], "invalid_field");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(field),
            "{error}"
        );
    }
    let response = patch(json!({
        "display_name": "Ada",
        "bio": "Neighbourhood watch",
        "avatar_url": "https://cdn.example.com/ada.png",
        "share_to_social": true
    }))
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let response = patch(json!({ "avatar_url": null })).await.unwrap();
    let profile: Value = response.json().await.unwrap();
    assert_eq!(profile["display_name"], "Ada");
    assert_eq!(profile["avatar_url"], Value::Null);
    assert_eq!(profile["share_to_social"], true);

    let page: Value = server.get_json("/v1/me/events?limit=2", &access).await;
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["seq"], 3);
    assert_eq!(events[1]["seq"], 2);
    assert_eq!(page["next_before"], 2);
    let page: Value = server
        .get_json("/v1/me/events?limit=2&before=2", &access)
        .await;
    assert_eq!(page["events"][0]["kind"]["type"], "profile_created");
    assert!(page.get("next_before").is_none());
}

#[tokio::test]
async fn restart_keeps_accounts_tokens_and_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let signed_in = server.sign_in(CITIZEN).await;
    let access = signed_in["access_token"].as_str().unwrap().to_owned();
    let response = server
        .http
        .patch(server.url("/v1/me/profile"))
        .bearer_auth(&access)
        .json(&json!({ "display_name": "Kept" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    server.stop().await;

    let server = TestServer::start(dir.path()).await;
    let profile: Value = server.get_json("/v1/me/profile", &access).await;
    assert_eq!(profile["display_name"], "Kept");
    assert_eq!(profile["account_id"], signed_in["account_id"]);
}

#[tokio::test]
async fn roster_import_with_bad_rows_reports_and_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let csv = format!(
        "phone,display_name,badge,department\n{OFFICER},Officer Diaz,4411,NYPD\nnope,Officer X,1,NYPD\n"
    );
    let response = server.import_roster(&csv).await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_rows");
    assert_eq!(body["error"]["report"]["outcome"], "rejected");
    assert_eq!(body["error"]["report"]["created"], 1);
    assert_eq!(body["error"]["report"]["problems"][0]["row"], 3);
    assert_eq!(body["error"]["report"]["problems"][0]["column"], "phone");
    let officer = server.sign_in(OFFICER).await;
    assert_eq!(officer["role"], "citizen", "nothing was imported");
}

#[tokio::test]
async fn ops_endpoints_answer() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let health = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ready: Value = server
        .http
        .get(server.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let backend = if common::test_store_is_scylla() {
        "scylla"
    } else {
        "embedded"
    };
    assert_eq!(ready["store"], backend);
    server.sign_in(CITIZEN).await;
    let metrics = server.scrape_metrics().await;
    assert!(metrics.contains("heyblue_http_requests_total"), "{metrics}");
    assert!(
        metrics.contains("route=\"/v1/auth/otp/verify\""),
        "{metrics}"
    );
    assert!(metrics.contains("heyblue_http_request_duration_seconds_bucket"));
    assert!(metrics.contains("heyblue_process_resident_memory_bytes"));
    let store_calls = format!(
        "heyblue_store_request_duration_seconds_count{{backend=\"{backend}\",operation=\"create_account\"}}"
    );
    assert!(metrics.contains(&store_calls), "{metrics}");
}

#[tokio::test]
async fn a_second_server_on_the_same_data_dir_is_refused() {
    if common::test_store_is_scylla() {
        common::report_skip("data directory lock test: the lock belongs to the embedded store");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let _server = TestServer::start(dir.path()).await;
    let config = heyblue::Config::from_toml_str(&format!(
        "data_dir = \"{}\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n",
        dir.path().join("data").display()
    ))
    .unwrap();
    let api = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics = heyblue::bind_metrics_listener(config.metrics.listen).unwrap();
    let error = heyblue::serve(
        heyblue::Listeners { api, metrics },
        config,
        heyblue::EnvironmentVariables::default(),
        std::future::pending(),
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("already in use"), "{error}");
}
