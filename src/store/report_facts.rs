//! The facts each stored record gives reports (connections, ledger entries,
//! vouchers, completed donations, availability stretches), and the fold of
//! facts into cells: what a backend maintains as records are written, what
//! `heyblue reports rebuild` recomputes, and what tests compare against.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::report_records::{CellKey, ReportCell, ReportFact, ReportMetric, ReportRole, fact_id};
use super::{
    AvailabilityRecord, ConnectionRecord, Donation, DonationStatus, LedgerEntry, LedgerReason,
};
use crate::domain::voucher::{Voucher, VoucherStatus};
use crate::domain::{AccountId, Role};

/// Milliseconds in a minute.
const MS_PER_MINUTE: i64 = 60_000;
/// Milliseconds in an hour.
const MS_PER_HOUR: i64 = 3_600_000;

/// The facts of an established connection: the connection itself (once for
/// everyone and once per role), each person as a participant, and the points
/// credited to each person who got some.
pub(crate) fn connection_facts(record: &ConnectionRecord) -> Vec<ReportFact> {
    let fact = |metric: ReportMetric, tag: &str, roles: Vec<ReportRole>, amount: i64| ReportFact {
        fact_id: fact_id(record.connection_id, metric, tag),
        metric,
        at_ms: record.established_at_ms,
        zip: record.zip.clone(),
        roles,
        amount,
        person: None,
        partner: None,
    };
    let mut facts = vec![fact(
        ReportMetric::Connections,
        "",
        vec![ReportRole::All, ReportRole::Citizen, ReportRole::Officer],
        1,
    )];
    for (role, party) in [
        (Role::Citizen, &record.citizen),
        (Role::Officer, &record.officer),
    ] {
        let roles = vec![ReportRole::All, ReportRole::from(role)];
        facts.push(ReportFact {
            person: Some(party.account_id),
            ..fact(ReportMetric::Participants, role.as_str(), roles.clone(), 1)
        });
        if party.points > 0 {
            facts.push(fact(
                ReportMetric::PointsCredited,
                role.as_str(),
                roles,
                party.points,
            ));
        }
    }
    facts
}

/// The facts of a ledger entry: debits for vouchers and donations and
/// refunds (connection credits are counted from the connection record, which
/// knows where it happened; adjustments are not reported). The ledger does
/// not know where or in which role, so these count for everyone, nationally.
pub(crate) fn ledger_facts(entry: &LedgerEntry) -> Vec<ReportFact> {
    let metric = match entry.reason {
        LedgerReason::Redemption => ReportMetric::PointsRedeemed,
        LedgerReason::Donation => ReportMetric::PointsDonated,
        LedgerReason::Refund => ReportMetric::PointsRefunded,
        LedgerReason::Connection | LedgerReason::Adjustment => return Vec::new(),
    };
    vec![ReportFact {
        fact_id: fact_id(entry.entry_id, metric, ""),
        metric,
        at_ms: entry.at_ms,
        zip: None,
        roles: vec![ReportRole::All],
        amount: entry.delta.abs(),
        person: None,
        partner: None,
    }]
}

/// The facts of a voucher: issued (when it was written, whatever became of
/// it since), and redeemed once the issuer took it at the counter; both for
/// its retailer or municipality. A voucher does not say where its holder
/// was, so these count nationally, for everyone.
pub(crate) fn voucher_facts(voucher: &Voucher) -> Vec<ReportFact> {
    let fact = |metric: ReportMetric, at_ms: i64| ReportFact {
        fact_id: fact_id(voucher.voucher_id, metric, ""),
        metric,
        at_ms,
        zip: None,
        roles: vec![ReportRole::All],
        amount: 1,
        person: None,
        partner: Some(voucher.issuer_id),
    };
    let mut facts = vec![fact(ReportMetric::VouchersIssued, voucher.issued_at_ms)];
    if voucher.status == VoucherStatus::Redeemed {
        let redeemed_at_ms = voucher.status_changed_at_ms.unwrap_or(voucher.issued_at_ms);
        facts.push(fact(ReportMetric::VouchersRedeemed, redeemed_at_ms));
    }
    facts
}

/// The fact of a donation once it completed: one pledge for its charity, at
/// the time it was asked (the time its statement lists). Started and refused
/// donations pledge nothing. Counted nationally, for everyone.
pub(crate) fn donation_facts(donation: &Donation) -> Vec<ReportFact> {
    if donation.status != DonationStatus::Completed {
        return Vec::new();
    }
    vec![ReportFact {
        fact_id: fact_id(donation.donation_id, ReportMetric::Pledges, ""),
        metric: ReportMetric::Pledges,
        at_ms: donation.requested_at_ms,
        zip: None,
        roles: vec![ReportRole::All],
        amount: 1,
        person: None,
        partner: Some(donation.charity_id),
    }]
}

/// The facts of an availability stretch: for each UTC hour it touches, the
/// minutes of it that fall in that hour, for everyone and for officers, in
/// the ZIP it names. Minutes are counted as whole-minute boundaries crossed,
/// so the hours of a stretch add up to its length in minutes (to within one
/// minute) and no part of it counts twice.
pub(crate) fn availability_facts(record: &AvailabilityRecord) -> Vec<ReportFact> {
    let mut facts = Vec::new();
    let mut start = record.started_at_ms;
    while start < record.ended_at_ms {
        let hour = start.div_euclid(MS_PER_HOUR);
        let end = ((hour + 1) * MS_PER_HOUR).min(record.ended_at_ms);
        let minutes = end.div_euclid(MS_PER_MINUTE) - start.div_euclid(MS_PER_MINUTE);
        if minutes > 0 {
            facts.push(ReportFact {
                fact_id: fact_id(
                    record.window_id,
                    ReportMetric::AvailabilityMinutes,
                    &hour.to_string(),
                ),
                metric: ReportMetric::AvailabilityMinutes,
                at_ms: start,
                zip: record.zip.clone(),
                roles: vec![ReportRole::All, ReportRole::Officer],
                amount: minutes,
                person: None,
                partner: None,
            });
        }
        start = end;
    }
    facts
}

/// The cells of `facts`, each fact counted once however often it appears
/// (by `fact_id`), people counted once per `participants` cell. Cells with
/// nothing in them are absent.
#[cfg(test)]
pub(crate) fn fold_facts<'a>(facts: impl IntoIterator<Item = &'a ReportFact>) -> Vec<ReportCell> {
    fold_facts_into(facts, |_| true)
}

/// [`fold_facts`], only into the cells `wanted` keeps: a roll-up of one
/// grain adds nothing to (and counts no people in) the cells of the others.
pub(crate) fn fold_facts_into<'a>(
    facts: impl IntoIterator<Item = &'a ReportFact>,
    wanted: impl Fn(&CellKey) -> bool,
) -> Vec<ReportCell> {
    let mut seen = HashSet::new();
    let mut sums: BTreeMap<CellKey, i64> = BTreeMap::new();
    let mut people: BTreeMap<CellKey, BTreeSet<AccountId>> = BTreeMap::new();
    for fact in facts {
        if !seen.insert(fact.fact_id) {
            continue;
        }
        for key in fact.cell_keys().into_iter().filter(|key| wanted(key)) {
            match (fact.metric.is_distinct(), fact.person) {
                (true, Some(person)) => {
                    people.entry(key).or_default().insert(person);
                }
                (true, None) => {}
                (false, _) => *sums.entry(key).or_default() += fact.amount,
            }
        }
    }
    let counted = people.into_iter().map(|(key, persons)| {
        let value = i64::try_from(persons.len()).unwrap_or(i64::MAX);
        (key, value)
    });
    let mut cells: Vec<ReportCell> = sums
        .into_iter()
        .chain(counted)
        .filter(|(_, value)| *value != 0)
        .map(|(key, value)| ReportCell { key, value })
        .collect();
    cells.sort_by(|left, right| left.key.cmp(&right.key));
    cells
}
