//! The redeem scenario's figures: the run's shape, redemption and counter
//! rates and latencies, refusals by code, and the audit; as a JSON block, table
//! rows and the pass rule.

use std::collections::BTreeMap;

use serde::Serialize;

use super::cli::BenchOptions;
use super::redeem_audit::RedeemAudit;
use super::stats::{HistogramData, Percentiles};

/// The run's shape, from the options.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct RedeemSetup {
    /// Citizens redeeming.
    pub(crate) citizens: u32,
    /// Offers of the one retailer.
    pub(crate) offers: u32,
    /// Vouchers each offer may issue.
    pub(crate) stock_per_offer: u32,
    /// Redemptions each citizen asks for.
    pub(crate) redemptions_per_citizen: u32,
    /// Points each citizen is credited (enough for all their redemptions).
    pub(crate) credit_per_citizen: u32,
    /// Redemption requests in flight.
    pub(crate) redeem_concurrency: u32,
    /// Counter redeems in flight (and till keys).
    pub(crate) counter_concurrency: u32,
    /// Share of vouchers sent to two tills at once, percent.
    pub(crate) duplicate_percent: u32,
}

impl RedeemSetup {
    /// The shape `args` asks for (validated by the coordinator).
    pub(crate) fn of(args: &BenchOptions) -> Self {
        let demand = u64::from(args.citizens) * u64::from(args.redemptions_per_citizen);
        let stock_per_offer = if args.stock > 0 {
            args.stock
        } else {
            // Three quarters of the demand, so a quarter is refused out_of_stock.
            u32::try_from(demand * 3 / 4 / u64::from(args.offers.max(1))).unwrap_or(u32::MAX)
        };
        Self {
            citizens: args.citizens,
            offers: args.offers,
            stock_per_offer,
            redemptions_per_citizen: args.redemptions_per_citizen,
            // The dearest offer costs 10 × offers points.
            credit_per_citizen: args.redemptions_per_citizen * 10 * args.offers,
            redeem_concurrency: args.redeem_concurrency,
            counter_concurrency: args.counter_concurrency,
            duplicate_percent: args.duplicate_percent,
        }
    }

    /// Redemptions asked for.
    pub(crate) fn demand(&self) -> u64 {
        u64::from(self.citizens) * u64::from(self.redemptions_per_citizen)
    }

    /// Vouchers all offers may issue together.
    pub(crate) fn total_stock(&self) -> u64 {
        u64::from(self.offers) * u64::from(self.stock_per_offer)
    }
}

/// What a redeem run measured and found.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RedeemFigures {
    /// The run's shape.
    pub(crate) setup: RedeemSetup,
    /// Redemptions answered 201.
    pub(crate) issued: u64,
    /// Redemptions answered 409, by code.
    pub(crate) refused: BTreeMap<String, u64>,
    /// Redemptions that failed otherwise.
    pub(crate) errors: u64,
    /// A few of those.
    pub(crate) error_samples: Vec<String>,
    /// First redemption sent → last answered, seconds.
    pub(crate) redeem_seconds: f64,
    /// Redemption send → answer.
    pub(crate) redemption_latency: Percentiles,
    /// The same, raw (for the chart).
    pub(crate) redemption_histogram: HistogramData,
    /// Counter redeem send → answer.
    pub(crate) counter_latency: Percentiles,
    /// Tills' start → last answer, seconds.
    pub(crate) counter_seconds: f64,
    /// Counter redeems answered 200.
    pub(crate) counter_redeemed: u64,
    /// Counter redeems answered 409 `voucher_already_redeemed`.
    pub(crate) counter_refused_again: u64,
    /// Vouchers sent to two tills at once.
    pub(crate) duplicates_sent: u64,
    /// Counter redeems that failed otherwise.
    pub(crate) counter_errors: u64,
    /// A few of those.
    pub(crate) counter_error_samples: Vec<String>,
    /// The audit through the API.
    pub(crate) audit: RedeemAudit,
}

impl RedeemFigures {
    /// Vouchers issued per second.
    pub(crate) fn issued_per_s(&self) -> f64 {
        per_second(self.issued, self.redeem_seconds)
    }

    /// Redemption requests answered per second (issued and refused).
    pub(crate) fn answered_per_s(&self) -> f64 {
        let refused: u64 = self.refused.values().sum();
        per_second(self.issued + refused + self.errors, self.redeem_seconds)
    }

    /// Refusals other than `out_of_stock` (none are expected: every citizen
    /// has the points, the offers are valid and cover the ZIP).
    fn unexpected_refusals(&self) -> u64 {
        self.refused
            .iter()
            .filter(|(code, _)| code.as_str() != "out_of_stock")
            .map(|(_, count)| count)
            .sum()
    }

    /// Whether nothing failed, every refusal was `out_of_stock`, the stock was
    /// sold out exactly when demand exceeded it, every duplicate pair got one
    /// 200 and one 409, and the audit found nothing.
    pub(crate) fn passed(&self) -> bool {
        let expected_issued = self.setup.demand().min(self.setup.total_stock());
        self.errors == 0
            && self.counter_errors == 0
            && self.unexpected_refusals() == 0
            && self.issued == expected_issued
            && self.counter_refused_again == self.duplicates_sent
            && self.audit.clean()
    }

    /// Table rows: name and value.
    pub(crate) fn rows(&self) -> Vec<(&'static str, String)> {
        let refused = if self.refused.is_empty() {
            "0".to_owned()
        } else {
            self.refused
                .iter()
                .map(|(code, count)| format!("{code} {count}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let audit = &self.audit;
        vec![
            (
                "citizens × redemptions",
                format!(
                    "{} × {}",
                    self.setup.citizens, self.setup.redemptions_per_citizen
                ),
            ),
            (
                "offers × stock",
                format!("{} × {}", self.setup.offers, self.setup.stock_per_offer),
            ),
            ("vouchers issued", self.issued.to_string()),
            ("redemptions refused", refused),
            ("redemption errors", self.errors.to_string()),
            ("vouchers issued/s", format!("{:.0}", self.issued_per_s())),
            (
                "redemptions answered/s",
                format!("{:.0}", self.answered_per_s()),
            ),
            (
                "redemption p50 / p99 / max",
                latency(&self.redemption_latency),
            ),
            (
                "counter redeemed / again 409",
                format!("{} / {}", self.counter_redeemed, self.counter_refused_again),
            ),
            (
                "counter redeems/s",
                format!(
                    "{:.0}",
                    per_second(
                        self.counter_redeemed + self.counter_refused_again,
                        self.counter_seconds
                    )
                ),
            ),
            ("counter p50 / p99 / max", latency(&self.counter_latency)),
            ("duplicate pairs sent", self.duplicates_sent.to_string()),
            ("counter errors", self.counter_errors.to_string()),
            (
                "audit offers / citizens",
                format!("{} / {}", audit.offers_checked, audit.citizens_checked),
            ),
            (
                "oversold / stock mismatched",
                format!("{} / {}", audit.oversold, audit.stock_mismatched),
            ),
            (
                "doubled / not redeemed",
                format!("{} / {}", audit.doubled, audit.not_redeemed),
            ),
            (
                "vouchers missing / unexpected",
                format!("{} / {}", audit.vouchers_missing, audit.vouchers_unexpected),
            ),
            (
                "balances mismatched / unreadable",
                format!("{} / {}", audit.balance_mismatched, audit.unreadable),
            ),
        ]
    }

    /// Lines under the table: what went wrong, when something did.
    pub(crate) fn notes(&self) -> Vec<String> {
        self.error_samples
            .iter()
            .chain(&self.counter_error_samples)
            .chain(&self.audit.samples)
            .cloned()
            .collect()
    }
}

fn latency(percentiles: &Percentiles) -> String {
    if percentiles.count == 0 {
        return "-".to_owned();
    }
    format!(
        "{:.1} / {:.1} / {:.1} ms",
        percentiles.p50_ms, percentiles.p99_ms, percentiles.max_ms
    )
}

fn per_second(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}
