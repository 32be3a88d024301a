//! A worker process (`heyblue bench-worker`): holds a share of the simulated
//! people and their sockets, does each phase when the coordinator says so, and
//! reports on stdout (see `plan`). One process may hold only as many sockets as
//! its open-file limit allows, so big runs use several.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::{JoinError, JoinSet};

use super::change_latency::{self, Replay};
use super::handshake::{FleetTools, PairFleet};
use super::movement::{PersonKind, Schedule};
use super::net::{raise_open_file_limit, resolve};
use super::pairs::RoundSchedule;
use super::plan::{Command, Event, Target, WorkerPlan};
use super::send_log::SendLog;
use super::session::{
    self, Connector, Endpoint, Outgoing, Person, SessionContext, encode, location_frame,
    sleep_until_unix, unix_now_us,
};
use super::signin::{SignInTarget, sign_in_people};
use super::stats::{Counters, Latencies, bump, lock, record};
use super::true_answer::NearestRule;
use super::truth::{self, Answer, Rules, STALE_WINDOW_US, Verdict};
use super::world::{World, WorldParams};
use crate::proto::{ClientMessage, GoAvailable, ServerMessage};

/// What a connect attempt ends with: the person, and their open socket or why not.
type ConnectAttempt = (Person, Result<session::Socket, String>);

/// How often progress goes to the coordinator.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(500);
/// Extra wait after the last tick before the final answers are checked.
const SETTLE_EXTRA: Duration = Duration::from_millis(1500);
/// How long closing the sockets may take at the end.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs a worker: reads the plan and commands on stdin until `finish`.
pub async fn run_bench_worker() -> std::process::ExitCode {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let plan: WorkerPlan = match lines.next_line().await {
        Ok(Some(line)) => match serde_json::from_str(&line) {
            Ok(plan) => plan,
            Err(error) => return fail(format!("bad plan: {error}")),
        },
        Ok(None) | Err(_) => return fail("no plan on stdin".to_owned()),
    };
    let (soft_limit, _hard_limit) = raise_open_file_limit();
    let own_sockets =
        u64::try_from(plan.own(PersonKind::Officer).len() + plan.own(PersonKind::Citizen).len())
            .unwrap_or(u64::MAX);
    if own_sockets > super::net::sockets_allowed(soft_limit) {
        return fail(format!(
            "worker {} needs {own_sockets} sockets but may open {soft_limit} files; use more --workers",
            plan.worker_index
        ));
    }
    let mut worker = match Worker::new(plan).await {
        Ok(worker) => worker,
        Err(message) => return fail(message),
    };
    let progress_counters = worker.counters.clone();
    let progress = tokio::spawn(async move {
        let mut ticker = tokio::time::interval(PROGRESS_INTERVAL);
        loop {
            ticker.tick().await;
            emit(&Event::Progress {
                counters: progress_counters.snapshot(),
            });
        }
    });
    loop {
        let command: Command = match lines.next_line().await {
            Ok(Some(line)) => match serde_json::from_str(&line) {
                Ok(command) => command,
                Err(error) => return fail(format!("bad command: {error}")),
            },
            // The coordinator went away: stop.
            Ok(None) | Err(_) => Command::Finish,
        };
        let started = tokio::time::Instant::now();
        let phase = match &command {
            Command::SignIn => "sign_in",
            Command::ConnectOfficers => "connect_officers",
            Command::ConnectCitizens => "connect_citizens",
            Command::ConnectAll => "connect_all",
            Command::Move { .. } => "move",
            Command::ConnectPairs => "connect_pairs",
            Command::Rounds { .. } => "rounds",
            Command::Audit => "audit",
            Command::Finish => "finish",
        };
        let outcome = match command {
            Command::SignIn => worker.sign_in_all().await,
            Command::ConnectOfficers => {
                worker.connect(&worker.people(&[PersonKind::Officer])).await
            }
            Command::ConnectCitizens => {
                worker.connect(&worker.people(&[PersonKind::Citizen])).await
            }
            Command::ConnectAll => {
                let people = worker.people(&[PersonKind::Officer, PersonKind::Citizen]);
                worker.connect(&people).await
            }
            Command::Move { schedule } => worker.move_people(schedule).await,
            Command::ConnectPairs => worker.connect_pairs().await,
            Command::Rounds { schedule } => worker.run_rounds(schedule).await,
            Command::Audit => worker.audit().await,
            Command::Finish => {
                worker.finish().await;
                progress.abort();
                let tally = worker
                    .pairs
                    .as_ref()
                    .map(PairFleet::tally)
                    .unwrap_or_default();
                emit(&Event::Finished {
                    counters: worker.counters.snapshot(),
                    latencies: Box::new(worker.latencies.export()),
                    tally: Box::new(tally),
                });
                return std::process::ExitCode::SUCCESS;
            }
        };
        if let Err(message) = outcome {
            return fail(message);
        }
        emit(&Event::Done {
            phase: phase.to_owned(),
            elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        });
    }
}

fn fail(message: String) -> std::process::ExitCode {
    emit(&Event::Failed { message });
    std::process::ExitCode::FAILURE
}

/// Writes one event line on stdout.
fn emit(event: &Event) {
    if let Ok(line) = serde_json::to_string(event) {
        let mut stdout = std::io::stdout().lock();
        let _written = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
    }
}

/// A worker's state across phases.
#[derive(Debug)]
struct Worker {
    /// The plan from the coordinator.
    plan: WorkerPlan,
    /// Counters shared with every session.
    counters: Arc<Counters>,
    /// Histograms shared with every session.
    latencies: Arc<Latencies>,
    /// What every session shares.
    context: Arc<SessionContext>,
    /// How to open sockets.
    connector: Connector,
    /// Access tokens by person.
    tokens: HashMap<Person, String>,
    /// Frame queues of the open sessions.
    sessions: HashMap<Person, mpsc::Sender<Outgoing>>,
    /// The session tasks.
    tasks: JoinSet<()>,
    /// Sockets opened so far (picks the source address).
    sockets_opened: u32,
    /// The handshake scenario's pairs.
    pairs: Option<PairFleet>,
}

impl Worker {
    async fn new(plan: WorkerPlan) -> Result<Self, String> {
        let ws_urls = match &plan.target {
            Target::Heyblue { ws_urls, .. } => ws_urls.clone(),
            Target::Echo { ws_url } => vec![ws_url.clone()],
        };
        let mut endpoints = Vec::with_capacity(ws_urls.len());
        for ws_url in ws_urls {
            endpoints.push(Endpoint {
                server: resolve(&ws_url).await?,
                ws_url,
            });
        }
        let counters = Arc::new(Counters::default());
        let latencies = Arc::new(Latencies::new());
        let echo = matches!(plan.target, Target::Echo { .. });
        let interval_us = i64::try_from(plan.interval_ms.max(1) * 1000).unwrap_or(1_000_000);
        let tolerance_us = i64::try_from(plan.tolerance_ms * 1000).unwrap_or(i64::MAX / 4);
        let world = (plan.moving && !echo).then(|| {
            let history_ticks =
                usize::try_from(STALE_WINDOW_US.max(tolerance_us) / interval_us + 4).unwrap_or(16);
            let params = WorldParams {
                seed: plan.seed,
                bbox: plan.bbox,
                max_speed_mps: plan.max_speed_mps,
                interval_us,
                history_ticks,
                officer_cadence: plan.obey_cadence,
            };
            Arc::new(RwLock::new(World::new(
                params,
                plan.officers,
                &plan.own(PersonKind::Citizen),
            )))
        });
        let context = Arc::new(SessionContext {
            counters: counters.clone(),
            latencies: latencies.clone(),
            world,
            rules: Rules {
                radius_m: plan.radius_m,
                hysteresis_m: plan.hysteresis_m,
                tolerance_us,
            },
            pushes: Mutex::new(HashMap::new()),
            sent: SendLog::default(),
            cadences: Mutex::new(HashMap::new()),
            finishing: std::sync::atomic::AtomicBool::new(false),
            echo,
        });
        let connector = Connector {
            endpoints,
            source_addresses: plan.source_addresses,
            offer_message_pack: !echo,
        };
        Ok(Self {
            counters,
            latencies,
            context,
            connector,
            tokens: HashMap::new(),
            sessions: HashMap::new(),
            tasks: JoinSet::new(),
            sockets_opened: 0,
            pairs: plan.handshake.as_ref().map(|handshake| {
                PairFleet::new(
                    handshake.placement.clone(),
                    handshake.expect_rewards,
                    handshake.reconnect,
                )
            }),
            plan,
        })
    }

    fn people(&self, kinds: &[PersonKind]) -> Vec<Person> {
        // Interleave kinds so a mixed ramp mixes officers and citizens.
        let lists: Vec<Vec<Person>> = kinds
            .iter()
            .map(|&kind| {
                self.plan
                    .own(kind)
                    .into_iter()
                    .map(|index| Person { kind, index })
                    .collect()
            })
            .collect();
        let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
        let mut people = Vec::new();
        for position in 0..longest {
            for list in &lists {
                if let Some(&person) = list.get(position) {
                    people.push(person);
                }
            }
        }
        people
    }

    async fn sign_in_all(&mut self) -> Result<(), String> {
        let Target::Heyblue {
            base_url,
            sms_file,
            phone_block,
            ..
        } = &self.plan.target
        else {
            return Ok(());
        };
        let people = self.people(&[PersonKind::Officer, PersonKind::Citizen]);
        let where_to = SignInTarget {
            base_url,
            sms_file,
            phone_block: *phone_block,
        };
        self.tokens = sign_in_people(&where_to, people, &self.counters).await?;
        Ok(())
    }

    async fn connect(&mut self, people: &[Person]) -> Result<(), String> {
        let permits = Arc::new(Semaphore::new(
            usize::try_from(self.plan.concurrency.max(1)).unwrap_or(1),
        ));
        let spacing = (self.plan.connect_rate_per_second > 0.0)
            .then(|| Duration::from_secs_f64(1.0 / self.plan.connect_rate_per_second));
        let ramp_start = tokio::time::Instant::now();
        let mut attempts = JoinSet::new();
        let mut first_error = None;
        for (position, &person) in people.iter().enumerate() {
            if let Some(spacing) = spacing {
                tokio::time::sleep_until(ramp_start + spacing.mul_f64(position as f64)).await;
            }
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return Err("connect permits closed".to_owned());
            };
            let socket_number = self
                .sockets_opened
                .wrapping_mul(self.plan.workers)
                .wrapping_add(self.plan.worker_index);
            self.sockets_opened += 1;
            let token = self.tokens.get(&person).cloned();
            let connector = self.connector.clone();
            let context = self.context.clone();
            let moving = self.plan.moving;
            let world = self.context.world.clone();
            attempts.spawn(async move {
                let outcome = open_session(
                    &connector,
                    &context,
                    person,
                    socket_number,
                    token.as_deref(),
                    moving,
                    world,
                )
                .await;
                drop(permit);
                (person, outcome)
            });
            // An open socket gets its session task at once: one left unread until
            // the whole ramp is done would answer no ping, and a ramp longer than
            // the server's idle timeout (60 s) would see it closed as silent.
            while let Some(joined) = attempts.try_join_next() {
                self.adopt(joined, &mut first_error);
            }
        }
        while let Some(joined) = attempts.join_next().await {
            self.adopt(joined, &mut first_error);
        }
        if let Some(message) = first_error {
            // Failures are counted and reported; only a total failure stops the run.
            if self.sessions.is_empty() {
                return Err(format!("no socket could be opened: {message}"));
            }
            tracing::warn!(error = %message, "some sockets failed to open");
        }
        Ok(())
    }

    /// Takes a finished connect attempt: an open socket gets its session task, a
    /// failure is counted (the first one kept for the report).
    fn adopt(
        &mut self,
        joined: Result<ConnectAttempt, JoinError>,
        first_error: &mut Option<String>,
    ) {
        let Ok((person, outcome)) = joined else {
            return;
        };
        match outcome {
            Ok(socket) => {
                let (sender, receiver) = mpsc::channel(session::OUTGOING_QUEUE);
                self.sessions.insert(person, sender);
                self.tasks
                    .spawn(session::run(socket, person, receiver, self.context.clone()));
            }
            Err(message) => {
                bump(&self.counters.connect_failures);
                first_error.get_or_insert(message);
            }
        }
    }

    async fn move_people(&mut self, schedule: Schedule) -> Result<(), String> {
        if let Some(world) = &self.context.world {
            session::write(world).start(schedule);
        }
        let interval_us = schedule.interval_us;
        let mut entries: Vec<(i64, Person, mpsc::Sender<Outgoing>)> = self
            .sessions
            .iter()
            .map(|(&person, sender)| {
                let phase =
                    super::movement::Schedule::phase_us(interval_us, person.kind, person.index);
                (phase, person, sender.clone())
            })
            .collect();
        entries.sort_by_key(|(phase, person, _)| (*phase, person.index));
        let world = self.context.world.clone();
        let mut echo_walkers: HashMap<Person, super::movement::Walker> = HashMap::new();
        let mut last_wake_us = i64::MIN;
        for tick in 1..=schedule.last_tick {
            if let Some(world) = &world {
                session::write(world).advance_to(tick);
            }
            for (phase, person, sender) in &entries {
                let scheduled_us = schedule.send_time_us(*phase, tick);
                if scheduled_us > last_wake_us {
                    sleep_until_unix(scheduled_us).await;
                    last_wake_us = scheduled_us;
                }
                if let Some(world) = &world
                    && person.kind == PersonKind::Citizen
                    && let Some(metres) = session::read(world).unreported_m(person.index, tick)
                {
                    record(
                        &self.latencies.citizen_unreported_mm,
                        (metres * 1_000.0) as i64,
                    );
                }
                // Under --obey-cadence, the pace this phone follows now: the
                // run's plan for officers, the last `cadence` told for citizens.
                let pace = self
                    .plan
                    .obey_cadence
                    .filter(|_| world.is_some())
                    .map(|planned| match person.kind {
                        PersonKind::Officer => Some(planned),
                        PersonKind::Citizen => self.context.cadence_of(*person),
                    });
                let position = match &world {
                    Some(world) if pace.is_some() && person.kind == PersonKind::Citizen => {
                        session::write(world).report_citizen(person.index, tick, pace.flatten())
                    }
                    Some(world) => {
                        session::read(world).reported_at_tick(person.kind, person.index, tick)
                    }
                    None => {
                        let walker = echo_walkers.entry(*person).or_insert_with(|| {
                            super::movement::Walker::new(
                                self.plan.seed,
                                person.kind,
                                person.index,
                                self.plan.bbox,
                                self.plan.max_speed_mps,
                            )
                        });
                        walker.step(interval_us as f64 / 1e6);
                        Some(walker.position())
                    }
                };
                if let Some(pace) = pace {
                    lock(&self.latencies.paces).count(person.kind, pace, position.is_some());
                }
                let Some(position) = position else {
                    continue;
                };
                let frame = location_frame(position.lat, position.lng, tick)?;
                match sender.try_send(Outgoing::Frame {
                    bytes: frame,
                    tick,
                    scheduled_us,
                }) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => bump(&self.counters.updates_skipped),
                    // The socket is gone; counted as dropped by its task.
                    Err(mpsc::error::TrySendError::Closed(_)) => {}
                }
            }
        }
        let last_send_us = schedule.send_time_us(interval_us, schedule.last_tick);
        let settle_us =
            self.context.rules.tolerance_us + i64::try_from(SETTLE_EXTRA.as_micros()).unwrap_or(0);
        sleep_until_unix(last_send_us + settle_us).await;
        self.check_officer_cadence();
        self.check_final_answers();
        self.time_truth_changes(schedule).await
    }

    /// Replays the run's truth for this worker's citizens and times every change
    /// of it against their pushes (`change_latency`). Citizens without a socket
    /// are left out: the final check counts them.
    async fn time_truth_changes(&self, schedule: Schedule) -> Result<(), String> {
        let Some(world) = &self.context.world else {
            return Ok(());
        };
        let replay = Replay {
            params: *session::read(world).params(),
            schedule,
            officers: self.plan.officers,
            rule: NearestRule {
                radius_m: self.context.rules.radius_m,
                hysteresis_m: self.context.rules.hysteresis_m,
            },
            end_us: unix_now_us(),
        };
        let mut pushes = std::mem::take(&mut *lock(&self.context.pushes));
        for person in self.sessions.keys() {
            if person.kind == PersonKind::Citizen {
                pushes.entry(person.index).or_default();
            }
        }
        pushes.retain(|citizen, _| {
            self.sessions.contains_key(&Person {
                kind: PersonKind::Citizen,
                index: *citizen,
            })
        });
        let sent = self
            .context
            .sent
            .take(self.sessions.keys().copied().collect());
        let tally =
            tokio::task::spawn_blocking(move || change_latency::measure(&replay, &pushes, &sent))
                .await
                .map_err(|error| format!("truth replay failed: {error}"))?;
        let add = |counter: &std::sync::atomic::AtomicU64, count: u64| {
            counter.fetch_add(count, Ordering::Relaxed);
        };
        add(&self.counters.truth_changes, tally.changes);
        add(&self.counters.changes_pushed, tally.pushed);
        add(&self.counters.changes_already_shown, tally.already_shown);
        add(&self.counters.changes_missed, tally.missed);
        lock(&self.latencies.truth_change_us)
            .add(&tally.latency_us)
            .map_err(|error| format!("truth change histogram: {error}"))?;
        lock(&self.latencies.missed_lifetime_us)
            .add(&tally.missed_lifetime_us)
            .map_err(|error| format!("missed lifetime histogram: {error}"))?;
        lock(&self.latencies.missed_samples).extend(tally.missed_samples);
        Ok(())
    }

    /// Under `--obey-cadence` every worker plans every officer's reports with the
    /// run's officer cadence: an officer the server told otherwise makes the
    /// truth wrong, so it fails the run.
    fn check_officer_cadence(&self) {
        let Some(planned) = self.plan.obey_cadence else {
            return;
        };
        for person in self
            .sessions
            .keys()
            .filter(|person| person.kind == PersonKind::Officer)
        {
            let told = self.context.cadence_of(*person);
            if told != Some(planned) {
                bump(&self.counters.cadence_mismatches);
                self.latencies.keep_wrong(format!(
                    "officer {} was told cadence {told:?}, the run plans {planned:?} (--officer-cadence)",
                    person.index
                ));
            }
        }
    }

    /// After movement stopped and answers settled: every citizen's last answer must
    /// be the exact truth.
    fn check_final_answers(&self) {
        let Some(world) = &self.context.world else {
            return;
        };
        let now_us = unix_now_us();
        let answers: HashMap<u32, Answer> = lock(&self.context.pushes)
            .iter()
            .filter_map(|(&citizen, pushes)| Some((citizen, pushes.last()?.answer)))
            .collect();
        let world = session::read(world);
        for person in self
            .sessions
            .keys()
            .filter(|person| person.kind == PersonKind::Citizen)
        {
            bump(&self.counters.final_checked);
            let Some(&answer) = answers.get(&person.index) else {
                bump(&self.counters.final_missing);
                self.latencies
                    .keep_wrong(format!("citizen {} never got an answer", person.index));
                continue;
            };
            let rules = Rules {
                tolerance_us: 0,
                ..self.context.rules
            };
            match truth::check(&world, &rules, person.index, now_us, answer, None) {
                Verdict::Correct(_) => {}
                Verdict::Stale | Verdict::Wrong(_) => {
                    bump(&self.counters.final_wrong);
                    self.latencies.keep_wrong(format!(
                        "citizen {}: final answer {:?} is not the truth after movement stopped",
                        person.index, answer.officer
                    ));
                }
            }
        }
    }

    /// The handshake pairs, or why this worker has none.
    fn pair_fleet(&mut self) -> Result<(&mut PairFleet, FleetTools<'_>), String> {
        let tools = FleetTools {
            connector: &self.connector,
            tokens: &self.tokens,
            counters: &self.counters,
            latencies: &self.latencies,
        };
        match &mut self.pairs {
            Some(pairs) => Ok((pairs, tools)),
            None => Err("this worker has no handshake plan".to_owned()),
        }
    }

    async fn connect_pairs(&mut self) -> Result<(), String> {
        let own = self.plan.own(PersonKind::Officer);
        let concurrency = self.plan.concurrency;
        let (workers, worker_index) = (self.plan.workers, self.plan.worker_index);
        let mut opened = self.sockets_opened;
        let (pairs, tools) = self.pair_fleet()?;
        let outcome = pairs
            .connect(tools, &own, concurrency, || {
                opened += 1;
                (opened - 1)
                    .wrapping_mul(workers)
                    .wrapping_add(worker_index)
            })
            .await;
        self.sockets_opened = opened;
        outcome
    }

    async fn run_rounds(&mut self, schedule: RoundSchedule) -> Result<(), String> {
        let (pairs, tools) = self.pair_fleet()?;
        pairs.run_rounds(tools, schedule).await;
        Ok(())
    }

    async fn audit(&mut self) -> Result<(), String> {
        let Target::Heyblue { base_url, .. } = &self.plan.target else {
            return Err("the credit check needs a Hey Blue! node".to_owned());
        };
        let base_url = base_url.clone();
        let (pairs, tools) = self.pair_fleet()?;
        pairs.audit(tools, &base_url).await
    }

    async fn finish(&mut self) {
        if let Some(pairs) = &mut self.pairs {
            pairs.close(&self.counters).await;
        }
        self.context.finishing.store(true, Ordering::Relaxed);
        for sender in self.sessions.values() {
            let _closing = sender.try_send(Outgoing::Close);
        }
        self.sessions.clear();
        let closing = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(CLOSE_TIMEOUT, closing).await.is_err() {
            self.tasks.abort_all();
        }
    }
}

/// Opens one person's socket and brings it to the state the scenario needs.
async fn open_session(
    connector: &Connector,
    context: &SessionContext,
    person: Person,
    socket_number: u32,
    token: Option<&str>,
    moving: bool,
    world: Option<Arc<RwLock<World>>>,
) -> Result<session::Socket, String> {
    let started = tokio::time::Instant::now();
    let mut socket = connector.open(socket_number, token).await?;
    if context.echo {
        session::send(&mut socket, encode(&ClientMessage::Ping)?).await?;
        session::wait_for_echo(&mut socket).await?;
    } else {
        session::wait_for(&mut socket, "welcome", |message| {
            context.note_cadence(person, message);
            matches!(message, ServerMessage::Welcome { .. })
        })
        .await?;
    }
    record(
        &context.latencies.connect_us,
        i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX),
    );
    bump(&context.counters.connected);
    context.counters.open.fetch_add(1, Ordering::Relaxed);
    if !moving || context.echo {
        return Ok(socket);
    }
    let Some(world) = world else {
        return Ok(socket);
    };
    let Some(start) = session::read(&world).position_at_tick(person.kind, person.index, 0) else {
        return Err(format!("no start position for {person:?}"));
    };
    session::send(&mut socket, location_frame(start.lat, start.lng, 0)?).await?;
    if person.kind == PersonKind::Officer {
        session::send(
            &mut socket,
            encode(&ClientMessage::GoAvailable(GoAvailable { minutes: None }))?,
        )
        .await?;
        session::wait_for(&mut socket, "availability", |message| {
            context.note_cadence(person, message);
            matches!(message, ServerMessage::Availability { .. })
        })
        .await?;
    }
    Ok(socket)
}
