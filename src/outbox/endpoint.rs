//! Endpoints the outbox sends to: a URL, the event types subscribed, the
//! signing secret (and, for 24 hours after a rotation, the one before it, so
//! both signatures are sent), and whether it is enabled. They are stored as
//! [`EndpointRecord`]s with their secrets sealed (`ServerKeys`); the registry
//! is a node's opened copy, reloaded from the store before each pass.

use std::sync::{PoisonError, RwLock};

use reqwest::Url;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::message::EventType;
use super::signature::SigningSecret;
use crate::identity::keys::ServerKeys;

/// An endpoint as stored: its secrets sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EndpointRecord {
    /// Its id.
    pub(crate) id: Uuid,
    /// Where messages are posted (checked when it was written).
    pub(crate) url: String,
    /// The event types it receives.
    pub(crate) event_types: Vec<EventType>,
    /// The current secret, sealed.
    pub(crate) sealed_secret: Vec<u8>,
    /// The secret before the last rotation, sealed, and until when it signs.
    pub(crate) sealed_previous_secret: Option<(Vec<u8>, i64)>,
    /// Whether it receives messages.
    pub(crate) enabled: bool,
    /// Why it was disabled by the server (410 Gone), for the admin.
    pub(crate) disabled_reason: Option<String>,
    /// When it was created (Unix ms).
    pub(crate) created_at_ms: i64,
    /// When it last changed (Unix ms).
    pub(crate) updated_at_ms: i64,
    /// Since when every attempt to it has failed (Unix ms); cleared by a
    /// success. Past `outbox.disable_after_failing_hours` it is disabled.
    #[serde(default)]
    pub(crate) failing_since_ms: Option<i64>,
    /// At most this many messages a second from each sending node.
    #[serde(default)]
    pub(crate) rate_limit_per_second: Option<u32>,
}

impl EndpointRecord {
    /// The endpoint with its secrets opened; `None` when its URL or a secret
    /// cannot be read (sealed under another master key).
    pub(crate) fn open(&self, keys: &ServerKeys) -> Option<Endpoint> {
        let url = Url::parse(&self.url).ok()?;
        let secret = SigningSecret::from_bytes(keys.open_webhook_secret(&self.sealed_secret)?);
        let previous_secret = match &self.sealed_previous_secret {
            Some((sealed, until_ms)) => Some((
                SigningSecret::from_bytes(keys.open_webhook_secret(sealed)?),
                *until_ms,
            )),
            None => None,
        };
        Some(Endpoint {
            id: self.id,
            url,
            event_types: self.event_types.clone(),
            secret,
            previous_secret,
            enabled: self.enabled,
            failing_since_ms: self.failing_since_ms,
            rate_limit_per_second: self.rate_limit_per_second,
        })
    }
}

/// How long a rotated-out secret keeps signing (24 h, in ms).
pub(crate) const ROTATION_OVERLAP_MS: i64 = 24 * 3_600_000;

/// One endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    /// Its id, named in logs and the admin API.
    pub(crate) id: Uuid,
    /// Where messages are posted.
    pub(crate) url: Url,
    /// The event types it receives.
    pub(crate) event_types: Vec<EventType>,
    /// The current secret.
    pub(crate) secret: SigningSecret,
    /// The secret before the last rotation, and until when it still signs
    /// (Unix ms).
    pub(crate) previous_secret: Option<(SigningSecret, i64)>,
    /// Whether it receives messages.
    pub(crate) enabled: bool,
    /// Since when every attempt to it has failed (Unix ms).
    pub(crate) failing_since_ms: Option<i64>,
    /// At most this many messages a second from each sending node.
    pub(crate) rate_limit_per_second: Option<u32>,
}

/// What a failed attempt means for its endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailingStreak {
    /// The first failure after a success (or ever): the streak starts now.
    Started,
    /// Failing since then (Unix ms).
    Since(i64),
}

impl Endpoint {
    /// Whether it is to receive a message of `event_type`.
    pub(crate) fn wants(&self, event_type: EventType) -> bool {
        self.enabled && self.event_types.contains(&event_type)
    }

    /// The secrets that sign at `now_ms`: the current one first.
    pub(crate) fn signing_secrets(&self, now_ms: i64) -> Vec<&SigningSecret> {
        let mut secrets = vec![&self.secret];
        if let Some((previous, until_ms)) = &self.previous_secret
            && now_ms < *until_ms
        {
            secrets.push(previous);
        }
        secrets
    }
}

/// The endpoints known to this node.
#[derive(Debug, Default)]
pub(crate) struct EndpointRegistry {
    /// Every endpoint, enabled or not.
    endpoints: RwLock<Vec<Endpoint>>,
}

impl EndpointRegistry {
    /// The endpoints that receive `event_type` now.
    pub(crate) fn subscribed(&self, event_type: EventType) -> Vec<Endpoint> {
        self.endpoints
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|endpoint| endpoint.wants(event_type))
            .cloned()
            .collect()
    }

    /// Every endpoint, enabled or not.
    pub(crate) fn all(&self) -> Vec<Endpoint> {
        self.endpoints
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces every endpoint (a reload from the store).
    pub(crate) fn replace_all(&self, endpoints: Vec<Endpoint>) {
        *self
            .endpoints
            .write()
            .unwrap_or_else(PoisonError::into_inner) = endpoints;
    }

    /// Notes a success of `id`; whether it ended a failing streak.
    pub(crate) fn note_success(&self, id: Uuid) -> bool {
        let mut endpoints = self
            .endpoints
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        endpoints
            .iter_mut()
            .find(|endpoint| endpoint.id == id)
            .and_then(|endpoint| endpoint.failing_since_ms.take())
            .is_some()
    }

    /// Notes a failure of `id` at `now_ms`.
    pub(crate) fn note_failure(&self, id: Uuid, now_ms: i64) -> FailingStreak {
        let mut endpoints = self
            .endpoints
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(endpoint) = endpoints.iter_mut().find(|endpoint| endpoint.id == id) else {
            return FailingStreak::Started;
        };
        match endpoint.failing_since_ms {
            Some(since_ms) => FailingStreak::Since(since_ms),
            None => {
                endpoint.failing_since_ms = Some(now_ms);
                FailingStreak::Started
            }
        }
    }

    /// Disables an endpoint; whether it was enabled.
    pub(crate) fn disable(&self, id: Uuid) -> bool {
        let mut endpoints = self
            .endpoints
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(endpoint) = endpoints.iter_mut().find(|endpoint| endpoint.id == id) else {
            return false;
        };
        std::mem::replace(&mut endpoint.enabled, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotated_secret_signs_for_a_day_then_stops() {
        let mut endpoint = Endpoint {
            id: Uuid::new_v4(),
            url: Url::parse("https://example.com/").expect("url"),
            event_types: vec![EventType::ConnectionCompleted],
            secret: SigningSecret::generate(),
            previous_secret: None,
            enabled: true,
            failing_since_ms: None,
            rate_limit_per_second: None,
        };
        let old = endpoint.secret.clone();
        let new = SigningSecret::generate();
        endpoint.secret = new.clone();
        endpoint.previous_secret = Some((old.clone(), 1_000 + ROTATION_OVERLAP_MS));
        assert_eq!(endpoint.signing_secrets(1_000), vec![&new, &old]);
        assert_eq!(
            endpoint.signing_secrets(1_000 + ROTATION_OVERLAP_MS),
            vec![&new]
        );
        assert!(endpoint.wants(EventType::ConnectionCompleted));
        assert!(!endpoint.wants(EventType::DonationMade));
    }
}
