//! Build facts for `heyblue --version` and `GET /v1/version`: the git revision
//! of the checkout (with `-dirty` when it had uncommitted changes) and the build
//! date. `SOURCE_DATE_EPOCH` fixes the date for reproducible builds; outside a
//! git checkout the revision is `unknown`. The variables are not named
//! `HEYBLUE_*`: cargo also sets them when it runs the tests, and `HEYBLUE_*`
//! variables are configuration overrides.

use std::process::Command;

fn main() {
    // Where git keeps them: in a linked worktree `.git` is a file, and a path
    // that does not exist would make cargo run this script on every build.
    for file in ["HEAD", "index"] {
        let path =
            git(&["rev-parse", "--git-path", file]).unwrap_or_else(|| format!(".git/{file}"));
        println!("cargo:rerun-if-changed={path}");
    }
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let revision = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|changes| !changes.is_empty());
    let suffix = if dirty { "-dirty" } else { "" };
    println!("cargo:rustc-env=BUILD_GIT_REVISION={revision}{suffix}");
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|text| text.parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_secs() as i64)
        });
    println!("cargo:rustc-env=BUILD_DATE_UTC={}", civil_date(epoch));
}

/// The output of a git command, trimmed; `None` when git fails.
fn git(arguments: &[&str]) -> Option<String> {
    let output = Command::new("git").args(arguments).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// `YYYY-MM-DD` (UTC) of a Unix time.
fn civil_date(epoch_seconds: i64) -> String {
    chrono::DateTime::from_timestamp(epoch_seconds, 0).map_or_else(
        || "unknown".to_owned(),
        |at| at.format("%Y-%m-%d").to_string(),
    )
}
