//! The actors of live presence, one per file: `UserSession` (one per connected
//! account), `Cell` (one per active H3 cell), `ZipShard` (supervisor of a ZIP
//! prefix's cells), `Placement` (which shard lives where; one per node) and
//! `SessionSupervisor` (spawns sessions and cleans up after them),
//! `RequestRegistry` (one per node: pending connection requests) and
//! `ConnectionRequest` (one per pending request), and `NodeRouter` (one per
//! node in a cluster: the network-capable actor peers send to). Messages more
//! than one actor sends live in `messages`; the registry's per-citizen limits in
//! `request_limits`; officer changes meet the node in `officer_presence`, and
//! peers' changes in `replica`; sessions are reached wherever they live through
//! `reach`; what every session shares is `services`, built by `crate::runtime`.

pub(crate) mod cell;
pub(crate) mod connection_request;
pub(crate) mod messages;
pub(crate) mod node_router;
pub(crate) mod officer_presence;
pub(crate) mod placement;
pub(crate) mod reach;
pub(crate) mod replica;
pub(crate) mod request_limits;
pub(crate) mod request_registry;
pub(crate) mod services;
pub(crate) mod session_supervisor;
pub(crate) mod user_session;
pub(crate) mod zip_shard;

#[cfg(test)]
mod availability_report_tests;
#[cfg(test)]
mod cadence_tests;
#[cfg(test)]
mod privacy_tests;
#[cfg(test)]
mod probe_tests;
#[cfg(test)]
mod request_limit_tests;
#[cfg(test)]
mod request_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod virtual_tests;
