//! The catalog's prepared statements: retailers, municipalities and charities
//! by id and in token-order pages, offers (conditional creates and
//! replacements) and the area index. Kept apart from `statements` so each file
//! holds one area of the schema.

use super::prepare::Preparer;
use scylla::client::session::Session;
use scylla::errors::PrepareError;
use scylla::statement::prepared::PreparedStatement;

/// Columns of `retailers`, in the order the writes bind them.
const RETAILER_COLUMNS: &str =
    "retailer_id, name, address, zip, contact, status, created_at_ms, updated_at_ms";
/// Columns of `municipalities`, in the order the writes bind them.
const MUNICIPALITY_COLUMNS: &str =
    "municipality_id, name, state, area, contact, status, created_at_ms, updated_at_ms";
/// Columns of `charities`, in the order the writes bind them.
const CHARITY_COLUMNS: &str =
    "charity_id, name, ein, description, status, created_at_ms, updated_at_ms";
/// Columns of `reward_offers`, in the order the writes bind them.
const OFFER_COLUMNS: &str = "offer_id, kind, issuer_id, title, description, point_cost, area, \
     valid_from_ms, valid_until_ms, total_quantity, remaining, limit_count, limit_per, \
     voucher_lifetime_seconds, status, created_at_ms, updated_at_ms, version";

/// A table's page reads: the first page, and the pages after an id (in token
/// order, the order a full-table read returns rows in).
#[derive(Debug)]
pub(super) struct PagedSelect {
    /// `SELECT ... LIMIT ?`.
    pub(super) first: PreparedStatement,
    /// `SELECT ... WHERE token(id) > token(?) LIMIT ?`.
    pub(super) after: PreparedStatement,
}

/// The catalog's statements, one field per query.
#[derive(Debug)]
pub(super) struct CatalogStatements {
    /// Writes a retailer by id.
    pub(super) upsert_retailer: PreparedStatement,
    /// Reads a retailer by id.
    pub(super) select_retailer: PreparedStatement,
    /// Pages of retailers.
    pub(super) retailer_pages: PagedSelect,
    /// Writes a municipality by id.
    pub(super) upsert_municipality: PreparedStatement,
    /// Reads a municipality by id.
    pub(super) select_municipality: PreparedStatement,
    /// Pages of municipalities.
    pub(super) municipality_pages: PagedSelect,
    /// Writes a charity by id.
    pub(super) upsert_charity: PreparedStatement,
    /// Reads a charity by id.
    pub(super) select_charity: PreparedStatement,
    /// Pages of charities.
    pub(super) charity_pages: PagedSelect,
    /// Creates an offer: `IF NOT EXISTS`.
    pub(super) insert_offer: PreparedStatement,
    /// Replaces an offer: `IF version = ? AND remaining = ?`.
    pub(super) replace_offer: PreparedStatement,
    /// Reads an offer by id.
    pub(super) select_offer: PreparedStatement,
    /// Pages of offers.
    pub(super) offer_pages: PagedSelect,
    /// Lists an offer under a prefix and kind.
    pub(super) insert_area_row: PreparedStatement,
    /// Removes an offer's row under a prefix and kind.
    pub(super) delete_area_row: PreparedStatement,
    /// Reads a prefix and kind's rows after a position.
    pub(super) select_area_rows: PreparedStatement,
}

impl CatalogStatements {
    /// Prepares every catalog statement on `session`.
    pub(super) async fn prepare(session: &Session) -> Result<Self, PrepareError> {
        let prepare = Preparer(session);
        let paged = |table: &'static str, key: &'static str, columns: &'static str| async move {
            Ok::<_, PrepareError>(PagedSelect {
                first: prepare
                    .idempotent(format!("SELECT {columns} FROM {table} LIMIT ?"))
                    .await?,
                after: prepare
                    .idempotent(format!(
                        "SELECT {columns} FROM {table} WHERE token({key}) > token(?) LIMIT ?"
                    ))
                    .await?,
            })
        };
        let markers = |columns: &str| vec!["?"; columns.split(',').count()].join(", ");
        Ok(Self {
            upsert_retailer: prepare.idempotent(format!(
                "INSERT INTO retailers ({RETAILER_COLUMNS}) VALUES ({})",
                markers(RETAILER_COLUMNS)
            ))
            .await?,
            select_retailer: prepare.idempotent(format!(
                "SELECT {RETAILER_COLUMNS} FROM retailers WHERE retailer_id = ?"
            ))
            .await?,
            retailer_pages: paged("retailers", "retailer_id", RETAILER_COLUMNS).await?,
            upsert_municipality: prepare.idempotent(format!(
                "INSERT INTO municipalities ({MUNICIPALITY_COLUMNS}) VALUES ({})",
                markers(MUNICIPALITY_COLUMNS)
            ))
            .await?,
            select_municipality: prepare.idempotent(format!(
                "SELECT {MUNICIPALITY_COLUMNS} FROM municipalities WHERE municipality_id = ?"
            ))
            .await?,
            municipality_pages: paged("municipalities", "municipality_id", MUNICIPALITY_COLUMNS)
                .await?,
            upsert_charity: prepare.idempotent(format!(
                "INSERT INTO charities ({CHARITY_COLUMNS}) VALUES ({})",
                markers(CHARITY_COLUMNS)
            ))
            .await?,
            select_charity: prepare.idempotent(format!(
                "SELECT {CHARITY_COLUMNS} FROM charities WHERE charity_id = ?"
            ))
            .await?,
            charity_pages: paged("charities", "charity_id", CHARITY_COLUMNS).await?,
            insert_offer: prepare.conditional(format!(
                "INSERT INTO reward_offers ({OFFER_COLUMNS}) VALUES ({}) IF NOT EXISTS",
                markers(OFFER_COLUMNS)
            ))
            .await?,
            // Named markers: `remaining` is both set and tested.
            replace_offer: prepare.conditional(
                "UPDATE reward_offers SET kind = :kind, issuer_id = :issuer_id, title = :title, \
                 description = :description, point_cost = :point_cost, area = :area, \
                 valid_from_ms = :valid_from_ms, valid_until_ms = :valid_until_ms, \
                 total_quantity = :total_quantity, remaining = :remaining, \
                 limit_count = :limit_count, limit_per = :limit_per, \
                 voucher_lifetime_seconds = :voucher_lifetime_seconds, status = :status, \
                 created_at_ms = :created_at_ms, updated_at_ms = :updated_at_ms, \
                 version = :version WHERE offer_id = :offer_id \
                 IF version = :expected_version AND remaining = :expected_remaining"
                    .to_owned(),
            )
            .await?,
            select_offer: prepare.idempotent(format!(
                "SELECT {OFFER_COLUMNS} FROM reward_offers WHERE offer_id = ?"
            ))
            .await?,
            offer_pages: paged("reward_offers", "offer_id", OFFER_COLUMNS).await?,
            insert_area_row: prepare.idempotent(
                "INSERT INTO reward_offers_by_area (zip_prefix, kind, valid_until_ms, offer_id) \
                 VALUES (?, ?, ?, ?)"
                    .to_owned(),
            )
            .await?,
            delete_area_row: prepare.idempotent(
                "DELETE FROM reward_offers_by_area WHERE zip_prefix = ? AND kind = ? \
                 AND valid_until_ms = ? AND offer_id = ?"
                    .to_owned(),
            )
            .await?,
            select_area_rows: prepare.idempotent(
                "SELECT valid_until_ms, offer_id FROM reward_offers_by_area \
                 WHERE zip_prefix = ? AND kind = ? AND (valid_until_ms, offer_id) > (?, ?) \
                 LIMIT ?"
                    .to_owned(),
            )
            .await?,
        })
    }
}
