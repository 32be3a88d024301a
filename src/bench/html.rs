//! `report.html`: one self-contained page (no scripts, no external files) with
//! hand-written SVG charts — latency percentiles, sessions and throughput over
//! time (accepted requests for the handshake scenario), server memory over time —
//! and the summary table.

use std::fmt::Write as _;

use super::report::{Report, RunResult};
use super::stats::HistogramData;

/// Chart size, pixels.
const WIDTH: f64 = 640.0;
/// Chart size, pixels.
const HEIGHT: f64 = 260.0;
/// Space for axis labels.
const MARGIN: f64 = 48.0;
/// Line colours per series.
const COLOURS: [&str; 4] = ["#1f5fbf", "#d2691e", "#2e8b57", "#8b008b"];

/// The whole page.
pub(crate) fn render(report: &Report) -> String {
    let mut page = String::new();
    page.push_str(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>heyblue bench</title>",
    );
    page.push_str("<style>body{font-family:sans-serif;max-width:760px;margin:2em auto}pre{background:#f4f4f4;padding:1em;overflow-x:auto}svg{background:#fff;border:1px solid #ddd}</style></head><body>");
    push(
        &mut page,
        format!("<h1>heyblue bench: {}</h1>", escape(report.scenario())),
    );
    push(&mut page, format!("<pre>{}</pre>", escape(&report.table())));
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
            "<h2>Latency distribution (officer move → citizen push; echo round trip; redis GEOSEARCH round trip)</h2>"
        });
        page.push_str(&chart(
            &latency_series,
            "percentile (log scale: 90, 99, 99.9 …)",
            "ms",
        ));
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
    page.push_str(&chart(&sessions, "seconds", "sessions"));
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
    page.push_str(&chart(&throughput, "seconds", "per second"));
    let memory: Vec<(String, Vec<(f64, f64)>)> = report
        .runs()
        .iter()
        .map(|run| {
            let points = run
                .timeline
                .iter()
                .filter_map(|sample| {
                    sample
                        .server_rss_bytes
                        .map(|bytes| (sample.t_s, bytes as f64 / 1_048_576.0))
                })
                .collect();
            (format!("{} server RSS", run.label), points)
        })
        .collect();
    page.push_str("<h2>Server memory</h2>");
    page.push_str(&chart(&memory, "seconds", "MiB"));
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

fn chart(series: &[(String, Vec<(f64, f64)>)], x_label: &str, y_label: &str) -> String {
    let points = series.iter().flat_map(|(_, points)| points.iter());
    let (mut x_max, mut y_max) = (0.0_f64, 0.0_f64);
    for &(x, y) in points {
        x_max = x_max.max(x);
        y_max = y_max.max(y);
    }
    if x_max <= 0.0 {
        x_max = 1.0;
    }
    if y_max <= 0.0 {
        y_max = 1.0;
    }
    let plot_width = WIDTH - 2.0 * MARGIN;
    let plot_height = HEIGHT - 2.0 * MARGIN;
    let to_x = |x: f64| MARGIN + x / x_max * plot_width;
    let to_y = |y: f64| HEIGHT - MARGIN - y / y_max * plot_height;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" font-size=\"11\">"
    );
    let _ = write!(
        svg,
        "<line x1=\"{MARGIN}\" y1=\"{bottom}\" x2=\"{right}\" y2=\"{bottom}\" stroke=\"#333\"/><line x1=\"{MARGIN}\" y1=\"{MARGIN}\" x2=\"{MARGIN}\" y2=\"{bottom}\" stroke=\"#333\"/>",
        bottom = HEIGHT - MARGIN,
        right = WIDTH - MARGIN
    );
    for tick in 0..=4 {
        let fraction = f64::from(tick) / 4.0;
        let _ = write!(
            svg,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"middle\">{value}</text><text x=\"{lx:.1}\" y=\"{ly:.1}\" text-anchor=\"end\">{yvalue}</text>",
            x = to_x(fraction * x_max),
            y = HEIGHT - MARGIN + 14.0,
            value = short(fraction * x_max),
            lx = MARGIN - 4.0,
            ly = to_y(fraction * y_max) + 4.0,
            yvalue = short(fraction * y_max),
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"middle\">{}</text><text x=\"12\" y=\"{ly:.1}\" transform=\"rotate(-90 12 {ly:.1})\" text-anchor=\"middle\">{}</text>",
        escape(x_label),
        escape(y_label),
        x = WIDTH / 2.0,
        y = HEIGHT - 10.0,
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
        let _ = write!(
            svg,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" fill=\"{colour}\">{}</text>",
            escape(name),
            x = MARGIN + 8.0,
            y = MARGIN + 12.0 * (position as f64 + 1.0) - 20.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

fn short(value: f64) -> String {
    if value >= 1_000_000.0 {
        format!("{:.1}M", value / 1_000_000.0)
    } else if value >= 1_000.0 {
        format!("{:.1}k", value / 1_000.0)
    } else if value >= 10.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
