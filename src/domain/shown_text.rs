//! Rules for text one person writes and others read: display names, bios,
//! roster names and the catalog's names and descriptions. Unicode format
//! characters (general category Cf: bidi controls such as U+202E, zero-width
//! characters, the byte order mark) are refused: they reorder or hide what
//! others see, so a name can pass for another. Control characters and Unicode
//! line or paragraph separators are refused too, except `\n` in a bio or a
//! description. Names are NFC-normalised, so one name has one spelling, and
//! must show at least one letter, digit, punctuation mark or symbol.
//!
//! Emoji joined with U+200D (a Cf character) are refused with the rest; single
//! emoji, accents and every script pass.

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

/// Why a text cannot be shown to others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ShownTextError {
    /// An invisible formatting character (general category Cf).
    #[error(
        "must not contain invisible formatting characters (bidi controls, zero-width characters)"
    )]
    FormatCharacter,
    /// A control character, or a line break where none is allowed.
    #[error("must not contain control characters")]
    ControlCharacter,
    /// Nothing a reader would see.
    #[error("must contain a visible character")]
    NothingVisible,
}

impl ShownTextError {
    /// The problem, as field errors state it.
    pub(crate) fn message(self) -> &'static str {
        match self {
            ShownTextError::FormatCharacter => {
                "must not contain invisible formatting characters (bidi controls, zero-width characters)"
            }
            ShownTextError::ControlCharacter => "must not contain control characters",
            ShownTextError::NothingVisible => "must contain a visible character",
        }
    }
}

/// Whether line breaks (`\n`) are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineBreaks {
    /// Names and roster cells: one line.
    Refused,
    /// Bios: `\n` only (not `\r`, U+2028 or U+2029).
    Newline,
}

/// A display name as stored: trimmed, NFC-normalised, checked.
pub(crate) fn display_name(raw: &str) -> Result<String, ShownTextError> {
    normalized(raw, LineBreaks::Refused)
}

/// A paragraph others read (a catalog description) as stored: trimmed,
/// NFC-normalised, checked, `\n` allowed.
pub(crate) fn paragraph(raw: &str) -> Result<String, ShownTextError> {
    normalized(raw, LineBreaks::Newline)
}

/// `raw` trimmed and NFC-normalised, refused unless it shows something and
/// holds no character that is never shown.
fn normalized(raw: &str, line_breaks: LineBreaks) -> Result<String, ShownTextError> {
    let text: String = raw.trim().nfc().collect();
    check(&text, line_breaks)?;
    if !text.chars().any(is_visible) {
        return Err(ShownTextError::NothingVisible);
    }
    Ok(text)
}

/// Checks `text` for characters that are never shown to others.
pub(crate) fn check(text: &str, line_breaks: LineBreaks) -> Result<(), ShownTextError> {
    for character in text.chars() {
        if character == '\n' && line_breaks == LineBreaks::Newline {
            continue;
        }
        match character.general_category() {
            GeneralCategory::Format => return Err(ShownTextError::FormatCharacter),
            GeneralCategory::Control
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator => {
                return Err(ShownTextError::ControlCharacter);
            }
            GeneralCategory::UppercaseLetter
            | GeneralCategory::LowercaseLetter
            | GeneralCategory::TitlecaseLetter
            | GeneralCategory::ModifierLetter
            | GeneralCategory::OtherLetter
            | GeneralCategory::NonspacingMark
            | GeneralCategory::SpacingMark
            | GeneralCategory::EnclosingMark
            | GeneralCategory::DecimalNumber
            | GeneralCategory::LetterNumber
            | GeneralCategory::OtherNumber
            | GeneralCategory::ConnectorPunctuation
            | GeneralCategory::DashPunctuation
            | GeneralCategory::OpenPunctuation
            | GeneralCategory::ClosePunctuation
            | GeneralCategory::InitialPunctuation
            | GeneralCategory::FinalPunctuation
            | GeneralCategory::OtherPunctuation
            | GeneralCategory::MathSymbol
            | GeneralCategory::CurrencySymbol
            | GeneralCategory::ModifierSymbol
            | GeneralCategory::OtherSymbol
            | GeneralCategory::SpaceSeparator
            | GeneralCategory::Surrogate
            | GeneralCategory::PrivateUse
            | GeneralCategory::Unassigned => {}
        }
    }
    Ok(())
}

/// A letter, digit, punctuation mark or symbol: something a reader sees.
fn is_visible(character: char) -> bool {
    match character.general_category_group() {
        GeneralCategoryGroup::Letter
        | GeneralCategoryGroup::Number
        | GeneralCategoryGroup::Punctuation
        | GeneralCategoryGroup::Symbol => true,
        GeneralCategoryGroup::Mark
        | GeneralCategoryGroup::Separator
        | GeneralCategoryGroup::Other => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_in_any_script_pass_and_are_composed() {
        for name in [
            "José Müller",
            "Zoë",
            "Nguyễn Thị Minh Khai",
            "Αλέξης",
            "李小龍",
            "O'Brien-Smith",
            "Ada 🚓",
        ] {
            assert_eq!(display_name(name).as_deref(), Ok(name));
        }
        assert_eq!(display_name("  Zoe\u{308} ").as_deref(), Ok("Zo\u{EB}"));
    }

    #[test]
    fn invisible_and_control_characters_are_refused() {
        for name in [
            "Bob\u{202E}kcuf",
            "A\u{200B}B",
            "\u{FEFF}Zed",
            "\u{2066}x\u{2069}",
            "a\u{AD}b",
        ] {
            assert_eq!(
                display_name(name),
                Err(ShownTextError::FormatCharacter),
                "{name:?}"
            );
        }
        for name in [
            "Tab\tbed",
            "Bell\u{7}",
            "two\nlines",
            "a\u{2028}b",
            "c1\u{85}x",
        ] {
            assert_eq!(
                display_name(name),
                Err(ShownTextError::ControlCharacter),
                "{name:?}"
            );
        }
        for name in ["\u{301}", "\u{3000}", "\u{E000}"] {
            assert_eq!(
                display_name(name),
                Err(ShownTextError::NothingVisible),
                "{name:?}"
            );
        }
    }

    #[test]
    fn bios_keep_newlines_only() {
        assert_eq!(check("one\ntwo", LineBreaks::Newline), Ok(()));
        assert_eq!(
            check("one\r\ntwo", LineBreaks::Newline),
            Err(ShownTextError::ControlCharacter)
        );
        assert_eq!(
            check("one\u{2029}two", LineBreaks::Newline),
            Err(ShownTextError::ControlCharacter)
        );
        assert_eq!(
            check("x\u{200D}y", LineBreaks::Newline),
            Err(ShownTextError::FormatCharacter)
        );
    }
}
