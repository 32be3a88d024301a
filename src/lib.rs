//! Hey Blue! — a real-time presence server that brings police officers and the
//! communities they serve closer.
//!
//! Crate map (one line per module):
//! - [`config`]   typed configuration: TOML file plus `HEYBLUE_*` overrides, validated once
//! - `clock`      wall-clock milliseconds driven by tokio's clock, so tests can pause time
//! - `domain`     pure rules and types: ids, roles, phone numbers, profiles and their events
//! - `store`      the `Store` traits and their backends (embedded redb by default)
//! - `proto`      WebSocket messages (serde), the JSON + MessagePack codec, error and close codes, limits

pub mod config;

mod clock;
mod domain;
#[allow(dead_code, unused_imports)] // used by the WebSocket gateway
mod proto;
mod store;

pub use clock::Clock;
pub use config::{Config, ConfigError};
#[doc(hidden)]
pub use proto::proto_bench_api;
