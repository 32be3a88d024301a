//! The HTTP face of the server: the axum router, its shared state, the error
//! format, authentication extractors, the middleware every request passes
//! (span, metrics, time limit, body limit, panic guard, `nosniff` and `no-store`
//! headers), sign-in with OpenID Connect providers (`oidc_routes`), admin point adjustments, the rewards catalog (admin and browse),
//! redemptions and the caller's vouchers (JSON with signed tokens, and QR codes), the public keys
//! that verify voucher tokens, donations and their monthly statements, the
//! counter endpoints of retailers and municipalities, the admin console in
//! the browser (`console`, `/admin`), the WebSocket gateway
//! (`ws`, `GET /v1/ws`) and the metrics listener's router (`metrics_endpoint`).

mod account_admin_routes;
mod account_deletion_routes;
pub(crate) mod address_slots;
mod admin_routes;
pub(crate) use admin_routes::RosterDepartures;
pub(crate) use export_routes::{EXPORT_LIMITER_KEYS, EXPORTS_PER_HOUR};
mod auth_routes;
mod bearer;
mod catalog_routes;
mod client_address;
mod cluster_routes;
mod connection_routes;
pub(crate) mod console;
mod counter_routes;
mod device_routes;
mod donation_routes;
mod error;
mod export_routes;
mod headers;
pub(crate) mod https;
mod issuer_key_routes;
mod json_body;
pub(crate) mod metrics_endpoint;
mod middleware;
mod oidc_routes;
pub(crate) mod openapi;
mod openapi_catalog;
mod ops_routes;
mod outbox_routes;
mod paging;
mod points_admin_routes;
mod profile_routes;
mod report_routes;
mod rewards_routes;
mod route_routes;
mod statement_routes;
mod voucher_key_routes;
mod voucher_qr_routes;
mod voucher_routes;
pub(crate) mod ws;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, patch, post};
use tokio_util::sync::CancellationToken;

pub(crate) use bearer::{AdminToken, bearer_token};

use crate::clock::Clock;
use crate::config::Config;
use crate::connections::Connections;
use crate::domain::catalog::{Charity, Municipality, Retailer, RewardOffer};
use crate::domain::phone::PhoneRegions;
use crate::identity::IdentityService;
use crate::presence::hub::SessionHub;
use crate::rewards::signing::VoucherSigner;
use crate::rewards::{Catalog, CatalogEntry, Donations, Redemptions, Statements};
use crate::runtime::PresenceRuntime;
use crate::store::Store;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    /// The validated configuration.
    pub(crate) config: Arc<Config>,
    /// The storage backend.
    pub(crate) store: Arc<dyn Store>,
    /// Sign-in and profiles.
    pub(crate) identity: Arc<IdentityService>,
    /// Connections, points and trophies.
    pub(crate) connections: Connections,
    /// The rewards catalog.
    pub(crate) catalog: Catalog,
    /// Redemptions and vouchers.
    pub(crate) redemptions: Redemptions,
    /// Donations to charities.
    pub(crate) donations: Donations,
    /// Monthly pledge statements.
    pub(crate) statements: Statements,
    /// Signs voucher tokens and publishes the keys that verify them.
    pub(crate) voucher_signer: VoucherSigner,
    /// Binds WebSockets to sessions.
    pub(crate) hub: Arc<dyn SessionHub>,
    /// The presence actors (route answers, sign-outs).
    pub(crate) presence: PresenceRuntime,
    /// The WebSocket URL `/v1/route` hands out for this node.
    pub(crate) ws_url: Arc<str>,
    /// The admin bearer token.
    pub(crate) admin_token: AdminToken,
    /// The read-only analyst key, which reads reports only (none when not
    /// configured).
    pub(crate) analyst_token: Option<AdminToken>,
    /// Time source.
    pub(crate) clock: Clock,
    /// Region for national-format phone numbers (roster imports).
    pub(crate) phone_regions: PhoneRegions,
    /// Open WebSocket tasks and their shutdown signal, so `serve()` can close them.
    pub(crate) sockets: ws::SocketTasks,
    /// Per-account budgets of WebSocket sockets, control messages and refused frames.
    pub(crate) account_budgets: std::sync::Arc<ws::AccountBudgets>,
    /// Sockets waiting for `hello`, per client address.
    pub(crate) pending_sockets: std::sync::Arc<address_slots::AddressSlots>,
    /// The audit log of admin actions.
    pub(crate) audit: crate::audit::AuditLog,
    /// Cancelled to drain and stop the node (`POST /v1/admin/drain`).
    pub(crate) stop_requested: CancellationToken,
    /// The admin console's sessions and login limiter.
    pub(crate) console: Arc<console::ConsoleSessions>,
    /// `GET /v1/me/export` calls per account per hour.
    pub(crate) exports:
        std::sync::Arc<crate::identity::window_limiter::WindowLimiter<crate::domain::AccountId>>,
    /// Sign-in with OpenID Connect providers.
    pub(crate) oidc: Arc<crate::oidc::OidcService>,
}

/// The whole HTTP API.
pub(crate) fn router(state: AppState) -> Router {
    let max_body_bytes = state.config.http.max_body_bytes;
    let request_timeout = Duration::from_secs(state.config.http.request_timeout_seconds);
    // Tokens and personal data: never stored by caches.
    let private = Router::new()
        .route("/v1/auth/otp/request", post(auth_routes::request_code))
        .route("/v1/auth/otp/verify", post(auth_routes::verify_code))
        .route("/v1/auth/refresh", post(auth_routes::refresh))
        .route("/v1/auth/logout", post(auth_routes::logout))
        .route("/v1/auth/logout_all", post(auth_routes::logout_everywhere))
        .route("/v1/auth/oidc/providers", get(oidc_routes::providers))
        .route("/v1/auth/oidc/{provider}/start", get(oidc_routes::start))
        .route(
            "/v1/auth/oidc/{provider}/callback",
            post(oidc_routes::callback),
        )
        .route(
            "/v1/me/profile",
            get(profile_routes::get_profile).patch(profile_routes::patch_profile),
        )
        .route("/v1/me/events", get(profile_routes::list_events))
        .route("/v1/me/points", get(connection_routes::points))
        .route("/v1/me/connections", get(connection_routes::connections))
        .route("/v1/me/trophies", get(connection_routes::trophies))
        .route("/v1/me/export", get(export_routes::export))
        .route("/v1/me", delete(account_deletion_routes::delete_me))
        .route("/v1/me/devices", post(device_routes::register))
        .route("/v1/me/devices/{device_id}", delete(device_routes::remove))
        // Its answer names the caller's ZIP, derived from where they are.
        .route("/v1/route", get(route_routes::route))
        .route("/v1/rewards/redemptions", post(voucher_routes::redeem))
        .route("/v1/me/vouchers", get(voucher_routes::list))
        .route("/v1/me/vouchers/{id}", get(voucher_routes::get))
        .route("/v1/me/vouchers/{id}/cancel", post(voucher_routes::cancel))
        .route("/v1/rewards/donations", post(donation_routes::donate))
        .route("/v1/me/vouchers/{id}/qr.svg", get(voucher_qr_routes::svg))
        .route("/v1/me/vouchers/{id}/qr.png", get(voucher_qr_routes::png))
        .layer(headers::no_store());
    let api = Router::new()
        .merge(private)
        .route("/v1/rewards/offers", get(rewards_routes::offers))
        .route("/v1/rewards/charities", get(rewards_routes::charities))
        .route("/v1/rewards/keys", get(voucher_key_routes::keys))
        .route("/v1/retailer/vouchers/verify", post(counter_routes::verify))
        .route("/v1/retailer/vouchers/redeem", post(counter_routes::redeem))
        .route("/v1/ws", get(ws::upgrade))
        .layer(DefaultBodyLimit::max(max_body_bytes));
    let admin = Router::new()
        .route("/v1/admin/imports", get(admin_routes::list_imports))
        .route(
            "/v1/admin/import/{kind}/schema",
            get(admin_routes::import_schema),
        )
        .route("/v1/admin/imports/{id}", get(admin_routes::get_import))
        .route("/v1/admin/cluster", get(cluster_routes::cluster))
        .route("/v1/admin/drain", post(cluster_routes::drain))
        .route(
            "/v1/admin/accounts/lookup",
            post(account_admin_routes::lookup_account),
        )
        .route(
            "/v1/admin/accounts/{id}/disable",
            post(account_admin_routes::disable_account),
        )
        .route(
            "/v1/admin/accounts/{id}/enable",
            post(account_admin_routes::enable_account),
        )
        .route(
            "/v1/admin/accounts/{id}/sessions/revoke",
            post(account_admin_routes::revoke_sessions),
        )
        .route(
            "/v1/admin/accounts/{id}/points",
            post(points_admin_routes::adjust_points),
        )
        .route(
            "/v1/admin/roster/remove",
            post(account_admin_routes::remove_from_roster),
        )
        .route("/v1/admin/audit", get(account_admin_routes::audit_log))
        .route("/v1/admin/outbox", get(outbox_routes::list))
        .route(
            "/v1/admin/outbox/replay-dead",
            post(outbox_routes::replay_dead),
        )
        .route("/v1/admin/outbox/{id}/replay", post(outbox_routes::replay))
        .route(
            "/v1/admin/outbox/endpoints",
            post(outbox_routes::create_endpoint).get(outbox_routes::list_endpoints),
        )
        .route(
            "/v1/admin/outbox/endpoints/{id}/rotate",
            post(outbox_routes::rotate_endpoint),
        )
        .route(
            "/v1/admin/outbox/endpoints/{id}/replay-dead",
            post(outbox_routes::replay_dead_for_endpoint),
        )
        .route(
            "/v1/admin/outbox/endpoints/{id}",
            patch(outbox_routes::patch_endpoint),
        )
        .route(
            "/v1/admin/outbox/endpoints/{id}/enable",
            post(outbox_routes::enable_endpoint),
        )
        .route(
            "/v1/admin/outbox/endpoints/{id}/disable",
            post(outbox_routes::disable_endpoint),
        )
        .route("/v1/admin/reports/{metric}", get(report_routes::report_of))
        .route(
            "/v1/admin/rewards/statements",
            get(statement_routes::statement),
        )
        .route(
            "/v1/admin/rewards/statements/{month}/settle",
            post(statement_routes::settle),
        )
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(headers::no_store());
    // Import files stream to disk under their own limit (admin.max_import_bytes).
    let imports = Router::new()
        .route("/v1/admin/import/{kind}", post(admin_routes::import))
        .layer(DefaultBodyLimit::disable())
        .layer(headers::no_store());
    let catalog_admin = Router::new()
        .merge(catalog_admin_routes::<Retailer>("retailers"))
        .merge(catalog_admin_routes::<Municipality>("municipalities"))
        .merge(catalog_admin_routes::<RewardOffer>("offers"))
        .merge(catalog_admin_routes::<Charity>("charities"))
        .merge(issuer_key_routes::<Retailer>("retailers"))
        .merge(issuer_key_routes::<Municipality>("municipalities"))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(headers::no_store());
    let ops = Router::new()
        .route("/healthz", get(ops_routes::healthz))
        .route("/readyz", get(ops_routes::readyz))
        .route("/v1/version", get(ops_routes::version))
        .route("/v1/asyncapi.json", get(ops_routes::asyncapi))
        .route("/v1/openapi.json", get(ops_routes::openapi));
    Router::new()
        .merge(api)
        .merge(admin)
        .merge(imports)
        .merge(catalog_admin)
        .merge(ops)
        .merge(console::router(max_body_bytes))
        .fallback(middleware::not_found)
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            request_timeout,
            middleware::time_limit,
        ))
        .layer(axum::middleware::from_fn(middleware::record_metrics))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            middleware::panic_response,
        ))
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(middleware::request_span)
                .on_request(())
                .on_response(middleware::log_response),
        )
        .layer(headers::nosniff())
        .with_state(state)
}

/// The admin routes of one kind of catalog entry under
/// `/v1/admin/catalog/{collection}`.
fn catalog_admin_routes<Entry: CatalogEntry>(collection: &str) -> Router<AppState> {
    Router::new()
        .route(
            &format!("/v1/admin/catalog/{collection}"),
            post(catalog_routes::create::<Entry>).get(catalog_routes::list::<Entry>),
        )
        .route(
            &format!("/v1/admin/catalog/{collection}/{{id}}"),
            get(catalog_routes::get::<Entry>).put(catalog_routes::replace::<Entry>),
        )
}

/// The API-key routes of one kind of issuer under
/// `/v1/admin/catalog/{collection}/{id}/keys`.
fn issuer_key_routes<Entry: issuer_key_routes::Issuer>(collection: &str) -> Router<AppState> {
    Router::new()
        .route(
            &format!("/v1/admin/catalog/{collection}/{{id}}/keys"),
            post(issuer_key_routes::create::<Entry>).get(issuer_key_routes::list::<Entry>),
        )
        .route(
            &format!("/v1/admin/catalog/{collection}/{{id}}/keys/{{key_id}}/revoke"),
            post(issuer_key_routes::revoke::<Entry>),
        )
}

#[cfg(test)]
mod tests;
