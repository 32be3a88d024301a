//! Test support: the aggregates a store keeps must equal the fold of the
//! facts of every record it holds, recomputed by brute force, at every grain
//! (hour, day, month), area level and role: a level that disagrees with the
//! records fails the comparison.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Datelike;

use super::rebuild::FactPages;
use crate::store::Store;
use crate::store::report_area::ReportArea;
use crate::store::report_facts::fold_facts;
use crate::store::report_records::{
    AreaLevel, CellKey, CellSelection, Grain, ReportFact, ReportMetric, ReportRole, date_of_day,
    month_start, report_zip,
};

/// Every fact of every record of `store`, read by scanning (small pages,
/// so paging is exercised too).
pub(crate) async fn facts_of_records(store: &dyn Store) -> Vec<ReportFact> {
    let mut facts = Vec::new();
    let mut pages = FactPages::new(7);
    while let Some(page) = pages.next(store).await.expect("scan") {
        facts.extend(page.facts);
    }
    facts
}

/// The cells `store` keeps on days `from_day..=to_day` (and the month cells
/// of the months they fall in), every metric, grain, level and role.
pub(crate) async fn stored_cells(
    store: &dyn Store,
    from_day: i64,
    to_day: i64,
) -> BTreeMap<CellKey, i64> {
    let mut cells = BTreeMap::new();
    for metric in ReportMetric::ALL {
        for grain in Grain::ALL {
            for level in AreaLevel::ALL {
                for role in ReportRole::ALL {
                    let first_day = match grain {
                        Grain::Hour | Grain::Day => from_day,
                        Grain::Month => month_start(from_day),
                    };
                    let selection = CellSelection {
                        metric,
                        grain,
                        level,
                        role,
                        from_day: first_day,
                        to_day,
                    };
                    for cell in store.report_cells(selection).await.expect("report cells") {
                        assert!(
                            selection.contains(&cell.key),
                            "cell {:?} read for {selection:?}",
                            cell.key
                        );
                        assert!(
                            cells.insert(cell.key.clone(), cell.value).is_none(),
                            "cell {:?} read twice",
                            cell.key
                        );
                    }
                }
            }
        }
    }
    cells
}

/// Asserts that the aggregates of `store` around `around_day` (and on every
/// day a record falls on) equal a recomputation from its records.
pub(crate) async fn assert_reports_match_records(store: &dyn Store, around_day: i64) {
    let facts = facts_of_records(store).await;
    let expected: BTreeMap<CellKey, i64> = fold_facts(&facts)
        .into_iter()
        .map(|cell| (cell.key, cell.value))
        .collect();
    let days = facts.iter().map(ReportFact::day);
    let from_day = days.clone().min().unwrap_or(around_day).min(around_day) - 1;
    let to_day = days.max().unwrap_or(around_day).max(around_day) + 1;
    let stored = stored_cells(store, from_day, to_day).await;
    assert_eq!(
        stored, expected,
        "report aggregates differ from a recomputation from the records"
    );
    assert_coarse_cells_match(&facts, &stored);
}

/// Where a coarse cell is, computed without `CellKey`s: metric, level, role,
/// area, partner, and the period as (year, month, day of month or 0).
type PeriodKey = (
    ReportMetric,
    AreaLevel,
    ReportRole,
    ReportArea,
    Option<uuid::Uuid>,
    (i32, u32, u32),
);

/// Recomputes every day and month cell straight from the facts (dates from
/// the calendar, distinct people as sets) and compares them with the
/// stored ones, so a grain that sums or counts wrongly fails even where
/// `fold_facts` and the store would agree.
pub(crate) fn assert_coarse_cells_match(facts: &[ReportFact], stored: &BTreeMap<CellKey, i64>) {
    let mut seen = BTreeSet::new();
    let mut sums: BTreeMap<PeriodKey, i64> = BTreeMap::new();
    let mut people: BTreeMap<PeriodKey, BTreeSet<uuid::Uuid>> = BTreeMap::new();
    for fact in facts {
        if !seen.insert(fact.fact_id) {
            continue;
        }
        let date = date_of_day(fact.day()).expect("a date");
        let periods = [
            (date.year(), date.month(), date.day()),
            (date.year(), date.month(), 0),
        ];
        for level in AreaLevel::ALL {
            let Some(area) = level.area_of(report_zip(fact.zip.as_deref())) else {
                continue;
            };
            for role in &fact.roles {
                for period in periods {
                    let key = (fact.metric, level, *role, area, fact.partner, period);
                    match (fact.metric.is_distinct(), fact.person) {
                        (true, Some(person)) => {
                            people.entry(key).or_default().insert(person.0);
                        }
                        (true, None) => {}
                        (false, _) => *sums.entry(key).or_default() += fact.amount,
                    }
                }
            }
        }
    }
    let mut expected: BTreeMap<PeriodKey, i64> = sums;
    expected.extend(
        people
            .into_iter()
            .map(|(key, persons)| (key, persons.len() as i64)),
    );
    expected.retain(|_, value| *value != 0);
    let found: BTreeMap<PeriodKey, i64> = stored
        .iter()
        .filter(|(key, _)| key.grain != Grain::Hour)
        .map(|(key, value)| {
            let date = date_of_day(key.day).expect("a date");
            let day_of_month = match key.grain {
                Grain::Month => {
                    assert_eq!(date.day(), 1, "month cell {key:?} not on the 1st");
                    0
                }
                Grain::Day | Grain::Hour => date.day(),
            };
            assert_eq!(key.hour, 0, "day or month cell {key:?} with an hour");
            let period = (date.year(), date.month(), day_of_month);
            let at = (
                key.metric,
                key.level,
                key.role,
                key.area,
                key.partner,
                period,
            );
            (at, *value)
        })
        .collect();
    assert_eq!(
        found, expected,
        "day and month cells differ from sums and distinct counts of the facts"
    );
}
