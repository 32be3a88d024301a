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
//! - `admin`    endpoint administration: create, list, rotate, enable, disable
//! - `social`   social posts: consent, templates, the text of each attempt
//! - `push`     push notifications queued for officers not connected

pub(crate) mod admin;
mod backlog;
pub(crate) mod delivery;
pub(crate) mod destination;
pub(crate) mod dispatcher;
pub(crate) mod endpoint;
pub(crate) mod lease;
pub(crate) mod message;
mod pacing;
pub(crate) mod push;
pub(crate) mod schedule;
pub(crate) mod sender;
pub(crate) mod signature;
pub(crate) mod social;

#[cfg(test)]
mod rate_limit_tests;
#[cfg(test)]
mod social_tests;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::clock::Clock;
use crate::config::OutboxConfig;
use crate::identity::keys::ServerKeys;
use crate::store::Store;

/// Why the outbox cannot start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    /// The HTTP client cannot be built.
    #[error(transparent)]
    Client(#[from] sender::ClientError),
    /// The social file cannot be used.
    #[error(transparent)]
    SocialFile(#[from] social::file::SocialFileError),
}

/// Starts this node's sending loop when the config says it sends; it stops
/// when `stop` is cancelled. The social file is read and checked on every
/// node, sending or not, so a broken one is found wherever it is deployed.
pub(crate) fn start(
    config: &OutboxConfig,
    store: Arc<dyn Store>,
    keys: Arc<ServerKeys>,
    clock: Clock,
    stop: CancellationToken,
) -> Result<Option<JoinHandle<()>>, StartError> {
    let social_settings = match &config.social_file {
        Some(path) => social::file::SocialSettings::load(path)?,
        None => social::file::SocialSettings::defaults(),
    };
    if !config.send {
        return Ok(None);
    }
    let sender = sender::Sender::new(config.allow_private_destinations)?;
    let settings = dispatcher::DispatchSettings {
        node_id: uuid::Uuid::new_v4(),
        lease: Duration::from_secs(config.lease_seconds),
        poll_interval: Duration::from_millis(config.poll_interval_ms),
        batch: config.batch_size,
        concurrency: config.concurrency,
        backlog_scan_limit: config.backlog_scan_limit,
        schedule: schedule::RetrySchedule {
            delays: config
                .retry_delays_seconds
                .iter()
                .map(|seconds| Duration::from_secs(*seconds))
                .collect(),
            jitter: config.retry_jitter,
        },
        disable_after_failing: Duration::from_secs(
            config.disable_after_failing_hours.saturating_mul(3_600),
        ),
    };
    let node_id = settings.node_id;
    let composer = dispatcher::BodyComposer::Social(social::compose::Composer::new(
        Arc::clone(&store),
        Arc::new(social_settings),
        clock,
    ));
    let dispatcher = dispatcher::Dispatcher::new(store, keys, sender, composer, clock, settings);
    let span = tracing::info_span!("outbox", %node_id);
    Ok(Some(tokio::spawn(dispatcher.run(stop).instrument(span))))
}
