//! Admin control of accounts, behind the admin token: look an account up by
//! phone, disable and enable it, revoke its sign-ins, take an officer off the
//! roster, and read the audit log every one of these actions is written to.
//! Revoking closes the account's sockets (4011) on whichever node holds them,
//! and ends an officer's availability.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppState;
use super::bearer::Admin;
use super::client_address::ClientAddress;
use super::error::ApiError;
use super::json_body::ApiJson;
use super::openapi::ErrorBody;
use super::paging::{PageQuery, page, parse_time_cursor, time_cursor};
use crate::audit::AuditAction;
use crate::domain::AccountId;
use crate::identity::{AccountSummary, IdentityError, RosterRemoval};
use crate::store::{AuditCursor, AuditEntry};

/// Body of the endpoints that name a person by phone.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PhoneBody {
    /// The phone number, E.164 or national.
    phone: String,
}

/// Answer of disable, enable and revoke.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct AccountActionBody {
    /// The account acted on.
    account_id: AccountId,
    /// Whether it may sign in now (`active`, `disabled`).
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
    /// Sign-ins revoked by this call.
    #[serde(skip_serializing_if = "Option::is_none")]
    revoked_sign_ins: Option<u32>,
}

/// `GET /v1/admin/audit`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct AuditPageBody {
    /// Entries, newest first.
    entries: Vec<AuditEntry>,
    /// Pass as `before` for the next page; absent on the last one.
    next_before: Option<String>,
}

/// `POST /v1/admin/accounts/lookup`.
#[utoipa::path(
    post,
    path = "/v1/admin/accounts/lookup",
    tag = "admin",
    request_body = PhoneBody,
    responses(
        (status = 200, description = "The account of a phone", body = crate::identity::AccountSummary),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the admin token", body = ErrorBody),
        (status = 400, description = "`malformed_json` or `invalid_body`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/json`", body = ErrorBody),
        (status = 422, description = "`missing_field`, `unknown_field`, `invalid_type` or `invalid_field`; `invalid_phone`", body = ErrorBody),
        (status = 404, description = "`account_not_found`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub(crate) async fn lookup_account(
    State(state): State<AppState>,
    _admin: Admin,
    ClientAddress(client): ClientAddress,
    ApiJson(body): ApiJson<PhoneBody>,
) -> Result<Json<AccountSummary>, ApiError> {
    let found = state.identity.find_account(&body.phone).await;
    let (target, detail) = match &found {
        Ok(summary) => (Some(summary.account_id), "found"),
        Err(IdentityError::AccountNotFound) => (None, "no account"),
        Err(_) => return Err(found.unwrap_err().into()),
    };
    state
        .audit
        .record(client, AuditAction::AccountLookup, target, detail)
        .await?;
    Ok(Json(found?))
}

/// `POST /v1/admin/accounts/{id}/disable`: sign-ins revoked, sockets closed,
/// sign-in refused with `account_disabled`; points and history kept.
#[utoipa::path(
    post,
    path = "/v1/admin/accounts/{id}/disable",
    tag = "admin",
    params(("id" = uuid::Uuid, Path, description = "The account")),
    responses(
        (status = 200, description = "Disabled: sign-ins revoked, sockets closed, points kept", body = AccountActionBody),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the admin token", body = ErrorBody),
        (status = 404, description = "`account_not_found` (also for an id that is not a UUID)", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub(crate) async fn disable_account(
    State(state): State<AppState>,
    _admin: Admin,
    ClientAddress(client): ClientAddress,
    id: Result<Path<Uuid>, PathRejection>,
) -> Result<Json<AccountActionBody>, ApiError> {
    let account_id = account_in_path(id)?;
    let revoked = state.identity.disable_account(account_id).await?;
    let revoked = close_and_audit(
        &state,
        client,
        AuditAction::AccountDisabled,
        account_id,
        revoked,
    )
    .await?;
    Ok(Json(AccountActionBody {
        account_id,
        status: Some("disabled"),
        revoked_sign_ins: Some(revoked),
    }))
}

/// `POST /v1/admin/accounts/{id}/enable`.
#[utoipa::path(
    post,
    path = "/v1/admin/accounts/{id}/enable",
    tag = "admin",
    params(("id" = uuid::Uuid, Path, description = "The account")),
    responses(
        (status = 200, description = "Enabled again", body = AccountActionBody),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the admin token", body = ErrorBody),
        (status = 404, description = "`account_not_found` (also for an id that is not a UUID)", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub(crate) async fn enable_account(
    State(state): State<AppState>,
    _admin: Admin,
    ClientAddress(client): ClientAddress,
    id: Result<Path<Uuid>, PathRejection>,
) -> Result<Json<AccountActionBody>, ApiError> {
    let account_id = account_in_path(id)?;
    state.identity.enable_account(account_id).await?;
    state
        .audit
        .record(
            client,
            AuditAction::AccountEnabled,
            Some(account_id),
            "enabled",
        )
        .await?;
    Ok(Json(AccountActionBody {
        account_id,
        status: Some("active"),
        revoked_sign_ins: None,
    }))
}

/// `POST /v1/admin/accounts/{id}/sessions/revoke`: every sign-in revoked,
/// every socket closed; the account may sign in again.
#[utoipa::path(
    post,
    path = "/v1/admin/accounts/{id}/sessions/revoke",
    tag = "admin",
    params(("id" = uuid::Uuid, Path, description = "The account")),
    responses(
        (status = 200, description = "Every sign-in revoked and socket closed", body = AccountActionBody),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the admin token", body = ErrorBody),
        (status = 404, description = "`account_not_found` (also for an id that is not a UUID)", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub(crate) async fn revoke_sessions(
    State(state): State<AppState>,
    _admin: Admin,
    ClientAddress(client): ClientAddress,
    id: Result<Path<Uuid>, PathRejection>,
) -> Result<Json<AccountActionBody>, ApiError> {
    let account_id = account_in_path(id)?;
    let revoked = state.identity.revoke_account_sign_ins(account_id).await?;
    let revoked = close_and_audit(
        &state,
        client,
        AuditAction::SessionsRevoked,
        account_id,
        revoked,
    )
    .await?;
    Ok(Json(AccountActionBody {
        account_id,
        status: None,
        revoked_sign_ins: Some(revoked),
    }))
}

/// `POST /v1/admin/roster/remove`: the officer's sockets close (4011), an open
/// availability window ends, and the next sign-in is a citizen's.
#[utoipa::path(
    post,
    path = "/v1/admin/roster/remove",
    tag = "admin",
    request_body = PhoneBody,
    responses(
        (status = 200, description = "Off the roster: the officer is a citizen from now on", body = crate::identity::RosterRemoval),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the admin token", body = ErrorBody),
        (status = 400, description = "`malformed_json` or `invalid_body`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/json`", body = ErrorBody),
        (status = 422, description = "`missing_field`, `unknown_field`, `invalid_type` or `invalid_field`; `invalid_phone`", body = ErrorBody),
        (status = 404, description = "`not_on_roster`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub(crate) async fn remove_from_roster(
    State(state): State<AppState>,
    _admin: Admin,
    ClientAddress(client): ClientAddress,
    ApiJson(body): ApiJson<PhoneBody>,
) -> Result<Json<RosterRemoval>, ApiError> {
    let removal = state.identity.remove_officer(&body.phone).await?;
    if let Some(account_id) = removal.account_id {
        state.presence.revoke(account_id, None);
    }
    state
        .audit
        .record(
            client,
            AuditAction::RosterRemoved,
            removal.account_id,
            format!("{} sign-in(s) revoked", removal.revoked_sign_ins),
        )
        .await?;
    Ok(Json(removal))
}

/// `GET /v1/admin/audit?before=&limit=`: the audit log, newest first.
#[utoipa::path(
    get,
    path = "/v1/admin/audit",
    tag = "admin",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of the audit log, newest first", body = AuditPageBody),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the admin token", body = ErrorBody),
        (status = 400, description = "`invalid_query`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub(crate) async fn audit_log(
    State(state): State<AppState>,
    _admin: Admin,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<AuditPageBody>, ApiError> {
    let (before, limit) = page(query)?;
    let before = before
        .map(|text| {
            parse_time_cursor(&text).map(|(at_ms, entry_id)| AuditCursor { at_ms, entry_id })
        })
        .transpose()?;
    let entries = state.audit.page(before, limit).await?;
    let next_before = (entries.len() == limit)
        .then(|| entries.last())
        .flatten()
        .map(|last| time_cursor(last.at_ms, last.entry_id));
    Ok(Json(AuditPageBody {
        entries,
        next_before,
    }))
}

/// After `action` revoked `revoked` sign-ins of `account_id` in the store:
/// closes the account's sockets wherever they are and audits the action.
async fn close_and_audit(
    state: &AppState,
    client: std::net::IpAddr,
    action: AuditAction,
    account_id: AccountId,
    revoked: u32,
) -> Result<u32, ApiError> {
    state.presence.revoke(account_id, None);
    state
        .audit
        .record(
            client,
            action,
            Some(account_id),
            format!("{revoked} sign-in(s) revoked"),
        )
        .await?;
    Ok(revoked)
}

/// The account id of the path; anything else is an unknown account.
pub(super) fn account_in_path(
    id: Result<Path<Uuid>, PathRejection>,
) -> Result<AccountId, ApiError> {
    let Path(id) = id.map_err(|_| {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "account_not_found",
            "no such account",
        )
    })?;
    Ok(AccountId(id))
}
