//! What a long run watches on the server besides memory: open files, live
//! tokio tasks, live actors and messages waiting for their sockets, read from
//! the metrics page once a second, and whether each stayed flat. A leak shows as
//! a level that keeps rising after warm-up, so each figure is compared between
//! the first and the last sixth of the run's timeline (the first sixth is
//! warm-up), median against median, which one spike cannot move.

use serde::Serialize;

/// The gauges whose sum counts live actors: sessions, cells, ZIP shards and
/// pending connection requests (the actor kinds whose number varies).
const ACTOR_GAUGES: [&str; 4] = [
    "heyblue_sessions_active",
    "heyblue_cells_active",
    "heyblue_shards_active",
    "heyblue_connection_requests_pending",
];

/// A timeline sample as drift reads it: resident bytes and the other figures.
pub(crate) type ResourceSample = (Option<u64>, Option<ServerResources>);
/// Reads one figure off a sample.
type SampleFigure = fn(&ResourceSample) -> Option<f64>;
/// Reads one figure off the resources.
pub(crate) type ResourceFigure = fn(&ServerResources) -> u64;

/// The figures graphed besides memory, with their titles.
pub(crate) const CHARTED: [(&str, ResourceFigure); 4] = [
    ("open files", |resources| resources.open_files),
    ("tokio tasks alive", |resources| resources.tasks),
    (
        "actors (sessions, cells, shards, pending requests)",
        |resources| resources.actors,
    ),
    ("messages waiting for their sockets", |resources| {
        resources.outbound_pending
    }),
];

/// One server's (or a cluster's, summed) resource figures at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub(crate) struct ServerResources {
    /// `heyblue_process_open_files`.
    pub(crate) open_files: u64,
    /// `heyblue_runtime_tasks_alive`.
    pub(crate) tasks: u64,
    /// Sessions, cells, shards and pending requests.
    pub(crate) actors: u64,
    /// `heyblue_ws_outbound_pending_messages`.
    pub(crate) outbound_pending: u64,
}

/// How one figure moved between warm-up and the end of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Drift {
    /// Which figure.
    pub(crate) figure: &'static str,
    /// Median over the second sixth of the timeline (after warm-up).
    pub(crate) after_warm_up: f64,
    /// Median over the last sixth.
    pub(crate) at_end: f64,
}

impl ServerResources {
    /// The figures on a node's metrics page; `None` when the page lacks the
    /// process gauges (an older node).
    pub(crate) fn from_metrics_page(
        page: &str,
        sum: impl Fn(&str, &str) -> Option<u64>,
    ) -> Option<Self> {
        Some(Self {
            open_files: sum(page, "heyblue_process_open_files")?,
            tasks: sum(page, "heyblue_runtime_tasks_alive")?,
            actors: ACTOR_GAUGES
                .iter()
                .map(|name| sum(page, name).unwrap_or(0))
                .sum(),
            outbound_pending: sum(page, "heyblue_ws_outbound_pending_messages").unwrap_or(0),
        })
    }

    /// The figures of several nodes together; `None` when one is missing.
    pub(crate) fn total<'a>(readings: impl IntoIterator<Item = Option<&'a Self>>) -> Option<Self> {
        readings
            .into_iter()
            .try_fold(Self::default(), |total, reading| {
                let reading = reading?;
                Some(Self {
                    open_files: total.open_files + reading.open_files,
                    tasks: total.tasks + reading.tasks,
                    actors: total.actors + reading.actors,
                    outbound_pending: total.outbound_pending + reading.outbound_pending,
                })
            })
    }
}

/// Each figure's drift over a timeline of `(rss_bytes, resources)` samples;
/// empty when the timeline is too short to tell (under 12 samples).
pub(crate) fn drifts(samples: &[ResourceSample]) -> Vec<Drift> {
    let sixth = samples.len() / 6;
    if sixth < 2 {
        return Vec::new();
    }
    let after_warm_up = &samples[sixth..2 * sixth];
    let at_end = &samples[samples.len() - sixth..];
    let figures: [(&'static str, SampleFigure); 5] = [
        ("RSS MiB", |(rss, _)| {
            rss.map(|bytes| bytes as f64 / 1_048_576.0)
        }),
        ("open files", |(_, resources)| {
            resources.map(|r| r.open_files as f64)
        }),
        ("tasks", |(_, resources)| resources.map(|r| r.tasks as f64)),
        ("actors", |(_, resources)| {
            resources.map(|r| r.actors as f64)
        }),
        ("pending outbound", |(_, resources)| {
            resources.map(|r| r.outbound_pending as f64)
        }),
    ];
    figures
        .into_iter()
        .filter_map(|(figure, value)| {
            Some(Drift {
                figure,
                after_warm_up: median(after_warm_up.iter().filter_map(value))?,
                at_end: median(at_end.iter().filter_map(value))?,
            })
        })
        .collect()
}

fn median(values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut values: Vec<f64> = values.collect();
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(values[values.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(rss_mib: u64, tasks: u64) -> (Option<u64>, Option<ServerResources>) {
        (
            Some(rss_mib * 1_048_576),
            Some(ServerResources {
                tasks,
                ..ServerResources::default()
            }),
        )
    }

    #[test]
    fn drift_compares_the_second_sixth_with_the_last_ignoring_one_spike() {
        // Warm-up climbs, then flat except one spike at the end; tasks leak.
        let mut samples: Vec<_> = (0..10).map(|i| sample(10 + i * 5, 100 + i)).collect();
        samples.extend((10..60).map(|i| sample(60, 100 + i)));
        samples[58] = sample(500, 158);
        let drifts = drifts(&samples);
        let rss = drifts
            .iter()
            .find(|drift| drift.figure == "RSS MiB")
            .unwrap();
        assert_eq!((rss.after_warm_up, rss.at_end), (60.0, 60.0));
        let tasks = drifts.iter().find(|drift| drift.figure == "tasks").unwrap();
        assert!(tasks.at_end > tasks.after_warm_up + 30.0, "{tasks:?}");
    }

    #[test]
    fn a_short_timeline_tells_nothing() {
        assert!(drifts(&vec![sample(1, 1); 11]).is_empty());
    }

    #[test]
    fn a_page_without_the_process_gauges_gives_none_and_totals_need_every_node() {
        let sum = |_: &str, _: &str| None;
        assert_eq!(ServerResources::from_metrics_page("", sum), None);
        let one = ServerResources {
            open_files: 1,
            tasks: 2,
            actors: 3,
            outbound_pending: 4,
        };
        assert_eq!(
            ServerResources::total([Some(&one), Some(&one)]).map(|total| total.actors),
            Some(6)
        );
        assert_eq!(ServerResources::total([Some(&one), None]), None);
    }
}
