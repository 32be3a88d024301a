//! Recomputes report aggregates from the records (connections, ledger
//! entries, vouchers, donations, availability stretches): finds the days the records
//! cover, forgets the aggregates of those days from the first day of the
//! month of the first asked (month cells sum whole months), and adds
//! the facts of every record again. Adding a fact is idempotent, so a rebuild
//! that stops half-way is finished by running it again.

use crate::store::report_facts::{
    availability_facts, connection_facts, donation_facts, ledger_facts, voucher_facts,
};
use crate::store::report_records::{ReportFact, month_start};
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
    /// Vouchers read.
    pub(crate) vouchers: u64,
    /// Donations read.
    pub(crate) donations: u64,
    /// Availability stretches read.
    pub(crate) availability: u64,
    /// Facts added.
    pub(crate) facts: u64,
}

impl RebuildSummary {
    /// Counts a page of records of `source` read.
    fn count(&mut self, source: Source, records: u64) {
        match source {
            Source::Connections => self.connections += records,
            Source::LedgerEntries => self.ledger_entries += records,
            Source::Vouchers => self.vouchers += records,
            Source::Donations => self.donations += records,
            Source::Availability => self.availability += records,
        }
    }
}

/// Which records a scan reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// Connection records.
    Connections,
    /// Ledger entries.
    LedgerEntries,
    /// Vouchers.
    Vouchers,
    /// Donations.
    Donations,
    /// Officers' availability stretches.
    Availability,
}

impl Source {
    /// Every source, in the order they are read.
    const ALL: [Source; 5] = [
        Source::Connections,
        Source::LedgerEntries,
        Source::Vouchers,
        Source::Donations,
        Source::Availability,
    ];
}

/// The facts of one page of records.
#[derive(Debug)]
pub(crate) struct FactPage {
    /// The facts.
    pub(crate) facts: Vec<ReportFact>,
    /// Which records they come from.
    source: Source,
    /// How many records were read for it.
    records: u64,
}

/// Every fact of every record, one page of records at a time.
#[derive(Debug)]
pub(crate) struct FactPages {
    /// Index in [`Source::ALL`] of what is read next.
    source: usize,
    /// Where the scan of the source continues.
    cursor: Option<Vec<u8>>,
    /// Records per page.
    page_size: usize,
}

/// The facts of one page of `source`, and where its scan continues.
async fn read_page(
    store: &dyn Store,
    source: Source,
    cursor: Option<Vec<u8>>,
    limit: usize,
) -> StoreResult<(FactPage, Option<Vec<u8>>)> {
    fn page<T>(
        source: Source,
        records: &[T],
        facts_of: impl Fn(&T) -> Vec<ReportFact>,
    ) -> FactPage {
        FactPage {
            facts: records.iter().flat_map(facts_of).collect(),
            source,
            records: records.len() as u64,
        }
    }
    Ok(match source {
        Source::Connections => {
            let scanned = store.scan_connections(cursor, limit).await?;
            (
                page(source, &scanned.records, connection_facts),
                scanned.next,
            )
        }
        Source::LedgerEntries => {
            let scanned = store.scan_ledger_entries(cursor, limit).await?;
            (page(source, &scanned.records, ledger_facts), scanned.next)
        }
        Source::Vouchers => {
            let scanned = store.scan_vouchers(cursor, limit).await?;
            (page(source, &scanned.records, voucher_facts), scanned.next)
        }
        Source::Donations => {
            let scanned = store.scan_donations(cursor, limit).await?;
            (page(source, &scanned.records, donation_facts), scanned.next)
        }
        Source::Availability => {
            let scanned = store.scan_availability(cursor, limit).await?;
            (
                page(source, &scanned.records, availability_facts),
                scanned.next,
            )
        }
    })
}

impl FactPages {
    /// Pages of `page_size` records.
    pub(crate) fn new(page_size: usize) -> Self {
        Self {
            source: 0,
            cursor: None,
            page_size,
        }
    }

    /// The next page, or `None` after the last.
    pub(crate) async fn next(&mut self, store: &dyn Store) -> StoreResult<Option<FactPage>> {
        let Some(source) = Source::ALL.get(self.source).copied() else {
            return Ok(None);
        };
        let (page, next) = read_page(store, source, self.cursor.take(), self.page_size).await?;
        self.cursor = next;
        if self.cursor.is_none() {
            self.source += 1;
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
    let mut pages = FactPages::new(SCAN_PAGE);
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
    let Some(asked) = from_day.or(first) else {
        return Ok(RebuildSummary::default());
    };
    // A month cell sums its whole month: recompute it from its first day.
    let start = month_start(asked);
    let end = last.unwrap_or(today).max(today);
    store.clear_report_cells(start, end).await?;
    let mut summary = RebuildSummary {
        from_day: Some(start),
        to_day: Some(end),
        ..RebuildSummary::default()
    };
    let mut pages = FactPages::new(SCAN_PAGE);
    while let Some(page) = pages.next(store).await? {
        summary.count(page.source, page.records);
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
