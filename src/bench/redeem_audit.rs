//! The redeem scenario's audit, read back through the API after the run: each
//! citizen's vouchers and balance, each offer's remaining stock, held against
//! what the redemption workers and the tills saw. Nothing here trusts the
//! bench's own bookkeeping alone: a voucher the bench never saw, or one the API
//! no longer lists, is a finding too.

use std::collections::{HashMap, HashSet};

use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;

use super::redeem::{Admin, BenchOffer, Citizen, CounterOutcomes, IssuedVoucher};

/// Citizens read back at once.
const AUDIT_CONCURRENCY: usize = 16;
/// Vouchers per page (the API's largest).
const PAGE_LIMIT: usize = 100;

/// What the audit reads and compares.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuditInput<'run> {
    /// The node and its admin token.
    pub(crate) admin: Admin<'run>,
    /// The run's offers.
    pub(crate) offers: &'run [BenchOffer],
    /// The run's citizens.
    pub(crate) citizens: &'run [Citizen],
    /// Every 201 the redemption workers saw.
    pub(crate) issued: &'run [IssuedVoucher],
    /// What the tills saw.
    pub(crate) counter: &'run CounterOutcomes,
    /// Points each citizen was credited.
    pub(crate) credit_per_citizen: u32,
}

/// The audit's findings; every count but the `_checked` ones must be 0.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct RedeemAudit {
    /// Offers read back.
    pub(crate) offers_checked: u64,
    /// Offers with more vouchers listed than their quantity.
    pub(crate) oversold: u64,
    /// Offers whose `remaining` + vouchers listed ≠ quantity.
    pub(crate) stock_mismatched: u64,
    /// Citizens read back.
    pub(crate) citizens_checked: u64,
    /// Citizens whose balance ≠ credit − Σ cost of their vouchers.
    pub(crate) balance_mismatched: u64,
    /// Vouchers listed by the API.
    pub(crate) vouchers_listed: u64,
    /// Vouchers the bench got a 201 for that the API does not list.
    pub(crate) vouchers_missing: u64,
    /// Vouchers the API lists that no 201 announced, or with another holder,
    /// offer or price than the 201 said.
    pub(crate) vouchers_unexpected: u64,
    /// Vouchers redeemed at the counter more than once (several 200 answers).
    pub(crate) doubled: u64,
    /// Issued vouchers no till redeemed, or not `redeemed` in the API's list.
    pub(crate) not_redeemed: u64,
    /// Citizens or offers whose reads failed.
    pub(crate) unreadable: u64,
    /// A few findings, described.
    pub(crate) samples: Vec<String>,
}

impl RedeemAudit {
    /// Whether nothing was found.
    pub(crate) fn clean(&self) -> bool {
        self.oversold == 0
            && self.stock_mismatched == 0
            && self.balance_mismatched == 0
            && self.vouchers_missing == 0
            && self.vouchers_unexpected == 0
            && self.doubled == 0
            && self.not_redeemed == 0
            && self.unreadable == 0
    }

    fn note(&mut self, finding: String) {
        if self.samples.len() < 5 {
            self.samples.push(finding);
        }
    }
}

/// One voucher as the API lists it.
#[derive(Debug)]
struct Listed {
    /// Its id.
    voucher_id: String,
    /// Its offer.
    offer_id: String,
    /// Points paid.
    points: i64,
    /// `issued`, `redeemed`, …
    status: String,
}

/// Reads everything back and compares.
pub(crate) async fn audit(input: AuditInput<'_>) -> RedeemAudit {
    let mut found = RedeemAudit::default();
    let admin = input.admin;
    let views: Vec<Result<(Vec<Listed>, i64), String>> = futures::stream::iter(input.citizens)
        .map(|citizen| citizen_view(admin, citizen))
        .buffered(AUDIT_CONCURRENCY)
        .collect()
        .await;
    let announced: HashMap<&str, &IssuedVoucher> = input
        .issued
        .iter()
        .map(|voucher| (voucher.voucher_id.as_str(), voucher))
        .collect();
    let mut listed_per_offer: HashMap<String, u64> = HashMap::new();
    let mut listed_ids: HashSet<String> = HashSet::new();
    let mut unreadable_citizens: HashSet<usize> = HashSet::new();
    for (index, view) in views.into_iter().enumerate() {
        let (vouchers, balance) = match view {
            Ok(view) => view,
            Err(message) => {
                found.unreadable += 1;
                unreadable_citizens.insert(index);
                found.note(format!("citizen {index}: {message}"));
                continue;
            }
        };
        found.citizens_checked += 1;
        let spent: i64 = vouchers.iter().map(|voucher| voucher.points).sum();
        let expected = i64::from(input.credit_per_citizen) - spent;
        if balance != expected {
            found.balance_mismatched += 1;
            found.note(format!(
                "citizen {index}: balance {balance}, expected {expected}"
            ));
        }
        for voucher in vouchers {
            found.vouchers_listed += 1;
            *listed_per_offer
                .entry(voucher.offer_id.clone())
                .or_default() += 1;
            let as_announced = announced
                .get(voucher.voucher_id.as_str())
                .is_some_and(|issued| {
                    let offer = &input.offers[issued.offer];
                    issued.citizen == index
                        && offer.id == voucher.offer_id
                        && i64::from(offer.cost) == voucher.points
                });
            if !as_announced {
                found.vouchers_unexpected += 1;
                found.note(format!(
                    "citizen {index}: unexpected voucher {}",
                    voucher.voucher_id
                ));
            }
            if voucher.status != "redeemed" {
                found.not_redeemed += 1;
                found.note(format!(
                    "voucher {} is {}",
                    voucher.voucher_id, voucher.status
                ));
            }
            listed_ids.insert(voucher.voucher_id);
        }
    }
    for voucher in input.issued {
        if !listed_ids.contains(&voucher.voucher_id)
            && !unreadable_citizens.contains(&voucher.citizen)
        {
            found.vouchers_missing += 1;
            found.note(format!("voucher {} is not listed", voucher.voucher_id));
        }
        match input.counter.successes.get(&voucher.voucher_id).copied() {
            Some(1) => {}
            Some(0) | None => {
                found.not_redeemed += 1;
                found.note(format!(
                    "voucher {} was never redeemed at the counter",
                    voucher.voucher_id
                ));
            }
            Some(times) => {
                found.doubled += 1;
                found.note(format!(
                    "voucher {} redeemed {times} times",
                    voucher.voucher_id
                ));
            }
        }
    }
    for offer in input.offers {
        let remaining = match offer_remaining(admin, &offer.id).await {
            Ok(remaining) => remaining,
            Err(message) => {
                found.unreadable += 1;
                found.note(format!("offer {}: {message}", offer.id));
                continue;
            }
        };
        found.offers_checked += 1;
        let listed = listed_per_offer.get(&offer.id).copied().unwrap_or(0);
        let quantity = u64::from(offer.quantity);
        if listed > quantity {
            found.oversold += 1;
            found.note(format!(
                "offer {}: {listed} vouchers for {quantity}",
                offer.id
            ));
        }
        if remaining + listed != quantity {
            found.stock_mismatched += 1;
            found.note(format!(
                "offer {}: remaining {remaining} + {listed} listed ≠ {quantity}",
                offer.id
            ));
        }
    }
    found
}

/// A citizen's vouchers (every page) and balance.
async fn citizen_view(admin: Admin<'_>, citizen: &Citizen) -> Result<(Vec<Listed>, i64), String> {
    let mut vouchers = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let mut path = format!("/v1/me/vouchers?limit={PAGE_LIMIT}");
        if let Some(cursor) = &before {
            path.push_str(&format!("&before={cursor}"));
        }
        let page = get(admin, &path, &citizen.access_token).await?;
        for voucher in page["vouchers"].as_array().into_iter().flatten() {
            vouchers.push(Listed {
                voucher_id: voucher["voucher_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                offer_id: voucher["offer_id"].as_str().unwrap_or_default().to_owned(),
                points: voucher["points"].as_i64().unwrap_or_default(),
                status: voucher["status"].as_str().unwrap_or_default().to_owned(),
            });
        }
        match page["next_before"].as_str() {
            Some(cursor) => before = Some(cursor.to_owned()),
            None => break,
        }
    }
    let points = get(admin, "/v1/me/points?limit=1", &citizen.access_token).await?;
    let balance = points["balance"]
        .as_i64()
        .ok_or_else(|| format!("no balance in {points}"))?;
    Ok((vouchers, balance))
}

/// An offer's `remaining`, read with the admin token.
async fn offer_remaining(admin: Admin<'_>, offer_id: &str) -> Result<u64, String> {
    let offer = get(
        admin,
        &format!("/v1/admin/catalog/offers/{offer_id}"),
        admin.token,
    )
    .await?;
    offer["remaining"]
        .as_u64()
        .ok_or_else(|| format!("no remaining in {offer}"))
}

async fn get(admin: Admin<'_>, path: &str, bearer: &str) -> Result<Value, String> {
    let response = admin
        .http
        .get(format!("{}{path}", admin.base_url))
        .bearer_auth(bearer)
        .send()
        .await
        .map_err(|error| format!("GET {path} failed: {error}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("GET {path} answered {status}"));
    }
    response
        .json()
        .await
        .map_err(|error| format!("GET {path}: not JSON: {error}"))
}
