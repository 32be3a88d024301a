//! The retailer's counter over real HTTP: an admin gives a retailer an API key
//! (shown once), the retailer's system verifies the token a citizen shows and
//! redeems it once — however many tills try at the same moment — and every
//! refusal has its own answer: another retailer's voucher, an altered token, a
//! redeemed or cancelled voucher, an unknown or revoked key.

mod common;

use common::points::earn_points;
use common::rewards::now_ms;
use common::{ADMIN_TOKEN, TestServer, error_code};
use futures::future::join_all;
use serde_json::{Value, json};

const OFFICER_PHONE: &str = "+12125550204";
const CITIZEN_PHONE: &str = "+12125550304";
const DAY_MS: i64 = 86_400_000;
/// Tills redeeming one voucher at the same moment.
const RACING_TILLS: usize = 20;

async fn admin_post(server: &TestServer, path: &str, body: Value) -> reqwest::Response {
    server
        .http
        .post(server.url(path))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A retailer with one offer in ZIP prefix 100; (retailer id, offer id).
async fn retailer_with_offer(server: &TestServer, name: &str) -> (String, String) {
    let retailer = admin_post(
        server,
        "/v1/admin/catalog/retailers",
        json!({ "name": name, "address": "1 Main Street", "zip": "10001",
                "contact": "owner@example.com" }),
    )
    .await;
    assert_eq!(retailer.status(), 201);
    let retailer_id = retailer.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let offer = admin_post(
        server,
        "/v1/admin/catalog/offers",
        json!({ "kind": "offer", "issuer_id": retailer_id, "title": "Free coffee",
                "description": "One small coffee.", "point_cost": 20, "area": ["100"],
                "total_quantity": 10,
                "valid_from_ms": now_ms() - DAY_MS, "valid_until_ms": now_ms() + 30 * DAY_MS,
                "voucher_lifetime_seconds": 86_400 }),
    )
    .await;
    assert_eq!(offer.status(), 201);
    let offer_id = offer.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (retailer_id, offer_id)
}

/// A new API key of the retailer: (key id, key).
async fn new_key(server: &TestServer, retailer_id: &str) -> (String, String) {
    let response = admin_post(
        server,
        &format!("/v1/admin/catalog/retailers/{retailer_id}/keys"),
        json!({ "label": "Till 1" }),
    )
    .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let key = created["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("hbk_"), "{key}");
    (created["key_id"].as_str().unwrap().to_owned(), key)
}

/// The citizen redeems `offer_id`; the voucher.
async fn redeem(server: &TestServer, citizen: &str, offer_id: &str, key: &str) -> Value {
    let response = server
        .http
        .post(server.url("/v1/rewards/redemptions"))
        .bearer_auth(citizen)
        .header("Idempotency-Key", key)
        .json(&json!({ "offer_id": offer_id, "zip": "10001" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json::<Value>().await.unwrap()
}

async fn at_counter(
    server: &TestServer,
    action: &str,
    key: &str,
    token: &str,
) -> reqwest::Response {
    server
        .http
        .post(server.url(&format!("/v1/retailer/vouchers/{action}")))
        .bearer_auth(key)
        .json(&json!({ "token": token }))
        .send()
        .await
        .unwrap()
}

/// The `status` verify answers.
async fn verified(server: &TestServer, key: &str, token: &str) -> String {
    let response = at_counter(server, "verify", key, token).await;
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_retailer_verifies_and_redeems_its_vouchers_once_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(
        dir.path(),
        "[connections]\ncitizen_points_per_connection = 200\n\
         officer_points_per_connection = 200\n",
    )
    .await;
    let roster =
        format!("phone,display_name,badge,department\n{OFFICER_PHONE},Officer C,443,NYPD\n");
    assert_eq!(server.import_roster(&roster).await.status(), 200);
    let officer = server.sign_in(OFFICER_PHONE).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let citizen = server.sign_in(CITIZEN_PHONE).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    earn_points(&server, &officer, &citizen).await;
    let (shop, offer) = retailer_with_offer(&server, "Corner Cafe").await;
    let (other_shop, _) = retailer_with_offer(&server, "Book Nook").await;
    let (key_id, key) = new_key(&server, &shop).await;
    let (_, other_key) = new_key(&server, &other_shop).await;

    // The key is shown once: the list holds no secret.
    let listed = server
        .http
        .get(server.url(&format!("/v1/admin/catalog/retailers/{shop}/keys")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains(&key_id) && !listed.contains(&key),
        "{listed}"
    );

    let voucher = redeem(&server, &citizen, &offer, "first").await;
    let token = voucher["token"].as_str().unwrap().to_owned();

    // Unknown keys, and citizens' tokens, are not keys.
    for not_a_key in ["hbk_made-up", citizen.as_str()] {
        let (status, code) =
            error_code(at_counter(&server, "verify", not_a_key, &token).await).await;
        assert_eq!((status, code.as_str()), (401, "invalid_api_key"));
    }
    // Another retailer learns nothing and redeems nothing.
    assert_eq!(verified(&server, &other_key, &token).await, "not_yours");
    let (status, code) = error_code(at_counter(&server, "redeem", &other_key, &token).await).await;
    assert_eq!((status, code.as_str()), (403, "voucher_not_yours"));
    // An altered token is refused whoever asks.
    let mut altered = token.clone().into_bytes();
    let middle = altered.len() / 2;
    altered[middle] = if altered[middle] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    assert_eq!(verified(&server, &key, &altered).await, "bad_signature");
    let (status, code) = error_code(at_counter(&server, "redeem", &key, &altered).await).await;
    assert_eq!((status, code.as_str()), (422, "invalid_voucher_token"));

    // Verifying changes nothing; redeeming works once.
    assert_eq!(verified(&server, &key, &token).await, "valid");
    assert_eq!(verified(&server, &key, &token).await, "valid");
    let redeemed = at_counter(&server, "redeem", &key, &token).await;
    assert_eq!(redeemed.status(), 200);
    let redeemed: Value = redeemed.json().await.unwrap();
    assert_eq!(redeemed["status"], "redeemed");
    assert_eq!(redeemed["voucher"]["voucher_id"], voucher["voucher_id"]);
    assert!(
        redeemed["voucher"].get("account_id").is_none(),
        "no personal data"
    );
    let (status, code) = error_code(at_counter(&server, "redeem", &key, &token).await).await;
    assert_eq!((status, code.as_str()), (409, "voucher_already_redeemed"));
    assert_eq!(verified(&server, &key, &token).await, "already_redeemed");
    let holder_view = server
        .get_json(
            &format!(
                "/v1/me/vouchers/{}",
                voucher["voucher_id"].as_str().unwrap()
            ),
            &citizen,
        )
        .await;
    assert_eq!(holder_view["status"], "redeemed");
    let cancel = server
        .http
        .post(server.url(&format!(
            "/v1/me/vouchers/{}/cancel",
            voucher["voucher_id"].as_str().unwrap()
        )))
        .bearer_auth(&citizen)
        .send()
        .await
        .unwrap();
    let (status, code) = error_code(cancel).await;
    assert_eq!(
        (status, code.as_str()),
        (409, "voucher_not_cancellable"),
        "a redeemed voucher gives nothing back"
    );

    // The holder's profile tells the story once: issued, then redeemed.
    let events: Value = server.get_json("/v1/me/events?limit=50", &citizen).await;
    let about_voucher = |kind: &str| {
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|event| {
                event["kind"]["type"] == kind
                    && event["kind"]["voucher_id"] == voucher["voucher_id"]
            })
            .count()
    };
    assert_eq!(about_voucher("voucher_issued"), 1, "{events}");
    assert_eq!(about_voucher("voucher_redeemed"), 1, "{events}");

    // Many tills at once: exactly one redeems.
    let raced = redeem(&server, &citizen, &offer, "second").await;
    let raced_token = raced["token"].as_str().unwrap().to_owned();
    let answers =
        join_all((0..RACING_TILLS).map(|_| at_counter(&server, "redeem", &key, &raced_token)))
            .await;
    let statuses: Vec<u16> = answers
        .iter()
        .map(|answer| answer.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|status| **status == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|status| **status == 409).count(),
        RACING_TILLS - 1,
        "{statuses:?}"
    );

    // A cancelled voucher is refused at the counter with its own code.
    let cancelled = redeem(&server, &citizen, &offer, "third").await;
    let cancelled_token = cancelled["token"].as_str().unwrap().to_owned();
    let cancel = server
        .http
        .post(server.url(&format!(
            "/v1/me/vouchers/{}/cancel",
            cancelled["voucher_id"].as_str().unwrap()
        )))
        .bearer_auth(&citizen)
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), 200);
    assert_eq!(verified(&server, &key, &cancelled_token).await, "cancelled");
    let (status, code) =
        error_code(at_counter(&server, "redeem", &key, &cancelled_token).await).await;
    assert_eq!((status, code.as_str()), (409, "voucher_cancelled"));

    // A revoked key stops working at once.
    let revoked = admin_post(
        &server,
        &format!("/v1/admin/catalog/retailers/{shop}/keys/{key_id}/revoke"),
        json!({}),
    )
    .await;
    assert_eq!(revoked.status(), 200);
    assert!(revoked.json::<Value>().await.unwrap()["revoked_at_ms"].is_i64());
    let (status, code) = error_code(at_counter(&server, "verify", &key, &token).await).await;
    assert_eq!((status, code.as_str()), (401, "invalid_api_key"));
    server.stop().await;
}
