//! What admins do with endpoints: create one (its secret generated and shown
//! once, stored sealed), list them (never with secrets), rotate a secret (the
//! old one keeps signing for 24 hours, the new one is shown once), enable or
//! disable one, set or lift its rate limit. The HTTP routes (`gateway::outbox_routes`) call these.

use std::sync::Arc;

use uuid::Uuid;

use super::destination::{DestinationError, check_literal_host, parse_endpoint_url};
use super::endpoint::{EndpointRecord, ROTATION_OVERLAP_MS};
use super::message::EventType;
use super::signature::SigningSecret;
use crate::identity::keys::ServerKeys;
use crate::store::{Store, StoreError};

/// Why an endpoint change is refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EndpointError {
    /// The URL is refused.
    #[error(transparent)]
    Destination(#[from] DestinationError),
    /// An event type is unknown.
    #[error("unknown event type {0:?}")]
    UnknownEventType(String),
    /// No event type is subscribed.
    #[error("an endpoint subscribes to at least one event type")]
    NoEventTypes,
    /// The rate limit is out of range.
    #[error("rate_limit_per_second is from 1 to {MAX_RATE_LIMIT_PER_SECOND}")]
    RateLimit,
    /// No endpoint has this id.
    #[error("no such endpoint")]
    NotFound,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The highest rate limit an endpoint may have (a second's messages); one
/// millisecond apart is as close as the sending loop paces them.
pub(crate) const MAX_RATE_LIMIT_PER_SECOND: u32 = 1_000;

/// What an admin asks for when creating an endpoint.
#[derive(Debug, Clone)]
pub(crate) struct NewEndpoint {
    /// The URL.
    pub(crate) url: String,
    /// Event type names.
    pub(crate) event_types: Vec<String>,
    /// Whether it starts enabled.
    pub(crate) enabled: bool,
    /// At most this many messages a second from each sending node.
    pub(crate) rate_limit_per_second: Option<u32>,
}

/// The limit, if it is in range.
fn checked_rate_limit(per_second: Option<u32>) -> Result<Option<u32>, EndpointError> {
    match per_second {
        Some(per_second) if !(1..=MAX_RATE_LIMIT_PER_SECOND).contains(&per_second) => {
            Err(EndpointError::RateLimit)
        }
        _ => Ok(per_second),
    }
}

/// Endpoint administration over the store.
#[derive(Debug, Clone)]
pub(crate) struct EndpointAdmin {
    /// Where endpoints are kept.
    store: Arc<dyn Store>,
    /// Seals and opens secrets.
    keys: Arc<ServerKeys>,
    /// Whether loopback and private destinations are allowed.
    allow_private: bool,
}

impl EndpointAdmin {
    /// Administration over `store`, sealing with `keys`.
    pub(crate) fn new(store: Arc<dyn Store>, keys: Arc<ServerKeys>, allow_private: bool) -> Self {
        Self {
            store,
            keys,
            allow_private,
        }
    }

    /// Creates an endpoint; returns it and its secret's text (shown once).
    pub(crate) async fn create(
        &self,
        request: NewEndpoint,
        now_ms: i64,
    ) -> Result<(EndpointRecord, String), EndpointError> {
        let url = parse_endpoint_url(&request.url)?;
        check_literal_host(&url, self.allow_private)?;
        let rate_limit_per_second = checked_rate_limit(request.rate_limit_per_second)?;
        let mut event_types = Vec::new();
        for name in &request.event_types {
            let event_type = EventType::from_name(name)
                .ok_or_else(|| EndpointError::UnknownEventType(name.clone()))?;
            if !event_types.contains(&event_type) {
                event_types.push(event_type);
            }
        }
        if event_types.is_empty() {
            return Err(EndpointError::NoEventTypes);
        }
        let secret = SigningSecret::generate();
        let record = EndpointRecord {
            id: Uuid::new_v4(),
            url: url.to_string(),
            event_types,
            sealed_secret: self.keys.seal_webhook_secret(secret.as_bytes()),
            sealed_previous_secret: None,
            enabled: request.enabled,
            disabled_reason: None,
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
            failing_since_ms: None,
            rate_limit_per_second,
        };
        self.store.put_outbox_endpoint(&record).await?;
        Ok((record, secret.to_text()))
    }

    /// Every endpoint.
    pub(crate) async fn list(&self) -> Result<Vec<EndpointRecord>, EndpointError> {
        let mut endpoints = self.store.outbox_endpoints().await?;
        endpoints.sort_by_key(|endpoint| (endpoint.created_at_ms, endpoint.id));
        Ok(endpoints)
    }

    /// Gives an endpoint a new secret; the old one signs too for 24 hours.
    /// Returns the new secret's text (shown once).
    pub(crate) async fn rotate(&self, id: Uuid, now_ms: i64) -> Result<String, EndpointError> {
        let mut record = self.find(id).await?;
        let secret = SigningSecret::generate();
        let old = std::mem::replace(
            &mut record.sealed_secret,
            self.keys.seal_webhook_secret(secret.as_bytes()),
        );
        record.sealed_previous_secret = Some((old, now_ms.saturating_add(ROTATION_OVERLAP_MS)));
        record.updated_at_ms = now_ms;
        self.store.put_outbox_endpoint(&record).await?;
        Ok(secret.to_text())
    }

    /// Enables or disables an endpoint.
    pub(crate) async fn set_enabled(
        &self,
        id: Uuid,
        enabled: bool,
        reason: Option<String>,
        now_ms: i64,
    ) -> Result<EndpointRecord, EndpointError> {
        let mut record = self.find(id).await?;
        record.enabled = enabled;
        record.disabled_reason = if enabled { None } else { reason };
        if enabled {
            // Enabled again: its failing streak starts afresh.
            record.failing_since_ms = None;
        }
        record.updated_at_ms = now_ms;
        self.store.put_outbox_endpoint(&record).await?;
        Ok(record)
    }

    /// Sets or lifts (`None`) an endpoint's rate limit.
    pub(crate) async fn set_rate_limit(
        &self,
        id: Uuid,
        per_second: Option<u32>,
        now_ms: i64,
    ) -> Result<EndpointRecord, EndpointError> {
        let per_second = checked_rate_limit(per_second)?;
        let mut record = self.find(id).await?;
        record.rate_limit_per_second = per_second;
        record.updated_at_ms = now_ms;
        self.store.put_outbox_endpoint(&record).await?;
        Ok(record)
    }

    /// Records since when every attempt to `id` has failed (`None`: it
    /// succeeded again).
    pub(crate) async fn set_failing_since(
        &self,
        id: Uuid,
        failing_since_ms: Option<i64>,
    ) -> Result<EndpointRecord, EndpointError> {
        let mut record = self.find(id).await?;
        record.failing_since_ms = failing_since_ms;
        self.store.put_outbox_endpoint(&record).await?;
        Ok(record)
    }

    async fn find(&self, id: Uuid) -> Result<EndpointRecord, EndpointError> {
        self.store
            .outbox_endpoints()
            .await?
            .into_iter()
            .find(|endpoint| endpoint.id == id)
            .ok_or(EndpointError::NotFound)
    }
}
