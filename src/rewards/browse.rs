//! What a signed-in person sees of the catalog. Offers: those of one ZIP,
//! read from the area index partition of its 3-digit prefix (offers first,
//! then schemes, each by end of validity), kept when active, started, not
//! ended, in stock, offered in that very ZIP, and issued by an active retailer
//! or municipality. Charities: the active ones. A page reads at most
//! [`MAX_ROWS_PER_PAGE`] stored rows; when those are spent before the page is
//! full, it ends early with a cursor, so one request's work is bounded however
//! many hidden entries there are.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use uuid::Uuid;

use super::admin::Page;
use super::cursor::{self, AreaCursor};
use super::entries::{IssuerSummary, issuer_of};
use super::{Catalog, CatalogError};
use crate::domain::catalog::{
    CatalogStatus, Charity, FieldError, OfferKind, RewardOffer, ZIP_PREFIX_DIGITS, is_zip,
};

/// Stored rows one page may read before it ends early.
const MAX_ROWS_PER_PAGE: usize = 1_000;
/// Most index rows read at once.
const MAX_ROWS_PER_READ: usize = 100;

/// An offer as browsing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BrowsedOffer {
    /// The offer.
    pub(crate) offer: RewardOffer,
    /// Its retailer's or municipality's name.
    pub(crate) issuer_name: String,
}

/// One page of browsed offers.
#[derive(Debug)]
pub(crate) struct OfferPage {
    /// The offers, offers before schemes, each soonest-ending first.
    pub(crate) offers: Vec<BrowsedOffer>,
    /// Where the next page starts; `None` after the last.
    pub(crate) next_cursor: Option<String>,
}

impl Catalog {
    /// Up to `limit` offers a person in `zip` may redeem now, of `kind` (both
    /// kinds when `None`), continuing from `cursor`.
    pub(crate) async fn browse_offers(
        &self,
        zip: &str,
        kind: Option<OfferKind>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<OfferPage, CatalogError> {
        if !is_zip(zip) {
            return Err(FieldError::new("zip", "must be a 5-digit ZIP").into());
        }
        let kinds: Vec<OfferKind> = kind.map_or(OfferKind::ALL.to_vec(), |kind| vec![kind]);
        let start = cursor.map(cursor::parse_in_area).transpose()?;
        let first_kind = match start {
            Some(start) => kinds
                .iter()
                .position(|kind| *kind == start.kind)
                .ok_or_else(|| FieldError::new("cursor", "belongs to another kind filter"))?,
            None => 0,
        };
        let now_ms = self.clock.now_ms();
        let zip_prefix = &zip[..ZIP_PREFIX_DIGITS];
        let rows_per_read = limit.saturating_mul(2).clamp(1, MAX_ROWS_PER_READ);
        let mut issuers = IssuerCache::default();
        let mut offers = Vec::new();
        let mut rows_read = 0;
        for &kind in &kinds[first_kind..] {
            let mut after = start
                .filter(|start| start.kind == kind)
                .map(|start| start.position);
            loop {
                let listings = self
                    .store
                    .offers_in_area(zip_prefix, kind, now_ms, after, rows_per_read)
                    .await?;
                let exhausted = listings.len() < rows_per_read;
                rows_read += listings.len();
                for listing in listings {
                    after = Some(listing.position);
                    let Some(offer) = listing.offer else {
                        continue;
                    };
                    if !offer.is_browsable(zip, now_ms) {
                        continue;
                    }
                    let Some(issuer_name) = issuers.active_name(self, &offer).await? else {
                        continue;
                    };
                    offers.push(BrowsedOffer { offer, issuer_name });
                    if offers.len() == limit {
                        let next = AreaCursor {
                            kind,
                            position: listing.position,
                        };
                        return Ok(OfferPage {
                            offers,
                            next_cursor: Some(cursor::in_area(next)),
                        });
                    }
                }
                if exhausted {
                    break;
                }
                if rows_read >= MAX_ROWS_PER_PAGE
                    && let Some(position) = after
                {
                    return Ok(OfferPage {
                        offers,
                        next_cursor: Some(cursor::in_area(AreaCursor { kind, position })),
                    });
                }
            }
        }
        Ok(OfferPage {
            offers,
            next_cursor: None,
        })
    }

    /// Up to `limit` active charities, continuing from `cursor`.
    pub(crate) async fn browse_charities(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Charity>, CatalogError> {
        let mut after = cursor.map(cursor::parse_after_id).transpose()?;
        let mut items = Vec::new();
        let mut rows_read = 0;
        loop {
            let stored = self.store.charities(after, limit).await?;
            let exhausted = stored.len() < limit;
            rows_read += stored.len();
            for charity in stored {
                after = Some(charity.id);
                if charity.status != CatalogStatus::Active {
                    continue;
                }
                items.push(charity);
                if items.len() == limit {
                    return Ok(Page {
                        items,
                        next_cursor: after.map(cursor::after_id),
                    });
                }
            }
            if exhausted || limit == 0 {
                return Ok(Page {
                    items,
                    next_cursor: None,
                });
            }
            if rows_read >= MAX_ROWS_PER_PAGE {
                return Ok(Page {
                    items,
                    next_cursor: after.map(cursor::after_id),
                });
            }
        }
    }
}

/// Issuers read while building one page, so each is read once.
#[derive(Debug, Default)]
struct IssuerCache {
    /// By kind and id; `None` when no such issuer is stored.
    read: HashMap<(OfferKind, Uuid), Option<IssuerSummary>>,
}

impl IssuerCache {
    /// The name of `offer`'s issuer if it is stored and active.
    async fn active_name(
        &mut self,
        catalog: &Catalog,
        offer: &RewardOffer,
    ) -> Result<Option<String>, CatalogError> {
        let key = (offer.kind, offer.issuer_id);
        let issuer = match self.read.entry(key) {
            Entry::Occupied(read) => read.into_mut(),
            Entry::Vacant(unread) => {
                unread.insert(issuer_of(catalog.store.as_ref(), offer.kind, offer.issuer_id).await?)
            }
        };
        Ok(issuer
            .as_ref()
            .filter(|issuer| issuer.status == CatalogStatus::Active)
            .map(|issuer| issuer.name.clone()))
    }
}
