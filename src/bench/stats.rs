//! What a worker counts and measures, and the serialisable forms that travel to the
//! coordinator on stdout: cumulative counters (sent every half second) and HDR
//! histograms (sent once, as value/count pairs, merged by the coordinator).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::cadence::PaceTally;

/// Largest latency a histogram records, microseconds (a minute).
const HISTOGRAM_MAX_US: u64 = 60_000_000;
/// Wrong answers kept word for word for the report.
const WRONG_SAMPLES_KEPT: usize = 10;

/// Cumulative counters of one worker.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Users signed in.
    pub(crate) signed_in: AtomicU64,
    /// Sign-ins that failed.
    pub(crate) sign_in_failures: AtomicU64,
    /// Sockets authenticated (welcome received) or, for the echo server, echoing.
    pub(crate) connected: AtomicU64,
    /// Sockets that could not be opened or authenticated.
    pub(crate) connect_failures: AtomicU64,
    /// Sockets open right now.
    pub(crate) open: AtomicU64,
    /// Sockets the server closed, or that failed, while the bench still used them.
    pub(crate) dropped: AtomicU64,
    /// Location frames written.
    pub(crate) updates_sent: AtomicU64,
    /// Location frames not written because the socket's queue was full.
    pub(crate) updates_skipped: AtomicU64,
    /// `nearest` pushes received.
    pub(crate) pushes: AtomicU64,
    /// Pushes right within the tolerance.
    pub(crate) correct: AtomicU64,
    /// Pushes right only for positions older than the tolerance.
    pub(crate) stale: AtomicU64,
    /// Pushes wrong for any recent positions.
    pub(crate) wrong: AtomicU64,
    /// Correct pushes whose causing update could not be named.
    pub(crate) unattributed: AtomicU64,
    /// Changes of a citizen's true answer during movement (see `change_latency`).
    pub(crate) truth_changes: AtomicU64,
    /// Truth changes a push showed while they were true.
    pub(crate) changes_pushed: AtomicU64,
    /// Truth changes the citizen's screen already showed.
    pub(crate) changes_already_shown: AtomicU64,
    /// Truth changes never shown while true.
    pub(crate) changes_missed: AtomicU64,
    /// `nearby` alerts received.
    pub(crate) nearby: AtomicU64,
    /// `error` messages from the server.
    pub(crate) server_errors: AtomicU64,
    /// Frames echoed back (echo baseline).
    pub(crate) echoed: AtomicU64,
    /// Citizens whose last answer was wrong after movement stopped.
    pub(crate) final_wrong: AtomicU64,
    /// Citizens who never got an answer.
    pub(crate) final_missing: AtomicU64,
    /// Officers told another cadence than the run planned (`--obey-cadence`).
    pub(crate) cadence_mismatches: AtomicU64,
    /// Citizens whose last answer was checked after movement stopped.
    pub(crate) final_checked: AtomicU64,
    /// Handshake rounds started (`request_connection` written).
    pub(crate) rounds_started: AtomicU64,
    /// Handshake rounds that ended with both sides' `connection_established`.
    pub(crate) rounds_established: AtomicU64,
    /// Handshake rounds that failed (see the tally's failures by kind).
    pub(crate) rounds_failed: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub(crate) struct CounterSnapshot {
    /// See [`Counters::signed_in`].
    pub(crate) signed_in: u64,
    /// See [`Counters::sign_in_failures`].
    pub(crate) sign_in_failures: u64,
    /// See [`Counters::connected`].
    pub(crate) connected: u64,
    /// See [`Counters::connect_failures`].
    pub(crate) connect_failures: u64,
    /// See [`Counters::open`].
    pub(crate) open: u64,
    /// See [`Counters::dropped`].
    pub(crate) dropped: u64,
    /// See [`Counters::updates_sent`].
    pub(crate) updates_sent: u64,
    /// See [`Counters::updates_skipped`].
    pub(crate) updates_skipped: u64,
    /// See [`Counters::pushes`].
    pub(crate) pushes: u64,
    /// See [`Counters::correct`].
    pub(crate) correct: u64,
    /// See [`Counters::stale`].
    pub(crate) stale: u64,
    /// See [`Counters::wrong`].
    pub(crate) wrong: u64,
    /// See [`Counters::unattributed`].
    pub(crate) unattributed: u64,
    /// See [`Counters::truth_changes`].
    pub(crate) truth_changes: u64,
    /// See [`Counters::changes_pushed`].
    pub(crate) changes_pushed: u64,
    /// See [`Counters::changes_already_shown`].
    pub(crate) changes_already_shown: u64,
    /// See [`Counters::changes_missed`].
    pub(crate) changes_missed: u64,
    /// See [`Counters::nearby`].
    pub(crate) nearby: u64,
    /// See [`Counters::server_errors`].
    pub(crate) server_errors: u64,
    /// See [`Counters::echoed`].
    pub(crate) echoed: u64,
    /// See [`Counters::final_wrong`].
    pub(crate) final_wrong: u64,
    /// See [`Counters::final_missing`].
    pub(crate) final_missing: u64,
    /// See [`Counters::cadence_mismatches`].
    #[serde(default)]
    pub(crate) cadence_mismatches: u64,
    /// See [`Counters::final_checked`].
    pub(crate) final_checked: u64,
    /// See [`Counters::rounds_started`].
    pub(crate) rounds_started: u64,
    /// See [`Counters::rounds_established`].
    pub(crate) rounds_established: u64,
    /// See [`Counters::rounds_failed`].
    pub(crate) rounds_failed: u64,
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    /// The counters now.
    pub(crate) fn snapshot(&self) -> CounterSnapshot {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        CounterSnapshot {
            signed_in: read(&self.signed_in),
            sign_in_failures: read(&self.sign_in_failures),
            connected: read(&self.connected),
            connect_failures: read(&self.connect_failures),
            open: read(&self.open),
            dropped: read(&self.dropped),
            updates_sent: read(&self.updates_sent),
            updates_skipped: read(&self.updates_skipped),
            pushes: read(&self.pushes),
            correct: read(&self.correct),
            stale: read(&self.stale),
            wrong: read(&self.wrong),
            unattributed: read(&self.unattributed),
            truth_changes: read(&self.truth_changes),
            changes_pushed: read(&self.changes_pushed),
            changes_already_shown: read(&self.changes_already_shown),
            changes_missed: read(&self.changes_missed),
            nearby: read(&self.nearby),
            server_errors: read(&self.server_errors),
            echoed: read(&self.echoed),
            final_wrong: read(&self.final_wrong),
            final_missing: read(&self.final_missing),
            cadence_mismatches: read(&self.cadence_mismatches),
            final_checked: read(&self.final_checked),
            rounds_started: read(&self.rounds_started),
            rounds_established: read(&self.rounds_established),
            rounds_failed: read(&self.rounds_failed),
        }
    }
}

impl CounterSnapshot {
    /// Field-by-field sum (for several workers).
    pub(crate) fn add(&mut self, other: &CounterSnapshot) {
        self.signed_in += other.signed_in;
        self.sign_in_failures += other.sign_in_failures;
        self.connected += other.connected;
        self.connect_failures += other.connect_failures;
        self.open += other.open;
        self.dropped += other.dropped;
        self.updates_sent += other.updates_sent;
        self.updates_skipped += other.updates_skipped;
        self.pushes += other.pushes;
        self.correct += other.correct;
        self.stale += other.stale;
        self.wrong += other.wrong;
        self.unattributed += other.unattributed;
        self.truth_changes += other.truth_changes;
        self.changes_pushed += other.changes_pushed;
        self.changes_already_shown += other.changes_already_shown;
        self.changes_missed += other.changes_missed;
        self.nearby += other.nearby;
        self.server_errors += other.server_errors;
        self.echoed += other.echoed;
        self.final_wrong += other.final_wrong;
        self.final_missing += other.final_missing;
        self.cadence_mismatches += other.cadence_mismatches;
        self.final_checked += other.final_checked;
        self.rounds_started += other.rounds_started;
        self.rounds_established += other.rounds_established;
        self.rounds_failed += other.rounds_failed;
    }

    /// Every error kind together, for the progress bar.
    pub(crate) fn errors(&self) -> u64 {
        self.sign_in_failures
            + self.connect_failures
            + self.dropped
            + self.wrong
            + self.changes_missed
            + self.server_errors
            + self.final_wrong
            + self.final_missing
            + self.cadence_mismatches
            + self.rounds_failed
    }
}

/// The latency histograms of one worker.
#[derive(Debug)]
pub(crate) struct Latencies {
    /// Upgrade request to `welcome` (or first echo), microseconds.
    pub(crate) connect_us: Mutex<Histogram<u64>>,
    /// Officer move to the citizen's `nearest` push, microseconds.
    pub(crate) officer_move_us: Mutex<Histogram<u64>>,
    /// Citizen move to the citizen's own `nearest` push, microseconds.
    pub(crate) citizen_move_us: Mutex<Histogram<u64>>,
    /// Frame written to frame echoed (echo baseline), microseconds.
    pub(crate) echo_us: Mutex<Histogram<u64>>,
    /// Scheduled send to actual write: how late the bench itself was, microseconds.
    pub(crate) send_lateness_us: Mutex<Histogram<u64>>,
    /// `request_connection` written to both sides' `connection_established`
    /// received, microseconds.
    pub(crate) handshake_us: Mutex<Histogram<u64>>,
    /// The officer's `respond` written to both sides' `connection_established`
    /// received: the server's accept and exactly-once writes, microseconds.
    pub(crate) accept_us: Mutex<Histogram<u64>>,
    /// Truth change to the push that showed it, microseconds.
    pub(crate) truth_change_us: Mutex<Histogram<u64>>,
    /// How long each never-pushed truth lasted, microseconds.
    pub(crate) missed_lifetime_us: Mutex<Histogram<u64>>,
    /// At each tick, how far a citizen was from the position the server had of
    /// it (its last report), **millimetres** (so the `_ms` percentiles read as
    /// metres).
    pub(crate) citizen_unreported_mm: Mutex<Histogram<u64>>,
    /// `--obey-cadence`: ticks spent and reports sent per role and pace.
    pub(crate) paces: Mutex<PaceTally>,
    /// A few wrong answers, described.
    pub(crate) wrong_samples: Mutex<Vec<String>>,
    /// A few truth changes never pushed, described.
    pub(crate) missed_samples: Mutex<Vec<String>>,
}

impl Latencies {
    /// Empty histograms.
    pub(crate) fn new() -> Self {
        let histogram = || Mutex::new(new_histogram());
        Self {
            connect_us: histogram(),
            officer_move_us: histogram(),
            citizen_move_us: histogram(),
            echo_us: histogram(),
            send_lateness_us: histogram(),
            handshake_us: histogram(),
            accept_us: histogram(),
            truth_change_us: histogram(),
            missed_lifetime_us: histogram(),
            citizen_unreported_mm: histogram(),
            paces: Mutex::new(PaceTally::default()),
            wrong_samples: Mutex::new(Vec::new()),
            missed_samples: Mutex::new(Vec::new()),
        }
    }

    /// Keeps a description of a wrong answer (the first few only).
    pub(crate) fn keep_wrong(&self, description: String) {
        let mut samples = lock(&self.wrong_samples);
        if samples.len() < WRONG_SAMPLES_KEPT {
            samples.push(description);
        }
    }

    /// Everything, serialisable.
    pub(crate) fn export(&self) -> LatencyExport {
        LatencyExport {
            connect_us: HistogramData::from(&*lock(&self.connect_us)),
            officer_move_us: HistogramData::from(&*lock(&self.officer_move_us)),
            citizen_move_us: HistogramData::from(&*lock(&self.citizen_move_us)),
            echo_us: HistogramData::from(&*lock(&self.echo_us)),
            send_lateness_us: HistogramData::from(&*lock(&self.send_lateness_us)),
            handshake_us: HistogramData::from(&*lock(&self.handshake_us)),
            accept_us: HistogramData::from(&*lock(&self.accept_us)),
            truth_change_us: HistogramData::from(&*lock(&self.truth_change_us)),
            missed_lifetime_us: HistogramData::from(&*lock(&self.missed_lifetime_us)),
            citizen_unreported_mm: HistogramData::from(&*lock(&self.citizen_unreported_mm)),
            paces: lock(&self.paces).clone(),
            wrong_samples: lock(&self.wrong_samples).clone(),
            missed_samples: lock(&self.missed_samples).clone(),
        }
    }
}

/// Records `value_us` (clamped into the histogram's range).
pub(crate) fn record(histogram: &Mutex<Histogram<u64>>, value_us: i64) {
    let value = u64::try_from(value_us.max(1))
        .unwrap_or(1)
        .min(HISTOGRAM_MAX_US);
    // In range by construction, so this cannot fail.
    let _recorded_in_range = lock(histogram).record(value).is_ok();
}

/// Locks a mutex, taking over a poisoned one (a panicking session task must not
/// hide the measurements of the others).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An empty histogram for microsecond latencies.
pub(crate) fn new_histogram() -> Histogram<u64> {
    match Histogram::new_with_bounds(1, HISTOGRAM_MAX_US, 3) {
        Ok(histogram) => histogram,
        // Constant bounds that hdrhistogram documents as valid (low ≥ 1, high ≥ 2 × low,
        // 0–5 significant digits).
        Err(error) => unreachable!("constant histogram bounds are valid: {error}"),
    }
}

/// All histograms of a worker, as sent to the coordinator.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct LatencyExport {
    /// See [`Latencies::connect_us`].
    pub(crate) connect_us: HistogramData,
    /// See [`Latencies::officer_move_us`].
    pub(crate) officer_move_us: HistogramData,
    /// See [`Latencies::citizen_move_us`].
    pub(crate) citizen_move_us: HistogramData,
    /// See [`Latencies::echo_us`].
    pub(crate) echo_us: HistogramData,
    /// See [`Latencies::send_lateness_us`].
    pub(crate) send_lateness_us: HistogramData,
    /// See [`Latencies::handshake_us`].
    pub(crate) handshake_us: HistogramData,
    /// See [`Latencies::accept_us`].
    pub(crate) accept_us: HistogramData,
    /// See [`Latencies::truth_change_us`].
    pub(crate) truth_change_us: HistogramData,
    /// See [`Latencies::missed_lifetime_us`].
    pub(crate) missed_lifetime_us: HistogramData,
    /// See [`Latencies::citizen_unreported_mm`].
    #[serde(default)]
    pub(crate) citizen_unreported_mm: HistogramData,
    /// See [`Latencies::paces`].
    #[serde(default)]
    pub(crate) paces: PaceTally,
    /// See [`Latencies::wrong_samples`].
    pub(crate) wrong_samples: Vec<String>,
    /// See [`Latencies::missed_samples`].
    pub(crate) missed_samples: Vec<String>,
}

impl LatencyExport {
    /// Adds another worker's histograms to these.
    pub(crate) fn merge(&mut self, other: &LatencyExport) {
        self.connect_us.merge(&other.connect_us);
        self.officer_move_us.merge(&other.officer_move_us);
        self.citizen_move_us.merge(&other.citizen_move_us);
        self.echo_us.merge(&other.echo_us);
        self.send_lateness_us.merge(&other.send_lateness_us);
        self.handshake_us.merge(&other.handshake_us);
        self.accept_us.merge(&other.accept_us);
        self.truth_change_us.merge(&other.truth_change_us);
        self.missed_lifetime_us.merge(&other.missed_lifetime_us);
        self.citizen_unreported_mm
            .merge(&other.citizen_unreported_mm);
        self.paces.merge(&other.paces);
        self.wrong_samples
            .extend(other.wrong_samples.iter().cloned());
        self.wrong_samples.truncate(WRONG_SAMPLES_KEPT);
        self.missed_samples
            .extend(other.missed_samples.iter().cloned());
        self.missed_samples.truncate(WRONG_SAMPLES_KEPT);
    }
}

/// A histogram as (value, count) pairs of its recorded buckets.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct HistogramData {
    /// Bucket values (microseconds) and their counts.
    pub(crate) buckets: Vec<(u64, u64)>,
}

impl From<&Histogram<u64>> for HistogramData {
    fn from(histogram: &Histogram<u64>) -> Self {
        Self {
            buckets: histogram
                .iter_recorded()
                .map(|bucket| (bucket.value_iterated_to(), bucket.count_at_value()))
                .collect(),
        }
    }
}

impl HistogramData {
    /// Adds another histogram's buckets.
    pub(crate) fn merge(&mut self, other: &HistogramData) {
        self.buckets.extend(other.buckets.iter().copied());
    }

    /// Rebuilt as a histogram.
    pub(crate) fn to_histogram(&self) -> Histogram<u64> {
        let mut histogram = new_histogram();
        for &(value, count) in &self.buckets {
            let _recorded_in_range = histogram
                .record_n(value.clamp(1, HISTOGRAM_MAX_US), count)
                .is_ok();
        }
        histogram
    }
}

/// Percentiles of a histogram, milliseconds, for tables and JSON.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct Percentiles {
    /// Samples.
    pub(crate) count: u64,
    /// Median.
    pub(crate) p50_ms: f64,
    /// 90th percentile.
    pub(crate) p90_ms: f64,
    /// 99th percentile.
    pub(crate) p99_ms: f64,
    /// 99.9th percentile.
    pub(crate) p999_ms: f64,
    /// Largest sample.
    pub(crate) max_ms: f64,
}

impl Percentiles {
    /// The percentiles of `histogram`.
    pub(crate) fn of(histogram: &Histogram<u64>) -> Self {
        let ms = |value: u64| value as f64 / 1000.0;
        Self {
            count: histogram.len(),
            p50_ms: ms(histogram.value_at_quantile(0.5)),
            p90_ms: ms(histogram.value_at_quantile(0.9)),
            p99_ms: ms(histogram.value_at_quantile(0.99)),
            p999_ms: ms(histogram.value_at_quantile(0.999)),
            max_ms: ms(histogram.max()),
        }
    }
}
