//! Crash recovery of redemptions and cancels: a store call fails after writing
//! (as if the process died before the answer), the recovery pass runs, and the
//! books balance — balance = Σ ledger, stock + issued vouchers = quantity, and
//! every step happened once.

use std::sync::Arc;

use tempfile::TempDir;

use super::{RedemptionAnswer, Redemptions, VoucherError};
use crate::connections::failing_store::{FailMode, FailPoint, FailingStore};
use crate::domain::AccountId;
use crate::domain::catalog::{CatalogStatus, RewardOffer};
use crate::domain::voucher::{RedemptionRefusal, VoucherStatus};
use crate::store::conformance::redeeming::{credit, ledger_sum, request, service, stored_offer};
use crate::store::embedded::EmbeddedStore;
use crate::store::{LedgerReason, Store};

/// Units of the offers these tests redeem.
const QUANTITY: u32 = 10;

/// The pieces of one test: the failing wrapper, the store it wraps, the
/// service over the wrapper, an offer of [`QUANTITY`] units and a person with
/// 120 points.
struct Setup {
    failing: Arc<FailingStore>,
    store: Arc<dyn Store>,
    redemptions: Redemptions,
    offer: RewardOffer,
    person: AccountId,
    _data_dir: TempDir,
}

async fn setup() -> Setup {
    let data_dir = TempDir::new().expect("temporary directory");
    let embedded: Arc<dyn Store> =
        Arc::new(EmbeddedStore::open(data_dir.path()).await.expect("open"));
    let failing = Arc::new(FailingStore::new(Arc::clone(&embedded)));
    let store: Arc<dyn Store> = failing.clone();
    let offer = stored_offer(&store, Some(QUANTITY), None).await;
    let person = AccountId::random();
    credit(&store, person, 120).await;
    Setup {
        redemptions: service(&store),
        failing,
        store,
        offer,
        person,
        _data_dir: data_dir,
    }
}

impl Setup {
    /// Checks the books: the balance is the ledger's sum, and every unit is
    /// either in stock or held by an issued voucher.
    async fn assert_books_balance(&self, expected_balance: i64) {
        let balance = self.store.balance(self.person).await.expect("balance");
        assert_eq!(balance, expected_balance);
        assert_eq!(ledger_sum(&self.store, self.person).await, balance);
        let issued = self
            .store
            .vouchers_of(self.person, None, 100)
            .await
            .expect("vouchers")
            .iter()
            .filter(|voucher| voucher.status == VoucherStatus::Issued)
            .count();
        let stored = self
            .store
            .offer(self.offer.id)
            .await
            .expect("read")
            .expect("offer");
        let in_stock = stored.remaining.expect("limited");
        assert_eq!(
            in_stock + u32::try_from(issued).expect("small"),
            QUANTITY,
            "stock + issued = quantity"
        );
        assert!(
            self.store
                .started_redemptions(self.redemptions.clock.now_ms(), 10)
                .await
                .expect("started")
                .is_empty(),
            "nothing is left started"
        );
    }

    /// Redeems with the armed failure, expecting it to surface.
    async fn redeem_failing(&self, point: FailPoint) {
        self.failing.fail(point, FailMode::After, 0);
        let failed = self
            .redemptions
            .redeem(self.person, "key", &request(&self.offer))
            .await;
        assert!(
            matches!(failed, Err(VoucherError::Store(_))),
            "the failure surfaces: {failed:?}"
        );
        assert!(!self.failing.is_armed());
    }
}

#[tokio::test]
async fn a_redemption_interrupted_after_any_step_is_completed_once() {
    for point in [
        FailPoint::MoveOfferStock,
        FailPoint::AppendLedgerEntry,
        FailPoint::InsertVoucher,
    ] {
        let setup = setup().await;
        setup.redeem_failing(point).await;
        let started = setup
            .store
            .started_redemptions(setup.redemptions.clock.now_ms(), 10)
            .await
            .expect("started");
        assert_eq!(started.len(), 1, "{point:?}: left started");
        assert!(
            matches!(
                setup
                    .redemptions
                    .redeem(setup.person, "key", &request(&setup.offer))
                    .await,
                Err(VoucherError::InProgress)
            ),
            "{point:?}: a retry meanwhile is told to wait"
        );

        let recovered = setup.redemptions.recover(0).await.expect("recover");
        assert_eq!(recovered.redemptions, 1, "{point:?}");
        setup.assert_books_balance(70).await;
        let replay = setup
            .redemptions
            .redeem(setup.person, "key", &request(&setup.offer))
            .await
            .expect("replay");
        let RedemptionAnswer::Issued(voucher) = replay else {
            panic!("{point:?}: the recovered redemption issued a voucher");
        };
        assert_eq!(voucher.points, 50);
        assert_eq!(
            setup.redemptions.recover(0).await.expect("again"),
            super::Recovered::default(),
            "{point:?}: a second pass finds nothing"
        );
    }
}

#[tokio::test]
async fn an_answer_lost_after_the_redemption_finished_is_replayed() {
    let setup = setup().await;
    setup.redeem_failing(FailPoint::UpdateRedemption).await;
    assert_eq!(
        setup.redemptions.recover(0).await.expect("recover"),
        super::Recovered::default()
    );
    let replay = setup
        .redemptions
        .redeem(setup.person, "key", &request(&setup.offer))
        .await
        .expect("replay");
    assert!(matches!(replay, RedemptionAnswer::Issued(_)));
    setup.assert_books_balance(70).await;
}

#[tokio::test]
async fn a_redemption_whose_offer_was_suspended_meanwhile_is_given_back() {
    let setup = setup().await;
    setup.redeem_failing(FailPoint::AppendLedgerEntry).await;
    assert_eq!(
        setup.store.balance(setup.person).await.expect("balance"),
        70
    );
    let mut suspended = setup.offer.clone();
    suspended.status = CatalogStatus::Suspended;
    suspended.remaining = Some(QUANTITY - 1);
    suspended.version += 1;
    let current = setup
        .store
        .offer(setup.offer.id)
        .await
        .expect("read")
        .expect("offer");
    assert!(
        setup
            .store
            .put_offer(&suspended, Some(&current))
            .await
            .expect("suspend")
    );

    setup.redemptions.recover(0).await.expect("recover");
    setup.assert_books_balance(120).await;
    let answer = setup
        .redemptions
        .redeem(setup.person, "key", &request(&setup.offer))
        .await
        .expect("replay");
    assert_eq!(
        answer,
        RedemptionAnswer::Refused(RedemptionRefusal::OfferNotAvailable)
    );
    let refunds = setup
        .store
        .ledger_page(setup.person, None, 100)
        .await
        .expect("ledger")
        .iter()
        .filter(|entry| entry.reason == LedgerReason::Refund)
        .count();
    assert_eq!(refunds, 1, "the debit is refunded once");
}

#[tokio::test]
async fn a_young_redemption_is_left_to_its_runner() {
    let setup = setup().await;
    setup.redeem_failing(FailPoint::InsertVoucher).await;
    assert_eq!(
        setup.redemptions.recover(60_000).await.expect("recover"),
        super::Recovered::default(),
        "within the grace period the runner may still be working"
    );
    assert_eq!(
        setup
            .store
            .started_redemptions(setup.redemptions.clock.now_ms(), 10)
            .await
            .expect("started")
            .len(),
        1
    );
}

#[tokio::test]
async fn a_cancel_interrupted_after_the_status_change_is_finished_once() {
    let setup = setup().await;
    let Ok(RedemptionAnswer::Issued(voucher)) = setup
        .redemptions
        .redeem(setup.person, "key", &request(&setup.offer))
        .await
    else {
        panic!("a voucher is issued");
    };
    setup
        .failing
        .fail(FailPoint::TransitionVoucher, FailMode::After, 0);
    assert!(
        setup
            .redemptions
            .cancel(setup.person, voucher.voucher_id)
            .await
            .is_err()
    );
    assert_eq!(
        setup.store.balance(setup.person).await.expect("balance"),
        70
    );

    let recovered = setup.redemptions.recover(0).await.expect("recover");
    assert_eq!(recovered.releases, 1);
    setup.assert_books_balance(120).await;
    let cancelled = setup
        .redemptions
        .cancel(setup.person, voucher.voucher_id)
        .await
        .expect("cancelling again answers");
    assert_eq!(cancelled.status, VoucherStatus::Cancelled);
    setup.assert_books_balance(120).await;
}

#[tokio::test]
async fn a_redemption_recovered_after_its_voucher_s_lifetime_gives_everything_back() {
    let setup = setup().await;
    setup.redeem_failing(FailPoint::InsertVoucher).await;
    let lifetime_ms = i64::from(setup.offer.voucher_lifetime_seconds) * 1_000;
    // The node that recovers it comes back after the voucher would have expired.
    let late = Redemptions::new(
        Arc::clone(&setup.store),
        crate::clock::Clock::starting_at(setup.redemptions.clock.now_ms() + lifetime_ms + 60_000),
    );

    let recovered = late.recover(0).await.expect("recover");
    assert_eq!(recovered.redemptions, 1);
    let replay = late
        .redeem(setup.person, "key", &request(&setup.offer))
        .await
        .expect("replay");
    let RedemptionAnswer::Issued(voucher) = replay else {
        panic!("the redemption completed");
    };
    let stored = setup
        .store
        .voucher(voucher.voucher_id)
        .await
        .expect("read")
        .expect("voucher");
    assert_eq!(stored.status, VoucherStatus::Expired, "expired on arrival");
    setup.assert_books_balance(120).await;
}

#[tokio::test]
async fn an_unused_voucher_expires_and_gives_back_points_and_stock() {
    let setup = setup().await;
    let Ok(RedemptionAnswer::Issued(voucher)) = setup
        .redemptions
        .redeem(setup.person, "key", &request(&setup.offer))
        .await
    else {
        panic!("issued");
    };
    setup.assert_books_balance(70).await;
    // A minute before: this clock runs in real time, and a sweep on a busy
    // machine may start well after the clock was made.
    let before_expiry = Redemptions::new(
        Arc::clone(&setup.store),
        crate::clock::Clock::starting_at(voucher.expires_at_ms - 60_000),
    );
    assert_eq!(before_expiry.recover(0).await.expect("sweep").expired, 0);
    let after_expiry = Redemptions::new(
        Arc::clone(&setup.store),
        crate::clock::Clock::starting_at(voucher.expires_at_ms),
    );
    assert_eq!(after_expiry.recover(0).await.expect("sweep").expired, 1);
    setup.assert_books_balance(120).await;
    assert!(matches!(
        after_expiry.cancel(setup.person, voucher.voucher_id).await,
        Err(VoucherError::NotCancellable)
    ));
    assert_eq!(
        after_expiry.recover(0).await.expect("again"),
        super::Recovered::default()
    );
}
