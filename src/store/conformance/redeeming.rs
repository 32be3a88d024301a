//! Redeeming and cancelling through the rewards service, on each backend:
//! the exactly-once rules under 100 concurrent callers — the last unit goes
//! once, one person's balance covers exactly as many vouchers as it can, a
//! per-person limit is never exceeded, and concurrent cancels refund once.

use std::sync::Arc;

use uuid::Uuid;

use super::samples::{NOW_MS, offer, retailer};
use super::{CONCURRENT_CALLERS, race};
use crate::clock::Clock;
use crate::domain::AccountId;
use crate::domain::catalog::{LimitPeriod, OfferKind, PerPersonLimit, RewardOffer};
use crate::domain::voucher::{RedemptionRefusal, VoucherStatus};
use crate::rewards::{CounterVerdict, RedeemRequest, RedemptionAnswer, Redemptions, VoucherError};
use crate::store::{IssuerKey, LedgerAppend, LedgerReason, NewLedgerEntry, SecretHash, Store};

/// One day, in ms.
const DAY_MS: i64 = 86_400_000;

/// Stores an active retailer and an offer of it in prefix 100 costing 50
/// points, with `total` units and `limit`.
pub(crate) async fn stored_offer(
    store: &Arc<dyn Store>,
    total: Option<u32>,
    limit: Option<PerPersonLimit>,
) -> RewardOffer {
    let shop = retailer("Corner Shop");
    store.put_retailer(&shop).await.expect("retailer");
    let mut stored = offer(OfferKind::Offer, &["100"], NOW_MS + 30 * DAY_MS, total);
    stored.issuer_id = shop.id;
    stored.per_person_limit = limit;
    assert!(store.put_offer(&stored, None).await.expect("offer"));
    stored
}

/// Credits `points` to `account_id` (an admin adjustment).
pub(crate) async fn credit(store: &Arc<dyn Store>, account_id: AccountId, points: i64) {
    let credited = store
        .append_ledger_entry(&NewLedgerEntry {
            entry_id: Uuid::new_v4(),
            account_id,
            at_ms: NOW_MS,
            delta: points,
            reason: LedgerReason::Adjustment,
            reference: None,
        })
        .await
        .expect("credit");
    assert!(matches!(credited, LedgerAppend::Appended(_)));
}

/// The service over `store`, a minute after the samples' time.
pub(crate) fn service(store: &Arc<dyn Store>) -> Redemptions {
    Redemptions::new(Arc::clone(store), Clock::starting_at(NOW_MS + 60_000))
}

/// The answers of a race that are errors, for a failing assertion's message.
fn unexpected(results: &[(usize, Result<RedemptionAnswer, VoucherError>)]) -> String {
    let errors: Vec<String> = results
        .iter()
        .filter_map(|(index, answer)| {
            answer
                .as_ref()
                .err()
                .map(|error| format!("{index}: {error}"))
        })
        .collect();
    format!("errors: {errors:?}")
}

/// The sum of every ledger entry of `account_id`.
pub(crate) async fn ledger_sum(store: &Arc<dyn Store>, account_id: AccountId) -> i64 {
    store
        .ledger_page(account_id, None, usize::MAX)
        .await
        .expect("ledger")
        .iter()
        .map(|entry| entry.delta)
        .sum()
}

/// A request for `offer` from ZIP 10001.
pub(crate) fn request(offer: &RewardOffer) -> RedeemRequest {
    RedeemRequest {
        offer_id: offer.id,
        zip: "10001".to_owned(),
    }
}

pub(crate) async fn concurrent_redemptions_of_the_last_unit_issue_one_voucher(
    store: Arc<dyn Store>,
) {
    let last_unit = stored_offer(&store, Some(1), None).await;
    let people: Arc<Vec<AccountId>> = Arc::new(
        (0..CONCURRENT_CALLERS)
            .map(|_| AccountId::random())
            .collect(),
    );
    for person in people.iter() {
        credit(&store, *person, 80).await;
    }
    let redemptions = service(&store);
    let wanted = request(&last_unit);

    let results = race(&store, {
        let people = Arc::clone(&people);
        move |_store, index| {
            let redemptions = redemptions.clone();
            let wanted = wanted.clone();
            let person = people[index];
            async move { redemptions.redeem(person, "key", &wanted).await }
        }
    })
    .await;

    let issued: Vec<usize> = results
        .iter()
        .filter(|(_, answer)| matches!(answer, Ok(RedemptionAnswer::Issued(_))))
        .map(|(index, _)| *index)
        .collect();
    let out_of_stock = results
        .iter()
        .filter(|(_, answer)| {
            matches!(
                answer,
                Ok(RedemptionAnswer::Refused(RedemptionRefusal::OutOfStock))
            )
        })
        .count();
    assert_eq!(
        issued.len(),
        1,
        "exactly one voucher: {}",
        unexpected(&results)
    );
    assert_eq!(
        out_of_stock,
        CONCURRENT_CALLERS - 1,
        "clean refusals: {}",
        unexpected(&results)
    );
    let stored = store
        .offer(last_unit.id)
        .await
        .expect("read")
        .expect("offer");
    assert_eq!(stored.remaining, Some(0), "stock 0");
    for (index, person) in people.iter().enumerate() {
        let expected = if issued.contains(&index) { 30 } else { 80 };
        assert_eq!(store.balance(*person).await.expect("balance"), expected);
        assert_eq!(ledger_sum(&store, *person).await, expected);
    }
}

pub(crate) async fn concurrent_redemptions_by_one_person_stop_at_the_balance(
    store: Arc<dyn Store>,
) {
    let unlimited = stored_offer(&store, None, None).await;
    let person = AccountId::random();
    credit(&store, person, 150).await;
    let redemptions = service(&store);
    let wanted = request(&unlimited);

    let results = race(&store, move |_store, index| {
        let redemptions = redemptions.clone();
        let wanted = wanted.clone();
        async move {
            redemptions
                .redeem(person, &format!("key-{index}"), &wanted)
                .await
        }
    })
    .await;

    let issued = results
        .iter()
        .filter(|(_, answer)| matches!(answer, Ok(RedemptionAnswer::Issued(_))))
        .count();
    let short = results
        .iter()
        .filter(|(_, answer)| {
            matches!(
                answer,
                Ok(RedemptionAnswer::Refused(
                    RedemptionRefusal::InsufficientPoints
                ))
            )
        })
        .count();
    assert_eq!(
        issued,
        3,
        "points for exactly three: {}",
        unexpected(&results)
    );
    assert_eq!(short, CONCURRENT_CALLERS - 3, "{}", unexpected(&results));
    assert_eq!(store.balance(person).await.expect("balance"), 0);
    assert_eq!(ledger_sum(&store, person).await, 0);
    let vouchers = store.vouchers_of(person, None, 200).await.expect("list");
    assert_eq!(vouchers.len(), 3);
}

pub(crate) async fn concurrent_redemptions_never_exceed_the_per_person_limit(
    store: Arc<dyn Store>,
) {
    let limit = PerPersonLimit {
        count: 2,
        per: LimitPeriod::Day,
    };
    let limited = stored_offer(&store, Some(500), Some(limit)).await;
    let person = AccountId::random();
    credit(&store, person, 50 * 200).await;
    let redemptions = service(&store);
    let wanted = request(&limited);

    let results = race(&store, move |_store, index| {
        let redemptions = redemptions.clone();
        let wanted = wanted.clone();
        async move {
            redemptions
                .redeem(person, &format!("key-{index}"), &wanted)
                .await
        }
    })
    .await;

    let issued = results
        .iter()
        .filter(|(_, answer)| matches!(answer, Ok(RedemptionAnswer::Issued(_))))
        .count();
    let limited_out = results
        .iter()
        .filter(|(_, answer)| {
            matches!(
                answer,
                Ok(RedemptionAnswer::Refused(
                    RedemptionRefusal::RedemptionLimitReached
                ))
            )
        })
        .count();
    assert_eq!(issued, 2, "the limit is two a day");
    assert_eq!(limited_out, CONCURRENT_CALLERS - 2);
    assert_eq!(
        store.balance(person).await.expect("balance"),
        50 * 200 - 100
    );
    let stored = store.offer(limited.id).await.expect("read").expect("offer");
    assert_eq!(stored.remaining, Some(498));
}

pub(crate) async fn concurrent_cancels_of_one_voucher_refund_once(store: Arc<dyn Store>) {
    let limit = PerPersonLimit {
        count: 1,
        per: LimitPeriod::Ever,
    };
    let limited = stored_offer(&store, Some(10), Some(limit)).await;
    let person = AccountId::random();
    credit(&store, person, 120).await;
    let redemptions = service(&store);
    let Ok(RedemptionAnswer::Issued(voucher)) = redemptions
        .redeem(person, "first", &request(&limited))
        .await
    else {
        panic!("the first redemption issues a voucher");
    };
    assert_eq!(store.balance(person).await.expect("balance"), 70);
    let voucher_id = voucher.voucher_id;

    let results = race(&store, {
        let redemptions = redemptions.clone();
        move |_store, _index| {
            let redemptions = redemptions.clone();
            async move { redemptions.cancel(person, voucher_id).await }
        }
    })
    .await;

    for (_, cancelled) in &results {
        let cancelled = cancelled.as_ref().expect("every cancel answers");
        assert_eq!(cancelled.status, VoucherStatus::Cancelled);
    }
    let refunds: Vec<_> = store
        .ledger_page(person, None, usize::MAX)
        .await
        .expect("ledger")
        .into_iter()
        .filter(|entry| entry.reason == LedgerReason::Refund)
        .collect();
    assert_eq!(refunds.len(), 1, "exactly one refund");
    assert_eq!(refunds[0].delta, 50);
    assert_eq!(store.balance(person).await.expect("balance"), 120);
    let stored = store.offer(limited.id).await.expect("read").expect("offer");
    assert_eq!(stored.remaining, Some(10), "the unit is back");
    assert!(
        store
            .pending_releases(NOW_MS, 10)
            .await
            .expect("pending")
            .is_empty()
    );
    assert!(
        matches!(
            redemptions
                .redeem(person, "second", &request(&limited))
                .await,
            Ok(RedemptionAnswer::Issued(_))
        ),
        "the limit slot is back"
    );
}

pub(crate) async fn a_key_answers_the_same_and_is_not_reused(store: Arc<dyn Store>) {
    let limited = stored_offer(&store, Some(5), None).await;
    let other = stored_offer(&store, Some(5), None).await;
    let person = AccountId::random();
    credit(&store, person, 60).await;
    let redemptions = service(&store);

    let first = redemptions
        .redeem(person, "k", &request(&limited))
        .await
        .expect("first");
    let replay = redemptions
        .redeem(person, "k", &request(&limited))
        .await
        .expect("replay");
    assert_eq!(first, replay);
    assert!(matches!(first, RedemptionAnswer::Issued(_)));
    assert_eq!(
        store.balance(person).await.expect("balance"),
        10,
        "one debit"
    );
    assert!(matches!(
        redemptions.redeem(person, "k", &request(&other)).await,
        Err(VoucherError::IdempotencyKeyReused)
    ));
    let refused = redemptions
        .redeem(person, "k2", &request(&other))
        .await
        .expect("refused");
    assert_eq!(
        refused,
        RedemptionAnswer::Refused(RedemptionRefusal::InsufficientPoints)
    );
    credit(&store, person, 100).await;
    assert_eq!(
        redemptions
            .redeem(person, "k2", &request(&other))
            .await
            .expect("replayed refusal"),
        refused,
        "a refusal is replayed too"
    );
    let stored = store.offer(limited.id).await.expect("read").expect("offer");
    assert_eq!(stored.remaining, Some(4));
}

pub(crate) async fn a_cancel_racing_the_expiry_sweep_refunds_once(store: Arc<dyn Store>) {
    let limited = stored_offer(&store, Some(10), None).await;
    let person = AccountId::random();
    credit(&store, person, 120).await;
    let redemptions = service(&store);
    let Ok(RedemptionAnswer::Issued(voucher)) = redemptions
        .redeem(person, "first", &request(&limited))
        .await
    else {
        panic!("the redemption issues a voucher");
    };
    let voucher_id = voucher.voucher_id;
    // The sweeping node's clock is past the expiry, the cancelling one's not.
    let sweeper = Redemptions::new(
        Arc::clone(&store),
        Clock::starting_at(voucher.expires_at_ms + 1),
    );
    assert_eq!(
        store
            .expired_vouchers(voucher.expires_at_ms + 1, 10)
            .await
            .expect("due"),
        vec![voucher_id]
    );

    let results = race(&store, move |_store, index| {
        let redemptions = redemptions.clone();
        let sweeper = sweeper.clone();
        async move {
            if index % 2 == 0 {
                redemptions.cancel(person, voucher_id).await.map(|_| ())
            } else {
                sweeper.expire_due().await.map(|_| ())
            }
        }
    })
    .await;

    for (index, answer) in &results {
        if let Err(error) = answer {
            // A cancel that finds the voucher expired is refused; nothing else fails.
            assert!(
                index % 2 == 0 && matches!(error, VoucherError::NotCancellable),
                "caller {index}: {error}"
            );
        }
    }
    let stored = store
        .voucher(voucher_id)
        .await
        .expect("read")
        .expect("voucher");
    assert!(stored.status.releases(), "{:?}", stored.status);
    let refunds = store
        .ledger_page(person, None, usize::MAX)
        .await
        .expect("ledger")
        .into_iter()
        .filter(|entry| entry.reason == LedgerReason::Refund)
        .count();
    assert_eq!(refunds, 1, "exactly one refund");
    assert_eq!(store.balance(person).await.expect("balance"), 120);
    assert_eq!(ledger_sum(&store, person).await, 120);
    let offer = store.offer(limited.id).await.expect("read").expect("offer");
    assert_eq!(offer.remaining, Some(10), "the unit is back once");
    assert!(
        store
            .expired_vouchers(voucher.expires_at_ms + 1, 10)
            .await
            .expect("due")
            .is_empty(),
        "a released voucher is no longer due"
    );
}

pub(crate) async fn only_issued_vouchers_past_their_expiry_are_due(store: Arc<dyn Store>) {
    let unlimited = stored_offer(&store, None, None).await;
    let person = AccountId::random();
    credit(&store, person, 500).await;
    let redemptions = service(&store);
    let mut vouchers = Vec::new();
    for key in ["a", "b", "c"] {
        let Ok(RedemptionAnswer::Issued(voucher)) =
            redemptions.redeem(person, key, &request(&unlimited)).await
        else {
            panic!("issued");
        };
        vouchers.push(voucher);
    }
    // The service's clock moves on: the last voucher expires last.
    let first_expiry = vouchers[0].expires_at_ms;
    let expiry = vouchers[2].expires_at_ms;
    assert!(
        store
            .expired_vouchers(first_expiry - 1, 10)
            .await
            .expect("due")
            .is_empty(),
        "nothing is due before its expiry"
    );
    redemptions
        .cancel(person, vouchers[1].voucher_id)
        .await
        .expect("cancel");
    let mut due = store.expired_vouchers(expiry, 10).await.expect("due");
    due.sort();
    let mut expected = vec![vouchers[0].voucher_id, vouchers[2].voucher_id];
    expected.sort();
    assert_eq!(due, expected, "issued and due, not the cancelled one");

    let sweeper = Redemptions::new(Arc::clone(&store), Clock::starting_at(expiry));
    assert_eq!(sweeper.expire_due().await.expect("sweep"), 2);
    assert_eq!(sweeper.expire_due().await.expect("sweep again"), 0);
    for voucher in [&vouchers[0], &vouchers[2]] {
        let stored = store
            .voucher(voucher.voucher_id)
            .await
            .expect("read")
            .expect("voucher");
        assert_eq!(stored.status, VoucherStatus::Expired);
    }
    assert_eq!(store.balance(person).await.expect("balance"), 500);
    assert_eq!(ledger_sum(&store, person).await, 500);
}

pub(crate) async fn concurrent_redeems_of_one_voucher_at_the_counter_succeed_once(
    store: Arc<dyn Store>,
) {
    let limited = stored_offer(&store, Some(10), None).await;
    let person = AccountId::random();
    credit(&store, person, 120).await;
    let redemptions = service(&store);
    let Ok(RedemptionAnswer::Issued(voucher)) = redemptions
        .redeem(person, "first", &request(&limited))
        .await
    else {
        panic!("the redemption issues a voucher");
    };
    let counter_key = IssuerKey {
        key_id: Uuid::new_v4(),
        kind: limited.kind,
        issuer_id: limited.issuer_id,
        label: "Till 1".to_owned(),
        secret_hash: SecretHash(rand::random()),
        created_at_ms: NOW_MS,
        revoked_at_ms: None,
    };
    let other_shop = IssuerKey {
        issuer_id: Uuid::new_v4(),
        ..counter_key.clone()
    };
    let answer = redemptions
        .check_at_counter(&other_shop, voucher.voucher_id)
        .await
        .expect("check");
    assert_eq!(answer.verdict, CounterVerdict::NotYours);
    assert_eq!(
        redemptions
            .redeem_at_counter(&other_shop, voucher.voucher_id)
            .await
            .expect("redeem")
            .verdict,
        CounterVerdict::NotYours,
        "another issuer cannot redeem it"
    );

    let voucher_id = voucher.voucher_id;
    let results = race(&store, move |_store, _index| {
        let redemptions = redemptions.clone();
        let counter_key = counter_key.clone();
        async move {
            redemptions
                .redeem_at_counter(&counter_key, voucher_id)
                .await
        }
    })
    .await;

    let verdicts: Vec<CounterVerdict> = results
        .iter()
        .map(|(index, answer)| match answer {
            Ok(answer) => answer.verdict,
            Err(error) => panic!("caller {index}: {error}"),
        })
        .collect();
    let redeemed = verdicts
        .iter()
        .filter(|verdict| **verdict == CounterVerdict::Redeemed)
        .count();
    assert_eq!(redeemed, 1, "exactly one redeem succeeds");
    assert!(
        verdicts.iter().all(|verdict| matches!(
            verdict,
            CounterVerdict::Redeemed | CounterVerdict::AlreadyRedeemed
        )),
        "{verdicts:?}"
    );
    let stored = store
        .voucher(voucher_id)
        .await
        .expect("read")
        .expect("voucher");
    assert_eq!(stored.status, VoucherStatus::Redeemed);
    assert_eq!(
        store.balance(person).await.expect("balance"),
        70,
        "points stay spent"
    );
    let offer = store.offer(limited.id).await.expect("read").expect("offer");
    assert_eq!(offer.remaining, Some(9), "the unit stays taken");
}
