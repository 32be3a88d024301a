//! `GET /admin`: the dashboard of the last 30 days: connections per day,
//! points earned and spent, the top 3-digit ZIP areas, a map of activity by
//! 3-digit ZIP and this node's live sessions. Every number comes from the
//! same reports as `GET /v1/admin/reports/{metric}`, under the same
//! disclosure control.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::charts::{bar_chart, earned_spent_chart, zip3_map};
use super::page::{ConsoleError, Section, frame, grouped, published, respond};
use super::session::ConsoleUser;
use crate::gateway::AppState;
use crate::gateway::report_routes::{ReportQuery, request_of};
use crate::reports::{AreaBy, GroupBy, Report, day_text, parse_day, report};
use crate::store::report_records::ReportMetric;

/// Areas the map may draw (every 3-digit prefix fits).
const MAP_AREAS: usize = 1_000;
/// Areas in the top list.
const TOP_AREAS: usize = 10;

/// The default 30-day report of `metric` at `area` level.
async fn report_of(
    state: &AppState,
    metric: ReportMetric,
    area: AreaBy,
    top: usize,
) -> Result<Report, ConsoleError> {
    let query = ReportQuery {
        group_by: Some(GroupBy::Day),
        area: Some(area),
        ..ReportQuery::default()
    };
    let mut request = request_of(state, metric, &query)?;
    request.top = top;
    Ok(report(
        state.store.as_ref(),
        &request,
        &state.config.regions,
        state.config.admin.min_report_cell_count,
    )
    .await?)
}

/// The rows of a nation-wide daily report as (day, published value), every
/// day of its span listed: a day without a row had nothing (0, which is
/// never withheld).
fn series(report: &Report) -> Vec<(String, Option<i64>)> {
    let values: std::collections::BTreeMap<&str, Option<i64>> = report
        .rows
        .iter()
        .map(|row| (&*row.period, row.count.value))
        .collect();
    let (Some(from_day), Some(to_day)) = (parse_day(&report.from), parse_day(&report.to)) else {
        return Vec::new();
    };
    (from_day..=to_day)
        .map(|day| {
            let name = day_text(day);
            let value = values.get(name.as_str()).copied().unwrap_or(Some(0));
            (name, value)
        })
        .collect()
}

/// Redeemed plus donated per day; withheld when either is.
fn spent(redeemed: &Report, donated: &Report) -> Vec<(String, Option<i64>)> {
    series(redeemed)
        .into_iter()
        .zip(series(donated))
        .map(|((day, vouchers), (_, donations))| (day, vouchers.zip(donations).map(|(a, b)| a + b)))
        .collect()
}

/// `GET /admin`.
pub(crate) async fn dashboard(
    State(state): State<AppState>,
    user: ConsoleUser,
) -> Result<Response, ConsoleError> {
    let connections = report_of(&state, ReportMetric::Connections, AreaBy::Nation, 0).await?;
    let by_zip3 = report_of(&state, ReportMetric::Connections, AreaBy::Zip3, MAP_AREAS).await?;
    let credited = report_of(&state, ReportMetric::PointsCredited, AreaBy::Nation, 0).await?;
    let redeemed = report_of(&state, ReportMetric::PointsRedeemed, AreaBy::Nation, 0).await?;
    let donated = report_of(&state, ReportMetric::PointsDonated, AreaBy::Nation, 0).await?;
    let live = state.presence.stats().await;
    let spent_total = redeemed
        .total
        .value
        .zip(donated.total.value)
        .map(|(a, b)| a + b);
    let map_areas: Vec<(String, i64)> = by_zip3
        .top_areas
        .iter()
        .map(|top| (top.area.clone(), top.value))
        .collect();
    let body = html! {
        p.note {
            "From " (connections.from) " to " (connections.to) " (UTC). Counts below "
            (connections.threshold) " are withheld."
        }
        section aria-labelledby="totals-heading" {
            h2 #totals-heading { "At a glance" }
            div.cards {
                div.card { span.label { "Connections" } span.value #total-connections { (published(connections.total.value)) } }
                div.card { span.label { "Points earned" } span.value #total-earned { (published(credited.total.value)) } }
                div.card { span.label { "Points spent" } span.value #total-spent { (published(spent_total)) } }
                div.card { span.label { "Live sessions on this node" } span.value #live-sessions { (grouped(live.sessions as i64)) } }
                div.card { span.label { "Officers available" } span.value #officers-available { (grouped(live.officers_available as i64)) } }
                div.card { span.label { "Pending requests" } span.value { (grouped(live.pending_requests as i64)) } }
            }
            @if let Some(change) = connections.change_percent {
                p.note { "Connections changed by " (format!("{change:+.1}")) " % from the 30 days before." }
            }
        }
        div.grid2 {
            section aria-labelledby="per-day-heading" {
                h2 #per-day-heading { "Connections per day" }
                (bar_chart("connections-chart", "Connections per day", &series(&connections)))
            }
            section aria-labelledby="points-heading" {
                h2 #points-heading { "Points earned and spent" }
                (earned_spent_chart(&series(&credited), &spent(&redeemed, &donated)))
            }
        }
        section aria-labelledby="map-heading" {
            h2 #map-heading { "Where connections happen" }
            (zip3_map(&map_areas))
        }
        section aria-labelledby="top-heading" {
            h2 #top-heading { "Top areas" }
            div.scroll {
                table #top-areas {
                    caption { "3-digit ZIP areas with the most connections" }
                    thead { tr { th scope="col" { "Area" } th.num scope="col" { "Connections" } } }
                    tbody {
                        @for top in by_zip3.top_areas.iter().take(TOP_AREAS) {
                            tr { th scope="row" { (top.area) "xx" } td.num { (grouped(top.value)) } }
                        }
                        @if by_zip3.top_areas.is_empty() {
                            tr { td colspan="2" { "No area has enough connections to publish yet." } }
                        }
                    }
                }
            }
        }
    };
    Ok(respond(
        StatusCode::OK,
        frame("Dashboard", Section::Dashboard, Some(&user), body),
    ))
}
