//! Imports over real HTTP: each kind's sample through
//! `POST /v1/admin/import/{kind}`, CSV or NDJSON by content type, 422 with the
//! report, 413 past the size limit, dry runs, the runs listed and read back,
//! and an officer row marked inactive ending the officer's socket at once.

mod common;

use std::time::{Duration, Instant};

use common::ws::{Format, WsClient, location, nearest_until};
use common::{ADMIN_TOKEN, TestServer, error_code};
use serde_json::{Value, json};

const OFFICER_PHONE: &str = "+12125550177";
const CITIZEN_PHONE: &str = "+12125550166";
const CITIZEN_AT: (f64, f64) = (40.758_0, -73.985_5);
const OFFICER_AT: (f64, f64) = (40.758_45, -73.985_5);
/// A small limit, so the 413 case needs no large body.
const SMALL_LIMIT: &str =
    "[identity]\notp_min_interval_seconds = 0\n[admin]\nmax_import_bytes = 4096\n";

async fn post_file(
    server: &TestServer,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let request = server
        .http
        .post(server.url(path))
        .bearer_auth(ADMIN_TOKEN)
        .body(body);
    let request = match content_type {
        Some(content_type) => request.header("content-type", content_type),
        None => request,
    };
    request.send().await.unwrap()
}

fn sample(kind: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/docs/samples/{kind}.csv",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[tokio::test]
async fn samples_import_runs_are_listed_and_bad_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), SMALL_LIMIT).await;
    for kind in ["officers", "retailers", "offers", "charities"] {
        let response = post_file(
            &server,
            &format!("/v1/admin/import/{kind}"),
            Some("text/csv"),
            sample(kind),
        )
        .await;
        assert_eq!(response.status(), 200, "{kind}");
        let report: Value = response.json().await.unwrap();
        assert_eq!(report["outcome"], "applied", "{kind}: {report}");
        assert_eq!(report["invalid"], 0, "{kind}: {report}");
    }
    let again: Value = post_file(
        &server,
        "/v1/admin/import/retailers",
        Some("text/csv; charset=utf-8"),
        sample("retailers"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        (again["created"].clone(), again["unchanged"].clone()),
        (json!(0), json!(3))
    );

    let ndjson = "{\"charity_ref\":\"c-9\",\"name\":\"Shelter\",\"ein\":\"12-0000009\",\"description\":\"Beds\"}\n";
    let dry: Value = post_file(
        &server,
        "/v1/admin/import/charities?dry_run=true",
        Some("application/x-ndjson"),
        ndjson,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        (dry["outcome"].clone(), dry["created"].clone()),
        (json!("dry_run"), json!(1))
    );

    let invalid = post_file(
        &server,
        "/v1/admin/import/charities",
        Some("text/csv"),
        "charity_ref,name,ein,description\nc-1,Bank,not-an-ein,Meals\n",
    )
    .await;
    assert_eq!(invalid.status(), 422);
    let body: Value = invalid.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_rows");
    let problem = &body["error"]["report"]["problems"][0];
    assert_eq!(
        (
            problem["row"].clone(),
            problem["column"].clone(),
            problem["code"].clone()
        ),
        (json!(2), json!("ein"), json!("constraint_error"))
    );

    let too_big = post_file(
        &server,
        "/v1/admin/import/charities",
        Some("text/csv"),
        "x".repeat(5_000),
    )
    .await;
    assert_eq!(error_code(too_big).await, (413, "payload_too_large".into()));
    let untyped = post_file(&server, "/v1/admin/import/charities", None, "a,b\n").await;
    assert_eq!(
        error_code(untyped).await,
        (415, "unsupported_media_type".into())
    );
    let unknown = post_file(&server, "/v1/admin/import/ponies", Some("text/csv"), "a\n").await;
    assert_eq!(
        error_code(unknown).await,
        (404, "unknown_import_kind".into())
    );

    let runs: Value = server
        .get_authed("/v1/admin/imports?limit=3", ADMIN_TOKEN)
        .await
        .json()
        .await
        .unwrap();
    let runs = runs["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0]["state"], "rejected", "newest first");
    assert_eq!(runs[1]["state"], "dry_run");
    assert!(runs[0]["actor"].as_str().unwrap().starts_with("admin@"));
    let id = runs[2]["run_id"].as_str().unwrap();
    let run: Value = server
        .get_authed(&format!("/v1/admin/imports/{id}"), ADMIN_TOKEN)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(run["kind"], "retailers");
    assert_eq!(run["report"]["unchanged"], 3);
    assert_eq!(run["report"]["file_sha256"].as_str().unwrap().len(), 64);
    let missing = server
        .get_authed(
            &format!("/v1/admin/imports/{}", uuid::Uuid::new_v4()),
            ADMIN_TOKEN,
        )
        .await;
    assert_eq!(error_code(missing).await, (404, "import_not_found".into()));
    let schema: Value = server
        .get_authed("/v1/admin/import/offers/schema", ADMIN_TOKEN)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(schema["columns"][0]["name"], "offer_ref");
    assert_eq!(schema["columns"][0]["type"], "reference");
}

#[tokio::test]
async fn an_inactive_officer_row_closes_the_officers_socket_and_keeps_their_history() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), SMALL_LIMIT).await;
    let roster = |active: &str| {
        format!(
            "phone,display_name,badge,department,active\n{OFFICER_PHONE},Officer Reyes,5120,NYPD,{active}\n"
        )
    };
    let imported = post_file(
        &server,
        "/v1/admin/import/officers",
        Some("text/csv"),
        roster("true"),
    )
    .await;
    assert_eq!(imported.status(), 200);
    let officer_signed_in = server.sign_in(OFFICER_PHONE).await;
    assert_eq!(officer_signed_in["role"], "officer");
    let officer_id = officer_signed_in["account_id"].clone();
    let citizen_signed_in = server.sign_in(CITIZEN_PHONE).await;
    let ws_url = server.base_url.replace("http://", "ws://") + "/v1/ws";
    let mut officer = WsClient::connect(
        &ws_url,
        officer_signed_in["access_token"].as_str(),
        Format::Json,
    )
    .await
    .unwrap();
    assert_eq!(officer.next_message().await["t"], "welcome");
    officer.send(location(OFFICER_AT)).await;
    officer.send(json!({ "t": "go_available" })).await;
    officer.next_of("availability").await;
    let mut citizen = WsClient::connect(
        &ws_url,
        citizen_signed_in["access_token"].as_str(),
        Format::Json,
    )
    .await
    .unwrap();
    assert_eq!(citizen.next_message().await["t"], "welcome");
    citizen.send(location(CITIZEN_AT)).await;
    nearest_until(&mut citizen, |nearest| !nearest.is_null()).await;

    let left = post_file(
        &server,
        "/v1/admin/import/officers",
        Some("text/csv"),
        roster("false"),
    )
    .await;
    assert_eq!(left.status(), 200);
    let report: Value = left.json().await.unwrap();
    assert_eq!(
        (report["updated"].clone(), report["roster_size"].clone()),
        (json!(1), json!(0))
    );
    let started = Instant::now();
    assert_eq!(officer.expect_close().await, Some(4011));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    nearest_until(&mut citizen, Value::is_null).await;

    let again = server.sign_in(OFFICER_PHONE).await;
    assert_eq!(
        again["account_id"], officer_id,
        "the account and its history stay"
    );
    assert_eq!(again["role"], "citizen", "the next sign-in is a citizen's");
}
