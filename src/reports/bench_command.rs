//! `heyblue reports bench`: loads the report facts of synthetic connections
//! into the store of the configuration (as `insert_connection` would add
//! them, but without writing the connection records), then times reports
//! over the whole loaded span at every ZIP: the measurement behind the
//! figures in docs/benchmarks.md. Use a scratch data directory or keyspace:
//! the loaded aggregates have no records behind them, so a rebuild drops
//! them again.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use super::query::{AreaBy, GroupBy, ReportRequest, report};
use super::rebuild_command::{RebuildCommandError, day_text};
use crate::config::{Config, EnvironmentVariables};
use crate::domain::AccountId;
use crate::store::report_facts::connection_facts;
use crate::store::report_records::{AreaLevel, CellSelection, Grain, ReportMetric, ReportRole};
use crate::store::{ConnectionParty, ConnectionRecord, Store};

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;
/// The first day loaded: 2026-01-01.
const FIRST_DAY: i64 = 20_454;
/// Connections whose facts are added in one call (one write transaction on
/// the embedded store, its keys written in key order).
const BATCH: usize = 100_000;
/// Citizens and officers drawn from (so `participants` cells see repeats).
const CITIZENS: u128 = 1_000_000;
/// Officers drawn from.
const OFFICERS: u128 = 20_000;
/// How often each report is timed.
const REPORT_RUNS: usize = 20;

/// What to load and time.
#[derive(Debug, Clone, Copy)]
pub struct ReportBenchOptions {
    /// Connections to load (0: time what is loaded already).
    pub connections: u64,
    /// Days they are spread over, from 2026-01-01.
    pub days: i64,
    /// Distinct 5-digit ZIPs they are spread over.
    pub zips: u32,
}

/// The synthetic connection number `index` of `options.connections`,
/// reproducible from the seed. Connections come in the order of their days,
/// as a live system adds them (so each write touches the cells of a few
/// days, not of the whole year), at a random time of the day.
fn connection(rng: &mut StdRng, options: &ReportBenchOptions, index: u64) -> ConnectionRecord {
    let party = |id: u128, points| ConnectionParty {
        account_id: AccountId(Uuid::from_u128(id)),
        points,
        withheld: None,
    };
    let zip_index = rng.random_range(0..options.zips.max(1));
    // Spread over the 5-digit range the way real ZIPs are: many 3-digit areas.
    let zip = 1_000 + u64::from(zip_index) * 98_000 / u64::from(options.zips.max(1));
    ConnectionRecord {
        connection_id: Uuid::from_u128(rng.random()),
        citizen: party(rng.random_range(1..=CITIZENS), 10),
        officer: party(CITIZENS + rng.random_range(1..=OFFICERS), 5),
        established_at_ms: day_of(index, options) * DAY_MS + rng.random_range(0..DAY_MS),
        mode: crate::domain::connection::ConnectionMode::InPerson,
        cell_r7: None,
        zip: Some(format!("{zip:05}")),
    }
}

/// The day of connection `index`: the days share the connections evenly,
/// in order.
fn day_of(index: u64, options: &ReportBenchOptions) -> i64 {
    let days = u128::try_from(options.days.max(1)).unwrap_or(1);
    let offset = u128::from(index) * days / u128::from(options.connections.max(1));
    FIRST_DAY + i64::try_from(offset).unwrap_or(0)
}

/// Adds the facts of `options.connections` synthetic connections.
async fn load(
    store: &dyn Store,
    options: &ReportBenchOptions,
) -> Result<Duration, RebuildCommandError> {
    let started = tokio::time::Instant::now();
    let mut rng = StdRng::seed_from_u64(19);
    let mut loaded = 0_u64;
    while loaded < options.connections {
        let batch = (options.connections - loaded).min(BATCH as u64);
        let facts: Vec<_> = (loaded..loaded + batch)
            .flat_map(|index| connection_facts(&connection(&mut rng, options, index)))
            .collect();
        store.add_report_facts(&facts).await?;
        loaded += batch;
        if loaded % 1_000_000 < BATCH as u64 {
            tracing::info!(
                loaded,
                elapsed_s = started.elapsed().as_secs(),
                "report facts loaded"
            );
        }
    }
    Ok(started.elapsed())
}

/// The time of the run at `percent` of [`REPORT_RUNS`] sorted runs
/// (nearest rank).
fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted.get(rank - 1).copied().unwrap_or_default()
}

/// What [`REPORT_RUNS`] runs of a report took.
struct Timing {
    /// Median.
    p50: Duration,
    /// 99th percentile (nearest rank: the slowest run of fewer than 100).
    p99: Duration,
    /// Rows of the report.
    rows: usize,
}

/// Times [`REPORT_RUNS`] runs of a report (after one untimed run that warms
/// the page cache).
async fn time_report(
    store: &dyn Store,
    request: &ReportRequest,
    threshold: u32,
) -> Result<Timing, RebuildCommandError> {
    let rows = report(store, request, &[], threshold).await?.rows.len();
    let mut times = Vec::with_capacity(REPORT_RUNS);
    for _ in 0..REPORT_RUNS {
        let started = tokio::time::Instant::now();
        let published = report(store, request, &[], threshold).await?;
        times.push(started.elapsed());
        debug_assert_eq!(published.rows.len(), rows);
    }
    times.sort();
    Ok(Timing {
        p50: percentile(&times, 50),
        p99: percentile(&times, 99),
        rows,
    })
}

/// Loads, times, and says what it measured.
pub async fn bench_reports(
    config: &Config,
    environment: &EnvironmentVariables,
    options: ReportBenchOptions,
) -> Result<String, RebuildCommandError> {
    crate::data_dir::prepare(&config.data_dir).map_err(|source| RebuildCommandError::DataDir {
        path: config.data_dir.display().to_string(),
        source,
    })?;
    let store =
        crate::store::open_for_bulk_load(&config.store, &config.data_dir, environment).await?;
    let outcome = measure(store.as_ref(), config, &options).await;
    store.close().await?;
    outcome
}

async fn measure(
    store: &dyn Store,
    config: &Config,
    options: &ReportBenchOptions,
) -> Result<String, RebuildCommandError> {
    let mut lines = Vec::new();
    if options.connections > 0 {
        let took = load(store, options).await?;
        lines.push(format!(
            "loaded the report facts of {} connections over {} days and {} ZIPs in {:.1} s \
             ({:.0} connections/s)",
            options.connections,
            options.days,
            options.zips,
            took.as_secs_f64(),
            options.connections as f64 / took.as_secs_f64().max(f64::EPSILON)
        ));
    }
    // The CQL store rolls cells up from the facts loaded: once here, timed
    // on its own, as the background pass would (the embedded store has
    // nothing to roll up).
    let started = tokio::time::Instant::now();
    let pass = store.roll_up_reports().await?;
    lines.push(format!(
        "rolled up {} dirty (metric, day)s and {} (metric, month)s, reading {} fact rows, \
         in {:.1} s",
        pass.days,
        pass.months,
        pass.fact_rows_read,
        started.elapsed().as_secs_f64()
    ));
    let to_day = FIRST_DAY + options.days.max(1) - 1;
    let threshold = config.admin.min_report_cell_count;
    // What a report of every ZIP by month reads from the store.
    let started = tokio::time::Instant::now();
    let cells = store
        .report_cells(CellSelection {
            metric: ReportMetric::Connections,
            grain: Grain::Month,
            level: AreaLevel::Zip,
            role: ReportRole::All,
            from_day: FIRST_DAY,
            to_day,
        })
        .await?;
    lines.push(format!(
        "stored month cells of connections by ZIP for everyone over the span: {} (read in {:.0} ms)",
        cells.len(),
        started.elapsed().as_secs_f64() * 1_000.0
    ));
    drop(cells);
    for (group_by, area_by) in [
        (GroupBy::Month, AreaBy::Zip),
        (GroupBy::Month, AreaBy::Zip3),
        (GroupBy::Day, AreaBy::Nation),
    ] {
        let request = ReportRequest {
            metric: ReportMetric::Connections,
            from_day: FIRST_DAY,
            to_day,
            group_by,
            area_by,
            role: ReportRole::All,
            top: 10,
        };
        let timing = time_report(store, &request, threshold).await?;
        lines.push(format!(
            "connections {} to {} by {group_by:?} and {area_by:?}: {} rows, \
             p50 {:.1} ms, p99 {:.1} ms of {REPORT_RUNS} runs",
            day_text(FIRST_DAY),
            day_text(to_day),
            timing.rows,
            timing.p50.as_secs_f64() * 1_000.0,
            timing.p99.as_secs_f64() * 1_000.0,
        ));
    }
    Ok(lines.join("\n"))
}
