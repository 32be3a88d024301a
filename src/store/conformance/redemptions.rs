//! Contract of [`RedemptionStore`](crate::store::RedemptionStore) and
//! [`VoucherStore`](crate::store::VoucherStore): redemptions written once per
//! key and updated only by their current runner, stock moved at most once per
//! op and never below zero, limit slots never shared, vouchers written once,
//! listed newest first, and moved out of a status exactly once.

use std::sync::Arc;

use uuid::Uuid;

use super::samples::{NOW_MS, offer};
use super::{CONCURRENT_CALLERS, race};
use crate::domain::AccountId;
use crate::domain::catalog::{LimitPeriod, OfferKind};
use crate::domain::voucher::{LimitWindow, Voucher, VoucherStatus};
use crate::store::{
    InsertRedemptionOutcome, LimitClaim, PendingRelease, Redemption, RedemptionStatus,
    StockDirection, StockMove, StockOp, Store, VoucherCursor, VoucherTransition,
};

/// One day, in ms.
const DAY_MS: i64 = 86_400_000;

/// A started redemption of `account_id` under `key`.
fn redemption(account_id: AccountId, key: &str) -> Redemption {
    Redemption {
        account_id,
        idempotency_key: key.to_owned(),
        redemption_id: Uuid::new_v4(),
        offer_id: Uuid::new_v4(),
        zip: "10001".to_owned(),
        requested_at_ms: NOW_MS,
        attempt: 0,
        attempt_started_at_ms: NOW_MS,
        status: RedemptionStatus::Started,
        voucher: None,
        refusal: None,
    }
}

/// An issued voucher of `account_id`, issued at `issued_at_ms`.
fn voucher(account_id: AccountId, issued_at_ms: i64) -> Voucher {
    Voucher {
        voucher_id: Uuid::new_v4(),
        account_id,
        offer_id: Uuid::new_v4(),
        kind: OfferKind::Offer,
        issuer_id: Uuid::new_v4(),
        title: "Free coffee".to_owned(),
        points: 50,
        issued_at_ms,
        expires_at_ms: issued_at_ms + DAY_MS,
        status: VoucherStatus::Issued,
        status_changed_at_ms: None,
        stock_taken: true,
        limit_slot: None,
    }
}

/// A take (or return) of one unit of `offer_id` under a fresh op id.
fn stock_op(offer_id: Uuid, direction: StockDirection) -> StockOp {
    StockOp {
        op_id: Uuid::new_v4(),
        offer_id,
        direction,
        at_ms: NOW_MS,
    }
}

pub(crate) async fn redemptions_are_written_once_and_updated_by_their_runner(
    store: Arc<dyn Store>,
) {
    let account_id = AccountId::random();
    let first = redemption(account_id, "key-1");
    assert_eq!(
        store.insert_redemption(&first).await.expect("insert"),
        InsertRedemptionOutcome::Inserted
    );
    let again = redemption(account_id, "key-1");
    match store.insert_redemption(&again).await.expect("insert again") {
        InsertRedemptionOutcome::Exists(stored) => assert_eq!(*stored, first),
        InsertRedemptionOutcome::Inserted => panic!("a key is written once"),
    }
    let other_person = redemption(AccountId::random(), "key-1");
    assert_eq!(
        store
            .insert_redemption(&other_person)
            .await
            .expect("insert"),
        InsertRedemptionOutcome::Inserted,
        "keys are per account"
    );
    let started: Vec<Uuid> = store
        .started_redemptions(NOW_MS, 100)
        .await
        .expect("started")
        .iter()
        .map(|stored| stored.redemption_id)
        .collect();
    assert!(started.contains(&first.redemption_id));

    let taken_over = Redemption {
        attempt: 1,
        ..first.clone()
    };
    assert!(
        !store
            .update_redemption(&taken_over, 5)
            .await
            .expect("stale")
    );
    assert!(store.update_redemption(&taken_over, 0).await.expect("take"));
    let finished = Redemption {
        status: RedemptionStatus::Refused,
        refusal: Some(crate::domain::voucher::RedemptionRefusal::OutOfStock),
        ..taken_over.clone()
    };
    assert!(
        !store
            .update_redemption(&finished, 0)
            .await
            .expect("old runner"),
        "the runner that was taken over writes nothing"
    );
    assert!(store.update_redemption(&finished, 1).await.expect("finish"));
    assert!(
        !store.update_redemption(&finished, 1).await.expect("again"),
        "a finished redemption does not change"
    );
    assert_eq!(
        store.redemption(account_id, "key-1").await.expect("read"),
        Some(finished.clone())
    );
    let started_after: Vec<Uuid> = store
        .started_redemptions(NOW_MS, 100)
        .await
        .expect("started")
        .iter()
        .map(|stored| stored.redemption_id)
        .collect();
    assert!(!started_after.contains(&first.redemption_id));
    assert!(started_after.contains(&other_person.redemption_id));
}

pub(crate) async fn stock_moves_apply_once_per_op_and_never_below_zero(store: Arc<dyn Store>) {
    let limited = offer(OfferKind::Offer, &["100"], NOW_MS + DAY_MS, Some(2));
    assert!(store.put_offer(&limited, None).await.expect("create"));
    let take = stock_op(limited.id, StockDirection::Take);
    assert_eq!(
        store.move_offer_stock(&take).await.expect("take"),
        StockMove::Applied { remaining: 1 }
    );
    assert_eq!(
        store.move_offer_stock(&take).await.expect("retry"),
        StockMove::AlreadyApplied
    );
    let second = stock_op(limited.id, StockDirection::Take);
    assert_eq!(
        store.move_offer_stock(&second).await.expect("take"),
        StockMove::Applied { remaining: 0 }
    );
    assert_eq!(
        store
            .move_offer_stock(&stock_op(limited.id, StockDirection::Take))
            .await
            .expect("take"),
        StockMove::OutOfStock
    );
    let give_back = stock_op(limited.id, StockDirection::Return);
    assert_eq!(
        store.move_offer_stock(&give_back).await.expect("return"),
        StockMove::Applied { remaining: 1 }
    );
    assert_eq!(
        store.move_offer_stock(&give_back).await.expect("retry"),
        StockMove::AlreadyApplied
    );
    let stored = store.offer(limited.id).await.expect("read").expect("offer");
    assert_eq!(stored.remaining, Some(1));
    assert_eq!(stored.version, limited.version, "moves keep the version");

    let unlimited = offer(OfferKind::Offer, &["100"], NOW_MS + DAY_MS, None);
    assert!(store.put_offer(&unlimited, None).await.expect("create"));
    assert_eq!(
        store
            .move_offer_stock(&stock_op(unlimited.id, StockDirection::Take))
            .await
            .expect("take"),
        StockMove::Unlimited
    );
    assert_eq!(
        store
            .move_offer_stock(&stock_op(Uuid::new_v4(), StockDirection::Take))
            .await
            .expect("take"),
        StockMove::UnknownOffer
    );
}

pub(crate) async fn a_replacement_from_a_moved_stock_is_refused(store: Arc<dyn Store>) {
    let stored = offer(OfferKind::Offer, &["100"], NOW_MS + DAY_MS, Some(5));
    assert!(store.put_offer(&stored, None).await.expect("create"));
    store
        .move_offer_stock(&stock_op(stored.id, StockDirection::Take))
        .await
        .expect("take");
    let mut replacement = stored.clone();
    replacement.total_quantity = Some(10);
    replacement.remaining = Some(10);
    replacement.version = 2;
    assert!(
        !store
            .put_offer(&replacement, Some(&stored))
            .await
            .expect("replace"),
        "a replacement computed before the take is refused"
    );
    let current = store.offer(stored.id).await.expect("read").expect("offer");
    assert_eq!(current.remaining, Some(4));
    replacement.remaining = Some(9);
    assert!(
        store
            .put_offer(&replacement, Some(&current))
            .await
            .expect("replace"),
        "a replacement from the current stock applies"
    );
    assert_eq!(
        store
            .move_offer_stock(&stock_op(stored.id, StockDirection::Take))
            .await
            .expect("take"),
        StockMove::Applied { remaining: 8 }
    );
}

pub(crate) async fn concurrent_takes_of_the_last_unit_take_it_once(store: Arc<dyn Store>) {
    let last_unit = offer(OfferKind::Offer, &["100"], NOW_MS + DAY_MS, Some(1));
    assert!(store.put_offer(&last_unit, None).await.expect("create"));
    let offer_id = last_unit.id;

    let results = race(&store, move |store, _index| async move {
        store
            .move_offer_stock(&stock_op(offer_id, StockDirection::Take))
            .await
            .expect("take")
    })
    .await;

    let applied = results
        .iter()
        .filter(|(_, moved)| matches!(moved, StockMove::Applied { remaining: 0 }))
        .count();
    let refused = results
        .iter()
        .filter(|(_, moved)| *moved == StockMove::OutOfStock)
        .count();
    assert_eq!(applied, 1, "exactly one take gets the last unit");
    assert_eq!(refused, CONCURRENT_CALLERS - 1);
    let stored = store.offer(offer_id).await.expect("read").expect("offer");
    assert_eq!(stored.remaining, Some(0));
}

pub(crate) async fn concurrent_claims_hold_at_most_the_limit_of_slots(store: Arc<dyn Store>) {
    let account_id = AccountId::random();
    let offer_id = Uuid::new_v4();
    let window = LimitWindow::holding(LimitPeriod::Day, NOW_MS);
    let holders: Arc<Vec<Uuid>> =
        Arc::new((0..CONCURRENT_CALLERS).map(|_| Uuid::new_v4()).collect());

    let results = race(&store, {
        let holders = Arc::clone(&holders);
        move |store, index| {
            let holder = holders[index];
            async move {
                store
                    .claim_limit_slot(account_id, offer_id, window, 3, holder)
                    .await
                    .expect("claim")
            }
        }
    })
    .await;

    let mut held: Vec<(usize, u32)> = results
        .iter()
        .filter_map(|(index, claim)| match claim {
            LimitClaim::Held { slot } => Some((*index, *slot)),
            LimitClaim::Full => None,
        })
        .collect();
    held.sort_by_key(|(_, slot)| *slot);
    let slots: Vec<u32> = held.iter().map(|(_, slot)| *slot).collect();
    assert_eq!(slots, vec![0, 1, 2], "three holders, one slot each");

    let (first_index, first_slot) = held[0];
    let first_holder = holders[first_index];
    assert_eq!(
        store
            .claim_limit_slot(account_id, offer_id, window, 3, first_holder)
            .await
            .expect("again"),
        LimitClaim::Held { slot: first_slot },
        "a holder keeps its slot"
    );
    let newcomer = Uuid::new_v4();
    assert_eq!(
        store
            .claim_limit_slot(account_id, offer_id, window, 3, newcomer)
            .await
            .expect("full"),
        LimitClaim::Full
    );
    assert!(
        !store
            .release_limit_slot(account_id, offer_id, window, first_slot, newcomer)
            .await
            .expect("not held")
    );
    assert!(
        store
            .release_limit_slot(account_id, offer_id, window, first_slot, first_holder)
            .await
            .expect("release")
    );
    assert_eq!(
        store
            .claim_limit_slot(account_id, offer_id, window, 3, newcomer)
            .await
            .expect("claim"),
        LimitClaim::Held { slot: first_slot }
    );
    let next_day = LimitWindow::holding(LimitPeriod::Day, NOW_MS + DAY_MS);
    assert_eq!(
        store
            .claim_limit_slot(account_id, offer_id, next_day, 3, Uuid::new_v4())
            .await
            .expect("claim"),
        LimitClaim::Held { slot: 0 },
        "each window has its own slots"
    );
}

pub(crate) async fn vouchers_are_written_once_and_listed_newest_first(store: Arc<dyn Store>) {
    let account_id = AccountId::random();
    let mut issued = Vec::new();
    // Spread over more than one 30-day bucket.
    for index in 0..5_i64 {
        let stored = voucher(account_id, NOW_MS + index * 20 * DAY_MS);
        assert_eq!(store.insert_voucher(&stored).await.expect("insert"), stored);
        issued.push(stored);
    }
    let mut retry = issued[0].clone();
    retry.points = 999;
    assert_eq!(
        store.insert_voucher(&retry).await.expect("retry"),
        issued[0],
        "a voucher is written once"
    );
    store
        .insert_voucher(&voucher(AccountId::random(), NOW_MS))
        .await
        .expect("someone else's");
    assert_eq!(
        store.voucher(issued[2].voucher_id).await.expect("read"),
        Some(issued[2].clone())
    );

    let newest_first: Vec<Uuid> = issued
        .iter()
        .rev()
        .map(|stored| stored.voucher_id)
        .collect();
    let mut paged = Vec::new();
    let mut before = None;
    loop {
        let page = store
            .vouchers_of(account_id, before, 2)
            .await
            .expect("page");
        paged.extend(page.iter().map(|stored| stored.voucher_id));
        let Some(last) = page.last() else { break };
        before = Some(VoucherCursor {
            issued_at_ms: last.issued_at_ms,
            voucher_id: last.voucher_id,
        });
        if page.len() < 2 {
            break;
        }
    }
    assert_eq!(paged, newest_first);
}

pub(crate) async fn concurrent_status_changes_of_one_voucher_apply_once(store: Arc<dyn Store>) {
    let stored = voucher(AccountId::random(), NOW_MS);
    store.insert_voucher(&stored).await.expect("insert");
    let voucher_id = stored.voucher_id;

    let results = race(&store, move |store, index| async move {
        let at_ms = NOW_MS + i64::try_from(index).expect("small");
        store
            .transition_voucher(
                voucher_id,
                VoucherStatus::Issued,
                VoucherStatus::Cancelled,
                at_ms,
            )
            .await
            .expect("transition")
    })
    .await;

    let applied: Vec<&VoucherTransition> = results
        .iter()
        .map(|(_, transition)| transition)
        .filter(|transition| matches!(transition, VoucherTransition::Applied(_)))
        .collect();
    assert_eq!(applied.len(), 1, "exactly one change applies");
    let VoucherTransition::Applied(changed) = applied[0] else {
        unreachable!("filtered on applied")
    };
    assert_eq!(changed.status, VoucherStatus::Cancelled);
    let current = store
        .voucher(voucher_id)
        .await
        .expect("read")
        .expect("voucher");
    assert_eq!(&current, changed);
    assert_eq!(
        store
            .transition_voucher(
                Uuid::new_v4(),
                VoucherStatus::Issued,
                VoucherStatus::Cancelled,
                NOW_MS
            )
            .await
            .expect("missing"),
        VoucherTransition::Refused(None)
    );
}

pub(crate) async fn pending_releases_are_noted_listed_and_cleared(store: Arc<dyn Store>) {
    let first = PendingRelease {
        voucher_id: Uuid::new_v4(),
        marked_at_ms: NOW_MS,
    };
    let second = PendingRelease {
        voucher_id: Uuid::new_v4(),
        marked_at_ms: NOW_MS + 1,
    };
    store.mark_pending_release(first).await.expect("mark");
    store.mark_pending_release(second).await.expect("mark");
    store
        .mark_pending_release(PendingRelease {
            marked_at_ms: NOW_MS + 5,
            ..first
        })
        .await
        .expect("mark again");
    let mut pending = store.pending_releases(NOW_MS, 10).await.expect("list");
    pending.sort_by_key(|release| release.marked_at_ms);
    assert_eq!(
        pending,
        vec![first, second],
        "the first note's time is kept"
    );
    store
        .clear_pending_release(first.voucher_id)
        .await
        .expect("clear");
    store
        .clear_pending_release(first.voucher_id)
        .await
        .expect("clear again");
    assert_eq!(
        store.pending_releases(NOW_MS, 10).await.expect("list"),
        vec![second]
    );
}
