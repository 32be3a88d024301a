//! Hey Blue! — a real-time presence server that brings police officers and the
//! communities they serve closer.
//!
//! Crate map (one line per module):
//! - [`config`]   typed configuration: TOML file plus `HEYBLUE_*` overrides, validated once
//! - `clock`      wall-clock milliseconds driven by tokio's clock, so tests can pause time
//! - `domain`     pure rules and types: ids, roles, phone numbers, profiles and their events
//! - `geo`        coordinates, haversine, ZIP lookup from embedded census centroids, shards, H3 cells
//! - `store`      the `Store` traits and their backends (embedded redb by default)
//! - `bench_api`  hidden public wrappers so `benches/` can reach crate-private hot paths

pub mod config;

#[doc(hidden)]
pub mod bench_api;

mod clock;
mod domain;
#[allow(dead_code, unused_imports)] // used by the presence actors
mod geo;
mod store;

pub use clock::Clock;
pub use config::{Config, ConfigError};
