//! [`CatalogStore`] on redb: retailers, municipalities, charities and offers by
//! id, and the area index of offers. An offer write checks the stored version
//! and stock, removes the stored offer's index rows and writes the new ones in
//! one write transaction, so the index never disagrees with the offers.

use std::ops::Bound;

use async_trait::async_trait;
use redb::{TableDefinition, WriteTransaction};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::EmbeddedStore;
use super::codec::{decode, encode, get_record, redb_error};
use super::tables::{
    AreaIndexKey, CHARITIES, MUNICIPALITIES, RETAILERS, REWARD_OFFERS, REWARD_OFFERS_BY_AREA,
    UuidKey, area_index_key, area_position_of,
};
use crate::domain::catalog::{
    Charity, Municipality, OfferKind, Retailer, RewardOffer, ZIP_PREFIX_DIGITS,
};
use crate::store::{AreaListing, AreaPosition, CatalogStore, StoreResult};

/// A table of catalog records keyed by id.
type RecordTable = TableDefinition<'static, &'static UuidKey, &'static [u8]>;

impl EmbeddedStore {
    /// Writes `record` under `id` in `table`.
    async fn put_catalog_record<T: Serialize>(
        &self,
        table: RecordTable,
        id: Uuid,
        record: &T,
    ) -> StoreResult<()> {
        let encoded = encode(record)?;
        self.write(move |transaction| {
            let mut records = transaction.open_table(table).map_err(redb_error)?;
            records
                .insert(id.as_bytes(), encoded.as_slice())
                .map_err(redb_error)?;
            Ok(())
        })
        .await
    }

    /// The record under `id` in `table`.
    async fn catalog_record<T: DeserializeOwned + Send + 'static>(
        &self,
        table: RecordTable,
        id: Uuid,
    ) -> StoreResult<Option<T>> {
        self.read(move |transaction| {
            let records = transaction.open_table(table).map_err(redb_error)?;
            get_record(&records, id.as_bytes())
        })
        .await
    }

    /// Up to `limit` records of `table` after id `after`, in byte order of ids.
    async fn catalog_page<T: DeserializeOwned + Send + 'static>(
        &self,
        table: RecordTable,
        after: Option<Uuid>,
        limit: usize,
    ) -> StoreResult<Vec<T>> {
        self.read(move |transaction| {
            let records = transaction.open_table(table).map_err(redb_error)?;
            let after_key = after.map(|id| *id.as_bytes());
            let start = match &after_key {
                Some(key) => Bound::Excluded(key),
                None => Bound::Unbounded,
            };
            let mut page = Vec::new();
            for row in records
                .range::<&UuidKey>((start, Bound::Unbounded))
                .map_err(redb_error)?
                .take(limit)
            {
                let (_id, value) = row.map_err(redb_error)?;
                page.push(decode(value.value())?);
            }
            Ok(page)
        })
        .await
    }
}

/// The area index keys of `offer`: one per ZIP prefix of its area.
fn area_index_keys(offer: &RewardOffer) -> Vec<AreaIndexKey> {
    offer
        .area
        .prefixes()
        .iter()
        .map(|prefix| area_index_key(prefix, offer.kind, offer.valid_until_ms, offer.id))
        .collect()
}

#[async_trait]
impl CatalogStore for EmbeddedStore {
    async fn put_retailer(&self, retailer: &Retailer) -> StoreResult<()> {
        self.put_catalog_record(RETAILERS, retailer.id, retailer)
            .await
    }

    async fn retailer(&self, id: Uuid) -> StoreResult<Option<Retailer>> {
        self.catalog_record(RETAILERS, id).await
    }

    async fn retailers(&self, after: Option<Uuid>, limit: usize) -> StoreResult<Vec<Retailer>> {
        self.catalog_page(RETAILERS, after, limit).await
    }

    async fn put_municipality(&self, municipality: &Municipality) -> StoreResult<()> {
        self.put_catalog_record(MUNICIPALITIES, municipality.id, municipality)
            .await
    }

    async fn municipality(&self, id: Uuid) -> StoreResult<Option<Municipality>> {
        self.catalog_record(MUNICIPALITIES, id).await
    }

    async fn municipalities(
        &self,
        after: Option<Uuid>,
        limit: usize,
    ) -> StoreResult<Vec<Municipality>> {
        self.catalog_page(MUNICIPALITIES, after, limit).await
    }

    async fn put_charity(&self, charity: &Charity) -> StoreResult<()> {
        self.put_catalog_record(CHARITIES, charity.id, charity)
            .await
    }

    async fn charity(&self, id: Uuid) -> StoreResult<Option<Charity>> {
        self.catalog_record(CHARITIES, id).await
    }

    async fn charities(&self, after: Option<Uuid>, limit: usize) -> StoreResult<Vec<Charity>> {
        self.catalog_page(CHARITIES, after, limit).await
    }

    async fn put_offer(
        &self,
        offer: &RewardOffer,
        previous: Option<&RewardOffer>,
    ) -> StoreResult<bool> {
        let write = OfferWrite::new(offer, previous)?;
        self.write(move |transaction| write.apply(transaction))
            .await
    }

    async fn put_offers(
        &self,
        offers: &[(RewardOffer, Option<RewardOffer>)],
    ) -> StoreResult<Vec<bool>> {
        let writes = offers
            .iter()
            .map(|(offer, previous)| OfferWrite::new(offer, previous.as_ref()))
            .collect::<StoreResult<Vec<_>>>()?;
        // One transaction: one commit for the whole batch.
        self.write(move |transaction| {
            writes
                .iter()
                .map(|write| write.apply(transaction))
                .collect()
        })
        .await
    }

    async fn offer(&self, id: Uuid) -> StoreResult<Option<RewardOffer>> {
        self.catalog_record(REWARD_OFFERS, id).await
    }

    async fn offers_by_id(&self, ids: &[Uuid]) -> StoreResult<Vec<Option<RewardOffer>>> {
        let ids = ids.to_vec();
        self.read(move |transaction| {
            let records = transaction.open_table(REWARD_OFFERS).map_err(redb_error)?;
            ids.iter()
                .map(|id| get_record(&records, id.as_bytes()))
                .collect()
        })
        .await
    }

    async fn offers(&self, after: Option<Uuid>, limit: usize) -> StoreResult<Vec<RewardOffer>> {
        self.catalog_page(REWARD_OFFERS, after, limit).await
    }

    async fn offers_in_area(
        &self,
        zip_prefix: &str,
        kind: OfferKind,
        ending_after_ms: i64,
        after: Option<AreaPosition>,
        limit: usize,
    ) -> StoreResult<Vec<AreaListing>> {
        let is_prefix = zip_prefix.len() == ZIP_PREFIX_DIGITS
            && zip_prefix.bytes().all(|byte| byte.is_ascii_digit());
        if !is_prefix {
            return Ok(Vec::new());
        }
        let zip_prefix = zip_prefix.to_owned();
        let start = AreaPosition::lower_bound(after, ending_after_ms);
        let first = area_index_key(&zip_prefix, kind, start.valid_until_ms, start.offer_id);
        let last = area_index_key(&zip_prefix, kind, i64::MAX, Uuid::max());
        self.read(move |transaction| {
            let index = transaction
                .open_table(REWARD_OFFERS_BY_AREA)
                .map_err(redb_error)?;
            let offers = transaction.open_table(REWARD_OFFERS).map_err(redb_error)?;
            let mut listings = Vec::new();
            for row in index
                .range::<&AreaIndexKey>((Bound::Excluded(&first), Bound::Included(&last)))
                .map_err(redb_error)?
                .take(limit)
            {
                let (key, _no_value) = row.map_err(redb_error)?;
                let position = area_position_of(key.value());
                let stored = get_record(&offers, position.offer_id.as_bytes())?;
                listings.push(AreaListing::of_row(&zip_prefix, kind, position, stored));
            }
            Ok(listings)
        })
        .await
    }
}

/// One conditional offer write, encoded ahead of the transaction.
struct OfferWrite {
    /// The offer to store.
    offer: RewardOffer,
    /// Its encoding.
    encoded: Vec<u8>,
    /// The `version` and `remaining` the stored offer must have (`None`: no
    /// offer may be stored).
    expected: Option<(u64, Option<u32>)>,
}

impl OfferWrite {
    fn new(offer: &RewardOffer, previous: Option<&RewardOffer>) -> StoreResult<Self> {
        Ok(Self {
            offer: offer.clone(),
            encoded: encode(offer)?,
            expected: previous.map(|previous| (previous.version, previous.remaining)),
        })
    }

    /// Writes the offer and moves its area rows if the stored one is as
    /// expected; returns whether it did.
    fn apply(&self, transaction: &WriteTransaction) -> StoreResult<bool> {
        let offer = &self.offer;
        let mut offers = transaction.open_table(REWARD_OFFERS).map_err(redb_error)?;
        let stored: Option<RewardOffer> = get_record(&offers, offer.id.as_bytes())?;
        let applies = match (&stored, self.expected) {
            (None, None) => true,
            (Some(stored), Some((version, remaining))) => {
                stored.version == version && stored.remaining == remaining
            }
            (Some(_), None) | (None, Some(_)) => false,
        };
        if !applies {
            return Ok(false);
        }
        let mut index = transaction
            .open_table(REWARD_OFFERS_BY_AREA)
            .map_err(redb_error)?;
        for key in stored.iter().flat_map(area_index_keys) {
            index.remove(&key).map_err(redb_error)?;
        }
        for key in area_index_keys(offer) {
            index.insert(&key, ()).map_err(redb_error)?;
        }
        offers
            .insert(offer.id.as_bytes(), self.encoded.as_slice())
            .map_err(redb_error)?;
        Ok(true)
    }
}
