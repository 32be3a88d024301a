//! Phone numbers: parsed, validated and normalised to E.164 before anything else
//! sees them.

use std::fmt;

/// A valid phone number in E.164 form (`+12125550123`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct PhoneNumber(String);

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PhoneError {
    /// Longer than any phone number.
    #[error("phone number is too long")]
    TooLong,
    /// Not a phone number at all.
    #[error("phone number cannot be parsed")]
    Unparseable,
    /// Parses, but no such number can exist.
    #[error("phone number is not a valid number")]
    Invalid,
}

/// Longest input worth parsing; E.164 numbers have at most 15 digits.
const MAX_INPUT_CHARS: usize = 32;

impl PhoneNumber {
    /// Parses `input`, reading numbers without a `+country` prefix in `default_region`.
    pub(crate) fn parse(
        input: &str,
        default_region: phonenumber::country::Id,
    ) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        if trimmed.chars().count() > MAX_INPUT_CHARS {
            return Err(PhoneError::TooLong);
        }
        let parsed = phonenumber::parse(Some(default_region), trimmed)
            .map_err(|_| PhoneError::Unparseable)?;
        if !phonenumber::is_valid(&parsed) {
            return Err(PhoneError::Invalid);
        }
        Ok(Self(
            parsed.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    /// The E.164 text.
    pub(crate) fn as_e164(&self) -> &str {
        &self.0
    }

    /// The region the number belongs to (`CA` for +1 416, not `US`), when its
    /// country calling code is shared by several, and its national digits.
    pub(crate) fn region_and_national_number(&self) -> (Option<phonenumber::country::Id>, u64) {
        match phonenumber::parse(None, &self.0) {
            Ok(parsed) => (parsed.country().id(), parsed.national().value()),
            Err(_) => (None, 0),
        }
    }
}

/// Phone numbers are personal data: debug output shows only the last two digits.
impl fmt::Debug for PhoneNumber {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail = &self.0[self.0.len().saturating_sub(2)..];
        write!(formatter, "PhoneNumber(***{tail})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us() -> phonenumber::country::Id {
        phonenumber::country::Id::US
    }

    #[test]
    fn normalises_national_and_international_forms() {
        let national = PhoneNumber::parse("(212) 555-0123", us()).unwrap();
        let international = PhoneNumber::parse("+1 212 555 0123", us()).unwrap();
        assert_eq!(national.as_e164(), "+12125550123");
        assert_eq!(national, international);
    }

    #[test]
    fn rejects_garbage_and_impossible_numbers() {
        assert_eq!(
            PhoneNumber::parse("hello", us()),
            Err(PhoneError::Unparseable)
        );
        assert_eq!(
            PhoneNumber::parse("+1 100 555 0123", us()),
            Err(PhoneError::Invalid)
        );
        assert_eq!(
            PhoneNumber::parse(&"1".repeat(40), us()),
            Err(PhoneError::TooLong)
        );
    }

    #[test]
    fn debug_output_hides_the_number() {
        let phone = PhoneNumber::parse("+12125550123", us()).unwrap();
        assert_eq!(format!("{phone:?}"), "PhoneNumber(***23)");
    }
}
