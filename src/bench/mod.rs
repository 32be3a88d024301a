//! `heyblue bench`: the load and correctness client. It drives real WebSocket
//! clients against a node on this machine (one it spawns, or `--url`; `connect`
//! also spreads them over a local cluster's nodes, `--connect-urls`), signs the
//! simulated people in through the real API, checks every `nearest` push against
//! ground truth and every connection credit against the REST API, and reports
//! throughput, HDR latency percentiles, server memory per session and correctness
//! as a table, `results.json` and `report.html`.
//!
//! - `cli`                the options and scenario names
//! - `coordinator`        the run: checks, open-file limit, server, roster, phases, baselines
//! - `fleet`              worker processes: commands out, events in, timeline samples
//! - `plan`               the coordinator ↔ worker protocol (JSON lines)
//! - `worker`             a worker process: sign-in, sockets, the send schedule, final check
//! - `session`            one simulated phone's socket and its push checks
//! - `signin`             roster import and one-time-code sign-in via the `file` SMS adapter
//! - `spawn`              child `heyblue serve` / echo server on 127.0.0.1
//! - `cpu`                `--profile`: a server's CPU time from /proc
//! - `net`                loopback source addresses, `IP_BIND_ADDRESS_NO_PORT`, open-file limit
//! - `movement`           deterministic random-waypoint walkers and the send schedule
//! - `cadence`            `--obey-cadence`: when a phone told a `cadence` reports
//! - `pairs`              handshake: where the officer–citizen pairs stand, when rounds are due
//! - `handshake`          handshake in a worker: pair setup, all pairs' rounds, the credit check
//! - `rounds`             one pair's request → accept → established rounds on its two sockets
//! - `account_views`      one person's balance, ledger and connections, read through REST
//! - `audit`              the credit check: each person's REST view against the rounds seen
//! - `tally`              handshake failures by kind, withheld rewards, the check's sums
//! - `handshake_report`   the handshake's figures: JSON block, table rows, notes
//! - `redeem`             redeem: catalog, credits, redemption workers and tills
//! - `redeem_audit`       redeem: every voucher, balance and stock count read back
//! - `redeem_report`      redeem: the figures, table rows and the pass rule
//! - `world`              every officer's and the worker's citizens' recent positions, a grid
//! - `truth`              is a pushed answer correct within a tolerance, and since when
//! - `true_answer`        every citizen's true answer over time, by the server's rule
//! - `change_latency`     truth change → push latency, and the changes never pushed
//! - `stats`              counters and HDR histograms that travel from workers
//! - `report`             the figures of a run and `results.json`
//! - `summary`            the summary table, as text or as an HTML table
//! - `html`               `report.html` with inline SVG charts
//! - `echo`               the bare tokio-tungstenite echo server of `--baseline echo`
//! - `redis_baseline`     `--baseline redis`: a private redis-server and the city load as GEO commands

mod account_views;
mod audit;
mod cadence;
mod change_latency;
mod chaos;
mod cli;
mod coordinator;
mod cpu;
mod echo;
mod fleet;
mod handshake;
mod handshake_report;
mod html;
mod movement;
mod net;
mod pairs;
mod plan;
mod redeem;
mod redeem_audit;
mod redeem_report;
mod redis_baseline;
mod report;
mod resources;
mod rounds;
mod send_log;
mod session;
mod signin;
mod spawn;
mod stats;
mod summary;
mod tally;
mod true_answer;
mod truth;
mod worker;
mod world;

pub use cli::{Baseline, BenchArgs, Scenario};
pub use coordinator::run_bench;
pub use echo::run_echo_server;
pub use movement::BoundingBox;
pub use report::Report;
pub use worker::run_bench_worker;

/// Why a bench run could not be done.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The options ask for something impossible or unsafe.
    #[error("{0}")]
    Usage(String),
    /// The server, the roster or the sign-ins could not be set up.
    #[error("setup failed: {0}")]
    Setup(String),
    /// A worker process failed.
    #[error("worker {index} failed: {message}")]
    Worker {
        /// Which worker.
        index: usize,
        /// What it said.
        message: String,
    },
    /// The results could not be written.
    #[error("cannot write the results: {0}")]
    Output(std::io::Error),
}
