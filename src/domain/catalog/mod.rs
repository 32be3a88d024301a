//! The rewards catalog: who gives rewards (retailers, municipalities), what they
//! give (offers and municipal schemes, one shape, told apart by their
//! [`OfferKind`]), and the charities points can go to. Each entity has a draft
//! (what an admin sends, decoded strictly) and a record (what is stored and
//! shown); turning a draft into a record validates every field and names the
//! first field that fails. Nothing is ever deleted: an entity is suspended.

mod area;
mod charity;
mod fields;
mod municipality;
mod offer;
mod retailer;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub(crate) use area::{Area, ZIP_PREFIX_DIGITS, is_zip};
pub(crate) use charity::{Charity, CharityDraft};
pub(crate) use fields::FieldError;
pub(crate) use municipality::{Municipality, MunicipalityDraft};
pub(crate) use offer::{
    LimitPeriod, OfferDraft, OfferKind, PerPersonLimit, RewardOffer, VOUCHER_LIFETIME_MAX_SECONDS,
    check_scheme_area,
};
pub(crate) use retailer::{Retailer, RetailerDraft};

/// Whether an entity takes part in the program. Suspending replaces deleting,
/// so the records that will name an entity (vouchers, pledges) keep a target.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CatalogStatus {
    /// Shown to people and usable.
    #[default]
    Active,
    /// Hidden from people; kept for the records that name it.
    Suspended,
}

impl CatalogStatus {
    /// The wire and storage name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CatalogStatus::Active => "active",
            CatalogStatus::Suspended => "suspended",
        }
    }

    /// The status stored under `text`, if it names one.
    pub(crate) fn from_text(text: &str) -> Option<Self> {
        match text {
            "active" => Some(CatalogStatus::Active),
            "suspended" => Some(CatalogStatus::Suspended),
            _ => None,
        }
    }
}

/// When a record was created and last replaced (Unix ms): set by the catalog
/// service from its clock, never sent by admins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamps {
    /// Creation time; kept by every replacement.
    pub(crate) created_at_ms: i64,
    /// Time of this version.
    pub(crate) updated_at_ms: i64,
}
