//! One `heyblue serve` process on 127.0.0.1 with the embedded store, free ports
//! and the `file` SMS adapter, for tests that read the process from outside
//! (its resident memory in `/proc/<pid>/status`) or kill it mid-request.
//! Killed when dropped.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use super::{ADMIN_TOKEN, TestServer};

/// A running `heyblue serve` child.
pub(crate) struct ServerProcess {
    /// Client helpers for its public listener.
    pub(crate) api: TestServer,
    /// `http://127.0.0.1:port` of its metrics listener.
    pub(crate) metrics_url: String,
    child: Child,
}

impl ServerProcess {
    /// Starts `heyblue serve` in `root` with `extra_toml` appended to its config
    /// and waits until it is ready. A start in a root used before finds its
    /// data again, and appends to its log.
    pub(crate) async fn start(root: &Path, extra_toml: &str) -> Self {
        Self::start_logging(root, extra_toml, "warn").await
    }

    /// As [`ServerProcess::start`], logging at `rust_log` (a `RUST_LOG`
    /// filter) to `root/server.log`.
    pub(crate) async fn start_logging(root: &Path, extra_toml: &str, rust_log: &str) -> Self {
        Self::start_with_environment(root, extra_toml, rust_log, &[]).await
    }

    /// As [`ServerProcess::start_logging`], with `environment` added to the
    /// process's environment (secrets a config names by variable).
    pub(crate) async fn start_with_environment(
        root: &Path,
        extra_toml: &str,
        rust_log: &str,
        environment: &[(&str, &str)],
    ) -> Self {
        let http_port = free_port();
        let metrics_port = free_port();
        let data_dir = root.join("data");
        let sms_file = root.join("sms.jsonl");
        let config = format!(
            "listen = \"127.0.0.1:{http_port}\"\ndata_dir = \"{data}\"\n\n\
             [sms]\ntype = \"file\"\npath = \"{sms}\"\n\n\
             [metrics]\nlisten = \"127.0.0.1:{metrics_port}\"\n{extra_toml}",
            data = data_dir.display(),
            sms = sms_file.display(),
        );
        let config_file = root.join("heyblue.toml");
        std::fs::write(&config_file, config).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(root.join("server.log"))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_heyblue"))
            .arg("--config")
            .arg(&config_file)
            .arg("serve")
            .env("HEYBLUE_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("RUST_LOG", rust_log)
            .envs(environment.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start heyblue");
        let api = TestServer::external(format!("http://127.0.0.1:{http_port}"), data_dir, sms_file);
        let process = Self {
            api,
            metrics_url: format!("http://127.0.0.1:{metrics_port}/metrics"),
            child,
        };
        process.api.wait_ready().await;
        process
    }

    /// Kills the process with SIGKILL, as a crash would (no shutdown path
    /// runs), and waits until it is gone.
    pub(crate) fn kill(&mut self) {
        self.child.kill().expect("SIGKILL the server");
        self.child.wait().expect("reap the server");
    }

    /// Resident memory of the process now, in KiB (`VmRSS`).
    pub(crate) fn resident_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the process runs");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .expect("VmRSS in /proc/<pid>/status")
    }

    /// The Prometheus page of the metrics listener.
    pub(crate) async fn scrape(&self) -> String {
        self.api
            .http
            .get(&self.metrics_url)
            .send()
            .await
            .expect("the metrics listener answers")
            .text()
            .await
            .unwrap()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// Series on a Prometheus page: sample lines, comments left out.
pub(crate) fn series_count(page: &str) -> usize {
    page.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .count()
}
