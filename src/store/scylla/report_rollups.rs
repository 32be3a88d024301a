//! Report cells rolled up on CQL. Facts (`reports.rs`) stay the exactly-once
//! record; each write of facts then marks its (metric, day)s dirty in
//! `report_dirty_days`. A roll-up of a metric reads its marks, folds the
//! facts of each dirty day into hour and day cells (`fold_facts`), writes
//! them to `report_rollups` (one partition per metric, grain, level, role and
//! period; one row per hour and part), recomputes the month of each such day
//! (the sum of its day cells; for `participants`, a fold of the month's
//! facts, as distinct people cannot be summed from days), and deletes the
//! marks it read as of the timestamps it read them at.
//!
//! Exact without conditional writes or counters:
//! - a mark's row is (metric, day, writer) and each writer (store instance)
//!   gives its marks increasing timestamps, taken after the facts are
//!   written; the roll-up deletes a mark `USING TIMESTAMP` the one it read,
//!   so a mark rewritten after the roll-up read the marks survives, and a
//!   mark it deletes was written after facts the roll-up then read;
//! - rows are written `USING TIMESTAMP` the time the roll-up started
//!   reading, then the partition is deleted as of one microsecond before, so
//!   of two roll-ups of one day the one that started later (and read more)
//!   wins, and rows of the older one it did not rewrite are gone.
//!
//! Reads roll up the dirty days they need first (`report_cells`), so they
//! see every write finished before them; the background pass
//! (`reports::roll_up_task`) keeps those few.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use futures::stream::{self, StreamExt, TryStreamExt};
use tokio::sync::Mutex;
use uuid::Uuid;

use super::ScyllaStore;
use super::codec::rows;
use super::report_rollup_codec::RolledCell;
use super::report_rollup_rows::PartitionKey;
use crate::store::report_area::ReportArea;
use crate::store::report_facts::fold_facts_into;
use crate::store::report_records::{
    AreaLevel, CellKey, Grain, ReportCell, ReportMetric, ReportRole, RollUpPass, month_start,
    next_month_start,
};
use crate::store::{StoreError, StoreResult};

/// Marks read at once; a roll-up that reads this many reads again after.
const MARKS_PER_READ: i32 = 10_000;
/// Days (or partitions) read or written at once by a roll-up or a read.
const CONCURRENT_PARTITIONS: usize = 16;

/// What started a roll-up (a metric label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RollUpTrigger {
    /// A report read needed the days.
    Read,
    /// The periodic pass.
    Background,
}

impl RollUpTrigger {
    /// The metric label.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RollUpTrigger::Read => "read",
            RollUpTrigger::Background => "background",
        }
    }
}

/// A store instance's roll-up state.
#[derive(Debug)]
pub(super) struct RollupState {
    /// Names this store instance in the marks it writes.
    writer: Uuid,
    /// The last timestamp (µs) this instance gave a mark or a roll-up; each
    /// next one is larger, even if the clock steps back.
    last_micros: AtomicI64,
    /// One per metric: roll-ups of a metric run one at a time on a node, so
    /// a read waits for a pass under way rather than repeating its work.
    locks: [Mutex<()>; ReportMetric::ALL.len()],
    /// Fact rows read so far (by roll-ups: reads of cells read none).
    fact_rows_read: AtomicU64,
}

impl RollupState {
    /// A new writer.
    pub(super) fn new() -> Self {
        Self {
            writer: Uuid::new_v4(),
            last_micros: AtomicI64::new(0),
            locks: std::array::from_fn(|_| Mutex::new(())),
            fact_rows_read: AtomicU64::new(0),
        }
    }

    /// A timestamp larger than every one this instance gave before.
    fn next_micros(&self) -> i64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| {
                i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX)
            });
        let mut last = self.last_micros.load(Ordering::Acquire);
        loop {
            let next = now.max(last.saturating_add(1));
            match self.last_micros.compare_exchange_weak(
                last,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return next,
                Err(seen) => last = seen,
            }
        }
    }

    /// The lock of `metric`'s roll-ups.
    fn lock_of(&self, metric: ReportMetric) -> &Mutex<()> {
        let index = ReportMetric::ALL
            .iter()
            .position(|candidate| *candidate == metric)
            .unwrap_or(0);
        &self.locks[index]
    }

    /// Counts fact rows read.
    pub(super) fn count_fact_rows(&self, rows_read: usize) {
        self.fact_rows_read.fetch_add(
            u64::try_from(rows_read).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
}

/// A dirty mark as read: its day, its writer, and the timestamp it was last
/// written at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DirtyMark {
    /// The day whose facts changed.
    pub(super) day: i64,
    /// The store instance that wrote them.
    pub(super) writer: Uuid,
    /// When the mark was last written (µs, its CQL timestamp).
    pub(super) written_micros: i64,
}

/// Cells folded for some periods of one metric, ready to write.
#[derive(Debug)]
pub(super) struct PeriodFold {
    /// What they count.
    pub(super) metric: ReportMetric,
    /// The (grain, first day) of every period written: these partitions are
    /// replaced whole.
    pub(super) periods: Vec<(Grain, i64)>,
    /// When the fold started reading (µs): the timestamp of its rows.
    pub(super) started_micros: i64,
    /// The cells (those of other periods are ignored).
    pub(super) cells: Vec<ReportCell>,
    /// Fact rows the fold read.
    fact_rows: u64,
}

impl ScyllaStore {
    /// Marks each (metric, day) dirty for this writer; called after the
    /// facts of those days are written.
    pub(super) async fn mark_days_dirty(
        &self,
        days: &BTreeSet<(ReportMetric, i64)>,
    ) -> StoreResult<()> {
        let marked_at_ms = crate::clock::Clock::system().now_ms();
        stream::iter(days.iter().copied())
            .map(|(metric, day)| async move {
                let micros = self.rollups.next_micros();
                self.execute(
                    |connected| &connected.statements.report_rollups.upsert_mark,
                    (
                        metric.as_str(),
                        day,
                        self.rollups.writer,
                        marked_at_ms,
                        micros,
                    ),
                )
                .await
                .map(|_| ())
            })
            .buffer_unordered(CONCURRENT_PARTITIONS)
            .try_collect::<Vec<()>>()
            .await
            .map(|_| ())
    }

    /// Up to [`MARKS_PER_READ`] marks of `metric` on days
    /// `first_day..=last_day`.
    pub(super) async fn dirty_marks(
        &self,
        metric: ReportMetric,
        first_day: i64,
        last_day: i64,
    ) -> StoreResult<Vec<DirtyMark>> {
        let result = self
            .execute(
                |connected| &connected.statements.report_rollups.select_marks,
                (metric.as_str(), first_day, last_day, MARKS_PER_READ),
            )
            .await?;
        Ok(
            rows::<(i64, Uuid, Option<i64>)>(result, "report dirty day")?
                .into_iter()
                .map(|(day, writer, written_micros)| DirtyMark {
                    day,
                    writer,
                    written_micros: written_micros.unwrap_or(i64::MIN),
                })
                .collect(),
        )
    }

    /// Rolls up every dirty day of `metric` on days `first_day..=last_day`
    /// (until no mark is left that was there when it started).
    pub(super) async fn roll_up_range(
        &self,
        metric: ReportMetric,
        first_day: i64,
        last_day: i64,
        trigger: RollUpTrigger,
    ) -> StoreResult<RollUpPass> {
        let _one_at_a_time = self.rollups.lock_of(metric).lock().await;
        let started = tokio::time::Instant::now();
        let mut pass = RollUpPass::default();
        loop {
            let marks = self.dirty_marks(metric, first_day, last_day).await?;
            if marks.is_empty() {
                break;
            }
            let full = marks.len() >= usize::try_from(MARKS_PER_READ).unwrap_or(usize::MAX);
            pass.add(self.roll_up_marked(metric, &marks).await?);
            if !full {
                break;
            }
        }
        if pass.days > 0 {
            crate::metrics::report_rollup(trigger, pass.days, started.elapsed());
        }
        Ok(pass)
    }

    /// Rolls up the days `marks` name and their months, then deletes those
    /// marks (each as of the timestamp it was read at).
    pub(super) async fn roll_up_marked(
        &self,
        metric: ReportMetric,
        marks: &[DirtyMark],
    ) -> StoreResult<RollUpPass> {
        let days: BTreeSet<i64> = marks.iter().map(|mark| mark.day).collect();
        let day_rows: Vec<u64> = stream::iter(days.iter().copied())
            .map(|day| async move {
                let fold = self.fold_day(metric, day).await?;
                self.write_fold(&fold).await?;
                Ok::<_, StoreError>(fold.fact_rows)
            })
            .buffer_unordered(CONCURRENT_PARTITIONS)
            .try_collect()
            .await?;
        let months: BTreeSet<i64> = days.iter().map(|day| month_start(*day)).collect();
        let mut month_rows = 0;
        for month in &months {
            let fold = self.fold_month(metric, *month).await?;
            self.write_fold(&fold).await?;
            month_rows += fold.fact_rows;
        }
        stream::iter(marks.iter().copied())
            .map(|mark| {
                self.execute(
                    |connected| &connected.statements.report_rollups.delete_mark,
                    (mark.written_micros, metric.as_str(), mark.day, mark.writer),
                )
            })
            .buffer_unordered(CONCURRENT_PARTITIONS)
            .try_collect::<Vec<_>>()
            .await?;
        Ok(RollUpPass {
            days: u64::try_from(days.len()).unwrap_or(u64::MAX),
            months: u64::try_from(months.len()).unwrap_or(u64::MAX),
            fact_rows_read: day_rows.iter().sum::<u64>() + month_rows,
        })
    }

    /// The hour and day cells of `metric` on `day`, from its facts.
    pub(super) async fn fold_day(&self, metric: ReportMetric, day: i64) -> StoreResult<PeriodFold> {
        let started_micros = self.rollups.next_micros();
        let facts = self.facts_of_day(metric, day).await?;
        Ok(PeriodFold {
            metric,
            periods: vec![(Grain::Hour, day), (Grain::Day, day)],
            started_micros,
            cells: fold_facts_into(&facts, |key| key.grain != Grain::Month),
            fact_rows: u64::try_from(facts.len()).unwrap_or(u64::MAX),
        })
    }

    /// The month cells of `metric` for the month starting on `month`: the
    /// sum of its day cells, or for a distinct count a fold of its facts.
    async fn fold_month(&self, metric: ReportMetric, month: i64) -> StoreResult<PeriodFold> {
        let started_micros = self.rollups.next_micros();
        let days = month..next_month_start(month);
        let (cells, fact_rows) = if metric.is_distinct() {
            let facts: Vec<Vec<_>> = stream::iter(days)
                .map(|day| self.facts_of_day(metric, day))
                .buffer_unordered(CONCURRENT_PARTITIONS)
                .try_collect()
                .await?;
            let rows_read = facts.iter().map(Vec::len).sum::<usize>();
            (
                fold_facts_into(facts.iter().flatten(), |key| key.grain == Grain::Month),
                u64::try_from(rows_read).unwrap_or(u64::MAX),
            )
        } else {
            (self.sum_day_cells(metric, month, days).await?, 0)
        };
        Ok(PeriodFold {
            metric,
            periods: vec![(Grain::Month, month)],
            started_micros,
            cells,
            fact_rows,
        })
    }

    /// Month cells of an additive metric: its day cells over `days`, summed
    /// per level, role, area and partner.
    async fn sum_day_cells(
        &self,
        metric: ReportMetric,
        month: i64,
        days: std::ops::Range<i64>,
    ) -> StoreResult<Vec<ReportCell>> {
        let partitions: Vec<PartitionKey> = days
            .flat_map(|day| {
                AreaLevel::ALL.into_iter().flat_map(move |level| {
                    ReportRole::ALL
                        .into_iter()
                        .map(move |role| (metric, Grain::Day, level, role, day))
                })
            })
            .collect();
        let read: Vec<(PartitionKey, Vec<(u8, RolledCell)>)> = stream::iter(partitions)
            .map(|key| async move { Ok::<_, StoreError>((key, self.read_partition(key).await?)) })
            .buffer_unordered(CONCURRENT_PARTITIONS)
            .try_collect()
            .await?;
        let mut sums: BTreeMap<(AreaLevel, ReportRole, ReportArea, Option<Uuid>), i64> =
            BTreeMap::new();
        for ((_, _, level, role, _), cells) in read {
            for (_, cell) in cells {
                let sum = sums
                    .entry((level, role, cell.area, cell.partner))
                    .or_default();
                *sum = sum.saturating_add(cell.value);
            }
        }
        Ok(sums
            .into_iter()
            .filter(|(_, value)| *value != 0)
            .map(|((level, role, area, partner), value)| ReportCell {
                key: CellKey {
                    metric,
                    grain: Grain::Month,
                    level,
                    day: month,
                    hour: 0,
                    area,
                    role,
                    partner,
                },
                value,
            })
            .collect())
    }

    /// Rolls up every dirty day of every metric (the background pass). A
    /// metric that fails does not hold the others back: the first error is
    /// returned once every metric was tried.
    pub(super) async fn roll_up_every_metric(&self) -> StoreResult<RollUpPass> {
        let mut pass = RollUpPass::default();
        let mut first_error = None;
        for metric in ReportMetric::ALL {
            match self
                .roll_up_range(metric, i64::MIN, i64::MAX, RollUpTrigger::Background)
                .await
            {
                Ok(done) => pass.add(done),
                Err(error) => {
                    tracing::warn!(metric = metric.as_str(), %error, "report roll-up of a metric failed");
                    first_error.get_or_insert(error);
                }
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(pass),
        }
    }

    /// Fact rows this store read so far (roll-ups only).
    #[cfg(test)]
    pub(super) fn report_fact_rows_read(&self) -> u64 {
        self.rollups.fact_rows_read.load(Ordering::Relaxed)
    }
}
