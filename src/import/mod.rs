//! Admin data loading: one pipeline for the five kinds of file (officers,
//! retailers, offers, schemes, charities), CSV or NDJSON, read as a stream.
//!
//! - `schema`: the kinds and the one schema of each (also rendered into
//!   `docs/imports.md`).
//! - `source`: reads a file into batches of rows on a blocking thread, hashing it.
//! - `cells`, `entities`, `officers`: validate a row into what it writes.
//! - `report`: the Frictionless-style report of a run.
//! - `pipeline`: one run: validate, stage under the run id, commit.
//! - `check`: the same checks without the store (fuzzing).
//! - `progress`: the CLI's progress bar.
//! - `apply`: apply a committed run; recover interrupted ones.
//! - `csv_cell`: cells spreadsheets would run as formulas.
//!
//! A run writes nothing visible until one write marks it committed; from
//! then on it is applied to the end, by its process or by recovery.

mod apply;
mod cells;
mod check;
mod csv_cell;
mod entities;
mod officers;
mod pipeline;
mod progress;
mod report;
mod schema;
mod source;

#[cfg(test)]
mod tests;

pub(crate) use apply::{ApplyContext, OfficerDepartures, recover};
pub(crate) use check::check_bytes;
pub(crate) use csv_cell::csv_text_cell;
#[cfg(test)]
pub(crate) use csv_cell::spreadsheet_safe;
pub(crate) use entities::Validation;
pub(crate) use pipeline::{ImportRequest, run_import};
pub use progress::ImportProgress;
pub(crate) use progress::progress_bar;
pub use report::{ImportOutcome, ImportReport, ProblemCode, RowProblem};
pub(crate) use schema::Column;
pub use schema::ImportKind;
pub use source::ImportFormat;
