//! A crash in the middle of a rush of redemptions, with a real process: two
//! citizens fire many redemptions of one limited offer at once, the server is
//! killed with SIGKILL as soon as the first answer arrives, and a restart on
//! the same data directory finishes what was interrupted (its recovery pass,
//! with `rewards.recovery_grace_seconds = 0`). Every request retried with its
//! `Idempotency-Key` then answers a voucher or a clean refusal — the same as
//! before the crash when it had answered — and the books balance: the vouchers
//! listed are the vouchers answered, remaining stock + vouchers = quantity,
//! and each balance = points earned − cost × vouchers.

mod common;

use common::rewards::{now_ms, token_of};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

use common::points::earn_points;
use common::process::ServerProcess;
use common::{ADMIN_TOKEN, TestServer};
use futures::future::join_all;
use serde_json::{Value, json};
use tokio::sync::mpsc;

const OFFICER_PHONE: &str = "+12125550207";
const CITIZEN_PHONES: [&str; 2] = ["+12125550307", "+12125550308"];
/// Points each citizen earns (one connection).
const EARNED: i64 = 300;
/// The offer's point cost.
const COST: i64 = 20;
/// Units of the offer: fewer than the citizens' points could buy together.
const QUANTITY: i64 = 20;
/// Redemptions each citizen fires at once, each under its own key.
const REQUESTS_PER_CITIZEN: usize = 40;
/// Everything, restart included, ends within this.
const TEST_LIMIT: Duration = Duration::from_secs(55);
/// How long a retry may keep hearing `redemption_in_progress`.
const RECOVERY_LIMIT: Duration = Duration::from_secs(20);
const DAY_MS: i64 = 86_400_000;

/// Earned points, no officer points, and a recovery pass that takes over an
/// interrupted redemption at once (the default waits past two request time
/// limits, longer than this test).
fn config() -> String {
    format!(
        "[connections]\ncitizen_points_per_connection = {EARNED}\n\
         officer_points_per_connection = 0\n\
         [rewards]\nrecovery_grace_seconds = 0\n"
    )
}

/// What a redemption request was answered.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    /// A voucher, by id.
    Issued(String),
    /// A refusal, by code (`out_of_stock`, `insufficient_points`).
    Refused(String),
}

async fn admin_post(server: &TestServer, path: &str, body: Value) -> Value {
    let response = server
        .http
        .post(server.url(path))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

/// A retailer with an offer of [`QUANTITY`] units at [`COST`]; the offer id.
async fn limited_offer(server: &TestServer) -> String {
    let retailer = admin_post(
        server,
        "/v1/admin/catalog/retailers",
        json!({ "name": "Corner Shop", "address": "1 Main Street", "zip": "10001",
                "contact": "owner@example.com" }),
    )
    .await;
    let offer = admin_post(
        server,
        "/v1/admin/catalog/offers",
        json!({ "kind": "offer", "issuer_id": retailer["id"], "title": "Free coffee",
                "description": "One small coffee.", "point_cost": COST, "area": ["100"],
                "total_quantity": QUANTITY,
                "valid_from_ms": now_ms() - DAY_MS, "valid_until_ms": now_ms() + 30 * DAY_MS,
                "voucher_lifetime_seconds": 86_400 }),
    )
    .await;
    offer["id"].as_str().unwrap().to_owned()
}

/// One redemption request: its answer, `None` for a transient one (the
/// connection dropped, or the redemption is still in progress), and panics
/// on anything else.
async fn redeem(server: &TestServer, citizen: &str, offer_id: &str, key: &str) -> Option<Answer> {
    let sent = server
        .http
        .post(server.url("/v1/rewards/redemptions"))
        .bearer_auth(citizen)
        .header("Idempotency-Key", key)
        .json(&json!({ "offer_id": offer_id, "zip": "10001" }))
        .send()
        .await;
    let response = sent.ok()?;
    let status = response.status().as_u16();
    let Ok(body) = response.json::<Value>().await else {
        return None;
    };
    match (status, body["error"]["code"].as_str()) {
        (201, _) => Some(Answer::Issued(
            body["voucher_id"]
                .as_str()
                .expect("a voucher id")
                .to_owned(),
        )),
        (409, Some("redemption_in_progress")) => None,
        (409, Some(code @ ("out_of_stock" | "insufficient_points"))) => {
            Some(Answer::Refused(code.to_owned()))
        }
        _ => panic!("key {key}: {status} {body}"),
    }
}

/// Retries `key` on the restarted server until it is answered.
async fn answer_after_recovery(
    server: &TestServer,
    citizen: &str,
    offer_id: &str,
    key: &str,
) -> Answer {
    let deadline = tokio::time::Instant::now() + RECOVERY_LIMIT;
    loop {
        if let Some(answer) = redeem(server, citizen, offer_id, key).await {
            return answer;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "key {key} still unanswered after recovery"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The voucher ids of the citizen's list.
async fn listed_vouchers(server: &TestServer, citizen: &str) -> Vec<String> {
    let listed = server.get_json("/v1/me/vouchers?limit=100", citizen).await;
    listed["vouchers"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|voucher| {
            assert_eq!(voucher["status"], "issued", "{voucher}");
            voucher["voucher_id"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn redemptions_cut_off_by_a_crash_are_finished_once_after_a_restart() {
    tokio::time::timeout(TEST_LIMIT, crash_and_audit())
        .await
        .expect("the crash test ends in time");
}

async fn crash_and_audit() {
    let root = tempfile::tempdir().unwrap();
    let mut first = ServerProcess::start(root.path(), &config()).await;
    let server = &first.api;
    let roster =
        format!("phone,display_name,badge,department\n{OFFICER_PHONE},Officer K,447,NYPD\n");
    assert_eq!(server.import_roster(&roster).await.status(), 200);
    let officer = token_of(&server.sign_in(OFFICER_PHONE).await);
    let mut citizens = Vec::new();
    for phone in CITIZEN_PHONES {
        let citizen = token_of(&server.sign_in(phone).await);
        earn_points(server, &officer, &citizen).await;
        citizens.push(citizen);
    }
    let offer_id = limited_offer(server).await;
    let requests: Vec<(String, String)> = citizens
        .iter()
        .flat_map(|citizen| {
            (0..REQUESTS_PER_CITIZEN)
                .map(move |_| (citizen.clone(), uuid::Uuid::new_v4().to_string()))
        })
        .collect();

    // The rush; the kill follows the first answer.
    let (answered, mut answers) = mpsc::unbounded_channel();
    for (citizen, key) in requests.iter().cloned() {
        let api = TestServer::external(
            server.base_url.clone(),
            server.data_dir.clone(),
            server.sms_file.clone(),
        );
        let offer_id = offer_id.clone();
        let answered = answered.clone();
        tokio::spawn(async move {
            let answer = redeem(&api, &citizen, &offer_id, &key).await;
            // The receiver outlives every sender.
            answered.send((key, answer)).expect("the test listens");
        });
    }
    drop(answered);
    let mut before_crash: HashMap<String, Answer> = HashMap::new();
    if let Some((key, Some(answer))) = answers.recv().await {
        before_crash.insert(key, answer);
    }
    first.kill();
    while let Some((key, answer)) = answers.recv().await {
        if let Some(answer) = answer {
            before_crash.insert(key, answer);
        }
    }
    eprintln!(
        "{} of {} redemptions answered before the kill",
        before_crash.len(),
        requests.len()
    );

    let second = ServerProcess::start(root.path(), &config()).await;
    let server = &second.api;
    let after_restart: Vec<Answer> = join_all(
        requests
            .iter()
            .map(|(citizen, key)| answer_after_recovery(server, citizen, &offer_id, key)),
    )
    .await;

    let mut every_voucher = HashSet::new();
    let mut issued_per_citizen: HashMap<&str, HashSet<String>> = HashMap::new();
    for ((citizen, key), answer) in requests.iter().zip(&after_restart) {
        if let Some(earlier) = before_crash.get(key) {
            assert_eq!(earlier, answer, "key {key} answers as before the crash");
        }
        if let Answer::Issued(voucher_id) = answer {
            assert!(
                every_voucher.insert(voucher_id.clone()),
                "voucher {voucher_id} answered twice"
            );
            issued_per_citizen
                .entry(citizen.as_str())
                .or_default()
                .insert(voucher_id.clone());
        }
    }
    for citizen in &citizens {
        let issued = issued_per_citizen
            .remove(citizen.as_str())
            .unwrap_or_default();
        let listed = listed_vouchers(server, citizen).await;
        assert_eq!(listed.len(), issued.len(), "no voucher listed twice");
        assert_eq!(
            listed.into_iter().collect::<HashSet<_>>(),
            issued,
            "the vouchers listed are the vouchers answered"
        );
        let points = server.get_json("/v1/me/points", citizen).await;
        let spent = COST * i64::try_from(issued.len()).unwrap();
        assert_eq!(points["balance"], EARNED - spent, "{points}");
    }
    let offer = server
        .get_json(&format!("/v1/admin/catalog/offers/{offer_id}"), ADMIN_TOKEN)
        .await;
    let remaining = offer["remaining"].as_i64().expect("limited stock");
    let vouchers = i64::try_from(every_voucher.len()).unwrap();
    assert_eq!(
        remaining + vouchers,
        QUANTITY,
        "stock + vouchers = quantity"
    );
    let log = std::fs::read_to_string(root.path().join("server.log")).unwrap_or_default();
    let taken_over = log.matches("finishing an interrupted redemption").count();
    eprintln!(
        "{vouchers} vouchers issued, {remaining} units left, {taken_over} redemptions finished by recovery"
    );
}
