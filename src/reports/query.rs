//! A report: the cells of one metric over a span of UTC days, grouped by
//! period (day, ISO week, month, hour of day) and area (ZIP, 3-digit ZIP,
//! region from `[[regions]]`, or the nation), for everyone or one role, with
//! a total, the top areas and the total of the span before, all passed
//! through disclosure control. Read from the stored aggregates only, at the
//! coarsest grain that answers exactly: hourly cells for `hour_of_day`, daily
//! cells for days and weeks, monthly cells for the whole months of a report
//! by month (daily cells for the days before the first and after the last
//! whole month).

use std::sync::Arc;

use chrono::Datelike;
use futures::future::try_join_all;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::disclosure::{KeyedCell, is_small, withheld};
use super::rebuild_command::day_text;
use crate::config::RegionConfig;
use crate::store::report_records::{
    AreaLevel, CellSelection, Grain, ReportCell, ReportMetric, ReportRole, date_of_day,
    month_start, next_month_start,
};
use crate::store::{Store, StoreResult};

/// The longest span a report may cover, in days.
pub(crate) const MAX_SPAN_DAYS: i64 = 400;
/// The area of cells outside every region.
const NO_REGION: &str = "unassigned";

/// How rows are grouped in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum GroupBy {
    /// UTC days, `YYYY-MM-DD`.
    Day,
    /// ISO weeks, named by their Monday.
    Week,
    /// Months, `YYYY-MM`.
    Month,
    /// UTC hours of day over the whole span, `00`..`23`.
    HourOfDay,
}

/// How rows are grouped in space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AreaBy {
    /// 5-digit ZIPs (never finer).
    Zip,
    /// 3-digit ZIP prefixes.
    Zip3,
    /// The configured regions.
    Region,
    /// The nation as one area (`""`), including events without a ZIP.
    Nation,
}

/// What a report asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReportRequest {
    /// What is counted.
    pub(crate) metric: ReportMetric,
    /// First UTC day.
    pub(crate) from_day: i64,
    /// Last UTC day (inclusive).
    pub(crate) to_day: i64,
    /// Periods.
    pub(crate) group_by: GroupBy,
    /// Areas.
    pub(crate) area_by: AreaBy,
    /// Whom.
    pub(crate) role: ReportRole,
    /// How many top areas to list.
    pub(crate) top: usize,
}

/// A published number: the value, or `null` and a flag when withheld.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Published {
    /// The value, absent when suppressed.
    pub(crate) value: Option<i64>,
    /// Whether it was withheld by disclosure control.
    pub(crate) suppressed: bool,
}

impl Published {
    fn of(value: i64, suppressed: bool) -> Self {
        Self {
            value: (!suppressed).then_some(value),
            suppressed,
        }
    }
}

/// One row of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ReportRow {
    /// The period's name (shared by the rows of the period).
    pub(crate) period: Arc<str>,
    /// The area's name (shared by the rows of the area).
    pub(crate) area: Arc<str>,
    /// The partner's id (a retailer or municipality for vouchers, a charity
    /// for pledges); absent for metrics not kept per partner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) partner: Option<String>,
    /// Its number.
    #[serde(flatten)]
    pub(crate) count: Published,
}

/// One of the top areas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct TopArea {
    /// The area.
    pub(crate) area: String,
    /// Its total over the span (always at or above the threshold).
    pub(crate) value: i64,
}

/// A published report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Report {
    /// What is counted.
    pub(crate) metric: ReportMetric,
    /// First UTC day.
    pub(crate) from: String,
    /// Last UTC day.
    pub(crate) to: String,
    /// Periods.
    pub(crate) group_by: GroupBy,
    /// Areas.
    pub(crate) area: AreaBy,
    /// Whom.
    pub(crate) role: ReportRole,
    /// Counts below it are withheld.
    pub(crate) threshold: u32,
    /// The rows, by period then area.
    pub(crate) rows: Vec<ReportRow>,
    /// The total over the span.
    pub(crate) total: Published,
    /// The areas with the largest totals, largest first (only areas at or
    /// above the threshold).
    pub(crate) top_areas: Vec<TopArea>,
    /// The total of the span of equal length just before.
    pub(crate) previous_total: Published,
    /// The change from the previous total, in percent, when both are
    /// published and the previous one is not zero.
    pub(crate) change_percent: Option<f64>,
}

/// The stored level a grouping reads.
fn level_of(area_by: AreaBy) -> AreaLevel {
    match area_by {
        AreaBy::Zip | AreaBy::Region => AreaLevel::Zip,
        AreaBy::Zip3 => AreaLevel::Zip3,
        AreaBy::Nation => AreaLevel::Nation,
    }
}

/// The region of a ZIP: the longest matching prefix wins.
fn region_of(zip: &str, regions: &[RegionConfig]) -> String {
    regions
        .iter()
        .flat_map(|region| {
            region
                .zip_prefixes
                .iter()
                .filter(|prefix| zip.starts_with(prefix.as_str()))
                .map(move |prefix| (prefix.len(), region.name.as_str()))
        })
        .max_by_key(|(length, _)| *length)
        .map_or_else(|| NO_REGION.to_owned(), |(_, name)| name.to_owned())
}

/// The stretches of stored cells that cover `from_day..=to_day` exactly for
/// `group_by`: (grain, first day, last day a cell's period starts on).
pub(super) fn cover(group_by: GroupBy, from_day: i64, to_day: i64) -> Vec<(Grain, i64, i64)> {
    match group_by {
        GroupBy::HourOfDay => vec![(Grain::Hour, from_day, to_day)],
        GroupBy::Day | GroupBy::Week => vec![(Grain::Day, from_day, to_day)],
        GroupBy::Month => cover_by_months(from_day, to_day),
    }
}

/// Month cells for the whole months of `from_day..=to_day`, day cells for
/// the days around them.
fn cover_by_months(from_day: i64, to_day: i64) -> Vec<(Grain, i64, i64)> {
    let first_whole = if month_start(from_day) == from_day {
        from_day
    } else {
        next_month_start(from_day)
    };
    let after_whole = if next_month_start(to_day) == to_day + 1 {
        to_day + 1
    } else {
        month_start(to_day)
    };
    if first_whole >= after_whole {
        return vec![(Grain::Day, from_day, to_day)];
    }
    let mut pieces = Vec::with_capacity(3);
    if from_day < first_whole {
        pieces.push((Grain::Day, from_day, first_whole - 1));
    }
    pieces.push((Grain::Month, first_whole, after_whole - 1));
    if after_whole <= to_day {
        pieces.push((Grain::Day, after_whole, to_day));
    }
    pieces
}

/// The most pieces a stretch of cells is read in at once.
const MAX_READ_PIECES: usize = 8;

/// `from_day..=to_day` cut into up to `pieces` consecutive stretches of
/// nearly equal length (every day in exactly one, so every period start
/// too).
pub(super) fn pieces_of(from_day: i64, to_day: i64, pieces: usize) -> Vec<(i64, i64)> {
    let days = (to_day - from_day + 1).max(1);
    let pieces = i64::try_from(pieces).unwrap_or(1).clamp(1, days);
    (0..pieces)
        .map(|piece| {
            (
                from_day + days * piece / pieces,
                from_day + days * (piece + 1) / pieces - 1,
            )
        })
        .collect()
}

/// The cells of one role at one level over the stretches of `cover`, in
/// the order of their days. Each stretch is read in as many pieces at once
/// as the machine has cores, so a report of every ZIP reads on all of them.
async fn cells_of(
    store: &dyn Store,
    metric: ReportMetric,
    level: AreaLevel,
    role: ReportRole,
    cover: &[(Grain, i64, i64)],
) -> StoreResult<Vec<ReportCell>> {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    // Asked once: on Linux the answer reads the cgroup's CPU quota files.
    let cores = *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from));
    let selections = cover.iter().flat_map(|(grain, from_day, to_day)| {
        pieces_of(*from_day, *to_day, cores.min(MAX_READ_PIECES))
            .into_iter()
            .map(move |(from_day, to_day)| CellSelection {
                metric,
                grain: *grain,
                level,
                role,
                from_day,
                to_day,
            })
    });
    let pieces = try_join_all(selections.map(|selection| store.report_cells(selection))).await?;
    Ok(pieces.into_iter().flatten().collect())
}

/// The name of the period a cell falls in.
fn period_of(group_by: GroupBy, day: i64, hour: u8) -> String {
    let date = date_of_day(day);
    match (group_by, date) {
        (GroupBy::HourOfDay, _) => format!("{hour:02}"),
        (GroupBy::Day, _) | (_, None) => day_text(day),
        (GroupBy::Week, Some(date)) => {
            let monday = day - i64::from(date.weekday().num_days_from_monday());
            day_text(monday)
        }
        (GroupBy::Month, Some(date)) => format!("{:04}-{:02}", date.year(), date.month()),
    }
}

/// The sum of the nation's cells of `role` over the stretches of `cover`.
async fn total_of(
    store: &dyn Store,
    metric: ReportMetric,
    role: ReportRole,
    cover: &[(Grain, i64, i64)],
) -> StoreResult<i64> {
    Ok(cells_of(store, metric, AreaLevel::Nation, role, cover)
        .await?
        .iter()
        .map(|cell| cell.value)
        .sum())
}

/// Numbers for the distinct names of one column of a table, and the names
/// in sorted order once every cell is read.
#[derive(Debug, Default)]
struct Names {
    /// The number of each name of up to [`PACKED_NAME_BYTES`] bytes (ZIPs,
    /// their prefixes, the nation's `""`, periods), by its bytes packed into
    /// an integer: looked up without reading the name's text.
    packed: FxHashMap<u64, u32>,
    /// The number of each longer name.
    numbers: FxHashMap<String, u32>,
    /// The names, by number.
    names: Vec<String>,
}

/// The longest name [`Names`] looks up by its packed bytes.
const PACKED_NAME_BYTES: usize = 7;

impl Names {
    /// The number of `name`, given when first seen.
    fn number(&mut self, name: &str) -> u32 {
        let next = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        let number = if name.len() <= PACKED_NAME_BYTES {
            // Length first, so names of different lengths never collide.
            let packed = name.bytes().fold(name.len() as u64, |packed, byte| {
                packed << 8 | u64::from(byte)
            });
            *self.packed.entry(packed).or_insert(next)
        } else if let Some(number) = self.numbers.get(name) {
            *number
        } else {
            self.numbers.insert(name.to_owned(), next);
            next
        };
        if number == next {
            self.names.push(name.to_owned());
        }
        number
    }

    /// The names sorted, and the rank of each number among them (numbers
    /// compare as their names do once replaced by their ranks).
    fn sorted(self) -> (Vec<String>, Vec<u32>) {
        let mut order: Vec<u32> = (0..self.names.len() as u32).collect();
        order.sort_unstable_by(|left, right| {
            self.names[*left as usize].cmp(&self.names[*right as usize])
        });
        let mut rank = vec![0_u32; order.len()];
        for (position, number) in order.iter().enumerate() {
            rank[*number as usize] = position as u32;
        }
        let mut names: Vec<Option<String>> = self.names.into_iter().map(Some).collect();
        let sorted = order
            .iter()
            .map(|number| names[*number as usize].take().unwrap_or_default())
            .collect();
        (sorted, rank)
    }
}

/// A report's table before it is published: the names of its periods, areas
/// and partners, sorted, and its cells by their ranks among them, by
/// period, then area, then partner.
#[derive(Debug)]
struct Table {
    /// Period names.
    periods: Vec<String>,
    /// Area names.
    areas: Vec<String>,
    /// Partner ids as text (`None`: no partner).
    partners: Vec<Option<String>>,
    /// The sums, none zero.
    cells: Vec<KeyedCell>,
}

/// Groups cells (all of the request's role) into the table of (period,
/// area, partner) sums.
fn table_of(cells: Vec<ReportCell>, request: &ReportRequest, regions: &[RegionConfig]) -> Table {
    let mut periods = Names::default();
    let mut areas = Names::default();
    // A partner's hyphenated text sorts as its bytes do, and no partner
    // (`""`) before any.
    let mut partners = Names::default();
    let mut last_period: Option<((i64, u8), u32)> = None;
    // The region of each ZIP, named once per ZIP.
    let mut zips = Names::default();
    let mut region_of_zip: Vec<u32> = Vec::new();
    let mut keyed = Vec::with_capacity(cells.len());
    for cell in cells {
        debug_assert_eq!(cell.key.role, request.role);
        let period_key = (cell.key.day, cell.key.hour);
        let period = match last_period {
            Some((key, number)) if key == period_key => number,
            _ => {
                let number =
                    periods.number(&period_of(request.group_by, cell.key.day, cell.key.hour));
                last_period = Some((period_key, number));
                number
            }
        };
        let area = match request.area_by {
            AreaBy::Region => {
                let zip = zips.number(cell.key.area.as_str()) as usize;
                if zip == region_of_zip.len() {
                    region_of_zip.push(areas.number(&region_of(cell.key.area.as_str(), regions)));
                }
                region_of_zip[zip]
            }
            AreaBy::Zip | AreaBy::Zip3 | AreaBy::Nation => areas.number(cell.key.area.as_str()),
        };
        let partner = match cell.key.partner {
            Some(partner) => partners.number(&partner.to_string()),
            None => partners.number(""),
        };
        keyed.push(KeyedCell {
            period,
            area,
            partner,
            value: cell.value,
        });
    }
    let (periods, period_rank) = periods.sorted();
    let (areas, area_rank) = areas.sorted();
    let (partners, partner_rank) = partners.sorted();
    for cell in &mut keyed {
        cell.period = period_rank[cell.period as usize];
        cell.area = area_rank[cell.area as usize];
        cell.partner = partner_rank[cell.partner as usize];
    }
    let order = |cell: &KeyedCell| (cell.period, cell.area, cell.partner);
    // Cells are read by day and area, so a table by month of month cells is
    // in order already.
    if !keyed.is_sorted_by_key(order) {
        keyed.sort_by_key(order);
    }
    let mut summed: Vec<KeyedCell> = Vec::with_capacity(keyed.len());
    for cell in keyed {
        match summed.last_mut() {
            Some(last) if order(last) == order(&cell) => last.value += cell.value,
            _ => summed.push(cell),
        }
    }
    summed.retain(|cell| cell.value != 0);
    Table {
        periods,
        areas,
        partners: partners
            .into_iter()
            .map(|partner| (!partner.is_empty()).then_some(partner))
            .collect(),
        cells: summed,
    }
}

/// The areas with the largest totals at or above the threshold.
fn top_areas(table: &Table, top: usize, threshold: u32) -> Vec<TopArea> {
    let mut totals = vec![0_i64; table.areas.len()];
    for cell in &table.cells {
        totals[cell.area as usize] += cell.value;
    }
    let mut ranked: Vec<(i64, usize)> = totals
        .into_iter()
        .enumerate()
        .filter(|(_, value)| *value >= i64::from(threshold))
        .map(|(area, value)| (value, area))
        .collect();
    // Largest first, then by name (areas are numbered in name order).
    ranked.sort_unstable_by(|left, right| right.0.cmp(&left.0).then(left.1.cmp(&right.1)));
    ranked.truncate(top);
    ranked
        .into_iter()
        .map(|(value, area)| TopArea {
            area: table.areas[area].clone(),
            value,
        })
        .collect()
}

/// The published rows of `table`, the cells of `withheld` as `null`.
fn rows_of(table: &Table, withheld: &[bool]) -> Vec<ReportRow> {
    let shared = |names: &[String]| -> Vec<Arc<str>> {
        names.iter().map(|name| Arc::from(name.as_str())).collect()
    };
    let periods = shared(&table.periods);
    let areas = shared(&table.areas);
    table
        .cells
        .iter()
        .zip(withheld)
        .map(|(cell, withheld)| ReportRow {
            period: Arc::clone(&periods[cell.period as usize]),
            area: Arc::clone(&areas[cell.area as usize]),
            partner: table.partners[cell.partner as usize].clone(),
            count: Published::of(cell.value, *withheld),
        })
        .collect()
}

/// Reads and publishes the report `request` asks for.
pub(crate) async fn report(
    store: &dyn Store,
    request: &ReportRequest,
    regions: &[RegionConfig],
    threshold: u32,
) -> StoreResult<Report> {
    let span_cover = cover(request.group_by, request.from_day, request.to_day);
    let cells = cells_of(
        store,
        request.metric,
        level_of(request.area_by),
        request.role,
        &span_cover,
    )
    .await?;
    let table = table_of(cells, request, regions);
    let top_areas = top_areas(&table, request.top, threshold);
    let withheld = withheld(&table.cells, threshold);
    let total = total_of(store, request.metric, request.role, &span_cover).await?;
    let span = request.to_day - request.from_day + 1;
    let previous_cover = cover(
        request.group_by,
        request.from_day - span,
        request.from_day - 1,
    );
    let previous = total_of(store, request.metric, request.role, &previous_cover).await?;
    let total = Published::of(total, is_small(total, threshold));
    let previous_total = Published::of(previous, is_small(previous, threshold));
    let change_percent = match (total.value, previous_total.value) {
        (Some(now), Some(before)) if before != 0 => {
            Some(((now - before) as f64 / before as f64 * 1000.0).round() / 10.0)
        }
        _ => None,
    };
    Ok(Report {
        metric: request.metric,
        from: day_text(request.from_day),
        to: day_text(request.to_day),
        group_by: request.group_by,
        area: request.area_by,
        role: request.role,
        threshold,
        rows: rows_of(&table, &withheld),
        total,
        top_areas,
        previous_total,
        change_percent,
    })
}

impl Report {
    /// The rows as CSV (RFC 4180, cells a spreadsheet would run as a formula
    /// defused), then a total line; a suppressed number is an empty cell.
    /// Metrics kept per partner have a `partner` column after `area`.
    pub(crate) fn to_csv(&self) -> String {
        let with_partner = self.metric.has_partner();
        let mut text = String::from(if with_partner {
            "period,area,partner,value,suppressed\r\n"
        } else {
            "period,area,value,suppressed\r\n"
        });
        let number = |count: &Published| {
            count
                .value
                .map(|value| value.to_string())
                .unwrap_or_default()
        };
        for row in &self.rows {
            let mut cells = vec![
                crate::import::csv_text_cell(&row.period),
                crate::import::csv_text_cell(&row.area),
            ];
            if with_partner {
                cells.push(crate::import::csv_text_cell(
                    row.partner.as_deref().unwrap_or_default(),
                ));
            }
            cells.push(number(&row.count));
            cells.push(row.count.suppressed.to_string());
            text.push_str(&cells.join(","));
            text.push_str("\r\n");
        }
        let mut total = vec!["total".to_owned(), String::new()];
        if with_partner {
            total.push(String::new());
        }
        total.push(number(&self.total));
        total.push(self.total.suppressed.to_string());
        text.push_str(&total.join(","));
        text.push_str("\r\n");
        text
    }
}
