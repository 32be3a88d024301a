//! Input hygiene over a real server: display names and bios refuse invisible
//! format characters and control characters, names are stored NFC-normalised,
//! and roster cells that a spreadsheet would run as formulas are refused.

mod common;

use common::TestServer;
use serde_json::{Value, json};

const CITIZEN: &str = "+12025550150";

async fn patch_profile(server: &TestServer, token: &str, body: Value) -> (u16, Value) {
    let response = server
        .http
        .patch(server.url("/v1/me/profile"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn names_and_bios_refuse_invisible_and_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let signed_in = server.sign_in(CITIZEN).await;
    let token = signed_in["access_token"].as_str().unwrap();
    for name in [
        "Bob\u{202E}nhoj",     // right-to-left override
        "Ann\u{200B}a",        // zero-width space
        "\u{FEFF}Zed",         // byte order mark
        "\u{200D}\u{200C}",    // nothing visible
        "Tab\tbed",            // control character
        "Bell\u{7}",           // control character
        "\u{2066}Iso\u{2069}", // bidi isolates
    ] {
        let (status, body) = patch_profile(&server, token, json!({ "display_name": name })).await;
        assert_eq!(status, 422, "{name:?}: {body}");
        assert_eq!(body["error"]["code"], "invalid_field", "{name:?}");
    }
    for bio in ["ok\u{202E}", "zero\u{200B}width", "bell\u{7}", "cr\rlf"] {
        let (status, body) = patch_profile(&server, token, json!({ "bio": bio })).await;
        assert_eq!(status, 422, "{bio:?}: {body}");
    }
    let (status, body) = patch_profile(
        &server,
        token,
        json!({ "bio": "Line one\nLine two, with accents: café, Łódź" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for name in [
        "José Müller",
        "Zoë",
        "Nguyễn Thị Minh Khai",
        "Αλέξης",
        "李小龍",
    ] {
        let (status, body) = patch_profile(&server, token, json!({ "display_name": name })).await;
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(body["display_name"], name);
    }
    // "Zoë" written with a combining diaeresis is stored in its composed form.
    let (status, body) =
        patch_profile(&server, token, json!({ "display_name": "Zoe\u{308}" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["display_name"], "Zo\u{EB}");
}

#[tokio::test]
async fn roster_cells_that_would_run_as_formulas_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let csv = "phone,display_name,badge,department\n\
               +12025550160,=HYPERLINK(\"https://evil.example\"),1,NYPD\n\
               +12025550161,Officer Ruiz,+42,NYPD\n\
               +12025550162,Officer Kim,7,-Precinct\n\
               +12025550163,Officer Lee,8,@SUM(A1)\n\
               +12025550164,\"\tOfficer Tab\",9,NYPD\n\
               +12025550165,\"\rOfficer Cr\",10,NYPD\n";
    let response = server.import_roster(csv).await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_rows");
    let problems = body["error"]["report"]["problems"].as_array().unwrap();
    let columns: Vec<(u64, &str)> = problems
        .iter()
        .map(|problem| {
            (
                problem["row"].as_u64().unwrap(),
                problem["column"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    for expected in [
        (2, "display_name"),
        (3, "badge"),
        (4, "department"),
        (5, "department"),
        (6, "display_name"),
        (7, "display_name"),
    ] {
        assert!(columns.contains(&expected), "{expected:?} in {columns:?}");
    }
    assert!(
        !columns.iter().any(|(_, column)| *column == "phone"),
        "+1 phones are phones: {columns:?}"
    );
    let fine = server
        .import_roster(
            "phone,display_name,badge,department\n+12025550166,José Müller,4411,NYPD 1st Precinct\n",
        )
        .await;
    assert_eq!(fine.status(), 200, "{}", fine.text().await.unwrap());
}
