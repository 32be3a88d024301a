//! `/v1/rewards/*` for signed-in people: the offers and schemes available in a
//! ZIP, and the charities points can go to.

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppState;
use super::bearer::Caller;
use super::catalog_routes::{PageQuery, page_query, page_size};
use super::error::ApiError;
use super::openapi::ErrorBody;
use crate::domain::catalog::{Charity, OfferKind, PerPersonLimit};
use crate::rewards::BrowsedOffer;

/// Query of `GET /v1/rewards/offers`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct OffersQuery {
    /// The 5-digit ZIP the person is in.
    zip: String,
    /// Only offers or only schemes; both when absent.
    kind: Option<OfferKind>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
    /// Page size, 1 to `rewards::MAX_PAGE`.
    limit: Option<usize>,
}

/// `GET /v1/rewards/offers`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct OffersBody {
    /// Offers before schemes, each soonest-ending first.
    offers: Vec<OfferBody>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// An offer as a person sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct OfferBody {
    /// The offer id (what a redemption names).
    id: Uuid,
    /// `offer` or `scheme`.
    kind: OfferKind,
    /// Who gives it.
    issuer: IssuerBody,
    /// Title.
    title: String,
    /// Description.
    description: String,
    /// Points per voucher.
    point_cost: u32,
    /// Start of validity (Unix ms).
    valid_from_ms: i64,
    /// End of validity, exclusive (Unix ms).
    valid_until_ms: i64,
    /// Units left; null when unlimited.
    remaining: Option<u32>,
    /// Per-person limit; null when none.
    per_person_limit: Option<PerPersonLimit>,
    /// How long a voucher stays usable (seconds).
    voucher_lifetime_seconds: u32,
}

/// The retailer or municipality behind an offer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct IssuerBody {
    /// Its id.
    id: Uuid,
    /// Its name.
    name: String,
}

/// `GET /v1/rewards/charities`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct CharitiesBody {
    /// Active charities.
    charities: Vec<CharityBody>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// A charity as a person sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct CharityBody {
    /// The charity id (what a donation names).
    id: Uuid,
    /// Name.
    name: String,
    /// Employer Identification Number.
    ein: String,
    /// Description.
    description: String,
}

/// The offers and schemes a person in `zip` may redeem now.
#[utoipa::path(
    get,
    path = "/v1/rewards/offers",
    tag = "rewards",
    params(OffersQuery),
    responses(
        (status = 200, description = "Offers that can be redeemed now", body = OffersBody),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 400, description = "`invalid_query`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("access_token" = []))
)]
pub(crate) async fn offers(
    State(state): State<AppState>,
    _caller: Caller,
    query: Result<Query<OffersQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<OffersBody>, ApiError> {
    let Query(query) =
        query.map_err(|rejection| ApiError::bad_request("invalid_query", rejection.body_text()))?;
    let limit = page_size(query.limit)?;
    let page = state
        .catalog
        .browse_offers(&query.zip, query.kind, query.cursor.as_deref(), limit)
        .await?;
    Ok(Json(OffersBody {
        offers: page.offers.into_iter().map(OfferBody::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// The active charities.
#[utoipa::path(
    get,
    path = "/v1/rewards/charities",
    tag = "rewards",
    params(PageQuery),
    responses(
        (status = 200, description = "Charities that take donations", body = CharitiesBody),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 400, description = "`invalid_query`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("access_token" = []))
)]
pub(crate) async fn charities(
    State(state): State<AppState>,
    _caller: Caller,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<CharitiesBody>, ApiError> {
    let (cursor, limit) = page_query(query)?;
    let page = state
        .catalog
        .browse_charities(cursor.as_deref(), limit)
        .await?;
    Ok(Json(CharitiesBody {
        charities: page.items.into_iter().map(CharityBody::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

impl From<BrowsedOffer> for OfferBody {
    fn from(browsed: BrowsedOffer) -> Self {
        let BrowsedOffer { offer, issuer_name } = browsed;
        Self {
            id: offer.id,
            kind: offer.kind,
            issuer: IssuerBody {
                id: offer.issuer_id,
                name: issuer_name,
            },
            title: offer.title,
            description: offer.description,
            point_cost: offer.point_cost,
            valid_from_ms: offer.valid_from_ms,
            valid_until_ms: offer.valid_until_ms,
            remaining: offer.remaining,
            per_person_limit: offer.per_person_limit,
            voucher_lifetime_seconds: offer.voucher_lifetime_seconds,
        }
    }
}

impl From<Charity> for CharityBody {
    fn from(charity: Charity) -> Self {
        Self {
            id: charity.id,
            name: charity.name,
            ein: charity.ein,
            description: charity.description,
        }
    }
}
