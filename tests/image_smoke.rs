//! The container image, run as a cluster would run it: `scripts/image` builds
//! it (from this test's binary, to spare a release build), its root
//! filesystem is mounted (`buildah mount`) and `heyblue serve` runs from it
//! with `chroot` as uid 10001, on a free loopback port: `/healthz` and
//! `/readyz` answer, a person signs in with the `file` SMS adapter and is
//! welcomed on a WebSocket, and SIGTERM stops it with a clean exit. The image
//! itself runs as 10001, starts `/heyblue serve`, carries its labels and SBOM,
//! and has no shell and no package manager. Whatever happens, the mount, the
//! working container and the image are removed.
//!
//! Needs root (chroot, buildah's storage) and buildah, which `scripts/image`
//! installs with apt-get, as CI runs. Elsewhere the test fails, unless
//! `HEYBLUE_SKIP_IMAGE=1` is set: then it is reported as SKIPPED.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::ws::{Format, WsClient};
use common::{ADMIN_TOKEN, TestServer, report_skip};
use serde_json::Value;

/// Set to `1` to skip where no image can be built or run.
const SKIP_VARIABLE: &str = "HEYBLUE_SKIP_IMAGE";
/// The repository the test tags its image under, apart from real builds.
const REPOSITORY: &str = "localhost/heyblue-smoke";
/// The user the image runs as.
const USER: &str = "10001:10001";
/// How long the server may take to stop after SIGTERM.
const STOP_LIMIT: Duration = Duration::from_secs(20);

/// Runs buildah with the storage driver `scripts/image` uses.
fn buildah(arguments: &[&str]) -> Output {
    Command::new("buildah")
        .args(["--storage-driver", "vfs"])
        .args(arguments)
        .output()
        .expect("run buildah")
}

/// Standard output of a buildah call that must succeed.
fn buildah_ok(arguments: &[&str]) -> String {
    let output = buildah(arguments);
    assert!(
        output.status.success(),
        "buildah {arguments:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The built image, a working container of it and its mounted root
/// filesystem; all removed when dropped.
struct MountedImage {
    /// The image id `scripts/image` printed.
    id: String,
    tags: Vec<String>,
    container: String,
    rootfs: PathBuf,
}

impl MountedImage {
    /// Builds the image with `scripts/image` into `out` and mounts it.
    fn build(out: &Path) -> (Self, Vec<String>) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/image");
        let output = Command::new(script)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["--binary", env!("CARGO_BIN_EXE_heyblue")])
            .arg("--out")
            .arg(out)
            .args(["--repository", REPOSITORY])
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/image");
        assert!(output.status.success(), "scripts/image failed");
        let printed: Vec<String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        assert_eq!(printed.len(), 3, "id, size and SBOM path: {printed:?}");
        let tags: Vec<String> =
            buildah_ok(&["images", "--noheading", "--format", "{{.Name}}:{{.Tag}}"])
                .lines()
                .filter(|tag| tag.starts_with(REPOSITORY))
                .map(str::to_owned)
                .collect();
        let container = buildah_ok(&["from", "--pull-never", "--quiet", &tags[0]]);
        let mut mounted = Self {
            id: printed[0].clone(),
            tags,
            container,
            rootfs: PathBuf::new(),
        };
        mounted.rootfs = PathBuf::from(buildah_ok(&["mount", &mounted.container]));
        (mounted, printed)
    }
}

impl Drop for MountedImage {
    fn drop(&mut self) {
        let _ = buildah(&["umount", &self.container]);
        let _ = buildah(&["rm", &self.container]);
        for tag in &self.tags {
            let _ = buildah(&["rmi", "--force", tag]);
        }
        let _ = buildah(&["rmi", "--force", &self.id]);
    }
}

/// A port nobody listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// Whether the root filesystem has `path` (a file, a directory or a link).
fn has(rootfs: &Path, path: &str) -> bool {
    rootfs.join(path).symlink_metadata().is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_image_serves_a_sign_in_and_a_socket_as_uid_10001() {
    if std::env::var(SKIP_VARIABLE).as_deref() == Ok("1") {
        report_skip(&format!("image smoke test: {SKIP_VARIABLE}=1"));
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let (image, printed) = MountedImage::build(out.path());

    // What the image is.
    let inspected: Value =
        serde_json::from_str(&buildah_ok(&["inspect", "--type", "image", &image.tags[0]]))
            .expect("buildah inspect prints JSON");
    let config = &inspected["OCIv1"]["config"];
    assert_eq!(config["User"], USER);
    assert_eq!(
        config["Entrypoint"],
        serde_json::json!(["/heyblue", "serve"])
    );
    assert_eq!(
        config["Labels"]["org.opencontainers.image.version"],
        env!("CARGO_PKG_VERSION")
    );
    assert!(
        config["Labels"]["org.opencontainers.image.revision"]
            .as_str()
            .is_some_and(|revision| revision.len() >= 40),
        "the git revision is labelled"
    );
    let rootfs = &image.rootfs;
    for absent in [
        "bin/sh",
        "bin/bash",
        "usr/bin/apt-get",
        "usr/bin/dpkg",
        "sbin/apk",
    ] {
        assert!(!has(rootfs, absent), "the image has {absent}");
    }
    for present in [
        "heyblue",
        "etc/ssl/certs/ca-certificates.crt",
        "usr/share/doc/heyblue/sbom.cdx.json",
    ] {
        assert!(has(rootfs, present), "the image lacks {present}");
    }
    let sbom: Value = serde_json::from_slice(&std::fs::read(&printed[2]).unwrap()).unwrap();
    assert!(
        sbom["components"]
            .as_array()
            .is_some_and(|components| components.len() > 100),
        "the SBOM lists the dependency tree"
    );

    // Run it as a node would, as uid 10001 from its own root.
    let http_port = free_port();
    let metrics_port = free_port();
    let config_text = format!(
        "listen = \"127.0.0.1:{http_port}\"\ndata_dir = \"/data\"\n\n\
         [sms]\ntype = \"file\"\npath = \"/data/sms.jsonl\"\n\n\
         [metrics]\nlisten = \"127.0.0.1:{metrics_port}\"\n"
    );
    std::fs::write(rootfs.join("data/heyblue.toml"), config_text).unwrap();
    let log = std::fs::File::create(out.path().join("server.log")).unwrap();
    let mut child = Command::new("chroot")
        .arg(format!("--userspec={USER}"))
        .arg(rootfs)
        .args(["/heyblue", "--config", "/data/heyblue.toml", "serve"])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("HEYBLUE_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("chroot into the image");
    let server = TestServer::external(
        format!("http://127.0.0.1:{http_port}"),
        rootfs.join("data"),
        rootfs.join("data/sms.jsonl"),
    );
    server.wait_ready().await;
    let health = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    let signed_in = server.sign_in("+12125550177").await;
    let token = signed_in["access_token"].as_str().expect("an access token");
    let url = server.base_url.replace("http://", "ws://") + "/v1/ws";
    let mut socket = WsClient::connect(&url, Some(token), Format::Json)
        .await
        .expect("upgrade accepted");
    assert_eq!(socket.next_message().await["t"], "welcome");
    socket.close().await;

    // SIGTERM: a clean stop, as a pod's.
    let terminated = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("send SIGTERM");
    assert!(terminated.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the server") {
            break status;
        }
        assert!(started.elapsed() < STOP_LIMIT, "no exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let server_log = std::fs::read_to_string(out.path().join("server.log")).unwrap_or_default();
    assert!(status.success(), "exit {status}: {server_log}");
    let owner = std::os::unix::fs::MetadataExt::uid(
        &std::fs::metadata(rootfs.join("data/master.key")).expect("the server wrote its key"),
    );
    assert_eq!(owner, 10001, "files written as uid 10001");
}
