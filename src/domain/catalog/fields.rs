//! Field checks shared by the catalog entities: bounded text that others read
//! (checked by [`crate::domain::shown_text`]), numbers within
//! bounds, and the error that names the failing field.

use crate::domain::shown_text;

/// Longest name of a retailer, municipality or charity, in characters.
pub(crate) const NAME_MAX_CHARS: usize = 100;
/// Longest offer title, in characters.
pub(crate) const TITLE_MAX_CHARS: usize = 80;
/// Longest description, in characters.
pub(crate) const DESCRIPTION_MAX_CHARS: usize = 1_000;
/// Longest street address or contact line, in characters.
pub(crate) const LINE_MAX_CHARS: usize = 200;

/// A catalog field that failed validation: 422 `invalid_field` naming it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub(crate) struct FieldError {
    /// The field's wire name.
    pub(crate) field: &'static str,
    /// What is wrong, as a sentence fragment.
    pub(crate) problem: String,
}

impl FieldError {
    /// `field` is wrong because of `problem`.
    pub(crate) fn new(field: &'static str, problem: impl Into<String>) -> Self {
        Self {
            field,
            problem: problem.into(),
        }
    }
}

/// One line of text others read (a name, a title, an address): trimmed,
/// NFC-normalised, 1 to `max_chars` characters.
pub(crate) fn one_line(
    field: &'static str,
    raw: &str,
    max_chars: usize,
) -> Result<String, FieldError> {
    bounded(field, raw, max_chars)?;
    shown_text::display_name(raw).map_err(|error| FieldError::new(field, error.message()))
}

/// A paragraph others read (a description, `\n` allowed): trimmed,
/// NFC-normalised, 1 to `max_chars` characters.
pub(crate) fn paragraph(
    field: &'static str,
    raw: &str,
    max_chars: usize,
) -> Result<String, FieldError> {
    bounded(field, raw, max_chars)?;
    shown_text::paragraph(raw).map_err(|error| FieldError::new(field, error.message()))
}

/// Refuses text that is empty once trimmed or longer than `max_chars`.
fn bounded(field: &'static str, raw: &str, max_chars: usize) -> Result<(), FieldError> {
    let length = raw.trim().chars().count();
    if length == 0 || length > max_chars {
        return Err(FieldError::new(
            field,
            format!("must be 1 to {max_chars} characters"),
        ));
    }
    Ok(())
}

/// `value` if it lies in `low..=high`.
pub(crate) fn within<T: PartialOrd + std::fmt::Display + Copy>(
    field: &'static str,
    value: T,
    low: T,
    high: T,
) -> Result<T, FieldError> {
    if value < low || value > high {
        return Err(FieldError::new(field, format!("must be {low} to {high}")));
    }
    Ok(value)
}
