//! [`CatalogEntry`]: what the admin service needs of each kind of catalog
//! entry (draft type, store calls, checks that read the store), so creating,
//! replacing, reading and listing are written once for all four.

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::CatalogError;
use crate::domain::catalog::{
    Area, CatalogStatus, Charity, CharityDraft, Municipality, MunicipalityDraft, OfferDraft,
    OfferKind, Retailer, RetailerDraft, RewardOffer, Stamps, check_scheme_area,
};
use crate::store::{Store, StoreResult};

/// One kind of catalog entry.
#[async_trait]
pub(crate) trait CatalogEntry: Serialize + Send + Sync + Sized + 'static {
    /// What an admin sends to create or replace one.
    type Draft: DeserializeOwned + Clone + Send + Sync + 'static;
    /// What it is called in messages (`retailer`).
    const WHAT: &'static str;
    /// The 404 code when an id names none (`retailer_not_found`).
    const NOT_FOUND_CODE: &'static str;

    /// Its id.
    fn id(&self) -> Uuid;
    /// When it was created (kept by replacements).
    fn created_at_ms(&self) -> i64;
    /// The stored entry with this id.
    async fn load(store: &dyn Store, id: Uuid) -> StoreResult<Option<Self>>;
    /// Up to `limit` stored entries after id `after`.
    async fn page(store: &dyn Store, after: Option<Uuid>, limit: usize) -> StoreResult<Vec<Self>>;
    /// The entry `draft` describes, checked (against the store where a rule
    /// reads it); `previous` is the stored version it replaces.
    async fn build(
        store: &dyn Store,
        draft: Self::Draft,
        id: Uuid,
        stamps: Stamps,
        previous: Option<&Self>,
    ) -> Result<Self, CatalogError>;
    /// Writes it; false when a conditional write found `previous` outdated.
    async fn save(store: &dyn Store, entry: &Self, previous: Option<&Self>) -> StoreResult<bool>;
}

#[async_trait]
impl CatalogEntry for Retailer {
    type Draft = RetailerDraft;
    const WHAT: &'static str = "retailer";
    const NOT_FOUND_CODE: &'static str = "retailer_not_found";

    fn id(&self) -> Uuid {
        self.id
    }
    fn created_at_ms(&self) -> i64 {
        self.created_at_ms
    }
    async fn load(store: &dyn Store, id: Uuid) -> StoreResult<Option<Self>> {
        store.retailer(id).await
    }
    async fn page(store: &dyn Store, after: Option<Uuid>, limit: usize) -> StoreResult<Vec<Self>> {
        store.retailers(after, limit).await
    }
    async fn build(
        _store: &dyn Store,
        draft: RetailerDraft,
        id: Uuid,
        stamps: Stamps,
        _previous: Option<&Self>,
    ) -> Result<Self, CatalogError> {
        Ok(draft.into_retailer(id, stamps)?)
    }
    async fn save(store: &dyn Store, entry: &Self, _previous: Option<&Self>) -> StoreResult<bool> {
        store.put_retailer(entry).await.map(|()| true)
    }
}

#[async_trait]
impl CatalogEntry for Municipality {
    type Draft = MunicipalityDraft;
    const WHAT: &'static str = "municipality";
    const NOT_FOUND_CODE: &'static str = "municipality_not_found";

    fn id(&self) -> Uuid {
        self.id
    }
    fn created_at_ms(&self) -> i64 {
        self.created_at_ms
    }
    async fn load(store: &dyn Store, id: Uuid) -> StoreResult<Option<Self>> {
        store.municipality(id).await
    }
    async fn page(store: &dyn Store, after: Option<Uuid>, limit: usize) -> StoreResult<Vec<Self>> {
        store.municipalities(after, limit).await
    }
    async fn build(
        _store: &dyn Store,
        draft: MunicipalityDraft,
        id: Uuid,
        stamps: Stamps,
        _previous: Option<&Self>,
    ) -> Result<Self, CatalogError> {
        Ok(draft.into_municipality(id, stamps)?)
    }
    async fn save(store: &dyn Store, entry: &Self, _previous: Option<&Self>) -> StoreResult<bool> {
        store.put_municipality(entry).await.map(|()| true)
    }
}

#[async_trait]
impl CatalogEntry for Charity {
    type Draft = CharityDraft;
    const WHAT: &'static str = "charity";
    const NOT_FOUND_CODE: &'static str = "charity_not_found";

    fn id(&self) -> Uuid {
        self.id
    }
    fn created_at_ms(&self) -> i64 {
        self.created_at_ms
    }
    async fn load(store: &dyn Store, id: Uuid) -> StoreResult<Option<Self>> {
        store.charity(id).await
    }
    async fn page(store: &dyn Store, after: Option<Uuid>, limit: usize) -> StoreResult<Vec<Self>> {
        store.charities(after, limit).await
    }
    async fn build(
        _store: &dyn Store,
        draft: CharityDraft,
        id: Uuid,
        stamps: Stamps,
        _previous: Option<&Self>,
    ) -> Result<Self, CatalogError> {
        Ok(draft.into_charity(id, stamps)?)
    }
    async fn save(store: &dyn Store, entry: &Self, _previous: Option<&Self>) -> StoreResult<bool> {
        store.put_charity(entry).await.map(|()| true)
    }
}

#[async_trait]
impl CatalogEntry for RewardOffer {
    type Draft = OfferDraft;
    const WHAT: &'static str = "offer";
    const NOT_FOUND_CODE: &'static str = "offer_not_found";

    fn id(&self) -> Uuid {
        self.id
    }
    fn created_at_ms(&self) -> i64 {
        self.created_at_ms
    }
    async fn load(store: &dyn Store, id: Uuid) -> StoreResult<Option<Self>> {
        store.offer(id).await
    }
    async fn page(store: &dyn Store, after: Option<Uuid>, limit: usize) -> StoreResult<Vec<Self>> {
        store.offers(after, limit).await
    }
    /// Besides the fields: the issuer must exist (a retailer for an offer, a
    /// municipality for a scheme) and be active unless the offer is suspended
    /// (so an offer of a suspended issuer can still be suspended), and a
    /// scheme must stay inside its municipality's area.
    async fn build(
        store: &dyn Store,
        draft: OfferDraft,
        id: Uuid,
        stamps: Stamps,
        previous: Option<&Self>,
    ) -> Result<Self, CatalogError> {
        let offer = draft.into_offer(id, stamps, previous)?;
        let issuer = issuer_of(store, offer.kind, offer.issuer_id).await?.ok_or(
            CatalogError::IssuerNotFound {
                what: issuer_what(offer.kind),
            },
        )?;
        if issuer.status == CatalogStatus::Suspended && offer.status == CatalogStatus::Active {
            return Err(CatalogError::IssuerSuspended {
                what: issuer_what(offer.kind),
            });
        }
        if let Some(municipality_area) = &issuer.area {
            check_scheme_area(&offer.area, municipality_area)?;
        }
        Ok(offer)
    }
    async fn save(store: &dyn Store, entry: &Self, previous: Option<&Self>) -> StoreResult<bool> {
        store.put_offer(entry, previous).await
    }
}

/// What browsing and offer checks need of an issuer.
#[derive(Debug, Clone)]
pub(crate) struct IssuerSummary {
    /// Shown with its offers.
    pub(crate) name: String,
    /// Suspended issuers' offers are hidden.
    pub(crate) status: CatalogStatus,
    /// A municipality's area (schemes stay inside); `None` for a retailer.
    pub(crate) area: Option<Area>,
}

/// What issues offers of `kind`.
fn issuer_what(kind: OfferKind) -> &'static str {
    match kind {
        OfferKind::Offer => Retailer::WHAT,
        OfferKind::Scheme => Municipality::WHAT,
    }
}

/// The issuer `issuer_id` of an offer of `kind`: a retailer or a municipality.
pub(crate) async fn issuer_of(
    store: &dyn Store,
    kind: OfferKind,
    issuer_id: Uuid,
) -> StoreResult<Option<IssuerSummary>> {
    Ok(match kind {
        OfferKind::Offer => store
            .retailer(issuer_id)
            .await?
            .map(|retailer| IssuerSummary {
                name: retailer.name,
                status: retailer.status,
                area: None,
            }),
        OfferKind::Scheme => {
            store
                .municipality(issuer_id)
                .await?
                .map(|municipality| IssuerSummary {
                    name: municipality.name,
                    status: municipality.status,
                    area: Some(municipality.area),
                })
        }
    })
}
