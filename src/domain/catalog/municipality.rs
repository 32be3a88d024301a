//! Municipalities: the cities and counties that issue schemes (a free transit
//! day, a recreation-centre pass). A municipality's area bounds where its
//! schemes may be offered.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::area::Area;
use super::fields::{FieldError, LINE_MAX_CHARS, NAME_MAX_CHARS, one_line};
use super::{CatalogStatus, Stamps};

/// USPS codes of the states, the District of Columbia and the territories.
const STATE_CODES: [&str; 56] = [
    "AK", "AL", "AR", "AS", "AZ", "CA", "CO", "CT", "DC", "DE", "FL", "GA", "GU", "HI", "IA", "ID",
    "IL", "IN", "KS", "KY", "LA", "MA", "MD", "ME", "MI", "MN", "MO", "MP", "MS", "MT", "NC", "ND",
    "NE", "NH", "NJ", "NM", "NV", "NY", "OH", "OK", "OR", "PA", "PR", "RI", "SC", "SD", "TN", "TX",
    "UT", "VA", "VI", "VT", "WA", "WI", "WV", "WY",
];

/// What an admin sends to create or replace a municipality.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MunicipalityDraft {
    /// Name shown with its schemes.
    pub(crate) name: String,
    /// Two-letter USPS state code.
    pub(crate) state: String,
    /// ZIPs and 3-digit ZIP prefixes it serves.
    pub(crate) area: Vec<String>,
    /// How the program reaches its staff; not shown to people.
    pub(crate) contact: String,
    /// Active unless stated.
    #[serde(default)]
    pub(crate) status: CatalogStatus,
}

/// A municipality as stored and shown to admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct Municipality {
    /// Random id, assigned at creation.
    pub(crate) id: Uuid,
    /// Name.
    pub(crate) name: String,
    /// Two-letter USPS state code.
    pub(crate) state: String,
    /// Where it serves; its schemes stay inside.
    pub(crate) area: Area,
    /// Contact line for the program's staff.
    pub(crate) contact: String,
    /// Suspended municipalities' schemes are hidden.
    pub(crate) status: CatalogStatus,
    /// Creation time (Unix ms).
    pub(crate) created_at_ms: i64,
    /// Time of this version (Unix ms).
    pub(crate) updated_at_ms: i64,
}

impl MunicipalityDraft {
    /// The municipality `id` this draft describes, every field checked.
    pub(crate) fn into_municipality(
        self,
        id: Uuid,
        stamps: Stamps,
    ) -> Result<Municipality, FieldError> {
        let state = self.state.trim().to_ascii_uppercase();
        if !STATE_CODES.contains(&state.as_str()) {
            return Err(FieldError::new(
                "state",
                "must be a two-letter USPS state code",
            ));
        }
        Ok(Municipality {
            id,
            name: one_line("name", &self.name, NAME_MAX_CHARS)?,
            state,
            area: Area::parse("area", self.area)?,
            contact: one_line("contact", &self.contact, LINE_MAX_CHARS)?,
            status: self.status,
            created_at_ms: stamps.created_at_ms,
            updated_at_ms: stamps.updated_at_ms,
        })
    }
}
