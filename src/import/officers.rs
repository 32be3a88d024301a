//! The officer roster rows: a phone (the key, stored only as its keyed hash
//! and sealed), the name citizens see, badge and department, and whether the
//! officer is still on the force. Cells are checked as written (a leading tab
//! or carriage return is refused before trimming), names follow the
//! display-name rules of profiles, and cells that open a spreadsheet formula
//! are refused outside the phone column (see `csv_cell`).

use serde::{Deserialize, Serialize};

use super::cells::Cells;
use super::csv_cell::starts_formula;
use super::entities::{Built, StagedEntity, Validation};
use super::report::ProblemCode;
use crate::domain::phone::PhoneNumber;
use crate::domain::shown_text::{self, LineBreaks};
use crate::store::{PhoneHash, RosterEntry};

/// Longest badge number.
const BADGE_MAX_CHARS: usize = 32;
/// Longest department name.
const DEPARTMENT_MAX_CHARS: usize = 100;
/// The text columns, checked for formulas and control characters.
const TEXT_COLUMNS: [&str; 3] = ["display_name", "badge", "department"];

/// A valid roster row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OfficerRow {
    /// Keyed hash of the phone: the roster's key.
    pub(crate) phone_hash: [u8; 32],
    /// The phone, sealed (left out of the content digest: its nonce is random).
    pub(crate) phone_sealed: Vec<u8>,
    /// Name shown to citizens.
    pub(crate) display_name: String,
    /// Badge number.
    pub(crate) badge: String,
    /// Department.
    pub(crate) department: String,
    /// Still on the force; `false` takes the phone off the roster.
    pub(crate) active: bool,
}

impl OfficerRow {
    /// The roster entry it writes, stamped `now_ms`.
    pub(crate) fn roster_entry(&self, now_ms: i64) -> RosterEntry {
        RosterEntry {
            phone_hash: PhoneHash(self.phone_hash),
            phone_sealed: self.phone_sealed.clone(),
            display_name: self.display_name.clone(),
            badge: self.badge.clone(),
            department: self.department.clone(),
            updated_at_ms: now_ms,
        }
    }
}

/// Checks one roster row.
pub(super) fn validate_officer(cells: &mut Cells<'_>, context: Validation<'_>) -> Built {
    for column in TEXT_COLUMNS {
        if cells.optional(column).is_some_and(starts_formula) {
            cells.problem(
                column,
                ProblemCode::ConstraintError,
                "must not start with =, +, -, @, a tab or a carriage return (a spreadsheet formula)",
            );
        }
    }
    let phone = cells.required("phone").and_then(|raw| {
        PhoneNumber::parse(raw.trim(), context.phone_regions)
            .map_err(|error| {
                cells.problem("phone", ProblemCode::ConstraintError, error.to_string());
            })
            .ok()
    });
    let display_name = cells.required("display_name").and_then(|raw| {
        let length = raw.trim().chars().count();
        if length == 0 || length > crate::domain::profile::DISPLAY_NAME_MAX_CHARS {
            cells.problem(
                "display_name",
                ProblemCode::ConstraintError,
                "must be 1 to 40 characters",
            );
            return None;
        }
        if starts_formula(raw) {
            return None;
        }
        shown_text::display_name(raw)
            .map_err(|error| {
                cells.problem(
                    "display_name",
                    ProblemCode::ConstraintError,
                    error.message(),
                );
            })
            .ok()
    });
    let badge = bounded_line(cells, "badge", BADGE_MAX_CHARS);
    let department = bounded_line(cells, "department", DEPARTMENT_MAX_CHARS);
    let active = cells.boolean("active").unwrap_or(true);
    let phone = phone?;
    let phone_hash = context.keys.phone_hash(&phone).0;
    let row = OfficerRow {
        phone_hash,
        phone_sealed: context.keys.seal_phone(&phone),
        display_name: display_name?,
        badge: badge?,
        department: department?,
        active,
    };
    Some((hex::encode(phone_hash), None, StagedEntity::Officer(row)))
}

/// A required one-line cell of 1 to `max_chars` characters, trimmed.
fn bounded_line(cells: &mut Cells<'_>, column: &str, max_chars: usize) -> Option<String> {
    let raw = cells.required(column)?;
    if starts_formula(raw) {
        return None;
    }
    let value = raw.trim();
    if value.chars().count() > max_chars {
        cells.problem(
            column,
            ProblemCode::ConstraintError,
            format!("must be 1 to {max_chars} characters"),
        );
        return None;
    }
    if let Err(error) = shown_text::check(value, LineBreaks::Refused) {
        cells.problem(column, ProblemCode::ConstraintError, error.message());
        return None;
    }
    Some(value.to_owned())
}
