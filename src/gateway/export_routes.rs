//! `GET /v1/me/export`: everything the server holds about the caller, in one
//! JSON document: the account (with the phone, unsealed for its owner), the
//! profile and every event of it, the ledger with the balance, connections
//! (place as a ZIP at most), trophies and vouchers. Donations are the ledger
//! entries of reason `donation`. Costly, so limited per account per hour;
//! each list is read page by page and capped, with `complete` saying whether
//! anything was left out.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::AppState;
use super::bearer::Caller;
use super::connection_routes::{ConnectionBody, LedgerEntryBody, TrophyBody};
use super::error::ApiError;
use super::profile_routes::ProfileBody;
use super::voucher_routes::VoucherBody;
use crate::domain::AccountId;
use crate::domain::profile::ProfileEvent;
use crate::store::{ConnectionCursor, VoucherCursor};

/// Exports one account may ask for per hour.
pub(crate) const EXPORTS_PER_HOUR: u32 = 3;
/// Accounts the export limiter tracks at once.
pub(crate) const EXPORT_LIMITER_KEYS: usize = 100_000;
/// Items of one list read per store call.
const PAGE: usize = 100;
/// Items of one list exported at most.
const MAX_ITEMS: usize = 100_000;

/// The whole export.
#[derive(Debug, Serialize)]
pub(crate) struct ExportBody {
    /// When it was made (Unix ms).
    exported_at_ms: i64,
    /// False when a list reached its cap of 100,000 items.
    complete: bool,
    /// The account.
    account: AccountBody,
    /// The profile as shown.
    profile: Option<ProfileBody>,
    /// Every profile event, newest first.
    profile_events: Vec<ProfileEvent>,
    /// The balance (the sum of every ledger entry).
    balance: i64,
    /// Every ledger entry, newest first.
    ledger: Vec<LedgerEntryBody>,
    /// Every connection, newest first.
    connections: Vec<ConnectionBody>,
    /// Every trophy, oldest first.
    trophies: Vec<TrophyBody>,
    /// Every voucher, newest first.
    vouchers: Vec<VoucherBody>,
}

/// The account record as its owner sees it.
#[derive(Debug, Serialize)]
struct AccountBody {
    account_id: AccountId,
    /// The phone that signs in (E.164).
    phone: Option<String>,
    role: crate::domain::Role,
    created_at_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    disabled_at_ms: Option<i64>,
}

/// Everything held about the caller.
pub(crate) async fn export(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<ExportBody>, ApiError> {
    let now_ms = state.clock.now_ms();
    state
        .exports
        .try_count(caller.account_id, now_ms)
        .map_err(|retry_after| {
            ApiError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("at most {EXPORTS_PER_HOUR} exports an hour"),
            )
            .retry_after(retry_after)
        })?;
    let account_id = caller.account_id;
    let account = state.store.account(account_id).await?.ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "not_found",
            "no such account",
        )
    })?;
    let mut complete = true;

    let profile = state.identity.profiles().get(account_id).await.ok();
    let mut profile_events = Vec::new();
    let mut before = None;
    loop {
        let page = state
            .identity
            .profiles()
            .events(account_id, before, PAGE)
            .await?;
        before = page.last().map(|event| event.seq).filter(|seq| *seq > 1);
        let full = page.len() == PAGE;
        profile_events.extend(page);
        if !full || before.is_none() {
            break;
        }
        if profile_events.len() >= MAX_ITEMS {
            complete = false;
            break;
        }
    }

    let mut ledger = Vec::new();
    // The balance as of the first page, the newest entries.
    let mut balance = None;
    let mut before = None;
    loop {
        let (current, page) = state.connections.points(account_id, before, PAGE).await?;
        balance.get_or_insert(current);
        before = page.last().map(|entry| entry.seq).filter(|seq| *seq > 1);
        let full = page.len() == PAGE;
        ledger.extend(page.into_iter().map(LedgerEntryBody::from));
        if !full || before.is_none() {
            break;
        }
        if ledger.len() >= MAX_ITEMS {
            complete = false;
            break;
        }
    }

    let mut connections = Vec::new();
    let mut cursor = None;
    loop {
        let page = state
            .connections
            .connections(account_id, cursor, PAGE)
            .await?;
        cursor = page.last().map(|last| ConnectionCursor {
            established_at_ms: last.established_at_ms,
            connection_id: last.connection_id,
        });
        let full = page.len() == PAGE;
        connections.extend(
            page.iter()
                .filter_map(|record| ConnectionBody::of(record, account_id)),
        );
        if !full {
            break;
        }
        if connections.len() >= MAX_ITEMS {
            complete = false;
            break;
        }
    }

    let trophies = state
        .connections
        .trophies(account_id)
        .await?
        .into_iter()
        .map(TrophyBody::from)
        .collect();

    let mut vouchers = Vec::new();
    let mut cursor = None;
    loop {
        let page = state.redemptions.vouchers(account_id, cursor, PAGE).await?;
        cursor = page.last().map(|last| VoucherCursor {
            issued_at_ms: last.issued_at_ms,
            voucher_id: last.voucher_id,
        });
        let full = page.len() == PAGE;
        vouchers.extend(
            page.into_iter()
                .map(|voucher| VoucherBody::new(&state, voucher)),
        );
        if !full {
            break;
        }
        if vouchers.len() >= MAX_ITEMS {
            complete = false;
            break;
        }
    }

    Ok(Json(ExportBody {
        exported_at_ms: now_ms,
        complete,
        account: AccountBody {
            account_id,
            phone: state.identity.keys().open_phone(&account.phone_sealed),
            role: account.role,
            created_at_ms: account.created_at_ms,
            disabled_at_ms: account.disabled_at_ms,
        },
        profile: profile.map(ProfileBody::from),
        profile_events,
        balance: balance.unwrap_or_default(),
        ledger,
        connections,
        trophies,
        vouchers,
    }))
}
