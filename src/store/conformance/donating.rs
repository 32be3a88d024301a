//! Donating through the rewards service and the pledge store, on each
//! backend: the exactly-once rules under 100 concurrent callers — one key
//! pledges and debits once, one person's balance covers exactly as many
//! donations as it can — plus the store's own contract: a donation is written
//! once and moved by its runner, pledges are listed per month and charity,
//! and a statement is settled once.

use std::str::FromStr;
use std::sync::Arc;

use rust_decimal::Decimal;
use uuid::Uuid;

use super::redeeming::{credit, ledger_sum};
use super::samples::{NOW_MS, charity};
use super::{CONCURRENT_CALLERS, race};
use crate::clock::Clock;
use crate::domain::AccountId;
use crate::domain::donation::{DonationRefusal, Month};
use crate::rewards::{DonateRequest, DonationAnswer, DonationError, Donations, Statements};
use crate::store::{
    Donation, DonationStatus, InsertDonationOutcome, LedgerReason, Pledge, StatementSettlement,
    Store,
};

/// The service over `store`, a minute after the samples' time, a cent a point.
fn service(store: &Arc<dyn Store>) -> Donations {
    Donations::new(
        Arc::clone(store),
        Clock::starting_at(NOW_MS + 60_000),
        Decimal::new(1, 2),
    )
}

/// The answers of a race that are errors, for a failing assertion's message.
fn unexpected(results: &[(usize, Result<DonationAnswer, DonationError>)]) -> String {
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

/// A started donation of `points` to `charity_id` under `key`.
fn started(person: AccountId, key: &str, charity_id: Uuid, points: u32) -> Donation {
    Donation {
        account_id: person,
        idempotency_key: key.to_owned(),
        donation_id: Uuid::new_v4(),
        charity_id,
        points,
        dollars_per_point: Decimal::new(1, 2),
        requested_at_ms: NOW_MS,
        attempt: 0,
        attempt_started_at_ms: NOW_MS,
        status: DonationStatus::Started,
        refusal: None,
    }
}

pub(crate) async fn donations_are_written_once_and_updated_by_their_runner(store: Arc<dyn Store>) {
    let person = AccountId::random();
    let first = started(person, "k", Uuid::new_v4(), 5);
    assert_eq!(
        store.insert_donation(&first).await.expect("insert"),
        InsertDonationOutcome::Inserted
    );
    let second = started(person, "k", Uuid::new_v4(), 9);
    assert_eq!(
        store.insert_donation(&second).await.expect("insert again"),
        InsertDonationOutcome::Exists(Box::new(first.clone()))
    );
    let listed = store.started_donations(NOW_MS, 10).await.expect("started");
    assert!(listed.contains(&first));

    let taken_over = Donation {
        attempt: 1,
        ..first.clone()
    };
    assert!(
        store
            .update_donation(&taken_over, 0)
            .await
            .expect("take over")
    );
    let completed = Donation {
        status: DonationStatus::Completed,
        ..taken_over.clone()
    };
    assert!(
        !store
            .update_donation(&completed, 0)
            .await
            .expect("stale runner"),
        "the first runner lost its turn"
    );
    assert!(
        store
            .update_donation(&completed, 1)
            .await
            .expect("complete")
    );
    assert!(!store.update_donation(&completed, 1).await.expect("again"));
    assert_eq!(
        store.donation(person, "k").await.expect("read"),
        Some(completed)
    );
    let listed = store.started_donations(NOW_MS, 10).await.expect("started");
    assert!(listed.iter().all(|donation| donation.account_id != person));
}

pub(crate) async fn pledges_are_listed_per_month_and_charity(store: Arc<dyn Store>) {
    let this_month = Month::holding(NOW_MS);
    let later_month = Month::parse("2027-01").expect("month");
    let food_bank = Uuid::new_v4();
    let shelter = Uuid::new_v4();
    let pledge = |charity_id, month, points| Pledge {
        pledge_id: Uuid::new_v4(),
        account_id: AccountId::random(),
        charity_id,
        month,
        points,
        dollars: Decimal::from_str("0.0125").expect("decimal") * Decimal::from(points),
        pledged_at_ms: NOW_MS,
    };
    let mut food_pledges: Vec<Pledge> = (1..=5)
        .map(|points| pledge(food_bank, this_month, points))
        .collect();
    for written in &food_pledges {
        store.put_pledge(written).await.expect("put");
    }
    store.put_pledge(&food_pledges[0]).await.expect("again");
    store
        .put_pledge(&pledge(shelter, this_month, 7))
        .await
        .expect("other charity");
    store
        .put_pledge(&pledge(food_bank, later_month, 11))
        .await
        .expect("other month");

    let mut read = store
        .pledges(this_month, food_bank, None, 3)
        .await
        .expect("page");
    assert_eq!(read.len(), 3);
    let after = read.last().map(|last| last.pledge_id);
    read.extend(
        store
            .pledges(this_month, food_bank, after, 3)
            .await
            .expect("next"),
    );
    assert_eq!(read.len(), 5, "the second page holds the rest");
    let mut read_ids: Vec<Uuid> = read.iter().map(|pledge| pledge.pledge_id).collect();
    read_ids.dedup();
    assert_eq!(read_ids.len(), 5, "no pledge twice");
    food_pledges.sort_by_key(|pledge| pledge.pledge_id);
    let mut sorted = read.clone();
    sorted.sort_by_key(|pledge| pledge.pledge_id);
    assert_eq!(
        sorted, food_pledges,
        "pledges read back whole, dollars exact"
    );

    let removed = &food_pledges[2];
    store
        .remove_pledge(this_month, food_bank, removed.pledge_id)
        .await
        .expect("remove");
    store
        .remove_pledge(this_month, food_bank, removed.pledge_id)
        .await
        .expect("remove again");
    let left = store
        .pledges(this_month, food_bank, None, 50)
        .await
        .expect("left");
    assert_eq!(left.len(), 4);
    assert!(
        store
            .pledges(later_month, shelter, None, 50)
            .await
            .expect("none")
            .is_empty()
    );
}

pub(crate) async fn settling_a_statement_twice_keeps_the_first_settlement(store: Arc<dyn Store>) {
    let this_month = Month::holding(NOW_MS);
    assert_eq!(
        store.statement_settlement(this_month).await.expect("read"),
        None
    );
    let first = StatementSettlement {
        month: this_month,
        settled_at_ms: NOW_MS,
        settled_by: "admin_token@127.0.0.1".to_owned(),
    };
    assert_eq!(store.settle_statement(&first).await.expect("settle"), first);
    let second = StatementSettlement {
        settled_at_ms: NOW_MS + 1_000,
        settled_by: "admin_token@10.0.0.1".to_owned(),
        ..first.clone()
    };
    assert_eq!(store.settle_statement(&second).await.expect("again"), first);
    assert_eq!(
        store.statement_settlement(this_month).await.expect("read"),
        Some(first.clone())
    );

    // Through the service: the month must be over, and a second call says so.
    let statements = Statements::new(Arc::clone(&store));
    let later_month = Month::parse("2027-01").expect("month");
    let in_february = 1_801_958_400_000; // 2027-02-07
    let settled = statements
        .settle(later_month, "a".to_owned(), in_february)
        .await
        .expect("settle");
    assert!(settled.newly);
    let again = statements
        .settle(later_month, "b".to_owned(), in_february + 1)
        .await
        .expect("settle again");
    assert!(!again.newly);
    assert_eq!(again.settlement, settled.settlement);
    assert!(
        statements
            .settle(
                Month::parse("2027-02").expect("month"),
                "c".to_owned(),
                in_february
            )
            .await
            .is_err()
    );
}

pub(crate) async fn concurrent_donations_under_one_key_pledge_and_debit_once(
    store: Arc<dyn Store>,
) {
    let food_bank = charity("Food Bank");
    store.put_charity(&food_bank).await.expect("charity");
    let person = AccountId::random();
    credit(&store, person, 1_000).await;
    let donations = service(&store);
    let request = DonateRequest {
        charity_id: food_bank.id,
        points: 250,
    };

    let results = race(&store, move |_store, _index| {
        let donations = donations.clone();
        async move { donations.donate(person, "one-key", request).await }
    })
    .await;

    let pledged: Vec<Uuid> = results
        .iter()
        .filter_map(|(_, answer)| match answer {
            Ok(DonationAnswer::Pledged(donation)) => Some(donation.donation_id),
            Ok(DonationAnswer::Refused(_)) | Err(_) => None,
        })
        .collect();
    let in_progress = results
        .iter()
        .filter(|(_, answer)| matches!(answer, Err(DonationError::InProgress)))
        .count();
    assert!(!pledged.is_empty(), "{}", unexpected(&results));
    assert!(pledged.iter().all(|id| *id == pledged[0]), "one donation");
    assert_eq!(
        pledged.len() + in_progress,
        CONCURRENT_CALLERS,
        "{}",
        unexpected(&results)
    );
    assert_eq!(store.balance(person).await.expect("balance"), 750);
    assert_eq!(ledger_sum(&store, person).await, 750);
    let pledges = store
        .pledges(Month::holding(NOW_MS), food_bank.id, None, 50)
        .await
        .expect("pledges");
    assert_eq!(pledges.len(), 1);
    assert_eq!(
        pledges[0].dollars,
        Decimal::from_str("2.50").expect("decimal")
    );
}

pub(crate) async fn concurrent_donations_by_one_person_stop_at_the_balance(store: Arc<dyn Store>) {
    let food_bank = charity("Food Bank");
    store.put_charity(&food_bank).await.expect("charity");
    let person = AccountId::random();
    credit(&store, person, 150).await;
    let donations = service(&store);
    let request = DonateRequest {
        charity_id: food_bank.id,
        points: 50,
    };

    let results = race(&store, move |_store, index| {
        let donations = donations.clone();
        async move {
            donations
                .donate(person, &format!("key-{index}"), request)
                .await
        }
    })
    .await;

    let pledged = results
        .iter()
        .filter(|(_, answer)| matches!(answer, Ok(DonationAnswer::Pledged(_))))
        .count();
    let short = results
        .iter()
        .filter(|(_, answer)| {
            matches!(
                answer,
                Ok(DonationAnswer::Refused(DonationRefusal::InsufficientPoints))
            )
        })
        .count();
    assert_eq!(
        pledged,
        3,
        "points for exactly three: {}",
        unexpected(&results)
    );
    assert_eq!(short, CONCURRENT_CALLERS - 3, "{}", unexpected(&results));
    assert_eq!(store.balance(person).await.expect("balance"), 0);
    assert_eq!(ledger_sum(&store, person).await, 0);
    let ledger = store.ledger_page(person, None, 200).await.expect("ledger");
    let debits = ledger
        .iter()
        .filter(|entry| entry.reason == LedgerReason::Donation)
        .count();
    assert_eq!(debits, 3);
    let statement = Statements::new(Arc::clone(&store))
        .statement(Month::holding(NOW_MS))
        .await
        .expect("statement");
    assert_eq!(statement.total_pledges, 3);
    assert_eq!(statement.total_points, 150);
    assert_eq!(statement.total_dollars.to_string(), "1.50");
}
