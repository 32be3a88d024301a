//! The validation report, in the style of Frictionless data: every problem
//! with its row, column, a stable code and a sentence; the counts of the run;
//! the file's SHA-256. Printed as a table by the CLI, served as JSON by the
//! admin API and stored with the run.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::schema::ImportKind;

/// Problems listed in one report; the rest are counted in
/// [`ImportReport::problems_omitted`], so a file of a million bad rows still
/// makes a report that fits in a response.
pub(crate) const MAX_LISTED_PROBLEMS: usize = 1_000;

/// The stable code of a problem: what clients and scripts match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    /// A required value (or a required column of the header) is missing.
    MissingValue,
    /// A value is not of its column's type (not a number, a date, a boolean).
    TypeError,
    /// A value is of the right type but breaks a rule (too long, out of range).
    ConstraintError,
    /// A reference names nothing (an offer's retailer that was never imported).
    UnknownReference,
    /// A row repeats the key of an earlier row.
    DuplicateKey,
    /// The header or an NDJSON object has a column the schema does not.
    UnknownColumn,
    /// Bytes that are not UTF-8 text (or a binary file).
    EncodingError,
    /// The file's structure is wrong: a row with the wrong number of fields, a
    /// line that is not a JSON object, a header that cannot be read.
    FormatError,
}

impl ProblemCode {
    /// The wire name (`missing_value`).
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemCode::MissingValue => "missing_value",
            ProblemCode::TypeError => "type_error",
            ProblemCode::ConstraintError => "constraint_error",
            ProblemCode::UnknownReference => "unknown_reference",
            ProblemCode::DuplicateKey => "duplicate_key",
            ProblemCode::UnknownColumn => "unknown_column",
            ProblemCode::EncodingError => "encoding_error",
            ProblemCode::FormatError => "format_error",
        }
    }
}

/// One problem found in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RowProblem {
    /// 1-based line of the file (a CSV header is line 1); 0 for the file itself.
    pub row: u64,
    /// The column at fault, when one is.
    pub column: Option<String>,
    /// Stable code.
    pub code: ProblemCode,
    /// What is wrong and how to fix it, for a person.
    pub problem: String,
}

impl RowProblem {
    /// A problem of `column` on `row`.
    pub(crate) fn at(
        row: u64,
        column: &str,
        code: ProblemCode,
        problem: impl Into<String>,
    ) -> Self {
        Self {
            row,
            column: Some(column.to_owned()),
            code,
            problem: problem.into(),
        }
    }

    /// A problem of a whole row (or, with row 0, of the file).
    pub(crate) fn of_row(row: u64, code: ProblemCode, problem: impl Into<String>) -> Self {
        Self {
            row,
            column: None,
            code,
            problem: problem.into(),
        }
    }
}

/// Where a run ended up, as the report says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportOutcome {
    /// Every valid row is written.
    Applied,
    /// Nothing was written: invalid rows without `skip_invalid`, or a file
    /// that cannot be read.
    Rejected,
    /// Validated only; nothing was written.
    DryRun,
    /// Committed; the rows are being written (a run seen while it applies).
    Committed,
    /// Still validating.
    Staging,
    /// Stopped before its commit (process killed, store failure): nothing
    /// was written.
    Abandoned,
}

/// The outcome of an import run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// The run's id (`GET /v1/admin/imports/{id}`).
    pub run_id: Uuid,
    /// What was imported.
    pub kind: ImportKind,
    /// Where the run ended up.
    pub outcome: ImportOutcome,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Whether invalid rows were skipped rather than refusing the file.
    pub skip_invalid: bool,
    /// SHA-256 of the file's bytes (hex).
    pub file_sha256: String,
    /// Bytes read.
    pub bytes_read: u64,
    /// Data rows read.
    pub rows_read: u64,
    /// Rows without a problem.
    pub valid: u64,
    /// Rows with at least one problem.
    pub invalid: u64,
    /// Valid rows whose key was new: created (or, when nothing was written,
    /// that would have been).
    pub created: u64,
    /// Valid rows whose key existed with other content: updated (or would be).
    pub updated: u64,
    /// Valid rows identical to what their key last wrote: not rewritten.
    pub unchanged: u64,
    /// Problems, in file order (at most `MAX_LISTED_PROBLEMS`, 1,000).
    pub problems: Vec<RowProblem>,
    /// Problems found but not listed.
    pub problems_omitted: u64,
    /// Officers on the roster after the run (officer imports only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub roster_size: Option<u64>,
}

impl ImportReport {
    /// Whether any problem was found.
    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty() || self.problems_omitted > 0
    }

    /// Adds a problem, listing it while there is room.
    pub(crate) fn push_problem(&mut self, problem: RowProblem) {
        if self.problems.len() < MAX_LISTED_PROBLEMS {
            self.problems.push(problem);
        } else {
            self.problems_omitted += 1;
        }
    }
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let outcome = match self.outcome {
            ImportOutcome::Applied => "applied",
            ImportOutcome::Rejected => "rejected: nothing written",
            ImportOutcome::DryRun => "dry run: nothing written",
            ImportOutcome::Committed => "committed, being applied",
            ImportOutcome::Staging => "validating",
            ImportOutcome::Abandoned => "abandoned: nothing written",
        };
        writeln!(formatter, "import {} {}: {outcome}", self.kind, self.run_id)?;
        writeln!(formatter, "file sha-256: {}", self.file_sha256)?;
        writeln!(
            formatter,
            "rows read: {}, valid: {}, invalid: {}, created: {}, updated: {}, unchanged: {}",
            self.rows_read, self.valid, self.invalid, self.created, self.updated, self.unchanged
        )?;
        if let Some(roster_size) = self.roster_size {
            writeln!(formatter, "officers on the roster: {roster_size}")?;
        }
        if !self.has_problems() {
            return Ok(());
        }
        let column_width = self
            .problems
            .iter()
            .map(|problem| problem.column.as_deref().map_or(1, str::len))
            .max()
            .unwrap_or(1)
            .max("column".len());
        writeln!(
            formatter,
            "{:>7}  {:<column_width$}  {:<17}  problem",
            "row", "column", "code"
        )?;
        for problem in &self.problems {
            writeln!(
                formatter,
                "{:>7}  {:<column_width$}  {:<17}  {}",
                problem.row,
                problem.column.as_deref().unwrap_or("-"),
                problem.code.as_str(),
                problem.problem
            )?;
        }
        if self.problems_omitted > 0 {
            writeln!(
                formatter,
                "... and {} more problem(s) not listed",
                self.problems_omitted
            )?;
        }
        Ok(())
    }
}
