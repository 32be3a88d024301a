//! `heyblue reports rebuild [--from DAY]`: recomputes report aggregates from
//! the records of the store of the configuration. With the embedded store
//! the server must not be running (it holds the file).

use crate::clock::Clock;
use crate::config::{Config, EnvironmentVariables};
use crate::domain::connection::utc_day;
use crate::store::StoreError;

/// Why a rebuild could not run.
#[derive(Debug, thiserror::Error)]
pub enum RebuildCommandError {
    /// The day is not written `YYYY-MM-DD`.
    #[error("--from must be a UTC day written YYYY-MM-DD, e.g. 2026-12-01 (got {0:?})")]
    Day(String),
    /// The data directory cannot be prepared.
    #[error("cannot prepare data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The UTC day (days since the Unix epoch) of `YYYY-MM-DD`.
pub(crate) fn parse_day(text: &str) -> Option<i64> {
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
    Some(date.signed_duration_since(epoch).num_days())
}

/// `YYYY-MM-DD` of a UTC day.
pub(crate) fn day_text(day: i64) -> String {
    chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|epoch| epoch.checked_add_signed(chrono::TimeDelta::try_days(day)?))
        .map_or_else(
            || day.to_string(),
            |date| date.format("%Y-%m-%d").to_string(),
        )
}

/// Rebuilds the aggregates from `from` (`YYYY-MM-DD`; the first record's
/// day when `None`) and says what was done.
pub async fn rebuild_reports(
    config: &Config,
    environment: &EnvironmentVariables,
    from: Option<&str>,
) -> Result<String, RebuildCommandError> {
    let from_day = from
        .map(|text| parse_day(text).ok_or_else(|| RebuildCommandError::Day(text.to_owned())))
        .transpose()?;
    crate::data_dir::prepare(&config.data_dir).map_err(|source| RebuildCommandError::DataDir {
        path: config.data_dir.display().to_string(),
        source,
    })?;
    let store = crate::store::open_now_for(config, environment).await?;
    let today = utc_day(Clock::system().now_ms());
    let summary = super::rebuild(store.as_ref(), from_day, today).await;
    store.close().await?;
    let summary = summary?;
    Ok(match (summary.from_day, summary.to_day) {
        (Some(first), Some(last)) => format!(
            "report aggregates of {} to {} rebuilt: {} connections, {} ledger entries, \
             {} vouchers, {} donations and {} availability stretches read, {} facts counted",
            day_text(first),
            day_text(last),
            summary.connections,
            summary.ledger_entries,
            summary.vouchers,
            summary.donations,
            summary.availability,
            summary.facts
        ),
        _ => "no records to rebuild report aggregates from".to_owned(),
    })
}
