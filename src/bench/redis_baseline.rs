//! `--baseline redis` for the city scenario: a private `redis-server` on
//! 127.0.0.1 (free port, no persistence, killed when its handle is dropped) and the
//! city's load as Redis commands. The same walkers on the same schedule as the
//! city run send the same number of positions: an officer's position becomes
//! `GEOADD officers lng lat officer:N`, a citizen's the nearest query
//! `GEOSEARCH officers FROMLONLAT lng lat BYRADIUS r m ASC COUNT 1`. The people are
//! dealt round-robin over [`CONNECTIONS_PER_WORKER`] × `--workers` client
//! connections; each connection sends its people's commands in schedule order, one
//! at a time, and times each round trip. Redis answers a query when asked; it pushes
//! nothing and nothing checks its answers.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use redis::aio::MultiplexedConnection;
use serde::Serialize;
use tokio::process::{Child, Command};
use tokio::time::Instant;

use super::BenchError;
use super::cli::{BenchOptions, Scenario};
use super::fleet::Sample;
use super::movement::{PersonKind, Schedule, Walker};
use super::report::{Memory, RunResult};
use super::spawn::resident_memory_of;
use super::stats::{Counters, HistogramData, LatencyExport, Percentiles, bump, new_histogram};

/// The program started as the baseline server.
const REDIS_SERVER: &str = "redis-server";
/// The geo set holding the officers.
const OFFICERS_KEY: &str = "officers";
/// Client connections per `--workers`: the heyblue run spreads its sockets over
/// the workers; Redis gets this many connections for each of them.
const CONNECTIONS_PER_WORKER: u32 = 8;
/// How long redis-server may take to answer its first PING.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for one reply before it counts as an error.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Delay between setup and the first scheduled command.
const START_DELAY: Duration = Duration::from_millis(500);
/// How often the timeline is sampled.
const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// The Redis run's own figures, next to the common ones of [`RunResult`].
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RedisFigures {
    /// Client connections that sent the load.
    pub(crate) connections: u32,
    /// Commands answered per second while moving (GEOADD and GEOSEARCH).
    pub(crate) commands_per_s: f64,
    /// `GEOADD` round trip (an officer's position written).
    pub(crate) geoadd_latency: Percentiles,
    /// `GEOSEARCH … COUNT 1` round trip (a citizen's nearest query answered).
    pub(crate) geosearch_latency: Percentiles,
    /// Raw `GEOSEARCH` histogram (for the chart).
    pub(crate) geosearch_histogram: HistogramData,
    /// Nearest queries that found an officer within the radius.
    pub(crate) answers_found: u64,
    /// Nearest queries with no officer within the radius.
    pub(crate) answers_empty: u64,
    /// Commands that failed or timed out.
    pub(crate) errors: u64,
    /// The first failure, word for word.
    pub(crate) first_error: Option<String>,
    /// `INFO memory` `used_memory` after the run, bytes: the data set and buffers.
    pub(crate) used_memory_bytes: Option<u64>,
    /// `INFO memory` `used_memory_rss` after the run, bytes.
    pub(crate) used_memory_rss_bytes: Option<u64>,
}

/// `redis-server` on the PATH, if installed.
pub(crate) fn find_redis_server() -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|directory| directory.join(REDIS_SERVER))
        .find(|candidate| candidate.is_file())
}

/// A private `redis-server` child.
#[derive(Debug)]
struct RedisServer {
    /// `redis://127.0.0.1:port/`.
    url: String,
    /// Its process id, for its resident memory.
    pid: Option<u32>,
    /// The process (killed on drop, so on every exit path).
    _child: Child,
    /// Its working directory (nothing is written there: persistence is off).
    _directory: tempfile::TempDir,
}

/// Runs the city load against a fresh `redis-server` and returns its figures.
pub(crate) async fn run_redis_baseline(
    program: &Path,
    args: &BenchOptions,
    officers: u32,
    citizens: u32,
) -> Result<RunResult, BenchError> {
    debug_assert!(args.scenario == Scenario::City);
    let server = spawn_redis(program).await?;
    let client = redis::Client::open(server.url.as_str())
        .map_err(|error| BenchError::Setup(format!("redis client: {error}")))?;
    let connections = CONNECTIONS_PER_WORKER * args.workers;
    let connect_started = Instant::now();
    let mut links = Vec::new();
    for _ in 0..connections {
        links.push(connect(&client).await?);
    }
    let connect_ms = elapsed_ms(connect_started);
    let counters = Arc::new(Counters::default());
    counters
        .connected
        .store(u64::from(connections), std::sync::atomic::Ordering::Relaxed);
    counters
        .open
        .store(u64::from(connections), std::sync::atomic::Ordering::Relaxed);
    let memory_before = resident(&server);

    let interval_us = i64::try_from(args.interval_ms * 1000).unwrap_or(1_000_000);
    let last_tick = (args.duration_seconds * 1000) / args.interval_ms.max(1);
    let mut shards: Vec<Vec<Mover>> = (0..connections).map(|_| Vec::new()).collect();
    let people = (0..officers)
        .map(|index| (PersonKind::Officer, index))
        .chain((0..citizens).map(|index| (PersonKind::Citizen, index)));
    for (position, (kind, index)) in people.enumerate() {
        let walker = Walker::new(args.seed, kind, index, args.bbox, args.max_speed_mps);
        let phase_us = Schedule::phase_us(interval_us, kind, index);
        let shard = position % shards.len();
        shards[shard].push(Mover {
            kind,
            index,
            walker,
            phase_us,
        });
    }
    let load_started = Instant::now();
    place_officers(&mut links[0], &shards).await?;
    let load_officers_ms = elapsed_ms(load_started);

    let start = Instant::now() + START_DELAY;
    let plan = Arc::new(TickPlan {
        start,
        interval: Duration::from_micros(args.interval_ms * 1000),
        last_tick,
        radius_m: args.radius_meters,
    });
    let mut tasks = tokio::task::JoinSet::new();
    for (link, mut shard) in links.into_iter().zip(shards) {
        shard.sort_by_key(|mover| (mover.phase_us, mover.index));
        tasks.spawn(drive(link, shard, Arc::clone(&plan), Arc::clone(&counters)));
    }
    let (timeline, outcome) = sample_until_done(tasks, &counters, &server).await?;
    let move_ms = elapsed_ms(start);
    let info = info_memory(&client).await;
    let memory_after = resident(&server);
    drop(server);

    let move_seconds = (last_tick * args.interval_ms) as f64 / 1000.0;
    let snapshot = counters.snapshot();
    let latencies = LatencyExport {
        send_lateness_us: HistogramData::from(&outcome.lateness),
        ..LatencyExport::default()
    };
    let phases = vec![
        ("connect".to_owned(), connect_ms),
        ("load_officers".to_owned(), load_officers_ms),
        ("move".to_owned(), move_ms),
    ];
    let mut result = RunResult::new(
        "redis",
        args.scenario,
        officers,
        citizens,
        snapshot,
        &latencies,
        phases,
        connect_ms,
        move_seconds,
        Memory::new(
            &[redis_reading(memory_before)],
            &[redis_reading(memory_after)],
            0,
        ),
        timeline,
    );
    result.redis = Some(RedisFigures {
        connections,
        commands_per_s: result.updates_per_s,
        geoadd_latency: Percentiles::of(&outcome.geoadd),
        geosearch_latency: Percentiles::of(&outcome.geosearch),
        geosearch_histogram: HistogramData::from(&outcome.geosearch),
        answers_found: outcome.answers_found,
        answers_empty: outcome.answers_empty,
        errors: snapshot.server_errors,
        first_error: outcome.first_error,
        used_memory_bytes: info
            .as_deref()
            .and_then(|text| info_field(text, "used_memory")),
        used_memory_rss_bytes: info
            .as_deref()
            .and_then(|text| info_field(text, "used_memory_rss")),
    });
    Ok(result)
}

/// Starts `redis-server` on a free loopback port and waits for its PING.
async fn spawn_redis(program: &Path) -> Result<RedisServer, BenchError> {
    let directory = tempfile::Builder::new()
        .prefix("heyblue-bench-redis-")
        .tempdir()
        .map_err(|error| {
            BenchError::Setup(format!("cannot create a temporary directory: {error}"))
        })?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(|error| BenchError::Setup(format!("no free port for redis-server: {error}")))?
        .port();
    let mut child = Command::new(program)
        .args(server_arguments(port, directory.path()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| BenchError::Setup(format!("cannot start redis-server: {error}")))?;
    let url = format!("redis://127.0.0.1:{port}/");
    let client = redis::Client::open(url.as_str())
        .map_err(|error| BenchError::Setup(format!("redis client: {error}")))?;
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(BenchError::Setup(format!(
                "redis-server exited at start ({status})"
            )));
        }
        if let Ok(mut link) = connect(&client).await
            && let Ok(reply) = redis::cmd("PING").query_async::<String>(&mut link).await
            && reply == "PONG"
        {
            break;
        }
        if Instant::now() > deadline {
            return Err(BenchError::Setup(
                "redis-server did not answer PING".to_owned(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Ok(RedisServer {
        url,
        pid: child.id(),
        _child: child,
        _directory: directory,
    })
}

/// `redis-server`'s command line: loopback only, no RDB snapshots, no AOF.
fn server_arguments(port: u16, directory: &Path) -> Vec<String> {
    vec![
        "--port".to_owned(),
        port.to_string(),
        "--bind".to_owned(),
        "127.0.0.1".to_owned(),
        "--save".to_owned(),
        String::new(),
        "--appendonly".to_owned(),
        "no".to_owned(),
        "--dir".to_owned(),
        directory.display().to_string(),
        "--logfile".to_owned(),
        String::new(),
    ]
}

async fn connect(client: &redis::Client) -> Result<MultiplexedConnection, BenchError> {
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(READY_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(|error| BenchError::Setup(format!("cannot connect to redis-server: {error}")))
}

/// One simulated person on one connection.
#[derive(Debug)]
struct Mover {
    /// Officer or citizen.
    kind: PersonKind,
    /// Their number among their kind.
    index: u32,
    /// Their walk, as in the city run.
    walker: Walker,
    /// Their phase inside the interval, as in the city run.
    phase_us: i64,
}

/// When the ticks are due, shared by the connections.
#[derive(Debug)]
struct TickPlan {
    /// Due time of phase 0 of tick 1.
    start: Instant,
    /// Time between two positions of one person.
    interval: Duration,
    /// The last tick sent.
    last_tick: u64,
    /// Radius of the nearest query, metres (`--radius-meters`).
    radius_m: f64,
}

/// What one connection measured.
#[derive(Debug)]
struct ConnectionOutcome {
    /// `GEOADD` round trips, microseconds.
    geoadd: Histogram<u64>,
    /// `GEOSEARCH` round trips, microseconds.
    geosearch: Histogram<u64>,
    /// Due time to write, microseconds.
    lateness: Histogram<u64>,
    /// Queries that found an officer.
    answers_found: u64,
    /// Queries that found none.
    answers_empty: u64,
    /// The first failure.
    first_error: Option<String>,
}

impl ConnectionOutcome {
    fn new() -> Self {
        Self {
            geoadd: new_histogram(),
            geosearch: new_histogram(),
            lateness: new_histogram(),
            answers_found: 0,
            answers_empty: 0,
            first_error: None,
        }
    }

    fn merge(&mut self, other: ConnectionOutcome) {
        // Same bounds on both sides, so adding cannot fail.
        let _same_bounds = self.geoadd.add(&other.geoadd).is_ok()
            && self.geosearch.add(&other.geosearch).is_ok()
            && self.lateness.add(&other.lateness).is_ok();
        self.answers_found += other.answers_found;
        self.answers_empty += other.answers_empty;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// Writes every officer's starting position (tick 0), as officers going
/// available do in the city run.
async fn place_officers(
    link: &mut MultiplexedConnection,
    shards: &[Vec<Mover>],
) -> Result<(), BenchError> {
    let officers = shards
        .iter()
        .flatten()
        .filter(|mover| mover.kind == PersonKind::Officer);
    for officer in officers {
        let position = officer.walker.position();
        geoadd_command(officer.index, position.lng, position.lat)
            .query_async::<redis::Value>(link)
            .await
            .map_err(|error| BenchError::Setup(format!("redis GEOADD failed: {error}")))?;
    }
    Ok(())
}

/// Sends one connection's people's positions, tick by tick, in schedule order.
async fn drive(
    mut link: MultiplexedConnection,
    mut shard: Vec<Mover>,
    plan: Arc<TickPlan>,
    counters: Arc<Counters>,
) -> ConnectionOutcome {
    let mut outcome = ConnectionOutcome::new();
    let step_seconds = plan.interval.as_secs_f64();
    for tick in 1..=plan.last_tick {
        let tick_start = plan.start + plan.interval * u32::try_from(tick - 1).unwrap_or(u32::MAX);
        for mover in &mut shard {
            let due = tick_start + Duration::from_micros(mover.phase_us.unsigned_abs());
            tokio::time::sleep_until(due).await;
            mover.walker.step(step_seconds);
            let position = mover.walker.position();
            let command = match mover.kind {
                PersonKind::Officer => geoadd_command(mover.index, position.lng, position.lat),
                PersonKind::Citizen => nearest_query(position.lng, position.lat, plan.radius_m),
            };
            let sent = Instant::now();
            record_us(&mut outcome.lateness, sent - due);
            bump(&counters.updates_sent);
            let reply = command.query_async::<redis::Value>(&mut link).await;
            let round_trip = sent.elapsed();
            let reply = match reply {
                Ok(reply) => reply,
                Err(error) => {
                    bump(&counters.server_errors);
                    outcome.first_error.get_or_insert_with(|| error.to_string());
                    continue;
                }
            };
            match mover.kind {
                PersonKind::Officer => record_us(&mut outcome.geoadd, round_trip),
                PersonKind::Citizen => {
                    record_us(&mut outcome.geosearch, round_trip);
                    bump(&counters.pushes);
                    match nearest_officer(&reply) {
                        Some(_) => outcome.answers_found += 1,
                        None => outcome.answers_empty += 1,
                    }
                }
            }
        }
    }
    outcome
}

/// Samples counters and the server's RSS once a second until every connection
/// has finished, and adds up what they measured.
async fn sample_until_done(
    mut tasks: tokio::task::JoinSet<ConnectionOutcome>,
    counters: &Counters,
    server: &RedisServer,
) -> Result<(Vec<Sample>, ConnectionOutcome), BenchError> {
    let started = Instant::now();
    let mut timeline = Vec::new();
    let sample = |timeline: &mut Vec<Sample>| {
        timeline.push(Sample {
            t_s: started.elapsed().as_secs_f64(),
            phase: "move".to_owned(),
            counters: counters.snapshot(),
            server_rss_bytes: resident(server),
            server_resources: None,
        });
    };
    sample(&mut timeline);
    let mut ticker = tokio::time::interval_at(started + SAMPLE_INTERVAL, SAMPLE_INTERVAL);
    let mut outcome = ConnectionOutcome::new();
    loop {
        tokio::select! {
            _ = ticker.tick() => sample(&mut timeline),
            joined = tasks.join_next() => match joined {
                Some(finished) => outcome.merge(finished.map_err(|error| {
                    BenchError::Setup(format!("redis load task failed: {error}"))
                })?),
                None => break,
            },
        }
    }
    sample(&mut timeline);
    Ok((timeline, outcome))
}

/// `GEOADD officers lng lat officer:N`.
fn geoadd_command(index: u32, lng: f64, lat: f64) -> redis::Cmd {
    let mut command = redis::cmd("GEOADD");
    command
        .arg(OFFICERS_KEY)
        .arg(lng)
        .arg(lat)
        .arg(officer_member(index));
    command
}

/// The nearest query: the one closest officer within `radius_m` of (lng, lat).
fn nearest_query(lng: f64, lat: f64, radius_m: f64) -> redis::Cmd {
    let mut command = redis::cmd("GEOSEARCH");
    command
        .arg(OFFICERS_KEY)
        .arg("FROMLONLAT")
        .arg(lng)
        .arg(lat)
        .arg("BYRADIUS")
        .arg(radius_m)
        .arg("m")
        .arg("ASC")
        .arg("COUNT")
        .arg(1);
    command
}

fn officer_member(index: u32) -> String {
    format!("officer:{index}")
}

/// The officer a nearest query named, if any.
fn nearest_officer(reply: &redis::Value) -> Option<u32> {
    let redis::Value::Array(members) = reply else {
        return None;
    };
    let first = members.first()?;
    let name: String = redis::from_redis_value_ref(first).ok()?;
    name.strip_prefix("officer:")?.parse().ok()
}

/// `INFO memory`, as text.
async fn info_memory(client: &redis::Client) -> Option<String> {
    let mut link = connect(client).await.ok()?;
    redis::cmd("INFO")
        .arg("memory")
        .query_async::<String>(&mut link)
        .await
        .ok()
}

/// A numeric `name:value` line of an `INFO` reply.
fn info_field(info: &str, name: &str) -> Option<u64> {
    info.lines()
        .filter_map(|line| line.trim_end().split_once(':'))
        .find(|(field, _)| *field == name)
        .and_then(|(_, value)| value.parse().ok())
}

fn resident(server: &RedisServer) -> Option<u64> {
    server.pid.and_then(resident_memory_of)
}

fn record_us(histogram: &mut Histogram<u64>, duration: Duration) {
    let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
    histogram.saturating_record(micros.max(1));
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The redis-server's resident memory as a server reading of the report.
fn redis_reading(resident_bytes: Option<u64>) -> crate::bench::fleet::ServerReading {
    crate::bench::fleet::ServerReading {
        server: "redis-server".to_owned(),
        resident_bytes,
        sessions: None,
        resources: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(command: &redis::Cmd) -> Vec<String> {
        command
            .args_iter()
            .map(|arg| {
                let redis::Arg::Simple(bytes) = arg else {
                    return "<cursor>".to_owned();
                };
                String::from_utf8_lossy(bytes).into_owned()
            })
            .collect()
    }

    #[test]
    fn an_officer_position_is_a_geoadd_to_the_officers_set() {
        assert_eq!(
            words(&geoadd_command(7, -73.98, 40.75)),
            ["GEOADD", "officers", "-73.98", "40.75", "officer:7"]
        );
    }

    #[test]
    fn a_citizen_position_is_a_nearest_query_within_the_radius() {
        assert_eq!(
            words(&nearest_query(-74.0, 40.7, 5000.0)),
            [
                "GEOSEARCH",
                "officers",
                "FROMLONLAT",
                "-74.0",
                "40.7",
                "BYRADIUS",
                "5000.0",
                "m",
                "ASC",
                "COUNT",
                "1"
            ]
        );
    }

    #[test]
    fn the_nearest_officer_is_read_from_the_reply() {
        let found = redis::Value::Array(vec![redis::Value::BulkString(b"officer:12".to_vec())]);
        assert_eq!(nearest_officer(&found), Some(12));
        assert_eq!(nearest_officer(&redis::Value::Array(Vec::new())), None);
        assert_eq!(nearest_officer(&redis::Value::Nil), None);
    }

    #[test]
    fn memory_figures_are_read_from_info() {
        let info = "# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\nused_memory_rss:4194304\r\n";
        assert_eq!(info_field(info, "used_memory"), Some(1_048_576));
        assert_eq!(info_field(info, "used_memory_rss"), Some(4_194_304));
        assert_eq!(info_field(info, "used_memory_peak"), None);
    }

    #[test]
    fn the_server_keeps_nothing_on_disk_and_listens_on_loopback() {
        let arguments = server_arguments(6400, Path::new("/tmp/x"));
        let pairs: Vec<(&str, &str)> = arguments
            .chunks(2)
            .map(|pair| (pair[0].as_str(), pair[1].as_str()))
            .collect();
        assert!(pairs.contains(&("--save", "")));
        assert!(pairs.contains(&("--appendonly", "no")));
        assert!(pairs.contains(&("--bind", "127.0.0.1")));
        assert!(pairs.contains(&("--port", "6400")));
    }
}
