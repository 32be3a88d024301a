//! Phone numbers: parsed, validated and normalised to E.164 before anything else
//! sees them, and only when their country calling code is one this server
//! serves. The phonenumber crate compiles a region's patterns the first time it
//! reads one of its numbers (megabytes of allocation and milliseconds of CPU),
//! so numbers of unserved regions are refused by their calling code first, and
//! the served regions' patterns are compiled at start-up ([`PhoneRegions::warm_up`]).

use std::fmt;

use phonenumber::country::Id;
use phonenumber::metadata::DATABASE;

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
    /// A number of a country this server does not serve.
    #[error("phone numbers of this country are not served")]
    NotServed,
}

/// How this server reads phone numbers: where numbers written without a
/// country code belong, and which country calling codes it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PhoneRegions {
    /// The region of numbers written without a country code.
    default: Id,
    /// The calling codes of the served regions and of `default`, sorted.
    served_codes: Vec<u16>,
}

impl PhoneRegions {
    /// Numbers of `default` (also read when no code is written) and of `served`.
    pub(crate) fn new(default: Id, served: &[Id]) -> Self {
        let mut served_codes: Vec<u16> = served
            .iter()
            .chain([&default])
            .filter_map(|id| DATABASE.by_id(id.as_ref()))
            .map(phonenumber::metadata::Metadata::country_code)
            .collect();
        served_codes.sort_unstable();
        served_codes.dedup();
        Self {
            default,
            served_codes,
        }
    }

    /// Numbers of `default` only.
    pub(crate) fn only(default: Id) -> Self {
        Self::new(default, &[])
    }

    /// Loads the phone metadata and compiles the patterns of every region
    /// sharing a served calling code, by reading each one's example number:
    /// the cost is paid once at start-up, not by the first people to sign in.
    pub(crate) fn warm_up(&self) {
        static GROWN: std::sync::Once = std::sync::Once::new();
        GROWN.call_once(|| {
            let cache = DATABASE.cache();
            let mut patterns = cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *patterns = regex_cache::RegexCache::new(PATTERN_CACHE_CAPACITY);
        });
        for code in &self.served_codes {
            for region in DATABASE.by_code(code).unwrap_or_default() {
                let Ok(id) = region.id().parse::<Id>() else {
                    continue;
                };
                let descriptors = region.descriptors();
                let examples = [descriptors.fixed_line(), descriptors.mobile()]
                    .into_iter()
                    .flatten()
                    .filter_map(phonenumber::metadata::Descriptor::example);
                for example in examples {
                    let international = format!("+{code}{example}");
                    let _ = PhoneNumber::parse(&international, &PhoneRegions::only(id));
                    let _ = PhoneNumber::parse(example, &PhoneRegions::only(id));
                }
            }
        }
    }

    /// Refuses, before any pattern of its region is compiled, a number whose
    /// written calling code is not served. Numbers without one belong to the
    /// default region unless they start with its international dialling prefix
    /// (`011` in the US), which is read like a `+`.
    fn check_calling_code(&self, input: &str) -> Result<(), PhoneError> {
        let international = match input.strip_prefix('+') {
            Some(rest) => leading_digits(rest),
            None => {
                let digits = leading_digits(input);
                let dialled_abroad = DATABASE
                    .by_id(self.default.as_ref())
                    .and_then(phonenumber::metadata::Metadata::international_prefix)
                    .and_then(|prefix| prefix.find(&digits))
                    .filter(|found| found.start() == 0)
                    .map(|found| found.end());
                match dialled_abroad {
                    Some(end) => digits[end..].to_owned(),
                    None => return Ok(()),
                }
            }
        };
        // Calling codes are prefix-free: the first prefix that is one is it.
        let code = (1..=3)
            .filter_map(|length| international.get(..length)?.parse::<u16>().ok())
            .find(|code| DATABASE.by_code(code).is_some())
            .ok_or(PhoneError::Unparseable)?;
        if self.served_codes.binary_search(&code).is_ok() {
            Ok(())
        } else {
            Err(PhoneError::NotServed)
        }
    }
}

/// The digits at the start of `text`, skipping the separators people write
/// between them (spaces, dashes, dots, slashes, parentheses).
fn leading_digits(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '/' | '(' | ')'))
        .filter(char::is_ascii_digit)
        .collect()
}

/// Patterns the phone metadata keeps compiled. The crate keeps 100, fewer than
/// the regions sharing +1 use between them, so reading a Canadian number after
/// a US one compiled megabytes of patterns again; served regions are a few
/// hundred patterns (+1 is 25 regions), all kept with room to spare.
const PATTERN_CACHE_CAPACITY: usize = 4_096;

/// Longest input worth parsing; E.164 numbers have at most 15 digits.
const MAX_INPUT_CHARS: usize = 32;

impl PhoneNumber {
    /// Parses `input` as `regions` say: numbers without a `+country` prefix
    /// are read in the default region; numbers of unserved countries are refused.
    pub(crate) fn parse(input: &str, regions: &PhoneRegions) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        if trimmed.chars().count() > MAX_INPUT_CHARS {
            return Err(PhoneError::TooLong);
        }
        regions.check_calling_code(trimmed)?;
        let parsed = phonenumber::parse(Some(regions.default), trimmed)
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

    fn us() -> &'static PhoneRegions {
        static US: std::sync::OnceLock<PhoneRegions> = std::sync::OnceLock::new();
        US.get_or_init(|| PhoneRegions::only(Id::US))
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
    fn numbers_of_unserved_countries_are_refused_by_their_calling_code() {
        assert_eq!(
            PhoneNumber::parse("+49 30 123456", us()),
            Err(PhoneError::NotServed)
        );
        assert_eq!(
            PhoneNumber::parse("011 49 30 123456", us()),
            Err(PhoneError::NotServed),
            "dialled from the US"
        );
        assert_eq!(
            PhoneNumber::parse("+999 1234", us()),
            Err(PhoneError::Unparseable)
        );
        let with_germany = PhoneRegions::new(Id::US, &[Id::DE]);
        assert_eq!(
            PhoneNumber::parse("+49 30 123456", &with_germany)
                .unwrap()
                .as_e164(),
            "+4930123456"
        );
        // Canada shares +1: served by its calling code, told apart later by
        // the region checks that need it (texting codes).
        assert!(PhoneNumber::parse("+1 416 555 0123", us()).is_ok());
    }

    #[test]
    fn debug_output_hides_the_number() {
        let phone = PhoneNumber::parse("+12125550123", us()).unwrap();
        assert_eq!(format!("{phone:?}"), "PhoneNumber(***23)");
    }
}
