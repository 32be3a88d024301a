//! Writing secrets to disk: created fresh with mode 0600, never overwritten.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Creates `path` with owner-only permissions and writes `contents`; fails if the
/// file already exists, so a secret is never replaced behind the operator's back.
pub(crate) fn write_new(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}
