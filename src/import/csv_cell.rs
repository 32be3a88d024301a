//! CSV cells that spreadsheets run as formulas. A cell starting with `=`, `+`,
//! `-` or `@` is read as a formula by spreadsheet programs (and one starting
//! with a tab or a carriage return can hide one), so a roster that is imported,
//! then exported and opened, could run whatever a row carried. The roster
//! import refuses such cells, except in the phone column, which is parsed as a
//! phone number (so `+1 202 …` passes there and is stored as E.164). CSV the
//! server writes (pledge statements, reports) defuses such cells instead.

use std::borrow::Cow;

/// Characters that open a formula (or hide one) at the start of a cell.
const FORMULA_TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether a spreadsheet could read `cell` (as written in the file, untrimmed,
/// or trimmed) as a formula.
pub(crate) fn starts_formula(cell: &str) -> bool {
    let starts = |text: &str| text.starts_with(FORMULA_TRIGGERS);
    starts(cell) || starts(cell.trim())
}

/// `cell` as it may be written to a CSV file: a cell that opens a formula
/// gets a leading apostrophe, which spreadsheets show as text.
pub(crate) fn spreadsheet_safe(cell: &str) -> Cow<'_, str> {
    if starts_formula(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// One CSV cell as the server writes it: defused if it opens a formula,
/// quoted if it holds a comma, a quote or a line break (RFC 4180).
pub(crate) fn csv_text_cell(cell: &str) -> String {
    let safe = spreadsheet_safe(cell);
    if safe.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", safe.replace('"', "\"\""))
    } else {
        safe.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_openers_are_caught_even_behind_spaces() {
        for cell in [
            "=1+1",
            "+42",
            "-2",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "  =cmd|' /C calc'!A0",
        ] {
            assert!(starts_formula(cell), "{cell:?}");
        }
        for cell in [
            "Officer Diaz",
            "4411",
            "NYPD 1st Precinct",
            "a=b",
            "José-María",
            "",
        ] {
            assert!(!starts_formula(cell), "{cell:?}");
        }
    }

    #[test]
    fn written_cells_are_defused_with_an_apostrophe() {
        assert_eq!(spreadsheet_safe("=1+1"), "'=1+1");
        assert_eq!(spreadsheet_safe("-2"), "'-2");
        assert_eq!(spreadsheet_safe("Food Bank"), "Food Bank");
    }
}
