//! Recomputes report aggregates from the records: finds the days the records
//! cover, forgets the aggregates of those days from the first asked, and adds
//! the facts of every record again. Adding a fact is idempotent, so a rebuild
//! that stops half-way is finished by running it again.

use crate::store::report_facts::{connection_facts, ledger_facts};
use crate::store::report_records::ReportFact;
use crate::store::{Store, StoreResult};

/// Records read per page of a scan.
const SCAN_PAGE: usize = 1_000;

/// What a rebuild did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct RebuildSummary {
    /// The first UTC day recomputed (`None`: no records from then on).
    pub(crate) from_day: Option<i64>,
    /// The last UTC day recomputed.
    pub(crate) to_day: Option<i64>,
    /// Connection records read.
    pub(crate) connections: u64,
    /// Ledger entries read.
    pub(crate) ledger_entries: u64,
    /// Facts added.
    pub(crate) facts: u64,
}

/// Which records a scan reads now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// Connection records.
    Connections,
    /// Ledger entries.
    LedgerEntries,
    /// None left.
    Done,
}

/// The facts of one page of records.
#[derive(Debug)]
struct FactPage {
    /// The facts.
    facts: Vec<ReportFact>,
    /// Connection records read for it.
    connections: u64,
    /// Ledger entries read for it.
    ledger_entries: u64,
}

/// Every fact of every record, one page of records at a time.
#[derive(Debug)]
struct FactPages {
    /// What is read next.
    source: Source,
    /// Where the scan of `source` continues.
    cursor: Option<Vec<u8>>,
}

impl FactPages {
    fn new() -> Self {
        Self {
            source: Source::Connections,
            cursor: None,
        }
    }

    /// The next page, or `None` after the last.
    async fn next(&mut self, store: &dyn Store) -> StoreResult<Option<FactPage>> {
        let cursor = self.cursor.take();
        let (page, next_source) = match self.source {
            Source::Connections => {
                let page = store.scan_connections(cursor, SCAN_PAGE).await?;
                self.cursor = page.next;
                let fact_page = FactPage {
                    facts: page.records.iter().flat_map(connection_facts).collect(),
                    connections: page.records.len() as u64,
                    ledger_entries: 0,
                };
                (fact_page, Source::LedgerEntries)
            }
            Source::LedgerEntries => {
                let page = store.scan_ledger_entries(cursor, SCAN_PAGE).await?;
                self.cursor = page.next;
                let fact_page = FactPage {
                    facts: page.records.iter().flat_map(ledger_facts).collect(),
                    connections: 0,
                    ledger_entries: page.records.len() as u64,
                };
                (fact_page, Source::Done)
            }
            Source::Done => return Ok(None),
        };
        if self.cursor.is_none() {
            self.source = next_source;
        }
        Ok(Some(page))
    }
}

/// Recomputes the aggregates of UTC day `from_day` (the first day of any
/// record when `None`) and later from the records; `today` bounds the days
/// forgotten when no record is later.
pub(crate) async fn rebuild(
    store: &dyn Store,
    from_day: Option<i64>,
    today: i64,
) -> StoreResult<RebuildSummary> {
    let mut first = None::<i64>;
    let mut last = None::<i64>;
    let mut pages = FactPages::new();
    while let Some(page) = pages.next(store).await? {
        for fact in &page.facts {
            let day = fact.day();
            if from_day.is_some_and(|from| day < from) {
                continue;
            }
            first = Some(first.map_or(day, |first| first.min(day)));
            last = Some(last.map_or(day, |last| last.max(day)));
        }
    }
    let Some(start) = from_day.or(first) else {
        return Ok(RebuildSummary::default());
    };
    let end = last.unwrap_or(today).max(today);
    store.clear_report_cells(start, end).await?;
    let mut summary = RebuildSummary {
        from_day: Some(start),
        to_day: Some(end),
        ..RebuildSummary::default()
    };
    let mut pages = FactPages::new();
    while let Some(page) = pages.next(store).await? {
        summary.connections += page.connections;
        summary.ledger_entries += page.ledger_entries;
        let kept: Vec<ReportFact> = page
            .facts
            .into_iter()
            .filter(|fact| fact.day() >= start)
            .collect();
        summary.facts += kept.len() as u64;
        store.add_report_facts(&kept).await?;
    }
    Ok(summary)
}
