//! The outbox end to end against a real HTTP receiver on 127.0.0.1 started
//! by each test: an axum app that checks every signature with its own
//! implementation of the Standard Webhooks spec and can be told to accept,
//! fail, hang, redirect or answer 410. Deliveries are written by inserting
//! connections into an embedded store, exactly as the server writes them.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::admin::{EndpointAdmin, NewEndpoint};
use super::delivery::{DeliveryState, OutboxDelivery};
use super::dispatcher::{BodyComposer, DispatchSettings, Dispatcher};
use super::endpoint::Endpoint;
use super::lease::{self, ReplayOutcome};
use super::message::{EventType, message_id};
use super::schedule::RetrySchedule;
use super::sender::{AttemptResult, FailureClass, Sender};
use super::signature::SigningSecret;
use crate::clock::Clock;
use crate::domain::AccountId;
use crate::identity::keys::ServerKeys;
use crate::store::embedded::EmbeddedStore;
use crate::store::{ConnectionParty, ConnectionRecord, Store};

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Accept,
    Fail,
    Hang,
    Redirect,
    Gone,
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub(super) struct Received {
    pub(super) webhook_id: String,
    pub(super) timestamp_seconds: i64,
    pub(super) verified: bool,
    pub(super) body: String,
    /// When it arrived (the test's clock, paused or not).
    pub(super) at: tokio::time::Instant,
}

#[derive(Debug, Clone)]
struct ReceiverState {
    mode: Arc<Mutex<Mode>>,
    received: Arc<Mutex<Vec<Received>>>,
    secret_text: Arc<Mutex<String>>,
}

/// A receiver on 127.0.0.1 and its URL.
pub(super) struct Receiver {
    state: ReceiverState,
    pub(super) url: String,
}

impl Receiver {
    pub(super) async fn start() -> Self {
        let state = ReceiverState {
            mode: Arc::new(Mutex::new(Mode::Accept)),
            received: Arc::new(Mutex::new(Vec::new())),
            secret_text: Arc::new(Mutex::new(String::new())),
        };
        let app = axum::Router::new()
            .route("/hook", post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            state,
            url: format!("http://{address}/hook"),
        }
    }

    /// The secret the receiver verifies with (it learns it as an admin
    /// would, from the text shown once).
    pub(super) fn set_secret(&self, secret_text: &str) {
        *self
            .state
            .secret_text
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = secret_text.to_owned();
    }

    pub(super) fn set_mode(&self, mode: Mode) {
        *self
            .state
            .mode
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = mode;
    }

    pub(super) fn received(&self) -> Vec<Received> {
        self.state
            .received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

async fn receive(State(state): State<ReceiverState>, headers: HeaderMap, body: String) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let webhook_id = header("webhook-id");
    let timestamp = header("webhook-timestamp");
    let secret_text = state
        .secret_text
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let verified = verify(
        &secret_text,
        &webhook_id,
        &timestamp,
        &body,
        &header("webhook-signature"),
    );
    state
        .received
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Received {
            webhook_id,
            timestamp_seconds: timestamp.parse().unwrap_or(-1),
            verified,
            body,
            at: tokio::time::Instant::now(),
        });
    let mode = *state.mode.lock().unwrap_or_else(PoisonError::into_inner);
    match mode {
        Mode::Accept => StatusCode::NO_CONTENT.into_response(),
        Mode::Fail => (StatusCode::INTERNAL_SERVER_ERROR, "down").into_response(),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(3_600)).await;
            StatusCode::OK.into_response()
        }
        Mode::Redirect => (
            StatusCode::TEMPORARY_REDIRECT,
            [("location", "https://example.com/elsewhere")],
        )
            .into_response(),
        Mode::Gone => StatusCode::GONE.into_response(),
    }
}

/// The receiver's own reading of the spec: the key is the base64 after
/// `whsec_`; the signed content is `id.timestamp.body`; the header holds
/// space-separated `v1,<base64>` signatures, any of which may match.
fn verify(secret_text: &str, id: &str, timestamp: &str, body: &str, header: &str) -> bool {
    let Some(encoded) = secret_text.strip_prefix("whsec_") else {
        return false;
    };
    let Ok(key) = STANDARD.decode(encoded) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
        return false;
    };
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    let expected = mac.finalize().into_bytes();
    header.split(' ').any(|signature| {
        signature
            .strip_prefix("v1,")
            .and_then(|encoded| STANDARD.decode(encoded).ok())
            .is_some_and(|decoded| decoded.as_slice() == expected.as_slice())
    })
}

/// A store, an endpoint and a dispatcher sending to one receiver.
pub(super) struct Harness {
    pub(super) store: Arc<dyn Store>,
    pub(super) admin: EndpointAdmin,
    pub(super) endpoint_id: Uuid,
    pub(super) dispatcher: Dispatcher,
    pub(super) clock: Clock,
    _data_dir: TempDir,
}

impl Harness {
    pub(super) async fn start(receiver: &Receiver, attempt_timeout: Duration) -> Self {
        let data_dir = TempDir::new().expect("temporary directory");
        let store: Arc<dyn Store> =
            Arc::new(EmbeddedStore::open(data_dir.path()).await.expect("open"));
        let keys = Arc::new(ServerKeys::derive(&[7; 32]));
        let clock = Clock::starting_at(1_767_225_600_000);
        let admin = EndpointAdmin::new(Arc::clone(&store), Arc::clone(&keys), true);
        let (endpoint, secret_text) = admin
            .create(
                NewEndpoint {
                    url: receiver.url.clone(),
                    event_types: vec!["connection.completed".to_owned()],
                    enabled: true,
                    rate_limit_per_second: None,
                },
                clock.now_ms(),
            )
            .await
            .expect("endpoint");
        receiver.set_secret(&secret_text);
        let settings = DispatchSettings {
            node_id: Uuid::new_v4(),
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_millis(50),
            batch: 100,
            concurrency: 16,
            backlog_scan_limit: 10_000,
            schedule: RetrySchedule {
                jitter: 0.0,
                ..RetrySchedule::default()
            },
            disable_after_failing: Duration::from_secs(120 * 3_600),
        };
        let sender = Sender::with_timeout(true, attempt_timeout).expect("client");
        let dispatcher = Dispatcher::new(
            Arc::clone(&store),
            keys,
            sender,
            BodyComposer::Recorded,
            clock,
            settings,
        );
        Self {
            store,
            admin,
            endpoint_id: endpoint.id,
            dispatcher,
            clock,
            _data_dir: data_dir,
        }
    }

    /// Inserts a connection now and returns its message id.
    pub(super) async fn connect(&self) -> Uuid {
        let record = ConnectionRecord {
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
            established_at_ms: self.clock.now_ms(),
            cell_r7: None,
            zip: Some("10036".to_owned()),
        };
        self.store.insert_connection(&record).await.expect("insert");
        message_id(
            EventType::ConnectionCompleted,
            &record.connection_id.to_string(),
        )
    }

    pub(super) async fn delivery(&self, id: Uuid) -> OutboxDelivery {
        self.store
            .outbox_delivery(id)
            .await
            .expect("read")
            .expect("stored")
    }
}

#[tokio::test(start_paused = true)]
async fn failed_attempts_follow_the_schedule_then_dead_letter_and_replay() {
    let receiver = Receiver::start().await;
    receiver.set_mode(Mode::Fail);
    let harness = Harness::start(&receiver, Duration::from_secs(15)).await;
    let id = harness.connect().await;
    let started_seconds = harness.clock.now_ms() / 1_000;
    loop {
        harness.dispatcher.run_once().await.expect("pass");
        let delivery = harness.delivery(id).await;
        if delivery.state == DeliveryState::Dead {
            break;
        }
        let wait_ms = delivery.next_attempt_at_ms - harness.clock.now_ms();
        tokio::time::advance(Duration::from_millis(
            u64::try_from(wait_ms.max(0)).expect("wait"),
        ))
        .await;
    }
    let received = receiver.received();
    let offsets: Vec<i64> = received
        .iter()
        .map(|attempt| attempt.timestamp_seconds - started_seconds)
        .collect();
    // Immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after the one before.
    assert_eq!(
        offsets,
        vec![0, 5, 305, 2_105, 9_305, 27_305, 63_305, 99_305]
    );
    assert!(received.iter().all(|attempt| attempt.verified));
    assert!(
        received
            .iter()
            .all(|attempt| attempt.webhook_id == id.to_string())
    );
    let dead = harness
        .store
        .outbox_deliveries(DeliveryState::Dead, harness.clock.now_ms(), 10)
        .await
        .expect("list");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 8);

    receiver.set_mode(Mode::Accept);
    let replayed = lease::replay(&*harness.store, id, harness.clock.now_ms())
        .await
        .expect("replay");
    assert!(matches!(replayed, ReplayOutcome::Replayed(_)));
    harness.dispatcher.run_once().await.expect("pass");
    assert_eq!(harness.delivery(id).await.state, DeliveryState::Delivered);
    let received = receiver.received();
    assert_eq!(received.len(), 9);
    assert_eq!(
        received[8].webhook_id,
        id.to_string(),
        "a replay keeps the id"
    );
}

#[tokio::test]
async fn hangs_and_redirects_fail_and_410_disables_the_endpoint() {
    let receiver = Receiver::start().await;
    let harness = Harness::start(&receiver, Duration::from_millis(500)).await;

    receiver.set_mode(Mode::Redirect);
    let redirected = harness.connect().await;
    harness.dispatcher.run_once().await.expect("pass");
    let delivery = harness.delivery(redirected).await;
    assert_eq!(delivery.state, DeliveryState::Failed);
    assert!(
        delivery
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("307")
    );

    receiver.set_mode(Mode::Hang);
    let hung = harness.connect().await;
    // Only the new one is due: the redirected one's retry comes 5 s later.
    let stats = harness.dispatcher.run_once().await.expect("pass");
    assert_eq!(stats.failed, 1);
    assert_eq!(harness.delivery(hung).await.state, DeliveryState::Failed);

    receiver.set_mode(Mode::Gone);
    let gone = harness.connect().await;
    harness.dispatcher.run_once().await.expect("pass");
    assert_eq!(harness.delivery(gone).await.state, DeliveryState::Delivered);
    let endpoints = harness.admin.list().await.expect("endpoints");
    let endpoint = endpoints
        .iter()
        .find(|endpoint| endpoint.id == harness.endpoint_id)
        .expect("endpoint");
    assert!(!endpoint.enabled, "410 disables the endpoint");
    assert_eq!(
        endpoint.disabled_reason.as_deref(),
        Some("answered 410 gone")
    );
    let before = receiver.received().len();
    let unsent = harness.connect().await;
    harness.dispatcher.run_once().await.expect("pass");
    assert_eq!(
        harness.delivery(unsent).await.state,
        DeliveryState::Delivered
    );
    assert_eq!(
        receiver.received().len(),
        before,
        "nothing sent to a disabled endpoint"
    );
    assert!(receiver.received().iter().all(|attempt| attempt.verified));
}

#[tokio::test]
async fn a_rotated_secret_still_verifies_for_a_day() {
    let receiver = Receiver::start().await;
    let harness = Harness::start(&receiver, Duration::from_secs(5)).await;
    // The receiver keeps the old secret: the new one is not configured there yet.
    let new_secret = harness
        .admin
        .rotate(harness.endpoint_id, harness.clock.now_ms())
        .await
        .expect("rotate");
    assert!(new_secret.starts_with("whsec_"));
    let id = harness.connect().await;
    harness.dispatcher.run_once().await.expect("pass");
    assert_eq!(harness.delivery(id).await.state, DeliveryState::Delivered);
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert!(
        received[0].verified,
        "the old secret's signature is sent too"
    );
}

#[tokio::test]
async fn loopback_destinations_are_refused_unless_allowed() {
    let secret = SigningSecret::generate();
    let receiver = Receiver::start().await;
    receiver.set_secret(&secret.to_text());
    let guarded = Sender::new(false).expect("client");
    let endpoint = |url: &str| Endpoint {
        id: Uuid::new_v4(),
        url: reqwest::Url::parse(url).expect("url"),
        event_types: vec![EventType::ConnectionCompleted],
        secret: secret.clone(),
        previous_secret: None,
        enabled: true,
        failing_since_ms: None,
        rate_limit_per_second: None,
    };
    let message = super::message::OutboxMessage {
        message_id: Uuid::new_v4(),
        event_type: EventType::ConnectionCompleted,
        fact_key: "fact".to_owned(),
        created_at_ms: 0,
        body: "{}".to_owned(),
    };
    let by_address = endpoint(&receiver.url);
    let by_name = endpoint(&receiver.url.replace("127.0.0.1", "localhost"));
    for refused in [&by_address, &by_name] {
        let result = guarded.send(refused, &message, 0).await;
        assert!(
            matches!(
                result,
                AttemptResult::Failed {
                    class: FailureClass::Refused,
                    ..
                }
            ),
            "{result:?}"
        );
    }
    assert!(receiver.received().is_empty());
    let allowed = Sender::new(true).expect("client");
    assert_eq!(
        allowed.send(&by_address, &message, 0).await,
        AttemptResult::Delivered
    );
}

#[tokio::test]
async fn the_loop_delivers_what_comes_due_and_stops_on_shutdown() {
    let receiver = Receiver::start().await;
    let harness = Harness::start(&receiver, Duration::from_secs(5)).await;
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(harness.dispatcher.clone().run(shutdown.clone()));
    let ids = [harness.connect().await, harness.connect().await];
    for _ in 0..200 {
        if receiver.received().len() >= ids.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shutdown.cancel();
    running.await.expect("loop stops");
    for id in ids {
        assert_eq!(harness.delivery(id).await.state, DeliveryState::Delivered);
    }
    assert_eq!(receiver.received().len(), 2);
}

/// A throughput figure for docs/benchmarks.md, run on demand
/// (`HEYBLUE_BENCH_OUTBOX=<deliveries>`): deliveries per second to the local
/// receiver from one node on the embedded store, and the store's share: the
/// same backlog settled with the endpoint disabled (claim and settle, no
/// request).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_to_a_local_receiver() {
    let Some(total) = std::env::var("HEYBLUE_BENCH_OUTBOX")
        .ok()
        .and_then(|text| text.parse::<usize>().ok())
    else {
        eprintln!("SKIPPED outbox throughput: set HEYBLUE_BENCH_OUTBOX=<deliveries>");
        return;
    };
    let receiver = Receiver::start().await;
    for sending in [true, false] {
        let harness = Harness::start(&receiver, Duration::from_secs(15)).await;
        if !sending {
            harness
                .admin
                .set_enabled(harness.endpoint_id, false, None, harness.clock.now_ms())
                .await
                .expect("disable");
        }
        for _ in 0..total {
            harness.connect().await;
        }
        let started = tokio::time::Instant::now();
        let mut settled = 0;
        while settled < total {
            let stats = harness.dispatcher.run_once().await.expect("pass");
            assert!(stats.claimed > 0, "work left but none due");
            settled += stats.delivered;
        }
        let seconds = started.elapsed().as_secs_f64();
        eprintln!(
            "outbox throughput (embedded, {}): {total} in {seconds:.2} s = {:.0}/s, {:.0} us each",
            if sending {
                "sent to the local receiver"
            } else {
                "store only"
            },
            total as f64 / seconds,
            seconds * 1e6 / total as f64,
        );
    }
}

#[tokio::test(start_paused = true)]
async fn one_endpoints_dead_letters_replay_to_it_alone() {
    let reached = Receiver::start().await;
    let harness = Harness::start(&reached, Duration::from_secs(15)).await;
    let failing = Receiver::start().await;
    failing.set_mode(Mode::Fail);
    let (failing_endpoint, secret_text) = harness
        .admin
        .create(
            NewEndpoint {
                url: failing.url.clone(),
                event_types: vec!["connection.completed".to_owned()],
                enabled: true,
                rate_limit_per_second: None,
            },
            harness.clock.now_ms(),
        )
        .await
        .expect("endpoint");
    failing.set_secret(&secret_text);
    let id = harness.connect().await;
    loop {
        harness.dispatcher.run_once().await.expect("pass");
        let delivery = harness.delivery(id).await;
        if delivery.state == DeliveryState::Dead {
            break;
        }
        let wait_ms = delivery.next_attempt_at_ms - harness.clock.now_ms();
        tokio::time::advance(Duration::from_millis(
            u64::try_from(wait_ms.max(0)).expect("wait"),
        ))
        .await;
    }
    assert_eq!(
        reached.received().len(),
        1,
        "the working endpoint took it once"
    );
    assert_eq!(failing.received().len(), 8);

    // The endpoint that took it has nothing to replay.
    let working = harness
        .admin
        .list()
        .await
        .expect("list")
        .into_iter()
        .find(|record| record.id == harness.endpoint_id)
        .expect("working endpoint");
    let now_ms = harness.clock.now_ms();
    assert_eq!(
        lease::replay_dead_for_endpoint(&*harness.store, &working, now_ms, 100)
            .await
            .expect("replay"),
        0
    );
    failing.set_mode(Mode::Accept);
    let replayed = lease::replay_dead_for_endpoint(&*harness.store, &failing_endpoint, now_ms, 100)
        .await
        .expect("replay");
    assert_eq!(replayed, 1);
    harness.dispatcher.run_once().await.expect("pass");
    assert_eq!(harness.delivery(id).await.state, DeliveryState::Delivered);
    assert_eq!(failing.received().len(), 9);
    assert_eq!(
        failing.received()[8].webhook_id,
        id.to_string(),
        "a replay keeps the id"
    );
    assert_eq!(reached.received().len(), 1, "not sent twice to the other");
}

#[tokio::test(start_paused = true)]
async fn an_endpoint_failing_everything_for_five_days_is_disabled() {
    let receiver = Receiver::start().await;
    receiver.set_mode(Mode::Fail);
    let harness = Harness::start(&receiver, Duration::from_secs(15)).await;
    let endpoint = |harness: &Harness| {
        let admin = harness.admin.clone();
        let id = harness.endpoint_id;
        async move {
            admin
                .list()
                .await
                .expect("list")
                .into_iter()
                .find(|record| record.id == id)
                .expect("endpoint")
        }
    };
    let hour = Duration::from_secs(3_600);
    let started_ms = harness.clock.now_ms();
    harness.connect().await;
    harness.dispatcher.run_once().await.expect("pass");
    assert_eq!(endpoint(&harness).await.failing_since_ms, Some(started_ms));

    // A success ends the streak.
    tokio::time::advance(hour * 72).await;
    receiver.set_mode(Mode::Accept);
    harness.connect().await;
    harness.dispatcher.run_once().await.expect("pass");
    assert_eq!(endpoint(&harness).await.failing_since_ms, None);

    // Failing again: four days in it is still enabled, five days in it is not.
    receiver.set_mode(Mode::Fail);
    let streak_ms = harness.clock.now_ms();
    harness.connect().await;
    harness.dispatcher.run_once().await.expect("pass");
    tokio::time::advance(hour * 96).await;
    harness.connect().await;
    harness.dispatcher.run_once().await.expect("pass");
    let still = endpoint(&harness).await;
    assert!(still.enabled);
    assert_eq!(still.failing_since_ms, Some(streak_ms));
    tokio::time::advance(hour * 24).await;
    let id = harness.connect().await;
    harness.dispatcher.run_once().await.expect("pass");
    let disabled = endpoint(&harness).await;
    assert!(!disabled.enabled);
    assert_eq!(
        disabled.disabled_reason.as_deref(),
        Some("every attempt failed for 120 hours")
    );
    let sent = receiver.received().len();
    tokio::time::advance(Duration::from_secs(5)).await;
    harness.dispatcher.run_once().await.expect("pass");
    assert_eq!(
        receiver.received().len(),
        sent,
        "nothing more is sent to it"
    );
    assert_eq!(harness.delivery(id).await.state, DeliveryState::Delivered);

    // Enabled again by the admin: a fresh start.
    let enabled = harness
        .admin
        .set_enabled(harness.endpoint_id, true, None, harness.clock.now_ms())
        .await
        .expect("enable");
    assert_eq!(enabled.failing_since_ms, None);
}
