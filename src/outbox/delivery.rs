//! A delivery: the outbox message and where sending it stands. The record
//! changes only by compare-and-set on its `version` (a conditional write on
//! CQL, one write transaction on redb), so of two nodes acting on one version
//! exactly one succeeds. The transitions are pure functions here; the store
//! only compares versions.
//!
//! A node takes a due delivery by writing a lease (its id and an expiry), sends
//! it, and settles it (delivered, retry later, or dead), which drops the lease.
//! A node that dies holding a lease stops renewing nothing: once the lease
//! expires, any node may take the delivery over.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::message::OutboxMessage;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DeliveryState {
    /// Not delivered yet; sent when due.
    Pending,
    /// The last attempt failed and another is scheduled (still due when its
    /// time comes; listed apart so admins see what is failing).
    Failed,
    /// Delivered.
    Delivered,
    /// Every attempt failed: a dead letter, sent again only by a replay.
    Dead,
    /// Never to be sent: a social post the people in it did not (or no
    /// longer) consent to.
    Cancelled,
}

impl DeliveryState {
    /// The name in the admin API and metrics.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Failed => "failed",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Dead => "dead",
            DeliveryState::Cancelled => "cancelled",
        }
    }

    /// The state with this name.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        [
            DeliveryState::Pending,
            DeliveryState::Failed,
            DeliveryState::Delivered,
            DeliveryState::Dead,
            DeliveryState::Cancelled,
        ]
        .into_iter()
        .find(|state| state.as_str() == name)
    }

    /// Whether a delivery in this state is still to be sent.
    pub(crate) fn is_open(self) -> bool {
        match self {
            DeliveryState::Pending | DeliveryState::Failed => true,
            DeliveryState::Delivered | DeliveryState::Dead | DeliveryState::Cancelled => false,
        }
    }
}

/// A node's claim on a delivery while it sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Lease {
    /// The node holding it (a random id per running server).
    pub(crate) holder: Uuid,
    /// Until when (Unix ms); after that any node may take the delivery over.
    pub(crate) until_ms: i64,
}

/// A message and where sending it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OutboxDelivery {
    /// The message, as recorded with its fact.
    pub(crate) message: OutboxMessage,
    /// Where it stands.
    pub(crate) state: DeliveryState,
    /// Bumped by every change; changes are conditional on it.
    pub(crate) version: u64,
    /// Attempts made so far.
    pub(crate) attempts: u32,
    /// When it may be sent next (Unix ms).
    pub(crate) next_attempt_at_ms: i64,
    /// The node sending it now, if any.
    pub(crate) lease: Option<Lease>,
    /// Why the last attempt failed, for admins.
    pub(crate) last_error: Option<String>,
    /// When it was delivered or dead-lettered (Unix ms).
    pub(crate) settled_at_ms: Option<i64>,
    /// When it entered its state (Unix ms): where the store lists it by state.
    pub(crate) state_since_ms: i64,
    /// The endpoints it reached (or that answered 410 Gone), not sent to again
    /// when a retry is for the others.
    #[serde(default)]
    pub(crate) done_endpoints: Vec<Uuid>,
}

/// The result of one attempt, as the sender reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AttemptOutcome {
    /// Delivered at this time (Unix ms).
    Delivered {
        /// When.
        at_ms: i64,
    },
    /// Failed; try again at `retry_at_ms`, or dead-letter it when `None`.
    Failed {
        /// When it failed (Unix ms).
        at_ms: i64,
        /// Why, for admins.
        error: String,
        /// The next attempt's time, if the schedule has one left.
        retry_at_ms: Option<i64>,
    },
    /// Not sent, and never to be: the post is not allowed.
    Cancelled {
        /// When (Unix ms).
        at_ms: i64,
        /// Why, for admins.
        reason: String,
    },
    /// Held back by an endpoint's rate limit: taken again at `until_ms`,
    /// with no attempt counted (the endpoints reached are kept).
    Deferred {
        /// Until when (Unix ms).
        until_ms: i64,
    },
}

impl OutboxDelivery {
    /// A new delivery of `message`, due at once.
    pub(crate) fn new(message: OutboxMessage) -> Self {
        Self {
            next_attempt_at_ms: message.created_at_ms,
            state_since_ms: message.created_at_ms,
            done_endpoints: Vec::new(),
            message,
            state: DeliveryState::Pending,
            version: 0,
            attempts: 0,
            lease: None,
            last_error: None,
            settled_at_ms: None,
        }
    }

    /// When it may next be taken (Unix ms): its next attempt, or the end of
    /// the lease holding it, whichever is later. The embedded store keys its
    /// due queue by it, so a leased delivery leaves the front of the queue.
    pub(crate) fn due_at_ms(&self) -> i64 {
        match self.lease {
            Some(lease) => self.next_attempt_at_ms.max(lease.until_ms),
            None => self.next_attempt_at_ms,
        }
    }

    /// Whether it is to be sent at `now_ms` and no live lease holds it.
    pub(crate) fn is_due(&self, now_ms: i64) -> bool {
        self.state.is_open()
            && self.next_attempt_at_ms <= now_ms
            && self.lease.is_none_or(|lease| lease.until_ms <= now_ms)
    }

    /// The record with `holder`'s lease until `until_ms`, or `None` when it
    /// is not due at `now_ms` (settled, scheduled later, or leased by a node
    /// whose lease is live).
    pub(crate) fn claimed(&self, holder: Uuid, now_ms: i64, until_ms: i64) -> Option<Self> {
        if !self.is_due(now_ms) {
            return None;
        }
        let mut claimed = self.clone();
        claimed.lease = Some(Lease { holder, until_ms });
        claimed.version += 1;
        Some(claimed)
    }

    /// The record after `outcome`, lease dropped.
    pub(crate) fn settled(&self, outcome: &AttemptOutcome) -> Self {
        let mut settled = self.clone();
        settled.lease = None;
        settled.version += 1;
        let at_ms = match outcome {
            AttemptOutcome::Delivered { at_ms } => {
                settled.state = DeliveryState::Delivered;
                settled.settled_at_ms = Some(*at_ms);
                settled.last_error = None;
                *at_ms
            }
            AttemptOutcome::Failed {
                at_ms,
                error,
                retry_at_ms,
            } => {
                settled.last_error = Some(error.clone());
                match retry_at_ms {
                    Some(retry_at_ms) => {
                        settled.state = DeliveryState::Failed;
                        settled.next_attempt_at_ms = *retry_at_ms;
                    }
                    None => {
                        settled.state = DeliveryState::Dead;
                        settled.settled_at_ms = Some(*at_ms);
                    }
                }
                *at_ms
            }
            AttemptOutcome::Cancelled { at_ms, reason } => {
                settled.state = DeliveryState::Cancelled;
                settled.settled_at_ms = Some(*at_ms);
                settled.last_error = Some(reason.clone());
                *at_ms
            }
            // Not an attempt: same state, same count, a later time.
            AttemptOutcome::Deferred { until_ms } => {
                settled.next_attempt_at_ms = *until_ms;
                return settled;
            }
        };
        settled.attempts = self.attempts.saturating_add(1);
        if settled.state != self.state {
            settled.state_since_ms = at_ms;
        }
        settled
    }

    /// The record of a dead letter sent again from its first attempt to the
    /// endpoints it has not reached (a replay for one failing endpoint: the
    /// endpoints that took it are not sent it twice), due at `now_ms`.
    pub(crate) fn replayed_to_unreached(&self, now_ms: i64) -> Self {
        let mut replayed = self.replayed(now_ms);
        replayed.done_endpoints = self.done_endpoints.clone();
        replayed
    }

    /// The record sent again from the start (a replay of a dead letter, or
    /// of a delivered message), due at `now_ms`.
    pub(crate) fn replayed(&self, now_ms: i64) -> Self {
        let mut replayed = self.clone();
        replayed.state = DeliveryState::Pending;
        replayed.version += 1;
        replayed.attempts = 0;
        replayed.next_attempt_at_ms = now_ms;
        replayed.lease = None;
        replayed.settled_at_ms = None;
        replayed.state_since_ms = now_ms;
        replayed.done_endpoints.clear();
        replayed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::message::{EventType, message_id};

    fn delivery() -> OutboxDelivery {
        OutboxDelivery::new(OutboxMessage {
            message_id: message_id(EventType::ConnectionCompleted, "fact"),
            event_type: EventType::ConnectionCompleted,
            fact_key: "fact".to_owned(),
            created_at_ms: 1_000,
            body: "{}".to_owned(),
        })
    }

    #[test]
    fn a_live_lease_keeps_other_nodes_out_until_it_expires() {
        let first = Uuid::new_v4();
        let second = Uuid::new_v4();
        let claimed = delivery().claimed(first, 1_000, 31_000).expect("due");
        assert_eq!(claimed.version, 1);
        assert!(claimed.claimed(second, 30_999, 60_000).is_none());
        let taken_over = claimed.claimed(second, 31_000, 61_000).expect("expired");
        assert_eq!(taken_over.lease.map(|lease| lease.holder), Some(second));
        assert_eq!(taken_over.version, 2);
    }

    #[test]
    fn a_deferral_counts_no_attempt_and_keeps_what_was_reached() {
        let reached = Uuid::new_v4();
        let mut claimed = delivery()
            .claimed(Uuid::new_v4(), 1_000, 2_000)
            .expect("due");
        claimed.done_endpoints.push(reached);
        let deferred = claimed.settled(&AttemptOutcome::Deferred { until_ms: 4_000 });
        assert_eq!(deferred.state, DeliveryState::Pending);
        assert_eq!(deferred.attempts, 0);
        assert_eq!(deferred.lease, None);
        assert_eq!(deferred.done_endpoints, vec![reached]);
        assert!(!deferred.is_due(3_999));
        assert!(deferred.is_due(4_000));
    }

    #[test]
    fn failures_schedule_a_retry_then_dead_letter() {
        let claimed = delivery()
            .claimed(Uuid::new_v4(), 1_000, 2_000)
            .expect("due");
        let failed = claimed.settled(&AttemptOutcome::Failed {
            at_ms: 1_100,
            error: "500".to_owned(),
            retry_at_ms: Some(6_100),
        });
        assert_eq!(failed.state, DeliveryState::Failed);
        assert!(!failed.is_due(6_099));
        assert!(failed.is_due(6_100));
        let dead = failed.settled(&AttemptOutcome::Failed {
            at_ms: 7_000,
            error: "500".to_owned(),
            retry_at_ms: None,
        });
        assert_eq!(dead.state, DeliveryState::Dead);
        assert_eq!(dead.attempts, 2);
        assert!(!dead.is_due(i64::MAX));
        let replayed = dead.replayed(9_000);
        assert!(replayed.is_due(9_000));
        assert_eq!(replayed.attempts, 0);
    }
}
