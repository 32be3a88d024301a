//! The transactional outbox: messages to outside HTTP endpoints (social-post
//! webhooks, push notifications), written by the same store operation as the
//! fact that causes them, so a crash can neither lose nor invent one, and
//! sent eventually, at least once, exactly as recorded.
//!
//! - `message`  what a message is, its event types and its stable id
//! - `delivery` where sending a message stands, and its pure transitions
//! - `lease`    taking a due delivery with a lease, settling it, replaying it
//! - `schedule` when a failed delivery is tried again, with jitter
//! - `signature` Standard Webhooks secrets and signatures
//! - `destination` which URLs and addresses may be sent to (SSRF guard)
//! - `endpoint` endpoints: URL, event types, secrets and their rotation
//! - `sender`   one signed HTTP attempt and how it ended
//! - `dispatcher` the per-node loop: take due deliveries, send, settle

pub(crate) mod delivery;
pub(crate) mod destination;
pub(crate) mod dispatcher;
pub(crate) mod endpoint;
pub(crate) mod lease;
pub(crate) mod message;
pub(crate) mod schedule;
pub(crate) mod sender;
pub(crate) mod signature;

#[cfg(test)]
mod tests;
