//! `GET /admin/reports` (a report as a table, chosen by a GET form that
//! changes nothing, so it carries no CSRF token) and `GET /admin/reports.csv`
//! (the same report as a CSV download): the report API's request parsing,
//! query and CSV, with its disclosure control.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::page::{ConsoleError, Section, frame, grouped, published, respond, with_headers};
use super::session::ConsoleUser;
use crate::gateway::AppState;
use crate::gateway::report_routes::{ReportQuery, csv_response, request_of};
use crate::reports::{AreaBy, GroupBy, Report, report};
use crate::store::report_records::ReportMetric;

/// Rows shown on the page; the CSV has them all.
const MAX_ROWS_SHOWN: usize = 2_000;

/// The report form as submitted (empty fields mean the defaults).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportForm {
    /// The metric's name.
    metric: Option<String>,
    /// First UTC day.
    from: Option<String>,
    /// Last UTC day.
    to: Option<String>,
    /// Periods.
    group_by: Option<String>,
    /// Areas.
    area: Option<String>,
    /// Whom.
    role: Option<String>,
}

/// A field's text, `None` when blank.
fn filled(field: &Option<String>) -> Option<String> {
    field
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

/// A form choice read as the API reads it.
fn choice<T: serde::de::DeserializeOwned>(
    field: &Option<String>,
    name: &str,
) -> Result<Option<T>, ConsoleError> {
    filled(field)
        .map(|text| {
            serde_json::from_value(serde_json::Value::String(text))
                .map_err(|_| ConsoleError::bad_request(format!("{name}: not a known choice")))
        })
        .transpose()
}

/// The metric and the API query the form names.
fn parse_form(form: &ReportForm) -> Result<(ReportMetric, ReportQuery), ConsoleError> {
    let metric = match filled(&form.metric) {
        None => ReportMetric::Connections,
        Some(name) => ReportMetric::parse(&name)
            .ok_or_else(|| ConsoleError::bad_request("metric: no such report"))?,
    };
    let query = ReportQuery {
        from: filled(&form.from),
        to: filled(&form.to),
        group_by: choice::<GroupBy>(&form.group_by, "group_by")?,
        area: choice::<AreaBy>(&form.area, "area")?,
        role: filled(&form.role),
        top: None,
    };
    Ok((metric, query))
}

/// The report the form asks for.
async fn run(state: &AppState, form: &ReportForm) -> Result<Report, ConsoleError> {
    let (metric, query) = parse_form(form)?;
    let request = request_of(state, metric, &query)?;
    Ok(report(
        state.store.as_ref(),
        &request,
        &state.config.regions,
        state.config.admin.min_report_cell_count,
    )
    .await?)
}

/// The wire name of a serde enum value.
fn wire<T: serde::Serialize>(value: T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The query string that asks for `report` again (for its CSV link); every
/// part is a validated name or day, so nothing needs escaping but `&`s,
/// which maud escapes in the attribute.
fn query_of(report: &Report) -> String {
    format!(
        "metric={}&from={}&to={}&group_by={}&area={}&role={}",
        report.metric.as_str(),
        report.from,
        report.to,
        wire(report.group_by),
        wire(report.area),
        report.role.as_str()
    )
}

/// A `select` whose option `current` is chosen.
fn select(id: &str, label: &str, options: &[&str], current: &str) -> Markup {
    html! {
        div {
            label for=(id) { (label) }
            select id=(id) name=(id) {
                @for option in options {
                    option value=(option) selected[*option == current] { (option) }
                }
            }
        }
    }
}

/// `GET /admin/reports?metric=&from=&to=&group_by=&area=&role=`.
pub(crate) async fn page(
    State(state): State<AppState>,
    user: ConsoleUser,
    query: Result<Query<ReportForm>, QueryRejection>,
) -> Result<Response, ConsoleError> {
    let Query(form) =
        query.map_err(|rejection| ConsoleError::bad_request(rejection.body_text()))?;
    let published_report = run(&state, &form).await?;
    let metrics: Vec<&str> = ReportMetric::ALL
        .iter()
        .map(|metric| metric.as_str())
        .collect();
    let shown = published_report.rows.len().min(MAX_ROWS_SHOWN);
    let body = html! {
        form.fields method="get" action="/admin/reports" {
            (select("metric", "Metric", &metrics, published_report.metric.as_str()))
            div {
                label for="from" { "From (UTC day)" }
                input #from type="date" name="from" value=(published_report.from);
            }
            div {
                label for="to" { "To (UTC day)" }
                input #to type="date" name="to" value=(published_report.to);
            }
            (select("group_by", "Group by", &["day", "week", "month", "hour_of_day"], &wire(published_report.group_by)))
            (select("area", "Area", &["zip", "zip3", "region", "nation"], &wire(published_report.area)))
            (select("role", "Role", &["all", "citizen", "officer"], published_report.role.as_str()))
            button type="submit" { "Show" }
        }
        p {
            a.button.secondary #csv-link href=(format!("/admin/reports.csv?{}", query_of(&published_report))) download {
                "Download CSV"
            }
        }
        div.cards {
            div.card { span.label { "Total" } span.value #report-total { (published(published_report.total.value)) } }
            div.card { span.label { "Previous period" } span.value { (published(published_report.previous_total.value)) } }
            div.card {
                span.label { "Change" }
                span.value { (published_report.change_percent.map_or_else(|| "–".to_owned(), |change| format!("{change:+.1} %"))) }
            }
        }
        p.note { "Counts below " (published_report.threshold) " are withheld, and so are the cells that would let them be worked out from the totals." }
        div.scroll {
            table #report-rows {
                caption { (published_report.metric.as_str()) ", " (published_report.from) " to " (published_report.to) }
                thead { tr {
                    th scope="col" { "Period" } th scope="col" { "Area" }
                    @if published_report.metric.has_partner() { th scope="col" { "Partner" } }
                    th.num scope="col" { "Value" }
                } }
                tbody {
                    @for row in published_report.rows.iter().take(MAX_ROWS_SHOWN) {
                        tr {
                            td { (row.period) }
                            td { (row.area) }
                            @if let Some(partner) = &row.partner { td { (partner) } }
                            @if row.count.suppressed {
                                td.num.withheld { "withheld" }
                            } @else {
                                td.num { (published(row.count.value)) }
                            }
                        }
                    }
                    @if published_report.rows.is_empty() {
                        tr { td colspan="4" { "Nothing recorded in this period." } }
                    }
                }
            }
        }
        @if shown < published_report.rows.len() {
            p.note { "The first " (grouped(shown as i64)) " of " (grouped(published_report.rows.len() as i64)) " rows; the CSV has them all." }
        }
        @if !published_report.top_areas.is_empty() {
            h2 { "Top areas" }
            div.scroll {
                table {
                    thead { tr { th scope="col" { "Area" } th.num scope="col" { "Total" } } }
                    tbody {
                        @for top in &published_report.top_areas {
                            tr { td { (top.area) } td.num { (grouped(top.value)) } }
                        }
                    }
                }
            }
        }
    };
    Ok(respond(
        StatusCode::OK,
        frame("Reports", Section::Reports, Some(&user), body),
    ))
}

/// `GET /admin/reports.csv?...`: the report as the API's CSV.
pub(crate) async fn csv(
    State(state): State<AppState>,
    _user: ConsoleUser,
    query: Result<Query<ReportForm>, QueryRejection>,
) -> Result<Response, ConsoleError> {
    let Query(form) =
        query.map_err(|rejection| ConsoleError::bad_request(rejection.body_text()))?;
    let published_report = run(&state, &form).await?;
    Ok(with_headers(csv_response(&published_report)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_fields_mean_the_defaults_and_unknown_choices_are_refused() {
        let (metric, query) = parse_form(&ReportForm {
            from: Some(" ".to_owned()),
            area: Some("zip".to_owned()),
            ..ReportForm::default()
        })
        .unwrap();
        assert_eq!(metric, ReportMetric::Connections);
        assert_eq!(query.from, None);
        assert_eq!(query.area, Some(AreaBy::Zip));
        assert!(
            parse_form(&ReportForm {
                group_by: Some("year".to_owned()),
                ..ReportForm::default()
            })
            .is_err()
        );
        assert!(
            parse_form(&ReportForm {
                metric: Some("phones".to_owned()),
                ..ReportForm::default()
            })
            .is_err()
        );
    }
}
