//! What a run produced, in the forms people read: the summary table on stdout,
//! `results.json`, and (via `html`) `report.html`.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::cadence::PaceTally;
use super::cli::{BenchOptions, Scenario};
use super::fleet::{Sample, ServerReading, total_resident_bytes};
use super::handshake_report::HandshakeFigures;
use super::redeem_report::RedeemFigures;
use super::redis_baseline::RedisFigures;
use super::resources::{Drift, drifts};
use super::stats::{CounterSnapshot, HistogramData, LatencyExport, Percentiles};
use super::summary::Summary;

/// The phases under load, whose samples tell whether the server stays flat.
const LOAD_PHASES: [&str; 3] = ["move", "rounds", "hold"];

/// Server memory around the idle sessions.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Memory {
    /// Resident memory after sign-in, before any socket, bytes (summed over the
    /// nodes that hold sessions).
    pub(crate) before_bytes: Option<u64>,
    /// Resident memory with the sessions open, bytes (summed likewise).
    pub(crate) after_bytes: Option<u64>,
    /// Sessions open at the second measurement.
    pub(crate) sessions: u64,
    /// Growth per open session, bytes.
    pub(crate) per_session_bytes: Option<f64>,
    /// Each node's share, when the sessions were spread over several nodes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) nodes: Vec<NodeMemory>,
}

/// One node's memory around the sessions it holds.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct NodeMemory {
    /// The node, `host:port`.
    pub(crate) node: String,
    /// Resident memory after sign-in, bytes.
    pub(crate) before_bytes: Option<u64>,
    /// Resident memory with the sessions open, bytes.
    pub(crate) after_bytes: Option<u64>,
    /// Sessions the node counted open at the second measurement.
    pub(crate) sessions: Option<u64>,
    /// Growth per session it holds, bytes.
    pub(crate) per_session_bytes: Option<f64>,
}

impl Memory {
    /// Figures from the two measurements of every server; `sessions` is what the
    /// bench counts open at the second.
    pub(crate) fn new(before: &[ServerReading], after: &[ServerReading], sessions: u64) -> Self {
        let before_bytes = total_resident_bytes(before);
        let after_bytes = total_resident_bytes(after);
        let nodes = if after.len() > 1 {
            before
                .iter()
                .zip(after)
                .map(|(first, second)| NodeMemory {
                    node: second.server.clone(),
                    before_bytes: first.resident_bytes,
                    after_bytes: second.resident_bytes,
                    sessions: second.sessions,
                    per_session_bytes: growth_per_session(
                        first.resident_bytes,
                        second.resident_bytes,
                        second.sessions.unwrap_or(0),
                    ),
                })
                .collect()
        } else {
            Vec::new()
        };
        Self {
            before_bytes,
            after_bytes,
            sessions,
            per_session_bytes: growth_per_session(before_bytes, after_bytes, sessions),
            nodes,
        }
    }
}

/// `(after − before) / sessions`, when both are known and there are sessions.
fn growth_per_session(before: Option<u64>, after: Option<u64>, sessions: u64) -> Option<f64> {
    match (before, after) {
        (Some(before), Some(after)) if sessions > 0 => {
            Some((after as f64 - before as f64) / sessions as f64)
        }
        (Some(_) | None, Some(_) | None) => None,
    }
}

/// Bytes as whole MiB, or `?`.
fn mebibytes(bytes: Option<u64>) -> String {
    bytes.map_or_else(
        || "?".to_owned(),
        |bytes| format!("{:.0}", bytes as f64 / 1_048_576.0),
    )
}

/// Bytes as KiB with two decimals, or `?`.
fn kibibytes(bytes: Option<f64>) -> String {
    bytes.map_or_else(
        || "?".to_owned(),
        |bytes| format!("{:.2} KiB", bytes / 1024.0),
    )
}

/// One server's figures (Hey Blue! or a baseline).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RunResult {
    /// `heyblue` or the baseline's name.
    pub(crate) label: String,
    /// The scenario.
    pub(crate) scenario: String,
    /// Officers simulated.
    pub(crate) officers: u32,
    /// Citizens simulated.
    pub(crate) citizens: u32,
    /// Final totals.
    pub(crate) counters: CounterSnapshot,
    /// Phase names and how long the slowest worker took, milliseconds.
    pub(crate) phases_ms: Vec<(String, u64)>,
    /// New sessions per second over the connect phase(s).
    pub(crate) connect_rate_per_s: f64,
    /// Seconds of movement.
    pub(crate) move_seconds: f64,
    /// Location frames written per second while moving.
    pub(crate) updates_per_s: f64,
    /// Server CPU time (user + system) during the movement, microseconds
    /// (`--profile`).
    pub(crate) server_cpu_us: Option<u64>,
    /// That CPU time per location update written, microseconds.
    pub(crate) server_cpu_us_per_update: Option<f64>,
    /// `nearest` pushes (or echoes) received per second while moving.
    pub(crate) pushes_per_s: f64,
    /// Share of pushes correct within the tolerance, percent.
    pub(crate) correct_percent: Option<f64>,
    /// Share of truth changes a push showed while they were true (or the screen
    /// showed already), percent.
    pub(crate) truth_changes_pushed_percent: Option<f64>,
    /// Truth change to the push that showed it (no tolerance window).
    pub(crate) truth_change_latency: Percentiles,
    /// How long the never-pushed truths lasted.
    pub(crate) missed_lifetime: Percentiles,
    /// Upgrade to welcome.
    pub(crate) connect_latency: Percentiles,
    /// Officer move to citizen push.
    pub(crate) officer_move_latency: Percentiles,
    /// Citizen move to own push.
    pub(crate) citizen_move_latency: Percentiles,
    /// Echo round trip (baseline).
    pub(crate) echo_latency: Percentiles,
    /// How late the bench sent, compared with its schedule.
    pub(crate) send_lateness: Percentiles,
    /// How far citizens were from the server's picture of them at each tick;
    /// recorded in millimetres, so its `_ms` fields are metres.
    pub(crate) citizen_unreported: Percentiles,
    /// `--obey-cadence`: per role and pace, phone-seconds spent in it and
    /// reports per phone per second.
    pub(crate) paces: Vec<(String, f64, f64)>,
    /// Server memory.
    pub(crate) memory: Memory,
    /// A few wrong answers, described.
    pub(crate) wrong_samples: Vec<String>,
    /// A few truth changes never pushed, described.
    pub(crate) missed_samples: Vec<String>,
    /// Raw truth change → push histogram (for the chart).
    pub(crate) truth_change_histogram: HistogramData,
    /// Raw officer-move latency histogram (for the chart).
    pub(crate) officer_move_histogram: HistogramData,
    /// Raw echo histogram (for the chart).
    pub(crate) echo_histogram: HistogramData,
    /// Once-a-second samples.
    pub(crate) timeline: Vec<Sample>,
    /// How the server's memory, files, tasks, actors and pending messages moved
    /// from warm-up to the end of the load phase (empty for short runs).
    pub(crate) resource_drift: Vec<Drift>,
    /// The handshake scenario's figures and credit check.
    pub(crate) handshake: Option<HandshakeFigures>,
    /// The redeem scenario's figures and audit.
    pub(crate) redeem: Option<RedeemFigures>,
    /// The Redis baseline's own figures (`--baseline redis`).
    pub(crate) redis: Option<RedisFigures>,
}

impl RunResult {
    /// Figures from a finished run.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        label: &str,
        scenario: Scenario,
        officers: u32,
        citizens: u32,
        counters: CounterSnapshot,
        latencies: &LatencyExport,
        phases_ms: Vec<(String, u64)>,
        connect_ms: u64,
        move_seconds: f64,
        memory: Memory,
        timeline: Vec<Sample>,
    ) -> Self {
        let per_second = |count: u64, seconds: f64| {
            if seconds > 0.0 {
                count as f64 / seconds
            } else {
                0.0
            }
        };
        let received = if counters.echoed > 0 {
            counters.echoed
        } else {
            counters.pushes
        };
        let checked = counters.correct + counters.stale + counters.wrong;
        Self {
            label: label.to_owned(),
            scenario: scenario.as_str().to_owned(),
            officers,
            citizens,
            counters,
            phases_ms,
            connect_rate_per_s: per_second(counters.connected, connect_ms as f64 / 1000.0),
            move_seconds,
            updates_per_s: per_second(counters.updates_sent, move_seconds),
            server_cpu_us: None,
            server_cpu_us_per_update: None,
            pushes_per_s: per_second(received, move_seconds),
            correct_percent: (checked > 0)
                .then(|| counters.correct as f64 * 100.0 / checked as f64),
            truth_changes_pushed_percent: (counters.truth_changes > 0).then(|| {
                (counters.changes_pushed + counters.changes_already_shown) as f64 * 100.0
                    / counters.truth_changes as f64
            }),
            truth_change_latency: Percentiles::of(&latencies.truth_change_us.to_histogram()),
            missed_lifetime: Percentiles::of(&latencies.missed_lifetime_us.to_histogram()),
            connect_latency: Percentiles::of(&latencies.connect_us.to_histogram()),
            officer_move_latency: Percentiles::of(&latencies.officer_move_us.to_histogram()),
            citizen_move_latency: Percentiles::of(&latencies.citizen_move_us.to_histogram()),
            echo_latency: Percentiles::of(&latencies.echo_us.to_histogram()),
            send_lateness: Percentiles::of(&latencies.send_lateness_us.to_histogram()),
            citizen_unreported: Percentiles::of(&latencies.citizen_unreported_mm.to_histogram()),
            paces: Vec::new(),
            memory,
            wrong_samples: latencies.wrong_samples.clone(),
            missed_samples: latencies.missed_samples.clone(),
            truth_change_histogram: latencies.truth_change_us.clone(),
            officer_move_histogram: latencies.officer_move_us.clone(),
            echo_histogram: latencies.echo_us.clone(),
            resource_drift: drifts(
                &timeline
                    .iter()
                    .filter(|sample| LOAD_PHASES.contains(&sample.phase.as_str()))
                    .map(|sample| (sample.server_rss_bytes, sample.server_resources))
                    .collect::<Vec<_>>(),
            ),
            timeline,
            handshake: None,
            redeem: None,
            redis: None,
        }
    }

    /// Records the reports per phone per second of each pace (`--obey-cadence`),
    /// for movement ticks `tick_seconds` long.
    pub(crate) fn set_paces(&mut self, paces: &PaceTally, tick_seconds: f64) {
        self.paces = paces.rates(tick_seconds);
    }

    /// Records the server's CPU time over the movement (`--profile`).
    pub(crate) fn set_server_cpu(&mut self, cpu_us: Option<u64>) {
        self.server_cpu_us = cpu_us;
        self.server_cpu_us_per_update = cpu_us
            .filter(|_| self.counters.updates_sent > 0)
            .map(|cpu_us| cpu_us as f64 / self.counters.updates_sent as f64);
    }

    /// Whether every checked answer was right, every change of a true answer
    /// was pushed and nothing failed.
    pub(crate) fn all_correct(&self) -> bool {
        let counters = &self.counters;
        counters.wrong == 0
            && counters.stale == 0
            && counters.changes_missed == 0
            && counters.final_wrong == 0
            && counters.final_missing == 0
            && counters.cadence_mismatches == 0
            && counters.sign_in_failures == 0
            && counters.connect_failures == 0
            && counters.dropped == 0
            && self
                .handshake
                .as_ref()
                .is_none_or(|figures| figures.passed(counters))
            && self.redeem.as_ref().is_none_or(RedeemFigures::passed)
            && self
                .redis
                .as_ref()
                .is_none_or(|figures| figures.errors == 0)
    }

    /// The latency shown as "officer move→push": the push for Hey Blue!, the round
    /// trip for the echo baseline, the nearest query for Redis.
    pub(crate) fn answer_latency(&self) -> &Percentiles {
        if let Some(figures) = &self.redis {
            &figures.geosearch_latency
        } else if self.counters.echoed > 0 {
            &self.echo_latency
        } else {
            &self.officer_move_latency
        }
    }
}

/// Everything a bench run reports.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The scenario.
    scenario: String,
    /// The options, as given.
    options: String,
    /// The machine: cores and the bench's open-file limit.
    machine: Machine,
    /// One result per server.
    runs: Vec<RunResult>,
    /// Hey Blue! against the Redis baseline, when both ran.
    versus_redis: Option<VersusRedis>,
    /// `--obey-cadence`: location updates/s at the fixed pace ÷ obeying the
    /// server's cadence (how many times fewer the server received).
    fixed_pace_per_cadence_updates: Option<f64>,
}

/// Hey Blue!'s figures divided by the Redis baseline's.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct VersusRedis {
    /// Hey Blue! location updates/s ÷ Redis commands/s (same offered load, so near
    /// 1 unless one of them fell behind). Each ratio is NaN (`null` in JSON) when a
    /// side measured nothing.
    pub(crate) updates_per_s_ratio: f64,
    /// Hey Blue! officer move→push p99 ÷ Redis GEOSEARCH round-trip p99.
    pub(crate) p99_ratio: f64,
    /// Hey Blue! officer move→push p50 ÷ Redis GEOSEARCH round-trip p50.
    pub(crate) p50_ratio: f64,
}

impl VersusRedis {
    /// The ratios, when both a Hey Blue! run and a Redis run are in `runs`.
    fn of(runs: &[RunResult]) -> Option<Self> {
        let heyblue = runs.iter().find(|run| run.label == "heyblue")?;
        let redis_run = runs.iter().find(|run| run.redis.is_some())?;
        let redis_figures = redis_run.redis.as_ref()?;
        let ratio = |numerator: f64, denominator: f64| {
            if numerator > 0.0 && denominator > 0.0 {
                numerator / denominator
            } else {
                f64::NAN
            }
        };
        Some(Self {
            updates_per_s_ratio: ratio(heyblue.updates_per_s, redis_figures.commands_per_s),
            p99_ratio: ratio(
                heyblue.officer_move_latency.p99_ms,
                redis_figures.geosearch_latency.p99_ms,
            ),
            p50_ratio: ratio(
                heyblue.officer_move_latency.p50_ms,
                redis_figures.geosearch_latency.p50_ms,
            ),
        })
    }
}

/// Location updates/s of the fixed-pace run ÷ the cadence run, when
/// `--obey-cadence` made both.
fn fixed_pace_per_cadence_updates(runs: &[RunResult]) -> Option<f64> {
    let fixed = runs.iter().find(|run| run.label == "heyblue")?;
    let obeying = runs.iter().find(|run| run.label == "heyblue cadence")?;
    (obeying.updates_per_s > 0.0).then(|| fixed.updates_per_s / obeying.updates_per_s)
}

/// What the run ran on.
#[derive(Debug, Clone, Serialize)]
struct Machine {
    /// Logical CPUs.
    cpus: usize,
    /// Open-file limit of the bench (and of a spawned server).
    open_file_limit: u64,
    /// Operating system.
    os: String,
}

impl Report {
    /// A report over `runs`.
    pub(crate) fn new(args: &BenchOptions, open_file_limit: u64, runs: Vec<RunResult>) -> Self {
        Self {
            scenario: args.scenario.as_str().to_owned(),
            options: format!("{args:?}"),
            machine: Machine {
                cpus: std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
                open_file_limit,
                os: std::env::consts::OS.to_owned(),
            },
            versus_redis: VersusRedis::of(&runs),
            fixed_pace_per_cadence_updates: fixed_pace_per_cadence_updates(&runs),
            runs,
        }
    }

    /// Whether every run had every answer right and no failures.
    pub fn all_correct(&self) -> bool {
        self.runs.iter().all(RunResult::all_correct)
    }

    /// The runs, for the HTML report.
    pub(crate) fn runs(&self) -> &[RunResult] {
        &self.runs
    }

    /// The scenario name.
    pub(crate) fn scenario(&self) -> &str {
        &self.scenario
    }

    /// The summary table people read at the end.
    pub fn table(&self) -> String {
        self.summary().to_text()
    }

    /// The summary table's lines, for the terminal or `report.html`.
    pub(crate) fn summary(&self) -> Summary {
        let mut text = Summary::titled(format!("{} — {} CPUs", self.scenario, self.machine.cpus));
        text.header(self.runs.iter().map(|run| run.label.clone()).collect());
        let row = |text: &mut Summary, name: &str, values: Vec<String>| text.row(name, values);
        let each = |figure: &dyn Fn(&RunResult) -> String| {
            self.runs.iter().map(figure).collect::<Vec<_>>()
        };
        let ms = |percentiles: &Percentiles, value: f64| {
            if percentiles.count == 0 {
                "-".to_owned()
            } else {
                format!("{value:.2} ms")
            }
        };
        // No sockets in a redeem run: its own rows and verdict only.
        if self.scenario == "redeem" {
            self.redeem_rows(&mut text);
            return text;
        }
        row(
            &mut text,
            "sessions connected",
            each(&|run| run.counters.connected.to_string()),
        );
        row(
            &mut text,
            "connect failures / dropped",
            each(&|run| {
                format!(
                    "{} / {}",
                    run.counters.connect_failures, run.counters.dropped
                )
            }),
        );
        row(
            &mut text,
            "new sessions/s",
            each(&|run| format!("{:.0}", run.connect_rate_per_s)),
        );
        row(
            &mut text,
            "connect p50 / p99",
            each(&|run| {
                format!(
                    "{} / {}",
                    ms(&run.connect_latency, run.connect_latency.p50_ms),
                    ms(&run.connect_latency, run.connect_latency.p99_ms)
                )
            }),
        );
        row(
            &mut text,
            "server memory before / after",
            each(&|run| {
                format!(
                    "{} / {} MiB",
                    mebibytes(run.memory.before_bytes),
                    mebibytes(run.memory.after_bytes)
                )
            }),
        );
        // Handshake runs grow the store (records, ledgers), so growth per
        // session says nothing about an idle session there.
        if self.scenario != "handshake" {
            row(
                &mut text,
                "server memory per session",
                each(&|run| kibibytes(run.memory.per_session_bytes)),
            );
        }
        if self.scenario == "city" {
            row(
                &mut text,
                "location updates/s",
                each(&|run| format!("{:.0}", run.updates_per_s)),
            );
            if let Some(ratio) = self.fixed_pace_per_cadence_updates {
                let _ = writeln!(
                    text,
                    "  obeying the server's cadence, the phones sent {ratio:.2}× fewer location updates than at the fixed pace"
                );
            }
            for run in &self.runs {
                for (pace, phone_seconds, per_second) in &run.paces {
                    let _ = writeln!(
                        text,
                        "  {}: {pace}: {per_second:.3} reports per phone per second over {phone_seconds:.0} phone-seconds",
                        run.label
                    );
                }
            }
            if self.runs.iter().any(|run| run.server_cpu_us.is_some()) {
                row(
                    &mut text,
                    "server CPU per update",
                    each(&|run| {
                        run.server_cpu_us_per_update
                            .map_or_else(|| "-".to_owned(), |cpu_us| format!("{cpu_us:.1} µs"))
                    }),
                );
            }
            row(
                &mut text,
                "pushes (echoes)/s",
                each(&|run| format!("{:.0}", run.pushes_per_s)),
            );
            text.section("truth change → push (every change of a citizen's true answer, no tolerance window)");
            row(
                &mut text,
                "truth changes",
                each(&|run| run.counters.truth_changes.to_string()),
            );
            row(
                &mut text,
                "pushed",
                each(&|run| {
                    run.truth_changes_pushed_percent
                        .map_or_else(|| "-".to_owned(), |percent| format!("{percent:.2} %"))
                }),
            );
            row(
                &mut text,
                "of which already on screen",
                each(&|run| run.counters.changes_already_shown.to_string()),
            );
            row(
                &mut text,
                "missed",
                each(&|run| run.counters.changes_missed.to_string()),
            );
            row(
                &mut text,
                "missed truths lasted p50 / max",
                each(&|run| {
                    format!(
                        "{} / {}",
                        ms(&run.missed_lifetime, run.missed_lifetime.p50_ms),
                        ms(&run.missed_lifetime, run.missed_lifetime.max_ms)
                    )
                }),
            );
            for (name, pick) in [
                ("truth change→push p50", 0),
                ("truth change→push p90", 1),
                ("truth change→push p99", 2),
                ("truth change→push p99.9", 3),
                ("truth change→push max", 4),
            ] {
                row(
                    &mut text,
                    name,
                    each(&|run| {
                        let latency = &run.truth_change_latency;
                        let value = [
                            latency.p50_ms,
                            latency.p90_ms,
                            latency.p99_ms,
                            latency.p999_ms,
                            latency.max_ms,
                        ][pick];
                        ms(latency, value)
                    }),
                );
            }
            text.section("pushes judged within the tolerance window (--tolerance-ms)");
            for (name, pick) in [
                ("officer move→push p50", 0),
                ("officer move→push p90", 1),
                ("officer move→push p99", 2),
                ("officer move→push p99.9", 3),
            ] {
                row(
                    &mut text,
                    name,
                    each(&|run| {
                        let latency = run.answer_latency();
                        let value = [
                            latency.p50_ms,
                            latency.p90_ms,
                            latency.p99_ms,
                            latency.p999_ms,
                        ][pick];
                        ms(latency, value)
                    }),
                );
            }
            row(
                &mut text,
                "citizen move→push p99",
                each(&|run| ms(&run.citizen_move_latency, run.citizen_move_latency.p99_ms)),
            );
            row(
                &mut text,
                "pushes checked",
                each(&|run| {
                    (run.counters.correct + run.counters.stale + run.counters.wrong).to_string()
                }),
            );
            row(
                &mut text,
                "correct",
                each(&|run| {
                    run.correct_percent
                        .map_or_else(|| "-".to_owned(), |percent| format!("{percent:.2} %"))
                }),
            );
            row(
                &mut text,
                "stale / wrong",
                each(&|run| format!("{} / {}", run.counters.stale, run.counters.wrong)),
            );
            row(
                &mut text,
                "final answers wrong / missing",
                each(&|run| {
                    format!(
                        "{} / {}",
                        run.counters.final_wrong, run.counters.final_missing
                    )
                }),
            );
            row(
                &mut text,
                "bench send lateness p99",
                each(&|run| ms(&run.send_lateness, run.send_lateness.p99_ms)),
            );
            row(
                &mut text,
                "citizen from its last report p50 / p99 / max",
                each(&|run| {
                    let metres = &run.citizen_unreported;
                    if metres.count == 0 {
                        "-".to_owned()
                    } else {
                        format!(
                            "{:.0} / {:.0} / {:.0} m",
                            metres.p50_ms, metres.p99_ms, metres.max_ms
                        )
                    }
                }),
            );
            if self.runs.iter().any(|run| run.redis.is_some()) {
                self.redis_rows(&mut text, &row);
            }
        }
        if self.scenario == "handshake" {
            let tables: Vec<Vec<(&str, String)>> = self
                .runs
                .iter()
                .filter_map(|run| {
                    let figures = run.handshake.as_ref()?;
                    Some(figures.rows(&run.counters, &run.send_lateness))
                })
                .collect();
            text.rows_side_by_side(&tables);
            for run in &self.runs {
                for line in run.handshake.iter().flat_map(HandshakeFigures::notes) {
                    let _ = writeln!(text, "  {}: {line}", run.label);
                }
            }
        }
        for run in &self.runs {
            if !run.resource_drift.is_empty() {
                let figures = run
                    .resource_drift
                    .iter()
                    .map(|drift| {
                        format!(
                            "{} {:.0} → {:.0}",
                            drift.figure, drift.after_warm_up, drift.at_end
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                let _ = writeln!(
                    text,
                    "  {}: server after warm-up → at the end (medians of the 2nd and last sixth): {figures}",
                    run.label
                );
            }
        }
        for run in &self.runs {
            let nodes = &run.memory.nodes;
            if nodes.is_empty() {
                continue;
            }
            let _ = writeln!(
                text,
                "  {}: server memory is summed over {} nodes; each node:",
                run.label,
                nodes.len()
            );
            for node in nodes {
                let _ = writeln!(
                    text,
                    "    {:<22}{:>8} sessions {:>7} → {:>5} MiB {:>10} per session",
                    node.node,
                    node.sessions
                        .map_or_else(|| "?".to_owned(), |sessions| sessions.to_string()),
                    mebibytes(node.before_bytes),
                    mebibytes(node.after_bytes),
                    kibibytes(node.per_session_bytes),
                );
            }
        }
        for run in &self.runs {
            for sample in run.wrong_samples.iter().chain(&run.missed_samples) {
                let _ = writeln!(text, "  {}: {sample}", run.label);
            }
        }
        let verdict = if self.all_correct() { "PASS" } else { "FAIL" };
        let under_chaos = self.runs.iter().any(|run| {
            run.handshake
                .as_ref()
                .is_some_and(|figures| figures.chaos.is_some())
        });
        let claim = if under_chaos {
            "server killed and restarted during the rounds; every round established but those the kills cut off, \
             every connection credited exactly once on both sides, no other failures"
        } else if self.scenario == "handshake" {
            "every round established, every credit exactly once, no failures"
        } else {
            "every answer correct, every change of a true answer pushed, no failures"
        };
        let _ = writeln!(text, "{verdict}: {claim}");
        text
    }

    /// The redeem scenario's rows, notes and verdict.
    fn redeem_rows(&self, text: &mut Summary) {
        let tables: Vec<Vec<(&str, String)>> = self
            .runs
            .iter()
            .filter_map(|run| run.redeem.as_ref().map(RedeemFigures::rows))
            .collect();
        text.rows_side_by_side(&tables);
        for run in &self.runs {
            let phases = run
                .phases_ms
                .iter()
                .map(|(name, ms)| format!("{name} {ms} ms"))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(text, "  {}: phases: {phases}", run.label);
            for line in run.redeem.iter().flat_map(RedeemFigures::notes) {
                let _ = writeln!(text, "  {}: {line}", run.label);
            }
        }
        let verdict = if self.all_correct() { "PASS" } else { "FAIL" };
        let _ = writeln!(
            text,
            "{verdict}: 0 oversold, 0 doubled, every voucher, balance and stock count audited, no failures"
        );
    }

    /// The Redis baseline's own rows and the ratios.
    fn redis_rows(&self, text: &mut Summary, row: &dyn Fn(&mut Summary, &str, Vec<String>)) {
        let each = |figure: &dyn Fn(&RedisFigures) -> String| {
            self.runs
                .iter()
                .map(|run| run.redis.as_ref().map_or_else(|| "-".to_owned(), figure))
                .collect::<Vec<_>>()
        };
        row(
            text,
            "redis connections",
            each(&|figures| figures.connections.to_string()),
        );
        row(
            text,
            "redis GEOADD p50 / p99",
            each(&|figures| {
                format!(
                    "{:.2} / {:.2} ms",
                    figures.geoadd_latency.p50_ms, figures.geoadd_latency.p99_ms
                )
            }),
        );
        row(
            text,
            "redis nearest found / none",
            each(&|figures| format!("{} / {}", figures.answers_found, figures.answers_empty)),
        );
        row(
            text,
            "redis used_memory / RSS",
            each(&|figures| {
                let mib = |bytes: Option<u64>| {
                    bytes.map_or_else(
                        || "?".to_owned(),
                        |bytes| format!("{:.1}", bytes as f64 / 1_048_576.0),
                    )
                };
                format!(
                    "{} / {} MiB",
                    mib(figures.used_memory_bytes),
                    mib(figures.used_memory_rss_bytes)
                )
            }),
        );
        row(
            text,
            "redis command errors",
            each(&|figures| figures.errors.to_string()),
        );
        for run in &self.runs {
            if let Some(error) = run
                .redis
                .as_ref()
                .and_then(|figures| figures.first_error.as_ref())
            {
                let _ = writeln!(text, "  {}: first error: {error}", run.label);
            }
        }
        if let Some(versus) = &self.versus_redis {
            let times = |value: f64, decimals: usize| {
                if value.is_finite() {
                    format!("{value:.decimals$}×")
                } else {
                    "-".to_owned()
                }
            };
            let _ = writeln!(
                text,
                "heyblue ÷ redis: location updates/s {}, officer move→push ÷ GEOSEARCH round trip p50 {}, p99 {}",
                times(versus.updates_per_s_ratio, 2),
                times(versus.p50_ratio, 1),
                times(versus.p99_ratio, 1)
            );
        }
    }

    /// Writes `results.json` and `report.html` into `directory`.
    pub fn write(&self, directory: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(directory)?;
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(directory.join("results.json"), json)?;
        std::fs::write(directory.join("report.html"), super::html::render(self))?;
        Ok(())
    }
}
