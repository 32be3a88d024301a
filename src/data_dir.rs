//! The data directory holds the embedded store, the master key and the admin
//! token: it is created owner-only (0700) and every file the server creates in
//! it is owner-only (0600). A directory or file found looser — made by hand, or
//! by an older build — is named in a warning at start; the server does not
//! change modes it did not set.

use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Mode of a directory the server creates.
const DIRECTORY_MODE: u32 = 0o700;
/// Mode of a file the server creates.
pub(crate) const FILE_MODE: u32 = 0o600;
/// Permission bits for the group and others: none should be set.
const GROUP_AND_OTHER_BITS: u32 = 0o077;

/// Creates `path` (and missing parents) with mode 0700 when it does not exist,
/// then warns about anything in it that others may read.
pub(crate) fn prepare(path: &Path) -> io::Result<()> {
    if !path.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(DIRECTORY_MODE)
            .create(path)?;
    }
    for (loose, mode) in loose_entries(path)? {
        tracing::warn!(
            path = %loose.display(),
            mode = format!("{mode:o}"),
            "data directory entry readable by others: chmod go-rwx"
        );
    }
    Ok(())
}

/// The directory itself and the entries directly in it whose mode grants the
/// group or others anything, with their permission bits.
pub(crate) fn loose_entries(path: &Path) -> io::Result<Vec<(PathBuf, u32)>> {
    let mut loose = Vec::new();
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if mode & GROUP_AND_OTHER_BITS != 0 {
        loose.push((path.to_owned(), mode));
    }
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let mode = entry.metadata()?.permissions().mode() & 0o777;
        if mode & GROUP_AND_OTHER_BITS != 0 {
            loose.push((entry.path(), mode));
        }
    }
    Ok(loose)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_new_directory_is_owner_only_and_loose_entries_are_found() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("nested").join("data");
        prepare(&data).unwrap();
        let mode = std::fs::metadata(&data).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, DIRECTORY_MODE);
        assert!(loose_entries(&data).unwrap().is_empty());
        let shared = data.join("shared.txt");
        std::fs::write(&shared, "x").unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(loose_entries(&data).unwrap(), vec![(shared, 0o644)]);
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(loose_entries(&data).unwrap().len(), 2);
    }
}
