//! `GET /v1/me/export`: everything the server holds about the caller, in one
//! JSON document: the account (with the phone, unsealed for its owner), the
//! profile and every event of it, the ledger with the balance, connections
//! (place as a ZIP at most), trophies, vouchers and push devices (with their
//! tokens), and the linked sign-in identities (with their emails). Donations are the ledger
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
use super::openapi::ErrorBody;
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
#[derive(Debug, Serialize, utoipa::ToSchema)]
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
    /// Every registered push device, with its token.
    devices: Vec<super::device_routes::ExportedDevice>,
    /// Every provider identity that signs in to the account.
    sign_in_identities: Vec<IdentityBody>,
}

/// A linked provider identity as its owner sees it (the subject is kept
/// only hashed, so it cannot be shown).
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct IdentityBody {
    /// The configured provider (`identity.oidc.id`).
    provider: String,
    /// The email the provider gave, unsealed for its owner.
    email: Option<String>,
    linked_at_ms: i64,
}

/// The account record as its owner sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
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
#[utoipa::path(
    get,
    path = "/v1/me/export",
    tag = "me",
    responses(
        (status = 200, description = "Everything the server keeps about the caller", body = ExportBody),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 429, description = "`rate_limited` (see `Retry-After`)", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("access_token" = []))
)]
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
    let state = &state;

    let profile = state.identity.profiles().get(account_id).await.ok();
    let profile_events = read_all(
        |before| async move {
            Ok(state
                .identity
                .profiles()
                .events(account_id, before, PAGE)
                .await?)
        },
        |event: &ProfileEvent| (event.seq > 1).then_some(event.seq),
        &mut complete,
    )
    .await?;
    // The balance as read before the ledger: entries written meanwhile show
    // in the ledger, never the other way round.
    let balance = state.store.balance(account_id).await?;
    let ledger = read_all(
        |before| async move {
            let (_balance, entries) = state.connections.points(account_id, before, PAGE).await?;
            Ok(entries)
        },
        |entry| (entry.seq > 1).then_some(entry.seq),
        &mut complete,
    )
    .await?
    .into_iter()
    .map(LedgerEntryBody::from)
    .collect();
    let connections = read_all(
        |before| async move {
            Ok(state
                .connections
                .connections(account_id, before, PAGE)
                .await?)
        },
        |last| {
            Some(ConnectionCursor {
                established_at_ms: last.established_at_ms,
                connection_id: last.connection_id,
            })
        },
        &mut complete,
    )
    .await?
    .iter()
    .filter_map(|record| ConnectionBody::of(record, account_id))
    .collect();
    let trophies = state
        .connections
        .trophies(account_id)
        .await?
        .into_iter()
        .map(TrophyBody::from)
        .collect();
    let vouchers = read_all(
        |before| async move { Ok(state.redemptions.vouchers(account_id, before, PAGE).await?) },
        |last| {
            Some(VoucherCursor {
                issued_at_ms: last.issued_at_ms,
                voucher_id: last.voucher_id,
            })
        },
        &mut complete,
    )
    .await?
    .into_iter()
    .map(|voucher| VoucherBody::new(state, voucher))
    .collect();
    let devices = super::device_routes::devices_for_export(&*state.store, account_id).await?;
    let sign_in_identities = state
        .store
        .oidc_identities_of(account_id)
        .await?
        .into_iter()
        .map(|identity| IdentityBody {
            provider: identity.provider_id,
            email: state.identity.keys().open_email(&identity.email_sealed),
            linked_at_ms: identity.linked_at_ms,
        })
        .collect();

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
        balance,
        ledger,
        connections,
        trophies,
        vouchers,
        devices,
        sign_in_identities,
    }))
}

/// Every item of a list read newest first, page by page: `read_page` reads
/// the page before a cursor, `cursor_after` makes the cursor past an item
/// (`None` when nothing is older). Stops at [`MAX_ITEMS`], clearing
/// `complete`.
async fn read_all<T, C, Page>(
    read_page: impl Fn(Option<C>) -> Page,
    cursor_after: impl Fn(&T) -> Option<C>,
    complete: &mut bool,
) -> Result<Vec<T>, ApiError>
where
    Page: std::future::Future<Output = Result<Vec<T>, ApiError>>,
{
    let mut items = Vec::new();
    let mut cursor = None;
    loop {
        let page = read_page(cursor.take()).await?;
        let full = page.len() == PAGE;
        let next = page.last().and_then(&cursor_after);
        items.extend(page);
        match next {
            Some(next) if full => cursor = Some(next),
            Some(_) | None => return Ok(items),
        }
        if items.len() >= MAX_ITEMS {
            *complete = false;
            return Ok(items);
        }
    }
}
