//! What may be texted at all: codes go only to allowed regions, within a global
//! hourly budget and an hourly budget per number prefix (NPA-NXX for NANP
//! numbers), so neither rotating client addresses nor rotating numbers buys
//! more messages. Counts are per node and held in memory.

use std::sync::atomic::{AtomicI64, Ordering};

use super::window_limiter::WindowLimiter;
use crate::config::IdentityConfig;
use crate::domain::phone::PhoneNumber;

/// Number prefixes remembered before new ones are refused for the hour.
const MAX_PREFIXES: usize = 100_000;
/// National digits that name a prefix: area code and exchange of a NANP number.
const PREFIX_DIGITS: usize = 6;
/// Share of a budget (percent) past which a warning is logged.
const WARN_PERCENT: u32 = 80;

/// Why a code was not texted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SmsRefusal {
    /// The number's region is not in `identity.sms_allowed_regions`.
    Region,
    /// `identity.sms_max_per_hour` is spent.
    GlobalBudget {
        /// Seconds until a message can be sent.
        retry_after_seconds: u64,
    },
    /// `identity.sms_max_per_prefix_per_hour` is spent for the number's prefix.
    PrefixBudget {
        /// Seconds until a message to this prefix can be sent.
        retry_after_seconds: u64,
    },
}

impl SmsRefusal {
    /// Label value of `heyblue_sms_refused_total`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Region => "region",
            Self::GlobalBudget { .. } => "global_budget",
            Self::PrefixBudget { .. } => "prefix_budget",
        }
    }
}

/// Which budget a warning is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Budget {
    /// All messages.
    Global,
    /// Messages to one prefix.
    Prefix(u64),
}

/// The regions and budgets of outgoing codes.
#[derive(Debug)]
pub(crate) struct SmsBudget {
    /// Regions codes may go to.
    allowed_regions: Vec<phonenumber::country::Id>,
    /// All messages, under one key.
    global: WindowLimiter<()>,
    /// Messages per prefix.
    per_prefix: WindowLimiter<u64>,
    /// Window start of the global budget when its warning was last logged.
    global_warned_window_ms: AtomicI64,
}

impl SmsBudget {
    /// Budgets from a validated config (its regions parse).
    pub(crate) fn new(config: &IdentityConfig) -> Self {
        Self {
            allowed_regions: config
                .sms_allowed_regions
                .iter()
                .filter_map(|region| region.parse().ok())
                .collect(),
            global: WindowLimiter::new(config.sms_max_per_hour, 1),
            per_prefix: WindowLimiter::new(config.sms_max_per_prefix_per_hour, MAX_PREFIXES),
            global_warned_window_ms: AtomicI64::new(i64::MIN),
        }
    }

    /// Whether codes may be texted to `phone`'s region.
    pub(crate) fn region_allowed(&self, phone: &PhoneNumber) -> bool {
        let (region, _) = phone.region_and_national_number();
        region.is_some_and(|id| self.allowed_regions.contains(&id))
    }

    /// Counts one message to `phone` at `now_ms`, or says why it may not be sent.
    pub(crate) fn admit(&self, phone: &PhoneNumber, now_ms: i64) -> Result<(), SmsRefusal> {
        if !self.region_allowed(phone) {
            return Err(SmsRefusal::Region);
        }
        let (_, national_number) = phone.region_and_national_number();
        let prefix = national_prefix(national_number);
        self.per_prefix
            .check(prefix, now_ms)
            .map_err(|retry_after_seconds| SmsRefusal::PrefixBudget {
                retry_after_seconds,
            })?;
        self.global
            .try_count((), now_ms)
            .map_err(|retry_after_seconds| SmsRefusal::GlobalBudget {
                retry_after_seconds,
            })?;
        // Checked above under its own lock; a racing request may pass it once more.
        let _counted = self.per_prefix.try_count(prefix, now_ms);
        self.warn_when_nearly_spent(Budget::Global, now_ms);
        self.warn_when_nearly_spent(Budget::Prefix(prefix), now_ms);
        Ok(())
    }

    fn warn_when_nearly_spent(&self, budget: Budget, now_ms: i64) {
        let (used, max) = match budget {
            Budget::Global => (self.global.count((), now_ms), self.global.max_per_window()),
            Budget::Prefix(prefix) => (
                self.per_prefix.count(prefix, now_ms),
                self.per_prefix.max_per_window(),
            ),
        };
        // Logged once per budget and window: when the count crosses the mark.
        let threshold = (u64::from(max) * u64::from(WARN_PERCENT)).div_ceil(100);
        if u64::from(used) != threshold.max(1) {
            return;
        }
        match budget {
            Budget::Global => {
                let window = now_ms / super::window_limiter::WINDOW_MS;
                if self.global_warned_window_ms.swap(window, Ordering::Relaxed) != window {
                    tracing::warn!(used, max, "sms budget past 80 percent: all messages");
                }
            }
            Budget::Prefix(prefix) => {
                tracing::warn!(used, max, prefix, "sms budget past 80 percent: one prefix");
            }
        }
    }
}

/// The first [`PREFIX_DIGITS`] national digits (NPA-NXX of a NANP number).
fn national_prefix(national_number: u64) -> u64 {
    let digits = national_number
        .checked_ilog10()
        .map_or(1, |log| log as usize + 1);
    let dropped = digits.saturating_sub(PREFIX_DIGITS) as u32;
    national_number / 10u64.pow(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(text: &str) -> PhoneNumber {
        PhoneNumber::parse(
            text,
            &crate::domain::phone::PhoneRegions::new(
                phonenumber::country::Id::US,
                &[phonenumber::country::Id::GB],
            ),
        )
        .unwrap()
    }

    fn budget(max_per_hour: u32, max_per_prefix: u32) -> SmsBudget {
        SmsBudget::new(&IdentityConfig {
            sms_max_per_hour: max_per_hour,
            sms_max_per_prefix_per_hour: max_per_prefix,
            ..IdentityConfig::default()
        })
    }

    #[test]
    fn only_us_numbers_by_default_even_within_plus_one() {
        let budget = budget(100, 100);
        assert_eq!(budget.admit(&phone("+12125550123"), 0), Ok(()));
        for other in ["+14165550123", "+18769270123", "+442079460123"] {
            assert_eq!(
                budget.admit(&phone(other), 0),
                Err(SmsRefusal::Region),
                "{other}"
            );
        }
    }

    #[test]
    fn prefixes_are_area_code_and_exchange() {
        assert_eq!(national_prefix(2_125_550_123), 212_555);
        assert_eq!(national_prefix(12_345), 12_345);
        let budget = budget(100, 2);
        assert_eq!(budget.admit(&phone("+12125550101"), 0), Ok(()));
        assert_eq!(budget.admit(&phone("+12125550102"), 0), Ok(()));
        assert_eq!(
            budget.admit(&phone("+12125550103"), 0),
            Err(SmsRefusal::PrefixBudget {
                retry_after_seconds: 3_600
            })
        );
        assert_eq!(budget.admit(&phone("+12125560103"), 0), Ok(()));
    }

    #[test]
    fn the_global_budget_counts_every_prefix() {
        let budget = budget(2, 100);
        assert_eq!(budget.admit(&phone("+12125550101"), 0), Ok(()));
        assert_eq!(budget.admit(&phone("+13125550101"), 0), Ok(()));
        assert!(matches!(
            budget.admit(&phone("+14155550101"), 0),
            Err(SmsRefusal::GlobalBudget { .. })
        ));
    }
}
