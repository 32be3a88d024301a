//! Reports over real HTTP against a real server: connections made over the
//! WebSocket show up in the aggregates at once, at every area level and per
//! role, as JSON and as CSV, behind the admin token, with small counts
//! withheld.

mod common;

use common::points::earn_points;
use common::rewards::token_of;
use common::{ADMIN_TOKEN, ANALYST_TOKEN, TestServer, error_code};
use serde_json::Value;

const OFFICER_PHONE: &str = "+12125550209";
const CITIZEN_PHONES: [&str; 5] = [
    "+12125550311",
    "+12125550312",
    "+12125550313",
    "+12125550314",
    "+12125550315",
];

async fn report(server: &TestServer, query: &str) -> Value {
    let response = server
        .http
        .get(server.url(&format!("/v1/admin/reports/{query}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{query}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn connections_are_reported_by_area_and_role_with_small_counts_withheld() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(
        dir.path(),
        "[admin]\nmin_report_cell_count = 5\n[connections]\ncitizen_points_per_connection = 10\n\
         officer_points_per_connection = 4\n",
    )
    .await;
    let roster =
        format!("phone,display_name,badge,department\n{OFFICER_PHONE},Officer R,512,NYPD\n");
    assert_eq!(server.import_roster(&roster).await.status(), 200);
    let officer = token_of(&server.sign_in(OFFICER_PHONE).await);
    for phone in CITIZEN_PHONES {
        let citizen = token_of(&server.sign_in(phone).await);
        earn_points(&server, &officer, &citizen).await;
    }

    let nation = report(&server, "connections?area=nation").await;
    assert_eq!(nation["threshold"], 5);
    assert_eq!(nation["total"]["value"], 5);
    assert_eq!(nation["rows"].as_array().unwrap().len(), 1);
    assert_eq!(nation["rows"][0]["value"], 5);
    assert_eq!(nation["previous_total"]["value"], 0);

    let by_zip = report(&server, "participants?area=zip&role=citizen").await;
    // The ZIP of the officer's coarse cell, near Times Square.
    assert_eq!(by_zip["rows"].as_array().unwrap().len(), 1);
    let zip = by_zip["rows"][0]["area"].as_str().unwrap().to_owned();
    assert!(zip.len() == 5 && zip.starts_with("10"), "{zip}");
    assert_eq!(by_zip["rows"][0]["value"], 5);
    let officers = report(&server, "participants?area=zip3&role=officer").await;
    assert_eq!(officers["rows"][0]["area"], zip[..3]);
    assert_eq!(
        officers["rows"][0]["value"],
        Value::Null,
        "one officer is withheld"
    );
    assert_eq!(officers["rows"][0]["suppressed"], true);
    assert_eq!(officers["total"]["suppressed"], true);

    let credited = report(&server, "points_credited?area=zip3&role=citizen&top=3").await;
    assert_eq!(credited["total"]["value"], 50);
    assert_eq!(credited["top_areas"][0]["area"], zip[..3]);
    assert_eq!(credited["top_areas"][0]["value"], 50);
    let by_hour = report(&server, "connections?group_by=hour_of_day&area=region").await;
    assert_eq!(by_hour["rows"][0]["area"], "unassigned");

    let csv = server
        .http
        .get(server.url("/v1/admin/reports/connections?area=zip"))
        .header("Accept", "text/csv")
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("period,area,value,suppressed"));
    assert!(lines.next().unwrap().ends_with(&format!(",{zip},5,false")));
    assert_eq!(lines.next(), Some("total,,5,false"));
    let suffixed = server
        .http
        .get(server.url("/v1/admin/reports/connections.csv"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert!(suffixed.text().await.unwrap().starts_with("period,area"));

    // The metrics kept per partner answer with a partner column, even empty.
    let pledges = server
        .http
        .get(server.url("/v1/admin/reports/pledges.csv?area=nation"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(pledges.status(), 200);
    assert_eq!(
        pledges.text().await.unwrap(),
        "period,area,partner,value,suppressed\r\ntotal,,,0,false\r\n"
    );
    let vouchers = report(&server, "vouchers_issued?area=nation").await;
    assert_eq!(vouchers["rows"].as_array().unwrap().len(), 0);
    let minutes = report(&server, "availability_minutes?area=zip&role=officer").await;
    assert_eq!(minutes["metric"], "availability_minutes");
}

#[tokio::test]
async fn reports_need_the_admin_token_or_the_analyst_key_and_a_known_metric() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let anonymous = server
        .http
        .get(server.url("/v1/admin/reports/connections"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let unknown = server
        .http
        .get(server.url("/v1/admin/reports/phones"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(unknown).await,
        (404, "unknown_metric".to_owned())
    );
    let analyst = server
        .http
        .get(server.url("/v1/admin/reports/connections?area=nation"))
        .bearer_auth(ANALYST_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(analyst.status(), 200, "the analyst key reads reports");
    let analyst_elsewhere = server
        .http
        .get(server.url("/v1/admin/audit"))
        .bearer_auth(ANALYST_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(analyst_elsewhere).await,
        (403, "forbidden".to_owned()),
        "and nothing else"
    );
    let stranger = server
        .http
        .get(server.url("/v1/admin/reports/connections"))
        .bearer_auth("not-a-key")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(stranger).await, (403, "forbidden".to_owned()));
    let backwards = server
        .http
        .get(server.url("/v1/admin/reports/connections?from=2026-12-05&to=2026-12-01"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(backwards).await,
        (400, "invalid_query".to_owned())
    );
}
