//! A local cluster for tests: real `heyblue serve` processes on 127.0.0.x with
//! their own HTTP and cluster ports, sharing one keyspace on the CQL node that
//! `HEYBLUE_SCYLLA_URI` names (tokens issued by one node work on all). Nodes are
//! killed when the cluster is dropped; each node's log is kept in the test root.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{ADMIN_TOKEN, TestServer};

/// The cookie every test node shares.
const COOKIE: &str = "test-cluster-cookie";
/// The master key every test node shares (64 hex digits).
const MASTER_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// One node to start: its name, region and loopback address (127.0.0.`host`).
#[derive(Debug, Clone)]
pub(crate) struct NodeSpec {
    pub(crate) name: &'static str,
    pub(crate) region: &'static str,
    pub(crate) host: u8,
}

/// A running node.
pub(crate) struct ClusterNode {
    pub(crate) name: &'static str,
    pub(crate) api: TestServer,
    pub(crate) cluster_address: SocketAddr,
    child: Option<Child>,
}

impl ClusterNode {
    /// The node's WebSocket URL.
    pub(crate) fn ws_url(&self) -> String {
        self.api.base_url.replace("http://", "ws://") + "/v1/ws"
    }

    /// Kills the process at once (no drain, no goodbye).
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM (drain and stop) and waits for the exit status.
    pub(crate) async fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("the node runs");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        tokio::task::spawn_blocking(move || child.wait().expect("wait for the node"))
            .await
            .unwrap()
    }
}

impl Drop for ClusterNode {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The CQL node cluster tests share, or `None` (the test is skipped with a message).
pub(crate) fn cql_node() -> Option<String> {
    let uri = std::env::var("HEYBLUE_SCYLLA_URI").unwrap_or_default();
    if uri.trim().is_empty() {
        super::report_skip(
            "cluster test: nodes share a store; set HEYBLUE_SCYLLA_URI (scripts/test starts a CQL node)",
        );
        return None;
    }
    Some(uri)
}

/// Settings every node of one test cluster shares.
pub(crate) struct ClusterPlan {
    pub(crate) root: PathBuf,
    pub(crate) cql_uri: String,
    pub(crate) keyspace: String,
    /// Extra TOML for every node (e.g. `[[regions]]`, `[presence]`).
    pub(crate) extra_toml: String,
    pub(crate) specs: Vec<NodeSpec>,
    /// HTTP, cluster and metrics port of each node.
    ports: Vec<(u16, u16, u16)>,
}

impl ClusterPlan {
    /// A plan for `specs`, with free ports picked now.
    pub(crate) fn new(
        root: &Path,
        cql_uri: String,
        specs: Vec<NodeSpec>,
        extra_toml: &str,
    ) -> Self {
        let unique = uuid::Uuid::new_v4().simple().to_string();
        let ports = specs
            .iter()
            .map(|spec| {
                (
                    free_port(spec.host),
                    free_port(spec.host),
                    free_port(spec.host),
                )
            })
            .collect();
        Self {
            root: root.to_owned(),
            cql_uri,
            keyspace: format!("heyblue_cl_{}", &unique[..16]),
            extra_toml: extra_toml.to_owned(),
            specs,
            ports,
        }
    }

    /// Where node logs go: the test root, or `CLUSTER_TEST_LOGS/<keyspace>`
    /// to keep them after the test.
    fn log_dir(&self) -> PathBuf {
        let dir = match std::env::var("CLUSTER_TEST_LOGS") {
            Ok(kept) if !kept.is_empty() => PathBuf::from(kept).join(&self.keyspace),
            _ => self.root.clone(),
        };
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// What node `name` logged so far.
    pub(crate) fn log_of(&self, name: &str) -> String {
        std::fs::read_to_string(self.log_dir().join(format!("{name}.log"))).unwrap_or_default()
    }

    /// Starts node `index` and waits until it is ready.
    pub(crate) async fn start(&self, index: usize) -> ClusterNode {
        self.start_with_cookie(index, COOKIE).await
    }

    /// Starts node `index` with `cookie` and waits until it is ready.
    pub(crate) async fn start_with_cookie(&self, index: usize, cookie: &str) -> ClusterNode {
        self.start_node(index, cookie, &self.extra_toml).await
    }

    /// Starts node `index` with `extra_toml` instead of the plan's and waits
    /// until it is ready.
    pub(crate) async fn start_with_extra(&self, index: usize, extra_toml: &str) -> ClusterNode {
        self.start_node(index, COOKIE, extra_toml).await
    }

    async fn start_node(&self, index: usize, cookie: &str, extra_toml: &str) -> ClusterNode {
        let spec = &self.specs[index];
        let (http_port, cluster_port, metrics_port) = self.ports[index];
        let host = format!("127.0.0.{}", spec.host);
        let seeds: Vec<String> = self
            .specs
            .iter()
            .zip(&self.ports)
            .filter(|(other, _)| other.name != spec.name)
            .map(|(other, (_, port, _))| format!("\"127.0.0.{}:{port}\"", other.host))
            .collect();
        let data_dir = self.root.join(spec.name);
        let sms_file = self.root.join(format!("{}-sms.jsonl", spec.name));
        let nodes: Vec<String> = self
            .cql_uri
            .split(',')
            .map(|node| format!("\"{}\"", node.trim()))
            .collect();
        let config = format!(
            r#"listen = "{host}:{http_port}"
data_dir = "{data_dir}"
node_name = "{name}"

[store]
type = "scylla"
nodes = [{nodes}]
keyspace = "{keyspace}"
request_timeout_seconds = 5

[sms]
type = "file"
path = "{sms}"

[metrics]
listen = "{host}:{metrics_port}"

[cluster]
listen = "{host}:{cluster_port}"
seeds = [{seeds}]
region = "{region}"
heartbeat_interval_ms = 100
peer_timeout_ms = 1000
drain_handoff_ms = 500
{extra}"#,
            data_dir = data_dir.display(),
            name = spec.name,
            nodes = nodes.join(", "),
            keyspace = self.keyspace,
            sms = sms_file.display(),
            seeds = seeds.join(", "),
            region = spec.region,
            extra = extra_toml,
        );
        std::fs::create_dir_all(&self.root).unwrap();
        let config_file = self.root.join(format!("{}.toml", spec.name));
        std::fs::write(&config_file, config).unwrap();
        let log = std::fs::File::create(self.log_dir().join(format!("{}.log", spec.name))).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_heyblue"))
            .arg("--config")
            .arg(&config_file)
            .env("HEYBLUE_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("HEYBLUE_MASTER_KEY", MASTER_KEY)
            .env("HEYBLUE_CLUSTER_COOKIE", cookie)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start heyblue");
        let mut api =
            TestServer::external(format!("http://{host}:{http_port}"), data_dir, sms_file);
        api.metrics_base_url = Some(format!("http://{host}:{metrics_port}"));
        let node = ClusterNode {
            name: spec.name,
            api,
            cluster_address: format!("{host}:{cluster_port}").parse().unwrap(),
            child: Some(child),
        };
        node.api.wait_ready().await;
        node
    }

    /// Starts every node (the first alone, so it creates the schema) and waits
    /// until each sees all the others.
    pub(crate) async fn start_all(&self) -> Vec<ClusterNode> {
        self.start_first(self.specs.len()).await
    }

    /// Starts the first `count` nodes and waits until each sees the others.
    pub(crate) async fn start_first(&self, count: usize) -> Vec<ClusterNode> {
        let first = self.start(0).await;
        let rest = futures::future::join_all((1..count).map(|index| self.start(index))).await;
        let nodes: Vec<ClusterNode> = std::iter::once(first).chain(rest).collect();
        for node in &nodes {
            wait_for_peers(node, nodes.len()).await;
        }
        nodes
    }
}

impl Drop for ClusterPlan {
    /// Drops the test keyspace (after the nodes, which tests declare later and
    /// so drop first): a long test run would otherwise fill the CQL node's heap.
    fn drop(&mut self) {
        let keyspace = self.keyspace.clone();
        let dropped = super::on_cql_node(&self.cql_uri, move |session| async move {
            session
                .query_unpaged(format!("DROP KEYSPACE IF EXISTS {keyspace}"), ())
                .await
                .ok()
        });
        if dropped.is_none() {
            eprintln!("test keyspace {} was not dropped", self.keyspace);
        }
    }
}

/// Waits until `node` lists `count` nodes that own shards.
pub(crate) async fn wait_for_peers(node: &ClusterNode, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let view = cluster_view(node).await;
        let up = view["nodes"].as_array().map_or(0, |nodes| {
            nodes.iter().filter(|n| n["state"] == "up").count()
        });
        if up == count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} sees {up} of {count} nodes: {view}",
            node.name
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `GET /v1/admin/cluster` on `node`.
pub(crate) async fn cluster_view(node: &ClusterNode) -> serde_json::Value {
    node.api.get_json("/v1/admin/cluster", ADMIN_TOKEN).await
}

/// `GET /v1/route` on `node` for a point.
pub(crate) async fn route(
    node: &ClusterNode,
    token: &str,
    (lat, lng): (f64, f64),
) -> serde_json::Value {
    node.api
        .get_json(&format!("/v1/route?lat={lat}&lng={lng}"), token)
        .await
}

fn free_port(host: u8) -> u16 {
    TcpListener::bind(("127.0.0.".to_owned() + &host.to_string(), 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}
