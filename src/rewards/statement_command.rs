//! `heyblue rewards statement --month YYYY-MM`: the pledge statement of a
//! month, read from the store of the configuration and printed as CSV or
//! JSON. With the embedded store the server must not be running (it holds the
//! file); use `GET /v1/admin/rewards/statements` then.

use crate::config::{Config, EnvironmentVariables};
use crate::domain::donation::Month;
use crate::store::StoreError;

use super::Statements;

/// How a statement is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatementFormat {
    /// A header row and one row per charity.
    Csv,
    /// One JSON object (as the admin API answers).
    Json,
}

/// Why a statement could not be printed.
#[derive(Debug, thiserror::Error)]
pub enum StatementCommandError {
    /// The month is not written `YYYY-MM`.
    #[error("--month must be written YYYY-MM, e.g. 2026-12 (got {0:?})")]
    Month(String),
    /// The data directory cannot be prepared.
    #[error("cannot prepare data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The statement could not be written as JSON.
    #[error("cannot write the statement as json: {0}")]
    Json(#[from] serde_json::Error),
}

/// The statement of `month` (`YYYY-MM`) in `format`, from the store `config`
/// names.
pub async fn rewards_statement(
    config: &Config,
    environment: &EnvironmentVariables,
    month: &str,
    format: StatementFormat,
) -> Result<String, StatementCommandError> {
    let month =
        Month::parse(month).ok_or_else(|| StatementCommandError::Month(month.to_owned()))?;
    crate::data_dir::prepare(&config.data_dir).map_err(|source| {
        StatementCommandError::DataDir {
            path: config.data_dir.display().to_string(),
            source,
        }
    })?;
    let store = crate::store::open_now_for(config, environment).await?;
    let statement = Statements::new(store.clone()).statement(month).await;
    store.close().await?;
    let statement = statement?;
    Ok(match format {
        StatementFormat::Csv => statement.to_csv(),
        StatementFormat::Json => {
            let mut json = serde_json::to_string_pretty(&statement)?;
            json.push('\n');
            json
        }
    })
}
