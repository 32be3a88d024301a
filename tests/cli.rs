//! The `heyblue` binary as a user runs it: its version, config errors, the
//! roster import command, voucher key rotation and its refusal of a loose key
//! file, and a served sign-in whose logs must not leak codes or tokens.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const BINARY: &str = env!("CARGO_BIN_EXE_heyblue");

#[test]
fn version_names_the_git_revision_and_the_build_date() {
    let output = Command::new(BINARY).arg("--version").output().unwrap();
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).unwrap();
    let revision = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|git| git.status.success())
        .map(|git| String::from_utf8_lossy(&git.stdout).trim().to_owned());
    let expected_start = format!("heyblue {} (", env!("CARGO_PKG_VERSION"));
    assert!(printed.starts_with(&expected_start), "{printed}");
    if let Some(revision) = revision {
        assert!(printed.contains(&revision), "{printed} names {revision}");
    }
    let date = printed
        .trim()
        .rsplit("built ")
        .next()
        .unwrap()
        .trim_end_matches(')');
    assert_eq!(date.len(), 10, "{printed}");
    assert!(date.starts_with("20"), "{printed}");
}

#[test]
fn bad_config_exits_non_zero_with_one_line_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[identity]\notp_ttl_secs = 60\n").unwrap();
    let output = Command::new(BINARY)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("identity"), "{stderr}");
    assert!(stderr.contains("otp_ttl_secs"), "{stderr}");
}

#[test]
fn bad_environment_override_is_reported() {
    let output = Command::new(BINARY)
        .env("HEYBLUE_LISTEN", "not-an-address")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("config key `listen`"), "{stderr}");
}

#[test]
fn import_command_reports_bad_rows_and_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("roster.csv");
    std::fs::write(
        &csv,
        "phone,display_name,badge,department\n+12125550101,Officer Diaz,4411,NYPD\n+1 555,Officer X,4412,NYPD\n+12125550103,,4413,NYPD\n",
    )
    .unwrap();
    let output = Command::new(BINARY)
        .args(["import", "officers"])
        .arg(&csv)
        .env("HEYBLUE_DATA_DIR", dir.path().join("data"))
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("rejected: nothing written"), "{stdout}");
    assert!(
        stdout.contains("rows read: 3, valid: 1, invalid: 2"),
        "{stdout}"
    );
    assert!(
        stdout.contains("      3  phone         constraint_error"),
        "{stdout}"
    );
    assert!(
        stdout.contains("      4  display_name  missing_value"),
        "{stdout}"
    );

    let output = Command::new(BINARY)
        .args(["import", "officers", "--skip-invalid"])
        .arg(&csv)
        .env("HEYBLUE_DATA_DIR", dir.path().join("data"))
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains(": applied"), "{stdout}");
    assert!(stdout.contains("created: 1"), "{stdout}");
    assert!(stdout.contains("officers on the roster: 1"), "{stdout}");

    let report_json = dir.path().join("report.json");
    let output = Command::new(BINARY)
        .args(["import", "officers", "--dry-run", "--report-json"])
        .arg(&report_json)
        .arg(&csv)
        .env("HEYBLUE_DATA_DIR", dir.path().join("data"))
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report_json).unwrap()).unwrap();
    assert_eq!(report["outcome"], "rejected");
    assert_eq!(report["unchanged"], 1, "{report}");
    assert_eq!(report["problems"][0]["code"], "constraint_error");
}

#[test]
fn keys_rotate_names_the_keys_and_a_loose_key_file_stops_rotate_and_serve() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    std::fs::create_dir(&data_dir).unwrap();
    let rotate = || {
        Command::new(BINARY)
            .args(["keys", "rotate"])
            .env("HEYBLUE_DATA_DIR", &data_dir)
            .output()
            .unwrap()
    };
    let first = rotate();
    let printed = String::from_utf8(first.stdout).unwrap();
    assert!(first.status.success(), "{printed}");
    assert!(
        printed
            .lines()
            .any(|line| line.starts_with("active voucher key: k4.pid.")),
        "{printed}"
    );
    let second = rotate();
    let printed = String::from_utf8(second.stdout).unwrap();
    assert!(
        printed.contains("retired (still verifying): k4.pid."),
        "{printed}"
    );
    let key_file = data_dir.join("voucher-keys.json");
    let secret_text = std::fs::read_to_string(&key_file).unwrap();
    assert!(secret_text.contains("k4.secret."));

    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = rotate();
    assert!(!refused.status.success());
    let stderr = String::from_utf8(refused.stderr).unwrap();
    assert!(
        stderr.contains("mode 644") && stderr.contains("chmod 600"),
        "{stderr}"
    );

    let serve = Command::new(BINARY)
        .arg("serve")
        .env("HEYBLUE_DATA_DIR", &data_dir)
        .env("HEYBLUE_LISTEN", "127.0.0.1:0")
        .env("HEYBLUE_METRICS__LISTEN", "127.0.0.1:0")
        .env("HEYBLUE_ADMIN_TOKEN", "cli-test-admin-token-0123456789")
        .output()
        .unwrap();
    assert!(!serve.status.success(), "a loose key file stops the server");
    let stderr = String::from_utf8(serve.stderr).unwrap();
    assert!(stderr.contains("voucher key file"), "{stderr}");
    let logs = format!("{stderr}{}", String::from_utf8_lossy(&serve.stdout));
    assert!(
        !logs.contains("k4.secret."),
        "secrets never printed: {logs}"
    );
}

/// Serves, signs in, asks for a route, sends a location over a socket, stops with
/// SIGTERM, and checks every log line.
#[tokio::test]
async fn logs_never_hold_codes_or_tokens_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let sms_file = dir.path().join("sms.jsonl");
    let mut child = Command::new(BINARY)
        .env("RUST_LOG", "debug")
        .env("HEYBLUE_LISTEN", "127.0.0.1:0")
        .env("HEYBLUE_METRICS__LISTEN", "127.0.0.1:0")
        .env("HEYBLUE_DATA_DIR", dir.path().join("data"))
        .env("HEYBLUE_SMS__TYPE", "file")
        .env("HEYBLUE_SMS__PATH", &sms_file)
        .env("HEYBLUE_LOG__FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_sender, lines) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut log = Vec::new();
    let address = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(20))
            .expect("server logs that it serves");
        log.push(line.clone());
        let parsed: Value = serde_json::from_str(&line).expect("json log line");
        if parsed["fields"]["message"] == "serving" {
            break parsed["fields"]["address"].as_str().unwrap().to_owned();
        }
    };
    let http = reqwest::Client::new();
    let base = format!("http://{address}");
    let phone = "+12125550123";
    let response = http
        .post(format!("{base}/v1/auth/otp/request"))
        .json(&json!({ "phone": phone }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let sent: Value = serde_json::from_str(
        std::fs::read_to_string(&sms_file)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let code = sent["code"].as_str().unwrap().to_owned();
    let signed_in: Value = http
        .post(format!("{base}/v1/auth/otp/verify"))
        .json(&json!({ "phone": phone, "code": code }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = signed_in["access_token"].as_str().unwrap().to_owned();
    let refresh = signed_in["refresh_token"].as_str().unwrap().to_owned();
    let response = http
        .get(format!("{base}/v1/me/profile"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = http
        .get(format!("{base}/v1/route?lat=40.7589123&lng=-73.9851234"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut request = format!("ws://{address}/v1/ws")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {access}").parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let location = json!({ "t": "location", "lat": 40.7589123, "lng": -73.9851234 });
    socket
        .send(Message::Text(location.to_string().into()))
        .await
        .unwrap();
    // `welcome`, then `cadence` and `nearest` (in either order).
    let mut seen = Vec::new();
    while seen.len() < 3 && !seen.iter().any(|text: &String| text.contains("nearest")) {
        if let Some(Ok(Message::Text(text))) = socket.next().await {
            seen.push(text.to_string());
        }
    }
    assert!(seen[0].contains("welcome"), "{seen:?}");
    assert!(
        seen.iter().any(|text| text.contains("\"t\":\"nearest\"")),
        "{seen:?}"
    );
    drop(socket);

    let terminated = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(terminated.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "SIGTERM exits cleanly: {status}");
    log.extend(lines.try_iter());
    let text = log.join("\n");
    assert!(text.contains("\"stopped\""), "{text}");
    for secret in [format!("\"{code}\""), format!("={code}"), access, refresh] {
        assert!(!text.contains(secret.as_str()), "secret in logs: {text}");
    }
    assert!(!text.contains("2125550123"), "phone in logs: {text}");
    assert!(!text.contains("40.7589123"), "location in logs: {text}");
    assert!(!text.contains("73.9851234"), "location in logs: {text}");
}

#[test]
fn reports_bench_loads_facts_and_reads_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(BINARY)
            .args(args)
            .env("HEYBLUE_DATA_DIR", dir.path().join("data"))
            .output()
            .unwrap()
    };
    let loaded = run(&[
        "reports",
        "bench",
        "--connections",
        "300",
        "--days",
        "2",
        "--zips",
        "4",
    ]);
    let stdout = String::from_utf8(loaded.stdout).unwrap();
    assert_eq!(loaded.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("loaded the report facts of 300 connections over 2 days and 4 ZIPs"),
        "{stdout}"
    );
    // One month cell per ZIP: 300 connections over 2 days reach all 4.
    let cells: usize = stdout
        .split("stored month cells of connections by ZIP for everyone over the span: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|count| count.parse().ok())
        .unwrap();
    assert_eq!(cells, 4, "{stdout}");
    assert!(stdout.contains("by Month and Zip: 4 rows"), "{stdout}");
    assert!(stdout.contains("by Day and Nation: 2 rows"), "{stdout}");
    // Timing again reads what the first run loaded.
    let again = run(&["reports", "bench", "--connections", "0", "--days", "2"]);
    let stdout = String::from_utf8(again.stdout).unwrap();
    assert!(
        stdout.contains(&format!("over the span: {cells} ")),
        "{stdout}"
    );
}

#[test]
fn reports_rebuild_and_export_run_on_an_empty_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = |args: &[&str]| {
        Command::new(BINARY)
            .args(args)
            .env("HEYBLUE_DATA_DIR", &data)
            .output()
            .unwrap()
    };
    let rebuilt = run(&["reports", "rebuild"]);
    let stdout = String::from_utf8(rebuilt.stdout).unwrap();
    assert_eq!(rebuilt.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("no records to rebuild"), "{stdout}");
    let bad_day = run(&["reports", "rebuild", "--from", "12/01/2026"]);
    assert_ne!(bad_day.status.code(), Some(0));
    let stderr = String::from_utf8(bad_day.stderr).unwrap();
    assert!(stderr.contains("YYYY-MM-DD"), "{stderr}");

    let out = dir.path().join("export");
    let exported = run(&[
        "export",
        "--from",
        "2026-12-01",
        "--to",
        "2026-12-31",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8(exported.stdout).unwrap();
    assert_eq!(exported.status.code(), Some(0), "{stdout}");
    assert!(stdout.starts_with("0 rows exported"), "{stdout}");
    let csv = std::fs::read_to_string(out.join("connections.csv")).unwrap();
    assert_eq!(
        csv,
        "day,hour,connection,role,participant,area,area_level,points\r\n"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["to"], "2026-12-31");
    assert_eq!(manifest["files"][0]["name"], "connections.parquet");
    assert!(
        std::fs::read(out.join("connections.parquet"))
            .unwrap()
            .starts_with(b"PAR1")
    );
}
