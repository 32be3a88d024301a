//! A report: the cells of one metric over a span of UTC days, grouped by
//! period (day, ISO week, month, hour of day) and area (ZIP, 3-digit ZIP,
//! region from `[[regions]]`, or the nation), for everyone or one role, with
//! a total, the top areas and the total of the span before, all passed
//! through disclosure control. Read from the stored aggregates only.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::disclosure::{TableCell, is_small, suppress};
use super::rebuild_command::day_text;
use crate::config::RegionConfig;
use crate::store::report_records::{AreaLevel, ReportCell, ReportMetric, ReportRole};
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
    /// The period's name.
    pub(crate) period: String,
    /// The area's name.
    pub(crate) area: String,
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

/// The name of the period a cell falls in.
fn period_of(group_by: GroupBy, day: i64, hour: u8) -> String {
    let date = NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|epoch| epoch.checked_add_signed(chrono::TimeDelta::try_days(day)?));
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

/// The sum of the cells of `role` over `from_day..=to_day` at the nation level.
async fn total_of(
    store: &dyn Store,
    metric: ReportMetric,
    role: ReportRole,
    from_day: i64,
    to_day: i64,
) -> StoreResult<i64> {
    Ok(store
        .report_cells(metric, AreaLevel::Nation, from_day, to_day)
        .await?
        .iter()
        .filter(|cell| cell.key.role == role)
        .map(|cell| cell.value)
        .sum())
}

/// Groups cells into the table of (period, area) sums.
fn table_of(
    cells: &[ReportCell],
    request: &ReportRequest,
    regions: &[RegionConfig],
) -> Vec<TableCell> {
    let mut sums: BTreeMap<(String, String, Option<String>), i64> = BTreeMap::new();
    for cell in cells.iter().filter(|cell| cell.key.role == request.role) {
        let area = match request.area_by {
            AreaBy::Region => region_of(&cell.key.area, regions),
            AreaBy::Zip | AreaBy::Zip3 | AreaBy::Nation => cell.key.area.clone(),
        };
        let period = period_of(request.group_by, cell.key.day, cell.key.hour);
        let partner = cell.key.partner.map(|partner| partner.to_string());
        *sums.entry((period, area, partner)).or_default() += cell.value;
    }
    sums.into_iter()
        .filter(|(_, value)| *value != 0)
        .map(|((period, area, partner), value)| TableCell {
            period,
            area,
            partner,
            value,
            suppressed: false,
        })
        .collect()
}

/// The areas with the largest totals at or above the threshold.
fn top_areas(table: &[TableCell], top: usize, threshold: u32) -> Vec<TopArea> {
    let mut totals: BTreeMap<&str, i64> = BTreeMap::new();
    for cell in table {
        *totals.entry(cell.area.as_str()).or_default() += cell.value;
    }
    let mut ranked: Vec<TopArea> = totals
        .into_iter()
        .filter(|(_, value)| *value >= i64::from(threshold))
        .map(|(area, value)| TopArea {
            area: area.to_owned(),
            value,
        })
        .collect();
    ranked.sort_by(|left, right| {
        right
            .value
            .cmp(&left.value)
            .then(left.area.cmp(&right.area))
    });
    ranked.truncate(top);
    ranked
}

/// Reads and publishes the report `request` asks for.
pub(crate) async fn report(
    store: &dyn Store,
    request: &ReportRequest,
    regions: &[RegionConfig],
    threshold: u32,
) -> StoreResult<Report> {
    let cells = store
        .report_cells(
            request.metric,
            level_of(request.area_by),
            request.from_day,
            request.to_day,
        )
        .await?;
    let mut table = table_of(&cells, request, regions);
    let top_areas = top_areas(&table, request.top, threshold);
    suppress(&mut table, threshold);
    let total = total_of(
        store,
        request.metric,
        request.role,
        request.from_day,
        request.to_day,
    )
    .await?;
    let span = request.to_day - request.from_day + 1;
    let previous = total_of(
        store,
        request.metric,
        request.role,
        request.from_day - span,
        request.from_day - 1,
    )
    .await?;
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
        rows: table
            .into_iter()
            .map(|cell| ReportRow {
                count: Published::of(cell.value, cell.suppressed),
                period: cell.period,
                area: cell.area,
                partner: cell.partner,
            })
            .collect(),
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
