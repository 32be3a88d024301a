//! Reward offers: what points buy. A retailer's offer (a discount) and a
//! municipality's scheme (a transit day) share one shape; the [`OfferKind`] says
//! which, and so which table `issuer_id` names.
//!
//! Stock: `total_quantity` is what the issuer makes available (`None`:
//! unlimited) and `remaining` what is left of it. Redeeming takes one unit with a
//! conditional write on `remaining`, so admin replacements carry the units
//! already taken over (see [`OfferDraft::into_offer`]) and are themselves
//! conditional on the `remaining` and `version` they were computed from.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::area::Area;
use super::fields::{
    DESCRIPTION_MAX_CHARS, FieldError, TITLE_MAX_CHARS, one_line, paragraph, within,
};
use super::{CatalogStatus, Stamps};

/// Highest point cost of one voucher.
pub(crate) const POINT_COST_MAX: u32 = 1_000_000;
/// Largest stock of one offer.
pub(crate) const QUANTITY_MAX: u32 = 1_000_000;
/// Highest per-person limit count.
pub(crate) const LIMIT_COUNT_MAX: u32 = 1_000;
/// Shortest voucher lifetime: one hour, time to walk to the shop.
pub(crate) const VOUCHER_LIFETIME_MIN_SECONDS: u32 = 3_600;
/// Longest voucher lifetime: one year.
pub(crate) const VOUCHER_LIFETIME_MAX_SECONDS: u32 = 365 * 86_400;
/// Earliest validity time accepted (2000-01-01T00:00:00Z, Unix ms).
const EARLIEST_MS: i64 = 946_684_800_000;
/// Latest validity time accepted (2100-01-01T00:00:00Z, Unix ms).
const LATEST_MS: i64 = 4_102_444_800_000;

/// Who issues an offer and so what it gives.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub(crate) enum OfferKind {
    /// A retailer's offer; `issuer_id` is a retailer.
    Offer,
    /// A municipality's scheme; `issuer_id` is a municipality.
    Scheme,
}

impl OfferKind {
    /// Both kinds, in browsing order.
    pub(crate) const ALL: [OfferKind; 2] = [OfferKind::Offer, OfferKind::Scheme];

    /// The wire and storage name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OfferKind::Offer => "offer",
            OfferKind::Scheme => "scheme",
        }
    }

    /// The kind stored under `text`, if it names one.
    pub(crate) fn from_text(text: &str) -> Option<Self> {
        OfferKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// The period a per-person limit counts over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LimitPeriod {
    /// One UTC day.
    Day,
    /// One UTC calendar month.
    Month,
    /// The life of the offer.
    Ever,
}

impl LimitPeriod {
    /// The wire and storage name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            LimitPeriod::Day => "day",
            LimitPeriod::Month => "month",
            LimitPeriod::Ever => "ever",
        }
    }

    /// The period stored under `text`, if it names one.
    pub(crate) fn from_text(text: &str) -> Option<Self> {
        [LimitPeriod::Day, LimitPeriod::Month, LimitPeriod::Ever]
            .into_iter()
            .find(|period| period.as_str() == text)
    }
}

/// How many vouchers of one offer one person may take per period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PerPersonLimit {
    /// Vouchers per period, 1 to [`LIMIT_COUNT_MAX`].
    pub(crate) count: u32,
    /// The period.
    pub(crate) per: LimitPeriod,
}

/// What an admin sends to create or replace an offer or scheme.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OfferDraft {
    /// Offer (retailer) or scheme (municipality).
    pub(crate) kind: OfferKind,
    /// The retailer or municipality giving it.
    pub(crate) issuer_id: Uuid,
    /// Short title shown to people.
    pub(crate) title: String,
    /// What the voucher gives, shown to people.
    pub(crate) description: String,
    /// Points one voucher costs.
    pub(crate) point_cost: u32,
    /// ZIPs and 3-digit ZIP prefixes where it is offered.
    pub(crate) area: Vec<String>,
    /// Start of validity (Unix ms).
    pub(crate) valid_from_ms: i64,
    /// End of validity, exclusive (Unix ms).
    pub(crate) valid_until_ms: i64,
    /// Units available; absent or null for unlimited.
    #[serde(default)]
    pub(crate) total_quantity: Option<u32>,
    /// Per-person limit; absent or null for none.
    #[serde(default)]
    pub(crate) per_person_limit: Option<PerPersonLimit>,
    /// How long an issued voucher stays usable (seconds).
    pub(crate) voucher_lifetime_seconds: u32,
    /// Active unless stated.
    #[serde(default)]
    pub(crate) status: CatalogStatus,
}

/// An offer or scheme as stored and shown to admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct RewardOffer {
    /// Random id, assigned at creation.
    pub(crate) id: Uuid,
    /// Offer or scheme.
    pub(crate) kind: OfferKind,
    /// The retailer (offer) or municipality (scheme).
    pub(crate) issuer_id: Uuid,
    /// Title.
    pub(crate) title: String,
    /// Description.
    pub(crate) description: String,
    /// Points per voucher, at least 1.
    pub(crate) point_cost: u32,
    /// Where it is offered.
    pub(crate) area: Area,
    /// Start of validity (Unix ms).
    pub(crate) valid_from_ms: i64,
    /// End of validity, exclusive (Unix ms).
    pub(crate) valid_until_ms: i64,
    /// Units made available; `None`: unlimited.
    pub(crate) total_quantity: Option<u32>,
    /// Units left; `None` exactly when unlimited. Moved by conditional writes.
    pub(crate) remaining: Option<u32>,
    /// Per-person limit, if any.
    pub(crate) per_person_limit: Option<PerPersonLimit>,
    /// Lifetime of an issued voucher (seconds).
    pub(crate) voucher_lifetime_seconds: u32,
    /// Suspended offers are hidden.
    pub(crate) status: CatalogStatus,
    /// Creation time (Unix ms).
    pub(crate) created_at_ms: i64,
    /// Time of this version (Unix ms).
    pub(crate) updated_at_ms: i64,
    /// 1 at creation, +1 per admin replacement; replacements are conditional on it.
    pub(crate) version: u64,
}

impl OfferDraft {
    /// The offer `id` this draft describes, every field checked. `previous` is
    /// the stored version it replaces: its creation time is kept, its version
    /// raised, and the units already taken from it stay taken.
    pub(crate) fn into_offer(
        self,
        id: Uuid,
        stamps: Stamps,
        previous: Option<&RewardOffer>,
    ) -> Result<RewardOffer, FieldError> {
        let title = one_line("title", &self.title, TITLE_MAX_CHARS)?;
        let description = paragraph("description", &self.description, DESCRIPTION_MAX_CHARS)?;
        let point_cost = within("point_cost", self.point_cost, 1, POINT_COST_MAX)?;
        let area = Area::parse("area", self.area)?;
        within("valid_from_ms", self.valid_from_ms, EARLIEST_MS, LATEST_MS)?;
        within(
            "valid_until_ms",
            self.valid_until_ms,
            EARLIEST_MS,
            LATEST_MS,
        )?;
        if self.valid_until_ms <= self.valid_from_ms {
            return Err(FieldError::new(
                "valid_until_ms",
                "must be after valid_from_ms",
            ));
        }
        if let Some(total) = self.total_quantity {
            within("total_quantity", total, 1, QUANTITY_MAX)?;
        }
        if let Some(limit) = self.per_person_limit {
            within("per_person_limit.count", limit.count, 1, LIMIT_COUNT_MAX)?;
        }
        let voucher_lifetime_seconds = within(
            "voucher_lifetime_seconds",
            self.voucher_lifetime_seconds,
            VOUCHER_LIFETIME_MIN_SECONDS,
            VOUCHER_LIFETIME_MAX_SECONDS,
        )?;
        Ok(RewardOffer {
            id,
            kind: self.kind,
            issuer_id: self.issuer_id,
            title,
            description,
            point_cost,
            area,
            valid_from_ms: self.valid_from_ms,
            valid_until_ms: self.valid_until_ms,
            total_quantity: self.total_quantity,
            remaining: remaining_after(self.total_quantity, previous)?,
            per_person_limit: self.per_person_limit,
            voucher_lifetime_seconds,
            status: self.status,
            created_at_ms: stamps.created_at_ms,
            updated_at_ms: stamps.updated_at_ms,
            version: previous.map_or(1, |previous| previous.version.saturating_add(1)),
        })
    }
}

/// The stock left after setting the total to `total`. From limited to limited
/// the units already taken stay taken (a total below them is refused); a
/// newly limited offer starts with its whole total; unlimited has no count.
fn remaining_after(
    total: Option<u32>,
    previous: Option<&RewardOffer>,
) -> Result<Option<u32>, FieldError> {
    let previous_stock =
        previous.and_then(|previous| previous.total_quantity.zip(previous.remaining));
    match (total, previous_stock) {
        (None, _) => Ok(None),
        (Some(total), None) => Ok(Some(total)),
        (Some(total), Some((previous_total, previous_remaining))) => {
            let taken = previous_total.saturating_sub(previous_remaining);
            total.checked_sub(taken).map(Some).ok_or_else(|| {
                FieldError::new(
                    "total_quantity",
                    format!("must be at least the {taken} unit(s) already taken"),
                )
            })
        }
    }
}

/// Refuses a scheme offered outside its municipality: every code of the
/// scheme's area must be one the municipality's area includes.
pub(crate) fn check_scheme_area(
    scheme_area: &Area,
    municipality_area: &Area,
) -> Result<(), FieldError> {
    match scheme_area
        .codes()
        .iter()
        .find(|code| !municipality_area.includes(code))
    {
        Some(outside) => Err(FieldError::new(
            "area",
            format!("{outside} is outside the municipality's area"),
        )),
        None => Ok(()),
    }
}

impl RewardOffer {
    /// Whether a person in `zip` may see it at `now_ms`, its issuer aside:
    /// active, within its validity, in stock, and offered in that ZIP.
    pub(crate) fn is_browsable(&self, zip: &str, now_ms: i64) -> bool {
        self.status == CatalogStatus::Active
            && self.valid_from_ms <= now_ms
            && now_ms < self.valid_until_ms
            && self.remaining != Some(0)
            && self.area.covers(zip)
    }
}
