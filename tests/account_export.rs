//! `GET /v1/me/export`: a person gets everything held about them (and
//! nothing about anyone else), at most three times an hour.

mod common;

use common::points::earn_points;
use common::rewards::token_of;
use common::{TestServer, error_code};
use serde_json::{Value, json};

const OFFICER_PHONE: &str = "+12125550211";
const CITIZEN_PHONE: &str = "+12125550311";

async fn export(server: &TestServer, token: &str) -> reqwest::Response {
    server.get_authed("/v1/me/export", token).await
}

#[tokio::test]
async fn a_person_exports_their_account_profile_ledger_and_connections_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(
        dir.path(),
        "[connections]\ncitizen_points_per_connection = 10\nofficer_points_per_connection = 20\n",
    )
    .await;
    let roster =
        format!("phone,display_name,badge,department\n{OFFICER_PHONE},Officer A,441,NYPD\n");
    assert_eq!(server.import_roster(&roster).await.status(), 200);
    let officer = token_of(&server.sign_in(OFFICER_PHONE).await);
    let citizen = token_of(&server.sign_in(CITIZEN_PHONE).await);
    let renamed = server
        .http
        .patch(server.url("/v1/me/profile"))
        .bearer_auth(&citizen)
        .json(&json!({ "display_name": "Neighbour Nia" }))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), 200);
    earn_points(&server, &officer, &citizen).await;

    let response = export(&server, &citizen).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["cache-control"],
        "no-store",
        "personal data is never cached"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["complete"], true, "{body}");
    assert_eq!(body["account"]["phone"], CITIZEN_PHONE, "{body}");
    assert_eq!(body["account"]["role"], "citizen", "{body}");
    assert_eq!(body["profile"]["display_name"], "Neighbour Nia", "{body}");
    let events = body["profile_events"].as_array().expect("events");
    assert!(events.len() >= 2, "account created and renamed: {body}");
    assert_eq!(body["balance"], 10, "{body}");
    assert_eq!(body["ledger"].as_array().map(Vec::len), Some(1), "{body}");
    let connections = body["connections"].as_array().expect("connections");
    assert_eq!(connections.len(), 1, "{body}");
    assert_eq!(connections[0]["peer_role"], "officer");
    assert_eq!(connections[0]["points"], 10);
    assert!(body["vouchers"].as_array().is_some_and(Vec::is_empty));
    let text = body.to_string();
    assert!(
        !text.contains(OFFICER_PHONE) && !text.contains("Officer A"),
        "nothing about the other person: {text}"
    );

    let officer_body: Value = export(&server, &officer).await.json().await.unwrap();
    assert_eq!(officer_body["account"]["phone"], OFFICER_PHONE);
    assert_eq!(officer_body["account"]["role"], "officer");
    assert_eq!(officer_body["balance"], 20);
    assert!(
        !officer_body.to_string().contains(CITIZEN_PHONE)
            && !officer_body.to_string().contains("Neighbour Nia"),
        "{officer_body}"
    );
    server.stop().await;
}

#[tokio::test]
async fn exports_are_limited_per_account_and_need_a_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let signed_in = server.sign_in(CITIZEN_PHONE).await;
    let first = token_of(&signed_in);
    for _ in 0..3 {
        assert_eq!(export(&server, &first).await.status(), 200);
    }
    let refused = export(&server, &first).await;
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(error_code(refused).await, (429, "rate_limited".to_owned()));

    // A new token for the same account has the same spent allowance.
    let refreshed: Value = server
        .post_json(
            "/v1/auth/refresh",
            json!({ "refresh_token": signed_in["refresh_token"] }),
        )
        .await
        .json()
        .await
        .unwrap();
    let again = token_of(&refreshed);
    assert_ne!(again, first);
    assert_eq!(export(&server, &again).await.status(), 429);
    // Another person has their own.
    let other = token_of(&server.sign_in("+12125550312").await);
    assert_eq!(export(&server, &other).await.status(), 200);

    let anonymous = server
        .http
        .get(server.url("/v1/me/export"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    server.stop().await;
}
