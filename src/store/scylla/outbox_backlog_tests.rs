//! Two nodes on one CQL keyspace work off a backlog of outbox deliveries
//! (10,000 by default; `HEYBLUE_BENCH_OUTBOX_BACKLOG` sets another number)
//! to a receiver on 127.0.0.1: while both run, no delivery is ever being
//! sent by both at once (the receiver counts requests in flight per
//! `webhook-id`); then one node's loop is aborted mid-pass, as a crash would
//! stop it, and the other delivers everything, taking over the dead node's
//! leases once they expire. Prints the deliveries per second of the two.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::ScyllaStore;
use super::tests::{KeyspaceDropper, cql_node_uri, test_settings};
use crate::clock::Clock;
use crate::identity::keys::ServerKeys;
use crate::outbox::admin::{EndpointAdmin, NewEndpoint};
use crate::outbox::delivery::DeliveryState;
use crate::outbox::dispatcher::{BodyComposer, DispatchSettings, Dispatcher};
use crate::outbox::message::{EventType, OutboxMessage, message_id};
use crate::outbox::schedule::RetrySchedule;
use crate::outbox::sender::Sender;
use crate::store::{OutboxStore, Store};

/// What the receiver saw.
#[derive(Debug, Default)]
struct Seen {
    /// Requests in flight per webhook-id.
    in_flight: HashMap<String, u32>,
    /// Requests received per webhook-id.
    received: HashMap<String, u32>,
    /// The most requests of one id ever in flight together.
    most_in_flight: u32,
}

/// Decrements an id's in-flight count however the request ends.
struct InFlight {
    seen: Arc<Mutex<Seen>>,
    id: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = seen.in_flight.get_mut(&self.id) {
            *count = count.saturating_sub(1);
        }
    }
}

async fn receive(State(seen): State<Arc<Mutex<Seen>>>, headers: HeaderMap) -> StatusCode {
    let id = headers
        .get("webhook-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    {
        let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
        *seen.received.entry(id.clone()).or_default() += 1;
        let now = {
            let count = seen.in_flight.entry(id.clone()).or_default();
            *count += 1;
            *count
        };
        seen.most_in_flight = seen.most_in_flight.max(now);
    }
    let _in_flight = InFlight { seen, id };
    // Long enough for a second sender of the same id to overlap, if any did.
    tokio::time::sleep(Duration::from_millis(2)).await;
    StatusCode::NO_CONTENT
}

fn backlog_size() -> usize {
    std::env::var("HEYBLUE_BENCH_OUTBOX_BACKLOG")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(10_000)
}

fn node(store: Arc<dyn Store>, keys: &Arc<ServerKeys>) -> Dispatcher {
    let settings = DispatchSettings {
        node_id: Uuid::new_v4(),
        lease: Duration::from_secs(5),
        poll_interval: Duration::from_millis(50),
        batch: 50,
        concurrency: 16,
        backlog_scan_limit: 10_000,
        schedule: RetrySchedule::default(),
        disable_after_failing: Duration::from_secs(120 * 3_600),
    };
    let sender = Sender::new(true).expect("client");
    Dispatcher::new(
        store,
        Arc::clone(keys),
        sender,
        BodyComposer::Recorded,
        Clock::system(),
        settings,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_work_off_a_backlog_and_one_survives_the_other() {
    let Some(uri) = cql_node_uri() else {
        eprintln!("SKIPPED two-node outbox backlog: HEYBLUE_SCYLLA_URI is unset");
        return;
    };
    let total = backlog_size();
    let settings = test_settings(&uri);
    let _dropper = KeyspaceDropper {
        settings: settings.clone(),
    };
    let first = Arc::new(
        ScyllaStore::connect(settings.clone())
            .await
            .expect("connect"),
    );
    let second: Arc<dyn Store> = Arc::new(ScyllaStore::connect(settings).await.expect("connect"));

    let seen = Arc::new(Mutex::new(Seen::default()));
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(Arc::clone(&seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let keys = Arc::new(ServerKeys::derive(&[9; 32]));
    let first_store: Arc<dyn Store> = first.clone();
    EndpointAdmin::new(Arc::clone(&first_store), Arc::clone(&keys), true)
        .create(
            NewEndpoint {
                url,
                event_types: vec!["connection.completed".to_owned()],
                enabled: true,
                rate_limit_per_second: None,
            },
            Clock::system().now_ms(),
        )
        .await
        .expect("endpoint");

    let written_from = tokio::time::Instant::now();
    let now_ms = Clock::system().now_ms();
    futures::stream::iter(0..total)
        .map(|index| {
            let store = Arc::clone(&first);
            async move {
                let fact_key = Uuid::new_v4().to_string();
                let message = OutboxMessage {
                    message_id: message_id(EventType::ConnectionCompleted, &fact_key),
                    event_type: EventType::ConnectionCompleted,
                    fact_key,
                    created_at_ms: now_ms + i64::try_from(index % 1_000).unwrap_or(0),
                    body: "{\"type\":\"connection.completed\"}".to_owned(),
                };
                store.write_outbox_message(message).await.expect("write");
            }
        })
        .buffer_unordered(64)
        .collect::<Vec<()>>()
        .await;
    eprintln!(
        "outbox backlog: {total} deliveries written in {:.1} s",
        written_from.elapsed().as_secs_f64()
    );

    let distinct = || {
        seen.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .received
            .len()
    };
    let started = tokio::time::Instant::now();
    let stop_first = CancellationToken::new();
    let first_node = tokio::spawn(node(first_store, &keys).run(stop_first.clone()));
    let second_node = tokio::spawn(node(Arc::clone(&second), &keys).run(CancellationToken::new()));
    while distinct() < total / 2 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let half_seconds = started.elapsed().as_secs_f64();
    let most_in_flight_while_both = seen
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .most_in_flight;
    // The second node stops mid-pass, as a crash would stop it: its leases
    // stay until they expire.
    second_node.abort();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1_800);
    while distinct() < total {
        assert!(
            tokio::time::Instant::now() < deadline,
            "backlog not delivered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let all_seconds = started.elapsed().as_secs_f64();
    // What the stopped node had sent but not settled is sent again and
    // settled by the survivor once the leases expire: wait until nothing is
    // open, leased or not.
    loop {
        let horizon_ms = Clock::system().now_ms() + 60_000;
        let open = first
            .due_outbox_deliveries(horizon_ms, 1)
            .await
            .expect("due");
        if open.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "backlog not settled"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop_first.cancel();
    first_node.await.expect("first node stops");

    let (received, duplicates) = {
        let seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
        let duplicates: u32 = seen.received.values().map(|count| count - 1).sum();
        (seen.received.len(), duplicates)
    };
    eprintln!(
        "outbox backlog: two nodes sent {} in {half_seconds:.1} s ({:.0}/s); all {total} \
         after one stopped in {all_seconds:.1} s; {duplicates} sent again after the stop",
        total / 2,
        (total / 2) as f64 / half_seconds,
    );
    assert_eq!(most_in_flight_while_both, 1, "never sent by both at once");
    assert_eq!(received, total);
    let delivered = first
        .outbox_deliveries(
            DeliveryState::Delivered,
            Clock::system().now_ms(),
            total + 10,
        )
        .await
        .expect("list");
    if delivered.len() != total {
        for state in [
            DeliveryState::Pending,
            DeliveryState::Failed,
            DeliveryState::Dead,
            DeliveryState::Cancelled,
        ] {
            let left = first
                .outbox_deliveries(state, Clock::system().now_ms(), 10)
                .await
                .expect("list");
            eprintln!("not delivered, {}: {left:?}", state.as_str());
        }
    }
    assert_eq!(delivered.len(), total, "every delivery settled delivered");
}
