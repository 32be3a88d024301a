//! The handshake's credit check: after the rounds, one person's REST view (see
//! `account_views`) against what the bench saw happen to them. Every accepted
//! request must show up exactly once in the person's connections with the points
//! they were told, and — when they were told points — exactly once in their ledger
//! as a connection credit of that amount (none when the points were withheld).
//! Nothing from this run may appear that the bench never heard of, and the balance
//! must be the sum of the ledger, entry after entry.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::account_views::AccountView;

/// Problem descriptions kept word for word for the report.
const SAMPLES_KEPT: usize = 10;
/// The ledger reason of a connection credit.
const CONNECTION_REASON: &str = "connection";

/// What the bench saw of one person's rounds.
#[derive(Debug, Clone, Default)]
pub(crate) struct Expected {
    /// Accepted requests (both sides got `connection_established`): connection id
    /// and the points this person was told.
    pub(crate) accepted: HashMap<Uuid, i64>,
    /// Requests of rounds the bench gave up on: the server may still have
    /// established them, but at most once.
    pub(crate) abandoned: HashSet<Uuid>,
    /// Entries and connections older than this (Unix ms) are earlier history (a
    /// long-lived node): they count for the balance only.
    pub(crate) since_ms: i64,
}

/// The check over all people, summed (travels from workers to the coordinator).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct AuditSummary {
    /// People whose views were read and checked.
    pub(crate) people: u64,
    /// People whose views could not be read.
    pub(crate) unreadable: u64,
    /// Accepted requests checked, counted once per side.
    pub(crate) accepted: u64,
    /// Of those, found exactly once among the person's connections.
    pub(crate) records_found: u64,
    /// Accepted requests with points told, counted once per side: credits due.
    pub(crate) credits_due: u64,
    /// Of those, found exactly once in the person's ledger.
    pub(crate) credits_found: u64,
    /// Accepted requests missing from a person's connections.
    pub(crate) records_missing: u64,
    /// Connections listed more than once for a person.
    pub(crate) records_doubled: u64,
    /// Credits due but absent from the ledger.
    pub(crate) credits_missing: u64,
    /// Connections credited more than once to a person.
    pub(crate) credits_doubled: u64,
    /// Points in a record or credit that differ from what the person was told.
    pub(crate) points_mismatched: u64,
    /// Records or credits of this run that the bench never heard of, or credits
    /// for connections whose points were withheld.
    pub(crate) unexpected: u64,
    /// Abandoned requests the server established after all (once each: fine).
    pub(crate) late_established: u64,
    /// People whose balance is not the sum of their ledger, or whose ledger's
    /// running balance or sequence numbers have a gap.
    pub(crate) balance_mismatched: u64,
    /// Abandoned requests established on one side of the pair only.
    pub(crate) one_sided: u64,
    /// A few problems, described.
    pub(crate) samples: Vec<String>,
}

impl AuditSummary {
    /// Credits or records doubled.
    pub(crate) fn doubled(&self) -> u64 {
        self.records_doubled + self.credits_doubled
    }

    /// Credits or records missing.
    pub(crate) fn missing(&self) -> u64 {
        self.records_missing + self.credits_missing + self.unreadable
    }

    /// Whether every credit and record is there exactly once and every balance adds up.
    pub(crate) fn passed(&self) -> bool {
        self.doubled() == 0
            && self.missing() == 0
            && self.points_mismatched == 0
            && self.unexpected == 0
            && self.balance_mismatched == 0
            && self.one_sided == 0
    }

    /// Adds another worker's check.
    pub(crate) fn merge(&mut self, other: &AuditSummary) {
        self.people += other.people;
        self.unreadable += other.unreadable;
        self.accepted += other.accepted;
        self.records_found += other.records_found;
        self.credits_due += other.credits_due;
        self.credits_found += other.credits_found;
        self.records_missing += other.records_missing;
        self.records_doubled += other.records_doubled;
        self.credits_missing += other.credits_missing;
        self.credits_doubled += other.credits_doubled;
        self.points_mismatched += other.points_mismatched;
        self.unexpected += other.unexpected;
        self.late_established += other.late_established;
        self.balance_mismatched += other.balance_mismatched;
        self.one_sided += other.one_sided;
        for sample in &other.samples {
            self.keep(sample.clone());
        }
    }

    /// Counts a person whose view could not be read.
    pub(crate) fn unreadable(&mut self, who: &str, error: &str) {
        self.unreadable += 1;
        self.keep(format!("{who}: cannot read the REST view: {error}"));
    }

    fn keep(&mut self, description: String) {
        if self.samples.len() < SAMPLES_KEPT {
            self.samples.push(description);
        }
    }
}

/// Checks one person's view (`who` names them in the samples); returns the
/// abandoned requests the server established for them after all (see
/// [`check_both_sides`]).
pub(crate) fn check(
    who: &str,
    expected: &Expected,
    view: &AccountView,
    summary: &mut AuditSummary,
) -> HashSet<Uuid> {
    summary.people += 1;
    let mut records: HashMap<Uuid, Vec<i64>> = HashMap::new();
    for row in &view.connections {
        records
            .entry(row.connection_id)
            .or_default()
            .push(row.points);
        if row.established_at_ms >= expected.since_ms
            && !expected.accepted.contains_key(&row.connection_id)
            && !expected.abandoned.contains(&row.connection_id)
        {
            summary.unexpected += 1;
            summary.keep(format!(
                "{who}: connection {} of this run was never seen by the bench",
                row.connection_id
            ));
        }
    }
    let mut credits: HashMap<Uuid, Vec<i64>> = HashMap::new();
    for row in view
        .ledger
        .iter()
        .filter(|row| row.reason == CONNECTION_REASON)
    {
        let Some(connection_id) = row.connection_id else {
            summary.unexpected += 1;
            summary.keep(format!(
                "{who}: connection credit {} names no connection",
                row.seq
            ));
            continue;
        };
        credits.entry(connection_id).or_default().push(row.delta);
        if row.at_ms >= expected.since_ms
            && !expected.accepted.contains_key(&connection_id)
            && !expected.abandoned.contains(&connection_id)
        {
            summary.unexpected += 1;
            summary.keep(format!(
                "{who}: credit for connection {connection_id} that the bench never saw"
            ));
        }
    }
    for (connection_id, listed) in &records {
        if listed.len() > 1 {
            summary.records_doubled += 1;
            summary.keep(format!(
                "{who}: connection {connection_id} listed {} times",
                listed.len()
            ));
        }
    }
    for (connection_id, deltas) in &credits {
        if deltas.len() > 1 {
            summary.credits_doubled += 1;
            summary.keep(format!(
                "{who}: connection {connection_id} credited {} times",
                deltas.len()
            ));
        }
    }
    for (connection_id, &told) in &expected.accepted {
        check_accepted(who, *connection_id, told, &records, &credits, summary);
    }
    let mut established_late = HashSet::new();
    for connection_id in &expected.abandoned {
        if records.contains_key(connection_id) {
            summary.late_established += 1;
            established_late.insert(*connection_id);
        }
        let record_points = records.get(connection_id).and_then(|listed| listed.first());
        let credited = credits.get(connection_id).and_then(|deltas| deltas.first());
        match (record_points, credited) {
            (Some(&points), None) if points > 0 => {
                summary.credits_missing += 1;
                summary.keep(format!(
                    "{who}: abandoned request {connection_id} was established with {points} points but never credited"
                ));
            }
            (_, Some(&delta)) if record_points != Some(&delta) => {
                summary.points_mismatched += 1;
                summary.keep(format!(
                    "{who}: abandoned request {connection_id} credited {delta} but its record says {record_points:?}"
                ));
            }
            _ => {}
        }
    }
    check_balance(who, view, summary);
    established_late
}

/// A connection is established for both people or for neither: an abandoned
/// request the server established for one side of `pair` only is counted.
pub(crate) fn check_both_sides(
    pair: &str,
    officer_late: &HashSet<Uuid>,
    citizen_late: &HashSet<Uuid>,
    summary: &mut AuditSummary,
) {
    for connection_id in officer_late.symmetric_difference(citizen_late) {
        summary.one_sided += 1;
        summary.keep(format!(
            "{pair}: connection {connection_id} was established for one side only"
        ));
    }
}

fn check_accepted(
    who: &str,
    connection_id: Uuid,
    told: i64,
    records: &HashMap<Uuid, Vec<i64>>,
    credits: &HashMap<Uuid, Vec<i64>>,
    summary: &mut AuditSummary,
) {
    summary.accepted += 1;
    match records.get(&connection_id).map(Vec::as_slice) {
        None | Some([]) => {
            summary.records_missing += 1;
            summary.keep(format!(
                "{who}: accepted request {connection_id} is not among the connections"
            ));
        }
        Some([points]) => {
            summary.records_found += 1;
            if *points != told {
                summary.points_mismatched += 1;
                summary.keep(format!(
                    "{who}: connection {connection_id} records {points} points, the socket said {told}"
                ));
            }
        }
        // Counted as doubled above.
        Some([_, _, ..]) => {}
    }
    let deltas = credits.get(&connection_id).map_or(&[][..], Vec::as_slice);
    if told <= 0 {
        if !deltas.is_empty() {
            summary.unexpected += 1;
            summary.keep(format!(
                "{who}: connection {connection_id} was credited though its points were withheld"
            ));
        }
        return;
    }
    summary.credits_due += 1;
    match deltas {
        [] => {
            summary.credits_missing += 1;
            summary.keep(format!(
                "{who}: accepted request {connection_id} ({told} points) has no credit"
            ));
        }
        [delta] => {
            summary.credits_found += 1;
            if *delta != told {
                summary.points_mismatched += 1;
                summary.keep(format!(
                    "{who}: connection {connection_id} credited {delta}, the socket said {told}"
                ));
            }
        }
        // Counted as doubled above.
        [_, _, ..] => {}
    }
}

/// The balance is the sum of the ledger, and the ledger's running balance and
/// sequence numbers have no gaps.
fn check_balance(who: &str, view: &AccountView, summary: &mut AuditSummary) {
    let mut ascending: Vec<_> = view.ledger.iter().collect();
    ascending.sort_by_key(|row| row.seq);
    let mut running = 0_i64;
    let mut chain_broken = None;
    for (position, row) in ascending.iter().enumerate() {
        running += row.delta;
        let expected_seq = u64::try_from(position).unwrap_or(u64::MAX) + 1;
        if chain_broken.is_none() && (row.seq != expected_seq || row.balance_after != running) {
            chain_broken = Some(row.seq);
        }
    }
    if running != view.balance || chain_broken.is_some() {
        summary.balance_mismatched += 1;
        summary.keep(format!(
            "{who}: balance {} but the ledger sums to {running} (running balance first off at entry {chain_broken:?})",
            view.balance
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::account_views::{ConnectionRow, LedgerRow};

    const SINCE_MS: i64 = 1_000;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn record(n: u128, points: i64) -> ConnectionRow {
        ConnectionRow {
            connection_id: id(n),
            established_at_ms: SINCE_MS + 10,
            points,
        }
    }

    /// A view whose ledger holds `credits` (connection, delta) in this order.
    fn view(records: Vec<ConnectionRow>, credits: &[(u128, i64)]) -> AccountView {
        let mut running = 0;
        let mut ledger: Vec<LedgerRow> = credits
            .iter()
            .enumerate()
            .map(|(position, &(n, delta))| {
                running += delta;
                LedgerRow {
                    seq: u64::try_from(position).unwrap() + 1,
                    at_ms: SINCE_MS + 10,
                    delta,
                    reason: CONNECTION_REASON.to_owned(),
                    connection_id: Some(id(n)),
                    balance_after: running,
                }
            })
            .collect();
        // The API lists newest first.
        ledger.reverse();
        AccountView {
            balance: running,
            ledger,
            connections: records.into_iter().rev().collect(),
        }
    }

    fn expected(accepted: &[(u128, i64)], abandoned: &[u128]) -> Expected {
        Expected {
            accepted: accepted
                .iter()
                .map(|&(n, points)| (id(n), points))
                .collect(),
            abandoned: abandoned.iter().map(|&n| id(n)).collect(),
            since_ms: SINCE_MS,
        }
    }

    fn audit(expected: &Expected, view: &AccountView) -> AuditSummary {
        let mut summary = AuditSummary::default();
        let _established_late = check("citizen 0", expected, view, &mut summary);
        summary
    }

    #[test]
    fn every_accepted_request_once_passes() {
        let summary = audit(
            &expected(&[(1, 10), (2, 10), (3, 0)], &[]),
            &view(
                vec![record(1, 10), record(2, 10), record(3, 0)],
                &[(1, 10), (2, 10)],
            ),
        );
        assert!(summary.passed(), "{summary:?}");
        assert_eq!(
            (summary.accepted, summary.records_found),
            (3, 3),
            "{summary:?}"
        );
        assert_eq!((summary.credits_due, summary.credits_found), (2, 2));
    }

    #[test]
    fn a_doubled_credit_fails() {
        let summary = audit(
            &expected(&[(1, 10)], &[]),
            &view(vec![record(1, 10)], &[(1, 10), (1, 10)]),
        );
        assert_eq!(summary.credits_doubled, 1);
        assert_eq!(summary.doubled(), 1);
        assert!(!summary.passed());
    }

    #[test]
    fn a_missing_credit_or_record_fails() {
        let summary = audit(
            &expected(&[(1, 10), (2, 10)], &[]),
            &view(vec![record(1, 10)], &[(1, 10)]),
        );
        assert_eq!((summary.records_missing, summary.credits_missing), (1, 1));
        assert_eq!(summary.missing(), 2);
        assert!(!summary.passed());
    }

    #[test]
    fn a_credit_for_withheld_points_or_an_unknown_connection_fails() {
        let withheld = audit(
            &expected(&[(1, 0)], &[]),
            &view(vec![record(1, 0)], &[(1, 10)]),
        );
        assert_eq!(withheld.unexpected, 1, "{withheld:?}");
        assert!(!withheld.passed());
        let unknown = audit(
            &expected(&[(1, 10)], &[]),
            &view(vec![record(1, 10), record(9, 10)], &[(1, 10), (9, 10)]),
        );
        assert_eq!(unknown.unexpected, 2, "{unknown:?}");
        assert!(!unknown.passed());
    }

    #[test]
    fn earlier_history_and_late_abandoned_requests_are_fine() {
        let mut old = view(
            vec![record(7, 10), record(8, 10)],
            &[(7, 10), (1, 10), (8, 10)],
        );
        for row in &mut old.ledger {
            if row.connection_id == Some(id(7)) {
                row.at_ms = SINCE_MS - 1;
            }
        }
        old.connections[1].established_at_ms = SINCE_MS - 1;
        old.connections.push(record(1, 10));
        let summary = audit(&expected(&[(1, 10)], &[8]), &old);
        assert!(summary.passed(), "{summary:?}");
        assert_eq!(summary.late_established, 1);
    }

    #[test]
    fn an_abandoned_request_established_but_never_credited_fails() {
        let summary = audit(&expected(&[], &[8]), &view(vec![record(8, 10)], &[]));
        assert_eq!(summary.credits_missing, 1, "{summary:?}");
        assert!(!summary.passed());
    }

    #[test]
    fn an_abandoned_request_established_for_one_side_only_fails() {
        let abandoned = expected(&[], &[8, 9]);
        let mut summary = AuditSummary::default();
        let officer_late = check(
            "officer 0",
            &abandoned,
            &view(vec![record(8, 10), record(9, 10)], &[(8, 10), (9, 10)]),
            &mut summary,
        );
        let citizen_late = check(
            "citizen 0",
            &abandoned,
            &view(vec![record(8, 10)], &[(8, 10)]),
            &mut summary,
        );
        assert!(summary.passed(), "{summary:?}");
        check_both_sides("pair 0", &officer_late, &citizen_late, &mut summary);
        assert_eq!(summary.one_sided, 1, "{summary:?}");
        assert!(!summary.passed());
    }

    #[test]
    fn points_that_differ_from_what_the_socket_said_fail() {
        let summary = audit(
            &expected(&[(1, 10)], &[]),
            &view(vec![record(1, 12)], &[(1, 12)]),
        );
        assert_eq!(summary.points_mismatched, 2, "{summary:?}");
        assert!(!summary.passed());
    }

    #[test]
    fn a_balance_that_is_not_the_sum_of_the_ledger_fails() {
        let mut broken = view(vec![record(1, 10)], &[(1, 10)]);
        broken.balance = 20;
        let summary = audit(&expected(&[(1, 10)], &[]), &broken);
        assert_eq!(summary.balance_mismatched, 1);
        let mut gap = view(vec![record(1, 10), record(2, 10)], &[(1, 10), (2, 10)]);
        gap.ledger[0].seq = 3;
        let summary = audit(&expected(&[(1, 10), (2, 10)], &[]), &gap);
        assert_eq!(summary.balance_mismatched, 1, "{summary:?}");
    }

    #[test]
    fn summaries_merge() {
        let mut total = AuditSummary::default();
        let one = audit(
            &expected(&[(1, 10)], &[]),
            &view(vec![record(1, 10)], &[(1, 10), (1, 10)]),
        );
        total.merge(&one);
        total.merge(&one);
        assert_eq!(total.people, 2);
        assert_eq!(total.credits_doubled, 2);
        assert_eq!(total.samples.len(), 2);
    }
}
