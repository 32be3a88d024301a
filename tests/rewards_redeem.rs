//! Redeeming points over real HTTP against a real server: every refusal code,
//! the `Idempotency-Key` rules (replay, reuse), the caller's voucher list, and
//! cancelling with a refund made once. Points are earned the only way the
//! server grants them: an officer accepts a citizen's connection.

mod common;

use common::points::earn_points;
use common::rewards::{admin_create, now_ms, token_of};
use common::{TestServer, error_code};
use serde_json::{Value, json};

const OFFICER_PHONE: &str = "+12125550201";
const CITIZEN_PHONE: &str = "+12125550301";
/// Points each side earns for the one connection of a scene.
const EARNED: i64 = 100;
const DAY_MS: i64 = 86_400_000;

/// A server where an officer and a citizen each hold [`EARNED`] points, and a
/// retailer to hang offers on.
struct Scene {
    server: TestServer,
    officer: String,
    citizen: String,
    retailer_id: String,
    _dir: tempfile::TempDir,
}

async fn scene() -> Scene {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(
        dir.path(),
        &format!(
            "[connections]\ncitizen_points_per_connection = {EARNED}\n\
             officer_points_per_connection = {EARNED}\n"
        ),
    )
    .await;
    let roster =
        format!("phone,display_name,badge,department\n{OFFICER_PHONE},Officer A,441,NYPD\n");
    assert_eq!(server.import_roster(&roster).await.status(), 200);
    let officer = token_of(&server.sign_in(OFFICER_PHONE).await);
    let citizen = token_of(&server.sign_in(CITIZEN_PHONE).await);
    earn_points(&server, &officer, &citizen).await;
    let retailer = admin_create(
        &server,
        "retailers",
        json!({ "name": "Corner Cafe", "address": "1 Main Street", "zip": "10001",
                "contact": "owner@example.com" }),
    )
    .await;
    Scene {
        server,
        officer,
        citizen,
        retailer_id: retailer["id"].as_str().unwrap().to_owned(),
        _dir: dir,
    }
}

impl Scene {
    /// Creates an offer of the scene's retailer in prefix 100; `extra` fields
    /// override the defaults (cost 40, 5 units, no limit, status active).
    async fn offer(&self, extra: Value) -> String {
        let mut body = json!({
            "kind": "offer", "issuer_id": self.retailer_id, "title": "Free coffee",
            "description": "One small coffee.", "point_cost": 40, "area": ["100"],
            "valid_from_ms": now_ms() - DAY_MS, "valid_until_ms": now_ms() + 30 * DAY_MS,
            "total_quantity": 5, "voucher_lifetime_seconds": 86_400
        });
        for (field, value) in extra.as_object().unwrap() {
            body[field] = value.clone();
        }
        let created = admin_create(&self.server, "offers", body).await;
        created["id"].as_str().unwrap().to_owned()
    }

    /// `POST /v1/rewards/redemptions` as `token` with `key` (none when `None`).
    async fn redeem(&self, token: &str, key: Option<&str>, body: Value) -> reqwest::Response {
        let request = self
            .server
            .http
            .post(self.server.url("/v1/rewards/redemptions"))
            .bearer_auth(token)
            .json(&body);
        let request = match key {
            Some(key) => request.header("Idempotency-Key", key),
            None => request,
        };
        request.send().await.expect("request")
    }

    /// The refusal code of redeeming `offer_id` from `zip`.
    async fn refusal(&self, token: &str, key: &str, offer_id: &str, zip: &str) -> (u16, String) {
        let response = self
            .redeem(
                token,
                Some(key),
                json!({ "offer_id": offer_id, "zip": zip }),
            )
            .await;
        error_code(response).await
    }

    async fn balance(&self, token: &str) -> i64 {
        let points = self.server.get_json("/v1/me/points", token).await;
        points["balance"].as_i64().unwrap()
    }
}

#[tokio::test]
async fn every_refusal_has_its_code() {
    let scene = scene().await;
    let citizen = scene.citizen.as_str();
    let coffee = scene
        .offer(json!({ "per_person_limit": { "count": 1, "per": "day" } }))
        .await;
    let last_unit = scene.offer(json!({ "total_quantity": 1 })).await;
    let suspended = scene.offer(json!({ "status": "suspended" })).await;
    let not_yet = scene
        .offer(
            json!({ "valid_from_ms": now_ms() + DAY_MS, "valid_until_ms": now_ms() + 2 * DAY_MS }),
        )
        .await;
    let expensive = scene.offer(json!({ "point_cost": 500 })).await;
    let elsewhere = scene.offer(json!({ "area": ["200"] })).await;

    let body = json!({ "offer_id": coffee, "zip": "10001" });
    assert_eq!(
        error_code(scene.redeem(citizen, None, body.clone()).await).await,
        (400, "idempotency_key_required".to_owned())
    );
    let too_long = "k".repeat(65);
    assert_eq!(
        error_code(scene.redeem(citizen, Some(&too_long), body.clone()).await).await,
        (400, "invalid_idempotency_key".to_owned())
    );
    assert_eq!(
        error_code(
            scene
                .redeem(
                    citizen,
                    Some("z"),
                    json!({ "offer_id": coffee, "zip": "1001" })
                )
                .await
        )
        .await,
        (422, "invalid_field".to_owned())
    );
    let conflict = |code: &str| (409, code.to_owned());
    assert_eq!(
        scene.refusal(citizen, "a", &expensive, "10001").await,
        conflict("insufficient_points")
    );
    assert_eq!(
        scene.refusal(citizen, "b", &suspended, "10001").await,
        conflict("offer_not_available")
    );
    assert_eq!(
        scene.refusal(citizen, "c", &not_yet, "10001").await,
        conflict("offer_not_available")
    );
    let unknown = "00000000-0000-4000-8000-000000000000";
    assert_eq!(
        scene.refusal(citizen, "d", unknown, "10001").await,
        conflict("offer_not_available")
    );
    assert_eq!(
        scene.refusal(citizen, "e", &elsewhere, "10001").await,
        conflict("not_in_your_area")
    );
    assert_eq!(
        scene.refusal(citizen, "f", &coffee, "20001").await,
        conflict("not_in_your_area")
    );

    let first = scene.redeem(citizen, Some("g"), body.clone()).await;
    assert_eq!(first.status(), 201);
    assert_eq!(
        scene.refusal(citizen, "h", &coffee, "10001").await,
        conflict("redemption_limit_reached")
    );

    let officer_took_it = scene
        .redeem(
            &scene.officer,
            Some("i"),
            json!({ "offer_id": last_unit, "zip": "10001" }),
        )
        .await;
    assert_eq!(officer_took_it.status(), 201, "officers may redeem too");
    assert_eq!(
        scene.refusal(citizen, "j", &last_unit, "10001").await,
        conflict("out_of_stock")
    );
    assert_eq!(scene.balance(citizen).await, EARNED - 40, "one debit");
    assert_eq!(scene.balance(&scene.officer).await, EARNED - 40);
}

#[tokio::test]
async fn a_key_replays_its_answer_and_a_cancel_refunds_once() {
    let scene = scene().await;
    let citizen = scene.citizen.as_str();
    let coffee = scene.offer(json!({})).await;
    let tea = scene.offer(json!({})).await;
    let body = json!({ "offer_id": coffee, "zip": "10001" });

    let first = scene.redeem(citizen, Some("key-1"), body.clone()).await;
    assert_eq!(first.status(), 201);
    let voucher: Value = first.json().await.unwrap();
    assert_eq!(voucher["status"], "issued");
    assert_eq!(voucher["points"], 40);
    assert_eq!(voucher["offer_id"], coffee.as_str());
    let lifetime_ms =
        voucher["expires_at_ms"].as_i64().unwrap() - voucher["issued_at_ms"].as_i64().unwrap();
    assert_eq!(lifetime_ms, DAY_MS);
    let replay = scene.redeem(citizen, Some("key-1"), body.clone()).await;
    assert_eq!(replay.status(), 201);
    assert_eq!(
        replay.json::<Value>().await.unwrap(),
        voucher,
        "the same answer"
    );
    assert_eq!(scene.balance(citizen).await, EARNED - 40, "debited once");
    assert_eq!(
        error_code(
            scene
                .redeem(
                    citizen,
                    Some("key-1"),
                    json!({ "offer_id": tea, "zip": "10001" })
                )
                .await
        )
        .await,
        (422, "idempotency_key_reused".to_owned())
    );
    let refused = scene.refusal(citizen, "key-2", &tea, "20001").await;
    assert_eq!(refused, (409, "not_in_your_area".to_owned()));
    assert_eq!(
        scene.refusal(citizen, "key-2", &tea, "20001").await,
        refused,
        "a refusal is replayed with its status"
    );
    let other_person = scene
        .redeem(
            &scene.officer,
            Some("key-1"),
            json!({ "offer_id": tea, "zip": "10001" }),
        )
        .await;
    assert_eq!(other_person.status(), 201, "keys are per person");

    let voucher_id = voucher["voucher_id"].as_str().unwrap();
    let listed = scene.server.get_json("/v1/me/vouchers", citizen).await;
    assert_eq!(listed["vouchers"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["vouchers"][0], voucher);
    let one = scene
        .server
        .get_json(&format!("/v1/me/vouchers/{voucher_id}"), citizen)
        .await;
    assert_eq!(one, voucher);
    let not_theirs = scene
        .server
        .get_authed(&format!("/v1/me/vouchers/{voucher_id}"), &scene.officer)
        .await;
    assert_eq!(
        error_code(not_theirs).await,
        (404, "voucher_not_found".to_owned())
    );
    let points = scene.server.get_json("/v1/me/points", citizen).await;
    assert_eq!(points["entries"][0]["reason"], "redemption");
    assert_eq!(points["entries"][0]["delta"], -40);
    assert_eq!(points["entries"][0]["voucher_id"], voucher_id);

    let cancel_path = format!("/v1/me/vouchers/{voucher_id}/cancel");
    let cancel = |token: String| {
        let request = scene.server.http.post(scene.server.url(&cancel_path));
        async move { request.bearer_auth(token).send().await.expect("cancel") }
    };
    assert_eq!(
        error_code(cancel(scene.officer.clone()).await).await,
        (404, "voucher_not_found".to_owned()),
        "only the holder cancels"
    );
    let cancelled = cancel(citizen.to_owned()).await;
    assert_eq!(cancelled.status(), 200);
    let cancelled: Value = cancelled.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    let again = cancel(citizen.to_owned()).await;
    assert_eq!(again.status(), 200, "cancelling again answers the same");
    assert_eq!(scene.balance(citizen).await, EARNED, "refunded once");
    let points = scene.server.get_json("/v1/me/points", citizen).await;
    let reasons: Vec<&str> = points["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["refund", "redemption", "connection"]);
    let listed = scene.server.get_json("/v1/me/vouchers", citizen).await;
    assert_eq!(listed["vouchers"][0]["status"], "cancelled");
    let offers = scene
        .server
        .get_json("/v1/rewards/offers?zip=10001", citizen)
        .await;
    let coffee_listed = offers["offers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|offer| offer["id"] == coffee.as_str())
        .expect("listed")
        .clone();
    assert_eq!(coffee_listed["remaining"], 5, "the unit is back");
}

#[tokio::test]
async fn vouchers_page_newest_first() {
    let scene = scene().await;
    let officer = scene.officer.as_str();
    let coffee = scene.offer(json!({ "point_cost": 10 })).await;
    let mut issued = Vec::new();
    for index in 0..5 {
        let response = scene
            .redeem(
                officer,
                Some(&format!("page-{index}")),
                json!({ "offer_id": coffee, "zip": "10001" }),
            )
            .await;
        assert_eq!(response.status(), 201);
        let voucher: Value = response.json().await.unwrap();
        issued.push(voucher["voucher_id"].as_str().unwrap().to_owned());
    }
    let mut paged = Vec::new();
    let mut path = "/v1/me/vouchers?limit=2".to_owned();
    loop {
        let page = scene.server.get_json(&path, officer).await;
        for voucher in page["vouchers"].as_array().unwrap() {
            paged.push(voucher["voucher_id"].as_str().unwrap().to_owned());
        }
        let Some(next) = page["next_before"].as_str() else {
            break;
        };
        path = format!("/v1/me/vouchers?limit=2&before={next}");
    }
    let mut newest_first = issued;
    newest_first.reverse();
    assert_eq!(paged, newest_first);
    assert_eq!(
        scene
            .server
            .get_json("/v1/me/vouchers", &scene.citizen)
            .await["vouchers"],
        json!([]),
        "only the caller's"
    );
}
