//! An import killed with SIGKILL leaves the whole file or none of it: a
//! `heyblue import` of a large generated file is killed while it validates and
//! stages, and again right after it commits; a server started on the same
//! store then holds either every row or none (and, after a commit, every
//! row). Runs on the test store: embedded, or CQL with
//! `HEYBLUE_TEST_STORE=scylla` (`scripts/test` runs both).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{ADMIN_TOKEN, TestServer, store_section};
use serde_json::Value;

/// Rows of the generated file: large enough that validating and applying
/// take a while in a debug build.
const ROWS: u64 = 40_000;

/// Writes a charities file of `ROWS` rows.
fn generate(path: &Path) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(file, "charity_ref,name,ein,description").unwrap();
    for index in 0..ROWS {
        writeln!(
            file,
            "charity-{index:06},Charity {index},12-{index:07},Helps people in need"
        )
        .unwrap();
    }
    file.flush().unwrap();
}

/// Starts `heyblue import charities FILE` on the store of `root`, its log
/// lines sent to the returned channel.
fn start_import(root: &Path, file: &Path) -> (Child, mpsc::Receiver<String>) {
    let config = format!(
        "data_dir = \"{}\"\n{}[sms]\ntype = \"file\"\npath = \"{}\"\n",
        root.join("data").display(),
        store_section(root),
        root.join("sms.jsonl").display()
    );
    let config_file = root.join("import.toml");
    std::fs::write(&config_file, config).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_heyblue"))
        .arg("--config")
        .arg(&config_file)
        .args(["import", "charities"])
        .arg(file)
        .env("RUST_LOG", "info")
        .env("HEYBLUE_ADMIN_TOKEN", ADMIN_TOKEN)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start heyblue import");
    let stdout = child.stdout.take().unwrap();
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    (child, received)
}

/// Waits for a log line containing `marker`; false if the process ended first.
fn wait_for(lines: &mpsc::Receiver<String>, marker: &str) -> bool {
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(120)) {
        if line.contains(marker) {
            return true;
        }
    }
    false
}

/// Counts the charities a server on `root` lists, once no run it lists is
/// committed but unapplied (a CQL store recovers as soon as it is connected).
async fn charities_held(root: &Path) -> (u64, Vec<Value>) {
    let server = TestServer::start(root).await;
    for _attempt in 0..600 {
        let runs: Value = server
            .get_authed("/v1/admin/imports", ADMIN_TOKEN)
            .await
            .json()
            .await
            .unwrap();
        let applying = runs["runs"]
            .as_array()
            .is_none_or(|runs| runs.iter().any(|run| run["state"] == "committed"));
        if !applying {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut count = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/v1/admin/catalog/charities?limit=50&cursor={cursor}"),
            None => "/v1/admin/catalog/charities?limit=50".to_owned(),
        };
        let page: Value = server
            .get_authed(&path, ADMIN_TOKEN)
            .await
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap_or_else(|| panic!("{page}"));
        count += items.len() as u64;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let runs: Value = server
        .get_authed("/v1/admin/imports", ADMIN_TOKEN)
        .await
        .json()
        .await
        .unwrap();
    (count, runs["runs"].as_array().unwrap().clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_import_leaves_the_whole_file_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("charities.csv");
    generate(&file);

    // Killed while validating and staging: nothing is visible, or (if the
    // run got through first) everything.
    let staging_root = dir.path().join("staging");
    std::fs::create_dir_all(&staging_root).unwrap();
    let (mut child, lines) = start_import(&staging_root, &file);
    assert!(wait_for(&lines, "import staging"), "the import started");
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    let (held, runs) = charities_held(&staging_root).await;
    assert!(held == 0 || held == ROWS, "{held} of {ROWS} rows visible");
    assert_eq!(runs.len(), 1, "{runs:?}");
    let state = runs[0]["state"].as_str().unwrap_or_default();
    assert_eq!(
        state == "applied",
        held == ROWS,
        "a run not applied shows nothing: {runs:?}"
    );
    eprintln!("killed while staging: {held} of {ROWS} rows visible, run {state}");

    // Killed right after the commit: the next start applies the rest.
    let committed_root = dir.path().join("committed");
    std::fs::create_dir_all(&committed_root).unwrap();
    let (mut child, lines) = start_import(&committed_root, &file);
    assert!(wait_for(&lines, "import committed"), "the import committed");
    child.kill().unwrap();
    child.wait().unwrap();
    let (held, runs) = charities_held(&committed_root).await;
    assert_eq!(held, ROWS, "a committed run is applied whole");
    assert_eq!(runs[0]["state"], "applied", "{runs:?}");
    assert_eq!(runs[0]["report"]["created"], ROWS);
}
