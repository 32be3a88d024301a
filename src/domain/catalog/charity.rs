//! Charities: where donated points go. Each is identified to the program's
//! accountants by its US Employer Identification Number.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::fields::{DESCRIPTION_MAX_CHARS, FieldError, NAME_MAX_CHARS, one_line, paragraph};
use super::{CatalogStatus, Stamps};

/// What an admin sends to create or replace a charity.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CharityDraft {
    /// Name shown to people.
    pub(crate) name: String,
    /// Employer Identification Number, `NN-NNNNNNN`.
    pub(crate) ein: String,
    /// What the charity does, shown to people.
    pub(crate) description: String,
    /// Active unless stated.
    #[serde(default)]
    pub(crate) status: CatalogStatus,
}

/// A charity as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct Charity {
    /// Random id, assigned at creation.
    pub(crate) id: Uuid,
    /// Name.
    pub(crate) name: String,
    /// EIN, `NN-NNNNNNN`.
    pub(crate) ein: String,
    /// Description.
    pub(crate) description: String,
    /// Suspended charities are not listed.
    pub(crate) status: CatalogStatus,
    /// Creation time (Unix ms).
    pub(crate) created_at_ms: i64,
    /// Time of this version (Unix ms).
    pub(crate) updated_at_ms: i64,
}

/// Whether `text` is written as an EIN: two digits, a hyphen, seven digits.
pub(crate) fn is_ein(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes[2] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(index, byte)| index == 2 || byte.is_ascii_digit())
}

impl CharityDraft {
    /// The charity `id` this draft describes, every field checked.
    pub(crate) fn into_charity(self, id: Uuid, stamps: Stamps) -> Result<Charity, FieldError> {
        let ein = self.ein.trim().to_owned();
        if !is_ein(&ein) {
            return Err(FieldError::new("ein", "must be written NN-NNNNNNN"));
        }
        Ok(Charity {
            id,
            name: one_line("name", &self.name, NAME_MAX_CHARS)?,
            ein,
            description: paragraph("description", &self.description, DESCRIPTION_MAX_CHARS)?,
            status: self.status,
            created_at_ms: stamps.created_at_ms,
            updated_at_ms: stamps.updated_at_ms,
        })
    }
}
