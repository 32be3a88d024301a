//! The handshake scenario's figures, in the forms the report needs: a
//! serialisable block for `results.json`, rows for the summary table, and the
//! lines printed under it (the rules in force, failures by kind, withheld rewards
//! by reason, credit problems).

use std::collections::BTreeMap;

use serde::Serialize;

use super::audit::AuditSummary;
use super::chaos::ChaosFigures;
use super::rounds::INTERRUPTED;
use super::stats::{CounterSnapshot, HistogramData, LatencyExport, Percentiles};
use super::tally::HandshakeTally;

/// How the coordinator set the run up.
#[derive(Debug, Clone)]
pub(crate) struct HandshakeSetup {
    /// Officer–citizen pairs.
    pub(crate) pairs: u32,
    /// Accepted requests per second aimed for.
    pub(crate) target_rate_per_s: f64,
    /// Rounds in the schedule.
    pub(crate) rounds_scheduled: u64,
    /// When round 0 was due, Unix microseconds.
    pub(crate) t0_us: i64,
    /// Metres between neighbouring pairs.
    pub(crate) spacing_m: f64,
    /// The connection rules in force, in words.
    pub(crate) rules: String,
    /// What the chaos did, when the server was killed during the rounds.
    pub(crate) chaos: Option<ChaosFigures>,
}

/// What a handshake run measured and found.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct HandshakeFigures {
    /// Officer–citizen pairs.
    pub(crate) pairs: u32,
    /// Metres between neighbouring pairs.
    pub(crate) spacing_m: f64,
    /// The connection rules in force, in words.
    pub(crate) rules: String,
    /// Accepted requests per second aimed for.
    pub(crate) target_rate_per_s: f64,
    /// Rounds in the schedule.
    pub(crate) rounds_scheduled: u64,
    /// Rounds established per second, from the first round due to the last one
    /// established.
    pub(crate) accepted_per_s: f64,
    /// `request_connection` written → both `connection_established` received.
    pub(crate) request_to_established: Percentiles,
    /// The officer's `respond` written → both `connection_established` received.
    pub(crate) respond_to_established: Percentiles,
    /// Failures by kind.
    pub(crate) failures: BTreeMap<String, u64>,
    /// Rewards withheld by the server's rules, by reason (once per side).
    pub(crate) withheld: BTreeMap<String, u64>,
    /// The credit check.
    pub(crate) credit_check: AuditSummary,
    /// Raw request → established histogram (for the chart).
    pub(crate) histogram: HistogramData,
    /// What the chaos did, when the server was killed during the rounds.
    pub(crate) chaos: Option<ChaosFigures>,
    /// Times a pair set itself up again after its sockets failed.
    pub(crate) reconnections: u64,
}

impl HandshakeFigures {
    /// Figures from the setup and what the workers reported.
    pub(crate) fn new(
        setup: &HandshakeSetup,
        counters: &CounterSnapshot,
        latencies: &LatencyExport,
        tally: HandshakeTally,
    ) -> Self {
        let seconds = tally
            .last_established_us
            .map_or(0.0, |last_us| (last_us - setup.t0_us) as f64 / 1e6);
        Self {
            pairs: setup.pairs,
            spacing_m: setup.spacing_m,
            rules: setup.rules.clone(),
            target_rate_per_s: setup.target_rate_per_s,
            rounds_scheduled: setup.rounds_scheduled,
            accepted_per_s: if seconds > 0.0 {
                counters.rounds_established as f64 / seconds
            } else {
                0.0
            },
            request_to_established: Percentiles::of(&latencies.handshake_us.to_histogram()),
            respond_to_established: Percentiles::of(&latencies.accept_us.to_histogram()),
            failures: tally.failures,
            withheld: tally.withheld,
            credit_check: tally.audit,
            histogram: latencies.handshake_us.clone(),
            chaos: setup.chaos.clone(),
            reconnections: tally.reconnections,
        }
    }

    /// Every scheduled round established, nothing failed, every credit exactly
    /// once. Under chaos, rounds cut off by a kill (`interrupted`) are the only
    /// failures allowed, and the server must have been killed at least once.
    pub(crate) fn passed(&self, counters: &CounterSnapshot) -> bool {
        let interrupted = match &self.chaos {
            Some(chaos) if chaos.kills == 0 => return false,
            Some(_) => self.failures.get(INTERRUPTED).copied().unwrap_or(0),
            None => 0,
        };
        let other_failures = self.failures.values().sum::<u64>() - interrupted;
        other_failures == 0
            && counters.rounds_failed == interrupted
            && counters.rounds_established + interrupted == self.rounds_scheduled
            && self.credit_check.passed()
    }

    /// Rows of the summary table: name and value.
    pub(crate) fn rows(
        &self,
        counters: &CounterSnapshot,
        round_start_lateness: &Percentiles,
    ) -> Vec<(&'static str, String)> {
        let ms = |percentiles: &Percentiles, value: f64| {
            if percentiles.count == 0 {
                "-".to_owned()
            } else {
                format!("{value:.2} ms")
            }
        };
        let latency = &self.request_to_established;
        let audit = &self.credit_check;
        vec![
            ("pairs", self.pairs.to_string()),
            (
                "target accepted requests/s",
                format!("{:.0}", self.target_rate_per_s),
            ),
            (
                "rounds scheduled / started",
                format!("{} / {}", self.rounds_scheduled, counters.rounds_started),
            ),
            (
                "rounds established",
                counters.rounds_established.to_string(),
            ),
            ("accepted requests/s", format!("{:.0}", self.accepted_per_s)),
            ("request→established p50", ms(latency, latency.p50_ms)),
            ("request→established p90", ms(latency, latency.p90_ms)),
            ("request→established p99", ms(latency, latency.p99_ms)),
            ("request→established p99.9", ms(latency, latency.p999_ms)),
            (
                "respond→established p50 / p99",
                format!(
                    "{} / {}",
                    ms(
                        &self.respond_to_established,
                        self.respond_to_established.p50_ms
                    ),
                    ms(
                        &self.respond_to_established,
                        self.respond_to_established.p99_ms
                    )
                ),
            ),
            (
                "round start lateness p99",
                ms(round_start_lateness, round_start_lateness.p99_ms),
            ),
            ("failed rounds", counters.rounds_failed.to_string()),
            (
                "server kills / longest restart",
                self.chaos.as_ref().map_or_else(
                    || "-".to_owned(),
                    |chaos| format!("{} / {} ms", chaos.kills, chaos.longest_restart_ms()),
                ),
            ),
            ("pair reconnections", self.reconnections.to_string()),
            (
                "withheld rewards",
                self.withheld.values().sum::<u64>().to_string(),
            ),
            ("credit check: people", audit.people.to_string()),
            (
                "connections due / found once",
                format!("{} / {}", audit.accepted, audit.records_found),
            ),
            (
                "credits due / found once",
                format!("{} / {}", audit.credits_due, audit.credits_found),
            ),
            (
                "doubled / missing",
                format!("{} / {}", audit.doubled(), audit.missing()),
            ),
            (
                "points off / unexpected / one-sided",
                format!(
                    "{} / {} / {}",
                    audit.points_mismatched, audit.unexpected, audit.one_sided
                ),
            ),
            (
                "balance ≠ sum of ledger",
                audit.balance_mismatched.to_string(),
            ),
            (
                "credit check",
                if audit.passed() { "PASS" } else { "FAIL" }.to_owned(),
            ),
        ]
    }

    /// Lines printed under the table.
    pub(crate) fn notes(&self) -> Vec<String> {
        let mut lines = vec![format!("rules in force: {}", self.rules)];
        if !self.failures.is_empty() {
            lines.push(format!("failures by kind: {}", listing(&self.failures)));
        }
        if !self.withheld.is_empty() {
            lines.push(format!(
                "withheld rewards by reason: {}",
                listing(&self.withheld)
            ));
        }
        if self.credit_check.late_established > 0 {
            lines.push(format!(
                "requests the bench gave up on but the server established (once each): {}",
                self.credit_check.late_established
            ));
        }
        for sample in &self.credit_check.samples {
            lines.push(format!("credit check: {sample}"));
        }
        lines
    }
}

fn listing(counts: &BTreeMap<String, u64>) -> String {
    counts
        .iter()
        .map(|(name, count)| format!("{name} {count}"))
        .collect::<Vec<_>>()
        .join(", ")
}
