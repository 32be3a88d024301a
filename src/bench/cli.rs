//! `heyblue bench` options.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::movement::BoundingBox;

/// Load and correctness runs against a Hey Blue! node on this machine.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// What to run.
    #[arg(value_enum)]
    pub scenario: Scenario,
    /// Start a `heyblue serve` child on 127.0.0.1 (temporary data, `file` SMS
    /// adapter, nearest hysteresis from --hysteresis-meters).
    #[arg(long, conflicts_with = "url")]
    pub spawn: bool,
    /// Base URL of a running node instead (http://127.x.y.z:port; loopback only).
    /// It must use the `file` SMS adapter (see --sms-file) and allow many code
    /// requests per client IP.
    #[arg(long, required_unless_present = "spawn")]
    pub url: Option<String>,
    /// connect against a cluster: the nodes that hold the sessions, as base URLs
    /// (http://127.x.y.z:port, comma-separated or the option repeated). Sessions go
    /// to them round-robin; sign-in and the roster import go to --url, which any
    /// node of the cluster answers. Memory is read from each of these nodes.
    #[arg(long, value_delimiter = ',', value_name = "URL", requires = "url")]
    pub connect_urls: Vec<String>,
    /// The metrics listeners (`[metrics] listen`) of the nodes that hold the
    /// sessions, as base URLs in the order of --connect-urls (or of the one --url
    /// node), where memory is read. Default for one node: http://127.0.0.1:9464.
    #[arg(long, value_delimiter = ',', value_name = "URL", requires = "url")]
    pub metrics_urls: Vec<String>,
    /// The running node's admin token (roster import).
    #[arg(long, env = "HEYBLUE_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// The running node's `file` SMS adapter output, to read sign-in codes from.
    #[arg(long, value_name = "PATH")]
    pub sms_file: Option<PathBuf>,
    /// Block of phone numbers to use (0–9): pick a fresh one for each run against
    /// the same long-lived node (codes are limited per phone and hour).
    #[arg(long, default_value_t = 0)]
    pub phone_block: u32,
    /// connect: sessions to open (officers and citizens mixed).
    #[arg(long, default_value_t = 1_000)]
    pub sessions: u32,
    /// connect: share of officers among the sessions, percent.
    #[arg(long, default_value_t = 10)]
    pub officer_percent: u32,
    /// connect: new sessions per second over all workers (0: as fast as possible).
    /// handshake: accepted connection requests per second to aim for (required).
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// connect: how long to hold the sessions open before measuring memory.
    #[arg(long, default_value_t = 5)]
    pub hold_seconds: u64,
    /// city: simulated officers.
    #[arg(long, default_value_t = 100)]
    pub officers: u32,
    /// city: simulated citizens; redeem: citizens redeeming.
    #[arg(long, default_value_t = 900)]
    pub citizens: u32,
    /// redeem: offers of the one retailer (point costs 10, 20, 30 …).
    #[arg(long, default_value_t = 4)]
    pub offers: u32,
    /// redeem: vouchers each offer may issue (0: three quarters of the demand,
    /// spread over the offers, so some redemptions are refused `out_of_stock`).
    #[arg(long, default_value_t = 0)]
    pub stock: u32,
    /// redeem: redemptions each citizen asks for (each citizen is credited
    /// enough points for all of them).
    #[arg(long, default_value_t = 3)]
    pub redemptions_per_citizen: u32,
    /// redeem: redemption requests in flight at once.
    #[arg(long, default_value_t = 32)]
    pub redeem_concurrency: u32,
    /// redeem: counter redeems in flight at once (one till key each, at most 100).
    #[arg(long, default_value_t = 8)]
    pub counter_concurrency: u32,
    /// redeem: share of vouchers two tills redeem at the same time, percent.
    #[arg(long, default_value_t = 10)]
    pub duplicate_percent: u32,
    /// city: how long people move; handshake: how long rounds are started (at most
    /// 14 minutes: availability windows last 15).
    #[arg(long, default_value_t = 30)]
    pub duration_seconds: u64,
    /// handshake: officer–citizen pairs (0: one per accepted request per second of
    /// --rate). A pair may do at most 1.5 rounds a second: each round costs both
    /// sockets one control message, and a socket may send 100 a minute.
    #[arg(long, default_value_t = 0)]
    pub pairs: u32,
    /// city: time between two positions of one person (the server coalesces
    /// anything faster than 1000 ms per session).
    #[arg(long, default_value_t = 1_000)]
    pub interval_ms: u64,
    /// city: fastest walker or car, metres per second.
    #[arg(long, default_value_t = 12.0)]
    pub max_speed_mps: f64,
    /// city: where people move; handshake: where the pairs stand.
    /// `lat_min,lng_min,lat_max,lng_max` (default: Manhattan and Hoboken, across
    /// ZIP-shard borders).
    #[arg(long, default_value = "40.70,-74.06,40.82,-73.93")]
    pub bbox: BoundingBox,
    /// city: an answer is correct if it is the nearest for some positions sent
    /// within this window before it arrived.
    #[arg(long, default_value_t = 1_000)]
    pub tolerance_ms: u64,
    /// city: the server's `presence.nearest_hysteresis_meters` (set on a spawned
    /// server; must match a running one).
    #[arg(long, default_value_t = 0.0)]
    pub hysteresis_meters: f64,
    /// city: the server's `presence.nearest_max_radius_meters`.
    #[arg(long, default_value_t = 5_000.0)]
    pub radius_meters: f64,
    /// Worker processes holding the client sockets (each may hold about as many
    /// sockets as its open-file limit).
    #[arg(long, default_value_t = 1)]
    pub workers: u32,
    /// Loopback source addresses (127.0.x.y) to spread client sockets over.
    #[arg(long, default_value_t = 64)]
    pub source_addresses: u32,
    /// Sockets each worker opens at the same time, at most.
    #[arg(long, default_value_t = 256)]
    pub concurrency: u32,
    /// Also run the same load against a baseline server.
    #[arg(long, value_enum)]
    pub baseline: Vec<Baseline>,
    /// Write results.json and report.html into this directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Seed of the trajectories.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// No live progress bar (plain phase lines instead).
    #[arg(long)]
    pub no_progress: bool,
}

/// A bench scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// Ramp to N idle sessions, hold, report connect rate and memory per session.
    Connect,
    /// Officers and citizens moving in a city; latency and correctness of pushes.
    City,
    /// Citizens request connections and officers accept them at a target rate;
    /// latency, failures, and an audit of every credit through the REST API.
    Handshake,
    /// Citizens redeem points from a few offers of limited stock while tills
    /// redeem the vouchers; latency, rate, and an audit of every voucher,
    /// balance and stock count through the API.
    Redeem,
}

/// A baseline to measure in the same run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Baseline {
    /// A bare tokio-tungstenite echo server with the gateway's buffer settings.
    Echo,
    /// redis-server, when installed.
    Redis,
}

impl Scenario {
    /// The name used in reports.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Scenario::Connect => "connect",
            Scenario::City => "city",
            Scenario::Handshake => "handshake",
            Scenario::Redeem => "redeem",
        }
    }
}
