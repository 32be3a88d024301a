//! `DELETE /v1/me`: a person deletes their account with a fresh one-time code.
//! Afterwards their sign-ins are refused and their socket is closed, no row of
//! the store (embedded, or every table of the CQL keyspace) holds their name,
//! bio, phone or push token, the other party still sees the connection, and the phone
//! signs up afresh as a new account. The reports read the same before and after,
//! and no line of the server's log, at debug level, ever names the person.

mod common;

use common::points::earn_points;
use common::process::ServerProcess;
use common::rewards::token_of;
use common::ws::{Format, WsClient};
use common::{TestServer, error_code, test_store_is_scylla};
use serde_json::{Value, json};

const OFFICER_PHONE: &str = "+12125550212";
const CITIZEN_PHONE: &str = "+12125550312";
const CITIZEN_NAME: &str = "Zelda Quackenbush";
const CITIZEN_BIO: &str = "Walks her beagle past the bakery at dawn";
const PUSH_TOKEN: &str = "push-token-zelda-0123456789";

async fn delete_me(server: &TestServer, token: &str, code: &str) -> reqwest::Response {
    server
        .http
        .delete(server.url("/v1/me"))
        .bearer_auth(token)
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap()
}

/// Gives the citizen signed in with `token` the name and bio the scans look for.
async fn name_the_citizen(server: &TestServer, token: &str) {
    let edited = server
        .http
        .patch(server.url("/v1/me/profile"))
        .bearer_auth(token)
        .json(&json!({ "display_name": CITIZEN_NAME, "bio": CITIZEN_BIO }))
        .send()
        .await
        .unwrap();
    assert_eq!(edited.status(), 200);
}

async fn request_code(server: &TestServer, phone: &str) -> String {
    let response = server
        .post_json("/v1/auth/otp/request", json!({ "phone": phone }))
        .await;
    assert_eq!(response.status(), 202);
    server.last_code_for(phone)
}

#[tokio::test]
async fn a_deleted_account_leaves_no_personal_field_in_any_row() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(
        dir.path(),
        "[identity]\notp_min_interval_seconds = 0\n\
         [connections]\ncitizen_points_per_connection = 10\nofficer_points_per_connection = 20\n",
    )
    .await;
    let roster =
        format!("phone,display_name,badge,department\n{OFFICER_PHONE},Officer B,442,NYPD\n");
    assert_eq!(server.import_roster(&roster).await.status(), 200);
    let officer = token_of(&server.sign_in(OFFICER_PHONE).await);
    let signed_in = server.sign_in(CITIZEN_PHONE).await;
    let citizen = token_of(&signed_in);
    let old_account = signed_in["account_id"].as_str().unwrap().to_owned();
    let refresh = signed_in["refresh_token"].as_str().unwrap().to_owned();
    name_the_citizen(&server, &citizen).await;
    let device = server
        .http
        .post(server.url("/v1/me/devices"))
        .bearer_auth(&citizen)
        .json(&json!({ "platform": "ios", "token": PUSH_TOKEN }))
        .send()
        .await
        .unwrap();
    assert_eq!(device.status(), 201);
    earn_points(&server, &officer, &citizen).await;
    let ws_url = server.base_url.replace("http://", "ws://") + "/v1/ws";
    let mut socket = WsClient::connect(&ws_url, Some(&citizen), Format::Json)
        .await
        .expect("upgrade accepted");
    assert_eq!(socket.next_message().await["t"], "welcome");

    // A token alone deletes nothing: the code must be right.
    let (status, code) = error_code(delete_me(&server, &citizen, "000000").await).await;
    assert_eq!(
        (status, code.as_str()),
        (401, "invalid_code"),
        "no code was asked for"
    );
    let (status, _) = error_code(delete_me(&server, &citizen, "12345").await).await;
    assert_eq!(status, 422, "a malformed code is refused");
    let profile = server.get_json("/v1/me/profile", &citizen).await;
    assert_eq!(profile["display_name"], CITIZEN_NAME, "nothing was deleted");

    let code = request_code(&server, CITIZEN_PHONE).await;
    let deleted = delete_me(&server, &citizen, &code).await;
    assert_eq!(deleted.status(), 204, "{}", deleted.text().await.unwrap());

    assert!(
        socket.expect_close().await.is_some(),
        "the open socket is closed"
    );
    assert_eq!(
        server.get_authed("/v1/me/profile", &citizen).await.status(),
        401,
        "the access token is refused at once"
    );
    let refreshed = server
        .post_json("/v1/auth/refresh", json!({ "refresh_token": refresh }))
        .await;
    assert_eq!(refreshed.status(), 401, "the sign-in is revoked");

    let officer_view = server.get_json("/v1/me/connections", &officer).await;
    let connections = officer_view["connections"].as_array().expect("connections");
    assert_eq!(
        connections.len(),
        1,
        "the officer keeps the connection: {officer_view}"
    );
    assert_eq!(
        server.get_json("/v1/me/points", &officer).await["balance"],
        20,
        "and the points"
    );

    // The phone signs up afresh, as someone new.
    let again = server.sign_in(CITIZEN_PHONE).await;
    assert_ne!(again["account_id"].as_str(), Some(old_account.as_str()));
    let fresh = server.get_json("/v1/me/profile", &token_of(&again)).await;
    assert_ne!(fresh["display_name"], CITIZEN_NAME, "{fresh}");
    assert_eq!(
        server.get_json("/v1/me/points", &token_of(&again)).await["balance"],
        0
    );

    let keyspace = std::fs::read_to_string(dir.path().join("scylla_keyspace")).ok();
    let data_dir = server.data_dir.clone();
    server.stop().await;
    let needles = [CITIZEN_NAME, CITIZEN_BIO, CITIZEN_PHONE, PUSH_TOKEN];
    if test_store_is_scylla() {
        let keyspace = keyspace.expect("a scylla test server names its keyspace");
        let holding = cql_tables_holding(&keyspace, &needles).await;
        assert!(
            holding.is_empty(),
            "rows still hold personal fields: {holding:?}"
        );
    } else {
        let bytes: Vec<&[u8]> = needles.iter().map(|needle| needle.as_bytes()).collect();
        let scan = heyblue::scan_rows(&data_dir, &bytes).expect("the store scans");
        assert!(scan.unknown_tables.is_empty(), "unscanned tables: {scan:?}");
        assert!(
            scan.tables_holding.is_empty(),
            "rows still hold personal fields: {scan:?}"
        );
    }
}

/// The tables of `keyspace` with a row holding one of `needles` (in a text
/// column, a blob, or any other value's printed form).
async fn cql_tables_holding(keyspace: &str, needles: &[&str]) -> Vec<String> {
    use scylla::value::{CqlValue, Row};
    let uri = std::env::var("HEYBLUE_SCYLLA_URI").expect("HEYBLUE_SCYLLA_URI");
    let node = uri.split(',').next().unwrap().trim().to_owned();
    let session = scylla::client::session_builder::SessionBuilder::new()
        .known_node(node)
        .build()
        .await
        .expect("the CQL node answers");
    let tables: Vec<String> = session
        .query_unpaged(
            "SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?",
            (keyspace,),
        )
        .await
        .unwrap()
        .into_rows_result()
        .unwrap()
        .rows::<(String,)>()
        .unwrap()
        .map(|row| row.unwrap().0)
        .collect();
    assert!(
        tables.len() > 20,
        "the keyspace's tables are listed: {tables:?}"
    );
    let holds = |value: &CqlValue| match value {
        CqlValue::Text(text) | CqlValue::Ascii(text) => {
            needles.iter().any(|needle| text.contains(needle))
        }
        CqlValue::Blob(bytes) => needles.iter().any(|needle| {
            bytes
                .windows(needle.len())
                .any(|window| window == needle.as_bytes())
        }),
        other => {
            let printed = format!("{other:?}");
            needles.iter().any(|needle| printed.contains(needle))
        }
    };
    let mut holding = Vec::new();
    for table in tables {
        let mut statement = scylla::statement::unprepared::Statement::new(format!(
            "SELECT * FROM {keyspace}.{table}"
        ));
        statement.set_page_size(1_000);
        let mut pages = session
            .query_iter(statement, ())
            .await
            .unwrap()
            .rows_stream::<Row>()
            .unwrap();
        while let Some(row) = futures::StreamExt::next(&mut pages).await {
            let row = row.unwrap();
            if row.columns.iter().flatten().any(holds) {
                holding.push(table.clone());
                break;
            }
        }
    }
    holding
}

/// Citizens who connect with the officer in the reports test: enough for
/// every count to clear the reports' floor of 5.
const REPORTED_CITIZENS: [&str; 5] = [
    "+12125550331",
    "+12125550332",
    "+12125550333",
    "+12125550334",
    "+12125550335",
];

/// The parts of a report a deletion must not change.
async fn report_numbers(server: &TestServer, query: &str) -> Value {
    let report = server
        .get_json(&format!("/v1/admin/reports/{query}"), common::ADMIN_TOKEN)
        .await;
    json!({ "rows": report["rows"], "total": report["total"] })
}

#[tokio::test]
async fn a_deletion_leaves_the_reports_as_they_were_and_no_log_line_names_the_person() {
    let root = tempfile::tempdir().unwrap();
    let mut process = ServerProcess::start_logging(
        root.path(),
        "[identity]\notp_min_interval_seconds = 0\n\
         [admin]\nmin_report_cell_count = 5\n",
        "debug",
    )
    .await;
    let server = &process.api;
    let roster =
        format!("phone,display_name,badge,department\n{OFFICER_PHONE},Officer B,442,NYPD\n");
    assert_eq!(server.import_roster(&roster).await.status(), 200);
    let officer = token_of(&server.sign_in(OFFICER_PHONE).await);
    let mut deleted = String::new();
    for (index, phone) in REPORTED_CITIZENS.into_iter().enumerate() {
        let citizen = token_of(&server.sign_in(phone).await);
        if index == 0 {
            name_the_citizen(server, &citizen).await;
            deleted = citizen.clone();
        }
        earn_points(server, &officer, &citizen).await;
    }
    let queries = [
        "connections?area=nation",
        "participants?area=zip&role=citizen",
        "points_credited?area=zip3&role=citizen",
    ];
    let mut before = Vec::new();
    for query in queries {
        before.push(report_numbers(server, query).await);
    }
    assert_eq!(before[0]["total"]["value"], 5, "{before:?}");

    let code = request_code(server, REPORTED_CITIZENS[0]).await;
    let answer = delete_me(server, &deleted, &code).await;
    assert_eq!(answer.status(), 204);
    for (query, before) in queries.into_iter().zip(&before) {
        assert_eq!(
            &report_numbers(server, query).await,
            before,
            "{query} after the deletion"
        );
    }
    process.kill();

    let log = std::fs::read_to_string(root.path().join("server.log")).unwrap();
    assert!(
        log.lines().count() > 20,
        "the log was written at debug level"
    );
    let phone = REPORTED_CITIZENS[0];
    for needle in [phone, &phone[1..], &phone[2..], CITIZEN_NAME, CITIZEN_BIO] {
        let naming: Vec<&str> = log.lines().filter(|line| line.contains(needle)).collect();
        assert!(naming.is_empty(), "log lines name the person: {naming:?}");
    }
}

#[tokio::test]
async fn a_deletion_is_refused_without_a_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let response = server
        .http
        .delete(server.url("/v1/me"))
        .json(&json!({ "code": "123456" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let signed_in: Value = server.sign_in(CITIZEN_PHONE).await;
    let (status, _) = error_code(
        server
            .http
            .delete(server.url("/v1/me"))
            .bearer_auth(token_of(&signed_in))
            .json(&json!({ "otp": "123456" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422, "a body without `code` is refused");
    server.stop().await;
}
