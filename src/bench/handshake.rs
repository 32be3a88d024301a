//! The handshake scenario inside a worker: sets up the worker's pairs (the officer
//! located and available, then the citizen located and shown that officer as its
//! nearest), runs every pair's rounds at once (see `rounds`), reads every
//! participant's points and connections through the REST API for the credit check
//! (see `audit`), and closes the sockets at the end.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::audit::{self, AuditSummary, Expected};
use super::movement::{PersonKind, Point};
use super::pairs::{Placement, RoundSchedule};
use super::plan::officer_name;
use super::rounds::{self, PairLog, ReadyPair, RoundsContext};
use super::session::{self, Connector, Person, Socket, encode, location_frame};
use super::stats::{Counters, Latencies, bump, lock, record};
use super::tally::HandshakeTally;
use crate::proto::{ClientMessage, GoAvailable, ServerMessage};

/// Participants whose REST views are read at the same time.
const AUDIT_CONCURRENCY: usize = 16;
/// How long closing the sockets may take at the end.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// A worker's pairs across the phases.
#[derive(Debug)]
pub(crate) struct PairFleet {
    /// Where the pairs stand.
    placement: Placement,
    /// Whether the server rewards every round (a withheld reward is a failure).
    expect_rewards: bool,
    /// Whether a pair whose socket fails sets itself up again and carries on
    /// (the server is being killed and restarted on purpose).
    reconnect: bool,
    /// Pairs set up and waiting for their rounds.
    ready: Vec<ReadyPair>,
    /// Pairs that could not be set up (their rounds count as failed).
    not_ready: Vec<u32>,
    /// What each pair's rounds left behind.
    logs: Vec<PairLog>,
    /// The worker's handshake figures so far.
    tally: HandshakeTally,
    /// When the rounds started (Unix ms): older records are earlier history.
    rounds_since_ms: i64,
}

/// What setting up and running pairs needs from the worker.
#[derive(Debug, Clone)]
pub(crate) struct FleetTools<'worker> {
    /// Opens sockets.
    pub(crate) connector: &'worker Connector,
    /// Access tokens by person.
    pub(crate) tokens: &'worker HashMap<Person, String>,
    /// Live counters.
    pub(crate) counters: &'worker Arc<Counters>,
    /// Histograms.
    pub(crate) latencies: &'worker Arc<Latencies>,
}

impl PairFleet {
    /// No pairs yet.
    pub(crate) fn new(placement: Placement, expect_rewards: bool, reconnect: bool) -> Self {
        Self {
            placement,
            expect_rewards,
            reconnect,
            ready: Vec::new(),
            not_ready: Vec::new(),
            logs: Vec::new(),
            tally: HandshakeTally::default(),
            rounds_since_ms: 0,
        }
    }

    /// Sets up `pairs`, `concurrency` sockets at a time; `socket_numbers` gives
    /// each socket its number (which picks the source address).
    pub(crate) async fn connect(
        &mut self,
        tools: FleetTools<'_>,
        pairs: &[u32],
        concurrency: u32,
        mut socket_numbers: impl FnMut() -> u32,
    ) -> Result<(), String> {
        let permits = Arc::new(Semaphore::new(
            usize::try_from(concurrency.div_ceil(2).max(1)).unwrap_or(1),
        ));
        let mut setups = JoinSet::new();
        for &index in pairs {
            let tokens = (
                tools
                    .tokens
                    .get(&person(PersonKind::Officer, index))
                    .cloned(),
                tools
                    .tokens
                    .get(&person(PersonKind::Citizen, index))
                    .cloned(),
            );
            let (Some(officer_token), Some(citizen_token)) = tokens else {
                self.not_ready.push(index);
                continue;
            };
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return Err("setup permits closed".to_owned());
            };
            let setup = PairSetup {
                index,
                connector: tools.connector.clone(),
                officer_at: self.placement.officer(index),
                citizen_at: self.placement.citizen(index),
                tokens: (officer_token, citizen_token),
                socket_numbers: (socket_numbers(), socket_numbers()),
                latencies: tools.latencies.clone(),
            };
            let reconnect = self.reconnect;
            setups.spawn(async move {
                let setup = Arc::new(setup);
                let outcome = setup.run().await.map(|mut pair| {
                    if reconnect {
                        pair.redial = Some(setup);
                    }
                    pair
                });
                drop(permit);
                (index, outcome)
            });
        }
        let mut first_error = None;
        while let Some(joined) = setups.join_next().await {
            let Ok((index, outcome)) = joined else {
                continue;
            };
            match outcome {
                Ok(pair) => {
                    tools.counters.connected.fetch_add(2, Ordering::Relaxed);
                    tools.counters.open.fetch_add(2, Ordering::Relaxed);
                    self.ready.push(pair);
                }
                Err(message) => {
                    bump(&tools.counters.connect_failures);
                    self.tally.fail("pair_setup");
                    tools
                        .latencies
                        .keep_wrong(format!("pair {index} could not be set up: {message}"));
                    first_error.get_or_insert(message);
                    self.not_ready.push(index);
                }
            }
        }
        match first_error {
            Some(message) if self.ready.is_empty() => {
                Err(format!("no pair could be set up: {message}"))
            }
            Some(_) | None => Ok(()),
        }
    }

    /// Runs every ready pair's rounds of `schedule` and waits for all.
    pub(crate) async fn run_rounds(&mut self, tools: FleetTools<'_>, schedule: RoundSchedule) {
        self.rounds_since_ms = schedule.t0_us.div_euclid(1_000);
        for &index in &self.not_ready {
            let missed = u64::try_from(schedule.rounds_of(index).count()).unwrap_or(u64::MAX);
            tools
                .counters
                .rounds_failed
                .fetch_add(missed, Ordering::Relaxed);
            self.tally.fail_n("pair_not_ready", missed);
        }
        let context = Arc::new(RoundsContext {
            counters: tools.counters.clone(),
            latencies: tools.latencies.clone(),
            schedule,
            expect_rewards: self.expect_rewards,
        });
        let mut tasks = JoinSet::new();
        for pair in self.ready.drain(..) {
            tasks.spawn(rounds::run(pair, context.clone()));
        }
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(log) => {
                    self.tally.merge(&log.tally);
                    self.logs.push(log);
                }
                Err(error) => self.tally.fail(&format!("pair_task_failed: {error}")),
            }
        }
    }

    /// Reads every participant's REST view and checks it against the rounds.
    pub(crate) async fn audit(
        &mut self,
        tools: FleetTools<'_>,
        base_url: &str,
    ) -> Result<(), String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|error| format!("http client: {error}"))?;
        let mut people = Vec::new();
        for log in &self.logs {
            for kind in [PersonKind::Officer, PersonKind::Citizen] {
                let who = person(kind, log.index);
                let token = tools.tokens.get(&who).cloned().unwrap_or_default();
                people.push((who, token, self.expected(log, kind)));
            }
        }
        let checked: Vec<(Person, AuditSummary, HashSet<Uuid>)> = futures::stream::iter(people)
            .map(|(who, token, expected)| {
                let http = &http;
                async move {
                    let name = format!("{:?} {}", who.kind, who.index).to_lowercase();
                    let mut summary = AuditSummary::default();
                    let established_late =
                        match super::account_views::read(http, base_url, &token).await {
                            Ok(view) => audit::check(&name, &expected, &view, &mut summary),
                            Err(error) => {
                                summary.unreadable(&name, &error);
                                HashSet::new()
                            }
                        };
                    (who, summary, established_late)
                }
            })
            .buffer_unordered(AUDIT_CONCURRENCY)
            .collect()
            .await;
        let mut late_by_pair: HashMap<u32, [HashSet<Uuid>; 2]> = HashMap::new();
        for (who, summary, established_late) in checked {
            self.tally.audit.merge(&summary);
            let side = usize::from(who.kind == PersonKind::Citizen);
            late_by_pair.entry(who.index).or_default()[side] = established_late;
        }
        for (index, [officer_late, citizen_late]) in &late_by_pair {
            audit::check_both_sides(
                &format!("pair {index}"),
                officer_late,
                citizen_late,
                &mut self.tally.audit,
            );
        }
        Ok(())
    }

    /// What the bench saw of one side of a pair.
    fn expected(&self, log: &PairLog, kind: PersonKind) -> Expected {
        Expected {
            accepted: log
                .accepted
                .iter()
                .map(|round| {
                    let points = match kind {
                        PersonKind::Officer => round.officer_points,
                        PersonKind::Citizen => round.citizen_points,
                    };
                    (round.connection_id, points)
                })
                .collect(),
            abandoned: log.abandoned.iter().copied().collect(),
            since_ms: self.rounds_since_ms,
        }
    }

    /// Closes every socket still open.
    pub(crate) async fn close(&mut self, counters: &Counters) {
        let mut sockets: Vec<Socket> = Vec::new();
        for pair in self.ready.drain(..) {
            sockets.push(pair.officer);
            sockets.push(pair.citizen);
        }
        for log in &mut self.logs {
            if let Some(pair) = log.pair.take() {
                sockets.push(pair.officer);
                sockets.push(pair.citizen);
            }
        }
        let count = u64::try_from(sockets.len()).unwrap_or(u64::MAX);
        let closing =
            futures::future::join_all(sockets.iter_mut().map(|socket| socket.close(None)));
        let _closed_or_timed_out = tokio::time::timeout(CLOSE_TIMEOUT, closing).await;
        counters.open.fetch_sub(count, Ordering::Relaxed);
    }

    /// The worker's handshake figures.
    pub(crate) fn tally(&self) -> HandshakeTally {
        self.tally.clone()
    }
}

/// One pair's setup (kept by the pair when it may have to set itself up again).
#[derive(Debug)]
pub(crate) struct PairSetup {
    /// The pair.
    index: u32,
    /// Opens sockets.
    connector: Connector,
    /// Where the officer stands.
    officer_at: Point,
    /// Where the citizen stands.
    citizen_at: Point,
    /// The officer's and the citizen's access tokens.
    tokens: (String, String),
    /// The officer's and the citizen's socket numbers.
    socket_numbers: (u32, u32),
    /// Connect latencies go here.
    latencies: Arc<Latencies>,
}

impl PairSetup {
    /// Officer first (located, available), then the citizen (located, shown the
    /// officer): the officer is in the index before the citizen's first answer.
    pub(crate) async fn run(&self) -> Result<ReadyPair, String> {
        let (officer_at, citizen_at) = (self.officer_at, self.citizen_at);
        let mut officer = self.open(self.socket_numbers.0, &self.tokens.0).await?;
        session::send(
            &mut officer,
            location_frame(officer_at.lat, officer_at.lng, 0)?,
        )
        .await?;
        session::send(
            &mut officer,
            encode(&ClientMessage::GoAvailable(GoAvailable { minutes: None }))?,
        )
        .await?;
        session::wait_for(&mut officer, "availability", |message| {
            matches!(message, ServerMessage::Availability { .. })
        })
        .await?;
        let mut citizen = self.open(self.socket_numbers.1, &self.tokens.1).await?;
        session::send(
            &mut citizen,
            location_frame(citizen_at.lat, citizen_at.lng, 0)?,
        )
        .await?;
        let own_name = officer_name(self.index);
        // What the citizen was shown instead, for the error.
        let last_shown = std::sync::Mutex::new("nothing".to_owned());
        let shown = session::wait_for(&mut citizen, "nearest naming its officer", |message| {
            let ServerMessage::Nearest { officer } = message else {
                return false;
            };
            *lock(&last_shown) = officer
                .as_ref()
                .map_or_else(|| "null".to_owned(), |view| view.display_name.to_string());
            officer
                .as_ref()
                .is_some_and(|view| *view.display_name == *own_name)
        })
        .await
        .map_err(|error| format!("{error} (last nearest shown: {})", lock(&last_shown)))?;
        let ServerMessage::Nearest {
            officer: Some(view),
        } = shown
        else {
            return Err("the nearest answer has no officer".to_owned());
        };
        Ok(ReadyPair {
            index: self.index,
            officer,
            citizen,
            handle: view.handle.to_string(),
            officer_at,
            citizen_at,
            redial: None,
        })
    }

    /// Opens one socket and waits for `welcome`.
    async fn open(&self, socket_number: u32, token: &str) -> Result<Socket, String> {
        let started = tokio::time::Instant::now();
        let mut socket = self.connector.open(socket_number, Some(token)).await?;
        session::wait_for(&mut socket, "welcome", |message| {
            matches!(message, ServerMessage::Welcome { .. })
        })
        .await?;
        record(
            &self.latencies.connect_us,
            i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX),
        );
        Ok(socket)
    }
}

fn person(kind: PersonKind, index: u32) -> Person {
    Person { kind, index }
}
