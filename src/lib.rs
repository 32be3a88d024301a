//! Hey Blue! — a real-time presence server that brings police officers and the
//! communities they serve closer.
//!
//! Crate map (one line per module):
//! - [`config`]   typed configuration: TOML file plus `HEYBLUE_*` overrides, validated once
//! - `data_dir`   the owner-only data directory, and warnings about looser modes found in it
//! - `clock`      wall-clock milliseconds driven by tokio's clock, so tests can pause time
//! - `domain`     pure rules and types: ids, roles, phone numbers, profiles and their events
//! - `geo`        coordinates, haversine, ZIP lookup from embedded census centroids, shards, H3 cells
//! - `proto`      WebSocket messages (serde), the JSON + MessagePack codec, error and close codes, limits
//! - `privacy`    what a person may observe of another's location: shown positions, bands
//! - `presence`   the node-local index, socket↔session links and the presence runtime
//! - `actors`     the ractor actors: user sessions, cells, ZIP shards, placement, session supervisor
//! - `cluster`    nodes joined with ractor_cluster: membership, shard owners, the node router, replicas
//! - `identity`   one-time codes, opaque tokens, phone encryption, SMS adapters
//! - `oidc`       sign-in with OpenID Connect providers: PKCE, code exchange, ID token checks
//! - `profiles`   profile commands and queries over the profile event log
//! - `connections` established connections, points and trophies, exactly once
//! - `rewards`    the rewards catalog: admin operations on it and what people browse;
//!   redemptions of points for vouchers, and cancelling them; vouchers as signed
//!   PASETO tokens and QR codes, the signing keys and their rotation; donations
//!   to charities and the monthly pledge statements they are settled by
//! - `outbox`     the transactional outbox: deliveries written with their facts, leased, settled
//! - `import`     admin data loading: five kinds, CSV or NDJSON, validated row by row, atomic runs
//! - `reports`    aggregates by day, hour, area and role, kept as records are written; rebuilds;
//!   the report API's queries and disclosure control; de-identified exports
//! - `store`      the `Store` traits and their backends (embedded redb by default)
//! - `gateway`    the axum router: REST handlers, errors, auth, ops endpoints
//! - `metrics`    every metric the server exports, described in one place
//! - `metrics_snapshot` the gauges read from actors, refreshed once a second for scrapes
//! - `listener`   the HTTP and WebSocket listener, bound with the configured backlog
//! - `http_server` the API's connections: header read timeout, connections per client address
//! - `contract`   the AsyncAPI document of the WebSocket protocol
//! - `server`     `serve()`: wires the pieces together and runs until shutdown
//! - `bench`      `heyblue bench`: load and correctness client, workers, echo baseline, reports
//! - `bench_api`  hidden public wrappers so `benches/` can reach crate-private hot paths
//! - `fuzz_api`   hidden public entry points for the fuzz targets and their corpus replay

pub mod config;

#[doc(hidden)]
pub mod bench_api;
#[doc(hidden)]
pub mod fuzz_api;
pub mod version;

mod actors;
mod audit;
mod bench;
mod clock;
mod cluster;
mod connections;
mod contract;
mod data_dir;
mod domain;
mod gateway;
mod geo;
mod http_server;
mod identity;
mod import;
mod listener;
mod metrics;
mod metrics_snapshot;
mod oidc;
mod outbox;
mod presence;
mod privacy;
mod profiles;
mod proto;
mod proxy_protocol;
mod reports;
mod rewards;
mod runtime;
mod server;
mod store;
mod tls;

pub use bench::{
    Baseline, BenchArgs, BenchError, BoundingBox, Report as BenchReport, Scenario, run_bench,
    run_bench_worker, run_echo_server,
};
pub use clock::Clock;
pub use cluster::drain_request::{DrainRequestError, request_drain};
pub use config::{Config, ConfigError, EnvironmentVariables};
pub use contract::{ContractDocument, contract_json};
pub use import::{
    ImportFormat, ImportKind, ImportOutcome, ImportProgress, ImportReport, ProblemCode, RowProblem,
};
pub use listener::{Listeners, bind_listener, bind_metrics_listener};
pub use metrics::install_recorder;
pub use reports::{
    ExportCommandError, ExportOptions, ExportWriteError, RebuildCommandError, ReportBenchOptions,
    bench_reports, export_connections, rebuild_reports,
};
pub use rewards::signing::{KeyFileError, Rotation, rotate_voucher_keys};
pub use rewards::{StatementCommandError, StatementFormat, rewards_statement};
pub use server::{
    ImportFileError, ImportFileOptions, ServeError, import_file, migrate, rotate_master_key, serve,
};
pub use store::StoreError;
/// Which tables of a stopped embedded store hold some bytes (erasure checks).
#[doc(hidden)]
pub use store::embedded::row_scan::{RowScan, scan_rows};
