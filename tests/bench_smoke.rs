//! Short `heyblue bench` runs against a server it spawns: a few seconds each,
//! small numbers. They fail if any pushed answer is wrong, if a session or a
//! handshake round failed, if any credit is doubled or missing, if a voucher is
//! oversold, doubled or mis-debited, or if the reports are missing. Figures are
//! never asserted.
//!
//! The runs go through the library entry (`heyblue::run_bench`). The bench starts
//! its server, workers and echo server by running its own executable again, so this
//! test binary (`harness = false`) answers those command lines itself, exactly as
//! `main.rs` does. That keeps the test independent of `target/debug/heyblue`, which
//! other builds sharing the target directory may replace while tests run.

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use heyblue::{BenchError, Config, EnvironmentVariables};
use serde_json::Value;

/// One smoke test: runs on the shared runtime, panics on failure.
type SmokeTest = fn(&tokio::runtime::Runtime) -> Ran;

/// How a smoke test that did not fail ended.
#[derive(Debug)]
enum Ran {
    /// It ran and passed.
    Passed,
    /// It was skipped on purpose, for this reason.
    Skipped(&'static str),
}

/// Set to `1` to skip the Redis baseline run where redis-server cannot be
/// installed; without it, a missing redis-server fails that run.
const SKIP_REDIS_VARIABLE: &str = "HEYBLUE_SKIP_REDIS";

/// `heyblue bench` options, parsed from test command lines.
#[derive(Debug, Parser)]
struct BenchCommandLine {
    #[command(flatten)]
    args: heyblue::BenchArgs,
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    match argv.get(1).map(String::as_str) {
        Some("bench-worker") => return runtime.block_on(heyblue::run_bench_worker()),
        Some("bench-echo") => {
            let listen = argv[3].parse().expect("echo address");
            runtime
                .block_on(heyblue::run_echo_server(listen))
                .expect("echo server");
            return ExitCode::SUCCESS;
        }
        Some("--config") if argv.get(3).map(String::as_str) == Some("serve") => {
            runtime.block_on(serve(Path::new(&argv[2])));
            return ExitCode::SUCCESS;
        }
        Some(_) | None => {}
    }
    let tests: [(&str, SmokeTest); 10] = [
        (
            "city_every_pushed_answer_is_correct",
            city_every_pushed_answer_is_correct,
        ),
        (
            "city_obeying_the_cadence_sends_fewer_updates_and_stays_correct",
            city_obeying_the_cadence_sends_fewer_updates_and_stays_correct,
        ),
        (
            "handshake_credits_every_accepted_request_exactly_once",
            handshake_credits_every_accepted_request_exactly_once,
        ),
        (
            "handshake_survives_the_server_killed_repeatedly",
            handshake_survives_the_server_killed_repeatedly,
        ),
        (
            "connect_with_the_echo_baseline",
            connect_with_the_echo_baseline,
        ),
        ("city_with_the_redis_baseline", city_with_the_redis_baseline),
        (
            "remote_servers_must_be_on_loopback",
            remote_servers_must_be_on_loopback,
        ),
        (
            "connect_spreads_sessions_over_the_listed_nodes",
            connect_spreads_sessions_over_the_listed_nodes,
        ),
        ("connect_urls_are_checked", connect_urls_are_checked),
        (
            "redeem_sells_the_stock_once_and_redeems_each_voucher_once",
            redeem_sells_the_stock_once_and_redeems_each_voucher_once,
        ),
    ];
    let filter = argv
        .iter()
        .skip(1)
        .find(|arg| !arg.starts_with('-'))
        .cloned();
    let (mut passed, mut skipped, mut failed) = (0, 0, 0);
    for (name, test) in tests {
        if filter
            .as_ref()
            .is_some_and(|filter| !name.contains(filter.as_str()))
        {
            continue;
        }
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| test(&runtime)));
        match outcome {
            Ok(Ran::Passed) => {
                println!("test {name} ... ok");
                passed += 1;
            }
            Ok(Ran::Skipped(reason)) => {
                println!("test {name} ... SKIPPED ({reason})");
                skipped += 1;
            }
            Err(_) => {
                println!("test {name} ... FAILED");
                failed += 1;
            }
        }
    }
    println!("bench smoke: {passed} passed; {skipped} skipped; {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The spawned server, as `heyblue --config PATH serve` runs it (killed by the bench).
async fn serve(config_path: &Path) {
    let environment = EnvironmentVariables::from_process();
    let config = Config::load(Some(config_path), &environment).expect("bench server config");
    heyblue::install_recorder();
    let api = tokio::net::TcpListener::bind(config.listen)
        .await
        .expect("bind");
    let metrics = heyblue::bind_metrics_listener(config.metrics.listen).expect("bind metrics");
    let listeners = heyblue::Listeners { api, metrics };
    heyblue::serve(listeners, config, environment, std::future::pending())
        .await
        .expect("serve");
}

/// Runs `bench ARGS --no-progress --out DIR` and returns the result.
fn bench(
    runtime: &tokio::runtime::Runtime,
    args: &[&str],
    out: &Path,
) -> Result<heyblue::BenchReport, BenchError> {
    let mut command_line = vec!["bench"];
    command_line.extend_from_slice(args);
    command_line.push("--no-progress");
    command_line.push("--out");
    let out = out.to_str().expect("utf-8 temp path");
    command_line.push(out);
    let parsed = BenchCommandLine::try_parse_from(command_line).expect("valid options");
    runtime.block_on(async {
        tokio::time::timeout(
            std::time::Duration::from_secs(120),
            heyblue::run_bench(parsed.args),
        )
        .await
        .expect("the run ends within two minutes")
    })
}

fn results(out: &Path) -> Value {
    let text = std::fs::read_to_string(out.join("results.json")).expect("results.json written");
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html written");
    assert!(html.contains("<svg"), "the report has charts");
    serde_json::from_str(&text).expect("results.json is JSON")
}

fn city_every_pushed_answer_is_correct(runtime: &tokio::runtime::Runtime) -> Ran {
    let out = tempfile::tempdir().unwrap();
    let args = [
        "city",
        "--spawn",
        "--officers",
        "30",
        "--citizens",
        "150",
        "--duration-seconds",
        "4",
        "--workers",
        "2",
    ];
    let report = bench(runtime, &args, out.path()).expect("the city run completes");
    let table = report.table();
    assert!(report.all_correct(), "{table}");
    let results = results(out.path());
    let run = &results["runs"][0];
    let counters = &run["counters"];
    assert_eq!(run["label"], "heyblue");
    assert_eq!(counters["connected"], 180, "{table}");
    assert_eq!(counters["wrong"], 0, "{table}");
    assert_eq!(counters["stale"], 0, "{table}");
    assert_eq!(counters["final_wrong"], 0, "{table}");
    assert_eq!(counters["final_missing"], 0, "{table}");
    assert_eq!(counters["final_checked"], 150, "{table}");
    assert_eq!(counters["changes_missed"], 0, "{table}");
    assert_eq!(
        counters["truth_changes"].as_u64().unwrap(),
        counters["changes_pushed"].as_u64().unwrap()
            + counters["changes_already_shown"].as_u64().unwrap(),
        "every change of a true answer was pushed: {table}"
    );
    assert!(
        counters["correct"].as_u64().unwrap() >= 150,
        "every citizen got answers: {table}"
    );
    assert!(
        counters["updates_sent"].as_u64().unwrap() > 180,
        "people moved: {table}"
    );
    assert!(table.contains("officer move→push p99"), "{table}");
    Ran::Passed
}

/// `--obey-cadence`: the same people and movement twice, on two workers (so
/// each worker plans the other's officers), the second time as the server asks.
fn city_obeying_the_cadence_sends_fewer_updates_and_stays_correct(
    runtime: &tokio::runtime::Runtime,
) -> Ran {
    let out = tempfile::tempdir().unwrap();
    let args = [
        "city",
        "--spawn",
        "--officers",
        "30",
        "--citizens",
        "150",
        "--duration-seconds",
        "8",
        "--workers",
        "2",
        "--obey-cadence",
        "--officer-cadence",
        "3000,10",
    ];
    let report = bench(runtime, &args, out.path()).expect("both city runs complete");
    let table = report.table();
    assert!(report.all_correct(), "{table}");
    assert!(table.contains("fewer location updates"), "{table}");
    let results = results(out.path());
    let runs = results["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2, "{table}");
    assert_eq!(runs[0]["label"], "heyblue");
    assert_eq!(runs[1]["label"], "heyblue cadence");
    let sent = |run: &Value| run["counters"]["updates_sent"].as_u64().unwrap();
    for run in runs {
        let counters = &run["counters"];
        assert_eq!(counters["connected"], 180, "{table}");
        assert_eq!(counters["wrong"], 0, "{table}");
        assert_eq!(counters["final_wrong"], 0, "{table}");
        assert_eq!(counters["changes_missed"], 0, "{table}");
        assert_eq!(counters["cadence_mismatches"], 0, "{table}");
        assert!(sent(run) > 0, "people moved: {table}");
    }
    assert!(
        sent(&runs[0]) > 180,
        "everybody reports every second: {table}"
    );
    // Officers at most every 3 s instead of every second, citizens by distance.
    assert!(sent(&runs[1]) * 2 < sent(&runs[0]), "{table}");
    let ratio = results["fixed_pace_per_cadence_updates"].as_f64().unwrap();
    assert!(ratio > 2.0, "{table}");
    Ran::Passed
}

/// Every problem count of a handshake's credit check is zero.
fn assert_no_credit_problems(check: &Value, table: &str) {
    for problem in [
        "records_missing",
        "records_doubled",
        "credits_missing",
        "credits_doubled",
        "points_mismatched",
        "unexpected",
        "balance_mismatched",
        "one_sided",
        "unreadable",
    ] {
        assert_eq!(check[problem], 0, "{problem}: {table}");
    }
}

/// Chaos at small scale: the spawned server is killed with SIGKILL every 3 s of
/// the rounds and restarted on the same data; every pair reconnects on its own,
/// and every connection the server established is credited exactly once on both
/// sides, including those a kill cut off mid-round.
fn handshake_survives_the_server_killed_repeatedly(runtime: &tokio::runtime::Runtime) -> Ran {
    let out = tempfile::tempdir().unwrap();
    let args = [
        "handshake",
        "--spawn",
        "--rate",
        "10",
        "--pairs",
        "10",
        "--duration-seconds",
        "10",
        "--kill-every-seconds",
        "3",
    ];
    let report = bench(runtime, &args, out.path()).expect("the chaos run completes");
    let table = report.table();
    assert!(report.all_correct(), "{table}");
    let results = results(out.path());
    let run = &results["runs"][0];
    let handshake = &run["handshake"];
    let kills = handshake["chaos"]["kills"].as_u64().unwrap();
    // A kill comes 3 s after the previous restart, so a slow restart (over a
    // second on a loaded machine) leaves room for two kills in 10 s, not three.
    assert!(kills >= 2, "killed {kills} times: {table}");
    assert!(
        handshake["reconnections"].as_u64().unwrap() >= 10,
        "every pair reconnected at least once: {table}"
    );
    let counters = &run["counters"];
    let interrupted = handshake["failures"]["interrupted"].as_u64().unwrap_or(0);
    assert_eq!(
        counters["rounds_established"].as_u64().unwrap() + interrupted,
        100,
        "{table}"
    );
    let check = &handshake["credit_check"];
    assert_eq!(check["people"], 20, "{table}");
    assert_eq!(check["accepted"], check["records_found"], "{table}");
    assert_eq!(check["credits_due"], check["credits_found"], "{table}");
    assert_no_credit_problems(check, &table);
    Ran::Passed
}

fn handshake_credits_every_accepted_request_exactly_once(runtime: &tokio::runtime::Runtime) -> Ran {
    let out = tempfile::tempdir().unwrap();
    let args = [
        "handshake",
        "--spawn",
        "--rate",
        "30",
        "--pairs",
        "24",
        "--duration-seconds",
        "3",
        "--workers",
        "2",
    ];
    let report = bench(runtime, &args, out.path()).expect("the handshake run completes");
    let table = report.table();
    assert!(report.all_correct(), "{table}");
    let results = results(out.path());
    let run = &results["runs"][0];
    let counters = &run["counters"];
    assert_eq!(counters["connected"], 48, "{table}");
    assert_eq!(counters["rounds_started"], 90, "{table}");
    assert_eq!(counters["rounds_established"], 90, "{table}");
    assert_eq!(counters["rounds_failed"], 0, "{table}");
    let handshake = &run["handshake"];
    assert_eq!(handshake["failures"], serde_json::json!({}), "{table}");
    assert_eq!(handshake["withheld"], serde_json::json!({}), "{table}");
    let check = &handshake["credit_check"];
    assert_eq!(check["people"], 48, "{table}");
    // Every accepted request, seen from both sides, once among the connections
    // and once in the ledger (every round is rewarded on the spawned server).
    for (due, found) in [
        ("accepted", "records_found"),
        ("credits_due", "credits_found"),
    ] {
        assert_eq!(check[due], 180, "{table}");
        assert_eq!(check[found], 180, "{table}");
    }
    assert_no_credit_problems(check, &table);
    assert!(table.contains("request→established p99"), "{table}");
    assert!(table.contains("credit check"), "{table}");
    Ran::Passed
}

/// 40 citizens ask for 120 vouchers of 3 offers holding 30 each: 90 issued,
/// 30 refused `out_of_stock`, every voucher redeemed once at the counter
/// (a fifth of them by two tills at once), every balance and stock count right.
fn redeem_sells_the_stock_once_and_redeems_each_voucher_once(
    runtime: &tokio::runtime::Runtime,
) -> Ran {
    let out = tempfile::tempdir().unwrap();
    let args = [
        "redeem",
        "--spawn",
        "--citizens",
        "40",
        "--redemptions-per-citizen",
        "3",
        "--offers",
        "3",
        "--duplicate-percent",
        "20",
    ];
    let report = bench(runtime, &args, out.path()).expect("the redeem run completes");
    let table = report.table();
    assert!(report.all_correct(), "{table}");
    assert!(table.contains("PASS: 0 oversold, 0 doubled"), "{table}");
    let results = results(out.path());
    let redeem = &results["runs"][0]["redeem"];
    assert_eq!(redeem["setup"]["stock_per_offer"], 30, "{table}");
    assert_eq!(redeem["issued"], 90, "{table}");
    assert_eq!(
        redeem["refused"],
        serde_json::json!({ "out_of_stock": 30 }),
        "{table}"
    );
    assert_eq!(redeem["errors"], 0, "{table}");
    assert_eq!(redeem["counter_redeemed"], 90, "{table}");
    assert_eq!(redeem["counter_errors"], 0, "{table}");
    assert_eq!(redeem["duplicates_sent"], 18, "every fifth of 90: {table}");
    assert_eq!(redeem["counter_refused_again"], 18, "{table}");
    assert_eq!(redeem["redemption_latency"]["count"], 120, "{table}");
    let audit = &redeem["audit"];
    assert_eq!(audit["offers_checked"], 3, "{table}");
    assert_eq!(audit["citizens_checked"], 40, "{table}");
    assert_eq!(audit["vouchers_listed"], 90, "{table}");
    for finding in [
        "oversold",
        "stock_mismatched",
        "balance_mismatched",
        "vouchers_missing",
        "vouchers_unexpected",
        "doubled",
        "not_redeemed",
        "unreadable",
    ] {
        assert_eq!(audit[finding], 0, "{finding}: {table}");
    }
    Ran::Passed
}

fn connect_with_the_echo_baseline(runtime: &tokio::runtime::Runtime) -> Ran {
    let out = tempfile::tempdir().unwrap();
    let args = [
        "connect",
        "--spawn",
        "--sessions",
        "200",
        "--hold-seconds",
        "1",
        "--baseline",
        "echo",
    ];
    let report = bench(runtime, &args, out.path()).expect("the connect run completes");
    assert!(report.all_correct(), "{}", report.table());
    let results = results(out.path());
    let runs = results["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["label"], "heyblue");
    assert_eq!(runs[1]["label"], "echo");
    for run in runs {
        assert_eq!(run["counters"]["connected"], 200, "{}", report.table());
        assert_eq!(run["counters"]["connect_failures"], 0);
        assert!(
            run["memory"]["after_bytes"].as_u64().is_some(),
            "memory measured"
        );
    }
    Ran::Passed
}

/// Needs redis-server (`scripts/test` installs it). Where it cannot be
/// installed, `HEYBLUE_SKIP_REDIS=1` skips this run and the harness reports it
/// as SKIPPED; without that, a missing redis-server is a failure, so a run that
/// never happened cannot pass as one that did.
fn city_with_the_redis_baseline(runtime: &tokio::runtime::Runtime) -> Ran {
    let installed = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|directory| directory.join("redis-server").is_file())
    });
    if !installed {
        if std::env::var(SKIP_REDIS_VARIABLE).is_ok_and(|value| value == "1") {
            return Ran::Skipped("redis-server is not installed and HEYBLUE_SKIP_REDIS=1");
        }
        panic!(
            "redis-server is not installed: install it (scripts/test does, as root on Debian) \
             or set {SKIP_REDIS_VARIABLE}=1 to skip this run"
        );
    }
    let out = tempfile::tempdir().unwrap();
    let args = [
        "city",
        "--spawn",
        "--officers",
        "5",
        "--citizens",
        "20",
        "--duration-seconds",
        "2",
        "--baseline",
        "redis",
    ];
    let report = bench(runtime, &args, out.path()).expect("the city run completes");
    assert!(report.all_correct(), "{}", report.table());
    let results = results(out.path());
    let runs = results["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[1]["label"], "redis");
    let redis = &runs[1]["redis"];
    assert_eq!(redis["errors"], 0, "{}", report.table());
    assert_eq!(
        runs[1]["counters"]["updates_sent"],
        50,
        "25 people, 2 ticks each: {}",
        report.table()
    );
    assert_eq!(redis["geosearch_latency"]["count"], 40);
    assert!(redis["used_memory_bytes"].as_u64().is_some(), "INFO read");
    assert!(results["versus_redis"]["updates_per_s_ratio"].is_number());
    Ran::Passed
}

fn remote_servers_must_be_on_loopback(runtime: &tokio::runtime::Runtime) -> Ran {
    let out = tempfile::tempdir().unwrap();
    let args = [
        "connect",
        "--url",
        "http://10.1.2.3:8080",
        "--admin-token",
        "x",
        "--sms-file",
        "/tmp/none",
    ];
    match bench(runtime, &args, out.path()) {
        Err(BenchError::Usage(message)) => assert!(message.contains("127.0.0.0/8"), "{message}"),
        other => panic!("expected a usage error, got {other:?}"),
    }
    Ran::Passed
}

/// A node started in this process for `--url` runs: embedded store, the `file`
/// SMS adapter and no per-address code limit, on 127.0.0.1; it stops when
/// dropped.
struct RunningNode {
    /// `http://127.0.0.1:port`.
    base_url: String,
    /// `http://127.0.0.1:port` of its metrics listener.
    metrics_url: String,
    /// The SMS adapter's output.
    sms_file: std::path::PathBuf,
    /// Stops the node when dropped.
    _stop: tokio::sync::oneshot::Sender<()>,
    /// Data directory and SMS file.
    _directory: tempfile::TempDir,
}

const NODE_ADMIN_TOKEN: &str = "bench-smoke-admin-token";

fn start_node(runtime: &tokio::runtime::Runtime) -> RunningNode {
    let directory = tempfile::tempdir().unwrap();
    let sms_file = directory.path().join("sms.jsonl");
    let config = format!(
        "listen = \"127.0.0.1:0\"\ndata_dir = \"{data}\"\n\n\
         [sms]\ntype = \"file\"\npath = \"{sms}\"\n\n\
         [metrics]\nlisten = \"127.0.0.1:0\"\n\n\
         [identity]\notp_max_per_ip_per_hour = 4000000000\nsms_max_per_prefix_per_hour = 4000000000\n",
        data = directory.path().join("data").display(),
        sms = sms_file.display(),
    );
    let config = Config::from_toml_str(&config).expect("node config");
    let environment = EnvironmentVariables::from_pairs([("HEYBLUE_ADMIN_TOKEN", NODE_ADMIN_TOKEN)]);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (base_url, metrics_url) = runtime.block_on(async {
        heyblue::install_recorder();
        let api = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = api.local_addr().expect("local address");
        let metrics = heyblue::bind_metrics_listener(config.metrics.listen).expect("bind metrics");
        let metrics_address = metrics.local_addr().expect("metrics address");
        let listeners = heyblue::Listeners { api, metrics };
        tokio::spawn(async move {
            let shutdown = async {
                let _stop_or_drop = stopped.await;
            };
            heyblue::serve(listeners, config, environment, shutdown)
                .await
                .expect("serve");
        });
        (
            format!("http://{address}"),
            format!("http://{metrics_address}"),
        )
    });
    RunningNode {
        base_url,
        metrics_url,
        sms_file,
        _stop: stop,
        _directory: directory,
    }
}

/// One node reached under two names stands in for two nodes: sessions alternate
/// between the names, and the report has a line per name.
fn connect_spreads_sessions_over_the_listed_nodes(runtime: &tokio::runtime::Runtime) -> Ran {
    let node = start_node(runtime);
    let port = node.base_url.rsplit(':').next().expect("port");
    let other_name = format!("http://localhost:{port}");
    let connect_urls = format!("{},{other_name}", node.base_url);
    let metrics_urls = format!("{},{}", node.metrics_url, node.metrics_url);
    let out = tempfile::tempdir().unwrap();
    let args = [
        "connect",
        "--url",
        &node.base_url,
        "--connect-urls",
        &connect_urls,
        "--metrics-urls",
        &metrics_urls,
        "--admin-token",
        NODE_ADMIN_TOKEN,
        "--sms-file",
        node.sms_file.to_str().expect("utf-8 path"),
        "--sessions",
        "60",
        "--workers",
        "2",
        "--hold-seconds",
        "1",
    ];
    let report = bench(runtime, &args, out.path()).expect("the connect run completes");
    let table = report.table();
    assert!(report.all_correct(), "{table}");
    assert!(table.contains("summed over 2 nodes"), "{table}");
    let results = results(out.path());
    let run = &results["runs"][0];
    assert_eq!(run["counters"]["connected"], 60, "{table}");
    assert_eq!(run["counters"]["connect_failures"], 0, "{table}");
    let nodes = run["memory"]["nodes"].as_array().expect("a line per node");
    let names: Vec<&str> = nodes
        .iter()
        .map(|node| node["node"].as_str().expect("node name"))
        .collect();
    assert_eq!(
        names,
        [
            node.base_url.trim_start_matches("http://"),
            other_name.trim_start_matches("http://")
        ]
    );
    for reading in nodes {
        // Both names reach the same node, which counts all 60.
        assert_eq!(reading["sessions"], 60, "{table}");
    }
    Ran::Passed
}

fn connect_urls_are_checked(runtime: &tokio::runtime::Runtime) -> Ran {
    let out = tempfile::tempdir().unwrap();
    let refused = |extra: &[&str], expected: &str| {
        let mut args = vec![
            "--url",
            "http://127.0.0.1:8080",
            "--admin-token",
            "x",
            "--sms-file",
            "/tmp/none",
        ];
        args.extend_from_slice(extra);
        match bench(runtime, &args, out.path()) {
            Err(BenchError::Usage(message)) => {
                assert!(message.contains(expected), "{expected}: {message}");
            }
            other => panic!("expected a usage error for {extra:?}, got {other:?}"),
        }
    };
    refused(
        &[
            "connect",
            "--connect-urls",
            "http://127.0.0.2:8080,http://127.0.0.2:8080/",
        ],
        "twice",
    );
    refused(
        &["connect", "--connect-urls", "http://10.0.0.2:8080"],
        "127.0.0.0/8",
    );
    refused(
        &["connect", "--connect-urls", "127.0.0.2:8080"],
        "http://host:port",
    );
    // --connect-urls is an option of connect only.
    assert!(
        BenchCommandLine::try_parse_from([
            "bench",
            "--url",
            "http://127.0.0.1:8080",
            "city",
            "--connect-urls",
            "http://127.0.0.2:8080",
        ])
        .is_err()
    );
    Ran::Passed
}
