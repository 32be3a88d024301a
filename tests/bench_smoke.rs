//! Short runs of the real `heyblue bench` binary against a server it spawns: a few
//! seconds each, small numbers. They fail if any pushed answer is wrong, if a
//! session failed, or if the reports are missing. Figures are never asserted.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// No smoke run may take longer than this.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `heyblue bench ARGS --spawn --no-progress --out DIR`, killing it after
/// the timeout.
fn bench(args: &[&str], out: &Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_heyblue"))
        .arg("bench")
        .args(args)
        .args(["--spawn", "--no-progress", "--out"])
        .arg(out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let started = Instant::now();
    while child.try_wait().expect("wait works").is_none() {
        if started.elapsed() > RUN_TIMEOUT {
            child.kill().expect("kill works");
            panic!("bench run took longer than {RUN_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output is readable")
}

fn results(out: &Path) -> Value {
    let text = std::fs::read_to_string(out.join("results.json")).expect("results.json written");
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html written");
    assert!(html.contains("<svg"), "the report has charts");
    serde_json::from_str(&text).expect("results.json is JSON")
}

fn describe(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn city_every_pushed_answer_is_correct() {
    let out = tempfile::tempdir().unwrap();
    let output = bench(
        &[
            "city",
            "--officers",
            "30",
            "--citizens",
            "150",
            "--duration-seconds",
            "4",
            "--workers",
            "2",
        ],
        out.path(),
    );
    assert!(output.status.success(), "{}", describe(&output));
    let results = results(out.path());
    let run = &results["runs"][0];
    let counters = &run["counters"];
    assert_eq!(run["label"], "heyblue");
    assert_eq!(counters["connected"], 180, "{}", describe(&output));
    assert_eq!(counters["wrong"], 0, "{}", describe(&output));
    assert_eq!(counters["stale"], 0, "{}", describe(&output));
    assert_eq!(counters["final_wrong"], 0, "{}", describe(&output));
    assert_eq!(counters["final_missing"], 0, "{}", describe(&output));
    assert_eq!(counters["final_checked"], 150);
    assert!(
        counters["correct"].as_u64().unwrap() >= 150,
        "every citizen got answers"
    );
    assert!(
        counters["updates_sent"].as_u64().unwrap() > 180,
        "people moved"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("officer move→push p99"), "{stdout}");
    assert!(stdout.contains("PASS"), "{stdout}");
}

#[test]
fn connect_with_the_echo_baseline() {
    let out = tempfile::tempdir().unwrap();
    let output = bench(
        &[
            "connect",
            "--sessions",
            "200",
            "--hold-seconds",
            "1",
            "--baseline",
            "echo",
        ],
        out.path(),
    );
    assert!(output.status.success(), "{}", describe(&output));
    let results = results(out.path());
    let runs = results["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["label"], "heyblue");
    assert_eq!(runs[1]["label"], "echo");
    for run in runs {
        assert_eq!(run["counters"]["connected"], 200, "{}", describe(&output));
        assert_eq!(run["counters"]["connect_failures"], 0);
        assert!(
            run["memory"]["after_bytes"].as_u64().is_some(),
            "memory measured"
        );
    }
}

#[test]
fn handshake_says_it_is_not_available_yet() {
    let out = tempfile::tempdir().unwrap();
    let output = bench(&["handshake"], out.path());
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("connection requests"));
}

#[test]
fn remote_servers_must_be_on_loopback() {
    let output = Command::new(env!("CARGO_BIN_EXE_heyblue"))
        .args([
            "bench",
            "connect",
            "--url",
            "http://10.1.2.3:8080",
            "--admin-token",
            "x",
            "--sms-file",
            "/tmp/none",
        ])
        .output()
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("127.0.0.0/8"));
}
