//! `heyblue export --from DAY --to DAY --out DIR`: connection-level facts
//! for the data team, de-identified (see `export_rows`), as Parquet and CSV
//! with a manifest. Participants are named by a keyed hash whose key is
//! made for the export and thrown away, so two exports cannot be joined;
//! with `--stable-pseudonyms` the key is kept in the data directory
//! (`export-pseudonyms.key`, owner-only) and reused. With the embedded
//! store the server must not be running (it holds the file).

use std::path::Path;

use rand::Rng;
use serde::Serialize;

use super::export_files::{COLUMNS, ExportWriteError, WrittenFile, write_csv, write_parquet};
use super::export_rows::{Pseudonymizer, export_rows};
use super::rebuild_command::{day_text, parse_day};
use crate::clock::Clock;
use crate::config::{Config, EnvironmentVariables};
use crate::domain::connection::utc_day;
use crate::store::{ConnectionRecord, Store, StoreError};

/// The file keeping the key of stable pseudonyms, in the data directory.
const STABLE_KEY_FILE: &str = "export-pseudonyms.key";
/// Records read per page of the scan.
const SCAN_PAGE: usize = 1_000;

/// What an export asks.
#[derive(Debug, Clone)]
pub struct ExportOptions<'a> {
    /// First UTC day, `YYYY-MM-DD`.
    pub from: &'a str,
    /// Last UTC day, `YYYY-MM-DD` (inclusive).
    pub to: &'a str,
    /// The directory written (created if missing).
    pub out: &'a Path,
    /// Reuse the kept pseudonym key, so this export joins earlier ones.
    pub stable_pseudonyms: bool,
}

/// Why an export could not run.
#[derive(Debug, thiserror::Error)]
pub enum ExportCommandError {
    /// A day is not written `YYYY-MM-DD`, or `from` is after `to`.
    #[error("--from and --to must be UTC days written YYYY-MM-DD, from on or before to")]
    Days,
    /// The data directory or the key file cannot be used.
    #[error("cannot use {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The kept pseudonym key is not 64 hex digits.
    #[error("{path} does not hold a pseudonym key (64 hex digits)")]
    Key {
        /// The key file.
        path: String,
    },
    /// A file could not be written.
    #[error(transparent)]
    Write(#[from] ExportWriteError),
    /// The manifest could not be encoded.
    #[error("cannot encode the manifest: {0}")]
    Manifest(#[from] serde_json::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The manifest of an export.
#[derive(Debug, Serialize)]
struct Manifest {
    /// First UTC day.
    from: String,
    /// Last UTC day.
    to: String,
    /// When it was written (Unix ms).
    created_at_ms: i64,
    /// Whether participants are named as in other stable exports.
    stable_pseudonyms: bool,
    /// People a ZIP needs in the span to be exported as a ZIP (else its
    /// 3-digit prefix).
    zip_min_people: u32,
    /// The columns, in order.
    columns: [&'static str; 8],
    /// The files.
    files: Vec<WrittenFile>,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ExportCommandError + '_ {
    move |source| ExportCommandError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The key of this export: fresh, or the kept one (made on first use).
fn pseudonym_key(data_dir: &Path, stable: bool) -> Result<[u8; 32], ExportCommandError> {
    if !stable {
        return Ok(rand::rng().random());
    }
    let path = data_dir.join(STABLE_KEY_FILE);
    if !path.exists() {
        let key: [u8; 32] = rand::rng().random();
        crate::identity::write_secret_file(&path, &hex::encode(key)).map_err(io_error(&path))?;
    }
    let text = std::fs::read_to_string(&path).map_err(io_error(&path))?;
    let bytes = hex::decode(text.trim()).ok();
    bytes
        .and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok())
        .ok_or_else(|| ExportCommandError::Key {
            path: path.display().to_string(),
        })
}

/// Every connection established on UTC days `from_day..=to_day`.
pub(crate) async fn connections_between(
    store: &dyn Store,
    from_day: i64,
    to_day: i64,
) -> Result<Vec<ConnectionRecord>, StoreError> {
    let mut records = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.scan_connections(cursor, SCAN_PAGE).await?;
        records.extend(page.records.into_iter().filter(|record| {
            let day = utc_day(record.established_at_ms);
            day >= from_day && day <= to_day
        }));
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(records),
        }
    }
}

/// Writes the export of `store` into `options.out`; returns the manifest's
/// files.
pub(crate) async fn write_export(
    store: &dyn Store,
    options: &ExportOptions<'_>,
    key: [u8; 32],
    zip_min_people: u32,
    now_ms: i64,
) -> Result<Vec<WrittenFile>, ExportCommandError> {
    let (Some(from_day), Some(to_day)) = (parse_day(options.from), parse_day(options.to)) else {
        return Err(ExportCommandError::Days);
    };
    if from_day > to_day {
        return Err(ExportCommandError::Days);
    }
    let records = connections_between(store, from_day, to_day).await?;
    let rows = export_rows(&records, &Pseudonymizer::new(key), zip_min_people);
    std::fs::create_dir_all(options.out).map_err(io_error(options.out))?;
    let files = vec![
        write_parquet(&options.out.join("connections.parquet"), &rows)?,
        write_csv(&options.out.join("connections.csv"), &rows)?,
    ];
    let manifest = Manifest {
        from: day_text(from_day),
        to: day_text(to_day),
        created_at_ms: now_ms,
        stable_pseudonyms: options.stable_pseudonyms,
        zip_min_people,
        columns: COLUMNS,
        files: files.clone(),
    };
    let manifest_path = options.out.join("manifest.json");
    let mut text = serde_json::to_string_pretty(&manifest)?;
    text.push('\n');
    std::fs::write(&manifest_path, text).map_err(io_error(&manifest_path))?;
    Ok(files)
}

/// `heyblue export`: writes the export and says what was written.
pub async fn export_connections(
    config: &Config,
    environment: &EnvironmentVariables,
    options: ExportOptions<'_>,
) -> Result<String, ExportCommandError> {
    crate::data_dir::prepare(&config.data_dir).map_err(io_error(&config.data_dir))?;
    let key = pseudonym_key(&config.data_dir, options.stable_pseudonyms)?;
    let store = crate::store::open_now_for(config, environment).await?;
    let written = write_export(
        store.as_ref(),
        &options,
        key,
        config.admin.min_report_cell_count,
        Clock::system().now_ms(),
    )
    .await;
    store.close().await?;
    let files = written?;
    let rows = files.first().map_or(0, |file| file.rows);
    Ok(format!(
        "{rows} rows exported to {} (connections.parquet, connections.csv, manifest.json)",
        options.out.display()
    ))
}
