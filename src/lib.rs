//! Hey Blue! — a real-time presence server that brings police officers and the
//! communities they serve closer.
//!
//! Crate map (one line per module):
//! - [`config`]   typed configuration: TOML file plus `HEYBLUE_*` overrides, validated once
//! - `clock`      wall-clock milliseconds driven by tokio's clock, so tests can pause time
//! - `domain`     pure rules and types: ids, roles, phone numbers, profiles and their events
//! - `store`      the `Store` traits and their backends (embedded redb by default)

pub mod config;

mod clock;
#[allow(dead_code)] // used by the identity service, wired in next
mod domain;
#[allow(dead_code)] // used by the identity service, wired in next
mod store;

pub use clock::Clock;
pub use config::{Config, ConfigError};
