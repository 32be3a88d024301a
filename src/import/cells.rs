//! Reading one cell as its column's type. Each reader names the column and
//! the row in the problem it returns, with the code the report files it under.

use chrono::{DateTime, NaiveDate};
use uuid::Uuid;

use super::report::{ProblemCode, RowProblem};
use crate::domain::catalog::{CatalogStatus, FieldError};

/// Longest external id.
const REFERENCE_MAX_CHARS: usize = 64;

/// The cells of one row, with the problems reading them finds.
#[derive(Debug)]
pub(crate) struct Cells<'row> {
    /// The row's line.
    pub(crate) row: u64,
    /// Column names of the schema.
    names: Vec<&'static str>,
    /// Cells by schema column.
    cells: &'row [Option<String>],
    /// Problems found so far.
    pub(crate) problems: Vec<RowProblem>,
}

impl<'row> Cells<'row> {
    /// The cells `cells` of `row`, laid out as `columns`.
    pub(crate) fn new(
        row: u64,
        columns: &[super::schema::Column],
        cells: &'row [Option<String>],
    ) -> Self {
        Self {
            row,
            names: columns.iter().map(|column| column.name).collect(),
            cells,
            problems: Vec::new(),
        }
    }

    fn index(&self, column: &str) -> usize {
        let index = self.names.iter().position(|name| *name == column);
        debug_assert!(index.is_some(), "{column} is not a column of the schema");
        index.unwrap_or(usize::MAX)
    }

    /// The cell of `column` as written, if any.
    pub(crate) fn optional(&self, column: &str) -> Option<&'row str> {
        self.cells
            .get(self.index(column))
            .and_then(|cell| cell.as_deref())
    }

    /// Records a problem of `column`.
    pub(crate) fn problem(&mut self, column: &str, code: ProblemCode, text: impl Into<String>) {
        self.problems
            .push(RowProblem::at(self.row, column, code, text));
    }

    /// Records a catalog field's failure under the import column it came from.
    pub(crate) fn field_error(&mut self, error: &FieldError) {
        let column = match error.field {
            "valid_from_ms" => "valid_from",
            "valid_until_ms" => "valid_until",
            "per_person_limit.count" => "limit_count",
            other => other,
        };
        self.problem(column, ProblemCode::ConstraintError, error.problem.clone());
    }

    /// The cell of a required `column`; `missing_value` when empty.
    pub(crate) fn required(&mut self, column: &str) -> Option<&'row str> {
        let value = self.optional(column);
        if value.is_none() {
            self.problem(column, ProblemCode::MissingValue, "is required");
        }
        value
    }

    /// A required text cell (checked further by the catalog's rules).
    pub(crate) fn text(&mut self, column: &str) -> String {
        self.required(column).unwrap_or_default().to_owned()
    }

    /// An external id: 1 to 64 letters, digits, `.`, `_` or `-`.
    pub(crate) fn reference(&mut self, column: &str) -> Option<String> {
        let value = self.required(column)?.trim();
        let well_formed = value.chars().count() <= REFERENCE_MAX_CHARS
            && value
                .chars()
                .all(|character| character.is_ascii_alphanumeric() || "._-".contains(character));
        if !well_formed {
            self.problem(
                column,
                ProblemCode::ConstraintError,
                format!("must be 1 to {REFERENCE_MAX_CHARS} letters, digits, `.`, `_` or `-`"),
            );
            return None;
        }
        Some(value.to_owned())
    }

    /// A whole number of a `required` (or optional) column.
    pub(crate) fn integer(&mut self, column: &str, required: bool) -> Option<u32> {
        let value = if required {
            self.required(column)?
        } else {
            self.optional(column)?
        };
        match value.trim().parse::<u32>() {
            Ok(number) => Some(number),
            Err(_) => {
                self.problem(
                    column,
                    ProblemCode::TypeError,
                    format!("`{}` is not a whole number", value.trim()),
                );
                None
            }
        }
    }

    /// An optional boolean; `None` when absent or unreadable.
    pub(crate) fn boolean(&mut self, column: &str) -> Option<bool> {
        let value = self.optional(column)?;
        match value.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(true),
            "false" | "no" | "0" => Some(false),
            other => {
                self.problem(
                    column,
                    ProblemCode::TypeError,
                    format!("`{other}` is not a boolean: write true or false"),
                );
                None
            }
        }
    }

    /// A required date (`2026-01-01`, midnight UTC) or RFC 3339 date-time,
    /// as Unix ms.
    pub(crate) fn datetime(&mut self, column: &str) -> Option<i64> {
        let value = self.required(column)?.trim();
        if let Ok(date) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
            return date
                .and_hms_opt(0, 0, 0)
                .map(|midnight| midnight.and_utc().timestamp_millis());
        }
        match DateTime::parse_from_rfc3339(value) {
            Ok(moment) => Some(moment.timestamp_millis()),
            Err(_) => {
                self.problem(
                    column,
                    ProblemCode::TypeError,
                    format!("`{value}` is not a date (2026-01-01) or an RFC 3339 date-time"),
                );
                None
            }
        }
    }

    /// A required UUID.
    pub(crate) fn uuid(&mut self, column: &str) -> Option<Uuid> {
        let value = self.required(column)?.trim();
        match Uuid::parse_str(value) {
            Ok(id) => Some(id),
            Err(_) => {
                self.problem(
                    column,
                    ProblemCode::TypeError,
                    format!("`{value}` is not a UUID"),
                );
                None
            }
        }
    }

    /// An optional `status`: active unless stated.
    pub(crate) fn status(&mut self) -> CatalogStatus {
        let Some(value) = self.optional("status") else {
            return CatalogStatus::Active;
        };
        CatalogStatus::from_text(value.trim()).unwrap_or_else(|| {
            self.problem(
                "status",
                ProblemCode::ConstraintError,
                "must be `active` or `suspended`",
            );
            CatalogStatus::Active
        })
    }
}
