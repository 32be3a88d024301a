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
use super::paging::{PageQuery, page, parse_time_cursor, time_cursor};
use crate::audit::AuditAction;
use crate::domain::AccountId;
use crate::identity::{AccountSummary, IdentityError, RosterRemoval};
use crate::store::{AuditCursor, AuditEntry};

/// Body of the endpoints that name a person by phone.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PhoneBody {
    /// The phone number, E.164 or national.
    phone: String,
}

/// Answer of disable, enable and revoke.
#[derive(Debug, Serialize)]
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
#[derive(Debug, Serialize)]
pub(crate) struct AuditPageBody {
    /// Entries, newest first.
    entries: Vec<AuditEntry>,
    /// Pass as `before` for the next page; absent on the last one.
    next_before: Option<String>,
}

/// `POST /v1/admin/accounts/lookup`.
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
