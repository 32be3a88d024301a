//! Rows of `report_rollups`: the cells of a fold written as the rows of its
//! periods' partitions (at the fold's start time, then each partition
//! deleted as of just before it), a partition read back, and the cells a
//! report selection wants (after rolling up the dirty days it needs). The
//! roll-up itself is in `report_rollups`.

use std::collections::BTreeMap;

use futures::stream::{self, StreamExt, TryStreamExt};

use super::ScyllaStore;
use super::codec::{corrupt, rows};
use super::report_rollup_codec::{RolledCell, decode_part, encode_parts};
use super::report_rollups::{PeriodFold, RollUpTrigger};
use crate::store::report_records::{
    AreaLevel, CellKey, CellSelection, Grain, ReportCell, ReportMetric, ReportRole, month_start,
    next_month_start,
};
use crate::store::{StoreError, StoreResult};

/// Partitions read or written at once.
const CONCURRENT_PARTITIONS: usize = 16;

/// One partition of `report_rollups`: metric, grain, level, role, first day.
pub(super) type PartitionKey = (ReportMetric, Grain, AreaLevel, ReportRole, i64);

/// The CQL value of a one-byte tag.
fn tag_value(tag: u8) -> i8 {
    i8::try_from(tag).unwrap_or(i8::MAX)
}

impl ScyllaStore {
    /// Replaces the partitions of `fold`'s periods with its cells: every row
    /// at the fold's start time, then the partition deleted as of just
    /// before it (rows of earlier roll-ups it did not rewrite).
    pub(super) async fn write_fold(&self, fold: &PeriodFold) -> StoreResult<()> {
        let mut partitions: BTreeMap<PartitionKey, BTreeMap<u8, Vec<RolledCell>>> = BTreeMap::new();
        for (grain, day) in &fold.periods {
            for level in AreaLevel::ALL {
                for role in ReportRole::ALL {
                    partitions.insert((fold.metric, *grain, level, role, *day), BTreeMap::new());
                }
            }
        }
        for cell in &fold.cells {
            let key = &cell.key;
            let partition = (key.metric, key.grain, key.level, key.role, key.day);
            if let Some(hours) = partitions.get_mut(&partition) {
                hours.entry(key.hour).or_default().push(RolledCell {
                    area: key.area,
                    partner: key.partner,
                    value: cell.value,
                });
            }
        }
        stream::iter(partitions)
            .map(|(key, hours)| self.write_partition(key, hours, fold.started_micros))
            .buffer_unordered(CONCURRENT_PARTITIONS)
            .try_collect::<Vec<()>>()
            .await
            .map(|_| ())
    }

    /// Writes one partition's rows at `micros`, then deletes it as of
    /// `micros - 1`.
    async fn write_partition(
        &self,
        key: PartitionKey,
        hours: BTreeMap<u8, Vec<RolledCell>>,
        micros: i64,
    ) -> StoreResult<()> {
        let (metric, grain, level, role, day) = key;
        let partition = (
            metric.as_str(),
            tag_value(grain.tag()),
            tag_value(level.tag()),
            tag_value(role.tag()),
            day,
        );
        for (hour, mut cells) in hours {
            cells.sort();
            let parts = encode_parts(&cells).map_err(|error| {
                crate::metrics::report_rollup_refused();
                StoreError::Backend(error.to_string())
            })?;
            for (part, bytes) in parts.into_iter().enumerate() {
                self.execute(
                    |connected| &connected.statements.report_rollups.insert_rollup,
                    (
                        partition.0,
                        partition.1,
                        partition.2,
                        partition.3,
                        partition.4,
                        tag_value(hour),
                        i32::try_from(part).unwrap_or(i32::MAX),
                        bytes,
                        micros,
                    ),
                )
                .await?;
            }
        }
        self.execute(
            |connected| &connected.statements.report_rollups.delete_rollup_partition,
            (
                micros.saturating_sub(1),
                partition.0,
                partition.1,
                partition.2,
                partition.3,
                partition.4,
            ),
        )
        .await
        .map(|_| ())
    }

    /// The rolled-up cells of one partition, with their hours.
    pub(super) async fn read_partition(
        &self,
        key: PartitionKey,
    ) -> StoreResult<Vec<(u8, RolledCell)>> {
        let (metric, grain, level, role, day) = key;
        let result = self
            .execute(
                |connected| &connected.statements.report_rollups.select_rollups,
                (
                    metric.as_str(),
                    tag_value(grain.tag()),
                    tag_value(level.tag()),
                    tag_value(role.tag()),
                    day,
                ),
            )
            .await?;
        let mut cells = Vec::new();
        for (hour, _part, bytes) in rows::<(i8, i32, Vec<u8>)>(result, "report roll-up")? {
            let hour = u8::try_from(hour).map_err(|error| corrupt("report roll-up hour", error))?;
            let mut decoded = Vec::new();
            decode_part(&bytes, &mut decoded)
                .map_err(|error| corrupt("report roll-up cells", error))?;
            cells.extend(decoded.into_iter().map(|cell| (hour, cell)));
        }
        Ok(cells)
    }

    /// The cells `selection` wants, after rolling up the dirty days it needs.
    pub(super) async fn rolled_up_cells(
        &self,
        selection: CellSelection,
    ) -> StoreResult<Vec<ReportCell>> {
        let (first_day, last_day, periods): (i64, i64, Vec<i64>) = match selection.grain {
            Grain::Hour | Grain::Day => (
                selection.from_day,
                selection.to_day,
                (selection.from_day..=selection.to_day).collect(),
            ),
            Grain::Month => {
                let mut months = Vec::new();
                let mut month = month_start(selection.from_day);
                while month <= selection.to_day {
                    if month >= selection.from_day {
                        months.push(month);
                    }
                    month = next_month_start(month);
                }
                (
                    month_start(selection.from_day),
                    next_month_start(selection.to_day) - 1,
                    months,
                )
            }
        };
        self.roll_up_range(selection.metric, first_day, last_day, RollUpTrigger::Read)
            .await?;
        let read: Vec<(i64, Vec<(u8, RolledCell)>)> = stream::iter(periods)
            .map(|day| async move {
                let key = (
                    selection.metric,
                    selection.grain,
                    selection.level,
                    selection.role,
                    day,
                );
                Ok::<_, StoreError>((day, self.read_partition(key).await?))
            })
            .buffer_unordered(CONCURRENT_PARTITIONS)
            .try_collect()
            .await?;
        Ok(read
            .into_iter()
            .flat_map(|(day, cells)| {
                cells.into_iter().map(move |(hour, cell)| ReportCell {
                    key: CellKey {
                        metric: selection.metric,
                        grain: selection.grain,
                        level: selection.level,
                        day,
                        hour,
                        area: cell.area,
                        role: selection.role,
                        partner: cell.partner,
                    },
                    value: cell.value,
                })
            })
            .filter(|cell| selection.contains(&cell.key))
            .collect())
    }
}
