//! Retailers: the shops whose offers points buy.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::area::is_zip;
use super::fields::{FieldError, LINE_MAX_CHARS, NAME_MAX_CHARS, one_line};
use super::{CatalogStatus, Stamps};

/// What an admin sends to create or replace a retailer.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetailerDraft {
    /// Shop name shown with its offers.
    pub(crate) name: String,
    /// Street address, shown so people find the shop.
    pub(crate) address: String,
    /// The shop's 5-digit ZIP.
    pub(crate) zip: String,
    /// How the program reaches the shop (email or phone); not shown to people.
    pub(crate) contact: String,
    /// Active unless stated.
    #[serde(default)]
    pub(crate) status: CatalogStatus,
}

/// A retailer as stored and shown to admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct Retailer {
    /// Random id, assigned at creation.
    pub(crate) id: Uuid,
    /// Shop name.
    pub(crate) name: String,
    /// Street address.
    pub(crate) address: String,
    /// 5-digit ZIP.
    pub(crate) zip: String,
    /// Contact line for the program's staff.
    pub(crate) contact: String,
    /// Suspended retailers' offers are hidden.
    pub(crate) status: CatalogStatus,
    /// Creation time (Unix ms).
    pub(crate) created_at_ms: i64,
    /// Time of this version (Unix ms).
    pub(crate) updated_at_ms: i64,
}

impl RetailerDraft {
    /// The retailer `id` this draft describes, every field checked.
    pub(crate) fn into_retailer(self, id: Uuid, stamps: Stamps) -> Result<Retailer, FieldError> {
        let zip = self.zip.trim().to_owned();
        if !is_zip(&zip) {
            return Err(FieldError::new("zip", "must be a 5-digit ZIP"));
        }
        Ok(Retailer {
            id,
            name: one_line("name", &self.name, NAME_MAX_CHARS)?,
            address: one_line("address", &self.address, LINE_MAX_CHARS)?,
            zip,
            contact: one_line("contact", &self.contact, LINE_MAX_CHARS)?,
            status: self.status,
            created_at_ms: stamps.created_at_ms,
            updated_at_ms: stamps.updated_at_ms,
        })
    }
}
