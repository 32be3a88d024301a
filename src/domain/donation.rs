//! Donations of points to charities and the monthly statements they are
//! settled by: the bounds of one donation, why one is refused, the UTC month a
//! pledge counts in, and the money arithmetic (exact decimals, never floats).

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::catalog::LimitPeriod;
use super::voucher::LimitWindow;

/// Fewest points one donation may give.
pub(crate) const MIN_DONATION_POINTS: u32 = 1;
/// Most points one donation may give (a typo guard: a thousand connections).
pub(crate) const MAX_DONATION_POINTS: u32 = 10_000;
/// Decimal places of the dollar amounts a statement shows (cents).
const STATEMENT_DOLLAR_PLACES: u32 = 2;

/// Why a donation was refused: each is a stable error code for clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DonationRefusal {
    /// The balance is below the points given.
    InsufficientPoints,
    /// No charity has the id.
    CharityNotFound,
    /// The charity is suspended.
    CharityNotAvailable,
}

impl DonationRefusal {
    /// The error code clients see.
    pub(crate) fn code(self) -> &'static str {
        match self {
            DonationRefusal::InsufficientPoints => "insufficient_points",
            DonationRefusal::CharityNotFound => "charity_not_found",
            DonationRefusal::CharityNotAvailable => "charity_not_available",
        }
    }

    /// A sentence for people.
    pub(crate) fn message(self) -> &'static str {
        match self {
            DonationRefusal::InsufficientPoints => "your balance is below the points you give",
            DonationRefusal::CharityNotFound => "no charity has this id",
            DonationRefusal::CharityNotAvailable => "the charity does not take donations now",
        }
    }
}

/// A UTC calendar month, the period a statement covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Month {
    /// Months since January 1970 (the index of a monthly [`LimitWindow`]).
    index: i64,
}

/// Years a month may be written with: four digits, from the Unix epoch on.
const YEARS: std::ops::RangeInclusive<i64> = 1970..=9999;

impl Month {
    /// The month holding `at_ms`.
    pub(crate) fn holding(at_ms: i64) -> Self {
        Self {
            index: LimitWindow::holding(LimitPeriod::Month, at_ms).index,
        }
    }

    /// The month written `YYYY-MM` (e.g. `2026-12`), if `text` is one.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (year, month) = text.split_once('-')?;
        let four_digits = year.len() == 4 && year.bytes().all(|byte| byte.is_ascii_digit());
        let two_digits = month.len() == 2 && month.bytes().all(|byte| byte.is_ascii_digit());
        if !four_digits || !two_digits {
            return None;
        }
        let year: i64 = year.parse().ok()?;
        let month: i64 = month.parse().ok()?;
        if !YEARS.contains(&year) || !(1..=12).contains(&month) {
            return None;
        }
        Some(Self {
            index: (year - 1970) * 12 + month - 1,
        })
    }

    /// Months since January 1970: a fixed-width, ordered storage key.
    pub(crate) fn index(self) -> i64 {
        self.index
    }
}

impl fmt::Display for Month {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let year = 1970 + self.index.div_euclid(12);
        let month = self.index.rem_euclid(12) + 1;
        write!(formatter, "{year:04}-{month:02}")
    }
}

/// The dollar value of `points` at `dollars_per_point`, exact (the pledge
/// keeps every digit; statements round their totals).
pub(crate) fn pledge_dollars(points: u32, dollars_per_point: Decimal) -> Decimal {
    Decimal::from(points) * dollars_per_point
}

/// A statement's dollar amount: the exact sum rounded to cents, halves away
/// from zero (as accountants round).
pub(crate) fn statement_dollars(exact: Decimal) -> Decimal {
    let mut cents = exact.round_dp_with_strategy(
        STATEMENT_DOLLAR_PLACES,
        RoundingStrategy::MidpointAwayFromZero,
    );
    // Always two places, so `3` reads `3.00`.
    cents.rescale(STATEMENT_DOLLAR_PLACES);
    cents
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    /// 2026-12-04T12:00:00Z.
    const DEC_4_2026_MS: i64 = 1_796_385_600_000;

    fn decimal(text: &str) -> Decimal {
        Decimal::from_str(text).expect("decimal")
    }

    #[test]
    fn months_parse_print_and_hold_times() {
        let december = Month::parse("2026-12").expect("month");
        assert_eq!(december.to_string(), "2026-12");
        assert_eq!(Month::holding(DEC_4_2026_MS), december);
        assert_eq!(Month::parse("1970-01").expect("epoch").index(), 0);
        assert_eq!(december.index(), 683);
        assert_eq!(Month::holding(1_709_164_800_000).to_string(), "2024-02");
        for bad in [
            "2026-13",
            "2026-00",
            "2026-1",
            "26-12",
            "2026/12",
            "1969-12",
            "2026-12-01",
            "",
            "+026-12",
            "2026-+1",
        ] {
            assert_eq!(Month::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn pledges_keep_every_digit_and_statements_round_to_cents() {
        assert_eq!(pledge_dollars(250, decimal("0.01")), decimal("2.50"));
        assert_eq!(pledge_dollars(7, decimal("0.0125")), decimal("0.0875"));
        // Ten thousand points at a third of a cent: no float drift.
        assert_eq!(
            pledge_dollars(MAX_DONATION_POINTS, decimal("0.003")),
            decimal("30")
        );
        assert_eq!(statement_dollars(decimal("0.0875")).to_string(), "0.09");
        assert_eq!(statement_dollars(decimal("0.125")).to_string(), "0.13");
        assert_eq!(statement_dollars(decimal("3")).to_string(), "3.00");
        assert_eq!(
            statement_dollars(decimal("0.1") + decimal("0.2")).to_string(),
            "0.30"
        );
    }

    #[test]
    fn refusals_have_stable_codes() {
        assert_eq!(
            DonationRefusal::InsufficientPoints.code(),
            "insufficient_points"
        );
        assert_eq!(DonationRefusal::CharityNotFound.code(), "charity_not_found");
        assert_eq!(
            DonationRefusal::CharityNotAvailable.code(),
            "charity_not_available"
        );
    }
}
