//! Starts a real server on 127.0.0.1:0 with a temporary data directory and the
//! `file` SMS adapter, and offers an HTTP client that signs people in.
//!
//! The store is the embedded one, unless `HEYBLUE_TEST_STORE=scylla`: then each
//! test root gets its own keyspace on the CQL node `HEYBLUE_SCYLLA_URI` names
//! (`scripts/test` runs the integration tests once more that way).

#![allow(dead_code)] // each test binary uses a different part of this module

pub(crate) mod cluster;
pub(crate) mod points;
pub(crate) mod process;
pub(crate) mod rewards;
pub(crate) mod ws;

use std::path::{Path, PathBuf};
use std::time::Duration;

use heyblue::{Config, EnvironmentVariables};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The admin token every test server accepts.
pub(crate) const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// The read-only analyst key every test server accepts (reports only).
pub(crate) const ANALYST_TOKEN: &str = "test-analyst-token-0123456789";

/// Says that a test was skipped and why, on the process's stderr past the test
/// harness's capture, so a skip is seen even when every test passes.
pub(crate) fn report_skip(reason: &str) {
    use std::io::Write;
    let _ignored_if_stderr_is_closed = writeln!(std::io::stderr(), "SKIPPED {reason}");
}

/// Whether test servers use the Scylla backend (`HEYBLUE_TEST_STORE=scylla`).
pub(crate) fn test_store_is_scylla() -> bool {
    std::env::var("HEYBLUE_TEST_STORE").as_deref() == Ok("scylla")
}

/// The `[store]` section for a server in `root`: empty (embedded) unless
/// `HEYBLUE_TEST_STORE=scylla`. The keyspace name is kept in `root`, so a server
/// restarted on the same root finds its data again.
pub(crate) fn store_section(root: &Path) -> String {
    if !test_store_is_scylla() {
        return String::new();
    }
    let uri = std::env::var("HEYBLUE_SCYLLA_URI")
        .expect("HEYBLUE_TEST_STORE=scylla needs HEYBLUE_SCYLLA_URI (scripts/cql-node start)");
    let keyspace_file = root.join("scylla_keyspace");
    let keyspace = match std::fs::read_to_string(&keyspace_file) {
        Ok(keyspace) => keyspace,
        Err(_) => {
            static SWEEP: std::sync::Once = std::sync::Once::new();
            SWEEP.call_once(|| drop_keyspaces_of_ended_processes(&uri));
            let unique = uuid::Uuid::new_v4().simple().to_string();
            let keyspace = format!(
                "{TEST_KEYSPACE_PREFIX}{}_{}",
                std::process::id(),
                &unique[..16]
            );
            std::fs::create_dir_all(root).expect("test root");
            std::fs::write(&keyspace_file, &keyspace).expect("remember the keyspace");
            keyspace
        }
    };
    let nodes: Vec<String> = uri
        .split(',')
        .map(|node| format!("\"{}\"", node.trim()))
        .collect();
    format!(
        "[store]\ntype = \"scylla\"\nnodes = [{}]\nkeyspace = \"{keyspace}\"\nrequest_timeout_seconds = 5\n",
        nodes.join(", ")
    )
}

/// Test keyspaces are named `heyblue_it_<pid>_<random>`: a keyspace whose
/// process has ended is garbage, whoever made it.
const TEST_KEYSPACE_PREFIX: &str = "heyblue_it_";

/// Drops the test keyspaces left by test processes that have ended (a test
/// binary's servers outlive no test, but restart tests need their keyspace
/// until the binary ends). Without it, the keyspaces of a whole run pile up on
/// the CQL node and their table metadata fills its heap. Keyspaces of live
/// processes, such as another run's on a shared node, are left alone.
fn drop_keyspaces_of_ended_processes(uri: &str) {
    let swept = on_cql_node(uri, |session| async move {
        let rows = session
            .query_unpaged("SELECT keyspace_name FROM system_schema.keyspaces", ())
            .await
            .ok()?
            .into_rows_result()
            .ok()?;
        let names: Vec<String> = rows
            .rows::<(String,)>()
            .ok()?
            .filter_map(Result::ok)
            .map(|(name,)| name)
            .collect();
        let mut dropped = 0_usize;
        for name in names {
            let Some(pid) = name
                .strip_prefix(TEST_KEYSPACE_PREFIX)
                .and_then(|rest| rest.split('_').next())
                .and_then(|pid| pid.parse::<u32>().ok())
            else {
                continue;
            };
            if Path::new(&format!("/proc/{pid}")).exists() {
                continue;
            }
            if session
                .query_unpaged(format!("DROP KEYSPACE IF EXISTS {name}"), ())
                .await
                .is_ok()
            {
                dropped += 1;
            }
        }
        Some(dropped)
    });
    if swept.is_none() {
        eprintln!("old test keyspaces could not be listed or dropped");
    }
}

/// Runs `work` with a session on the first node `uri` names, on a thread and
/// runtime of its own (callers may be in a `Drop`, or on a runtime that must
/// not block); `None` when the node cannot be reached or `work` gives up.
pub(crate) fn on_cql_node<T, Work, Run>(uri: &str, work: Work) -> Option<T>
where
    T: Send + 'static,
    Work: FnOnce(scylla::client::session::Session) -> Run + Send + 'static,
    Run: std::future::Future<Output = Option<T>>,
{
    let node = uri.split(',').next().unwrap_or_default().trim().to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        runtime.block_on(async move {
            let session = scylla::client::session_builder::SessionBuilder::new()
                .known_node(node)
                .build()
                .await
                .ok()?;
            work(session).await
        })
    })
    .join()
    .ok()
    .flatten()
}

/// A server running inside the test process.
pub(crate) struct TestServer {
    pub(crate) base_url: String,
    /// `http://host:port` of the metrics listener, when the test knows it.
    pub(crate) metrics_base_url: Option<String>,
    pub(crate) data_dir: PathBuf,
    pub(crate) sms_file: PathBuf,
    pub(crate) http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), heyblue::ServeError>>>,
}

impl TestServer {
    /// Starts a server on a fresh data directory inside `root`.
    pub(crate) async fn start(root: &Path) -> Self {
        Self::start_with(root, "").await
    }

    /// Starts a server with extra TOML appended to the test config.
    pub(crate) async fn start_with(root: &Path, extra_toml: &str) -> Self {
        let server = Self::launch(root, extra_toml).await;
        server.wait_ready().await;
        server
    }

    /// Starts a server like `start_with` without waiting until `/readyz`
    /// answers (for listeners a plain client cannot talk to).
    pub(crate) async fn launch(root: &Path, extra_toml: &str) -> Self {
        Self::launch_with_environment(root, extra_toml, &[]).await
    }

    /// Starts a server like `start_with`, its environment holding
    /// `extra_environment` too (secrets named by the config).
    pub(crate) async fn start_with_environment(
        root: &Path,
        extra_toml: &str,
        extra_environment: &[(&str, &str)],
    ) -> Self {
        let server = Self::launch_with_environment(root, extra_toml, extra_environment).await;
        server.wait_ready().await;
        server
    }

    async fn launch_with_environment(
        root: &Path,
        extra_toml: &str,
        extra_environment: &[(&str, &str)],
    ) -> Self {
        let data_dir = root.join("data");
        let sms_file = root.join("sms.jsonl");
        let text = format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n{}[sms]\ntype = \"file\"\npath = \"{}\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n{extra_toml}",
            data_dir.display(),
            store_section(root),
            sms_file.display()
        );
        let config = Config::from_toml_str(&text).expect("test config is valid");
        let api = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = api.local_addr().unwrap();
        let metrics = heyblue::bind_metrics_listener(config.metrics.listen).unwrap();
        let metrics_address = metrics.local_addr().unwrap();
        let listeners = heyblue::Listeners { api, metrics };
        let environment = EnvironmentVariables::from_pairs(
            [
                ("HEYBLUE_ADMIN_TOKEN", ADMIN_TOKEN),
                ("HEYBLUE_ANALYST_TOKEN", ANALYST_TOKEN),
            ]
            .into_iter()
            .chain(extra_environment.iter().copied()),
        );
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(heyblue::serve(listeners, config, environment, async move {
            let _ = stopped.await;
        }));
        let mut server = Self::external(format!("http://{address}"), data_dir, sms_file);
        server.metrics_base_url = Some(format!("http://{metrics_address}"));
        server.stop = Some(stop);
        server.task = Some(task);
        server
    }

    /// A handle on a server running in another process (cluster tests): the same
    /// client helpers, nothing to stop.
    pub(crate) fn external(base_url: String, data_dir: PathBuf, sms_file: PathBuf) -> Self {
        Self {
            base_url,
            metrics_base_url: None,
            data_dir,
            sms_file,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            stop: None,
            task: None,
        }
    }

    pub(crate) async fn wait_ready(&self) {
        // A Scylla-backed server creates its keyspace first: some 70 tables,
        // each a schema change the CQL node agrees on. Late in a test run, on
        // a node holding every earlier test's keyspace, that took over 30 s on
        // two busy cores; the embedded store opens in well under a second.
        let patience = if test_store_is_scylla() {
            Duration::from_secs(120)
        } else {
            Duration::from_secs(30)
        };
        let deadline = std::time::Instant::now() + patience;
        while std::time::Instant::now() < deadline {
            if let Ok(response) = self.http.get(self.url("/readyz")).send().await
                && response.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("server did not become ready within {patience:?}");
    }

    /// Stops the server and waits until it released its data directory.
    pub(crate) async fn stop(mut self) {
        self.shutdown().await;
    }

    async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task")
                .expect("server stopped cleanly");
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The last code the `file` SMS adapter wrote for `e164`.
    pub(crate) fn last_code_for(&self, e164: &str) -> String {
        let text = std::fs::read_to_string(&self.sms_file).expect("sms file exists");
        text.lines()
            .rev()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|message| message["phone"] == e164)
            .and_then(|message| message["code"].as_str().map(str::to_owned))
            .expect("a code was sent to this phone")
    }

    pub(crate) async fn post_json(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Requests and verifies a code; returns the verify response body.
    pub(crate) async fn sign_in(&self, e164: &str) -> Value {
        let response = self
            .post_json("/v1/auth/otp/request", json!({ "phone": e164 }))
            .await;
        assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
        let code = self.last_code_for(e164);
        let response = self
            .post_json(
                "/v1/auth/otp/verify",
                json!({ "phone": e164, "code": code }),
            )
            .await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    pub(crate) async fn get_authed(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// GETs `path` without credentials and returns the body as text.
    pub(crate) async fn get_text(&self, path: &str) -> String {
        self.text_at(&self.url(path)).await
    }

    /// GETs an absolute URL without credentials and returns the body as text.
    async fn text_at(&self, url: &str) -> String {
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The Prometheus page of the metrics listener.
    pub(crate) async fn scrape_metrics(&self) -> String {
        let base = self
            .metrics_base_url
            .as_ref()
            .expect("this server's metrics listener is known");
        self.text_at(&format!("{base}/metrics")).await
    }

    /// GETs `path` with a bearer token and decodes the JSON answer.
    pub(crate) async fn get_json(&self, path: &str, token: &str) -> Value {
        self.get_authed(path, token)
            .await
            .json()
            .await
            .expect("a JSON answer")
    }

    pub(crate) async fn import_roster(&self, csv: &str) -> reqwest::Response {
        self.http
            .post(self.url("/v1/admin/import/officers"))
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", "text/csv")
            .body(csv.to_owned())
            .send()
            .await
            .unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Asserts the API error format and returns the error code.
pub(crate) async fn error_code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("error body is JSON");
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.code in {body}"))
        .to_owned();
    assert!(body["error"]["message"].is_string(), "{body}");
    (status, code)
}
