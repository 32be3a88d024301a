//! What a valid row becomes: a [`StagedEntity`], the record it writes, and
//! the per-kind validation that turns a row's cells into one. The catalog's
//! own rules (`domain::catalog`) check every field, so an imported retailer
//! is held to exactly what the admin API holds one to.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::cells::Cells;
use super::officers::{OfficerRow, validate_officer};
use super::report::{ProblemCode, RowProblem};
use super::schema::ImportKind;
use crate::domain::catalog::{
    CatalogStatus, Charity, CharityDraft, LimitPeriod, OfferDraft, OfferKind, PerPersonLimit,
    Retailer, RetailerDraft, RewardOffer, Stamps,
};
use crate::domain::phone::PhoneRegions;
use crate::identity::keys::ServerKeys;

/// Stamps used while validating; the real ones are set when a row is applied.
const NO_STAMPS: Stamps = Stamps {
    created_at_ms: 0,
    updated_at_ms: 0,
};

/// An offer or scheme as a row describes it; the stock left and the version
/// come from the stored offer when the row is applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StagedOffer {
    /// The offer's id (kept from the row's earlier import, or new).
    pub(crate) id: Uuid,
    /// Offer or scheme.
    pub(crate) kind: OfferKind,
    /// The retailer or municipality, resolved from the row's reference.
    pub(crate) issuer_id: Uuid,
    /// Title.
    pub(crate) title: String,
    /// Description.
    pub(crate) description: String,
    /// Points per voucher.
    pub(crate) point_cost: u32,
    /// ZIPs and prefixes.
    pub(crate) area: Vec<String>,
    /// Start of validity (Unix ms).
    pub(crate) valid_from_ms: i64,
    /// End of validity, exclusive (Unix ms).
    pub(crate) valid_until_ms: i64,
    /// Units available; `None`: unlimited.
    pub(crate) total_quantity: Option<u32>,
    /// Per-person limit.
    pub(crate) per_person_limit: Option<PerPersonLimit>,
    /// Voucher lifetime (seconds).
    pub(crate) voucher_lifetime_seconds: u32,
    /// Active or suspended.
    pub(crate) status: CatalogStatus,
}

impl StagedOffer {
    /// The admin draft it amounts to.
    pub(crate) fn draft(&self) -> OfferDraft {
        OfferDraft {
            kind: self.kind,
            issuer_id: self.issuer_id,
            title: self.title.clone(),
            description: self.description.clone(),
            point_cost: self.point_cost,
            area: self.area.clone(),
            valid_from_ms: self.valid_from_ms,
            valid_until_ms: self.valid_until_ms,
            total_quantity: self.total_quantity,
            per_person_limit: self.per_person_limit,
            voucher_lifetime_seconds: self.voucher_lifetime_seconds,
            status: self.status,
        }
    }

    /// Whether `stored` already says what this row says.
    pub(crate) fn matches(&self, stored: &RewardOffer) -> bool {
        stored.kind == self.kind
            && stored.issuer_id == self.issuer_id
            && stored.title == self.title
            && stored.description == self.description
            && stored.point_cost == self.point_cost
            && stored.area.codes() == self.area.as_slice()
            && stored.valid_from_ms == self.valid_from_ms
            && stored.valid_until_ms == self.valid_until_ms
            && stored.total_quantity == self.total_quantity
            && stored.per_person_limit == self.per_person_limit
            && stored.voucher_lifetime_seconds == self.voucher_lifetime_seconds
            && stored.status == self.status
    }
}

/// A valid row, ready to be written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum StagedEntity {
    /// A roster row.
    Officer(OfficerRow),
    /// A retailer (id and stamps set when applied).
    Retailer(Retailer),
    /// An offer or a scheme.
    Offer(StagedOffer),
    /// A charity (id and stamps set when applied).
    Charity(Charity),
}

impl StagedEntity {
    /// Gives the entity the id its external id maps to.
    pub(crate) fn set_id(&mut self, id: Uuid) {
        match self {
            StagedEntity::Officer(_) => {}
            StagedEntity::Retailer(retailer) => retailer.id = id,
            StagedEntity::Offer(offer) => offer.id = id,
            StagedEntity::Charity(charity) => charity.id = id,
        }
    }
}

/// What a row still needs from the store before it is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Issuer {
    /// A retailer, by the external id it was imported under.
    Retailer(String),
    /// A municipality, by id.
    Municipality(Uuid),
}

/// A row that passed every check that does not read the store.
#[derive(Debug)]
pub(crate) struct Candidate {
    /// The row's line.
    pub(crate) row: u64,
    /// Its key: the external id (the phone's keyed hash, hex, for officers).
    pub(crate) key: String,
    /// SHA-256 of its normalised content.
    pub(crate) content_sha256: [u8; 32],
    /// The issuer to resolve (offers and schemes).
    pub(crate) issuer: Option<Issuer>,
    /// What it writes.
    pub(crate) entity: StagedEntity,
}

/// What validation needs besides the row.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Validation<'context> {
    /// Keys that hash and seal phones.
    pub(crate) keys: &'context ServerKeys,
    /// How phone numbers are read: national ones in the default region, and
    /// only those of served countries.
    pub(crate) phone_regions: &'context PhoneRegions,
}

/// Checks one row of `kind`.
pub(crate) fn validate(
    kind: ImportKind,
    row: u64,
    cells: &[Option<String>],
    context: Validation<'_>,
) -> Result<Candidate, Vec<RowProblem>> {
    let mut reader = Cells::new(row, kind.columns(), cells);
    let built = match kind {
        ImportKind::Officers => validate_officer(&mut reader, context),
        ImportKind::Retailers => retailer(&mut reader),
        ImportKind::Offers | ImportKind::Schemes => offer(kind, &mut reader),
        ImportKind::Charities => charity(&mut reader),
    };
    match built {
        Some((key, issuer, entity)) if reader.problems.is_empty() => Ok(Candidate {
            row,
            key,
            content_sha256: content_digest(&entity, issuer.as_ref()),
            issuer,
            entity,
        }),
        Some(_) | None => {
            if reader.problems.is_empty() {
                // Every path that gives up records why; keep the row invalid anyway.
                reader.problems.push(RowProblem::of_row(
                    row,
                    ProblemCode::FormatError,
                    "the row cannot be read",
                ));
            }
            Err(reader.problems)
        }
    }
}

/// What one kind's validation returns: key, issuer to resolve, entity.
pub(super) type Built = Option<(String, Option<Issuer>, StagedEntity)>;

fn retailer(cells: &mut Cells<'_>) -> Built {
    let key = cells.reference("retailer_ref");
    let draft = RetailerDraft {
        name: cells.text("name"),
        address: cells.text("address"),
        zip: cells.text("zip"),
        contact: cells.text("contact"),
        status: cells.status(),
    };
    let retailer = checked(
        cells,
        |draft: RetailerDraft| draft.into_retailer(Uuid::nil(), NO_STAMPS),
        draft,
    )?;
    Some((key?, None, StagedEntity::Retailer(retailer)))
}

fn charity(cells: &mut Cells<'_>) -> Built {
    let key = cells.reference("charity_ref");
    let draft = CharityDraft {
        name: cells.text("name"),
        ein: cells.text("ein"),
        description: cells.text("description"),
        status: cells.status(),
    };
    let charity = checked(
        cells,
        |draft: CharityDraft| draft.into_charity(Uuid::nil(), NO_STAMPS),
        draft,
    )?;
    Some((key?, None, StagedEntity::Charity(charity)))
}

fn offer(kind: ImportKind, cells: &mut Cells<'_>) -> Built {
    let (key, issuer, offer_kind) = if kind == ImportKind::Schemes {
        let key = cells.reference("scheme_ref");
        let issuer = cells.uuid("municipality_id").map(Issuer::Municipality);
        (key, issuer, OfferKind::Scheme)
    } else {
        let key = cells.reference("offer_ref");
        let issuer = cells.reference("retailer_ref").map(Issuer::Retailer);
        (key, issuer, OfferKind::Offer)
    };
    let title = cells.text("title");
    let description = cells.text("description");
    let point_cost = cells.integer("point_cost", true);
    let area: Vec<String> = cells
        .text("area")
        .split([' ', ',', ';'])
        .filter(|code| !code.is_empty())
        .map(str::to_owned)
        .collect();
    let valid_from_ms = cells.datetime("valid_from");
    let valid_until_ms = cells.datetime("valid_until");
    let total_quantity = cells.integer("total_quantity", false);
    let limit_count = cells.integer("limit_count", false);
    let limit_per = cells.optional("limit_per").map(str::trim);
    let per_person_limit = match (limit_count, limit_per) {
        (None, None) => None,
        (Some(count), Some(per)) => match LimitPeriod::from_text(per) {
            Some(per) => Some(PerPersonLimit { count, per }),
            None => {
                cells.problem(
                    "limit_per",
                    ProblemCode::ConstraintError,
                    "must be `day`, `month` or `ever`",
                );
                None
            }
        },
        (Some(_), None) => {
            cells.problem(
                "limit_per",
                ProblemCode::MissingValue,
                "is required with limit_count",
            );
            None
        }
        (None, Some(_)) => {
            if cells.optional("limit_count").is_none() {
                cells.problem(
                    "limit_count",
                    ProblemCode::MissingValue,
                    "is required with limit_per",
                );
            }
            None
        }
    };
    let voucher_lifetime_seconds = cells.integer("voucher_lifetime_seconds", true);
    let status = cells.status();
    let staged = StagedOffer {
        id: Uuid::nil(),
        kind: offer_kind,
        issuer_id: Uuid::nil(),
        title,
        description,
        point_cost: point_cost?,
        area,
        valid_from_ms: valid_from_ms?,
        valid_until_ms: valid_until_ms?,
        total_quantity,
        per_person_limit,
        voucher_lifetime_seconds: voucher_lifetime_seconds?,
        status,
    };
    if !cells.problems.is_empty() {
        return None;
    }
    let offer = checked(
        cells,
        |draft: OfferDraft| draft.into_offer(Uuid::nil(), NO_STAMPS, None),
        staged.draft(),
    )?;
    // The catalog normalises text and the area; stage what it would store.
    let staged = StagedOffer {
        title: offer.title,
        description: offer.description,
        area: offer.area.codes().to_vec(),
        ..staged
    };
    Some((key?, issuer, StagedEntity::Offer(staged)))
}

/// Runs the catalog's check of a draft once the cells read cleanly, filing
/// its failure under the right column.
fn checked<Draft, Record>(
    cells: &mut Cells<'_>,
    check: impl FnOnce(Draft) -> Result<Record, crate::domain::catalog::FieldError>,
    draft: Draft,
) -> Option<Record> {
    if !cells.problems.is_empty() {
        return None;
    }
    match check(draft) {
        Ok(record) => Some(record),
        Err(error) => {
            cells.field_error(&error);
            None
        }
    }
}

/// SHA-256 of what a row says, leaving out what differs from one import of
/// it to the next (ids, stamps, the sealed phone's random nonce).
fn content_digest(entity: &StagedEntity, issuer: Option<&Issuer>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    let normalised = match entity {
        StagedEntity::Officer(officer) => StagedEntity::Officer(OfficerRow {
            phone_sealed: Vec::new(),
            ..officer.clone()
        }),
        other => other.clone(),
    };
    // Field order is fixed by the types, so the encoding is stable.
    hasher.update(rmp_serde::to_vec(&normalised).unwrap_or_default());
    match issuer {
        Some(Issuer::Retailer(reference)) => hasher.update(reference.as_bytes()),
        Some(Issuer::Municipality(id)) => hasher.update(id.as_bytes()),
        None => {}
    }
    hasher.finalize().into()
}
