//! `heyblue bench`: checks the options, raises the open-file limit, starts (or
//! finds) the server, imports the roster, runs the workers through the
//! scenario's phases (sign-in, connect, then move, hold or handshake rounds and
//! the credit check), then the same load against the baselines, and hands the
//! figures to the report. The redeem scenario is HTTP only and runs here, with
//! no worker processes.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::BenchError;
use super::cadence::PhoneCadence;
use super::chaos::kill_repeatedly_during;
use super::cli::{Baseline, BenchArgs, BenchOptions, Scenario};
use super::cpu::cpu_time_us;
use super::fleet::{Fleet, MemoryProbe};
use super::handshake_report::{HandshakeFigures, HandshakeSetup};
use super::movement::{PersonKind, Schedule};
use super::net::{is_loopback_host, raise_open_file_limit, sockets_allowed};
use super::pairs::{MAX_ROUNDS_PER_PAIR_PER_SECOND, Placement, RoundSchedule};
use super::plan::{Command, HandshakePlan, Target, WorkerPlan, phone_number};
use super::redeem::{Admin, run_redeem};
use super::redis_baseline::{find_redis_server, run_redis_baseline};
use super::report::{Memory, Report, RunResult};
use super::session::unix_now_us;
use super::spawn::{EVERY_ROUND_REWARDED, ServerSettings, SpawnedServer, spawn_echo, spawn_server};
use super::stats::LatencyExport;
use crate::proto::limits::LOCATION_MIN_INTERVAL_MS;

/// The metrics listener of a node left at its default `[metrics] listen`.
const DEFAULT_METRICS_URL: &str = "http://127.0.0.1:9464";

/// Longest city run: officers' availability windows last 15 minutes.
const MAX_DURATION_SECONDS: u64 = 14 * 60;
/// Delay between the go signal and the first move, so all workers are waiting.
const START_DELAY: Duration = Duration::from_millis(1500);
/// People per phone block.
const MAX_PEOPLE_PER_KIND: u32 = 700_000;
/// Highest handshake rate accepted, requests per second.
const MAX_HANDSHAKE_RATE: f64 = 100_000.0;

/// Runs a bench and returns its report (already printed and written).
pub async fn run_bench(args: BenchArgs) -> Result<Report, BenchError> {
    let args = args.options();
    validate(&args)?;
    let (open_file_limit, hard_limit) = raise_open_file_limit();
    let (officers, citizens) = people(&args);
    let total = u64::from(officers) + u64::from(citizens);
    let per_worker = total.div_ceil(u64::from(args.workers));
    let allowed = sockets_allowed(open_file_limit);
    if per_worker > allowed {
        return Err(BenchError::Usage(format!(
            "each of the {} worker(s) would hold {per_worker} sockets, but a process may open {open_file_limit} files \
             (hard limit {hard_limit}, `ulimit -Hn`); use --workers {} or more",
            args.workers,
            total.div_ceil(allowed.max(1))
        )));
    }
    if args.spawn && total > allowed {
        eprintln!(
            "warning: the spawned server is one process with an open-file limit of {hard_limit}: it can hold about {allowed} \
             sockets, fewer than the {total} asked for; more need several nodes"
        );
    }
    let session_nodes = session_nodes(&args)?;
    let remote_metrics_urls = if args.spawn {
        Vec::new()
    } else {
        metrics_urls(&args, session_nodes.len().max(1))?
    };
    let per_node = total.div_ceil(session_nodes.len().max(1) as u64);
    if session_nodes.len() > 1 && per_node > allowed {
        eprintln!(
            "warning: each of the {} nodes would hold about {per_node} sessions; a node whose open-file limit is \
             {hard_limit}, as here, holds about {allowed}: list more nodes in --connect-urls",
            session_nodes.len()
        );
    }
    let redis_server = if args.baseline.contains(&Baseline::Redis) {
        redis_baseline_program(args.scenario)
    } else {
        None
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|error| BenchError::Setup(format!("http client: {error}")))?;

    let mut runs = Vec::new();
    // `--obey-cadence`: the same run at the fixed pace first, then obeying.
    let paces = match args.obey_cadence {
        Some(officer_cadence) => vec![
            ("heyblue", None),
            ("heyblue cadence", Some(officer_cadence)),
        ],
        None => vec![("heyblue", None)],
    };
    for (label, obey_cadence) in paces {
        let args = &BenchOptions {
            obey_cadence,
            ..args.clone()
        };
        let mut spawned = if args.spawn {
            let settings = ServerSettings {
                hysteresis_m: args.hysteresis_meters,
                reward_every_round: args.scenario == Scenario::Handshake,
                location_interval_ms: args.interval_ms.min(LOCATION_MIN_INTERVAL_MS),
                officer_cadence: obey_cadence.unwrap_or_else(PhoneCadence::officer_default),
                report_upkeep: args.report_upkeep,
            };
            Some(spawn_server(&http, settings).await?)
        } else {
            None
        };
        let (base_url, admin_token, sms_file) = match &spawned {
            Some(server) => (
                server.base_url.clone(),
                server.admin_token.clone(),
                server.sms_file.clone(),
            ),
            None => remote_target(args)?,
        };
        if args.scenario == Scenario::Redeem {
            let admin = Admin {
                http: &http,
                base_url: &base_url,
                token: &admin_token,
            };
            runs.push(redeem_once(args, admin, &sms_file).await?);
            return finish(args, open_file_limit, runs);
        }
        super::signin::import_roster(&http, &base_url, &admin_token, officers, |index| {
            phone_number(PersonKind::Officer, index, args.phone_block)
        })
        .await?;
        // The nodes that hold the sessions: those of --connect-urls, or the one node.
        let node_urls = if session_nodes.is_empty() {
            vec![base_url.clone()]
        } else {
            session_nodes.clone()
        };
        let target = Target::Heyblue {
            ws_urls: node_urls
                .iter()
                .map(|node_url| format!("{}/v1/ws", node_url.replacen("http://", "ws://", 1)))
                .collect(),
            base_url: base_url.clone(),
            sms_file,
            phone_block: args.phone_block,
        };
        let metrics_urls = match &spawned {
            Some(server) => vec![server.metrics_url.clone()],
            None => remote_metrics_urls.clone(),
        };
        let probe = MemoryProbe::Metrics {
            nodes: node_urls.into_iter().zip(metrics_urls).collect(),
            http: http.clone(),
        };
        let profile_pid = if args.profile {
            spawned
                .as_ref()
                .and_then(SpawnedServer::pid)
                .or(args.server_pid)
        } else {
            None
        };
        let people = (officers, citizens);
        let chaos = spawned
            .as_mut()
            .zip(args.kill_every_seconds)
            .map(|(server, every)| Chaos {
                server,
                http: &http,
                every: Duration::from_secs(every),
            });
        runs.push(run_once(args, label, target, probe, people, profile_pid, chaos).await?);
    }
    if args.baseline.contains(&Baseline::Echo) {
        let echo = spawn_echo().await?;
        let probe = match echo.pid() {
            Some(pid) => MemoryProbe::Process { pid },
            None => return Err(BenchError::Setup("the echo server has no pid".to_owned())),
        };
        let target = Target::Echo {
            ws_url: echo.ws_url.clone(),
        };
        runs.push(
            run_once(
                &args,
                "echo",
                target,
                probe,
                (officers, citizens),
                None,
                None,
            )
            .await?,
        );
    }
    if let Some(program) = &redis_server {
        runs.push(run_redis_baseline(program, &args, officers, citizens).await?);
    }
    finish(&args, open_file_limit, runs)
}

/// Prints the table, writes the reports, and returns them.
fn finish(
    args: &BenchOptions,
    open_file_limit: u64,
    runs: Vec<RunResult>,
) -> Result<Report, BenchError> {
    let report = Report::new(args, open_file_limit, runs);
    print!("{}", report.table());
    if let Some(directory) = &args.out {
        report.write(directory).map_err(BenchError::Output)?;
        println!("results written to {}", directory.display());
    }
    Ok(report)
}

fn validate(args: &BenchOptions) -> Result<(), BenchError> {
    let usage = |message: &str| Err(BenchError::Usage(message.to_owned()));
    if !args.spawn && args.url.is_none() {
        return usage("give --spawn or --url");
    }
    if args.spawn && !(args.connect_urls.is_empty() && args.metrics_urls.is_empty()) {
        return usage(
            "--connect-urls and --metrics-urls describe nodes started elsewhere: use --url",
        );
    }
    if args.spawn && args.server_pid.is_some() {
        return usage(
            "--server-pid is for a server started elsewhere (--url); --spawn profiles its own",
        );
    }
    if args.workers == 0 || args.workers > 64 {
        return usage("--workers must be 1 to 64");
    }
    if args.phone_block > 9 {
        return usage("--phone-block must be 0 to 9");
    }
    if args.interval_ms < 100 {
        return usage("--interval-ms must be at least 100");
    }
    if args.duration_seconds == 0 || args.duration_seconds > MAX_DURATION_SECONDS {
        return usage("--duration-seconds must be 1 to 840 (availability windows last 15 minutes)");
    }
    if args.hold_seconds > 3_600 {
        return usage("--hold-seconds must be at most 3600");
    }
    if !(0.0..=1_000.0).contains(&args.hysteresis_meters)
        || !(100.0..=50_000.0).contains(&args.radius_meters)
    {
        return usage("--hysteresis-meters must be 0 to 1000 and --radius-meters 100 to 50000");
    }
    if args.source_addresses == 0 || args.source_addresses > 60_000 {
        return usage("--source-addresses must be 1 to 60000");
    }
    if args.officer_percent > 100 {
        return usage("--officer-percent must be 0 to 100");
    }
    let (officers, citizens) = people(args);
    if officers > MAX_PEOPLE_PER_KIND || citizens > MAX_PEOPLE_PER_KIND {
        return usage("at most 700000 officers and 700000 citizens");
    }
    if officers + citizens == 0 {
        return usage("nobody to simulate");
    }
    if args.scenario == Scenario::City && citizens > 0 && officers == 0 {
        return usage("a city needs officers");
    }
    if args.scenario == Scenario::Handshake {
        validate_handshake(args)?;
    }
    if args.scenario == Scenario::Redeem {
        validate_redeem(args)?;
    }
    if !args.connect_urls.is_empty() && args.scenario != Scenario::Connect {
        return usage(
            "--connect-urls spreads the sessions of the connect scenario; city and handshake run against one node",
        );
    }
    session_nodes(args)?;
    Ok(())
}

/// The base URLs of --connect-urls, checked: each a loopback `http://host:port`,
/// none twice. Empty when the option is not given.
fn session_nodes(args: &BenchOptions) -> Result<Vec<String>, BenchError> {
    let mut nodes: Vec<String> = Vec::with_capacity(args.connect_urls.len());
    for url in &args.connect_urls {
        let base_url = loopback_base_url("--connect-urls", url)?;
        if nodes.contains(&base_url) {
            return Err(BenchError::Usage(format!(
                "--connect-urls names {base_url} twice"
            )));
        }
        nodes.push(base_url);
    }
    Ok(nodes)
}

/// The metrics listeners of the session nodes, in their order: `--metrics-urls`,
/// or for one node the default metrics listener (127.0.0.1:9464).
fn metrics_urls(args: &BenchOptions, session_nodes: usize) -> Result<Vec<String>, BenchError> {
    if args.metrics_urls.is_empty() {
        if session_nodes == 1 {
            return Ok(vec![DEFAULT_METRICS_URL.to_owned()]);
        }
        return Err(BenchError::Usage(
            "--connect-urls needs --metrics-urls: each node's [metrics] listen, in the same order"
                .to_owned(),
        ));
    }
    if args.metrics_urls.len() != session_nodes {
        return Err(BenchError::Usage(format!(
            "--metrics-urls names {} listener(s) for {session_nodes} node(s)",
            args.metrics_urls.len()
        )));
    }
    args.metrics_urls
        .iter()
        .map(|url| loopback_base_url("--metrics-urls", url))
        .collect()
}

fn validate_handshake(args: &BenchOptions) -> Result<(), BenchError> {
    let usage = |message: String| Err(BenchError::Usage(message));
    if !(args.rate > 0.0 && args.rate <= MAX_HANDSHAKE_RATE) {
        return usage(
            "handshake needs --rate: accepted requests per second, above 0 and at most 100000"
                .to_owned(),
        );
    }
    if !args.baseline.is_empty() {
        return usage("handshake has no baseline to compare with".to_owned());
    }
    let pairs = handshake_pairs(args);
    if args.rate / f64::from(pairs) > MAX_ROUNDS_PER_PAIR_PER_SECOND {
        return usage(format!(
            "{pairs} pairs cannot carry {} rounds/s: a pair does at most {MAX_ROUNDS_PER_PAIR_PER_SECOND} a second \
             (each socket may send 100 control messages a minute); use --pairs {} or more",
            args.rate,
            (args.rate / MAX_ROUNDS_PER_PAIR_PER_SECOND).ceil()
        ));
    }
    if total_rounds(args) == 0 {
        return usage("--rate × --duration-seconds gives no round to run".to_owned());
    }
    if args.report_upkeep == crate::store::ReportUpkeep::Skip && !args.spawn {
        return usage(
            "--without-report-aggregates configures the spawned server: it needs --spawn"
                .to_owned(),
        );
    }
    if args.kill_every_seconds.is_some() && !args.spawn {
        return usage(
            "--kill-every-seconds kills the server the bench spawned: it needs --spawn".to_owned(),
        );
    }
    Placement::new(&args.bbox, pairs).map_err(BenchError::Usage)?;
    Ok(())
}

fn validate_redeem(args: &BenchOptions) -> Result<(), BenchError> {
    let usage = |message: &str| Err(BenchError::Usage(message.to_owned()));
    if !args.baseline.is_empty() {
        return usage("redeem has no baseline to compare with");
    }
    if args.citizens == 0 || args.redemptions_per_citizen == 0 {
        return usage("redeem needs --citizens and --redemptions-per-citizen above 0");
    }
    if args.redemptions_per_citizen > 100 {
        return usage("--redemptions-per-citizen must be at most 100");
    }
    if args.offers == 0 || args.offers > 100 {
        return usage("--offers must be 1 to 100");
    }
    if args.redeem_concurrency == 0 || args.redeem_concurrency > 4_096 {
        return usage("--redeem-concurrency must be 1 to 4096");
    }
    // One till key each; an issuer holds at most 100 keys.
    if args.counter_concurrency == 0 || args.counter_concurrency > 100 {
        return usage("--counter-concurrency must be 1 to 100");
    }
    if args.duplicate_percent > 100 {
        return usage("--duplicate-percent must be 0 to 100");
    }
    Ok(())
}

/// Runs the redeem scenario and wraps its figures as a run.
async fn redeem_once(
    args: &BenchOptions,
    admin: Admin<'_>,
    sms_file: &std::path::Path,
) -> Result<RunResult, BenchError> {
    let (figures, phases) = run_redeem(args, admin, sms_file).await?;
    let mut result = RunResult::new(
        "heyblue",
        args.scenario,
        0,
        args.citizens,
        Default::default(),
        &LatencyExport::default(),
        phases,
        0,
        0.0,
        Memory::new(&[], &[], 0),
        Vec::new(),
    );
    result.redeem = Some(figures);
    Ok(result)
}

/// The handshake's pairs: as asked, or one per accepted request per second.
fn handshake_pairs(args: &BenchOptions) -> u32 {
    if args.pairs > 0 {
        return args.pairs;
    }
    // Within u32 after validation (--rate ≤ 100000).
    (args.rate.ceil() as u32).max(1)
}

/// Rounds in a handshake run.
fn total_rounds(args: &BenchOptions) -> u64 {
    (args.rate * args.duration_seconds as f64).round() as u64
}

/// The connection rules in force during a handshake run, in words.
fn rules_in_force(args: &BenchOptions) -> String {
    if args.spawn {
        format!(
            "every round rewarded: the spawned server runs with [connections] {} (other rules at their defaults: request radius 500 m, co-location 250 m, positions at most 60 s old)",
            EVERY_ROUND_REWARDED.trim_end().replace('\n', ", ")
        )
    } else {
        "the node's own (not known to the bench): withheld rewards are counted by reason, not as failures".to_owned()
    }
}

/// Officers and citizens of the run.
fn people(args: &BenchOptions) -> (u32, u32) {
    match args.scenario {
        Scenario::Connect => {
            let officers =
                u32::try_from(u64::from(args.sessions) * u64::from(args.officer_percent) / 100)
                    .unwrap_or(0);
            (officers, args.sessions - officers.min(args.sessions))
        }
        Scenario::City => (args.officers, args.citizens),
        Scenario::Handshake => {
            let pairs = handshake_pairs(args);
            (pairs, pairs)
        }
        Scenario::Redeem => (0, args.citizens),
    }
}

fn remote_target(args: &BenchOptions) -> Result<(String, String, std::path::PathBuf), BenchError> {
    let Some(url) = &args.url else {
        return Err(BenchError::Usage("give --spawn or --url".to_owned()));
    };
    let base_url = loopback_base_url("--url", url)?;
    let admin_token = args.admin_token.clone().ok_or_else(|| {
        BenchError::Usage("--url needs --admin-token (or HEYBLUE_ADMIN_TOKEN)".to_owned())
    })?;
    let sms_file = args.sms_file.clone().ok_or_else(|| {
        BenchError::Usage("--url needs --sms-file: the node must use the `file` SMS adapter so the bench can sign in".to_owned())
    })?;
    Ok((base_url, admin_token, sms_file))
}

/// `url` without a trailing `/`, when it is `http://host:port` on this machine.
fn loopback_base_url(option: &str, url: &str) -> Result<String, BenchError> {
    let base_url = url.trim().trim_end_matches('/').to_owned();
    let authority = base_url
        .strip_prefix("http://")
        .filter(|authority| !authority.is_empty() && !authority.contains('/'))
        .ok_or_else(|| BenchError::Usage(format!("{option}: \"{url}\" is not http://host:port")))?;
    let (host, port) = authority.rsplit_once(':').ok_or_else(|| {
        BenchError::Usage(format!(
            "{option}: \"{url}\" names no port (http://host:port)"
        ))
    })?;
    if port.parse::<u16>().is_err() {
        return Err(BenchError::Usage(format!(
            "{option}: \"{url}\" has no valid port"
        )));
    }
    if !is_loopback_host(host) {
        return Err(BenchError::Usage(format!(
            "{option} must point at this machine (127.0.0.0/8): load runs stay on loopback"
        )));
    }
    Ok(base_url)
}

/// The `redis-server` to run `--baseline redis` with, or `None` after saying why
/// the baseline is skipped.
fn redis_baseline_program(scenario: Scenario) -> Option<std::path::PathBuf> {
    if scenario != Scenario::City {
        eprintln!("baseline redis skipped: it runs with the city scenario only");
        return None;
    }
    let program = find_redis_server();
    if program.is_none() {
        eprintln!("baseline redis skipped: redis-server is not installed");
    }
    program
}

async fn run_once(
    args: &BenchOptions,
    label: &str,
    target: Target,
    probe: MemoryProbe,
    (officers, citizens): (u32, u32),
    profile_pid: Option<u32>,
    chaos: Option<Chaos<'_>>,
) -> Result<RunResult, BenchError> {
    let moving = args.scenario == Scenario::City;
    let handshake = if args.scenario == Scenario::Handshake {
        Some(HandshakePlan {
            placement: Placement::new(&args.bbox, officers).map_err(BenchError::Usage)?,
            expect_rewards: args.spawn,
            reconnect: args.kill_every_seconds.is_some(),
        })
    } else {
        None
    };
    let rate_per_worker = if handshake.is_some() {
        0.0
    } else {
        args.rate / f64::from(args.workers)
    };
    let plans: Vec<WorkerPlan> = (0..args.workers)
        .map(|worker_index| WorkerPlan {
            worker_index,
            workers: args.workers,
            target: target.clone(),
            officers,
            citizens,
            moving,
            seed: args.seed,
            bbox: args.bbox,
            max_speed_mps: args.max_speed_mps,
            interval_ms: args.interval_ms,
            tolerance_ms: args.tolerance_ms,
            hysteresis_m: args.hysteresis_meters,
            radius_m: args.radius_meters,
            source_addresses: args.source_addresses,
            concurrency: args.concurrency,
            connect_rate_per_second: rate_per_worker,
            handshake: handshake.clone(),
            obey_cadence: args.obey_cadence,
        })
        .collect();
    let bar = progress_bar(args.no_progress, label);
    let mut fleet = Fleet::start(plans, probe, bar).await?;
    let sign_in_ms = fleet.run(&Command::SignIn, "sign_in").await?;
    let memory_before = fleet.server_readings().await;
    let mut phases = vec![("sign_in".to_owned(), sign_in_ms)];
    let mut move_seconds = 0.0;
    let mut server_cpu_us = None;
    let mut handshake_setup = None;
    let connect_ms;
    if let Some(plan) = handshake {
        let (pairs_ms, setup) =
            handshake_phases(args, &mut fleet, &mut phases, plan, chaos).await?;
        connect_ms = pairs_ms;
        handshake_setup = Some(setup);
    } else if moving {
        let officers_ms = fleet
            .run(&Command::ConnectOfficers, "connect_officers")
            .await?;
        let citizens_ms = fleet
            .run(&Command::ConnectCitizens, "connect_citizens")
            .await?;
        phases.push(("connect_officers".to_owned(), officers_ms));
        phases.push(("connect_citizens".to_owned(), citizens_ms));
        connect_ms = officers_ms + citizens_ms;
        let interval_us = i64::try_from(args.interval_ms * 1000).unwrap_or(1_000_000);
        let last_tick = (args.duration_seconds * 1000) / args.interval_ms.max(1);
        let schedule = Schedule {
            t0_us: unix_now_us() + i64::try_from(START_DELAY.as_micros()).unwrap_or(0),
            interval_us,
            last_tick,
        };
        let cpu_before_us = profile_pid.and_then(cpu_time_us);
        let move_ms = fleet.run(&Command::Move { schedule }, "move").await?;
        let cpu_after_us = profile_pid.and_then(cpu_time_us);
        server_cpu_us = cpu_before_us
            .zip(cpu_after_us)
            .map(|(before, after)| after.saturating_sub(before));
        if args.profile && server_cpu_us.is_none() {
            eprintln!("warning: --profile could not read the server's CPU time from /proc");
        }
        phases.push(("move".to_owned(), move_ms));
        move_seconds = (last_tick * args.interval_ms) as f64 / 1000.0;
    } else {
        connect_ms = fleet.run(&Command::ConnectAll, "connect").await?;
        phases.push(("connect".to_owned(), connect_ms));
        fleet
            .hold(Duration::from_secs(args.hold_seconds), "hold")
            .await?;
    }
    let memory_after = fleet.server_readings().await;
    let sessions_open = fleet.totals().open;
    let results = fleet.finish().await?;
    let mut result = RunResult::new(
        label,
        args.scenario,
        officers,
        citizens,
        results.counters,
        &results.latencies,
        phases,
        connect_ms,
        move_seconds,
        Memory::new(&memory_before, &memory_after, sessions_open),
        results.timeline,
    );
    result.set_server_cpu(server_cpu_us);
    result.set_paces(&results.latencies.paces, args.interval_ms as f64 / 1_000.0);
    if let Some(setup) = handshake_setup {
        result.handshake = Some(HandshakeFigures::new(
            &setup,
            &results.counters,
            &results.latencies,
            results.tally,
        ));
    }
    Ok(result)
}

/// The spawned server to kill and restart during the rounds, and how often.
#[derive(Debug)]
struct Chaos<'run> {
    /// The server.
    server: &'run mut SpawnedServer,
    /// Asks it whether it is ready again.
    http: &'run reqwest::Client,
    /// Time between two kills.
    every: Duration,
}

/// The handshake's phases after sign-in: set up the pairs, run the rounds, check
/// the credits. Returns how long the setup took (ms) and the run's setup.
async fn handshake_phases(
    args: &BenchOptions,
    fleet: &mut Fleet,
    phases: &mut Vec<(String, u64)>,
    plan: HandshakePlan,
    chaos: Option<Chaos<'_>>,
) -> Result<(u64, HandshakeSetup), BenchError> {
    let pairs_ms = fleet.run(&Command::ConnectPairs, "connect_pairs").await?;
    phases.push(("connect_pairs".to_owned(), pairs_ms));
    let pairs = handshake_pairs(args);
    let schedule = RoundSchedule {
        t0_us: unix_now_us() + i64::try_from(START_DELAY.as_micros()).unwrap_or(0),
        rate_per_second: args.rate,
        total_rounds: total_rounds(args),
        pairs,
    };
    let command = Command::Rounds { schedule };
    let rounds = fleet.run(&command, "rounds");
    let (rounds_ms, chaos) = match chaos {
        Some(Chaos {
            server,
            http,
            every,
        }) => {
            let (rounds_ms, figures) = kill_repeatedly_during(rounds, server, http, every).await;
            (rounds_ms?, Some(figures?))
        }
        None => (rounds.await?, None),
    };
    phases.push(("rounds".to_owned(), rounds_ms));
    let audit_ms = fleet.run(&Command::Audit, "credit_check").await?;
    phases.push(("credit_check".to_owned(), audit_ms));
    let setup = HandshakeSetup {
        pairs,
        target_rate_per_s: args.rate,
        rounds_scheduled: schedule.total_rounds,
        t0_us: schedule.t0_us,
        spacing_m: plan.placement.spacing_m(),
        rules: rules_in_force(args),
        chaos,
    };
    Ok((pairs_ms, setup))
}

fn progress_bar(disabled: bool, label: &str) -> ProgressBar {
    let visible = !disabled && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let bar = if visible {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    let style = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {prefix}: {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    bar.set_style(style);
    bar.set_prefix(label.to_owned());
    bar.enable_steady_tick(Duration::from_millis(200));
    if !visible {
        eprintln!("bench {label}: starting");
    }
    bar
}
