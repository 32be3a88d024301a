//! The OpenAPI descriptions of the catalog and issuer-key routes. Their handlers
//! are generic over the kind of entry, so each concrete route is described
//! here by a function that exists only to carry its description.
#![allow(
    dead_code,
    reason = "each function only carries its route's description"
)]

use super::issuer_key_routes::{CreatedKeyBody, KeyListBody, KeyView, NewKeyBody};
use super::openapi::ErrorBody;
use super::paging::PageQuery;
use crate::domain::catalog::{
    Charity, CharityDraft, Municipality, MunicipalityDraft, OfferDraft, Retailer, RetailerDraft,
    RewardOffer,
};

/// Describes the four routes of one catalog collection.
macro_rules! catalog_collection {
    ($module:ident, $collection:literal, $item:literal, $entry:ty, $draft:ty) => {
        pub(crate) mod $module {
            use super::*;

            /// Creates an entry.
            #[utoipa::path(post, path = $collection, tag = "catalog",
                request_body = $draft,
                responses(
                    (status = 201, description = "Created", body = $entry),
                    (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
                    (status = 403, description = "`forbidden`", body = ErrorBody),
                    (status = 409, description = "`conflict`", body = ErrorBody),
                    (status = 422, description = "`invalid_field` (the message names it), `issuer_not_found` or `issuer_suspended`", body = ErrorBody),
                ),
                security(("admin_token" = [])))]
            pub(crate) fn create() {}

            /// Lists entries, oldest first.
            #[utoipa::path(get, path = $collection, tag = "catalog",
                params(PageQuery),
                responses(
                    (status = 200, description = "A page of entries"),
                    (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
                    (status = 403, description = "`forbidden`", body = ErrorBody),
                ),
                security(("admin_token" = [])))]
            pub(crate) fn list() {}

            /// One entry.
            #[utoipa::path(get, path = $item, tag = "catalog",
                params(("id" = String, Path, description = "The entry")),
                responses(
                    (status = 200, description = "The entry", body = $entry),
                    (status = 404, description = "`not_found`", body = ErrorBody),
                ),
                security(("admin_token" = [])))]
            pub(crate) fn get() {}

            /// Replaces an entry.
            #[utoipa::path(put, path = $item, tag = "catalog",
                params(("id" = String, Path, description = "The entry")),
                request_body = $draft,
                responses(
                    (status = 200, description = "The entry after the change", body = $entry),
                    (status = 404, description = "`not_found`", body = ErrorBody),
                    (status = 422, description = "`invalid_field`", body = ErrorBody),
                ),
                security(("admin_token" = [])))]
            pub(crate) fn replace() {}
        }
    };
}

catalog_collection!(
    retailers,
    "/v1/admin/catalog/retailers",
    "/v1/admin/catalog/retailers/{id}",
    Retailer,
    RetailerDraft
);
catalog_collection!(
    municipalities,
    "/v1/admin/catalog/municipalities",
    "/v1/admin/catalog/municipalities/{id}",
    Municipality,
    MunicipalityDraft
);
catalog_collection!(
    offers,
    "/v1/admin/catalog/offers",
    "/v1/admin/catalog/offers/{id}",
    RewardOffer,
    OfferDraft
);
catalog_collection!(
    charities,
    "/v1/admin/catalog/charities",
    "/v1/admin/catalog/charities/{id}",
    Charity,
    CharityDraft
);

/// Describes the key routes of one kind of issuer.
macro_rules! issuer_keys {
    ($module:ident, $keys:literal, $revoke:literal) => {
        pub(crate) mod $module {
            use super::*;

            /// Issues a counter API key (shown once).
            #[utoipa::path(post, path = $keys, tag = "catalog",
                params(("id" = String, Path, description = "The issuer")),
                request_body = NewKeyBody,
                responses(
                    (status = 201, description = "The key, shown once", body = CreatedKeyBody),
                    (status = 404, description = "`not_found`", body = ErrorBody),
                ),
                security(("admin_token" = [])))]
            pub(crate) fn create() {}

            /// The issuer's keys (without their secrets).
            #[utoipa::path(get, path = $keys, tag = "catalog",
                params(("id" = String, Path, description = "The issuer")),
                responses(
                    (status = 200, description = "The keys", body = KeyListBody),
                    (status = 404, description = "`not_found`", body = ErrorBody),
                ),
                security(("admin_token" = [])))]
            pub(crate) fn list() {}

            /// Revokes a key: its till is refused from now on.
            #[utoipa::path(post, path = $revoke, tag = "catalog",
                params(
                    ("id" = String, Path, description = "The issuer"),
                    ("key_id" = String, Path, description = "The key"),
                ),
                responses(
                    (status = 200, description = "The revoked key", body = KeyView),
                    (status = 404, description = "`not_found`", body = ErrorBody),
                ),
                security(("admin_token" = [])))]
            pub(crate) fn revoke() {}
        }
    };
}

issuer_keys!(
    retailer_keys,
    "/v1/admin/catalog/retailers/{id}/keys",
    "/v1/admin/catalog/retailers/{id}/keys/{key_id}/revoke"
);
issuer_keys!(
    municipality_keys,
    "/v1/admin/catalog/municipalities/{id}/keys",
    "/v1/admin/catalog/municipalities/{id}/keys/{key_id}/revoke"
);

/// The WebSocket upgrade, described here because its messages are in the
/// AsyncAPI document.
#[utoipa::path(get, path = "/v1/ws", tag = "presence",
    responses(
        (status = 101, description = "Switching to the WebSocket protocol described by `/v1/asyncapi.json` (subprotocol `heyblue.v1.json` or `heyblue.v1.msgpack`; authenticate with this header or with `hello`)"),
        (status = 426, description = "`websocket_upgrade_required`", body = ErrorBody),
        (status = 401, description = "`invalid_token`", body = ErrorBody),
        (status = 429, description = "`too_many_connects` or `too_many_pending_sockets` (see `Retry-After`)", body = ErrorBody),
    ),
    security((), ("access_token" = [])))]
pub(crate) fn websocket() {}
