//! Child processes on 127.0.0.1: `heyblue serve` with a throw-away data directory
//! (in /dev/shm when there is one, so durable commits cost no disk flushes), the
//! `file` SMS adapter, limits opened up for one client address and, for the
//! handshake scenario, connection rules that reward every round; or the echo
//! server of the baseline. Both are this same binary, and both are killed when
//! their handle is dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use super::BenchError;
use super::cadence::PhoneCadence;

/// The spawned server's output, in its directory.
const SERVER_LOG: &str = "server.log";
/// How long a child may take to answer its first request.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// The `[connections]` rules under which every round of the handshake scenario is
/// rewarded: no pair cooldown (0 is allowed: a pair rewarded at time t is rewarded
/// again at any t' ≥ t), and a daily cap and an hourly request cap no run can
/// reach (the largest the options take). Everything else keeps its default.
pub(crate) const EVERY_ROUND_REWARDED: &str = "pair_cooldown_hours = 0\ndaily_rewarded_connections = 4294967295\nmax_requests_per_hour = 4294967295\n";

/// What the spawned server is told beyond the fixed bench settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServerSettings {
    /// `presence.nearest_hysteresis_meters`.
    pub(crate) hysteresis_m: f64,
    /// Use [`EVERY_ROUND_REWARDED`] as the `[connections]` rules.
    pub(crate) reward_every_round: bool,
    /// `presence.location_min_interval_ms`: the people's interval, so a run
    /// faster than one update a second is not coalesced by the server.
    pub(crate) location_interval_ms: u64,
    /// `presence.cadence.officer_available_*`: what an available officer is told.
    pub(crate) officer_cadence: PhoneCadence,
    /// `reports.maintain_aggregates`.
    pub(crate) report_upkeep: crate::store::ReportUpkeep,
}

/// A `heyblue serve` child.
#[derive(Debug)]
pub(crate) struct SpawnedServer {
    /// `http://127.0.0.1:port`.
    pub(crate) base_url: String,
    /// `http://127.0.0.1:port` of its metrics listener.
    pub(crate) metrics_url: String,
    /// The file adapter's output.
    pub(crate) sms_file: PathBuf,
    /// The admin token it accepts.
    pub(crate) admin_token: String,
    /// The process (killed on drop).
    process: Child,
    /// Its config, to start it again.
    config_file: PathBuf,
    /// Data directory, config and logs; removed on drop.
    directory: tempfile::TempDir,
}

/// A `heyblue bench-echo` child.
#[derive(Debug)]
pub(crate) struct SpawnedEcho {
    /// `ws://127.0.0.1:port/`.
    pub(crate) ws_url: String,
    /// The process (killed on drop).
    child: Child,
}

/// Starts `heyblue serve` and waits until `/readyz` answers.
pub(crate) async fn spawn_server(
    http: &reqwest::Client,
    settings: ServerSettings,
) -> Result<SpawnedServer, BenchError> {
    let directory = scratch_directory()?;
    let port = free_port()?;
    let metrics_port = free_port()?;
    let sms_file = directory.path().join("sms.jsonl");
    let config_file = directory.path().join("heyblue.toml");
    let config = format!(
        r#"listen = "127.0.0.1:{port}"
data_dir = "{data}"
node_name = "bench"

[sms]
type = "file"
path = "{sms}"

[metrics]
listen = "127.0.0.1:{metrics_port}"

[identity]
otp_max_per_ip_per_hour = 4000000000
sms_max_per_hour = 4000000000
sms_max_per_prefix_per_hour = 4000000000
access_token_ttl_seconds = 86400

[http]
max_connections_per_ip = 4000000000

[presence]
nearest_hysteresis_meters = {hysteresis_m}
location_min_interval_ms = {location_interval_ms}

[presence.cadence]
officer_available_interval_ms = {officer_interval_ms}
officer_available_min_distance_meters = {officer_distance_m}

[reports]
maintain_aggregates = {maintain_aggregates}

[connections]
{connections}"#,
        hysteresis_m = settings.hysteresis_m,
        location_interval_ms = settings.location_interval_ms,
        officer_interval_ms = settings.officer_cadence.interval_ms,
        officer_distance_m = settings.officer_cadence.min_distance_m,
        maintain_aggregates = settings.report_upkeep == crate::store::ReportUpkeep::Maintain,
        connections = if settings.reward_every_round {
            EVERY_ROUND_REWARDED
        } else {
            ""
        },
        data = directory.path().join("data").display(),
        sms = sms_file.display(),
    );
    std::fs::write(&config_file, config)
        .map_err(|error| BenchError::Setup(format!("cannot write the server config: {error}")))?;
    let admin_token = format!("bench-admin-{}", uuid::Uuid::new_v4().simple());
    let child = start_server_process(directory.path(), &config_file, &admin_token)?;
    let base_url = format!("http://127.0.0.1:{port}");
    let mut server = SpawnedServer {
        base_url,
        metrics_url: format!("http://127.0.0.1:{metrics_port}"),
        sms_file,
        admin_token,
        process: child,
        config_file,
        directory,
    };
    server.wait_ready(http).await?;
    Ok(server)
}

/// Starts `heyblue serve` on the config in `directory`, its output appended to
/// `server.log` there (a restart keeps the earlier lines).
fn start_server_process(
    directory: &Path,
    config_file: &Path,
    admin_token: &str,
) -> Result<Child, BenchError> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(directory.join(SERVER_LOG))
        .map_err(setup_io)?;
    Command::new(current_exe()?)
        .arg("--config")
        .arg(config_file)
        .arg("serve")
        .env("HEYBLUE_ADMIN_TOKEN", admin_token)
        .env(
            "RUST_LOG",
            std::env::var("HEYBLUE_BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".to_owned()),
        )
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(setup_io)?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| BenchError::Setup(format!("cannot start the server: {error}")))
}

/// Starts the echo server and waits until it accepts connections.
pub(crate) async fn spawn_echo() -> Result<SpawnedEcho, BenchError> {
    let port = free_port()?;
    let child = Command::new(current_exe()?)
        .arg("bench-echo")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| BenchError::Setup(format!("cannot start the echo server: {error}")))?;
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if tokio::time::Instant::now() > deadline {
            return Err(BenchError::Setup(
                "the echo server did not start".to_owned(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(SpawnedEcho {
        ws_url: format!("ws://127.0.0.1:{port}/"),
        child,
    })
}

impl SpawnedServer {
    /// The process id (for `--profile`).
    pub(crate) fn pid(&self) -> Option<u32> {
        self.process.id()
    }

    /// Kills the server with SIGKILL (no drain, no flush: a crash) and starts it
    /// again on the same data, port and config; returns once `/readyz` answers.
    pub(crate) async fn kill_and_restart(
        &mut self,
        http: &reqwest::Client,
    ) -> Result<(), BenchError> {
        self.process
            .kill()
            .await
            .map_err(|error| BenchError::Setup(format!("cannot kill the server: {error}")))?;
        self.process =
            start_server_process(self.directory.path(), &self.config_file, &self.admin_token)?;
        self.wait_ready(http).await
    }

    async fn wait_ready(&mut self, http: &reqwest::Client) -> Result<(), BenchError> {
        let ready_url = format!("{}/readyz", self.base_url);
        wait_ready(http, &ready_url, &mut self.process)
            .await
            .map_err(|error| {
                let log = std::fs::read_to_string(self.directory.path().join(SERVER_LOG))
                    .unwrap_or_default();
                BenchError::Setup(format!("{error}; server log:\n{log}"))
            })
    }
}

impl SpawnedEcho {
    /// The process id.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

async fn wait_ready(http: &reqwest::Client, url: &str, child: &mut Child) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the server exited at start ({status})"));
        }
        if let Ok(response) = http.get(url).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err("the server did not become ready".to_owned());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A temporary directory, in /dev/shm when it exists.
fn scratch_directory() -> Result<tempfile::TempDir, BenchError> {
    let shm = Path::new("/dev/shm");
    let builder = || {
        let mut builder = tempfile::Builder::new();
        builder.prefix("heyblue-bench-");
        builder
    };
    let directory = if shm.is_dir() {
        builder().tempdir_in(shm)
    } else {
        builder().tempdir()
    };
    directory
        .map_err(|error| BenchError::Setup(format!("cannot create a temporary directory: {error}")))
}

fn setup_io(error: std::io::Error) -> BenchError {
    BenchError::Setup(format!("i/o error: {error}"))
}

/// This program, to run again as server, worker or echo child. `/proc/self/exe`
/// where it exists: it still names this program when the file on disk has been
/// replaced meanwhile (a rebuild in a shared target directory).
pub(crate) fn current_exe() -> Result<PathBuf, BenchError> {
    let proc_self = PathBuf::from("/proc/self/exe");
    if proc_self.exists() {
        return Ok(proc_self);
    }
    std::env::current_exe()
        .map_err(|error| BenchError::Setup(format!("cannot find the heyblue binary: {error}")))
}

/// A port nobody listens on right now (a short race with other processes is
/// possible; the child then fails to start and the error says so).
fn free_port() -> Result<u16, BenchError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(setup_io)?;
    Ok(listener.local_addr().map_err(setup_io)?.port())
}

/// Resident memory of a local process, bytes (Linux /proc).
pub(crate) fn resident_memory_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kibibytes: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kibibytes * 1024)
}
