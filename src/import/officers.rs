//! The officer roster import: parse, validate every row, then upsert in one write.
//! Cells are checked as written (a leading tab or carriage return is refused
//! before trimming), names follow the display-name rules of profiles, and cells
//! that open a formula are refused outside the phone column.

use std::collections::HashMap;

use serde::Serialize;

use super::csv_cell::starts_formula;
use crate::clock::Clock;
use crate::domain::phone::{PhoneNumber, PhoneRegions};
use crate::domain::shown_text::{self, LineBreaks};
use crate::identity::keys::ServerKeys;
use crate::store::{RosterEntry, Store, StoreError};

/// Expected header, in order.
const COLUMNS: [&str; 4] = ["phone", "display_name", "badge", "department"];
/// Rows accepted in one import (a city's whole force fits many times over).
pub(crate) const MAX_ROWS: usize = 100_000;
/// Longest badge number.
const BADGE_MAX_CHARS: usize = 32;
/// Longest department name.
const DEPARTMENT_MAX_CHARS: usize = 100;

/// What to do with invalid rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ImportMode {
    /// Import nothing if any row is invalid.
    AllOrNothing,
    /// Import the valid rows, report the rest.
    SkipInvalid,
}

/// One problem found in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    /// 1-based line number in the file (the header is line 1); 0 for the file itself.
    pub row: u64,
    /// Column at fault, when one is.
    pub column: Option<String>,
    /// What is wrong.
    pub problem: String,
}

/// The outcome of an import, printed by the CLI and returned by the admin API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Data rows read.
    pub rows_read: u64,
    /// Rows written to the roster.
    pub imported: u64,
    /// Rows left out.
    pub skipped: u64,
    /// Officers on the roster after the import.
    pub roster_size: u64,
    /// Every problem, in file order.
    pub problems: Vec<RowProblem>,
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            formatter,
            "rows read: {}, imported: {}, skipped: {}, officers on the roster: {}",
            self.rows_read, self.imported, self.skipped, self.roster_size
        )?;
        for problem in &self.problems {
            let column = problem.column.as_deref().unwrap_or("-");
            writeln!(
                formatter,
                "row {}, column {}: {}",
                problem.row, column, problem.problem
            )?;
        }
        Ok(())
    }
}

/// Validates `csv_bytes` and writes the roster entries it holds.
pub(crate) async fn import_officers(
    store: &dyn Store,
    keys: &ServerKeys,
    clock: Clock,
    phone_regions: &PhoneRegions,
    csv_bytes: &[u8],
    mode: ImportMode,
) -> Result<ImportReport, StoreError> {
    let parsed = parse(csv_bytes, phone_regions);
    let rows_read = parsed.rows_read;
    let valid_rows = parsed.valid.len() as u64;
    let has_problems = !parsed.problems.is_empty();
    let import_rows = !has_problems || mode == ImportMode::SkipInvalid;
    let imported = if import_rows && !parsed.valid.is_empty() {
        let now_ms = clock.now_ms();
        let entries: Vec<RosterEntry> = parsed
            .valid
            .iter()
            .map(|row| RosterEntry {
                phone_hash: keys.phone_hash(&row.phone),
                phone_sealed: keys.seal_phone(&row.phone),
                display_name: row.display_name.clone(),
                badge: row.badge.clone(),
                department: row.department.clone(),
                updated_at_ms: now_ms,
            })
            .collect();
        store.upsert_roster_entries(&entries).await?;
        valid_rows
    } else {
        0
    };
    Ok(ImportReport {
        rows_read,
        imported,
        skipped: rows_read - imported,
        roster_size: store.roster_size().await?,
        problems: parsed.problems,
    })
}

/// A row that passed validation.
#[derive(Debug)]
struct OfficerRow {
    phone: PhoneNumber,
    display_name: String,
    badge: String,
    department: String,
}

/// Everything learnt from reading the file.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    /// Data rows read, readable or not.
    pub(crate) rows_read: u64,
    /// Rows that passed validation, duplicates left out.
    valid: Vec<OfficerRow>,
    /// Every problem, in file order.
    pub(crate) problems: Vec<RowProblem>,
}

impl Parsed {
    /// Rows that passed validation.
    pub(crate) fn valid_rows(&self) -> usize {
        self.valid.len()
    }
}

/// Reads and validates the roster file without writing anything.
pub(crate) fn parse(csv_bytes: &[u8], phone_regions: &PhoneRegions) -> Parsed {
    let mut parsed = Parsed::default();
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::Headers)
        .flexible(true)
        .from_reader(csv_bytes);
    match reader.headers() {
        Ok(header) => {
            let names: Vec<String> = header.iter().map(str::to_ascii_lowercase).collect();
            if names != COLUMNS {
                parsed.problems.push(RowProblem {
                    row: 1,
                    column: None,
                    problem: format!(
                        "header must be `{}`, found `{}`",
                        COLUMNS.join(","),
                        names.join(",")
                    ),
                });
                return parsed;
            }
        }
        Err(error) => {
            parsed.problems.push(file_problem(&error.to_string()));
            return parsed;
        }
    }
    let mut first_row_of_phone: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let row = error.position().map_or(0, |position| position.line());
                parsed.rows_read += 1;
                parsed.problems.push(RowProblem {
                    row,
                    column: None,
                    problem: format!("unreadable row: {}", error),
                });
                continue;
            }
        };
        parsed.rows_read += 1;
        if parsed.rows_read as usize > MAX_ROWS {
            parsed
                .problems
                .push(file_problem(&format!("more than {MAX_ROWS} rows")));
            parsed.valid.clear();
            return parsed;
        }
        let row = record
            .position()
            .map_or(parsed.rows_read + 1, |position| position.line());
        match validate_row(&record, row, phone_regions) {
            Ok(valid) => {
                let e164 = valid.phone.as_e164().to_owned();
                if let Some(first_row) = first_row_of_phone.get(&e164) {
                    parsed.problems.push(RowProblem {
                        row,
                        column: Some("phone".into()),
                        problem: format!("duplicate phone, also on row {first_row}"),
                    });
                } else {
                    first_row_of_phone.insert(e164, row);
                    parsed.valid.push(valid);
                }
            }
            Err(problems) => parsed.problems.extend(problems),
        }
    }
    parsed
}

fn validate_row(
    record: &csv::StringRecord,
    row: u64,
    phone_regions: &PhoneRegions,
) -> Result<OfficerRow, Vec<RowProblem>> {
    let problem = |column: &str, text: String| RowProblem {
        row,
        column: Some(column.to_owned()),
        problem: text,
    };
    if record.len() != COLUMNS.len() {
        return Err(vec![RowProblem {
            row,
            column: None,
            problem: format!("expected {} columns, found {}", COLUMNS.len(), record.len()),
        }]);
    }
    let mut problems = Vec::new();
    for (index, value) in record.iter().enumerate().skip(1) {
        if starts_formula(value) {
            problems.push(problem(
                COLUMNS[index],
                "must not start with =, +, -, @, a tab or a carriage return (a spreadsheet formula)"
                    .into(),
            ));
        }
    }
    let phone = PhoneNumber::parse(record[0].trim(), phone_regions)
        .map_err(|error| problems.push(problem("phone", error.to_string())))
        .ok();
    let name_chars = record[1].trim().chars().count();
    let display_name =
        if name_chars == 0 || name_chars > crate::domain::profile::DISPLAY_NAME_MAX_CHARS {
            problems.push(problem("display_name", "must be 1 to 40 characters".into()));
            String::new()
        } else {
            shown_text::display_name(&record[1])
                .map_err(|error| problems.push(problem("display_name", error.message().into())))
                .unwrap_or_default()
        };
    let badge = record[2].trim().to_owned();
    if badge.is_empty() || badge.chars().count() > BADGE_MAX_CHARS {
        problems.push(problem(
            "badge",
            format!("must be 1 to {BADGE_MAX_CHARS} characters"),
        ));
    }
    let department = record[3].trim().to_owned();
    if department.is_empty() || department.chars().count() > DEPARTMENT_MAX_CHARS {
        problems.push(problem(
            "department",
            format!("must be 1 to {DEPARTMENT_MAX_CHARS} characters"),
        ));
    }
    for (index, value) in record.iter().enumerate() {
        // The name was checked above, and a formula opener reported already.
        let reported = index == 1 || (index > 0 && starts_formula(value));
        if reported {
            continue;
        }
        if let Err(error) = shown_text::check(value.trim(), LineBreaks::Refused) {
            problems.push(problem(COLUMNS[index], error.message().into()));
        }
    }
    match (phone, problems.is_empty()) {
        (Some(phone), true) => Ok(OfficerRow {
            phone,
            display_name,
            badge,
            department,
        }),
        (Some(_) | None, _) => Err(problems),
    }
}

fn file_problem(text: &str) -> RowProblem {
    RowProblem {
        row: 0,
        column: None,
        problem: text.to_owned(),
    }
}

#[cfg(test)]
mod tests;
