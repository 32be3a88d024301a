//! What the handshake scenario counts beyond the plain counters: failures by kind,
//! withheld rewards by reason, when the last round was established, and the credit
//! check. Each pair keeps its own; the worker adds them up and sends the sum once,
//! at the end; the coordinator adds up the workers'.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::audit::AuditSummary;

/// The handshake figures of one pair, one worker or the whole run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct HandshakeTally {
    /// Failures by kind (`timeout`, `officer_busy`, `error:rate_limited`, ...).
    pub(crate) failures: BTreeMap<String, u64>,
    /// Rewards withheld by the server's anti-farming rules, by reason, counted
    /// once per side (`pair_cooldown`, `daily_cap`, ...).
    pub(crate) withheld: BTreeMap<String, u64>,
    /// When the last round was established, Unix microseconds.
    pub(crate) last_established_us: Option<i64>,
    /// Times a pair set itself up again after a socket failed.
    pub(crate) reconnections: u64,
    /// The credit check.
    pub(crate) audit: AuditSummary,
}

impl HandshakeTally {
    /// Counts one failure of `kind`.
    pub(crate) fn fail(&mut self, kind: &str) {
        self.fail_n(kind, 1);
    }

    /// Counts `count` failures of `kind`.
    pub(crate) fn fail_n(&mut self, kind: &str, count: u64) {
        if count > 0 {
            *self.failures.entry(kind.to_owned()).or_default() += count;
        }
    }

    /// Counts one side's reward withheld for `reason`.
    pub(crate) fn withheld(&mut self, reason: &str) {
        *self.withheld.entry(reason.to_owned()).or_default() += 1;
    }

    /// Notes a round established at `at_us`.
    pub(crate) fn established_at(&mut self, at_us: i64) {
        self.last_established_us = Some(
            self.last_established_us
                .map_or(at_us, |last| last.max(at_us)),
        );
    }

    /// Adds another tally.
    pub(crate) fn merge(&mut self, other: &HandshakeTally) {
        for (kind, count) in &other.failures {
            self.fail_n(kind, *count);
        }
        for (reason, count) in &other.withheld {
            *self.withheld.entry(reason.clone()).or_default() += count;
        }
        if let Some(at_us) = other.last_established_us {
            self.established_at(at_us);
        }
        self.reconnections += other.reconnections;
        self.audit.merge(&other.audit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_add_up() {
        let mut first = HandshakeTally::default();
        first.fail("timeout");
        first.withheld("daily_cap");
        first.established_at(5);
        let mut second = HandshakeTally::default();
        second.fail_n("timeout", 2);
        second.fail_n("officer_busy", 0);
        second.established_at(9);
        first.merge(&second);
        assert_eq!(first.failures.get("timeout"), Some(&3));
        assert!(!first.failures.contains_key("officer_busy"));
        assert_eq!(first.withheld.get("daily_cap"), Some(&1));
        assert_eq!(first.last_established_us, Some(9));
    }
}
