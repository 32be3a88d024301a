//! `heyblue bench` options: one subcommand per scenario, each listing only the
//! options it reads (`heyblue bench city --help`), flattened into one
//! [`BenchOptions`] for the run.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::cadence::PhoneCadence;
use super::movement::BoundingBox;

/// Default of `--bbox`: Manhattan and Hoboken, across ZIP-shard borders.
const DEFAULT_BBOX: &str = "40.70,-74.06,40.82,-73.93";
/// Default of `--citizens`.
const DEFAULT_CITIZENS: u32 = 900;
/// Default of `--duration-seconds`.
const DEFAULT_DURATION_SECONDS: u64 = 30;

/// Load and correctness runs against a Hey Blue! node on this machine.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Where the server is; the bench's processes (before or after the scenario).
    #[command(flatten)]
    target: TargetArgs,
    /// What to run.
    #[command(subcommand)]
    scenario: ScenarioArgs,
}

/// A scenario and its options.
#[derive(Debug, Clone, Subcommand)]
pub(crate) enum ScenarioArgs {
    /// Ramp to N idle sessions, hold, report connect rate and memory per session.
    Connect(ConnectArgs),
    /// Officers and citizens moving in a city; latency and correctness of pushes.
    City(CityArgs),
    /// Citizens request connections and officers accept them at a target rate;
    /// latency, failures, and an audit of every credit through the REST API.
    Handshake(HandshakeArgs),
    /// Citizens redeem points from a few offers of limited stock while tills
    /// redeem the vouchers; latency, rate, and an audit of every voucher,
    /// balance and stock count through the API.
    Redeem(RedeemArgs),
}

/// Where the server is and how the bench's own processes work; every scenario.
#[derive(Debug, Clone, Args)]
pub(crate) struct TargetArgs {
    /// Start a `heyblue serve` child on 127.0.0.1 (temporary data, `file` SMS
    /// adapter, nearest hysteresis from --hysteresis-meters).
    #[arg(long, global = true, conflicts_with = "url")]
    pub(crate) spawn: bool,
    /// Base URL of a running node instead (this or --spawn is required) (http://127.x.y.z:port; loopback only).
    /// It must use the `file` SMS adapter (see --sms-file) and allow many code
    /// requests per client IP.
    #[arg(long, global = true)]
    pub(crate) url: Option<String>,
    /// The metrics listeners (`[metrics] listen`) of the nodes that hold the
    /// sessions, as base URLs in the order of --connect-urls (or of the one --url
    /// node), where memory is read. Default for one node: http://127.0.0.1:9464.
    #[arg(long, global = true, value_delimiter = ',', value_name = "URL")]
    pub(crate) metrics_urls: Vec<String>,
    /// The running node's admin token (roster import).
    #[arg(
        long,
        global = true,
        env = "HEYBLUE_ADMIN_TOKEN",
        hide_env_values = true
    )]
    pub(crate) admin_token: Option<String>,
    /// The running node's `file` SMS adapter output, to read sign-in codes from.
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) sms_file: Option<PathBuf>,
    /// Block of phone numbers to use (0–9): pick a fresh one for each run against
    /// the same long-lived node (codes are limited per phone and hour).
    #[arg(long, global = true, default_value_t = 0)]
    pub(crate) phone_block: u32,
    /// Worker processes holding the client sockets (each may hold about as many
    /// sockets as its open-file limit).
    #[arg(long, global = true, default_value_t = 1)]
    pub(crate) workers: u32,
    /// Loopback source addresses (127.0.x.y) to spread client sockets over.
    #[arg(long, global = true, default_value_t = 64)]
    pub(crate) source_addresses: u32,
    /// Sockets each worker opens at the same time, at most.
    #[arg(long, global = true, default_value_t = 256)]
    pub(crate) concurrency: u32,
    /// Write results.json and report.html into this directory.
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Seed of the trajectories.
    #[arg(long, global = true, default_value_t = 1)]
    pub(crate) seed: u64,
    /// No live progress bar (plain phase lines instead).
    #[arg(long, global = true)]
    pub(crate) no_progress: bool,
}

/// `heyblue bench connect`.
#[derive(Debug, Clone, Args)]
pub(crate) struct ConnectArgs {
    /// Sessions to open (officers and citizens mixed).
    #[arg(long, default_value_t = 1_000)]
    pub(crate) sessions: u32,
    /// Share of officers among the sessions, percent.
    #[arg(long, default_value_t = 10)]
    pub(crate) officer_percent: u32,
    /// New sessions per second over all workers (0: as fast as possible).
    #[arg(long, default_value_t = 0.0)]
    pub(crate) rate: f64,
    /// How long to hold the sessions open before measuring memory.
    #[arg(long, default_value_t = 5)]
    pub(crate) hold_seconds: u64,
    /// A cluster's nodes that hold the sessions, as base URLs (http://127.x.y.z:port,
    /// comma-separated or the option repeated). Sessions go to them round-robin;
    /// sign-in and the roster import go to --url, which any node of the cluster
    /// answers. Memory is read from each of these nodes.
    #[arg(long, value_delimiter = ',', value_name = "URL")]
    pub(crate) connect_urls: Vec<String>,
    /// Also run the same load against a baseline server.
    #[arg(long, value_enum)]
    pub(crate) baseline: Vec<Baseline>,
}

/// `heyblue bench city`.
#[derive(Debug, Clone, Args)]
pub(crate) struct CityArgs {
    /// Simulated officers.
    #[arg(long, default_value_t = 100)]
    pub(crate) officers: u32,
    /// Simulated citizens.
    #[arg(long, default_value_t = DEFAULT_CITIZENS)]
    pub(crate) citizens: u32,
    /// How long people move.
    #[arg(long, default_value_t = DEFAULT_DURATION_SECONDS)]
    pub(crate) duration_seconds: u64,
    /// Time between two positions of one person (a server coalesces anything
    /// faster than its `presence.location_min_interval_ms`, 1000 ms by default;
    /// a spawned server's follows this when it is shorter).
    #[arg(long, default_value_t = 1_000)]
    pub(crate) interval_ms: u64,
    /// Fastest walker or car, metres per second.
    #[arg(long, default_value_t = 12.0)]
    pub(crate) max_speed_mps: f64,
    /// Where people move: `lat_min,lng_min,lat_max,lng_max`.
    #[arg(long, default_value = DEFAULT_BBOX)]
    pub(crate) bbox: BoundingBox,
    /// For the second table: a push is correct if it is the nearest for some
    /// positions sent within this window before it arrived.
    #[arg(long, default_value_t = 1_000)]
    pub(crate) tolerance_ms: u64,
    /// The server's `presence.nearest_hysteresis_meters` (set on a spawned
    /// server; must match a running one).
    #[arg(long, default_value_t = 0.0)]
    pub(crate) hysteresis_meters: f64,
    /// The server's `presence.nearest_max_radius_meters`.
    #[arg(long, default_value_t = 5_000.0)]
    pub(crate) radius_meters: f64,
    /// Report the server's CPU time per location update, read from
    /// /proc/<pid>/stat around the movement (the spawned server, or --server-pid).
    #[arg(long)]
    pub(crate) profile: bool,
    /// The running server's process id, for --profile against --url.
    #[arg(long, requires = "profile")]
    pub(crate) server_pid: Option<u32>,
    /// Also run the same load against a baseline server.
    #[arg(long, value_enum)]
    pub(crate) baseline: Vec<Baseline>,
    /// Run the city twice, on the same people and movement: at the fixed pace
    /// (`--interval-ms`), then with every phone reporting as the server's
    /// `cadence` messages ask; prints both runs' updates/s and correctness.
    /// With --spawn each run gets a fresh server.
    #[arg(long)]
    pub(crate) obey_cadence: bool,
    /// With --obey-cadence: the cadence the server tells an available officer,
    /// `INTERVAL_MS,METRES` (its `[presence.cadence]`
    /// `officer_available_interval_ms` and `..._min_distance_meters`; a spawned
    /// server is given it). Every worker plans the officers' reports with it, and
    /// an officer told otherwise fails the run. Default: the server's default.
    #[arg(long, value_parser = parse_cadence, requires = "obey_cadence")]
    pub(crate) officer_cadence: Option<PhoneCadence>,
}

/// Parses `INTERVAL_MS,METRES`.
fn parse_cadence(text: &str) -> Result<PhoneCadence, String> {
    let (interval, distance) = text
        .split_once(',')
        .ok_or_else(|| "expected INTERVAL_MS,METRES".to_owned())?;
    let interval_ms: u64 = interval
        .trim()
        .parse()
        .map_err(|error| format!("interval: {error}"))?;
    let min_distance_m: u32 = distance
        .trim()
        .parse()
        .map_err(|error| format!("metres: {error}"))?;
    if interval_ms == 0 || interval_ms > 3_600_000 || min_distance_m > 100_000 {
        return Err("an available officer's interval must be 1..=3600000 ms and its distance at most 100000 m".to_owned());
    }
    Ok(PhoneCadence {
        interval_ms,
        min_distance_m,
    })
}

/// `heyblue bench handshake`.
#[derive(Debug, Clone, Args)]
pub(crate) struct HandshakeArgs {
    /// Accepted connection requests per second to aim for (required).
    #[arg(long, default_value_t = 0.0)]
    pub(crate) rate: f64,
    /// How long rounds are started (at most 14 minutes: availability windows
    /// last 15).
    #[arg(long, default_value_t = DEFAULT_DURATION_SECONDS)]
    pub(crate) duration_seconds: u64,
    /// Officer–citizen pairs (0: one per accepted request per second of --rate).
    /// A pair may do at most 1.5 rounds a second: each round costs both sockets
    /// one control message, and a socket may send 100 a minute.
    #[arg(long, default_value_t = 0)]
    pub(crate) pairs: u32,
    /// Where the pairs stand: `lat_min,lng_min,lat_max,lng_max`.
    #[arg(long, default_value = DEFAULT_BBOX)]
    pub(crate) bbox: BoundingBox,
    /// Chaos: every this many seconds of the rounds, kill the spawned server with
    /// SIGKILL and start it again on the same data (needs --spawn). Pairs
    /// reconnect on their own and carry on; the credit check must still pass.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) kill_every_seconds: Option<u64>,
    /// Start the spawned server with `reports.maintain_aggregates = false`
    /// (needs --spawn): the same rounds without report upkeep, to measure
    /// what keeping the aggregates costs.
    #[arg(long)]
    pub(crate) without_report_aggregates: bool,
}

/// `heyblue bench redeem`.
#[derive(Debug, Clone, Args)]
pub(crate) struct RedeemArgs {
    /// Citizens redeeming.
    #[arg(long, default_value_t = DEFAULT_CITIZENS)]
    pub(crate) citizens: u32,
    /// Offers of the one retailer (point costs 10, 20, 30 …).
    #[arg(long, default_value_t = 4)]
    pub(crate) offers: u32,
    /// Vouchers each offer may issue (0: three quarters of the demand, spread over
    /// the offers, so some redemptions are refused `out_of_stock`).
    #[arg(long, default_value_t = 0)]
    pub(crate) stock: u32,
    /// Redemptions each citizen asks for (each citizen is credited enough points
    /// for all of them).
    #[arg(long, default_value_t = 3)]
    pub(crate) redemptions_per_citizen: u32,
    /// Redemption requests in flight at once.
    #[arg(long, default_value_t = 32)]
    pub(crate) redeem_concurrency: u32,
    /// Counter redeems in flight at once (one till key each, at most 100).
    #[arg(long, default_value_t = 8)]
    pub(crate) counter_concurrency: u32,
    /// Share of vouchers two tills redeem at the same time, percent.
    #[arg(long, default_value_t = 10)]
    pub(crate) duplicate_percent: u32,
}

/// A bench scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// See [`ScenarioArgs::Connect`].
    Connect,
    /// See [`ScenarioArgs::City`].
    City,
    /// See [`ScenarioArgs::Handshake`].
    Handshake,
    /// See [`ScenarioArgs::Redeem`].
    Redeem,
}

/// A baseline to measure in the same run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Baseline {
    /// A bare tokio-tungstenite echo server with the gateway's buffer settings.
    Echo,
    /// redis-server, when installed.
    Redis,
}

impl Scenario {
    /// The name used in reports.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Scenario::Connect => "connect",
            Scenario::City => "city",
            Scenario::Handshake => "handshake",
            Scenario::Redeem => "redeem",
        }
    }
}

/// Every option of a run, whatever its scenario: the scenario's own, and the
/// defaults of the others (which it does not read).
#[derive(Debug, Clone)]
pub(crate) struct BenchOptions {
    /// The scenario.
    pub(crate) scenario: Scenario,
    /// See [`TargetArgs::spawn`].
    pub(crate) spawn: bool,
    /// See [`TargetArgs::url`].
    pub(crate) url: Option<String>,
    /// See [`ConnectArgs::connect_urls`].
    pub(crate) connect_urls: Vec<String>,
    /// See [`TargetArgs::metrics_urls`].
    pub(crate) metrics_urls: Vec<String>,
    /// See [`TargetArgs::admin_token`].
    pub(crate) admin_token: Option<String>,
    /// See [`TargetArgs::sms_file`].
    pub(crate) sms_file: Option<PathBuf>,
    /// See [`TargetArgs::phone_block`].
    pub(crate) phone_block: u32,
    /// See [`ConnectArgs::sessions`].
    pub(crate) sessions: u32,
    /// See [`ConnectArgs::officer_percent`].
    pub(crate) officer_percent: u32,
    /// See [`ConnectArgs::rate`] and [`HandshakeArgs::rate`].
    pub(crate) rate: f64,
    /// See [`ConnectArgs::hold_seconds`].
    pub(crate) hold_seconds: u64,
    /// See [`CityArgs::officers`].
    pub(crate) officers: u32,
    /// See [`CityArgs::citizens`] and [`RedeemArgs::citizens`].
    pub(crate) citizens: u32,
    /// See [`RedeemArgs::offers`].
    pub(crate) offers: u32,
    /// See [`RedeemArgs::stock`].
    pub(crate) stock: u32,
    /// See [`RedeemArgs::redemptions_per_citizen`].
    pub(crate) redemptions_per_citizen: u32,
    /// See [`RedeemArgs::redeem_concurrency`].
    pub(crate) redeem_concurrency: u32,
    /// See [`RedeemArgs::counter_concurrency`].
    pub(crate) counter_concurrency: u32,
    /// See [`RedeemArgs::duplicate_percent`].
    pub(crate) duplicate_percent: u32,
    /// See [`CityArgs::duration_seconds`] and [`HandshakeArgs::duration_seconds`].
    pub(crate) duration_seconds: u64,
    /// See [`HandshakeArgs::pairs`].
    pub(crate) pairs: u32,
    /// See [`HandshakeArgs::kill_every_seconds`].
    pub(crate) kill_every_seconds: Option<u64>,
    /// See [`HandshakeArgs::without_report_aggregates`].
    pub(crate) report_upkeep: crate::store::ReportUpkeep,
    /// See [`CityArgs::interval_ms`].
    pub(crate) interval_ms: u64,
    /// See [`CityArgs::max_speed_mps`].
    pub(crate) max_speed_mps: f64,
    /// See [`CityArgs::bbox`] and [`HandshakeArgs::bbox`].
    pub(crate) bbox: BoundingBox,
    /// See [`CityArgs::tolerance_ms`].
    pub(crate) tolerance_ms: u64,
    /// See [`CityArgs::hysteresis_meters`].
    pub(crate) hysteresis_meters: f64,
    /// See [`CityArgs::radius_meters`].
    pub(crate) radius_meters: f64,
    /// See [`CityArgs::profile`].
    pub(crate) profile: bool,
    /// See [`CityArgs::server_pid`].
    pub(crate) server_pid: Option<u32>,
    /// See [`TargetArgs::workers`].
    pub(crate) workers: u32,
    /// See [`TargetArgs::source_addresses`].
    pub(crate) source_addresses: u32,
    /// See [`TargetArgs::concurrency`].
    pub(crate) concurrency: u32,
    /// See [`ConnectArgs::baseline`] and [`CityArgs::baseline`].
    pub(crate) baseline: Vec<Baseline>,
    /// [`CityArgs::obey_cadence`]: the officers' cadence when set.
    pub(crate) obey_cadence: Option<PhoneCadence>,
    /// See [`TargetArgs::out`].
    pub(crate) out: Option<PathBuf>,
    /// See [`TargetArgs::seed`].
    pub(crate) seed: u64,
    /// See [`TargetArgs::no_progress`].
    pub(crate) no_progress: bool,
}

impl BenchArgs {
    /// The run's options.
    pub(crate) fn options(self) -> BenchOptions {
        let target = self.target;
        match self.scenario {
            ScenarioArgs::Connect(connect) => BenchOptions {
                sessions: connect.sessions,
                officer_percent: connect.officer_percent,
                rate: connect.rate,
                hold_seconds: connect.hold_seconds,
                connect_urls: connect.connect_urls,
                baseline: connect.baseline,
                ..BenchOptions::defaults(Scenario::Connect, target)
            },
            ScenarioArgs::City(city) => BenchOptions {
                officers: city.officers,
                citizens: city.citizens,
                duration_seconds: city.duration_seconds,
                interval_ms: city.interval_ms,
                max_speed_mps: city.max_speed_mps,
                bbox: city.bbox,
                tolerance_ms: city.tolerance_ms,
                hysteresis_meters: city.hysteresis_meters,
                radius_meters: city.radius_meters,
                profile: city.profile,
                server_pid: city.server_pid,
                baseline: city.baseline,
                obey_cadence: city.obey_cadence.then(|| {
                    city.officer_cadence
                        .unwrap_or_else(PhoneCadence::officer_default)
                }),
                ..BenchOptions::defaults(Scenario::City, target)
            },
            ScenarioArgs::Handshake(handshake) => BenchOptions {
                rate: handshake.rate,
                duration_seconds: handshake.duration_seconds,
                pairs: handshake.pairs,
                bbox: handshake.bbox,
                kill_every_seconds: handshake.kill_every_seconds,
                report_upkeep: if handshake.without_report_aggregates {
                    crate::store::ReportUpkeep::Skip
                } else {
                    crate::store::ReportUpkeep::Maintain
                },
                ..BenchOptions::defaults(Scenario::Handshake, target)
            },
            ScenarioArgs::Redeem(redeem) => BenchOptions {
                citizens: redeem.citizens,
                offers: redeem.offers,
                stock: redeem.stock,
                redemptions_per_citizen: redeem.redemptions_per_citizen,
                redeem_concurrency: redeem.redeem_concurrency,
                counter_concurrency: redeem.counter_concurrency,
                duplicate_percent: redeem.duplicate_percent,
                ..BenchOptions::defaults(Scenario::Redeem, target)
            },
        }
    }
}

impl BenchOptions {
    /// `target` with every scenario option at its default.
    fn defaults(scenario: Scenario, target: TargetArgs) -> Self {
        Self {
            scenario,
            spawn: target.spawn,
            url: target.url,
            connect_urls: Vec::new(),
            metrics_urls: target.metrics_urls,
            admin_token: target.admin_token,
            sms_file: target.sms_file,
            phone_block: target.phone_block,
            sessions: 1_000,
            officer_percent: 10,
            rate: 0.0,
            hold_seconds: 5,
            officers: 100,
            citizens: DEFAULT_CITIZENS,
            offers: 4,
            stock: 0,
            redemptions_per_citizen: 3,
            redeem_concurrency: 32,
            counter_concurrency: 8,
            duplicate_percent: 10,
            duration_seconds: DEFAULT_DURATION_SECONDS,
            pairs: 0,
            kill_every_seconds: None,
            report_upkeep: crate::store::ReportUpkeep::Maintain,
            interval_ms: 1_000,
            max_speed_mps: 12.0,
            bbox: BoundingBox::MANHATTAN_AND_HOBOKEN,
            tolerance_ms: 1_000,
            hysteresis_meters: 0.0,
            radius_meters: 5_000.0,
            profile: false,
            server_pid: None,
            workers: target.workers,
            source_addresses: target.source_addresses,
            concurrency: target.concurrency,
            baseline: Vec::new(),
            obey_cadence: None,
            out: target.out,
            seed: target.seed,
            no_progress: target.no_progress,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[derive(Debug, Parser)]
    struct CommandLine {
        #[command(flatten)]
        bench: BenchArgs,
    }

    fn parse(arguments: &[&str]) -> Result<BenchOptions, clap::Error> {
        let line = std::iter::once("bench").chain(arguments.iter().copied());
        CommandLine::try_parse_from(line).map(|parsed| parsed.bench.options())
    }

    #[test]
    fn each_scenario_takes_its_own_options() {
        let city = parse(&[
            "city",
            "--spawn",
            "--officers",
            "5",
            "--tolerance-ms",
            "200",
        ])
        .unwrap();
        assert_eq!(city.scenario, Scenario::City);
        assert_eq!((city.officers, city.tolerance_ms), (5, 200));
        assert_eq!(city.bbox, BoundingBox::MANHATTAN_AND_HOBOKEN);
        let redeem = parse(&["redeem", "--spawn", "--citizens", "7", "--offers", "2"]).unwrap();
        assert_eq!((redeem.citizens, redeem.offers), (7, 2));
        let handshake = parse(&["handshake", "--spawn", "--rate", "20"]).unwrap();
        assert_eq!(handshake.rate, 20.0);
        assert!(parse(&["redeem", "--spawn", "--officers", "5"]).is_err());
        assert!(parse(&["connect", "--spawn", "--tolerance-ms", "5"]).is_err());
        assert!(parse(&["city", "--spawn", "--server-pid", "1"]).is_err());
        let before = parse(&["--url", "http://127.0.0.1:1", "connect", "--sessions", "3"]).unwrap();
        assert_eq!(before.url.as_deref(), Some("http://127.0.0.1:1"));
        assert_eq!(before.sessions, 3);
    }

    #[test]
    fn obey_cadence_plans_officers_at_the_servers_default_or_the_given_cadence() {
        let fixed = parse(&["city", "--spawn"]).unwrap();
        assert_eq!(fixed.obey_cadence, None);
        let obeying = parse(&["city", "--spawn", "--obey-cadence"]).unwrap();
        assert_eq!(obeying.obey_cadence, Some(PhoneCadence::officer_default()));
        let given = parse(&[
            "city",
            "--spawn",
            "--obey-cadence",
            "--officer-cadence",
            "3000,15",
        ])
        .unwrap();
        assert_eq!(
            given.obey_cadence,
            Some(PhoneCadence {
                interval_ms: 3_000,
                min_distance_m: 15
            })
        );
        // Only with --obey-cadence, and an officer must be asked to report.
        assert!(parse(&["city", "--spawn", "--officer-cadence", "3000,15"]).is_err());
        for bad in ["0,10", "3000", "3000,-1", "x,10"] {
            assert!(
                parse(&[
                    "city",
                    "--spawn",
                    "--obey-cadence",
                    "--officer-cadence",
                    bad
                ])
                .is_err(),
                "{bad}"
            );
        }
        assert!(parse(&["handshake", "--spawn", "--obey-cadence"]).is_err());
    }

    #[test]
    fn help_lists_only_the_scenarios_options() {
        let mut command = CommandLine::command();
        command.build();
        let city = command.find_subcommand_mut("city").unwrap();
        let help = city.render_long_help().to_string();
        assert!(help.contains("--tolerance-ms") && help.contains("--spawn"));
        assert!(!help.contains("--redeem-concurrency") && !help.contains("--hold-seconds"));
    }

    #[test]
    fn the_default_box_is_the_cli_default() {
        assert_eq!(
            DEFAULT_BBOX.parse::<BoundingBox>().unwrap(),
            BoundingBox::MANHATTAN_AND_HOBOKEN
        );
    }
}
