//! The rewards catalog over real HTTP against a real server: admin CRUD behind
//! the admin token, field-level validation, and browsing by ZIP for signed-in
//! people (only what covers the ZIP and can be redeemed now).

mod common;

use common::rewards::now_ms;
use std::collections::BTreeSet;

use common::{ADMIN_TOKEN, TestServer, error_code};
use serde_json::{Value, json};

const CITIZEN: &str = "+12125550123";
const DAY_MS: i64 = 86_400_000;

async fn admin_send(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let request = server
        .http
        .request(method, server.url(path))
        .bearer_auth(ADMIN_TOKEN);
    let request = match body {
        Some(body) => request.json(&body),
        None => request,
    };
    request.send().await.expect("request")
}

/// POSTs `body` to `collection` with the admin token.
async fn admin_post(server: &TestServer, collection: &str, body: Value) -> reqwest::Response {
    let path = format!("/v1/admin/catalog/{collection}");
    admin_send(server, reqwest::Method::POST, &path, Some(body)).await
}

/// POSTs `body` with the admin token and returns the created entry (201).
async fn admin_create(server: &TestServer, collection: &str, body: Value) -> Value {
    let response = admin_post(server, collection, body).await;
    assert_eq!(response.status(), 201, "{collection}");
    response.json().await.expect("created entry")
}

/// PUTs `body` over `collection/id` with the admin token; returns the entry.
async fn admin_replace(server: &TestServer, collection: &str, id: &Value, body: Value) -> Value {
    let id = id.as_str().expect("id");
    let response = admin_send(
        server,
        reqwest::Method::PUT,
        &format!("/v1/admin/catalog/{collection}/{id}"),
        Some(body),
    )
    .await;
    assert_eq!(response.status(), 200, "{collection}/{id}");
    response.json().await.expect("replaced entry")
}

/// The `error.field` of a 422 `invalid_field` answer.
async fn invalid_field(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.expect("error body");
    assert_eq!(body["error"]["code"], "invalid_field", "{body}");
    body["error"]["field"].as_str().expect("field").to_owned()
}

fn retailer(name: &str, status: &str) -> Value {
    json!({ "name": name, "address": "1 Main Street", "zip": "10001",
            "contact": "owner@example.com", "status": status })
}

fn municipality(area: &[&str]) -> Value {
    json!({ "name": "Springfield", "state": "NY", "area": area,
            "contact": "parks@example.gov" })
}

fn charity(name: &str, status: &str) -> Value {
    json!({ "name": name, "ein": "12-3456789", "description": "Meals for neighbours.",
            "status": status })
}

/// An offer (or scheme) valid from yesterday for a week, unless changed.
fn offer(kind: &str, issuer: &Value, area: &[&str]) -> Value {
    json!({ "kind": kind, "issuer_id": issuer["id"], "title": "Free coffee",
            "description": "One small coffee.", "point_cost": 50, "area": area,
            "valid_from_ms": now_ms() - DAY_MS, "valid_until_ms": now_ms() + 7 * DAY_MS,
            "total_quantity": 10, "per_person_limit": { "count": 1, "per": "day" },
            "voucher_lifetime_seconds": 86_400 })
}

/// Every offer id `browse` lists for this query, paging `limit` at a time.
async fn browse_ids(server: &TestServer, token: &str, query: &str, limit: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/rewards/offers?{query}&limit={limit}");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let response = server.get_authed(&path, token).await;
        assert_eq!(response.status(), 200, "{path}");
        let page: Value = response.json().await.expect("page");
        let offers = page["offers"].as_array().expect("offers");
        assert!(offers.len() <= limit);
        ids.extend(
            offers
                .iter()
                .map(|offer| offer["id"].as_str().expect("id").to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return ids,
        }
    }
}

fn ids_of(entries: &[&Value]) -> Vec<String> {
    entries
        .iter()
        .map(|entry| entry["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn catalog_admin_needs_the_admin_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let citizen = server.sign_in(CITIZEN).await;
    let access = citizen["access_token"].as_str().unwrap();

    let anonymous = server
        .post_json("/v1/admin/catalog/retailers", retailer("Cafe", "active"))
        .await;
    assert_eq!(error_code(anonymous).await, (401, "missing_token".into()));
    for path in [
        "/v1/admin/catalog/retailers",
        "/v1/admin/catalog/municipalities",
        "/v1/admin/catalog/offers",
        "/v1/admin/catalog/charities",
    ] {
        let as_citizen = server.get_authed(path, access).await;
        assert_eq!(
            error_code(as_citizen).await,
            (403, "forbidden".into()),
            "{path}"
        );
    }
    let as_citizen = server
        .http
        .post(server.url("/v1/admin/catalog/charities"))
        .bearer_auth(access)
        .json(&charity("Food Bank", "active"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(as_citizen).await, (403, "forbidden".into()));
    let browse = server
        .http
        .get(server.url("/v1/rewards/offers?zip=10001"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(browse).await, (401, "missing_token".into()));
}

#[tokio::test]
async fn admins_create_read_replace_and_list_catalog_entries() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let cafe = admin_create(&server, "retailers", retailer(" Corner Cafe ", "active")).await;
    assert_eq!(cafe["name"], "Corner Cafe");
    assert_eq!(cafe["status"], "active");
    let id = cafe["id"].as_str().unwrap();
    let read: Value = admin_send(
        &server,
        reqwest::Method::GET,
        &format!("/v1/admin/catalog/retailers/{id}"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(read, cafe);

    let suspended = admin_replace(
        &server,
        "retailers",
        &cafe["id"],
        retailer("Corner Café", "suspended"),
    )
    .await;
    assert_eq!(suspended["name"], "Corner Café");
    assert_eq!(suspended["status"], "suspended");
    assert_eq!(suspended["created_at_ms"], cafe["created_at_ms"]);

    let city = admin_create(&server, "municipalities", municipality(&["100", "11201"])).await;
    assert_eq!(city["area"], json!(["100", "11201"]));
    let kitchen = admin_create(&server, "charities", charity("Food Bank", "active")).await;
    assert_eq!(kitchen["ein"], "12-3456789");
    let shop = admin_create(&server, "retailers", retailer("Bakery", "active")).await;
    let deal = admin_create(&server, "offers", offer("offer", &shop, &["10001"])).await;
    assert_eq!(
        (deal["remaining"].clone(), deal["version"].clone()),
        (json!(10), json!(1))
    );
    let mut fewer = offer("offer", &shop, &["10001"]);
    fewer["total_quantity"] = json!(null);
    let unlimited = admin_replace(&server, "offers", &deal["id"], fewer).await;
    assert_eq!(
        (unlimited["remaining"].clone(), unlimited["version"].clone()),
        (json!(null), json!(2))
    );

    let third = admin_create(&server, "retailers", retailer("Grocer", "active")).await;
    let mut listed = Vec::new();
    let mut path = "/v1/admin/catalog/retailers?limit=2".to_owned();
    loop {
        let page: Value = admin_send(&server, reqwest::Method::GET, &path, None)
            .await
            .json()
            .await
            .unwrap();
        listed.extend(ids_of(
            &page["items"].as_array().unwrap().iter().collect::<Vec<_>>(),
        ));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/admin/catalog/retailers?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(
        listed.into_iter().collect::<BTreeSet<_>>(),
        ids_of(&[&cafe, &shop, &third]).into_iter().collect()
    );

    for (path, code) in [
        (
            "/v1/admin/catalog/retailers/00000000-0000-4000-8000-000000000000",
            "retailer_not_found",
        ),
        ("/v1/admin/catalog/offers/not-an-id", "offer_not_found"),
        (
            "/v1/admin/catalog/charities/00000000-0000-4000-8000-000000000000",
            "charity_not_found",
        ),
        (
            "/v1/admin/catalog/municipalities/00000000-0000-4000-8000-000000000000",
            "municipality_not_found",
        ),
    ] {
        let response = admin_send(&server, reqwest::Method::GET, path, None).await;
        assert_eq!(error_code(response).await, (404, code.to_owned()), "{path}");
    }
}

#[tokio::test]
async fn invalid_catalog_entries_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let shop = admin_create(&server, "retailers", retailer("Bakery", "active")).await;
    let post = |collection: &'static str, body: Value| admin_post(&server, collection, body);

    let mut bad_zip = retailer("Cafe", "active");
    bad_zip["zip"] = json!("1000");
    assert_eq!(invalid_field(post("retailers", bad_zip).await).await, "zip");
    assert_eq!(
        invalid_field(post("retailers", retailer("Bob\u{202E}kcuf", "active")).await).await,
        "name"
    );
    let mut bad_ein = charity("Food Bank", "active");
    bad_ein["ein"] = json!("123456789");
    assert_eq!(invalid_field(post("charities", bad_ein).await).await, "ein");
    assert_eq!(
        invalid_field(post("municipalities", municipality(&[])).await).await,
        "area"
    );
    let cases: [(&str, Value); 5] = [
        ("point_cost", json!(0)),
        ("area", json!(["1000", "10001"])),
        ("valid_until_ms", json!(now_ms() - 2 * DAY_MS)),
        ("total_quantity", json!(0)),
        ("voucher_lifetime_seconds", json!(10)),
    ];
    for (field, value) in cases {
        let mut body = offer("offer", &shop, &["10001"]);
        body[field] = value;
        assert_eq!(invalid_field(post("offers", body).await).await, field);
    }

    let mut unknown_field = retailer("Cafe", "active");
    unknown_field["rating"] = json!(5);
    assert_eq!(
        error_code(post("retailers", unknown_field).await).await,
        (422, "unknown_field".into())
    );
    let unknown_issuer = offer(
        "offer",
        &json!({ "id": "00000000-0000-4000-8000-000000000000" }),
        &["100"],
    );
    assert_eq!(
        error_code(post("offers", unknown_issuer).await).await,
        (422, "issuer_not_found".into())
    );
    let scheme_of_a_retailer = offer("scheme", &shop, &["100"]);
    assert_eq!(
        error_code(post("offers", scheme_of_a_retailer).await).await,
        (422, "issuer_not_found".into())
    );
    let city = admin_create(&server, "municipalities", municipality(&["100"])).await;
    assert_eq!(
        invalid_field(post("offers", offer("scheme", &city, &["200"])).await).await,
        "area"
    );
    let as_text = server
        .http
        .post(server.url("/v1/admin/catalog/retailers"))
        .bearer_auth(ADMIN_TOKEN)
        .body(retailer("Cafe", "active").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(as_text).await,
        (415, "unsupported_media_type".into())
    );
}

#[tokio::test]
async fn browsing_a_zip_lists_exactly_what_can_be_redeemed_there() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let citizen = server.sign_in(CITIZEN).await;
    let token = citizen["access_token"].as_str().unwrap();
    let shop = admin_create(&server, "retailers", retailer("Bakery", "active")).await;
    let closing = admin_create(&server, "retailers", retailer("Closing Down", "active")).await;
    let city = admin_create(&server, "municipalities", municipality(&["100"])).await;

    let mut exact_zip = offer("offer", &shop, &["10001"]);
    exact_zip["valid_until_ms"] = json!(now_ms() + DAY_MS);
    let exact_zip = admin_create(&server, "offers", exact_zip).await;
    let whole_prefix = admin_create(&server, "offers", offer("offer", &shop, &["100"])).await;
    let next_door = admin_create(&server, "offers", offer("offer", &shop, &["10002"])).await;
    let other_prefix = admin_create(&server, "offers", offer("offer", &shop, &["200"])).await;
    let mut expired = offer("offer", &shop, &["10001"]);
    expired["valid_from_ms"] = json!(now_ms() - 3 * DAY_MS);
    expired["valid_until_ms"] = json!(now_ms() - DAY_MS);
    admin_create(&server, "offers", expired).await;
    let mut future = offer("offer", &shop, &["10001"]);
    future["valid_from_ms"] = json!(now_ms() + DAY_MS);
    admin_create(&server, "offers", future).await;
    let mut suspended = offer("offer", &shop, &["10001"]);
    suspended["status"] = json!("suspended");
    admin_create(&server, "offers", suspended).await;
    admin_create(&server, "offers", offer("offer", &closing, &["10001"])).await;
    admin_replace(
        &server,
        "retailers",
        &closing["id"],
        retailer("Closing Down", "suspended"),
    )
    .await;
    let scheme = admin_create(&server, "offers", offer("scheme", &city, &["10001"])).await;

    assert_eq!(
        browse_ids(&server, token, "zip=10001", 20).await,
        ids_of(&[&exact_zip, &whole_prefix, &scheme])
    );
    assert_eq!(
        browse_ids(&server, token, "zip=10001", 1).await,
        ids_of(&[&exact_zip, &whole_prefix, &scheme]),
        "pages of one list each offer once"
    );
    assert_eq!(
        browse_ids(&server, token, "zip=10001&kind=offer", 20).await,
        ids_of(&[&exact_zip, &whole_prefix])
    );
    assert_eq!(
        browse_ids(&server, token, "zip=10001&kind=scheme", 1).await,
        ids_of(&[&scheme])
    );
    let mut next_door_ids = browse_ids(&server, token, "zip=10002", 20).await;
    next_door_ids.sort();
    let mut expected = ids_of(&[&whole_prefix, &next_door]);
    expected.sort();
    assert_eq!(next_door_ids, expected);
    assert_eq!(
        browse_ids(&server, token, "zip=20001", 20).await,
        ids_of(&[&other_prefix])
    );
    assert!(browse_ids(&server, token, "zip=30001", 20).await.is_empty());

    let page: Value = server
        .get_json("/v1/rewards/offers?zip=10001&kind=scheme", token)
        .await;
    let shown = &page["offers"][0];
    assert_eq!(
        shown["issuer"],
        json!({ "id": city["id"], "name": "Springfield" })
    );
    assert_eq!(shown["remaining"], 10);
    assert_eq!(
        shown["per_person_limit"],
        json!({ "count": 1, "per": "day" })
    );
    assert!(shown.get("area").is_none() && shown.get("version").is_none());

    let mut moved = offer("offer", &shop, &["20001"]);
    moved["valid_until_ms"] = exact_zip["valid_until_ms"].clone();
    admin_replace(&server, "offers", &exact_zip["id"], moved).await;
    assert_eq!(
        browse_ids(&server, token, "zip=10001&kind=offer", 20).await,
        ids_of(&[&whole_prefix])
    );
    assert_eq!(
        browse_ids(&server, token, "zip=20001", 20).await,
        ids_of(&[&exact_zip, &other_prefix])
    );
}

#[tokio::test]
async fn browse_queries_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let citizen = server.sign_in(CITIZEN).await;
    let token = citizen["access_token"].as_str().unwrap();
    for (query, field) in [
        ("zip=1000", "zip"),
        ("zip=1000a", "zip"),
        ("zip=10001&cursor=bm90LWEtY3Vyc29y", "cursor"),
        ("zip=10001&limit=0", "limit"),
        ("zip=10001&limit=51", "limit"),
    ] {
        let response = server
            .get_authed(&format!("/v1/rewards/offers?{query}"), token)
            .await;
        assert_eq!(invalid_field(response).await, field, "{query}");
    }
    for query in ["", "zip=10001&kind=voucher", "zip=10001&colour=blue"] {
        let response = server
            .get_authed(&format!("/v1/rewards/offers?{query}"), token)
            .await;
        assert_eq!(
            error_code(response).await,
            (400, "invalid_query".into()),
            "{query}"
        );
    }
}

#[tokio::test]
async fn people_see_the_active_charities() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let citizen = server.sign_in(CITIZEN).await;
    let token = citizen["access_token"].as_str().unwrap();
    let food = admin_create(&server, "charities", charity("Food Bank", "active")).await;
    let shelter = admin_create(&server, "charities", charity("Shelter", "active")).await;
    let closed = admin_create(&server, "charities", charity("Closed", "active")).await;
    admin_replace(
        &server,
        "charities",
        &closed["id"],
        charity("Closed", "suspended"),
    )
    .await;

    let mut listed = Vec::new();
    let mut path = "/v1/rewards/charities?limit=1".to_owned();
    loop {
        let page: Value = server.get_json(&path, token).await;
        let charities = page["charities"].as_array().unwrap();
        for shown in charities {
            assert_eq!(shown["ein"], "12-3456789");
            assert!(shown.get("status").is_none());
        }
        listed.extend(ids_of(&charities.iter().collect::<Vec<_>>()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/rewards/charities?limit=1&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(
        listed.into_iter().collect::<BTreeSet<_>>(),
        ids_of(&[&food, &shelter]).into_iter().collect()
    );
    let anonymous = server
        .http
        .get(server.url("/v1/rewards/charities"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(anonymous).await, (401, "missing_token".into()));
}
