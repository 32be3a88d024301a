//! The coordinator ↔ worker protocol. A worker is this binary run as
//! `heyblue bench-worker`: it reads one [`WorkerPlan`] line on stdin, then one
//! [`Command`] line per phase, and writes [`Event`] lines (JSON) on stdout. A
//! worker does each phase when told and reports when it is done, so the
//! coordinator can keep all workers in step (officers are available before any
//! citizen connects; movement starts at the same instant everywhere).

use serde::{Deserialize, Serialize};

use super::cadence::PhoneCadence;
use super::movement::{BoundingBox, PersonKind, Schedule};
use super::pairs::{Placement, RoundSchedule};
use super::stats::{CounterSnapshot, LatencyExport};
use super::tally::HandshakeTally;

/// What a worker is for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct WorkerPlan {
    /// This worker's number, from 0.
    pub(crate) worker_index: u32,
    /// How many workers share the people (person `i` belongs to worker `i % workers`).
    pub(crate) workers: u32,
    /// The server under test.
    pub(crate) target: Target,
    /// Officers in the whole run.
    pub(crate) officers: u32,
    /// Citizens in the whole run.
    pub(crate) citizens: u32,
    /// Whether officers go available and everybody moves (city) or sockets only
    /// connect and idle (connect).
    pub(crate) moving: bool,
    /// The run seed (trajectories).
    pub(crate) seed: u64,
    /// Where people move.
    pub(crate) bbox: BoundingBox,
    /// Fastest walker, metres per second.
    pub(crate) max_speed_mps: f64,
    /// Time between two positions of one person, milliseconds.
    pub(crate) interval_ms: u64,
    /// How old the positions behind a correct answer may be, milliseconds.
    pub(crate) tolerance_ms: u64,
    /// The server's `presence.nearest_hysteresis_meters`.
    pub(crate) hysteresis_m: f64,
    /// The server's `presence.nearest_max_radius_meters`.
    pub(crate) radius_m: f64,
    /// Loopback source addresses to spread sockets over.
    pub(crate) source_addresses: u32,
    /// Sockets this worker opens at the same time, at most.
    pub(crate) concurrency: u32,
    /// New sockets per second for this worker (0: as fast as possible).
    pub(crate) connect_rate_per_second: f64,
    /// The handshake scenario's pairs (officer `i` and citizen `i` are pair `i`).
    pub(crate) handshake: Option<HandshakePlan>,
    /// `--obey-cadence`: phones report as the server's `cadence` asks, and
    /// every available officer at this one. `None`: the fixed pace.
    #[serde(default)]
    pub(crate) obey_cadence: Option<PhoneCadence>,
}

/// What a worker needs to know for the handshake scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct HandshakePlan {
    /// Where the pairs stand.
    pub(crate) placement: Placement,
    /// The server rewards every round (a spawned server): a withheld reward is a
    /// failure. Against a running node its own rules decide.
    pub(crate) expect_rewards: bool,
    /// Pairs whose sockets fail set themselves up again and carry on (the
    /// spawned server is killed and restarted during the rounds).
    pub(crate) reconnect: bool,
}

/// The server a worker talks to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Target {
    /// A Hey Blue! node.
    Heyblue {
        /// `http://host:port`: sign-in, roster, REST reads.
        base_url: String,
        /// `ws://host:port/v1/ws` of every node that holds sessions (one, or the
        /// nodes of a cluster): socket number `n` goes to entry `n mod len`.
        ws_urls: Vec<String>,
        /// Where the node's `file` SMS adapter writes codes.
        sms_file: std::path::PathBuf,
        /// The phone numbers' prefix (distinct per run against a long-lived node).
        phone_block: u32,
    },
    /// The bare echo server of the baseline.
    Echo {
        /// `ws://host:port/`.
        ws_url: String,
    },
}

/// One instruction to a worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub(crate) enum Command {
    /// Sign in every person of this worker.
    SignIn,
    /// Connect the officers (city: send their first position and go available).
    ConnectOfficers,
    /// Connect the citizens (city: send their first position).
    ConnectCitizens,
    /// Connect everybody, mixed, at the planned rate (connect scenario).
    ConnectAll,
    /// Move by the schedule until its last tick, let answers settle, check the
    /// final answers.
    Move {
        /// When and how long.
        schedule: Schedule,
    },
    /// Handshake: set up the pairs (officer available, citizen shown it).
    ConnectPairs,
    /// Handshake: run the pairs' rounds by the schedule until the last one ends.
    Rounds {
        /// When rounds are due and whose they are.
        schedule: RoundSchedule,
    },
    /// Handshake: read every participant's points and connections and check them.
    Audit,
    /// Close the sockets, report the results and exit.
    Finish,
}

/// One report from a worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum Event {
    /// The counters so far (every half second).
    Progress {
        /// Cumulative counters.
        counters: CounterSnapshot,
    },
    /// A command was carried out.
    Done {
        /// Which one (`sign_in`, `connect_officers`, ...).
        phase: String,
        /// How long it took, milliseconds.
        elapsed_ms: u64,
    },
    /// The worker cannot go on.
    Failed {
        /// Why, for the user.
        message: String,
    },
    /// The final counters and histograms, just before exiting.
    Finished {
        /// Cumulative counters.
        counters: CounterSnapshot,
        /// Histograms and wrong-answer samples.
        latencies: Box<LatencyExport>,
        /// Handshake failures, withheld rewards and the credit check.
        tally: Box<HandshakeTally>,
    },
}

impl WorkerPlan {
    /// Whether person `index` of `kind` belongs to this worker.
    pub(crate) fn owns(&self, index: u32) -> bool {
        index % self.workers.max(1) == self.worker_index
    }

    /// This worker's people of `kind`.
    pub(crate) fn own(&self, kind: PersonKind) -> Vec<u32> {
        let total = match kind {
            PersonKind::Officer => self.officers,
            PersonKind::Citizen => self.citizens,
        };
        (0..total).filter(|&index| self.owns(index)).collect()
    }
}

/// The phone number of a simulated person: NANP numbers in the 212 (officers) and
/// 646 (citizens) area codes, exchanges 300–999 by block, so runs against a
/// long-lived node can pick fresh numbers with `--phone-block`.
pub(crate) fn phone_number(kind: PersonKind, index: u32, phone_block: u32) -> String {
    let area = match kind {
        PersonKind::Officer => 212,
        PersonKind::Citizen => 646,
    };
    let subscriber = 3_000_000 + u64::from(phone_block) * 700_000 + u64::from(index);
    format!("+1{area}{subscriber:07}")
}

/// The display name of officer `index` on the roster (unique: the check reads the
/// index back from it).
pub(crate) fn officer_name(index: u32) -> String {
    format!("Officer {index}")
}
