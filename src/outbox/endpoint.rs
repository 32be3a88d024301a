//! Endpoints the outbox sends to: a URL, the event types subscribed, the
//! signing secret (and, for 24 hours after a rotation, the one before it, so
//! both signatures are sent), and whether it is enabled. The registry is the
//! sender's view of them; an endpoint answering 410 Gone is disabled in it.

use std::sync::{PoisonError, RwLock};

use reqwest::Url;
use uuid::Uuid;

use super::message::EventType;
use super::signature::SigningSecret;

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

    /// Replaces the secret with `new`, keeping the old one signing for
    /// [`ROTATION_OVERLAP_MS`] from `now_ms`.
    pub(crate) fn rotate(&mut self, new: SigningSecret, now_ms: i64) {
        let old = std::mem::replace(&mut self.secret, new);
        self.previous_secret = Some((old, now_ms.saturating_add(ROTATION_OVERLAP_MS)));
    }
}

/// The endpoints known to this node.
#[derive(Debug, Default)]
pub(crate) struct EndpointRegistry {
    /// Every endpoint, enabled or not.
    endpoints: RwLock<Vec<Endpoint>>,
}

impl EndpointRegistry {
    /// A registry holding `endpoints`.
    pub(crate) fn new(endpoints: Vec<Endpoint>) -> Self {
        Self {
            endpoints: RwLock::new(endpoints),
        }
    }

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

    /// Adds or replaces an endpoint (by id).
    pub(crate) fn put(&self, endpoint: Endpoint) {
        let mut endpoints = self
            .endpoints
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        endpoints.retain(|stored| stored.id != endpoint.id);
        endpoints.push(endpoint);
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

    /// The endpoint with this id.
    pub(crate) fn get(&self, id: Uuid) -> Option<Endpoint> {
        self.endpoints
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|endpoint| endpoint.id == id)
            .cloned()
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
        };
        let old = endpoint.secret.clone();
        let new = SigningSecret::generate();
        endpoint.rotate(new.clone(), 1_000);
        assert_eq!(endpoint.signing_secrets(1_000), vec![&new, &old]);
        assert_eq!(
            endpoint.signing_secrets(1_000 + ROTATION_OVERLAP_MS),
            vec![&new]
        );
        assert!(endpoint.wants(EventType::ConnectionCompleted));
        assert!(!endpoint.wants(EventType::DonationMade));
    }
}
