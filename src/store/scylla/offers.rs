//! Offers on CQL: `reward_offers` by id and the area index
//! `reward_offers_by_area`, one partition per (3-digit ZIP prefix, kind) with
//! rows ordered by end of validity, so a browse reads one partition from "now"
//! on and never meets expired offers.
//!
//! A write lists the offer under its new rows first, then writes the offer
//! conditionally (`IF NOT EXISTS` to create, `IF version = ? AND remaining = ?`
//! to replace), then, once applied, removes the rows only the replaced version
//! had. A reader may meet a row the offer no longer belongs to (the write
//! stopped before the removal, or its condition was refused): every row is
//! checked against the stored offer and such rows are reported stale, never
//! listed. A row is never missing, since it is written before the offer.
//! A replacement of an offer that counts stock holds the offer's stock-move
//! row while it writes (see `stock`).

use std::collections::BTreeSet;

use futures::future::try_join_all;
use scylla::{DeserializeRow, SerializeRow};
use uuid::Uuid;

use super::ScyllaStore;
use super::catalog::status_from_text;
use super::codec::{corrupt, from_bigint, rows, to_bigint};
use crate::domain::catalog::{Area, LimitPeriod, OfferKind, PerPersonLimit, RewardOffer};
use crate::store::{AreaListing, AreaPosition, StoreError, StoreResult};

/// A row of `reward_offers`.
#[derive(Debug, DeserializeRow)]
pub(super) struct OfferRow {
    offer_id: Uuid,
    kind: String,
    issuer_id: Uuid,
    title: String,
    description: String,
    point_cost: i32,
    area: Option<Vec<String>>,
    valid_from_ms: i64,
    valid_until_ms: i64,
    total_quantity: Option<i32>,
    remaining: Option<i32>,
    limit_count: Option<i32>,
    limit_per: Option<String>,
    voucher_lifetime_seconds: i32,
    status: String,
    created_at_ms: i64,
    updated_at_ms: i64,
    version: i64,
}

/// The columns of an offer write, bound by name.
#[derive(Debug, SerializeRow)]
struct OfferColumns<'a> {
    offer_id: Uuid,
    kind: &'a str,
    issuer_id: Uuid,
    title: &'a str,
    description: &'a str,
    point_cost: i32,
    area: &'a [String],
    valid_from_ms: i64,
    valid_until_ms: i64,
    total_quantity: Option<i32>,
    remaining: Option<i32>,
    limit_count: Option<i32>,
    limit_per: Option<&'a str>,
    voucher_lifetime_seconds: i32,
    status: &'a str,
    created_at_ms: i64,
    updated_at_ms: i64,
    version: i64,
}

/// A replacement: the new columns and the version and stock it expects.
#[derive(Debug, SerializeRow)]
struct OfferReplacement<'a> {
    /// The new columns.
    #[scylla(flatten)]
    columns: OfferColumns<'a>,
    /// The version the replacement was computed from.
    expected_version: i64,
    /// The stock it was computed from (`None`: unlimited).
    expected_remaining: Option<i32>,
}

/// How long an admin replacement waits for the offer's stock-move row.
const ADMIN_STOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// A `u32` field as a CQL `int`.
fn to_int(value: u32, what: &str) -> StoreResult<i32> {
    i32::try_from(value).map_err(|_| StoreError::Backend(format!("{what} {value} is too large")))
}

/// A CQL `int` that holds a `u32`.
fn from_int(value: i32, what: &str) -> StoreResult<u32> {
    u32::try_from(value).map_err(|_| corrupt(what, format!("negative value {value}")))
}

impl<'a> OfferColumns<'a> {
    fn of(offer: &'a RewardOffer) -> StoreResult<Self> {
        Ok(Self {
            offer_id: offer.id,
            kind: offer.kind.as_str(),
            issuer_id: offer.issuer_id,
            title: &offer.title,
            description: &offer.description,
            point_cost: to_int(offer.point_cost, "point cost")?,
            area: offer.area.codes(),
            valid_from_ms: offer.valid_from_ms,
            valid_until_ms: offer.valid_until_ms,
            total_quantity: offer
                .total_quantity
                .map(|total| to_int(total, "total quantity"))
                .transpose()?,
            remaining: offer
                .remaining
                .map(|remaining| to_int(remaining, "remaining"))
                .transpose()?,
            limit_count: offer
                .per_person_limit
                .map(|limit| to_int(limit.count, "limit count"))
                .transpose()?,
            limit_per: offer.per_person_limit.map(|limit| limit.per.as_str()),
            voucher_lifetime_seconds: to_int(offer.voucher_lifetime_seconds, "voucher lifetime")?,
            status: offer.status.as_str(),
            created_at_ms: offer.created_at_ms,
            updated_at_ms: offer.updated_at_ms,
            version: to_bigint(offer.version, "offer version")?,
        })
    }
}

impl TryFrom<OfferRow> for RewardOffer {
    type Error = StoreError;

    fn try_from(row: OfferRow) -> StoreResult<Self> {
        let kind = OfferKind::from_text(&row.kind)
            .ok_or_else(|| corrupt("offer kind", format!("unknown kind {:?}", row.kind)))?;
        let per_person_limit = match (row.limit_count, row.limit_per) {
            (Some(count), Some(per)) => Some(PerPersonLimit {
                count: from_int(count, "limit count")?,
                per: LimitPeriod::from_text(&per)
                    .ok_or_else(|| corrupt("limit period", format!("unknown period {per:?}")))?,
            }),
            (None, None) => None,
            (Some(_), None) | (None, Some(_)) => {
                return Err(corrupt(
                    "per-person limit",
                    "count and period differ in presence",
                ));
            }
        };
        Ok(RewardOffer {
            id: row.offer_id,
            kind,
            issuer_id: row.issuer_id,
            title: row.title,
            description: row.description,
            point_cost: from_int(row.point_cost, "point cost")?,
            area: Area::from_stored(row.area.unwrap_or_default()),
            valid_from_ms: row.valid_from_ms,
            valid_until_ms: row.valid_until_ms,
            total_quantity: row
                .total_quantity
                .map(|total| from_int(total, "total quantity"))
                .transpose()?,
            remaining: row
                .remaining
                .map(|remaining| from_int(remaining, "remaining"))
                .transpose()?,
            per_person_limit,
            voucher_lifetime_seconds: from_int(row.voucher_lifetime_seconds, "voucher lifetime")?,
            status: status_from_text(&row.status)?,
            created_at_ms: row.created_at_ms,
            updated_at_ms: row.updated_at_ms,
            version: from_bigint(row.version, "offer version")?,
        })
    }
}

/// The area index rows of `offer`: (prefix, kind, end of validity, id).
fn area_rows(offer: &RewardOffer) -> BTreeSet<(String, &'static str, i64, Uuid)> {
    offer
        .area
        .prefixes()
        .into_iter()
        .map(|prefix| (prefix, offer.kind.as_str(), offer.valid_until_ms, offer.id))
        .collect()
}

impl ScyllaStore {
    /// `put_offer`: new rows, the conditional write, then the removal of the
    /// rows only `previous` had.
    pub(super) async fn write_offer(
        &self,
        offer: &RewardOffer,
        previous: Option<&RewardOffer>,
    ) -> StoreResult<bool> {
        let new_rows = area_rows(offer);
        try_join_all(new_rows.iter().map(|row| {
            self.execute(
                |connected| &connected.statements.catalog.insert_area_row,
                row.clone(),
            )
        }))
        .await?;
        let columns = OfferColumns::of(offer)?;
        let Some(previous) = previous else {
            let created = self
                .execute_conditional(
                    |connected| &connected.statements.catalog.insert_offer,
                    columns,
                    "offer create",
                )
                .await?;
            return Ok(created.applied);
        };
        self.replace_offer(offer, previous, columns).await
    }

    /// The replacement of `write_offer`. When it changes a counted stock, it
    /// holds the offer's stock-move row (see `stock`) around the write, so a
    /// stock move left behind is never mistaken for this replacement's (one
    /// that keeps `remaining` as it is cannot be mistaken for a move).
    async fn replace_offer(
        &self,
        offer: &RewardOffer,
        previous: &RewardOffer,
        columns: OfferColumns<'_>,
    ) -> StoreResult<bool> {
        let holder = match previous.remaining {
            Some(from) if offer.remaining != Some(from) => {
                let from = to_int(from, "remaining")?;
                let to = offer
                    .remaining
                    .map(|remaining| to_int(remaining, "remaining"))
                    .transpose()?
                    .unwrap_or(from);
                let op_id = Uuid::new_v4();
                let deadline = tokio::time::Instant::now() + ADMIN_STOCK_WAIT;
                self.hold_stock_row(offer.id, op_id, deadline).await?;
                if !self.plan_stock_move(offer.id, op_id, from, to).await? {
                    return Ok(false);
                }
                Some(op_id)
            }
            Some(_) | None => None,
        };
        let replacement = OfferReplacement {
            columns,
            expected_version: to_bigint(previous.version, "offer version")?,
            expected_remaining: previous
                .remaining
                .map(|remaining| to_int(remaining, "remaining"))
                .transpose()?,
        };
        let outcome = self
            .execute_conditional(
                |connected| &connected.statements.catalog.replace_offer,
                replacement,
                "offer replacement",
            )
            .await;
        if let Some(op_id) = holder {
            self.release_stock_row(offer.id, op_id).await?;
        }
        if !outcome?.applied {
            return Ok(false);
        }
        self.remove_area_rows_of(offer, previous).await?;
        Ok(true)
    }

    /// Removes the area rows `previous` had and `offer` has not.
    async fn remove_area_rows_of(
        &self,
        offer: &RewardOffer,
        previous: &RewardOffer,
    ) -> StoreResult<()> {
        let new_rows = area_rows(offer);
        let old_rows = area_rows(previous);
        try_join_all(old_rows.difference(&new_rows).map(|row| {
            self.execute(
                |connected| &connected.statements.catalog.delete_area_row,
                row.clone(),
            )
        }))
        .await?;
        Ok(())
    }

    /// `offers_in_area`: one read of the partition, then each row's offer.
    pub(super) async fn area_listings(
        &self,
        zip_prefix: &str,
        kind: OfferKind,
        ending_after_ms: i64,
        after: Option<AreaPosition>,
        limit: usize,
    ) -> StoreResult<Vec<AreaListing>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let start = AreaPosition::lower_bound(after, ending_after_ms);
        let result = self
            .execute(
                |connected| &connected.statements.catalog.select_area_rows,
                (
                    zip_prefix,
                    kind.as_str(),
                    start.valid_until_ms,
                    start.offer_id,
                    i32::try_from(limit).unwrap_or(i32::MAX),
                ),
            )
            .await?;
        let positions: Vec<AreaPosition> = rows::<(i64, Uuid)>(result, "area index row")?
            .into_iter()
            .map(|(valid_until_ms, offer_id)| AreaPosition {
                valid_until_ms,
                offer_id,
            })
            .collect();
        let offers = try_join_all(positions.iter().map(|position| {
            self.catalog_record::<OfferRow, RewardOffer>(
                |catalog| &catalog.select_offer,
                position.offer_id,
                "offer",
            )
        }))
        .await?;
        Ok(positions
            .into_iter()
            .zip(offers)
            .map(|(position, stored)| AreaListing::of_row(zip_prefix, kind, position, stored))
            .collect())
    }
}
