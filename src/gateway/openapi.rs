//! The HTTP API as an OpenAPI 3.1 document, built from the handlers' own
//! descriptions (`#[utoipa::path]` beside each handler; the generic catalog
//! handlers are described in `openapi_catalog`) and from the types they read
//! and write. `GET /v1/openapi.json` serves it, `heyblue contract openapi`
//! prints it, and `docs/openapi.json` is the committed copy: a test fails when
//! it is stale, and another when a route of the router is not in it.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use super::openapi_catalog::{
    self, charities, municipalities, municipality_keys, offers, retailer_keys, retailers,
};
use super::{
    account_admin_routes, account_deletion_routes, admin_routes, auth_routes, cluster_routes,
    connection_routes, counter_routes, device_routes, donation_routes, export_routes, oidc_routes,
    ops_routes, outbox_routes, points_admin_routes, profile_routes, report_routes, rewards_routes,
    route_routes, statement_routes, voucher_key_routes, voucher_qr_routes, voucher_routes,
};

/// Every error answer: a stable `code` to branch on and a human `message`.
#[derive(Debug, ToSchema)]
#[allow(dead_code, reason = "describes the error body that ApiError writes")]
pub(crate) struct ErrorBody {
    /// The error.
    error: ErrorDetail,
}

/// The `error` object of an error answer.
#[derive(Debug, ToSchema)]
#[allow(dead_code, reason = "describes the error body that ApiError writes")]
struct ErrorDetail {
    /// Stable, snake_case: clients branch on it.
    code: String,
    /// For people; may change between versions.
    message: String,
}

/// The document's security schemes: four kinds of bearer token.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, document: &mut utoipa::openapi::OpenApi) {
        let components = document.components.get_or_insert_with(Default::default);
        for (name, description) in [
            (
                "access_token",
                "A person's access token, from sign-in or refresh.",
            ),
            (
                "admin_token",
                "The admin token (admin.token_env, or data_dir/admin.token).",
            ),
            (
                "analyst_token",
                "The read-only analyst key: reports only (admin.analyst_token_env).",
            ),
            (
                "issuer_key",
                "A retailer's or municipality's counter API key.",
            ),
        ] {
            let mut scheme = Http::new(HttpAuthScheme::Bearer);
            scheme.description = Some(description.to_owned());
            components.add_security_scheme(name, SecurityScheme::Http(scheme));
        }
    }
}

/// Every described route.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Hey Blue! HTTP API",
        version = "1",
        description = "Sign-in, profiles, points and rewards for the apps; the retailers' \
            counter; the admin API. Every error is `{\"error\":{\"code\",\"message\"}}` with \
            a stable `code`. The WebSocket protocol of `/v1/ws` is `/v1/asyncapi.json`; \
            docs/api.md explains limits and semantics in prose."
    ),
    paths(
        auth_routes::request_code,
        auth_routes::verify_code,
        auth_routes::refresh,
        auth_routes::logout,
        auth_routes::logout_everywhere,
        oidc_routes::providers,
        oidc_routes::start,
        oidc_routes::callback,
        profile_routes::get_profile,
        profile_routes::patch_profile,
        profile_routes::list_events,
        connection_routes::points,
        connection_routes::connections,
        connection_routes::trophies,
        export_routes::export,
        account_deletion_routes::delete_me,
        device_routes::register,
        device_routes::remove,
        route_routes::route,
        openapi_catalog::websocket,
        voucher_routes::redeem,
        voucher_routes::list,
        voucher_routes::get,
        voucher_routes::cancel,
        voucher_qr_routes::svg,
        voucher_qr_routes::png,
        donation_routes::donate,
        rewards_routes::offers,
        rewards_routes::charities,
        voucher_key_routes::keys,
        counter_routes::verify,
        counter_routes::redeem,
        ops_routes::healthz,
        ops_routes::readyz,
        ops_routes::version,
        ops_routes::asyncapi,
        ops_routes::openapi,
        account_admin_routes::lookup_account,
        account_admin_routes::disable_account,
        account_admin_routes::enable_account,
        account_admin_routes::revoke_sessions,
        account_admin_routes::remove_from_roster,
        account_admin_routes::audit_log,
        points_admin_routes::adjust_points,
        admin_routes::import,
        admin_routes::list_imports,
        admin_routes::get_import,
        admin_routes::import_schema,
        cluster_routes::cluster,
        cluster_routes::drain,
        outbox_routes::list,
        outbox_routes::replay,
        outbox_routes::replay_dead,
        outbox_routes::replay_dead_for_endpoint,
        outbox_routes::create_endpoint,
        outbox_routes::list_endpoints,
        outbox_routes::rotate_endpoint,
        outbox_routes::patch_endpoint,
        outbox_routes::enable_endpoint,
        outbox_routes::disable_endpoint,
        report_routes::report_of,
        statement_routes::statement,
        statement_routes::settle,
        retailers::create,
        retailers::list,
        retailers::get,
        retailers::replace,
        municipalities::create,
        municipalities::list,
        municipalities::get,
        municipalities::replace,
        offers::create,
        offers::list,
        offers::get,
        offers::replace,
        charities::create,
        charities::list,
        charities::get,
        charities::replace,
        retailer_keys::create,
        retailer_keys::list,
        retailer_keys::revoke,
        municipality_keys::create,
        municipality_keys::list,
        municipality_keys::revoke,
    ),
    components(schemas(
        ErrorBody,
        crate::import::ImportFormat,
        crate::reports::AreaBy,
        crate::reports::GroupBy,
        statement_routes::StatementFormatQuery,
    )),
    modifiers(&SecuritySchemes),
    tags(
        (name = "sign-in", description = "One-time codes, providers, tokens"),
        (name = "me", description = "The signed-in person's profile, points and data"),
        (name = "rewards", description = "Offers, vouchers, donations"),
        (name = "counter", description = "A retailer's or municipality's till"),
        (name = "presence", description = "Where and how to open the WebSocket"),
        (name = "admin", description = "Accounts, imports, outbox, cluster, statements"),
        (name = "catalog", description = "Retailers, municipalities, offers, charities and their keys"),
        (name = "reports", description = "Aggregates with disclosure control"),
        (name = "ops", description = "Health, version and the contract documents"),
    )
)]
pub(crate) struct ApiDocument;

/// The document as JSON.
pub(crate) fn openapi_document() -> serde_json::Value {
    serde_json::to_value(ApiDocument::openapi()).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
#[path = "openapi_tests.rs"]
mod tests;
