//! Hey Blue! — a real-time presence server that brings police officers and the
//! communities they serve closer.
//!
//! Crate map (one line per module):
//! - [`config`]   typed configuration: TOML file plus `HEYBLUE_*` overrides, validated once
//! - `clock`      wall-clock milliseconds driven by tokio's clock, so tests can pause time
//! - `domain`     pure rules and types: ids, roles, phone numbers, profiles and their events
//! - `proto`      WebSocket messages (serde), the JSON + MessagePack codec, error and close codes, limits
//! - `identity`   one-time codes, opaque tokens, phone encryption, SMS adapters
//! - `profiles`   profile commands and queries over the profile event log
//! - `import`     CSV imports (the officer roster) with row-by-row validation reports
//! - `store`      the `Store` traits and their backends (embedded redb by default)
//! - `presence`   live presence: the socket ↔ session seam (`SessionHub`) and the outbound link
//! - `gateway`    the axum router: REST handlers, the WebSocket gateway, errors, auth, ops endpoints
//! - `metrics`    every metric the server exports, described in one place
//! - `server`     `serve()`: wires the pieces together and runs until shutdown

pub mod config;

mod clock;
mod domain;
mod gateway;
mod identity;
mod import;
mod metrics;
#[allow(dead_code)] // parts are used by the presence runtime, wired in next
mod presence;
mod profiles;
#[allow(dead_code, unused_imports)] // parts are used by the presence runtime, wired in next
mod proto;
mod server;
mod store;

pub use clock::Clock;
pub use config::{Config, ConfigError, EnvironmentVariables};
pub use import::{ImportReport, RowProblem};
pub use metrics::install_recorder;
#[doc(hidden)]
pub use proto::proto_bench_api;
pub use server::{ImportFileError, ServeError, import_officers_file, serve};
pub use store::StoreError;
