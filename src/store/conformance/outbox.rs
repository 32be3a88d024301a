//! Contract of [`OutboxStore`](crate::store::OutboxStore): a connection's
//! delivery is written with it, once; a due delivery is taken by one node of
//! many; an expired lease is taken over and its old holder's settlement
//! refused; failures come due again at their retry, dead letters leave the
//! queue until replayed; listings by state follow the record.

use std::sync::Arc;

use uuid::Uuid;

use super::race;
use super::samples::NOW_MS;
use crate::domain::AccountId;
use crate::domain::trophies::TrophyId;
use crate::outbox::delivery::{AttemptOutcome, DeliveryState, OutboxDelivery};
use crate::outbox::endpoint::EndpointRecord;
use crate::outbox::lease::{self, ReplayOutcome};
use crate::outbox::message::{EventType, message_id};
use crate::store::{
    AwardOutcome, ConnectionParty, ConnectionRecord, Donation, DonationStatus,
    InsertConnectionOutcome, Store, TrophyAward,
};

/// How long a sample lease lasts.
const LEASE_MS: i64 = 30_000;

/// A day, further than any sample time.
const DAY_MS: i64 = 86_400_000;

fn record() -> ConnectionRecord {
    ConnectionRecord {
        mode: Default::default(),
        connection_id: Uuid::new_v4(),
        citizen: ConnectionParty {
            account_id: AccountId(Uuid::new_v4()),
            points: 10,
            withheld: None,
        },
        officer: ConnectionParty {
            account_id: AccountId(Uuid::new_v4()),
            points: 10,
            withheld: None,
        },
        established_at_ms: NOW_MS,
        cell_r7: None,
        zip: Some("10036".to_owned()),
    }
}

/// Inserts a connection and returns its delivery as stored.
async fn connected(store: &Arc<dyn Store>) -> OutboxDelivery {
    let record = record();
    let outcome = store.insert_connection(&record).await.expect("insert");
    assert_eq!(outcome, InsertConnectionOutcome::Inserted);
    let id = message_id(
        EventType::ConnectionCompleted,
        &record.connection_id.to_string(),
    );
    store
        .outbox_delivery(id)
        .await
        .expect("read")
        .expect("written with the connection")
}

fn ids(deliveries: &[OutboxDelivery]) -> Vec<Uuid> {
    deliveries
        .iter()
        .map(|delivery| delivery.message.message_id)
        .collect()
}

pub(crate) async fn a_connection_writes_its_delivery_once(store: Arc<dyn Store>) {
    let record = record();
    store.insert_connection(&record).await.expect("insert");
    let id = message_id(
        EventType::ConnectionCompleted,
        &record.connection_id.to_string(),
    );
    let written = store
        .outbox_delivery(id)
        .await
        .expect("read")
        .expect("written");
    assert_eq!(written.state, DeliveryState::Pending);
    assert_eq!(written.version, 0);
    assert_eq!(written.message.fact_key, record.connection_id.to_string());
    assert!(
        written
            .message
            .body
            .contains(&record.connection_id.to_string())
    );
    assert!(written.message.body.contains("\"zip3\":\"100\""));
    let claimed = lease::claim(&*store, &written, Uuid::new_v4(), NOW_MS, NOW_MS + LEASE_MS)
        .await
        .expect("claim")
        .expect("due");
    // Writing the fact again leaves its delivery as it stands.
    store
        .insert_connection(&record)
        .await
        .expect("insert again");
    let stored = store
        .outbox_delivery(id)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(stored, claimed);
    let pending = store
        .outbox_deliveries(DeliveryState::Pending, NOW_MS, 10)
        .await
        .expect("list");
    assert_eq!(ids(&pending), vec![id]);
}

pub(crate) async fn concurrent_claims_of_one_delivery_take_it_once(store: Arc<dyn Store>) {
    let delivery = connected(&store).await;
    let results = race(&store, |store, _index| {
        let delivery = delivery.clone();
        async move {
            lease::claim(
                &*store,
                &delivery,
                Uuid::new_v4(),
                NOW_MS,
                NOW_MS + LEASE_MS,
            )
            .await
            .expect("claim")
        }
    })
    .await;
    let winners: Vec<OutboxDelivery> = results.into_iter().filter_map(|(_, won)| won).collect();
    assert_eq!(winners.len(), 1);
    let stored = store
        .outbox_delivery(delivery.message.message_id)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored, winners[0]);
}

/// Many deliveries in flight ahead of a few due ones (all of one time) hide
/// none of them, whatever the listing's limit.
pub(crate) async fn deliveries_in_flight_hide_none_of_the_due_ones(store: Arc<dyn Store>) {
    const IN_FLIGHT: usize = 240;
    const DUE: usize = 10;
    for _ in 0..IN_FLIGHT + DUE {
        connected(&store).await;
    }
    let node = Uuid::new_v4();
    let listed = store
        .due_outbox_deliveries(NOW_MS, IN_FLIGHT + DUE)
        .await
        .expect("due");
    assert_eq!(listed.len(), IN_FLIGHT + DUE);
    for delivery in &listed[..IN_FLIGHT] {
        lease::claim(&*store, delivery, node, NOW_MS, NOW_MS + LEASE_MS)
            .await
            .expect("claim")
            .expect("due");
    }
    let mut left = ids(&listed[IN_FLIGHT..]);
    left.sort();
    let first = store.due_outbox_deliveries(NOW_MS, 1).await.expect("due");
    assert_eq!(first.len(), 1, "the one asked for, past those in flight");
    assert!(left.contains(&first[0].message.message_id));
    let mut all = ids(&store
        .due_outbox_deliveries(NOW_MS, IN_FLIGHT + DUE)
        .await
        .expect("due"));
    all.sort();
    assert_eq!(all, left, "exactly the ones not in flight");
}

pub(crate) async fn an_expired_lease_is_taken_over_and_its_holder_cannot_settle(
    store: Arc<dyn Store>,
) {
    let delivery = connected(&store).await;
    let id = delivery.message.message_id;
    let due = store.due_outbox_deliveries(NOW_MS, 10).await.expect("due");
    assert_eq!(ids(&due), vec![id]);
    let first_node = Uuid::new_v4();
    let second_node = Uuid::new_v4();
    let held = lease::claim(&*store, &delivery, first_node, NOW_MS, NOW_MS + LEASE_MS)
        .await
        .expect("claim")
        .expect("due");
    let while_held = store
        .due_outbox_deliveries(NOW_MS + LEASE_MS - 1, 10)
        .await
        .expect("due");
    assert!(while_held.is_empty(), "a live lease keeps it out");
    assert!(
        lease::claim(&*store, &held, second_node, NOW_MS + 1, NOW_MS + LEASE_MS)
            .await
            .expect("claim")
            .is_none()
    );
    let expired_at = NOW_MS + LEASE_MS;
    let after_expiry = store
        .due_outbox_deliveries(expired_at, 10)
        .await
        .expect("due");
    assert_eq!(ids(&after_expiry), vec![id]);
    let taken_over = lease::claim(
        &*store,
        &after_expiry[0],
        second_node,
        expired_at,
        expired_at + LEASE_MS,
    )
    .await
    .expect("claim")
    .expect("expired lease");
    let late = AttemptOutcome::Delivered {
        at_ms: expired_at + 1,
    };
    assert!(
        lease::settle(&*store, &held, &late)
            .await
            .expect("settle")
            .is_none(),
        "the old holder lost its lease"
    );
    let settled = lease::settle(&*store, &taken_over, &late)
        .await
        .expect("settle")
        .expect("holder");
    assert_eq!(settled.state, DeliveryState::Delivered);
    assert!(
        store
            .due_outbox_deliveries(NOW_MS + DAY_MS, 10)
            .await
            .expect("due")
            .is_empty()
    );
    let delivered = store
        .outbox_deliveries(DeliveryState::Delivered, NOW_MS, 10)
        .await
        .expect("list");
    assert_eq!(ids(&delivered), vec![id]);
    let pending = store
        .outbox_deliveries(DeliveryState::Pending, NOW_MS, 10)
        .await
        .expect("list");
    assert!(pending.is_empty());
}

pub(crate) async fn failures_retry_when_scheduled_and_dead_letters_replay(store: Arc<dyn Store>) {
    let delivery = connected(&store).await;
    let id = delivery.message.message_id;
    let node = Uuid::new_v4();
    let claimed = lease::claim(&*store, &delivery, node, NOW_MS, NOW_MS + LEASE_MS)
        .await
        .expect("claim")
        .expect("due");
    let retry_at_ms = NOW_MS + 5_000;
    let failed = lease::settle(
        &*store,
        &claimed,
        &AttemptOutcome::Failed {
            at_ms: NOW_MS + 10,
            error: "status 500".to_owned(),
            retry_at_ms: Some(retry_at_ms),
        },
    )
    .await
    .expect("settle")
    .expect("holder");
    assert_eq!(failed.state, DeliveryState::Failed);
    assert!(
        store
            .due_outbox_deliveries(retry_at_ms - 1, 10)
            .await
            .expect("due")
            .is_empty()
    );
    let due = store
        .due_outbox_deliveries(retry_at_ms, 10)
        .await
        .expect("due");
    assert_eq!(ids(&due), vec![id]);
    let listed = store
        .outbox_deliveries(DeliveryState::Failed, NOW_MS, 10)
        .await
        .expect("list");
    assert_eq!(ids(&listed), vec![id]);
    assert_eq!(
        lease::replay(&*store, id, retry_at_ms)
            .await
            .expect("replay"),
        ReplayOutcome::StillOpen
    );
    let claimed = lease::claim(&*store, &due[0], node, retry_at_ms, retry_at_ms + LEASE_MS)
        .await
        .expect("claim")
        .expect("due");
    let dead = lease::settle(
        &*store,
        &claimed,
        &AttemptOutcome::Failed {
            at_ms: retry_at_ms + 10,
            error: "status 500".to_owned(),
            retry_at_ms: None,
        },
    )
    .await
    .expect("settle")
    .expect("holder");
    assert_eq!(dead.state, DeliveryState::Dead);
    assert_eq!(dead.attempts, 2);
    assert!(
        store
            .due_outbox_deliveries(NOW_MS + DAY_MS, 10)
            .await
            .expect("due")
            .is_empty()
    );
    // Time moves on past the listing above: stores may rely on that.
    let replay_at_ms = NOW_MS + DAY_MS + 60_000;
    assert_eq!(
        lease::replay_dead(&*store, replay_at_ms, 10)
            .await
            .expect("replay"),
        1
    );
    let due = store
        .due_outbox_deliveries(replay_at_ms, 10)
        .await
        .expect("due");
    assert_eq!(ids(&due), vec![id]);
    assert_eq!(due[0].state, DeliveryState::Pending);
    assert_eq!(due[0].attempts, 0);
    assert_eq!(
        lease::replay(&*store, Uuid::new_v4(), replay_at_ms)
            .await
            .expect("replay"),
        ReplayOutcome::NotFound
    );
}

pub(crate) async fn an_award_writes_its_trophy_delivery_once(store: Arc<dyn Store>) {
    let award = TrophyAward {
        account_id: AccountId(Uuid::new_v4()),
        trophy: TrophyId::ALL[0],
        awarded_at_ms: NOW_MS,
        connection_id: Uuid::new_v4(),
    };
    let fact_key = format!("{}/{}", award.account_id.0, award.trophy.as_str());
    let id = message_id(EventType::TrophyAwarded, &fact_key);
    assert_eq!(
        store.award_trophy(&award).await.expect("award"),
        AwardOutcome::Awarded
    );
    let written = store
        .outbox_delivery(id)
        .await
        .expect("read")
        .expect("written");
    assert_eq!(written.message.event_type, EventType::TrophyAwarded);
    assert!(written.message.body.contains(award.trophy.as_str()));
    let again = TrophyAward {
        awarded_at_ms: NOW_MS + 5,
        ..award.clone()
    };
    assert!(matches!(
        store.award_trophy(&again).await.expect("award"),
        AwardOutcome::AlreadyHeld(_)
    ));
    let kept = store
        .outbox_delivery(id)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(kept, written);
}

pub(crate) async fn a_completed_donation_writes_its_delivery_once(store: Arc<dyn Store>) {
    let started = Donation {
        account_id: AccountId(Uuid::new_v4()),
        idempotency_key: "gift/1".to_owned(),
        donation_id: Uuid::new_v4(),
        charity_id: Uuid::new_v4(),
        points: 30,
        dollars_per_point: rust_decimal::Decimal::new(1, 2),
        requested_at_ms: NOW_MS,
        attempt: 0,
        attempt_started_at_ms: NOW_MS,
        status: DonationStatus::Started,
        refusal: None,
    };
    let id = message_id(
        EventType::DonationMade,
        &crate::outbox::message::donation_fact_key(&started),
    );
    store.insert_donation(&started).await.expect("insert");
    assert_eq!(store.outbox_delivery(id).await.expect("read"), None);
    let completed = Donation {
        status: DonationStatus::Completed,
        ..started.clone()
    };
    assert!(store.update_donation(&completed, 0).await.expect("update"));
    let written = store
        .outbox_delivery(id)
        .await
        .expect("read")
        .expect("written");
    assert_eq!(written.message.event_type, EventType::DonationMade);
    assert!(
        written
            .message
            .body
            .contains(&started.donation_id.to_string())
    );
    assert!(written.message.body.contains("\"points\":30"));
    // A second completion is refused and leaves the delivery as it stands.
    assert!(!store.update_donation(&completed, 0).await.expect("update"));
    assert_eq!(
        store.outbox_delivery(id).await.expect("read"),
        Some(written)
    );
    // A refused donation has no delivery.
    let refused = Donation {
        idempotency_key: "gift/2".to_owned(),
        donation_id: Uuid::new_v4(),
        ..started.clone()
    };
    store.insert_donation(&refused).await.expect("insert");
    let refused = Donation {
        status: DonationStatus::Refused,
        ..refused
    };
    assert!(store.update_donation(&refused, 0).await.expect("update"));
    let refused_id = message_id(
        EventType::DonationMade,
        &crate::outbox::message::donation_fact_key(&refused),
    );
    assert_eq!(store.outbox_delivery(refused_id).await.expect("read"), None);
}

pub(crate) async fn endpoints_are_put_and_listed(store: Arc<dyn Store>) {
    assert!(store.outbox_endpoints().await.expect("list").is_empty());
    let mut endpoint = EndpointRecord {
        id: Uuid::new_v4(),
        url: "https://hooks.example.com/heyblue".to_owned(),
        event_types: vec![EventType::ConnectionCompleted],
        sealed_secret: vec![1; 56],
        sealed_previous_secret: None,
        enabled: true,
        disabled_reason: None,
        created_at_ms: NOW_MS,
        updated_at_ms: NOW_MS,
        failing_since_ms: Some(NOW_MS),
        rate_limit_per_second: None,
    };
    store.put_outbox_endpoint(&endpoint).await.expect("put");
    endpoint.enabled = false;
    endpoint.disabled_reason = Some("answered 410 gone".to_owned());
    store.put_outbox_endpoint(&endpoint).await.expect("replace");
    assert_eq!(
        store.outbox_endpoints().await.expect("list"),
        vec![endpoint]
    );
}
