//! What the outbox carries: a message recorded with the fact that causes it
//! (a connection completed, a trophy awarded, a donation made), its event
//! type, and its stable id.
//!
//! The id is derived from the event type and the fact's own key, so writing
//! the same fact again (a retried insert, a recovery pass) names the same
//! message, and every attempt to send it carries the same `webhook-id`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::AccountId;
use crate::domain::connection::utc_day;
use crate::store::{ConnectionRecord, Donation, TrophyAward};

/// The kinds of fact the outbox carries, each a subscribable event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum EventType {
    /// A connection between a citizen and an officer was established.
    ConnectionCompleted,
    /// A person was awarded a trophy.
    TrophyAwarded,
    /// A person donated points to a charity.
    DonationMade,
    /// A push notification to an officer whose app is not connected.
    PushNotification,
}

impl EventType {
    /// Every event type, in a fixed order.
    pub(crate) const ALL: [EventType; 4] = [
        EventType::ConnectionCompleted,
        EventType::TrophyAwarded,
        EventType::DonationMade,
        EventType::PushNotification,
    ];

    /// The event types that are social posts (consent rules, templates).
    pub(crate) const SOCIAL: [EventType; 3] = [
        EventType::ConnectionCompleted,
        EventType::TrophyAwarded,
        EventType::DonationMade,
    ];

    /// The name in webhook bodies, endpoint subscriptions and metrics.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            EventType::ConnectionCompleted => "connection.completed",
            EventType::TrophyAwarded => "trophy.awarded",
            EventType::DonationMade => "donation.made",
            EventType::PushNotification => "notification.push",
        }
    }

    /// The event type with this name.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        EventType::ALL
            .into_iter()
            .find(|event_type| event_type.as_str() == name)
    }
}

/// A message as the outbox records it: written once, never changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OutboxMessage {
    /// Stable id ([`message_id`]): the `webhook-id` of every attempt.
    pub(crate) message_id: Uuid,
    /// What kind of fact caused it; endpoints subscribe by type.
    pub(crate) event_type: EventType,
    /// The key of the fact it was derived from (a connection id), so the
    /// fact can be found from the message.
    pub(crate) fact_key: String,
    /// When the fact happened (Unix ms); orders the queue.
    pub(crate) created_at_ms: i64,
    /// The JSON body sent, exactly as recorded.
    pub(crate) body: String,
}

/// The stable id of the message `event_type` derives from the fact `fact_key`.
pub(crate) fn message_id(event_type: EventType, fact_key: &str) -> Uuid {
    let mut hasher = Sha256::new();
    hasher.update(b"heyblue outbox message\0");
    hasher.update(event_type.as_str().as_bytes());
    hasher.update(b"\0");
    hasher.update(fact_key.as_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0_u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// The body of a `connection.completed` message: the connection's id, its UTC
/// day and the 3-digit ZIP prefix of its place. No account, position or time
/// of day: what is shared about people is decided when the post is written.
#[derive(Debug, Serialize)]
struct ConnectionCompletedBody<'a> {
    /// The event type's name.
    #[serde(rename = "type")]
    event_type: &'static str,
    /// The connection.
    connection_id: Uuid,
    /// Days since the Unix epoch (UTC) of the connection.
    day: i64,
    /// The first three digits of the connection's ZIP, when it has one.
    zip3: Option<&'a str>,
}

/// The message a completed connection causes.
pub(crate) fn connection_completed(record: &ConnectionRecord) -> OutboxMessage {
    let fact_key = record.connection_id.to_string();
    let zip3 = record.zip.as_deref().and_then(|zip| zip.get(..3));
    let body = ConnectionCompletedBody {
        event_type: EventType::ConnectionCompleted.as_str(),
        connection_id: record.connection_id,
        day: utc_day(record.established_at_ms),
        zip3,
    };
    OutboxMessage {
        message_id: message_id(EventType::ConnectionCompleted, &fact_key),
        event_type: EventType::ConnectionCompleted,
        fact_key,
        created_at_ms: record.established_at_ms,
        body: serde_json::to_string(&body).unwrap_or_else(|_unserialisable| String::from("{}")),
    }
}

/// The body of a `trophy.awarded` message: which trophy, and the UTC day.
/// Not who: what is shared about people is decided when the post is written.
#[derive(Debug, Serialize)]
struct TrophyAwardedBody {
    /// The event type's name.
    #[serde(rename = "type")]
    event_type: &'static str,
    /// The trophy's id.
    trophy: &'static str,
    /// Days since the Unix epoch (UTC) of the award.
    day: i64,
}

/// The message an award causes; a person holds a trophy once, so the
/// person and the trophy name the fact.
pub(crate) fn trophy_awarded(award: &TrophyAward) -> OutboxMessage {
    let fact_key = format!("{}/{}", award.account_id.0, award.trophy.as_str());
    let body = TrophyAwardedBody {
        event_type: EventType::TrophyAwarded.as_str(),
        trophy: award.trophy.as_str(),
        day: utc_day(award.awarded_at_ms),
    };
    OutboxMessage {
        message_id: message_id(EventType::TrophyAwarded, &fact_key),
        event_type: EventType::TrophyAwarded,
        fact_key,
        created_at_ms: award.awarded_at_ms,
        body: serde_json::to_string(&body).unwrap_or_else(|_unserialisable| String::from("{}")),
    }
}

/// The body of a `donation.made` message: the donation, the charity, the
/// points and the UTC day. Not who: decided when the post is written.
#[derive(Debug, Serialize)]
struct DonationMadeBody {
    /// The event type's name.
    #[serde(rename = "type")]
    event_type: &'static str,
    /// The donation (and pledge) id.
    donation_id: Uuid,
    /// The charity given to.
    charity_id: Uuid,
    /// Points given.
    points: u32,
    /// Days since the Unix epoch (UTC) of the request.
    day: i64,
}

/// The fact key of a donation: its person and the client's key, which
/// find the donation in the store.
pub(crate) fn donation_fact_key(donation: &Donation) -> String {
    format!("{}/{}", donation.account_id.0, donation.idempotency_key)
}

/// The message a completed donation causes.
pub(crate) fn donation_made(donation: &Donation) -> OutboxMessage {
    let fact_key = donation_fact_key(donation);
    let body = DonationMadeBody {
        event_type: EventType::DonationMade.as_str(),
        donation_id: donation.donation_id,
        charity_id: donation.charity_id,
        points: donation.points,
        day: utc_day(donation.requested_at_ms),
    };
    OutboxMessage {
        message_id: message_id(EventType::DonationMade, &fact_key),
        event_type: EventType::DonationMade,
        fact_key,
        created_at_ms: donation.requested_at_ms,
        body: serde_json::to_string(&body).unwrap_or_else(|_unserialisable| String::from("{}")),
    }
}

/// What a push notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PushKind {
    /// Someone asked to connect while the officer's app was not connected.
    ConnectionRequested,
    /// The officer's availability window ended while the app was not
    /// connected.
    AvailabilityEnded,
}

impl PushKind {
    /// The wire name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PushKind::ConnectionRequested => "connection_requested",
            PushKind::AvailabilityEnded => "availability_ended",
        }
    }

    /// The text a lock screen shows: nothing about who or where.
    pub(crate) fn alert(self) -> &'static str {
        match self {
            PushKind::ConnectionRequested => "Someone nearby would like to say hello.",
            PushKind::AvailabilityEnded => "You are no longer shown as available.",
        }
    }
}

/// The body of a `notification.push` message: what it is about, the lock
/// screen text and when it stops mattering. The devices are added when it
/// is sent; no name, place or account is in it.
#[derive(Debug, Serialize)]
struct PushBody {
    /// The event type's name.
    #[serde(rename = "type")]
    event_type: &'static str,
    /// What it is about.
    kind: PushKind,
    /// The lock screen text.
    alert: &'static str,
    /// When it stops mattering (Unix ms): a gateway may drop it after.
    expires_at_ms: i64,
}

/// A push to `account_id` about `kind` of `reference` (a request id).
pub(crate) fn push_notification(
    account_id: AccountId,
    kind: PushKind,
    reference: Uuid,
    at_ms: i64,
    expires_at_ms: i64,
) -> OutboxMessage {
    let fact_key = format!("{}/{}/{reference}", account_id.0, kind.as_str());
    let body = PushBody {
        event_type: EventType::PushNotification.as_str(),
        kind,
        alert: kind.alert(),
        expires_at_ms,
    };
    OutboxMessage {
        message_id: message_id(EventType::PushNotification, &fact_key),
        event_type: EventType::PushNotification,
        fact_key,
        created_at_ms: at_ms,
        body: serde_json::to_string(&body).unwrap_or_else(|_unserialisable| String::from("{}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_stable_and_differ_by_type_and_fact() {
        let first = message_id(EventType::ConnectionCompleted, "a");
        assert_eq!(first, message_id(EventType::ConnectionCompleted, "a"));
        assert_ne!(first, message_id(EventType::TrophyAwarded, "a"));
        assert_ne!(first, message_id(EventType::ConnectionCompleted, "b"));
    }

    #[test]
    fn event_types_round_trip_through_their_names() {
        for event_type in EventType::ALL {
            assert_eq!(EventType::from_name(event_type.as_str()), Some(event_type));
        }
        assert_eq!(EventType::from_name("nope"), None);
    }
}
