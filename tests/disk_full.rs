//! The embedded store on a full disk, with a real process and a real full
//! filesystem: the data directory is a 16 MiB tmpfs that the test fills. While
//! it is full, requests that write answer 503 `store_unavailable` (not a bare
//! 500) and `/readyz` stops reporting ready; once space returns the server
//! recovers on its own, without a restart; nothing written before is lost or
//! damaged, and a restart after SIGKILL finds everything.
//!
//! Mounting a tmpfs needs root (or `CAP_SYS_ADMIN`), as `scripts/test` has on
//! CI machines. Without it the test fails, unless `HEYBLUE_SKIP_DISK_FULL=1`
//! is set: then it is reported as SKIPPED.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::process::ServerProcess;
use common::{TestServer, error_code};
use serde_json::{Value, json};
use tokio::time::Instant;

/// Set to `1` to skip where no tmpfs can be mounted.
const SKIP_VARIABLE: &str = "HEYBLUE_SKIP_DISK_FULL";
/// The data directory's filesystem.
const FILESYSTEM_SIZE: &str = "16m";
/// Signed in before the disk fills: must survive it.
const EARLY_PHONE: &str = "+12125550401";
/// Signed in after space returns.
const LATE_PHONE: &str = "+12125550402";
/// How long the server may take to notice that space is back.
const RECOVERY_LIMIT: Duration = Duration::from_secs(15);
/// Identity limits opened up: the test asks for many codes from one address.
const OPEN_LIMITS: &str = "[identity]\notp_max_per_ip_per_hour = 100000\n\
     sms_max_per_hour = 100000\nsms_max_per_prefix_per_hour = 100000\n";

/// A tmpfs mounted on a directory, unmounted when dropped.
struct SmallFilesystem {
    mount_point: PathBuf,
}

impl SmallFilesystem {
    /// Mounts a tmpfs of [`FILESYSTEM_SIZE`] on `mount_point`, or says why not.
    fn mount(mount_point: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(mount_point).map_err(|error| error.to_string())?;
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={FILESYSTEM_SIZE},mode=0700"))
            .arg("tmpfs")
            .arg(mount_point)
            .output()
            .map_err(|error| format!("cannot run mount: {error}"))?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).trim().to_owned());
        }
        Ok(Self {
            mount_point: mount_point.to_path_buf(),
        })
    }

    /// Fills the filesystem with one file until a write fails for want of space.
    fn fill(&self) -> PathBuf {
        let path = self.mount_point.join("filler");
        let mut file = std::fs::File::create(&path).expect("create the filler");
        let block = vec![0xA5_u8; 64 * 1024];
        let mut small = vec![0xA5_u8; 512];
        loop {
            match file.write_all(&block) {
                Ok(()) => continue,
                Err(error) if error.kind() == std::io::ErrorKind::StorageFull => break,
                Err(error) => panic!("filling the disk failed otherwise: {error}"),
            }
        }
        // The last bytes too, so that no page is left for the database.
        while file.write_all(&small).is_ok() {
            small.truncate(small.len().max(2) / 2);
        }
        path
    }
}

impl Drop for SmallFilesystem {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mount_point).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_cleanly_and_the_store_recovers_when_space_returns() {
    let root = tempfile::tempdir().unwrap();
    let filesystem = match SmallFilesystem::mount(&root.path().join("data")) {
        Ok(filesystem) => filesystem,
        Err(reason) if std::env::var(SKIP_VARIABLE).as_deref() == Ok("1") => {
            common::report_skip(&format!("disk full test: cannot mount a tmpfs ({reason})"));
            return;
        }
        Err(reason) => panic!(
            "the disk full test mounts a tmpfs and could not ({reason}); run as root, \
             or set {SKIP_VARIABLE}=1 to skip it"
        ),
    };
    let mut server = ServerProcess::start(root.path(), OPEN_LIMITS).await;
    let early = server.api.sign_in(EARLY_PHONE).await;
    let early_token = early["access_token"].as_str().unwrap().to_owned();
    let profile_before = server.api.get_json("/v1/me/profile", &early_token).await;

    let filler = filesystem.fill();
    let mut refused = 0;
    for attempt in 0..40 {
        let phone = format!("+1212555{:04}", 1000 + attempt);
        let response = server
            .api
            .post_json("/v1/auth/otp/request", json!({ "phone": phone }))
            .await;
        if response.status() == 202 {
            continue;
        }
        let (status, code) = error_code(response).await;
        assert_eq!(
            (status, code.as_str()),
            (503, "store_unavailable"),
            "a full disk is a clear, retryable refusal, not an internal error"
        );
        refused += 1;
    }
    assert!(
        refused > 0,
        "the disk filled, so writes must have been refused"
    );
    let ready = server
        .api
        .http
        .get(server.api.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503, "not ready while the disk is full");

    std::fs::remove_file(&filler).unwrap();
    let late = sign_in_within(&server.api, LATE_PHONE, RECOVERY_LIMIT).await;
    assert!(late["access_token"].is_string());
    assert_eq!(
        server.api.get_json("/v1/me/profile", &early_token).await,
        profile_before,
        "what was written before the disk filled is intact"
    );

    server.kill();
    drop(server);
    let server = ServerProcess::start(root.path(), OPEN_LIMITS).await;
    assert_eq!(
        server.api.get_json("/v1/me/profile", &early_token).await,
        profile_before,
        "a restart on the same data finds it"
    );
    let late_token = late["access_token"].as_str().unwrap();
    let response = server.api.get_authed("/v1/me/profile", late_token).await;
    assert_eq!(
        response.status(),
        200,
        "the sign-in after the recovery was kept"
    );
    drop(server);
    drop(filesystem);
}

/// Signs `phone` in, retrying while the server still refuses; fails after `limit`.
async fn sign_in_within(server: &TestServer, phone: &str, limit: Duration) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let response = server
            .post_json("/v1/auth/otp/request", json!({ "phone": phone }))
            .await;
        if response.status() == 202 {
            let code = server.last_code_for(phone);
            let verified = server
                .post_json(
                    "/v1/auth/otp/verify",
                    json!({ "phone": phone, "code": code }),
                )
                .await;
            assert_eq!(verified.status(), 200, "the code sent is accepted");
            return verified.json().await.unwrap();
        }
        let (status, code) = error_code(response).await;
        assert!(
            Instant::now() < deadline,
            "still refused ({status} {code}) {limit:?} after space returned"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
