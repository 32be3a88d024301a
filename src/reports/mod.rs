//! Reports: aggregates of connections and points by (UTC day, hour), area
//! and role, maintained by the store as records are written (see
//! `store::report_facts`), and recomputed from the records by
//! `heyblue reports rebuild` after a bug fix (officers' availability
//! stretches reach the store through [`AvailabilityLog`]); reports read from them and
//! published under disclosure control (docs/reports.md); `heyblue export`
//! writes de-identified connection-level facts for the data team.

mod availability_log;
mod bench_command;
mod disclosure;
mod export_command;
mod export_files;
mod export_rows;
mod query;
mod rebuild;
mod rebuild_command;
mod roll_up_task;

#[cfg(test)]
pub(crate) mod check;
#[cfg(test)]
mod disclosure_reference_tests;
#[cfg(test)]
mod disclosure_tests;
#[cfg(test)]
mod export_tests;
#[cfg(test)]
mod grain_tests;
#[cfg(test)]
mod query_tests;
#[cfg(test)]
mod tests;

pub(crate) use availability_log::AvailabilityLog;
pub use bench_command::{ReportBenchOptions, bench_reports};
pub use export_command::{ExportCommandError, ExportOptions, export_connections};
pub use export_files::ExportWriteError;
pub(crate) use query::{AreaBy, GroupBy, MAX_SPAN_DAYS, Report, ReportRequest, report};
pub(crate) use rebuild::rebuild;
pub use rebuild_command::{RebuildCommandError, rebuild_reports};
pub(crate) use rebuild_command::{day_text, parse_day};
pub(crate) use roll_up_task::roll_up_reports_periodically;
