//! Admin imports. The officer roster arrives as CSV (`phone,display_name,badge,department`);
//! every row is validated and reported by row number and column, and nothing is
//! imported when any row is invalid unless the caller asks to skip invalid rows.
//! Cells a spreadsheet would run as formulas are refused (`csv_cell`), and
//! defused in the CSV the server writes.

mod csv_cell;
mod officers;

pub(crate) use csv_cell::spreadsheet_safe;

pub(crate) use officers::{ImportMode, import_officers, parse as parse_officer_roster};
pub use officers::{ImportReport, RowProblem};
