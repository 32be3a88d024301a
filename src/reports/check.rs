//! Test support: the aggregates a store keeps must equal the fold of the
//! facts of every record it holds, recomputed by brute force.

use std::collections::BTreeMap;

use super::rebuild::FactPages;
use crate::store::Store;
use crate::store::report_facts::fold_facts;
use crate::store::report_records::{AreaLevel, CellKey, ReportFact, ReportMetric};

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

/// The cells `store` keeps on days `from_day..=to_day`, every metric and level.
pub(crate) async fn stored_cells(
    store: &dyn Store,
    from_day: i64,
    to_day: i64,
) -> BTreeMap<CellKey, i64> {
    let mut cells = BTreeMap::new();
    for metric in ReportMetric::ALL {
        for level in AreaLevel::ALL {
            for cell in store
                .report_cells(metric, level, from_day, to_day)
                .await
                .expect("report cells")
            {
                assert!(
                    cells.insert(cell.key.clone(), cell.value).is_none(),
                    "cell {:?} read twice",
                    cell.key
                );
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
}
