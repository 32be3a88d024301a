//! The redeem scenario: citizens redeem points for vouchers from a few offers
//! whose stock is smaller than the demand, while retailer tills redeem the
//! issued vouchers at the counter as they come (some by two tills at once, to
//! prove single use). It is HTTP only, so it runs in the coordinator: set-up
//! through the admin API (retailer, offers, till keys, point credits), sign-in
//! through the one-time-code flow, the two kinds of workers, then the audit
//! (`redeem_audit`) and the figures (`redeem_report`).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;

use futures::StreamExt;
use hdrhistogram::Histogram;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::BenchError;
use super::cli::BenchOptions;
use super::movement::PersonKind;
use super::plan::phone_number;
use super::redeem_audit::{AuditInput, audit};
use super::redeem_report::{RedeemFigures, RedeemSetup};
use super::signin::{SmsTail, sign_in};
use super::stats::{Percentiles, lock, new_histogram};

/// Sign-ins and point credits in flight at once.
const SETUP_CONCURRENCY: usize = 32;
/// Points per voucher of the first offer; offer k costs k + 1 times this.
const COST_STEP: u32 = 10;
/// The ZIP every citizen redeems in (the offers cover the 100 prefix).
const ZIP: &str = "10001";
/// Refusal samples and error messages kept for the report.
const SAMPLES_KEPT: usize = 5;
/// One day, ms (offer validity around now).
const DAY_MS: i64 = 86_400_000;

/// One offer of the run.
#[derive(Debug, Clone)]
pub(crate) struct BenchOffer {
    /// Its id.
    pub(crate) id: String,
    /// Points per voucher.
    pub(crate) cost: u32,
    /// Vouchers it may issue.
    pub(crate) quantity: u32,
}

/// One signed-in, credited citizen.
#[derive(Debug, Clone)]
pub(crate) struct Citizen {
    /// Bearer token.
    pub(crate) access_token: String,
    /// Account id.
    pub(crate) account_id: String,
}

/// A voucher a redemption answered 201 with.
#[derive(Debug, Clone)]
pub(crate) struct IssuedVoucher {
    /// Who redeemed it (index into the citizens).
    pub(crate) citizen: usize,
    /// Which offer (index into the offers).
    pub(crate) offer: usize,
    /// Its id.
    pub(crate) voucher_id: String,
    /// The signed token a till redeems.
    token: String,
}

/// What the redemption workers saw.
#[derive(Debug, Default)]
struct RedemptionOutcomes {
    /// Vouchers issued, in answer order.
    issued: Vec<IssuedVoucher>,
    /// Refusals by code.
    refused: BTreeMap<String, u64>,
    /// Answers that were neither 201 nor a refusal, and transport failures.
    errors: u64,
    /// A few of those, described.
    error_samples: Vec<String>,
    /// Send → answer, microseconds.
    latency: Option<Histogram<u64>>,
}

/// What the tills saw.
#[derive(Debug, Default)]
pub(crate) struct CounterOutcomes {
    /// 200 answers per voucher id: exactly one each is single use.
    pub(crate) successes: HashMap<String, u32>,
    /// 409 `voucher_already_redeemed` answers (the second till of a pair).
    pub(crate) refused_again: u64,
    /// Vouchers sent to two tills at once.
    pub(crate) duplicates_sent: u64,
    /// Anything else.
    pub(crate) errors: u64,
    /// A few of those, described.
    pub(crate) error_samples: Vec<String>,
}

/// The admin side of the run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Admin<'run> {
    /// The HTTP client.
    pub(crate) http: &'run reqwest::Client,
    /// `http://host:port`.
    pub(crate) base_url: &'run str,
    /// The node's admin token.
    pub(crate) token: &'run str,
}

/// Runs the scenario against the node `admin` names; `sms_file` is its `file`
/// SMS adapter's output. Returns the figures and the phase times (ms).
pub(crate) async fn run_redeem(
    args: &BenchOptions,
    admin: Admin<'_>,
    sms_file: &Path,
) -> Result<(RedeemFigures, Vec<(String, u64)>), BenchError> {
    let setup = RedeemSetup::of(args);
    let mut phases = Vec::new();
    let started = tokio::time::Instant::now();
    let (offers, till_keys) = create_catalog(admin, &setup).await?;
    phases.push(("catalog".to_owned(), elapsed_ms(started)));

    let started = tokio::time::Instant::now();
    let citizens = sign_in_citizens(admin, sms_file, args).await?;
    phases.push(("sign_in".to_owned(), elapsed_ms(started)));

    let started = tokio::time::Instant::now();
    credit_citizens(admin, &citizens, setup.credit_per_citizen).await?;
    phases.push(("credit".to_owned(), elapsed_ms(started)));

    let started = tokio::time::Instant::now();
    let (voucher_sender, voucher_receiver) = tokio::sync::mpsc::unbounded_channel();
    let redeeming = redeem_all(admin, &setup, &offers, &citizens, voucher_sender);
    let at_counter = counter_all(admin, &setup, &till_keys, voucher_receiver);
    let ((redemptions, redeem_seconds), (counter, counter_seconds)) =
        tokio::join!(redeeming, at_counter);
    phases.push(("redeem".to_owned(), elapsed_ms(started)));

    let started = tokio::time::Instant::now();
    let audit = audit(AuditInput {
        admin,
        offers: &offers,
        citizens: &citizens,
        issued: &redemptions.issued,
        counter: &counter.outcomes,
        credit_per_citizen: setup.credit_per_citizen,
    })
    .await;
    phases.push(("audit".to_owned(), elapsed_ms(started)));

    let latency = redemptions.latency.unwrap_or_else(new_histogram);
    let figures = RedeemFigures {
        setup,
        issued: redemptions.issued.len() as u64,
        refused: redemptions.refused,
        errors: redemptions.errors,
        error_samples: redemptions.error_samples,
        redeem_seconds,
        redemption_latency: Percentiles::of(&latency),
        redemption_histogram: (&latency).into(),
        counter_latency: counter.latency,
        counter_seconds,
        counter_redeemed: counter
            .outcomes
            .successes
            .values()
            .map(|&n| u64::from(n))
            .sum(),
        counter_refused_again: counter.outcomes.refused_again,
        duplicates_sent: counter.outcomes.duplicates_sent,
        counter_errors: counter.outcomes.errors,
        counter_error_samples: counter.outcomes.error_samples,
        audit,
    };
    Ok((figures, phases))
}

/// Creates the retailer, its offers and one till key per counter worker.
async fn create_catalog(
    admin: Admin<'_>,
    setup: &RedeemSetup,
) -> Result<(Vec<BenchOffer>, Vec<String>), BenchError> {
    let retailer = admin_post(
        admin,
        "/v1/admin/catalog/retailers",
        &json!({ "name": "Bench Coffee", "address": "1 Main Street", "zip": ZIP,
                 "contact": "bench@example.com" }),
        None,
    )
    .await?;
    let retailer_id = text_field(&retailer, "id")?;
    let now_ms = unix_now_ms();
    let mut offers = Vec::new();
    for index in 0..setup.offers {
        let cost = COST_STEP * (index + 1);
        let offer = admin_post(
            admin,
            "/v1/admin/catalog/offers",
            &json!({ "kind": "offer", "issuer_id": retailer_id, "title": format!("Bench offer {index}"),
                     "description": "A bench voucher.", "point_cost": cost, "area": ["100"],
                     "total_quantity": setup.stock_per_offer,
                     "valid_from_ms": now_ms - DAY_MS, "valid_until_ms": now_ms + 30 * DAY_MS,
                     "voucher_lifetime_seconds": 86_400 }),
            None,
        )
        .await?;
        offers.push(BenchOffer {
            id: text_field(&offer, "id")?,
            cost,
            quantity: setup.stock_per_offer,
        });
    }
    let mut till_keys = Vec::new();
    for till in 0..setup.counter_concurrency {
        let created = admin_post(
            admin,
            &format!("/v1/admin/catalog/retailers/{retailer_id}/keys"),
            &json!({ "label": format!("Till {till}") }),
            None,
        )
        .await?;
        till_keys.push(text_field(&created, "key")?);
    }
    Ok((offers, till_keys))
}

/// Signs citizens `0..args.citizens` in through the one-time-code flow.
async fn sign_in_citizens(
    admin: Admin<'_>,
    sms_file: &Path,
    args: &BenchOptions,
) -> Result<Vec<Citizen>, BenchError> {
    let sms = tokio::sync::Mutex::new(SmsTail::from_end(sms_file));
    let outcomes: Vec<Result<Citizen, String>> = futures::stream::iter(0..args.citizens)
        .map(|index| {
            let sms = &sms;
            async move {
                let phone = phone_number(PersonKind::Citizen, index, args.phone_block);
                let signed_in = sign_in(admin.http, admin.base_url, sms, &phone).await?;
                Ok(Citizen {
                    access_token: signed_in.access_token,
                    account_id: signed_in.account_id,
                })
            }
        })
        .buffered(SETUP_CONCURRENCY)
        .collect()
        .await;
    outcomes
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(|message| BenchError::Setup(format!("sign-in failed: {message}")))
}

/// Credits every citizen `points` through the admin adjustment endpoint (one
/// idempotency key per citizen, so a retried credit lands once).
async fn credit_citizens(
    admin: Admin<'_>,
    citizens: &[Citizen],
    points: u32,
) -> Result<(), BenchError> {
    let outcomes: Vec<Result<Value, BenchError>> = futures::stream::iter(citizens)
        .map(|citizen| async move {
            let path = format!("/v1/admin/accounts/{}/points", citizen.account_id);
            let body = json!({ "points": points, "reason": "bench credit" });
            admin_post(admin, &path, &body, Some("bench-credit")).await
        })
        .buffer_unordered(SETUP_CONCURRENCY)
        .collect()
        .await;
    outcomes
        .into_iter()
        .try_for_each(|outcome| outcome.map(drop))
}

/// Every citizen's redemptions, `setup.redeem_concurrency` in flight; each
/// issued voucher goes to the tills at once. Returns what was seen and the
/// seconds from the first send to the last answer.
async fn redeem_all(
    admin: Admin<'_>,
    setup: &RedeemSetup,
    offers: &[BenchOffer],
    citizens: &[Citizen],
    vouchers: tokio::sync::mpsc::UnboundedSender<IssuedVoucher>,
) -> (RedemptionOutcomes, f64) {
    let outcomes = Mutex::new(RedemptionOutcomes {
        latency: Some(new_histogram()),
        ..RedemptionOutcomes::default()
    });
    // Attempt-major order: every citizen's first redemption before anyone's
    // second, so the offers run out while all citizens are still asking.
    let jobs = (0..setup.redemptions_per_citizen)
        .flat_map(|attempt| (0..citizens.len()).map(move |citizen| (citizen, attempt)));
    let started = tokio::time::Instant::now();
    futures::stream::iter(jobs)
        .for_each_concurrent(setup.redeem_concurrency as usize, |(citizen, attempt)| {
            let outcomes = &outcomes;
            let vouchers = &vouchers;
            async move {
                let offer = (citizen + attempt as usize) % offers.len();
                let sent = tokio::time::Instant::now();
                let answer = redeem_once(admin, &citizens[citizen], &offers[offer], attempt).await;
                let latency_us = sent.elapsed().as_micros() as u64;
                let mut seen = lock(outcomes);
                if let Some(histogram) = seen.latency.as_mut() {
                    let _recorded_in_range = histogram.record(latency_us.max(1)).is_ok();
                }
                match answer {
                    Redemption::Issued { voucher_id, token } => {
                        let voucher = IssuedVoucher {
                            citizen,
                            offer,
                            voucher_id,
                            token,
                        };
                        // The tills stop only after this sender is dropped, so a
                        // send cannot fail; a failure would show in the audit as
                        // a voucher never redeemed.
                        let _sent_to_tills = vouchers.send(voucher.clone()).is_ok();
                        seen.issued.push(voucher);
                    }
                    Redemption::Refused(code) => {
                        *seen.refused.entry(code).or_default() += 1;
                    }
                    Redemption::Failed(message) => {
                        seen.errors += 1;
                        if seen.error_samples.len() < SAMPLES_KEPT {
                            seen.error_samples.push(message);
                        }
                    }
                }
            }
        })
        .await;
    let seconds = started.elapsed().as_secs_f64();
    drop(vouchers);
    let outcomes = outcomes
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    (outcomes, seconds)
}

/// One redemption's answer.
#[derive(Debug)]
enum Redemption {
    /// 201: the voucher.
    Issued {
        /// Its id.
        voucher_id: String,
        /// Its signed token.
        token: String,
    },
    /// 409 with this code.
    Refused(String),
    /// Anything else.
    Failed(String),
}

async fn redeem_once(
    admin: Admin<'_>,
    citizen: &Citizen,
    offer: &BenchOffer,
    attempt: u32,
) -> Redemption {
    let sent = admin
        .http
        .post(format!("{}/v1/rewards/redemptions", admin.base_url))
        .bearer_auth(&citizen.access_token)
        .header("Idempotency-Key", format!("bench-redeem-{attempt}"))
        .json(&json!({ "offer_id": offer.id, "zip": ZIP }))
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(error) => return Redemption::Failed(format!("redemption request failed: {error}")),
    };
    let status = response.status();
    let body: Value = match response.json().await {
        Ok(body) => body,
        Err(error) => return Redemption::Failed(format!("redemption answered {status}: {error}")),
    };
    match status {
        StatusCode::CREATED => match (body["voucher_id"].as_str(), body["token"].as_str()) {
            (Some(voucher_id), Some(token)) => Redemption::Issued {
                voucher_id: voucher_id.to_owned(),
                token: token.to_owned(),
            },
            (None, _) | (_, None) => {
                Redemption::Failed(format!("a 201 without voucher_id or token: {body}"))
            }
        },
        StatusCode::CONFLICT => {
            Redemption::Refused(body["error"]["code"].as_str().unwrap_or("?").to_owned())
        }
        _ => Redemption::Failed(format!("redemption answered {status}: {body}")),
    }
}

/// What the tills measured.
#[derive(Debug)]
struct CounterRun {
    /// The answers.
    outcomes: CounterOutcomes,
    /// Send → answer of every counter redeem.
    latency: Percentiles,
}

/// Redeems each voucher the redemption workers send, as it arrives, with
/// `setup.counter_concurrency` in flight; every `duplicate_percent`-th voucher
/// goes to two tills at the same time. Returns what was seen and the seconds
/// until the channel closed and the last answer came.
async fn counter_all(
    admin: Admin<'_>,
    setup: &RedeemSetup,
    till_keys: &[String],
    vouchers: tokio::sync::mpsc::UnboundedReceiver<IssuedVoucher>,
) -> (CounterRun, f64) {
    let outcomes = Mutex::new(CounterOutcomes::default());
    let latency = Mutex::new(new_histogram());
    let arriving = futures::stream::unfold(vouchers, |mut receiver| async move {
        receiver.recv().await.map(|voucher| (voucher, receiver))
    })
    .enumerate();
    let every = duplicate_spacing(setup.duplicate_percent);
    let started = tokio::time::Instant::now();
    arriving
        .for_each_concurrent(setup.counter_concurrency as usize, |(sequence, voucher)| {
            let outcomes = &outcomes;
            let latency = &latency;
            async move {
                let first_till = &till_keys[sequence % till_keys.len()];
                let twice = every.is_some_and(|every| sequence % every == 0);
                let answers = if twice {
                    let second_till = &till_keys[(sequence + 1) % till_keys.len()];
                    let (first, second) = tokio::join!(
                        till_redeem(admin, first_till, &voucher.token),
                        till_redeem(admin, second_till, &voucher.token)
                    );
                    vec![first, second]
                } else {
                    vec![till_redeem(admin, first_till, &voucher.token).await]
                };
                let mut seen = lock(outcomes);
                seen.duplicates_sent += u64::from(twice);
                for (answer, latency_us) in answers {
                    let _recorded_in_range = lock(latency).record(latency_us.max(1)).is_ok();
                    match answer {
                        Ok(CounterAnswer::Redeemed) => {
                            *seen
                                .successes
                                .entry(voucher.voucher_id.clone())
                                .or_default() += 1;
                        }
                        Ok(CounterAnswer::AlreadyRedeemed) => seen.refused_again += 1,
                        Err(message) => {
                            seen.errors += 1;
                            if seen.error_samples.len() < SAMPLES_KEPT {
                                seen.error_samples.push(message);
                            }
                        }
                    }
                }
            }
        })
        .await;
    let seconds = started.elapsed().as_secs_f64();
    let latency = Percentiles::of(&lock(&latency));
    let outcomes = outcomes
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    (CounterRun { outcomes, latency }, seconds)
}

/// Every how many vouchers one goes to two tills; `None` for 0 %.
fn duplicate_spacing(duplicate_percent: u32) -> Option<usize> {
    (duplicate_percent > 0).then(|| (100 / duplicate_percent.min(100)) as usize)
}

/// A till's answer that is not an error.
#[derive(Debug)]
enum CounterAnswer {
    /// 200: this call redeemed it.
    Redeemed,
    /// 409 `voucher_already_redeemed`.
    AlreadyRedeemed,
}

/// One counter redeem and its send → answer time (µs).
async fn till_redeem(
    admin: Admin<'_>,
    till_key: &str,
    token: &str,
) -> (Result<CounterAnswer, String>, u64) {
    let sent = tokio::time::Instant::now();
    let answer = async {
        let response = admin
            .http
            .post(format!("{}/v1/retailer/vouchers/redeem", admin.base_url))
            .bearer_auth(till_key)
            .json(&json!({ "token": token }))
            .send()
            .await
            .map_err(|error| format!("counter request failed: {error}"))?;
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .map_err(|error| format!("counter answered {status}: {error}"))?;
        match (status, body["error"]["code"].as_str()) {
            (StatusCode::OK, _) => Ok(CounterAnswer::Redeemed),
            (StatusCode::CONFLICT, Some("voucher_already_redeemed")) => {
                Ok(CounterAnswer::AlreadyRedeemed)
            }
            _ => Err(format!("counter answered {status}: {body}")),
        }
    }
    .await;
    (answer, sent.elapsed().as_micros() as u64)
}

/// POSTs `body` with the admin token; the JSON answer of a 200 or 201.
pub(crate) async fn admin_post(
    admin: Admin<'_>,
    path: &str,
    body: &Value,
    idempotency_key: Option<&str>,
) -> Result<Value, BenchError> {
    let mut request = admin
        .http
        .post(format!("{}{path}", admin.base_url))
        .bearer_auth(admin.token)
        .json(body);
    if let Some(key) = idempotency_key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request
        .send()
        .await
        .map_err(|error| BenchError::Setup(format!("POST {path} failed: {error}")))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(BenchError::Setup(format!(
            "POST {path} answered {status}: {text}"
        )));
    }
    serde_json::from_str(&text)
        .map_err(|error| BenchError::Setup(format!("POST {path}: the answer is not JSON: {error}")))
}

fn text_field(body: &Value, field: &str) -> Result<String, BenchError> {
    body[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| BenchError::Setup(format!("the answer has no {field}: {body}")))
}

fn elapsed_ms(started: tokio::time::Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn unix_now_ms() -> i64 {
    super::session::unix_now_us() / 1000
}
