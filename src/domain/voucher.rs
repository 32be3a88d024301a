//! Vouchers and the rules of redeeming points for them: what a voucher holds,
//! the states it moves through, why a redemption is refused, which per-person
//! limit window a redemption counts in, and the idempotency keys every step of
//! a redemption or cancellation writes under (derived from the redemption id,
//! so a retry or a recovery pass writes under the same keys).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::AccountId;
use super::catalog::{LimitPeriod, OfferKind};

/// Milliseconds in a UTC day.
const MS_PER_DAY: i64 = 86_400_000;

/// Where a voucher stands. Every change is a conditional write from one state
/// to the next, so of concurrent changes (two cancels, a cancel and the expiry
/// sweep) exactly one applies and releases the points and the unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum VoucherStatus {
    /// Usable until it expires.
    Issued,
    /// Given back by its holder before use: points refunded, unit returned.
    Cancelled,
    /// Used at the issuer's counter: final.
    Redeemed,
    /// Unused when its lifetime ended, released by the expiry sweep: points
    /// refunded, unit returned.
    Expired,
}

impl VoucherStatus {
    /// The wire and storage name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            VoucherStatus::Issued => "issued",
            VoucherStatus::Cancelled => "cancelled",
            VoucherStatus::Redeemed => "redeemed",
            VoucherStatus::Expired => "expired",
        }
    }

    /// Whether a voucher in this status gave back its points, unit and slot
    /// (or is giving them back): cancelled or expired.
    pub(crate) fn releases(self) -> bool {
        matches!(self, VoucherStatus::Cancelled | VoucherStatus::Expired)
    }

    /// The status stored under `text`, if it names one.
    pub(crate) fn from_text(text: &str) -> Option<Self> {
        [
            VoucherStatus::Issued,
            VoucherStatus::Cancelled,
            VoucherStatus::Redeemed,
            VoucherStatus::Expired,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

/// The per-person limit window one redemption counts in: a UTC day, a UTC
/// calendar month, or the whole life of the offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct LimitWindow {
    /// The kind of period.
    pub(crate) per: LimitPeriod,
    /// Which one: days since the epoch, months since January 1970, or 0.
    pub(crate) index: i64,
}

impl LimitWindow {
    /// The window of kind `per` that holds `at_ms`.
    pub(crate) fn holding(per: LimitPeriod, at_ms: i64) -> Self {
        let day = at_ms.div_euclid(MS_PER_DAY);
        let index = match per {
            LimitPeriod::Day => day,
            LimitPeriod::Month => {
                let (year, month) = year_month_of_day(day);
                (year - 1970) * 12 + i64::from(month) - 1
            }
            LimitPeriod::Ever => 0,
        };
        Self { per, index }
    }

    /// When the window ends (Unix ms); `None` for an offer's whole life.
    pub(crate) fn ends_at_ms(&self) -> Option<i64> {
        match self.per {
            LimitPeriod::Day => self.index.checked_add(1)?.checked_mul(MS_PER_DAY),
            LimitPeriod::Month => {
                let next = self.index.checked_add(1)?;
                let year = i32::try_from(next.div_euclid(12).checked_add(1970)?).ok()?;
                let month = u32::try_from(next.rem_euclid(12) + 1).ok()?;
                let first = chrono::NaiveDate::from_ymd_opt(year, month, 1)?;
                let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
                first
                    .signed_duration_since(epoch)
                    .num_days()
                    .checked_mul(MS_PER_DAY)
            }
            LimitPeriod::Ever => None,
        }
    }

    /// A stable text key, e.g. `day:20426`, `month:683`, `ever:0`.
    pub(crate) fn key_text(&self) -> String {
        format!("{}:{}", self.per.as_str(), self.index)
    }
}

/// The (year, month 1–12) of a day counted from 1970-01-01 (proleptic
/// Gregorian; Howard Hinnant's `civil_from_days`).
fn year_month_of_day(days: i64) -> (i64, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, u32::try_from(month).unwrap_or(1))
}

/// A per-person limit slot a voucher holds: slot `slot` (0 to count − 1) of
/// its window. Cancelling gives it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LimitSlot {
    /// The window counted in.
    pub(crate) window: LimitWindow,
    /// Which of the window's slots.
    pub(crate) slot: u32,
}

/// An issued voucher: what a person got for their points. Its id is the id of
/// the redemption that issued it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Voucher {
    /// The voucher id (equal to its redemption id).
    pub(crate) voucher_id: Uuid,
    /// Whose it is.
    pub(crate) account_id: AccountId,
    /// The offer or scheme it was issued for.
    pub(crate) offer_id: Uuid,
    /// Offer (a retailer's) or scheme (a municipality's).
    pub(crate) kind: OfferKind,
    /// The retailer or municipality that honours it.
    pub(crate) issuer_id: Uuid,
    /// The offer's title when it was issued, so the voucher reads the same
    /// after the offer is edited.
    pub(crate) title: String,
    /// Points paid.
    pub(crate) points: u32,
    /// Issue time (Unix ms).
    pub(crate) issued_at_ms: i64,
    /// End of usability, exclusive (Unix ms).
    pub(crate) expires_at_ms: i64,
    /// Where it stands.
    pub(crate) status: VoucherStatus,
    /// When the status last changed (Unix ms); `None` while issued.
    pub(crate) status_changed_at_ms: Option<i64>,
    /// Whether a unit of limited stock was taken for it (to give back).
    pub(crate) stock_taken: bool,
    /// The per-person limit slot it holds, when the offer has a limit.
    pub(crate) limit_slot: Option<LimitSlot>,
}

impl Voucher {
    /// Whether it can be presented at `now_ms`: issued and not expired. Only
    /// such a voucher gets a token and a QR code.
    pub(crate) fn is_usable_at(&self, now_ms: i64) -> bool {
        self.status == VoucherStatus::Issued && now_ms < self.expires_at_ms
    }
}

/// Why a redemption was refused: each is a stable error code for clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RedemptionRefusal {
    /// The balance is below the point cost.
    InsufficientPoints,
    /// No unit of the offer's stock is left.
    OutOfStock,
    /// Unknown, suspended, not yet valid, expired, or its issuer is suspended.
    OfferNotAvailable,
    /// The offer is not offered in the ZIP the person gave.
    NotInYourArea,
    /// The person holds as many vouchers of the offer as its limit allows in
    /// the current window.
    RedemptionLimitReached,
}

impl RedemptionRefusal {
    /// The error code clients see.
    pub(crate) fn code(self) -> &'static str {
        match self {
            RedemptionRefusal::InsufficientPoints => "insufficient_points",
            RedemptionRefusal::OutOfStock => "out_of_stock",
            RedemptionRefusal::OfferNotAvailable => "offer_not_available",
            RedemptionRefusal::NotInYourArea => "not_in_your_area",
            RedemptionRefusal::RedemptionLimitReached => "redemption_limit_reached",
        }
    }

    /// A sentence for people.
    pub(crate) fn message(self) -> &'static str {
        match self {
            RedemptionRefusal::InsufficientPoints => "your balance is below the offer's point cost",
            RedemptionRefusal::OutOfStock => "the offer is out of stock",
            RedemptionRefusal::OfferNotAvailable => "the offer is not available now",
            RedemptionRefusal::NotInYourArea => "the offer is not offered in that ZIP",
            RedemptionRefusal::RedemptionLimitReached => {
                "you have redeemed this offer as often as its limit allows for now"
            }
        }
    }
}

/// One idempotency key of a redemption, cancellation or donation step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StepKey {
    /// The ledger debit of a redemption.
    RedemptionDebit,
    /// The ledger refund when a redemption is rolled back after its debit.
    RedemptionRefund,
    /// The stock unit a redemption takes.
    StockTake,
    /// The stock unit a rolled-back redemption gives back.
    StockReturn,
    /// The ledger refund of a cancelled voucher.
    CancelRefund,
    /// The stock unit a cancelled voucher gives back.
    CancelStockReturn,
    /// The ledger debit of a donation.
    DonationDebit,
    /// The ledger refund when a donation is refused after its debit.
    DonationRefund,
}

impl StepKey {
    fn label(self) -> &'static [u8] {
        match self {
            StepKey::RedemptionDebit => b"heyblue:redemption-debit:",
            StepKey::RedemptionRefund => b"heyblue:redemption-refund:",
            StepKey::StockTake => b"heyblue:stock-take:",
            StepKey::StockReturn => b"heyblue:stock-return:",
            StepKey::CancelRefund => b"heyblue:cancel-refund:",
            StepKey::CancelStockReturn => b"heyblue:cancel-stock-return:",
            StepKey::DonationDebit => b"heyblue:donation-debit:",
            StepKey::DonationRefund => b"heyblue:donation-refund:",
        }
    }

    /// The key of this step for redemption (voucher, donation) `id`.
    pub(crate) fn of(self, id: Uuid) -> Uuid {
        let mut hasher = Sha256::new();
        hasher.update(self.label());
        hasher.update(id.as_bytes());
        let digest = hasher.finalize();
        let mut bytes = [0_u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        uuid::Builder::from_custom_bytes(bytes).into_uuid()
    }
}

/// Whether `key` is an acceptable `Idempotency-Key`: 1 to 64 visible ASCII
/// characters.
pub(crate) fn is_idempotency_key(key: &str) -> bool {
    (1..=IDEMPOTENCY_KEY_MAX_CHARS).contains(&key.len())
        && key.bytes().all(|byte| byte.is_ascii_graphic())
}

/// Longest `Idempotency-Key` accepted.
pub(crate) const IDEMPOTENCY_KEY_MAX_CHARS: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-04T12:00:00Z.
    const DEC_4_2026_MS: i64 = 1_796_385_600_000;

    #[test]
    fn windows_end_where_the_next_one_starts() {
        // 2027-01-01T00:00:00Z and 2024-03-01T00:00:00Z.
        let january_2027_ms = 1_798_761_600_000;
        let march_2024_ms = 1_709_251_200_000;
        let december = LimitWindow::holding(LimitPeriod::Month, DEC_4_2026_MS);
        assert_eq!(december.ends_at_ms(), Some(january_2027_ms));
        let february = LimitWindow::holding(LimitPeriod::Month, march_2024_ms - 1);
        assert_eq!(february.ends_at_ms(), Some(march_2024_ms));
        let day = LimitWindow::holding(LimitPeriod::Day, DEC_4_2026_MS);
        assert_eq!(day.ends_at_ms(), Some(DEC_4_2026_MS + MS_PER_DAY / 2));
        let ever = LimitWindow::holding(LimitPeriod::Ever, DEC_4_2026_MS);
        assert_eq!(ever.ends_at_ms(), None);
    }

    #[test]
    fn windows_follow_the_utc_calendar() {
        let day = LimitWindow::holding(LimitPeriod::Day, DEC_4_2026_MS);
        assert_eq!(day.index, DEC_4_2026_MS / MS_PER_DAY);
        let month = LimitWindow::holding(LimitPeriod::Month, DEC_4_2026_MS);
        assert_eq!(month.index, (2026 - 1970) * 12 + 11);
        assert_eq!(month.key_text(), "month:683");
        let january_first = LimitWindow::holding(LimitPeriod::Month, 0);
        assert_eq!(january_first.index, 0);
        let february_2024 = LimitWindow::holding(LimitPeriod::Month, 1_709_164_800_000);
        assert_eq!(february_2024.index, (2024 - 1970) * 12 + 1, "2024-02-29");
        let march_2024 = LimitWindow::holding(LimitPeriod::Month, 1_709_251_200_000);
        assert_eq!(march_2024.index, (2024 - 1970) * 12 + 2, "2024-03-01");
        assert_eq!(
            LimitWindow::holding(LimitPeriod::Ever, DEC_4_2026_MS).index,
            0
        );
    }

    #[test]
    fn step_keys_differ_per_step_and_redemption() {
        let first = Uuid::new_v4();
        let second = Uuid::new_v4();
        assert_eq!(StepKey::StockTake.of(first), StepKey::StockTake.of(first));
        assert_ne!(StepKey::StockTake.of(first), StepKey::StockReturn.of(first));
        assert_ne!(StepKey::StockTake.of(first), StepKey::StockTake.of(second));
        assert_ne!(
            StepKey::RedemptionDebit.of(first),
            StepKey::CancelRefund.of(first)
        );
    }

    #[test]
    fn idempotency_keys_are_short_visible_ascii() {
        assert!(is_idempotency_key("a"));
        assert!(is_idempotency_key(&"k".repeat(64)));
        assert!(!is_idempotency_key(""));
        assert!(!is_idempotency_key(&"k".repeat(65)));
        assert!(!is_idempotency_key("has space"));
        assert!(!is_idempotency_key("é"));
    }
}
