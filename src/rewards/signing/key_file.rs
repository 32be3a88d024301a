//! The voucher key file (`voucher-keys.json`): the key set as JSON, secret keys
//! as PASERK `k4.secret`. It is owner-only (0600): a file that grants the
//! group or others anything, or that does not parse, is refused with an error
//! naming it. Writes go to a new 0600 file beside it that is then renamed over
//! it, so a server reloading it never reads half a file; that temporary file is
//! created exclusively, so two rotations at once cannot both win.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use pasetors::keys::AsymmetricSecretKey;
use pasetors::version4::V4;
use serde::{Deserialize, Serialize};

use super::key_set::{KeySet, KeySetError, VoucherKey, paserk_text};
use crate::data_dir::FILE_MODE;

/// Names the file's layout, so a later one can be told apart.
const FORMAT: &str = "heyblue-voucher-keys-v1";
/// Permission bits for the group and others: none may be set.
const GROUP_AND_OTHER_BITS: u32 = 0o077;

/// Why the key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// It could not be read, written or renamed.
    #[error("cannot use voucher key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// Its mode lets others read it.
    #[error("voucher key file {path} has mode {mode:o}: it holds secret keys, run chmod 600 on it")]
    Loose {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// It is not a key file of this server, or its keys do not add up.
    #[error("voucher key file {path} is corrupt: {problem}")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// A rotation's temporary file already exists.
    #[error("{path} exists: another rotation is running, or one was interrupted (then delete it)")]
    RotationBusy {
        /// The temporary file.
        path: String,
    },
}

/// The file as stored.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredKeys {
    /// Always [`FORMAT`].
    format: String,
    /// Oldest first.
    keys: Vec<StoredKey>,
}

/// One key as stored.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredKey {
    /// PASERK `k4.pid` of the public key; checked against the secret on load.
    kid: String,
    /// PASERK `k4.secret` (seed and public key).
    secret: String,
    /// Generation time (Unix ms).
    created_at_ms: i64,
    /// Retirement time (Unix ms); `null` for the active key.
    retired_at_ms: Option<i64>,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("StoredKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// What identifies one version of the file: a rename or a rewrite changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileStamp {
    /// Inode number (a rename puts a new one in place).
    inode: u64,
    /// Modification time, seconds and nanoseconds.
    modified: (i64, i64),
    /// Size in bytes.
    size: u64,
}

/// The stamp of the file at `path` as it is now.
pub(crate) fn stamp(path: &Path) -> Result<FileStamp, KeyFileError> {
    let metadata = std::fs::metadata(path).map_err(|source| io_error(path, source))?;
    Ok(stamp_of(&metadata))
}

fn stamp_of(metadata: &std::fs::Metadata) -> FileStamp {
    FileStamp {
        inode: metadata.ino(),
        modified: (metadata.mtime(), metadata.mtime_nsec()),
        size: metadata.size(),
    }
}

/// Reads the key set at `path`, with the stamp of the version read (taken
/// before reading, so a change in between is seen at the next check). `None`
/// when there is no file.
pub(crate) fn read(path: &Path) -> Result<Option<(KeySet, FileStamp)>, KeyFileError> {
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(source) if source.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(io_error(path, source)),
    };
    let mode = metadata.permissions().mode() & 0o777;
    if mode & GROUP_AND_OTHER_BITS != 0 {
        return Err(KeyFileError::Loose {
            path: path.display().to_string(),
            mode,
        });
    }
    let text = std::fs::read_to_string(path).map_err(|source| io_error(path, source))?;
    let keys = parse(&text).map_err(|problem| KeyFileError::Corrupt {
        path: path.display().to_string(),
        problem,
    })?;
    Ok(Some((keys, stamp_of(&metadata))))
}

/// Reads the key set at `path`, or generates one there when there is none.
/// Of several processes generating at once, the first file written wins and
/// the others read it.
pub(crate) fn read_or_generate(
    path: &Path,
    now_ms: i64,
) -> Result<(KeySet, FileStamp), KeyFileError> {
    if let Some(found) = read(path)? {
        return Ok(found);
    }
    let keys = KeySet::generate(now_ms).map_err(|error| corrupt(path, &error))?;
    match create_new(path, &render(&keys)) {
        Ok(()) => {
            tracing::info!(path = %path.display(), kid = %keys.active().kid, "generated voucher signing key");
            Ok((keys, stamp(path)?))
        }
        Err(source) if source.kind() == std::io::ErrorKind::AlreadyExists => {
            read(path)?.ok_or_else(|| io_error(path, std::io::ErrorKind::NotFound.into()))
        }
        Err(source) => Err(io_error(path, source)),
    }
}

/// Replaces the file at `path` with `keys`, through a temporary file renamed
/// over it.
pub(crate) fn replace(path: &Path, keys: &KeySet) -> Result<(), KeyFileError> {
    let temporary = temporary_path(path);
    match create_new(&temporary, &render(keys)) {
        Ok(()) => {}
        Err(source) if source.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(KeyFileError::RotationBusy {
                path: temporary.display().to_string(),
            });
        }
        Err(source) => return Err(io_error(&temporary, source)),
    }
    if let Err(source) = std::fs::rename(&temporary, path) {
        // Best effort: the next rotation would otherwise find it busy.
        if let Err(error) = std::fs::remove_file(&temporary) {
            tracing::warn!(path = %temporary.display(), %error, "cannot remove temporary key file");
        }
        return Err(io_error(path, source));
    }
    if let Some(directory) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        // The rename is durable once the directory is synced.
        std::fs::File::open(directory)
            .and_then(|handle| handle.sync_all())
            .map_err(|source| io_error(directory, source))?;
    }
    Ok(())
}

/// The file's text for `keys`.
fn render(keys: &KeySet) -> String {
    let stored = StoredKeys {
        format: FORMAT.to_owned(),
        keys: keys
            .keys()
            .iter()
            .map(|key| StoredKey {
                kid: key.kid.clone(),
                secret: paserk_text(&key.secret),
                created_at_ms: key.created_at_ms,
                retired_at_ms: key.retired_at_ms,
            })
            .collect(),
    };
    // A struct of strings and integers always serialises.
    serde_json::to_string_pretty(&stored).unwrap_or_default()
}

/// The key set in `text`, or what is wrong with it.
fn parse(text: &str) -> Result<KeySet, String> {
    let stored: StoredKeys = serde_json::from_str(text).map_err(|error| error.to_string())?;
    if stored.format != FORMAT {
        return Err(format!("format is not {FORMAT}"));
    }
    let mut keys = Vec::with_capacity(stored.keys.len());
    for entry in stored.keys {
        let secret = AsymmetricSecretKey::<V4>::try_from(entry.secret.as_str())
            .map_err(|_| KeySetError::BadSecret.to_string())?;
        let key = VoucherKey::from_secret(secret, entry.created_at_ms, entry.retired_at_ms)
            .map_err(|error| error.to_string())?;
        if key.kid != entry.kid {
            return Err(KeySetError::WrongKid { kid: entry.kid }.to_string());
        }
        keys.push(key);
    }
    KeySet::from_keys(keys).map_err(|error| error.to_string())
}

/// Creates `path` with mode 0600 (failing if it exists) and writes `contents`.
fn create_new(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

/// `voucher-keys.json.new` beside `path`.
fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".new");
    path.with_file_name(name)
}

fn io_error(path: &Path, source: std::io::Error) -> KeyFileError {
    KeyFileError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn corrupt(path: &Path, error: &KeySetError) -> KeyFileError {
    KeyFileError::Corrupt {
        path: path.display().to_string(),
        problem: error.to_string(),
    }
}
