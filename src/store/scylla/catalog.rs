//! [`CatalogStore`] on CQL. Retailers, municipalities and charities each live
//! in a table keyed by id (plain upserts: an admin replacement is
//! last-writer-wins); every catalog table is listed in token order, `LIMIT`
//! rows a page, so a page reads a bounded slice of the ring. The conditional
//! offer writes and the area index are in `offers`.

use async_trait::async_trait;
use scylla::DeserializeRow;
use scylla::deserialize::row::DeserializeRow as DeserializeRowTrait;
use uuid::Uuid;

use super::ScyllaStore;
use super::catalog_statements::{CatalogStatements, PagedSelect};
use super::codec::{corrupt, first_row, rows};
use super::offers::OfferRow;
use crate::domain::catalog::{
    Area, CatalogStatus, Charity, Municipality, OfferKind, Retailer, RewardOffer,
};
use crate::store::{AreaListing, AreaPosition, CatalogStore, StoreResult};

/// A row of `retailers`.
#[derive(Debug, DeserializeRow)]
struct RetailerRow {
    retailer_id: Uuid,
    name: String,
    address: String,
    zip: String,
    contact: String,
    status: String,
    created_at_ms: i64,
    updated_at_ms: i64,
}

/// A row of `municipalities`.
#[derive(Debug, DeserializeRow)]
struct MunicipalityRow {
    municipality_id: Uuid,
    name: String,
    state: String,
    area: Option<Vec<String>>,
    contact: String,
    status: String,
    created_at_ms: i64,
    updated_at_ms: i64,
}

/// A row of `charities`.
#[derive(Debug, DeserializeRow)]
struct CharityRow {
    charity_id: Uuid,
    name: String,
    ein: String,
    description: String,
    status: String,
    created_at_ms: i64,
    updated_at_ms: i64,
}

/// A status from its stored name.
pub(super) fn status_from_text(text: &str) -> StoreResult<CatalogStatus> {
    CatalogStatus::from_text(text)
        .ok_or_else(|| corrupt("catalog status", format!("unknown status {text:?}")))
}

impl TryFrom<RetailerRow> for Retailer {
    type Error = crate::store::StoreError;

    fn try_from(row: RetailerRow) -> StoreResult<Self> {
        Ok(Retailer {
            id: row.retailer_id,
            name: row.name,
            address: row.address,
            zip: row.zip,
            contact: row.contact,
            status: status_from_text(&row.status)?,
            created_at_ms: row.created_at_ms,
            updated_at_ms: row.updated_at_ms,
        })
    }
}

impl TryFrom<MunicipalityRow> for Municipality {
    type Error = crate::store::StoreError;

    fn try_from(row: MunicipalityRow) -> StoreResult<Self> {
        Ok(Municipality {
            id: row.municipality_id,
            name: row.name,
            state: row.state,
            area: Area::from_stored(row.area.unwrap_or_default()),
            contact: row.contact,
            status: status_from_text(&row.status)?,
            created_at_ms: row.created_at_ms,
            updated_at_ms: row.updated_at_ms,
        })
    }
}

impl TryFrom<CharityRow> for Charity {
    type Error = crate::store::StoreError;

    fn try_from(row: CharityRow) -> StoreResult<Self> {
        Ok(Charity {
            id: row.charity_id,
            name: row.name,
            ein: row.ein,
            description: row.description,
            status: status_from_text(&row.status)?,
            created_at_ms: row.created_at_ms,
            updated_at_ms: row.updated_at_ms,
        })
    }
}

impl ScyllaStore {
    /// The record of type `Record` read by `select` for `id`, decoded from `Row`.
    pub(super) async fn catalog_record<Row, Record>(
        &self,
        select: fn(&CatalogStatements) -> &scylla::statement::prepared::PreparedStatement,
        id: Uuid,
        what: &str,
    ) -> StoreResult<Option<Record>>
    where
        Row: for<'frame> DeserializeRowTrait<'frame, 'frame>,
        Record: TryFrom<Row, Error = crate::store::StoreError>,
    {
        let result = self
            .execute(|connected| select(&connected.statements.catalog), (id,))
            .await?;
        first_row::<Row>(result, what)?
            .map(Record::try_from)
            .transpose()
    }

    /// Up to `limit` records after id `after` (in token order), read by `pages`.
    pub(super) async fn catalog_page<Row, Record>(
        &self,
        pages: fn(&CatalogStatements) -> &PagedSelect,
        after: Option<Uuid>,
        limit: usize,
        what: &str,
    ) -> StoreResult<Vec<Record>>
    where
        Row: for<'frame> DeserializeRowTrait<'frame, 'frame>,
        Record: TryFrom<Row, Error = crate::store::StoreError>,
    {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let limit = i32::try_from(limit).unwrap_or(i32::MAX);
        let result = match after {
            None => {
                self.execute(
                    |connected| &pages(&connected.statements.catalog).first,
                    (limit,),
                )
                .await?
            }
            Some(after) => {
                self.execute(
                    |connected| &pages(&connected.statements.catalog).after,
                    (after, limit),
                )
                .await?
            }
        };
        rows::<Row>(result, what)?
            .into_iter()
            .map(Record::try_from)
            .collect()
    }
}

#[async_trait]
impl CatalogStore for ScyllaStore {
    async fn put_retailer(&self, retailer: &Retailer) -> StoreResult<()> {
        self.execute(
            |connected| &connected.statements.catalog.upsert_retailer,
            (
                retailer.id,
                retailer.name.as_str(),
                retailer.address.as_str(),
                retailer.zip.as_str(),
                retailer.contact.as_str(),
                retailer.status.as_str(),
                retailer.created_at_ms,
                retailer.updated_at_ms,
            ),
        )
        .await
        .map(|_| ())
    }

    async fn retailer(&self, id: Uuid) -> StoreResult<Option<Retailer>> {
        self.catalog_record::<RetailerRow, _>(|catalog| &catalog.select_retailer, id, "retailer")
            .await
    }

    async fn retailers(&self, after: Option<Uuid>, limit: usize) -> StoreResult<Vec<Retailer>> {
        self.catalog_page::<RetailerRow, _>(
            |catalog| &catalog.retailer_pages,
            after,
            limit,
            "retailer",
        )
        .await
    }

    async fn put_municipality(&self, municipality: &Municipality) -> StoreResult<()> {
        self.execute(
            |connected| &connected.statements.catalog.upsert_municipality,
            (
                municipality.id,
                municipality.name.as_str(),
                municipality.state.as_str(),
                municipality.area.codes(),
                municipality.contact.as_str(),
                municipality.status.as_str(),
                municipality.created_at_ms,
                municipality.updated_at_ms,
            ),
        )
        .await
        .map(|_| ())
    }

    async fn municipality(&self, id: Uuid) -> StoreResult<Option<Municipality>> {
        self.catalog_record::<MunicipalityRow, _>(
            |catalog| &catalog.select_municipality,
            id,
            "municipality",
        )
        .await
    }

    async fn municipalities(
        &self,
        after: Option<Uuid>,
        limit: usize,
    ) -> StoreResult<Vec<Municipality>> {
        self.catalog_page::<MunicipalityRow, _>(
            |catalog| &catalog.municipality_pages,
            after,
            limit,
            "municipality",
        )
        .await
    }

    async fn put_charity(&self, charity: &Charity) -> StoreResult<()> {
        self.execute(
            |connected| &connected.statements.catalog.upsert_charity,
            (
                charity.id,
                charity.name.as_str(),
                charity.ein.as_str(),
                charity.description.as_str(),
                charity.status.as_str(),
                charity.created_at_ms,
                charity.updated_at_ms,
            ),
        )
        .await
        .map(|_| ())
    }

    async fn charity(&self, id: Uuid) -> StoreResult<Option<Charity>> {
        self.catalog_record::<CharityRow, _>(|catalog| &catalog.select_charity, id, "charity")
            .await
    }

    async fn charities(&self, after: Option<Uuid>, limit: usize) -> StoreResult<Vec<Charity>> {
        self.catalog_page::<CharityRow, _>(
            |catalog| &catalog.charity_pages,
            after,
            limit,
            "charity",
        )
        .await
    }

    async fn put_offer(
        &self,
        offer: &RewardOffer,
        previous: Option<&RewardOffer>,
    ) -> StoreResult<bool> {
        self.write_offer(offer, previous).await
    }

    async fn offer(&self, id: Uuid) -> StoreResult<Option<RewardOffer>> {
        self.catalog_record::<OfferRow, _>(|catalog| &catalog.select_offer, id, "offer")
            .await
    }

    async fn offers(&self, after: Option<Uuid>, limit: usize) -> StoreResult<Vec<RewardOffer>> {
        self.catalog_page::<OfferRow, _>(|catalog| &catalog.offer_pages, after, limit, "offer")
            .await
    }

    async fn offers_in_area(
        &self,
        zip_prefix: &str,
        kind: OfferKind,
        ending_after_ms: i64,
        after: Option<AreaPosition>,
        limit: usize,
    ) -> StoreResult<Vec<AreaListing>> {
        self.area_listings(zip_prefix, kind, ending_after_ms, after, limit)
            .await
    }
}
