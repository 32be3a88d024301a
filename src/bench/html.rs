//! `report.html`: one self-contained page (no scripts, no external files) with
//! the summary as an HTML table and hand-written SVG charts — latency
//! percentiles, sessions and throughput over time (accepted requests for the
//! handshake scenario), server memory over time. Axes carry round tick values;
//! legends sit below the plot, off the lines.

use std::fmt::Write as _;

use super::report::{Report, RunResult};
use super::resources::CHARTED;
use super::stats::HistogramData;
use super::summary::escape;

/// Chart size, pixels.
const WIDTH: f64 = 640.0;
/// Chart size, pixels.
const HEIGHT: f64 = 260.0;
/// Space for axis labels.
const MARGIN: f64 = 48.0;
/// Height of one legend line below a chart, pixels.
const LEGEND_LINE: f64 = 16.0;
/// The percentile axis: −log10(1 − q) at 90, 99, 99.9 and 99.99 %.
const PERCENTILE_TICKS: [(f64, &str); 5] = [
    (0.0, "0 %"),
    (1.0, "90 %"),
    (2.0, "99 %"),
    (3.0, "99.9 %"),
    (4.0, "99.99 %"),
];
/// Line colours per series.
const COLOURS: [&str; 4] = ["#1f5fbf", "#d2691e", "#2e8b57", "#8b008b"];

/// The whole page.
pub(crate) fn render(report: &Report) -> String {
    let mut page = String::new();
    page.push_str(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>heyblue bench</title>",
    );
    page.push_str("<style>body{font-family:sans-serif;max-width:760px;margin:2em auto}svg{background:#fff;border:1px solid #ddd}table.summary{border-collapse:collapse;font-size:14px}table.summary caption{text-align:left;font-weight:bold;padding:4px 0}table.summary th,table.summary td{padding:2px 10px;border-bottom:1px solid #eee}table.summary th{text-align:left;font-weight:normal}table.summary td{text-align:right;font-variant-numeric:tabular-nums}table.summary thead th{font-weight:bold;text-align:right}table.summary th.section{font-weight:bold;text-align:left;padding-top:10px;background:#f4f4f4}ul.notes{font-size:13px;overflow-wrap:anywhere}</style></head><body>");
    push(
        &mut page,
        format!("<h1>heyblue bench: {}</h1>", escape(report.scenario())),
    );
    page.push_str(&report.summary().to_html());
    let latency_series: Vec<(String, Vec<(f64, f64)>)> = report
        .runs()
        .iter()
        .filter_map(|run| {
            let histogram = if let Some(figures) = &run.handshake {
                &figures.histogram
            } else if let Some(figures) = &run.redeem {
                &figures.redemption_histogram
            } else if let Some(figures) = &run.redis {
                &figures.geosearch_histogram
            } else if run.counters.echoed > 0 {
                &run.echo_histogram
            } else if run.counters.truth_changes > 0 {
                &run.truth_change_histogram
            } else {
                &run.officer_move_histogram
            };
            let points = percentile_curve(histogram);
            (!points.is_empty()).then(|| (run.label.clone(), points))
        })
        .collect();
    if !latency_series.is_empty() {
        page.push_str(if report.scenario() == "handshake" {
            "<h2>Latency distribution (request_connection → both connection_established)</h2>"
        } else if report.scenario() == "redeem" {
            "<h2>Latency distribution (redemption request → answer)</h2>"
        } else {
            "<h2>Latency distribution (truth change → citizen push; echo round trip; redis GEOSEARCH round trip)</h2>"
        });
        page.push_str(&chart(&latency_series, XAxis::Percentile, "ms"));
    }
    let sessions: Vec<(String, Vec<(f64, f64)>)> = report
        .runs()
        .iter()
        .map(|run| {
            (
                format!("{} open sessions", run.label),
                series(run, |sample| sample.counters.open as f64),
            )
        })
        .collect();
    page.push_str("<h2>Sessions over time</h2>");
    page.push_str(&chart(&sessions, XAxis::Seconds, "sessions"));
    let throughput: Vec<(String, Vec<(f64, f64)>)> = report
        .runs()
        .iter()
        .map(|run| {
            (
                format!("{} updates/s", run.label),
                rate(run, |counters| counters.updates_sent),
            )
        })
        .chain(report.runs().iter().map(|run| {
            (
                format!("{} pushes/s", run.label),
                rate(run, |counters| counters.pushes + counters.echoed),
            )
        }))
        .chain(
            report
                .runs()
                .iter()
                .filter(|run| run.handshake.is_some())
                .map(|run| {
                    (
                        format!("{} accepted requests/s", run.label),
                        rate(run, |counters| counters.rounds_established),
                    )
                }),
        )
        .collect();
    page.push_str("<h2>Throughput over time</h2>");
    page.push_str(&chart(&throughput, XAxis::Seconds, "per second"));
    let memory: Vec<(String, Vec<(f64, f64)>)> = report
        .runs()
        .iter()
        .map(|run| {
            let points = sampled(run, |sample| {
                sample
                    .server_rss_bytes
                    .map(|bytes| bytes as f64 / 1_048_576.0)
            });
            (format!("{} server RSS", run.label), points)
        })
        .collect();
    page.push_str("<h2>Server memory</h2>");
    page.push_str(&chart(&memory, XAxis::Seconds, "MiB"));
    for (title, figure) in CHARTED {
        let series: Vec<(String, Vec<(f64, f64)>)> = report
            .runs()
            .iter()
            .map(|run| {
                let points = sampled(run, |sample| {
                    sample
                        .server_resources
                        .as_ref()
                        .map(|resources| figure(resources) as f64)
                });
                (format!("{} server", run.label), points)
            })
            .filter(|(_, points)| !points.is_empty())
            .collect();
        if series.is_empty() {
            continue;
        }
        push(&mut page, format!("<h2>Server {title}</h2>"));
        page.push_str(&chart(&series, XAxis::Seconds, "count"));
    }
    page.push_str("</body></html>\n");
    page
}

fn push(page: &mut String, text: String) {
    page.push_str(&text);
}

fn series(run: &RunResult, value: impl Fn(&super::fleet::Sample) -> f64) -> Vec<(f64, f64)> {
    run.timeline
        .iter()
        .map(|sample| (sample.t_s, value(sample)))
        .collect()
}

/// The timeline's samples that have `value`, against seconds.
fn sampled(
    run: &RunResult,
    value: impl Fn(&super::fleet::Sample) -> Option<f64>,
) -> Vec<(f64, f64)> {
    run.timeline
        .iter()
        .filter_map(|sample| value(sample).map(|value| (sample.t_s, value)))
        .collect()
}

fn rate(run: &RunResult, count: impl Fn(&super::stats::CounterSnapshot) -> u64) -> Vec<(f64, f64)> {
    run.timeline
        .windows(2)
        .filter(|pair| pair[1].t_s > pair[0].t_s)
        .map(|pair| {
            let delta = count(&pair[1].counters).saturating_sub(count(&pair[0].counters)) as f64;
            (pair[1].t_s, delta / (pair[1].t_s - pair[0].t_s))
        })
        .collect()
}

/// Points (x = −log10(1 − q), y = latency ms) for q from 0 to 0.9999.
fn percentile_curve(data: &HistogramData) -> Vec<(f64, f64)> {
    let histogram = data.to_histogram();
    if histogram.is_empty() {
        return Vec::new();
    }
    (0..=40)
        .map(|step| {
            let x = f64::from(step) / 10.0;
            let quantile = 1.0 - 10f64.powf(-x);
            (x, histogram.value_at_quantile(quantile) as f64 / 1000.0)
        })
        .collect()
}

/// What a chart's x axis shows.
#[derive(Debug, Clone, Copy)]
enum XAxis {
    /// Seconds since the run started, round ticks.
    Seconds,
    /// Percentiles on −log10(1 − q), ticks at 90, 99, 99.9 and 99.99 %.
    Percentile,
}

fn chart(series: &[(String, Vec<(f64, f64)>)], x_axis: XAxis, y_label: &str) -> String {
    let points = series.iter().flat_map(|(_, points)| points.iter());
    let (mut x_max, mut y_max) = (0.0_f64, 0.0_f64);
    for &(x, y) in points {
        x_max = x_max.max(x);
        y_max = y_max.max(y);
    }
    let x_ticks: Vec<(f64, String)> = match x_axis {
        XAxis::Seconds => round_ticks(x_max),
        XAxis::Percentile => PERCENTILE_TICKS
            .iter()
            .map(|&(x, label)| (x, label.to_owned()))
            .collect(),
    };
    let y_ticks = round_ticks(y_max);
    let x_end = x_ticks.last().map_or(1.0, |tick| tick.0).max(x_max);
    let y_end = y_ticks.last().map_or(1.0, |tick| tick.0).max(y_max);
    let plot_width = WIDTH - 2.0 * MARGIN;
    let plot_height = HEIGHT - 2.0 * MARGIN;
    let to_x = |x: f64| MARGIN + x / x_end * plot_width;
    let to_y = |y: f64| HEIGHT - MARGIN - y / y_end * plot_height;
    let total_height = HEIGHT + LEGEND_LINE * series.len() as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{total_height}\" font-size=\"11\">"
    );
    let _ = write!(
        svg,
        "<line x1=\"{MARGIN}\" y1=\"{bottom}\" x2=\"{right}\" y2=\"{bottom}\" stroke=\"#333\"/><line x1=\"{MARGIN}\" y1=\"{MARGIN}\" x2=\"{MARGIN}\" y2=\"{bottom}\" stroke=\"#333\"/>",
        bottom = HEIGHT - MARGIN,
        right = WIDTH - MARGIN
    );
    for (x, label) in &x_ticks {
        let _ = write!(
            svg,
            "<line x1=\"{px:.1}\" y1=\"{MARGIN}\" x2=\"{px:.1}\" y2=\"{bottom}\" stroke=\"#eee\"/><text x=\"{px:.1}\" y=\"{ty:.1}\" text-anchor=\"middle\">{}</text>",
            escape(label),
            px = to_x(*x),
            bottom = HEIGHT - MARGIN,
            ty = HEIGHT - MARGIN + 14.0,
        );
    }
    for (y, label) in &y_ticks {
        let _ = write!(
            svg,
            "<line x1=\"{MARGIN}\" y1=\"{py:.1}\" x2=\"{right}\" y2=\"{py:.1}\" stroke=\"#eee\"/><text x=\"{lx:.1}\" y=\"{ly:.1}\" text-anchor=\"end\">{}</text>",
            escape(label),
            py = to_y(*y),
            right = WIDTH - MARGIN,
            lx = MARGIN - 4.0,
            ly = to_y(*y) + 4.0,
        );
    }
    let x_label = match x_axis {
        XAxis::Seconds => "seconds",
        XAxis::Percentile => "percentile",
    };
    let _ = write!(
        svg,
        "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"middle\">{}</text><text x=\"12\" y=\"{ly:.1}\" transform=\"rotate(-90 12 {ly:.1})\" text-anchor=\"middle\">{}</text>",
        x_label,
        escape(y_label),
        x = WIDTH / 2.0,
        y = HEIGHT - MARGIN + 30.0,
        ly = HEIGHT / 2.0,
    );
    for (position, (name, points)) in series.iter().enumerate() {
        let colour = COLOURS[position % COLOURS.len()];
        let path: Vec<String> = points
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", to_x(x), to_y(y)))
            .collect();
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" points=\"{}\"/>",
            path.join(" ")
        );
        // The legend sits below the plot, one line per series.
        let legend_y = HEIGHT + LEGEND_LINE * position as f64 - 4.0;
        let _ = write!(
            svg,
            "<line x1=\"{MARGIN}\" y1=\"{ly:.1}\" x2=\"{lx2:.1}\" y2=\"{ly:.1}\" stroke=\"{colour}\" stroke-width=\"3\"/><text x=\"{tx:.1}\" y=\"{ty:.1}\">{}</text>",
            escape(name),
            ly = legend_y - 4.0,
            lx2 = MARGIN + 20.0,
            tx = MARGIN + 26.0,
            ty = legend_y,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Round tick values from 0 to at least `max`: steps of 1, 2 or 5 × 10ⁿ, about
/// five of them.
fn round_ticks(max: f64) -> Vec<(f64, String)> {
    let max = if max > 0.0 && max.is_finite() {
        max
    } else {
        1.0
    };
    let rough = max / 5.0;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|factor| factor * magnitude)
        .find(|step| *step >= rough)
        .unwrap_or(10.0 * magnitude);
    let count = (max / step).ceil() as u32;
    (0..=count)
        .map(|index| {
            let value = f64::from(index) * step;
            (value, short(value))
        })
        .collect()
}

fn short(value: f64) -> String {
    let trimmed = |number: f64, unit: &str| {
        let text = format!("{number:.2}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        format!("{text}{unit}")
    };
    if value >= 1_000_000.0 {
        trimmed(value / 1_000_000.0, "M")
    } else if value >= 1_000.0 {
        trimmed(value / 1_000.0, "k")
    } else {
        trimmed(value, "")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        let labels = |max: f64| -> Vec<String> {
            round_ticks(max)
                .into_iter()
                .map(|(_, label)| label)
                .collect()
        };
        assert_eq!(labels(23.0), ["0", "5", "10", "15", "20", "25"]);
        assert_eq!(labels(0.7), ["0", "0.2", "0.4", "0.6", "0.8"]);
        assert_eq!(labels(9_300.0), ["0", "2k", "4k", "6k", "8k", "10k"]);
        assert_eq!(labels(0.0), ["0", "0.2", "0.4", "0.6", "0.8", "1"]);
    }

    #[test]
    fn the_percentile_axis_is_labelled_in_percent() {
        let svg = chart(
            &[("heyblue".to_owned(), vec![(0.0, 1.0), (4.0, 30.0)])],
            XAxis::Percentile,
            "ms",
        );
        for label in ["90 %", "99 %", "99.9 %", "99.99 %"] {
            assert!(svg.contains(&format!(">{label}</text>")), "{label}");
        }
    }
}
