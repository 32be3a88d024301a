//! Donating points over real HTTP against a real server: a donation debits
//! once and its pledge appears in the month's statement with exact dollars
//! (JSON and CSV), every refusal code, the `Idempotency-Key` rules (replay,
//! reuse), and settling a statement twice. Points are earned by an accepted
//! connection, as the server grants them.

mod common;

use common::points::earn_points;
use common::rewards::token_of;
use common::{ADMIN_TOKEN, TestServer, error_code};
use serde_json::{Value, json};

const OFFICER_PHONE: &str = "+12125550202";
const CITIZEN_PHONE: &str = "+12125550302";
/// Points each side earns for the one connection of a scene.
const EARNED: i64 = 100;

/// A server pledging points at 1.25 cents, where an officer and a citizen
/// each hold [`EARNED`] points, with an active and a suspended charity.
struct Scene {
    server: TestServer,
    officer: String,
    citizen: String,
    charity_id: String,
    suspended_id: String,
    _dir: tempfile::TempDir,
}

async fn scene() -> Scene {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(
        dir.path(),
        &format!(
            "[connections]\ncitizen_points_per_connection = {EARNED}\n\
             officer_points_per_connection = {EARNED}\n\
             [rewards]\ndollars_per_point = \"0.0125\"\n"
        ),
    )
    .await;
    let roster =
        format!("phone,display_name,badge,department\n{OFFICER_PHONE},Officer B,442,NYPD\n");
    assert_eq!(server.import_roster(&roster).await.status(), 200);
    let officer = token_of(&server.sign_in(OFFICER_PHONE).await);
    let citizen = token_of(&server.sign_in(CITIZEN_PHONE).await);
    earn_points(&server, &officer, &citizen).await;
    // A name a spreadsheet would run, with a comma: the CSV must defuse and quote it.
    let charity = admin_create(&server, "=Meals, Inc", "active").await;
    let suspended = admin_create(&server, "Closed Shelter", "suspended").await;
    Scene {
        server,
        officer,
        citizen,
        charity_id: charity["id"].as_str().unwrap().to_owned(),
        suspended_id: suspended["id"].as_str().unwrap().to_owned(),
        _dir: dir,
    }
}

async fn admin_create(server: &TestServer, name: &str, status: &str) -> Value {
    let response = server
        .http
        .post(server.url("/v1/admin/catalog/charities"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({ "name": name, "ein": "12-3456789",
                       "description": "Meals for neighbours.", "status": status }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201, "{name}");
    response.json().await.expect("created charity")
}

/// The current UTC month, `YYYY-MM`, as the server computes it.
fn this_month(donation: &Value) -> String {
    donation["month"].as_str().unwrap().to_owned()
}

impl Scene {
    /// `POST /v1/rewards/donations` as `token` with `key` (none when `None`).
    async fn donate(&self, token: &str, key: Option<&str>, body: Value) -> reqwest::Response {
        let request = self
            .server
            .http
            .post(self.server.url("/v1/rewards/donations"))
            .bearer_auth(token)
            .json(&body);
        let request = match key {
            Some(key) => request.header("Idempotency-Key", key),
            None => request,
        };
        request.send().await.expect("request")
    }

    /// The status and code of donating `points` to `charity_id` under `key`.
    async fn refusal(&self, key: &str, charity_id: &str, points: i64) -> (u16, String) {
        let body = json!({ "charity_id": charity_id, "points": points });
        error_code(self.donate(&self.citizen, Some(key), body).await).await
    }

    async fn balance(&self, token: &str) -> i64 {
        let points = self.server.get_json("/v1/me/points", token).await;
        points["balance"].as_i64().unwrap()
    }

    /// `GET /v1/admin/rewards/statements?{query}` as the admin.
    async fn statement(&self, query: &str) -> reqwest::Response {
        self.server
            .get_authed(
                &format!("/v1/admin/rewards/statements?{query}"),
                ADMIN_TOKEN,
            )
            .await
    }

    /// `POST /v1/admin/rewards/statements/{month}/settle` as the admin.
    async fn settle(&self, month: &str) -> reqwest::Response {
        self.server
            .http
            .post(
                self.server
                    .url(&format!("/v1/admin/rewards/statements/{month}/settle")),
            )
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("request")
    }
}

#[tokio::test]
async fn a_donation_debits_once_and_its_pledge_is_in_the_statement() {
    let scene = scene().await;
    let body = json!({ "charity_id": scene.charity_id, "points": 60 });

    let first = scene
        .donate(&scene.citizen, Some("d-1"), body.clone())
        .await;
    assert_eq!(first.status(), 201);
    let donation: Value = first.json().await.unwrap();
    assert_eq!(donation["points"], 60);
    assert_eq!(donation["dollars_per_point"], "0.0125");
    assert_eq!(donation["dollars"], "0.7500", "60 × 0.0125, exact");
    assert_eq!(donation["charity_id"], scene.charity_id.as_str());
    let replay = scene
        .donate(&scene.citizen, Some("d-1"), body.clone())
        .await;
    assert_eq!(replay.status(), 201);
    assert_eq!(
        replay.json::<Value>().await.unwrap(),
        donation,
        "the same answer"
    );
    assert_eq!(
        scene.balance(&scene.citizen).await,
        EARNED - 60,
        "debited once"
    );
    let points = scene.server.get_json("/v1/me/points", &scene.citizen).await;
    assert_eq!(points["entries"][0]["reason"], "donation");
    assert_eq!(points["entries"][0]["delta"], -60);
    assert_eq!(points["entries"][0]["donation_id"], donation["donation_id"]);
    let events = scene
        .server
        .get_json("/v1/me/events?limit=50", &scene.citizen)
        .await;
    let made = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| {
            event["kind"]["type"] == "donation_made"
                && event["kind"]["donation_id"] == donation["donation_id"]
        })
        .count();
    assert_eq!(made, 1, "the profile holds the donation once: {events}");
    let officer_gives = json!({ "charity_id": scene.charity_id, "points": 33 });
    let officer = scene
        .donate(&scene.officer, Some("d-1"), officer_gives)
        .await;
    assert_eq!(officer.status(), 201, "keys are per person");

    let month = this_month(&donation);
    let statement = scene.statement(&format!("month={month}")).await;
    assert_eq!(statement.status(), 200);
    let statement: Value = statement.json().await.unwrap();
    assert_eq!(statement["month"], month.as_str());
    assert_eq!(statement["total_pledges"], 2);
    assert_eq!(statement["total_points"], 93);
    assert_eq!(
        statement["total_dollars"], "1.16",
        "1.1625 rounded to cents"
    );
    assert_eq!(statement["settled"], false);
    let lines = statement["charities"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "charities without pledges are left out");
    assert_eq!(lines[0]["charity_id"], scene.charity_id.as_str());
    assert_eq!(lines[0]["name"], "=Meals, Inc");
    assert_eq!(lines[0]["pledges"], 2);
    assert_eq!(lines[0]["points"], 93);
    assert_eq!(lines[0]["dollars"], "1.16");

    let csv = scene.statement(&format!("month={month}&format=csv")).await;
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    assert_eq!(
        text,
        format!(
            "month,charity_id,charity_name,ein,pledges,points,dollars,settled,settled_at_ms\r\n\
             {month},{},\"'=Meals, Inc\",12-3456789,2,93,1.16,false,\r\n",
            scene.charity_id
        )
    );
}

#[tokio::test]
async fn every_refusal_has_its_code_and_takes_nothing() {
    let scene = scene().await;
    let citizen = scene.citizen.as_str();
    let body = json!({ "charity_id": scene.charity_id, "points": 10 });
    assert_eq!(
        error_code(scene.donate(citizen, None, body.clone()).await).await,
        (400, "idempotency_key_required".to_owned())
    );
    assert_eq!(
        error_code(
            scene
                .donate(citizen, Some(&"k".repeat(65)), body.clone())
                .await
        )
        .await,
        (400, "invalid_idempotency_key".to_owned())
    );
    let unprocessable = |code: &str| (422, code.to_owned());
    assert_eq!(
        scene.refusal("a", &scene.charity_id, 0).await,
        unprocessable("invalid_field")
    );
    assert_eq!(
        scene.refusal("b", &scene.charity_id, 10_001).await,
        unprocessable("invalid_field")
    );
    let unknown = "00000000-0000-4000-8000-000000000000";
    assert_eq!(
        scene.refusal("c", unknown, 10).await,
        (404, "charity_not_found".to_owned())
    );
    assert_eq!(
        scene.refusal("d", &scene.suspended_id, 10).await,
        (409, "charity_not_available".to_owned())
    );
    assert_eq!(
        scene.refusal("e", &scene.charity_id, EARNED + 1).await,
        (409, "insufficient_points".to_owned())
    );
    assert_eq!(
        scene.refusal("e", &scene.charity_id, EARNED + 1).await,
        (409, "insufficient_points".to_owned()),
        "a refusal is replayed with its status"
    );
    assert_eq!(
        scene.refusal("e", &scene.charity_id, 5).await,
        unprocessable("idempotency_key_reused")
    );
    assert_eq!(
        scene.balance(citizen).await,
        EARNED,
        "no refusal took points"
    );

    let given = scene.donate(citizen, Some("f"), body.clone()).await;
    assert_eq!(given.status(), 201);
    let other_body = json!({ "charity_id": scene.charity_id, "points": 11 });
    assert_eq!(
        error_code(scene.donate(citizen, Some("f"), other_body).await).await,
        unprocessable("idempotency_key_reused")
    );
    assert_eq!(scene.balance(citizen).await, EARNED - 10);
    let signed_out = scene
        .server
        .http
        .post(scene.server.url("/v1/rewards/donations"))
        .header("Idempotency-Key", "g")
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(signed_out.status(), 401);
}

#[tokio::test]
async fn a_statement_is_settled_once_and_audited() {
    let scene = scene().await;
    let donation = scene
        .donate(
            &scene.citizen,
            Some("s-1"),
            json!({ "charity_id": scene.charity_id, "points": 20 }),
        )
        .await;
    let donation: Value = donation.json().await.unwrap();
    let month = this_month(&donation);
    assert_eq!(
        error_code(scene.settle(&month).await).await,
        (409, "month_not_over".to_owned()),
        "pledges may still come this month"
    );
    assert_eq!(
        error_code(scene.settle("2020-13").await).await,
        (422, "invalid_month".to_owned())
    );
    assert_eq!(
        error_code(scene.statement("month=2020-1").await).await,
        (422, "invalid_month".to_owned())
    );

    let first = scene.settle("2020-01").await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["month"], "2020-01");
    assert_eq!(first["newly_settled"], true);
    assert!(
        first["settled_by"]
            .as_str()
            .unwrap()
            .starts_with("admin_token@127.")
    );
    let second = scene.settle("2020-01").await;
    assert_eq!(second.status(), 200);
    let second: Value = second.json().await.unwrap();
    assert_eq!(second["newly_settled"], false);
    assert_eq!(
        second["settled_at_ms"], first["settled_at_ms"],
        "the first stands"
    );

    let statement: Value = scene.statement("month=2020-01").await.json().await.unwrap();
    assert_eq!(statement["settled"], true);
    assert_eq!(statement["settled_at_ms"], first["settled_at_ms"]);
    assert_eq!(statement["total_pledges"], 0);
    assert_eq!(statement["total_dollars"], "0.00");
    let audit: Value = scene
        .server
        .get_authed("/v1/admin/audit?limit=50", ADMIN_TOKEN)
        .await
        .json()
        .await
        .unwrap();
    let settled = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["action"] == "statement_settled")
        .count();
    assert_eq!(settled, 1, "settling again is not a new action: {audit}");
    let without_token = scene
        .server
        .http
        .get(
            scene
                .server
                .url("/v1/admin/rewards/statements?month=2020-01"),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(without_token.status(), 401);
}
