//! Donations on the embedded store: the refusals, replays, and a crash
//! between the debit and the completion finished by the recovery pass.

use std::str::FromStr;
use std::sync::Arc;

use rust_decimal::Decimal;
use uuid::Uuid;

use super::{DonateRequest, DonationAnswer, DonationError, Donations, Statements};
use crate::clock::Clock;
use crate::connections::failing_store::{FailMode, FailPoint, FailingStore};
use crate::domain::AccountId;
use crate::domain::catalog::{CatalogStatus, Charity};
use crate::domain::donation::{DonationRefusal, MAX_DONATION_POINTS, Month};
use crate::store::{DonationStatus, LedgerReason, NewLedgerEntry, Store};

/// 2026-12-04T12:00:00Z.
const NOW_MS: i64 = 1_796_385_600_000;

/// A fresh embedded store (and the directory it lives in).
async fn embedded() -> (Arc<dyn Store>, tempfile::TempDir) {
    let directory = tempfile::tempdir().expect("temporary directory");
    let store = crate::store::embedded::EmbeddedStore::open(directory.path())
        .await
        .expect("embedded store");
    (Arc::new(store), directory)
}

/// Stores a charity with `status`.
async fn charity(store: &Arc<dyn Store>, status: CatalogStatus) -> Charity {
    let charity = Charity {
        id: Uuid::new_v4(),
        name: "Food Bank".to_owned(),
        ein: "12-3456789".to_owned(),
        description: "Meals.".to_owned(),
        status,
        created_at_ms: NOW_MS,
        updated_at_ms: NOW_MS,
    };
    store.put_charity(&charity).await.expect("charity");
    charity
}

/// Credits `points` to a new person.
async fn person_with(store: &Arc<dyn Store>, points: i64) -> AccountId {
    let person = AccountId::random();
    store
        .append_ledger_entry(&NewLedgerEntry {
            entry_id: Uuid::new_v4(),
            account_id: person,
            at_ms: NOW_MS,
            delta: points,
            reason: LedgerReason::Adjustment,
            reference: None,
        })
        .await
        .expect("credit");
    person
}

fn rate(text: &str) -> Decimal {
    Decimal::from_str(text).expect("rate")
}

#[tokio::test]
async fn a_donation_debits_and_pledges_at_the_rate_of_the_day() {
    let (store, _directory) = embedded().await;
    let food_bank = charity(&store, CatalogStatus::Active).await;
    let person = person_with(&store, 500).await;
    let donations = Donations::new(
        Arc::clone(&store),
        Clock::starting_at(NOW_MS),
        rate("0.0125"),
    );
    let request = DonateRequest {
        charity_id: food_bank.id,
        points: 123,
    };

    let answer = donations
        .donate(person, "k1", request)
        .await
        .expect("donate");

    let DonationAnswer::Pledged(donation) = answer else {
        panic!("refused: {answer:?}");
    };
    assert_eq!(donation.pledge().dollars, rate("1.5375"));
    assert_eq!(store.balance(person).await.expect("balance"), 377);
    let ledger = store.ledger_page(person, None, 10).await.expect("ledger");
    assert_eq!(ledger[0].reason, LedgerReason::Donation);
    assert_eq!(ledger[0].reference, Some(donation.donation_id));
    // A replay answers the same; a new rate does not re-price it.
    let later = Donations::new(Arc::clone(&store), Clock::starting_at(NOW_MS), rate("1"));
    let replayed = later.donate(person, "k1", request).await.expect("replay");
    assert_eq!(replayed, DonationAnswer::Pledged(donation));
    assert_eq!(store.balance(person).await.expect("balance"), 377);
    let statement = Statements::new(Arc::clone(&store))
        .statement(Month::holding(NOW_MS))
        .await
        .expect("statement");
    assert_eq!(statement.total_points, 123);
    assert_eq!(statement.total_dollars.to_string(), "1.54");
}

#[tokio::test]
async fn refusals_take_nothing_and_are_answered_again() {
    let (store, _directory) = embedded().await;
    let suspended = charity(&store, CatalogStatus::Suspended).await;
    let active = charity(&store, CatalogStatus::Active).await;
    let person = person_with(&store, 50).await;
    let donations = Donations::new(Arc::clone(&store), Clock::starting_at(NOW_MS), rate("0.01"));
    let ask = |charity_id, points| DonateRequest { charity_id, points };

    let cases = [
        (
            "unknown",
            ask(Uuid::new_v4(), 10),
            DonationRefusal::CharityNotFound,
        ),
        (
            "suspended",
            ask(suspended.id, 10),
            DonationRefusal::CharityNotAvailable,
        ),
        (
            "too many",
            ask(active.id, 51),
            DonationRefusal::InsufficientPoints,
        ),
    ];
    for (key, request, refusal) in cases {
        let answer = donations.donate(person, key, request).await.expect(key);
        assert_eq!(answer, DonationAnswer::Refused(refusal), "{key}");
        let again = donations.donate(person, key, request).await.expect(key);
        assert_eq!(again, DonationAnswer::Refused(refusal), "{key} replayed");
    }
    for points in [0, MAX_DONATION_POINTS + 1] {
        let error = donations
            .donate(person, "bounds", ask(active.id, points))
            .await
            .expect_err("out of bounds");
        assert!(
            matches!(error, DonationError::PointsOutOfRange),
            "{error:?}"
        );
    }
    let reused = donations
        .donate(person, "unknown", ask(active.id, 10))
        .await
        .expect_err("reused key");
    assert!(matches!(reused, DonationError::IdempotencyKeyReused));
    assert_eq!(store.balance(person).await.expect("balance"), 50);
}

#[tokio::test]
async fn a_crash_after_the_debit_is_finished_by_recovery() {
    let (inner, _directory) = embedded().await;
    let failing = Arc::new(FailingStore::new(Arc::clone(&inner)));
    let store: Arc<dyn Store> = failing.clone();
    let food_bank = charity(&store, CatalogStatus::Active).await;
    let person = person_with(&store, 100).await;
    let clock = Clock::starting_at(NOW_MS);
    let donations = Donations::new(Arc::clone(&store), clock, rate("0.01"));
    let request = DonateRequest {
        charity_id: food_bank.id,
        points: 40,
    };
    failing.fail(FailPoint::UpdateDonation, FailMode::Before, 0);

    donations
        .donate(person, "crash", request)
        .await
        .expect_err("the completion fails");
    assert_eq!(store.balance(person).await.expect("balance"), 60);
    let stuck = store.donation(person, "crash").await.expect("read");
    assert_eq!(stuck.expect("stored").status, DonationStatus::Started);
    // Meanwhile the charity is suspended: the debit made after a good
    // judgement still stands.
    let mut suspended = food_bank.clone();
    suspended.status = CatalogStatus::Suspended;
    store.put_charity(&suspended).await.expect("suspend");

    let later = Donations::new(
        Arc::clone(&store),
        Clock::starting_at(NOW_MS + 10 * 60_000),
        rate("0.01"),
    );
    assert_eq!(later.recover(5 * 60_000).await.expect("recover"), 1);

    let finished = store.donation(person, "crash").await.expect("read");
    assert_eq!(finished.expect("stored").status, DonationStatus::Completed);
    assert_eq!(store.balance(person).await.expect("balance"), 60);
    let pledges = store
        .pledges(Month::holding(NOW_MS), food_bank.id, None, 10)
        .await
        .expect("pledges");
    assert_eq!(pledges.len(), 1);
    let replayed = donations
        .donate(person, "crash", request)
        .await
        .expect("replay");
    assert!(matches!(replayed, DonationAnswer::Pledged(_)));
}

#[tokio::test]
async fn recovery_refunds_a_debit_only_it_made_for_a_suspended_charity() {
    let (store, _directory) = embedded().await;
    let food_bank = charity(&store, CatalogStatus::Active).await;
    let person = person_with(&store, 100).await;
    // A donation whose runner stopped before any step.
    let stopped = crate::store::Donation {
        account_id: person,
        idempotency_key: "stopped".to_owned(),
        donation_id: Uuid::new_v4(),
        charity_id: food_bank.id,
        points: 30,
        dollars_per_point: rate("0.01"),
        requested_at_ms: NOW_MS,
        attempt: 0,
        attempt_started_at_ms: NOW_MS,
        status: DonationStatus::Started,
        refusal: None,
    };
    store.insert_donation(&stopped).await.expect("insert");
    let mut suspended = food_bank.clone();
    suspended.status = CatalogStatus::Suspended;
    store.put_charity(&suspended).await.expect("suspend");

    let recovery = Donations::new(
        Arc::clone(&store),
        Clock::starting_at(NOW_MS + 10 * 60_000),
        rate("0.01"),
    );
    assert_eq!(recovery.recover(5 * 60_000).await.expect("recover"), 1);

    let refused = store.donation(person, "stopped").await.expect("read");
    assert_eq!(refused.expect("stored").status, DonationStatus::Refused);
    assert_eq!(store.balance(person).await.expect("balance"), 100);
    let pledges = store
        .pledges(Month::holding(NOW_MS), food_bank.id, None, 10)
        .await
        .expect("pledges");
    assert!(pledges.is_empty());
}
