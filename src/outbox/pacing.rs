//! Per-endpoint rate limits of a node's sending loop. An endpoint with a
//! limit of `n` per second is sent at most one message every `1/n` s from
//! this node (no burst: a receiver that allows `n` a second never sees more
//! within a second). A delivery that finds its endpoint's slot taken is not
//! sent now nor counted as an attempt: it is deferred to a slot of its own
//! behind the ones already handed out, so a backlog is spread at the limit
//! and each delivery comes due about when it may go, instead of every
//! delivery of the backlog being taken and put back on each pass.
//!
//! The limit holds per sending node: with several nodes sending, an
//! endpoint may receive up to the limit times their number (docs/api.md).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use uuid::Uuid;

/// Whether a delivery may go to an endpoint now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pacing {
    /// Send it now.
    Send,
    /// Not before this time (Unix ms).
    DeferUntil(i64),
}

/// Where one endpoint's pace stands, in Unix microseconds.
#[derive(Debug, Clone, Copy)]
struct Pace {
    /// The limit it was computed for.
    per_second: u32,
    /// When the next send is allowed.
    next_send_us: i64,
    /// The slot the next deferred delivery gets.
    next_deferred_us: i64,
}

/// The paces of the endpoints with a limit, on this node.
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    paces: Mutex<HashMap<Uuid, Pace>>,
}

impl Pacer {
    /// Whether a delivery may go to `endpoint`, limited to `per_second`, at
    /// `now_ms`; a send or a deferral takes its slot.
    pub(crate) fn admit(&self, endpoint: Uuid, per_second: u32, now_ms: i64) -> Pacing {
        let now_us = now_ms.saturating_mul(1_000);
        let interval_us = 1_000_000 / i64::from(per_second.max(1));
        let mut paces = self.paces.lock().unwrap_or_else(PoisonError::into_inner);
        let fresh = Pace {
            per_second,
            next_send_us: now_us,
            next_deferred_us: now_us,
        };
        let pace = paces.entry(endpoint).or_insert(fresh);
        if pace.per_second != per_second {
            *pace = fresh;
        }
        if pace.next_send_us <= now_us {
            pace.next_send_us = now_us.saturating_add(interval_us);
            return Pacing::Send;
        }
        let slot_us = pace.next_deferred_us.max(pace.next_send_us);
        pace.next_deferred_us = slot_us.saturating_add(interval_us);
        // Rounded up: at the millisecond it comes due, its slot has begun.
        Pacing::DeferUntil(slot_us.saturating_add(999).div_euclid(1_000))
    }

    /// Forgets the endpoints `keep` rejects (deleted, or their limit lifted).
    pub(crate) fn retain(&self, keep: impl Fn(Uuid) -> bool) {
        self.paces
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|endpoint, _| keep(*endpoint));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_are_spaced_by_the_limit_and_the_rest_get_slots_behind() {
        let pacer = Pacer::default();
        let endpoint = Uuid::new_v4();
        assert_eq!(pacer.admit(endpoint, 4, 1_000), Pacing::Send);
        // Three more at once: each deferred to its own quarter second.
        assert_eq!(pacer.admit(endpoint, 4, 1_000), Pacing::DeferUntil(1_250));
        assert_eq!(pacer.admit(endpoint, 4, 1_001), Pacing::DeferUntil(1_500));
        assert_eq!(pacer.admit(endpoint, 4, 1_002), Pacing::DeferUntil(1_750));
        // The first deferred one, back at its slot, goes.
        assert_eq!(pacer.admit(endpoint, 4, 1_250), Pacing::Send);
        assert_eq!(pacer.admit(endpoint, 4, 1_499), Pacing::DeferUntil(2_000));
        assert_eq!(pacer.admit(endpoint, 4, 1_500), Pacing::Send);
    }

    #[test]
    fn endpoints_are_paced_apart_and_a_new_limit_starts_afresh() {
        let pacer = Pacer::default();
        let slow = Uuid::new_v4();
        let other = Uuid::new_v4();
        assert_eq!(pacer.admit(slow, 1, 0), Pacing::Send);
        assert_eq!(pacer.admit(other, 1, 0), Pacing::Send);
        assert_eq!(pacer.admit(slow, 1, 10), Pacing::DeferUntil(1_000));
        assert_eq!(pacer.admit(slow, 1_000, 20), Pacing::Send);
        assert_eq!(pacer.admit(slow, 1_000, 20), Pacing::DeferUntil(21));
        pacer.retain(|endpoint| endpoint != slow);
        assert_eq!(pacer.admit(slow, 1, 30), Pacing::Send);
    }
}
