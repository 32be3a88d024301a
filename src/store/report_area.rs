//! The area of a report cell: a 5-digit ZIP, a 3-digit ZIP prefix or the
//! nation's `""`, held inline. A report of every ZIP reads hundreds of
//! thousands of cells and every fact adds to nine: an area that is copied
//! and compared as a few bytes, never allocated, keeps both cheap.

use std::fmt;

/// The most bytes an area has (a 5-digit ZIP).
pub(crate) const MAX_AREA_BYTES: usize = 5;

/// A report cell's area: up to [`MAX_AREA_BYTES`] ASCII digits. Orders as
/// its text does (the unused bytes are zero, below every digit).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ReportArea {
    /// The digits, then zeros.
    bytes: [u8; MAX_AREA_BYTES],
}

impl ReportArea {
    /// The nation's area, `""`.
    pub(crate) const NATION: Self = Self {
        bytes: [0; MAX_AREA_BYTES],
    };

    /// The area of `text` when it is at most [`MAX_AREA_BYTES`] ASCII
    /// digits.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        if text.len() > MAX_AREA_BYTES || !text.bytes().all(|byte| byte.is_ascii_digit()) {
            return None;
        }
        let mut bytes = [0; MAX_AREA_BYTES];
        bytes[..text.len()].copy_from_slice(text.as_bytes());
        Some(Self { bytes })
    }

    /// The area of key bytes as stored (digits, then zeros), `None` for
    /// anything else.
    pub(crate) fn from_bytes(stored: [u8; MAX_AREA_BYTES]) -> Option<Self> {
        let length = stored.iter().take_while(|byte| **byte != 0).count();
        let (digits, padding) = stored.split_at(length);
        (digits.iter().all(u8::is_ascii_digit) && padding.iter().all(|byte| *byte == 0))
            .then_some(Self { bytes: stored })
    }

    /// Its bytes as stored in a key: the digits, then zeros.
    pub(crate) fn bytes(self) -> [u8; MAX_AREA_BYTES] {
        self.bytes
    }

    /// Its first `digits` digits (all of them when it has fewer).
    pub(crate) fn prefix(self, digits: usize) -> Self {
        let mut bytes = [0; MAX_AREA_BYTES];
        let kept = digits.min(MAX_AREA_BYTES);
        bytes[..kept].copy_from_slice(&self.bytes[..kept]);
        Self { bytes }
    }

    /// Its digits as text.
    pub(crate) fn as_str(&self) -> &str {
        let length = self.bytes.iter().take_while(|byte| **byte != 0).count();
        // Only ASCII digits are ever stored, so this never falls back.
        std::str::from_utf8(&self.bytes[..length]).unwrap_or_default()
    }
}

impl fmt::Display for ReportArea {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl fmt::Debug for ReportArea {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), formatter)
    }
}

#[cfg(test)]
mod tests {
    use super::ReportArea;

    #[test]
    fn areas_hold_up_to_five_digits_and_order_as_their_text() {
        let texts = ["", "1", "100", "10001", "101", "99999"];
        let mut areas: Vec<ReportArea> = texts
            .iter()
            .rev()
            .map(|text| ReportArea::parse(text).expect("digits"))
            .collect();
        areas.sort();
        let back: Vec<&str> = areas.iter().map(ReportArea::as_str).collect();
        assert_eq!(back, texts);
        assert_eq!(ReportArea::parse("").expect("empty"), ReportArea::NATION);
        assert_eq!(ReportArea::parse("100010"), None);
        assert_eq!(ReportArea::parse("1000a"), None);
        assert_eq!(ReportArea::from_bytes(*b"10\x001\x00"), None);
        let zip = ReportArea::parse("11201").expect("a ZIP");
        assert_eq!(ReportArea::from_bytes(zip.bytes()), Some(zip));
        assert_eq!(zip.prefix(3).as_str(), "112");
        assert_eq!(format!("{zip}"), "11201");
    }
}
