//! Charts drawn on the server as inline SVG: bars of one series by period,
//! two lines (points earned and spent), and a map of 3-digit ZIP areas, dots
//! sized by count over the bundled ZIP centroids. Withheld numbers are not
//! drawn; every chart says in text what it shows, for screen readers.

use maud::{Markup, html};

use super::page::{grouped, published};
use crate::geo::zip3_positions;

/// One series: (period, published value).
type Series = [(String, Option<i64>)];

/// Drawing width of every chart (the SVG scales to its box).
const WIDTH: f64 = 640.0;
/// Height of the plot charts.
const PLOT_HEIGHT: f64 = 200.0;
/// Room for the value axis labels.
const LEFT: f64 = 52.0;
/// Room for the period labels.
const BOTTOM: f64 = 22.0;
/// Room above the tallest bar.
const TOP: f64 = 8.0;
/// The map's view of the contiguous states: west, east, south, north (degrees).
const MAP_BOX: (f64, f64, f64, f64) = (-125.0, -66.5, 24.0, 49.8);
/// Height of the map drawing.
const MAP_HEIGHT: f64 = 380.0;
/// The largest dot's radius.
const MAX_DOT: f64 = 18.0;
/// The smallest dot's radius.
const MIN_DOT: f64 = 3.0;

/// The y of `value` on a plot whose top is `max`.
fn y_of(value: i64, max: i64) -> f64 {
    let plot = PLOT_HEIGHT - TOP - BOTTOM;
    PLOT_HEIGHT - BOTTOM - plot * (value as f64 / max.max(1) as f64)
}

/// The axes, the value labels (0 and `max`) and the first and last periods.
fn axes(max: i64, first: &str, last: &str) -> Markup {
    html! {
        line.axis x1=(LEFT) y1=(PLOT_HEIGHT - BOTTOM) x2=(WIDTH) y2=(PLOT_HEIGHT - BOTTOM) {}
        line.axis x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(PLOT_HEIGHT - BOTTOM) {}
        text.tick x=(LEFT - 6.0) y=(PLOT_HEIGHT - BOTTOM) text-anchor="end" { "0" }
        text.tick x=(LEFT - 6.0) y=(TOP + 10.0) text-anchor="end" { (grouped(max)) }
        text.tick x=(LEFT) y=(PLOT_HEIGHT - 6.0) { (first) }
        text.tick x=(WIDTH) y=(PLOT_HEIGHT - 6.0) text-anchor="end" { (last) }
    }
}

/// Bars of one number per period; withheld periods are left blank.
pub(crate) fn bar_chart(id: &str, title: &str, points: &[(String, Option<i64>)]) -> Markup {
    let max = points
        .iter()
        .filter_map(|(_, value)| *value)
        .max()
        .unwrap_or(0);
    let step = (WIDTH - LEFT) / points.len().max(1) as f64;
    let withheld = points.iter().filter(|(_, value)| value.is_none()).count();
    let first = points
        .first()
        .map(|(period, _)| period.as_str())
        .unwrap_or("");
    let last = points
        .last()
        .map(|(period, _)| period.as_str())
        .unwrap_or("");
    html! {
        figure {
            svg.chart id=(id) viewBox=(format!("0 0 {WIDTH} {PLOT_HEIGHT}")) role="img"
                aria-label=(format!("{title}: bar chart, {} periods, highest {}", points.len(), grouped(max))) {
                (axes(max, first, last))
                @for (index, (period, value)) in points.iter().enumerate() {
                    @if let Some(value) = value {
                        rect.bar x=(format!("{:.1}", LEFT + index as f64 * step + step * 0.15))
                            y=(format!("{:.1}", y_of(*value, max)))
                            width=(format!("{:.1}", step * 0.7))
                            height=(format!("{:.1}", PLOT_HEIGHT - BOTTOM - y_of(*value, max))) {
                            title { (period) ": " (grouped(*value)) }
                        }
                    }
                }
            }
            figcaption {
                (title)
                @if withheld > 0 { " · " (withheld) " period(s) withheld (small counts) and not drawn" }
            }
            (data_table(title, &[("Value", points)]))
        }
    }
}

/// Points earned and spent per period, as two lines broken where a number
/// is withheld.
pub(crate) fn earned_spent_chart(
    earned: &[(String, Option<i64>)],
    spent: &[(String, Option<i64>)],
) -> Markup {
    let max = earned
        .iter()
        .chain(spent)
        .filter_map(|(_, value)| *value)
        .max()
        .unwrap_or(0);
    let count = earned.len().max(1);
    let step = (WIDTH - LEFT) / count as f64;
    let first = earned
        .first()
        .map(|(period, _)| period.as_str())
        .unwrap_or("");
    let last = earned
        .last()
        .map(|(period, _)| period.as_str())
        .unwrap_or("");
    html! {
        figure {
            svg.chart id="earned-spent-chart" viewBox=(format!("0 0 {WIDTH} {PLOT_HEIGHT}")) role="img"
                aria-label="Points earned and spent per day: line chart" {
                (axes(max, first, last))
                @for path in polylines(earned, max, step) { polyline.earned points=(path) {} }
                @for path in polylines(spent, max, step) { polyline.spent points=(path) {} }
            }
            figcaption.legend {
                span.earned { "Earned (credited for connections)" }
                span.spent { "Spent (vouchers and donations)" }
            }
            (data_table("Points earned and spent", &[("Earned", earned), ("Spent", spent)]))
        }
    }
}

/// The runs of published points of a series as SVG polyline point lists.
fn polylines(series: &[(String, Option<i64>)], max: i64, step: f64) -> Vec<String> {
    let mut runs = Vec::new();
    let mut current = String::new();
    for (index, (_, value)) in series.iter().enumerate() {
        match value {
            Some(value) => {
                let x = LEFT + index as f64 * step + step / 2.0;
                current.push_str(&format!("{x:.1},{:.1} ", y_of(*value, max)));
            }
            None => {
                if !current.is_empty() {
                    runs.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    runs
}

/// The numbers behind a chart, folded away, for those who cannot see it.
fn data_table(title: &str, columns: &[(&str, &Series)]) -> Markup {
    let periods = columns.first().map(|(_, points)| *points).unwrap_or(&[]);
    html! {
        details {
            summary { "The numbers" }
            div.scroll {
                table {
                    caption { (title) }
                    thead { tr { th scope="col" { "Period" } @for (name, _) in columns { th.num scope="col" { (name) } } } }
                    tbody {
                        @for (index, (period, _)) in periods.iter().enumerate() {
                            tr {
                                th scope="row" { (period) }
                                @for (_, points) in columns {
                                    td.num { (published(points.get(index).and_then(|(_, value)| *value))) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Where a position falls on the map, when inside its box.
fn project(lat: f64, lng: f64) -> Option<(f64, f64)> {
    let (west, east, south, north) = MAP_BOX;
    if !(west..=east).contains(&lng) || !(south..=north).contains(&lat) {
        return None;
    }
    Some((
        (lng - west) / (east - west) * WIDTH,
        (north - lat) / (north - south) * MAP_HEIGHT,
    ))
}

/// Activity by 3-digit ZIP area: `areas` holds only published (not withheld)
/// totals; every 3-digit area of the bundled centroids is drawn faintly as
/// the land, the active ones as dots whose area grows with the count.
pub(crate) fn zip3_map(areas: &[(String, i64)]) -> Markup {
    let positions = zip3_positions();
    let max = areas.iter().map(|(_, value)| *value).max().unwrap_or(0);
    let mut dots = Vec::new();
    let mut outside = 0usize;
    for (area, value) in areas {
        let position = area
            .parse::<u16>()
            .ok()
            .and_then(|prefix| {
                positions
                    .binary_search_by_key(&prefix, |(code, _, _)| *code)
                    .ok()
            })
            .and_then(|index| project(positions[index].1, positions[index].2));
        match position {
            Some((x, y)) => {
                let share = (*value as f64 / max.max(1) as f64).sqrt();
                dots.push((
                    area.as_str(),
                    *value,
                    x,
                    y,
                    MIN_DOT + (MAX_DOT - MIN_DOT) * share,
                ));
            }
            None => outside += 1,
        }
    }
    html! {
        figure {
            svg.chart id="zip3-map" viewBox=(format!("0 0 {WIDTH} {MAP_HEIGHT}")) role="img"
                aria-label=(format!("Map of connections by 3-digit ZIP: {} areas drawn", dots.len())) {
                @for (_, lat, lng) in positions {
                    @if let Some((x, y)) = project(*lat, *lng) {
                        circle.land cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="2" {}
                    }
                }
                @for (area, value, x, y, radius) in &dots {
                    circle.dot data-area=(area) cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r=(format!("{radius:.1}")) {
                        title { "ZIP " (area) "xx: " (grouped(*value)) }
                    }
                }
            }
            figcaption {
                "Connections by 3-digit ZIP over the period. Areas with withheld (small) counts are not drawn."
                @if outside > 0 { " " (outside) " area(s) outside the contiguous states are listed in the table only." }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn withheld_bars_are_not_drawn() {
        let points = vec![
            ("2026-12-01".to_owned(), Some(20)),
            ("2026-12-02".to_owned(), None),
            ("2026-12-03".to_owned(), Some(40)),
        ];
        let svg = bar_chart("test", "Connections", &points).into_string();
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("1 period(s) withheld"));
    }

    #[test]
    fn the_map_draws_only_the_areas_it_is_given_sized_by_count() {
        let svg = zip3_map(&[("100".to_owned(), 400), ("606".to_owned(), 100)]).into_string();
        assert_eq!(svg.matches("class=\"dot\"").count(), 2);
        assert!(svg.contains(&format!("r=\"{MAX_DOT:.1}\"")), "the largest");
        assert!(
            svg.contains("r=\"10.5\""),
            "half the radius span for a quarter"
        );
        assert!(svg.matches("class=\"land\"").count() > 800);
    }

    #[test]
    fn lines_break_where_a_number_is_withheld() {
        let series = vec![
            ("a".to_owned(), Some(1)),
            ("b".to_owned(), Some(2)),
            ("c".to_owned(), None),
            ("d".to_owned(), Some(3)),
        ];
        assert_eq!(polylines(&series, 3, 10.0).len(), 2);
    }
}
