//! Admin operations on catalog entries, written once for every
//! [`CatalogEntry`]: create (a random id), replace (keeps the creation time;
//! conditional where the entry's store write is, re-read and retried when a
//! concurrent change got in first), read, and list in pages.

use uuid::Uuid;

use super::{Catalog, CatalogEntry, CatalogError, cursor};
use crate::domain::catalog::Stamps;

/// Times a replacement is recomputed from a fresh read when concurrent writes
/// (another admin, a redemption taking stock) keep changing the entry.
const REPLACE_ATTEMPTS: usize = 5;

/// One page of a listing.
#[derive(Debug)]
pub(crate) struct Page<T> {
    /// The entries, in listing order.
    pub(crate) items: Vec<T>,
    /// Where the next page starts; `None` after the last page.
    pub(crate) next_cursor: Option<String>,
}

impl Catalog {
    /// Creates the entry `draft` describes under a new random id.
    pub(crate) async fn create<Entry: CatalogEntry>(
        &self,
        draft: Entry::Draft,
    ) -> Result<Entry, CatalogError> {
        let now_ms = self.clock.now_ms();
        let stamps = Stamps {
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
        };
        let entry = Entry::build(self.store.as_ref(), draft, Uuid::new_v4(), stamps, None).await?;
        if !Entry::save(self.store.as_ref(), &entry, None).await? {
            // A random id already taken: astronomically unlikely, and safe to retry.
            return Err(CatalogError::Contended);
        }
        tracing::info!(what = Entry::WHAT, id = %entry.id(), "catalog entry created");
        Ok(entry)
    }

    /// Replaces the entry `id` with what `draft` describes.
    pub(crate) async fn replace<Entry: CatalogEntry>(
        &self,
        id: Uuid,
        draft: Entry::Draft,
    ) -> Result<Entry, CatalogError> {
        for _attempt in 0..REPLACE_ATTEMPTS {
            let previous = self.get::<Entry>(id).await?;
            let stamps = Stamps {
                created_at_ms: previous.created_at_ms(),
                updated_at_ms: self.clock.now_ms(),
            };
            let entry = Entry::build(
                self.store.as_ref(),
                draft.clone(),
                id,
                stamps,
                Some(&previous),
            )
            .await?;
            if Entry::save(self.store.as_ref(), &entry, Some(&previous)).await? {
                tracing::info!(what = Entry::WHAT, %id, "catalog entry replaced");
                return Ok(entry);
            }
        }
        Err(CatalogError::Contended)
    }

    /// The entry `id`.
    pub(crate) async fn get<Entry: CatalogEntry>(&self, id: Uuid) -> Result<Entry, CatalogError> {
        Entry::load(self.store.as_ref(), id)
            .await?
            .ok_or(CatalogError::NotFound {
                code: Entry::NOT_FOUND_CODE,
                what: Entry::WHAT,
            })
    }

    /// A page of up to `limit` entries, continuing from `cursor`.
    pub(crate) async fn list<Entry: CatalogEntry>(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Entry>, CatalogError> {
        let after = cursor.map(cursor::parse_after_id).transpose()?;
        let items = Entry::page(self.store.as_ref(), after, limit).await?;
        let next_cursor = (items.len() == limit)
            .then(|| items.last().map(|last| cursor::after_id(last.id())))
            .flatten();
        Ok(Page { items, next_cursor })
    }
}
