//! Per-socket pacing on tokio time: [`WindowLimiter`] (at most N events in any
//! sliding window, for control messages and for error answers) and
//! [`LocationCoalescer`] (at most one `location` per interval, on average, reaches
//! the session; a newer one replaces the pending one).

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use crate::proto::LocationUpdate;

/// At most `limit` events in any window of `window`: an exact sliding window that
/// remembers the times of the accepted events still inside it. It allocates only
/// once used, and holds at most `limit` instants.
#[derive(Debug)]
pub(crate) struct WindowLimiter {
    /// Events allowed per window.
    limit: usize,
    /// Length of the sliding window.
    window: Duration,
    /// When the accepted events still inside the window happened, oldest first.
    accepted_at: VecDeque<Instant>,
}

impl WindowLimiter {
    /// A limiter allowing `limit` events per `window`.
    pub(crate) fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            window,
            accepted_at: VecDeque::new(),
        }
    }

    /// Records an event at `now` and returns true when fewer than `limit` events
    /// happened in the window ending at `now`; otherwise returns false and records
    /// nothing (a refused event does not use up the budget).
    pub(crate) fn try_acquire(&mut self, now: Instant) -> bool {
        while let Some(&oldest) = self.accepted_at.front() {
            if now.saturating_duration_since(oldest) < self.window {
                break;
            }
            self.accepted_at.pop_front();
        }
        if self.accepted_at.len() >= self.limit {
            return false;
        }
        self.accepted_at.push_back(now);
        debug_assert!(self.accepted_at.len() <= self.limit);
        true
    }

    /// How long after `now` until an event would be accepted (zero when one
    /// would be now): the oldest event in the window leaves it then.
    pub(crate) fn wait_after(&self, now: Instant) -> Duration {
        if self.accepted_at.len() < self.limit {
            return Duration::ZERO;
        }
        self.accepted_at.front().map_or(Duration::ZERO, |&oldest| {
            (oldest + self.window).saturating_duration_since(now)
        })
    }
}

/// Holds back `location` updates so the session sees at most one per `interval`
/// on average. An update that arrives too soon waits; a newer one replaces it
/// (not an error). The pacing is a token bucket holding at most two intervals of
/// allowance: an update that arrived late (the network or a busy server delayed
/// it) leaves the next one free to go at once, instead of every later update
/// inheriting the delay, as strict one-interval spacing would (with it, one
/// 300 ms hiccup kept all of a session's later updates 300 ms late). In any span
/// of time `t`, at most `2 + t / interval` updates reach the session.
#[derive(Debug)]
pub(crate) struct LocationCoalescer {
    /// One update's worth of allowance; the bucket holds two.
    interval: Duration,
    /// Allowance at `credited_at`.
    credit: Duration,
    /// When `credit` was last computed; `None` before the first update (which
    /// always goes at once).
    credited_at: Option<Instant>,
    /// The newest update that arrived too soon, waiting for its turn.
    pending: Option<LocationUpdate>,
}

impl LocationCoalescer {
    /// A coalescer delivering at most one update per `interval` on average.
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            interval,
            credit: Duration::ZERO,
            credited_at: None,
            pending: None,
        }
    }

    /// An update arrived at `now`: returned when it may go to the session at once,
    /// otherwise kept as the pending update (replacing an older pending one).
    pub(crate) fn offer(&mut self, update: LocationUpdate, now: Instant) -> Option<LocationUpdate> {
        if self.pending.is_none() && self.credit_at(now) >= self.interval {
            self.spend(now);
            return Some(update);
        }
        self.pending = Some(update);
        None
    }

    /// When the pending update may be delivered; `None` when nothing is pending.
    pub(crate) fn due_at(&self) -> Option<Instant> {
        self.pending.as_ref()?;
        Some(self.credited_at.map_or_else(Instant::now, |credited_at| {
            credited_at + self.interval.saturating_sub(self.credit)
        }))
    }

    /// The pending update, if it is due at `now`.
    pub(crate) fn take_due(&mut self, now: Instant) -> Option<LocationUpdate> {
        let due_at = self.due_at()?;
        if now < due_at {
            return None;
        }
        self.spend(now);
        self.pending.take()
    }

    /// The allowance at `now`: what was left, plus the time since, up to two
    /// intervals. Before the first update: one interval.
    fn credit_at(&self, now: Instant) -> Duration {
        match self.credited_at {
            None => self.interval,
            Some(credited_at) => {
                (self.credit + now.saturating_duration_since(credited_at)).min(self.interval * 2)
            }
        }
    }

    /// One update delivered at `now`.
    fn spend(&mut self, now: Instant) {
        self.credit = self.credit_at(now).saturating_sub(self.interval);
        self.credited_at = Some(now);
    }
}
