//! One pair's rounds in the handshake scenario. A task owns the pair's two sockets
//! and, for each round the schedule gives the pair: the citizen sends
//! `request_connection` for the handle it was shown (a fresh `op_id`), the officer
//! answers the `connection_requested` with `respond{accept: true}`, and the round
//! is done when both sockets got `request_update{accepted}` and
//! `connection_established` for the same request. Between rounds the task keeps
//! reading both sockets (the server closes slow readers) and re-sends both
//! positions now and then, so the co-location check at accept sees fresh ones.
//! What the round saw goes into the pair's log for the credit check.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::StreamExt;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use super::handshake::PairSetup;
use super::movement::Point;
use super::pairs::RoundSchedule;
use super::session::{self, Socket, encode, location_frame, sleep_until_unix, unix_now_us};
use super::stats::{Counters, Latencies, bump, record};
use super::tally::HandshakeTally;
use crate::domain::connection::RewardWithheld;
use crate::proto::{CancelRequest, ClientMessage, RequestConnection};

mod frames;

/// The failure kind of a round cut off by its sockets failing.
pub(crate) const INTERRUPTED: &str = "interrupted";
/// How long a pair whose socket failed keeps trying to set itself up again.
const REDIAL_LIMIT: Duration = Duration::from_secs(60);
/// The first pause between two tries to set a pair up again; it doubles up to
/// [`REDIAL_PAUSE_MAX`].
const REDIAL_PAUSE: Duration = Duration::from_millis(100);
/// The longest pause between two tries.
const REDIAL_PAUSE_MAX: Duration = Duration::from_secs(2);
/// A round not established within this long has failed (`timeout`).
const ROUND_TIMEOUT: Duration = Duration::from_secs(10);
/// How often both positions are sent again: well inside the server's default
/// `position_max_age_seconds` (60), so accepts always see fresh positions.
const POSITION_REFRESH: Duration = Duration::from_secs(20);

/// A pair ready for rounds: the officer is available and the citizen was shown it.
#[derive(Debug)]
pub(crate) struct ReadyPair {
    /// The pair's number (officer `index` and citizen `index`).
    pub(crate) index: u32,
    /// The officer's socket.
    pub(crate) officer: Socket,
    /// The citizen's socket.
    pub(crate) citizen: Socket,
    /// The officer's handle, as the citizen's `nearest` showed it.
    pub(crate) handle: String,
    /// Where the officer stands.
    pub(crate) officer_at: Point,
    /// Where the citizen stands.
    pub(crate) citizen_at: Point,
    /// How to set the pair up again when a socket fails, when it should.
    pub(crate) redial: Option<Arc<PairSetup>>,
}

/// What the rounds of all pairs of a worker share.
#[derive(Debug)]
pub(crate) struct RoundsContext {
    /// Live counters (progress).
    pub(crate) counters: Arc<Counters>,
    /// Latency histograms.
    pub(crate) latencies: Arc<Latencies>,
    /// When rounds are due and whose they are.
    pub(crate) schedule: RoundSchedule,
    /// The server was started so that every round is rewarded: a withheld reward
    /// is a failure, not a rule at work.
    pub(crate) expect_rewards: bool,
}

/// An established round: what each side was told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AcceptedRound {
    /// The connection (the request id).
    pub(crate) connection_id: Uuid,
    /// Points the citizen's `connection_established` announced.
    pub(crate) citizen_points: i64,
    /// Points the officer's `connection_established` announced.
    pub(crate) officer_points: i64,
}

/// What a pair's rounds left behind.
#[derive(Debug)]
pub(crate) struct PairLog {
    /// The pair's number.
    pub(crate) index: u32,
    /// Established rounds.
    pub(crate) accepted: Vec<AcceptedRound>,
    /// Requests of failed rounds (the server may still establish them, once).
    pub(crate) abandoned: Vec<Uuid>,
    /// Failures and withheld rewards.
    pub(crate) tally: HandshakeTally,
    /// The sockets, to close at the end; `None` once one of them failed.
    pub(crate) pair: Option<ReadyPair>,
}

/// One side's `connection_established`.
#[derive(Debug, Clone, Copy)]
struct SideOutcome {
    /// Points announced.
    points: i64,
    /// Why none, when none.
    withheld: Option<RewardWithheld>,
    /// When it arrived, Unix microseconds.
    at_us: i64,
}

/// The round in flight.
#[derive(Debug)]
struct InFlight {
    /// The citizen's idempotency key for this round.
    op_id: String,
    /// When `request_connection` was written, Unix microseconds.
    written_us: i64,
    /// When the round times out, Unix microseconds.
    deadline_us: i64,
    /// The request, once either side named it.
    request_id: Option<Uuid>,
    /// When the officer's `respond` was written.
    respond_written_us: Option<i64>,
    /// `request_update{accepted}` reached the citizen.
    citizen_accepted: bool,
    /// `request_update{accepted}` reached the officer.
    officer_accepted: bool,
    /// The citizen's `connection_established`.
    citizen_side: Option<SideOutcome>,
    /// The officer's `connection_established`.
    officer_side: Option<SideOutcome>,
}

/// Which socket a frame came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// The citizen's.
    Citizen,
    /// The officer's.
    Officer,
}

/// What woke the task.
#[derive(Debug)]
enum Wake {
    /// A frame (or the end) on one socket.
    Frame(
        Who,
        Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ),
    /// A deadline: a round due, a timeout or a position refresh.
    Timer,
}

/// The pair's task state.
#[derive(Debug)]
struct PairTask {
    /// Shared counters, histograms and the schedule.
    context: Arc<RoundsContext>,
    /// The sockets and spots.
    pair: ReadyPair,
    /// The round in flight.
    in_flight: Option<InFlight>,
    /// Every request of this pair so far, to tell late messages from strays.
    known: HashSet<Uuid>,
    /// The log being written.
    accepted: Vec<AcceptedRound>,
    /// Requests of failed rounds.
    abandoned: Vec<Uuid>,
    /// Failures and withheld rewards.
    tally: HandshakeTally,
    /// Location frames sent so far (their sequence numbers).
    refreshes: u64,
}

/// Runs the pair's rounds of the schedule; returns its log.
pub(crate) async fn run(pair: ReadyPair, context: Arc<RoundsContext>) -> PairLog {
    let index = pair.index;
    let mut rounds = context.schedule.rounds_of(index).peekable();
    let mut task = PairTask {
        context,
        pair,
        in_flight: None,
        known: HashSet::new(),
        accepted: Vec::new(),
        abandoned: Vec::new(),
        tally: HandshakeTally::default(),
        refreshes: 0,
    };
    let refresh_every_us = i64::try_from(POSITION_REFRESH.as_micros()).unwrap_or(i64::MAX);
    let mut next_refresh_us = unix_now_us() + refresh_every_us;
    loop {
        let next_due_us = rounds
            .peek()
            .map(|&round| task.context.schedule.due_us(round));
        let wake_us = match (&task.in_flight, next_due_us) {
            (Some(round), _) => round.deadline_us,
            (None, Some(due_us)) => due_us,
            (None, None) => break,
        }
        .min(next_refresh_us);
        let wake = tokio::select! {
            frame = task.pair.citizen.next() => Wake::Frame(Who::Citizen, frame),
            frame = task.pair.officer.next() => Wake::Frame(Who::Officer, frame),
            () = sleep_until_unix(wake_us) => Wake::Timer,
        };
        let outcome = match wake {
            Wake::Frame(from, frame) => task.on_frame(from, frame).await,
            Wake::Timer => {
                let now_us = unix_now_us();
                let mut outcome = Ok(());
                if now_us >= next_refresh_us {
                    next_refresh_us = now_us + refresh_every_us;
                    outcome = task.refresh_positions().await;
                }
                let timed_out = task
                    .in_flight
                    .as_ref()
                    .is_some_and(|round| now_us >= round.deadline_us);
                if outcome.is_ok() && timed_out {
                    outcome = task.time_out().await;
                }
                if outcome.is_ok()
                    && task.in_flight.is_none()
                    && next_due_us.is_some_and(|due_us| now_us >= due_us)
                    && let Some(round) = rounds.next()
                {
                    outcome = task.start(round, now_us).await;
                }
                outcome
            }
        };
        if let Err(message) = outcome
            && let Err(message) = task.set_up_again(&message).await
        {
            return task.give_up(&message, rounds.count());
        }
    }
    PairLog {
        index,
        accepted: task.accepted,
        abandoned: task.abandoned,
        tally: task.tally,
        pair: Some(task.pair),
    }
}

impl PairTask {
    /// Starts round `round` (due at its scheduled time, started `now_us`).
    async fn start(&mut self, round: u64, now_us: i64) -> Result<(), String> {
        let due_us = self.context.schedule.due_us(round);
        record(&self.context.latencies.send_lateness_us, now_us - due_us);
        let op_id = Uuid::new_v4().to_string();
        let frame = encode(&ClientMessage::RequestConnection(RequestConnection {
            officer: self.pair.handle.clone(),
            op_id: op_id.clone(),
            mode: crate::domain::connection::ConnectionMode::InPerson,
        }))?;
        let written_us = unix_now_us();
        self.in_flight = Some(InFlight {
            op_id,
            written_us,
            deadline_us: written_us + i64::try_from(ROUND_TIMEOUT.as_micros()).unwrap_or(i64::MAX),
            request_id: None,
            respond_written_us: None,
            citizen_accepted: false,
            officer_accepted: false,
            citizen_side: None,
            officer_side: None,
        });
        bump(&self.context.counters.rounds_started);
        session::send(&mut self.pair.citizen, frame).await
    }

    /// The round ran out of time: give up on it (and withdraw it while pending, as
    /// an app would, so the next round is not refused as `request_pending`).
    async fn time_out(&mut self) -> Result<(), String> {
        let pending = self.pending_request();
        self.fail_round(
            "timeout",
            &format!("not established within {ROUND_TIMEOUT:?}"),
        );
        if let Some(request_id) = pending {
            let frame = encode(&ClientMessage::CancelRequest(CancelRequest { request_id }))?;
            session::send(&mut self.pair.citizen, frame).await?;
        }
        Ok(())
    }

    /// The request of the round in flight while it is still pending (named, not
    /// yet answered).
    fn pending_request(&self) -> Option<Uuid> {
        self.in_flight.as_ref().and_then(|round| {
            (round.respond_written_us.is_none() && !round.citizen_accepted)
                .then_some(round.request_id)
                .flatten()
        })
    }

    /// Fails the round in flight, or counts a failure outside any round.
    fn fail_round_or_count(&mut self, kind: &str, description: &str) {
        if self.in_flight.is_some() {
            self.fail_round(kind, description);
        } else {
            self.stray(kind, description);
        }
    }

    /// Ends the round in flight as failed.
    fn fail_round(&mut self, kind: &str, description: &str) {
        if let Some(round) = self.in_flight.take()
            && let Some(request_id) = round.request_id
        {
            self.abandoned.push(request_id);
        }
        bump(&self.context.counters.rounds_failed);
        self.tally.fail(kind);
        self.context
            .latencies
            .keep_wrong(format!("pair {}: {kind}: {description}", self.pair.index));
    }

    /// Counts a failure outside any round.
    fn stray(&mut self, kind: &str, description: &str) {
        self.tally.fail(kind);
        self.context
            .latencies
            .keep_wrong(format!("pair {}: {kind}: {description}", self.pair.index));
    }

    async fn refresh_positions(&mut self) -> Result<(), String> {
        self.refreshes += 1;
        let officer = self.pair.officer_at;
        let citizen = self.pair.citizen_at;
        session::send(
            &mut self.pair.officer,
            location_frame(officer.lat, officer.lng, self.refreshes)?,
        )
        .await?;
        session::send(
            &mut self.pair.citizen,
            location_frame(citizen.lat, citizen.lng, self.refreshes)?,
        )
        .await
    }

    /// A socket failed with `message`: when the pair may redial, the round in
    /// flight fails as `interrupted` (the server may still establish it, once)
    /// and the pair sets itself up again on new sockets, as an app reconnects;
    /// rounds due meanwhile start late. `Err` when it may not or could not.
    async fn set_up_again(&mut self, message: &str) -> Result<(), String> {
        let Some(setup) = self.pair.redial.clone() else {
            return Err(message.to_owned());
        };
        // A request still pending on a server that lived on would refuse the
        // next one as `request_pending`: withdraw it on the new socket.
        let pending = self.pending_request();
        if self.in_flight.is_some() {
            self.fail_round(INTERRUPTED, message);
        }
        let deadline = tokio::time::Instant::now() + REDIAL_LIMIT;
        let mut pause = REDIAL_PAUSE;
        loop {
            tokio::time::sleep(pause).await;
            match setup.run().await {
                Ok(mut pair) => {
                    pair.redial = Some(setup);
                    self.pair = pair;
                    self.tally.reconnections += 1;
                    if let Some(request_id) = pending {
                        let frame =
                            encode(&ClientMessage::CancelRequest(CancelRequest { request_id }))?;
                        session::send(&mut self.pair.citizen, frame).await?;
                    }
                    return Ok(());
                }
                Err(error) if tokio::time::Instant::now() >= deadline => {
                    return Err(format!(
                        "{message}; not set up again within {REDIAL_LIMIT:?}: {error}"
                    ));
                }
                Err(_) => pause = (pause * 2).min(REDIAL_PAUSE_MAX),
            }
        }
    }

    /// A socket failed: the round in flight and the rounds left fail with it.
    fn give_up(mut self, message: &str, rounds_left: usize) -> PairLog {
        let counters = self.context.counters.clone();
        bump(&counters.dropped);
        counters.open.fetch_sub(2, Ordering::Relaxed);
        if self.in_flight.is_some() {
            self.fail_round("socket_closed", message);
        } else {
            self.stray("socket_closed", message);
        }
        let left = u64::try_from(rounds_left).unwrap_or(u64::MAX);
        counters.rounds_failed.fetch_add(left, Ordering::Relaxed);
        self.tally.fail_n("pair_gone", left);
        PairLog {
            index: self.pair.index,
            accepted: self.accepted,
            abandoned: self.abandoned,
            tally: self.tally,
            pair: None,
        }
    }
}
