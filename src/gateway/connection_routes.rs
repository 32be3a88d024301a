//! `/v1/me/points`, `/v1/me/connections` and `/v1/me/trophies`: the caller's
//! balance and ledger, established connections (both paged, newest first) and
//! trophies.

use axum::Json;
use axum::extract::{Query, State};
use serde::Serialize;
use uuid::Uuid;

use super::AppState;
use super::bearer::Caller;
use super::error::ApiError;
use super::openapi::ErrorBody;
use super::paging::{PageQuery, page, parse_time_cursor, time_cursor};
use crate::domain::connection::RewardWithheld;
use crate::store::{ConnectionCursor, ConnectionRecord, LedgerEntry, LedgerReason};

/// `GET /v1/me/points`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct PointsBody {
    /// The current balance (the sum of every entry).
    balance: i64,
    /// Ledger entries, newest first.
    entries: Vec<LedgerEntryBody>,
    /// Pass as `before` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_before: Option<String>,
}

/// One ledger entry as clients see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct LedgerEntryBody {
    /// Idempotency key of the entry.
    entry_id: Uuid,
    /// Position in the caller's ledger, from 1.
    seq: u64,
    /// When (Unix ms).
    at_ms: i64,
    /// The change.
    delta: i64,
    /// Why.
    reason: LedgerReason,
    /// The connection that earned it, for connection credits.
    #[serde(skip_serializing_if = "Option::is_none")]
    connection_id: Option<Uuid>,
    /// The voucher it paid for or gave back, for redemptions and refunds.
    #[serde(skip_serializing_if = "Option::is_none")]
    voucher_id: Option<Uuid>,
    /// The donation it paid, for donations.
    #[serde(skip_serializing_if = "Option::is_none")]
    donation_id: Option<Uuid>,
    /// Balance after this entry.
    balance_after: i64,
}

/// `GET /v1/me/connections`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ConnectionsBody {
    /// Newest first.
    connections: Vec<ConnectionBody>,
    /// Pass as `before` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_before: Option<String>,
}

/// One connection as one of its people sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ConnectionBody {
    /// The connection id.
    connection_id: Uuid,
    /// When it was established (Unix ms).
    established_at_ms: i64,
    /// The other person's role.
    peer_role: &'static str,
    /// `in_person` or `virtual`.
    mode: &'static str,
    /// Points the caller got for it.
    points: i64,
    /// Why none, when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    withheld: Option<RewardWithheld>,
    /// Where (ZIP), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    zip: Option<String>,
}

/// `GET /v1/me/trophies`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct TrophiesBody {
    /// Oldest first.
    trophies: Vec<TrophyBody>,
}

/// One trophy.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct TrophyBody {
    /// Stable id.
    trophy: &'static str,
    /// Title.
    title: &'static str,
    /// What it was awarded for.
    description: &'static str,
    /// When (Unix ms).
    awarded_at_ms: i64,
}

/// The caller's balance and a page of their ledger.
#[utoipa::path(
    get,
    path = "/v1/me/points",
    tag = "me",
    params(PageQuery),
    responses(
        (status = 200, description = "The balance and a page of the ledger, newest first", body = PointsBody),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 400, description = "`invalid_query`", body = ErrorBody),
        (status = 422, description = "`invalid_field` (`limit` or `before`)", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("access_token" = []))
)]
pub(crate) async fn points(
    State(state): State<AppState>,
    Caller(caller): Caller,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<PointsBody>, ApiError> {
    let (before, limit) = page(query)?;
    let before_seq = before
        .map(|text| {
            text.parse::<u64>()
                .map_err(|_| ApiError::unprocessable("invalid_field", "before: not a cursor"))
        })
        .transpose()?;
    let (balance, entries) = state
        .connections
        .points(caller.account_id, before_seq, limit)
        .await?;
    let next_before = (entries.len() == limit)
        .then(|| entries.last().map(|entry| entry.seq))
        .flatten()
        .filter(|seq| *seq > 1)
        .map(|seq| seq.to_string());
    Ok(Json(PointsBody {
        balance,
        entries: entries.into_iter().map(LedgerEntryBody::from).collect(),
        next_before,
    }))
}

/// A page of the caller's connections.
#[utoipa::path(
    get,
    path = "/v1/me/connections",
    tag = "me",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of connections, newest first", body = ConnectionsBody),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 400, description = "`invalid_query`", body = ErrorBody),
        (status = 422, description = "`invalid_field` (`limit` or `before`)", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("access_token" = []))
)]
pub(crate) async fn connections(
    State(state): State<AppState>,
    Caller(caller): Caller,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ConnectionsBody>, ApiError> {
    let (before, limit) = page(query)?;
    let cursor = before.map(|text| parse_cursor(&text)).transpose()?;
    let records = state
        .connections
        .connections(caller.account_id, cursor, limit)
        .await?;
    let next_before = (records.len() == limit)
        .then(|| records.last())
        .flatten()
        .map(|last| time_cursor(last.established_at_ms, last.connection_id));
    let connections = records
        .iter()
        .filter_map(|record| connection_body(record, caller.account_id))
        .collect();
    Ok(Json(ConnectionsBody {
        connections,
        next_before,
    }))
}

/// The caller's trophies.
#[utoipa::path(
    get,
    path = "/v1/me/trophies",
    tag = "me",
    responses(
        (status = 200, description = "Trophies, oldest first", body = TrophiesBody),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("access_token" = []))
)]
pub(crate) async fn trophies(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<TrophiesBody>, ApiError> {
    let awards = state.connections.trophies(caller.account_id).await?;
    Ok(Json(TrophiesBody {
        trophies: awards.into_iter().map(TrophyBody::from).collect(),
    }))
}

/// `<established_at_ms>_<connection_id>`, as `next_before` writes it.
fn parse_cursor(text: &str) -> Result<ConnectionCursor, ApiError> {
    let (established_at_ms, connection_id) = parse_time_cursor(text)?;
    Ok(ConnectionCursor {
        established_at_ms,
        connection_id,
    })
}

impl ConnectionBody {
    /// `record` as `account_id` sees it (`None` when not theirs).
    pub(super) fn of(
        record: &ConnectionRecord,
        account_id: crate::domain::AccountId,
    ) -> Option<Self> {
        connection_body(record, account_id)
    }
}

impl From<crate::store::TrophyAward> for TrophyBody {
    fn from(award: crate::store::TrophyAward) -> Self {
        Self {
            trophy: award.trophy.as_str(),
            title: award.trophy.title(),
            description: award.trophy.description(),
            awarded_at_ms: award.awarded_at_ms,
        }
    }
}

fn connection_body(
    record: &ConnectionRecord,
    account_id: crate::domain::AccountId,
) -> Option<ConnectionBody> {
    let mine = record.party(account_id)?;
    let peer_role = if record.citizen.account_id == account_id {
        "officer"
    } else {
        "citizen"
    };
    Some(ConnectionBody {
        connection_id: record.connection_id,
        established_at_ms: record.established_at_ms,
        peer_role,
        mode: record.mode.as_str(),
        points: mine.points,
        withheld: mine.withheld,
        zip: record.zip.clone(),
    })
}

impl From<LedgerEntry> for LedgerEntryBody {
    fn from(entry: LedgerEntry) -> Self {
        Self {
            entry_id: entry.entry_id,
            seq: entry.seq,
            at_ms: entry.at_ms,
            delta: entry.delta,
            reason: entry.reason,
            connection_id: entry
                .reference
                .filter(|_| entry.reason == LedgerReason::Connection),
            voucher_id: entry.reference.filter(|_| {
                matches!(
                    entry.reason,
                    LedgerReason::Redemption | LedgerReason::Refund
                )
            }),
            donation_id: entry
                .reference
                .filter(|_| entry.reason == LedgerReason::Donation),
            balance_after: entry.balance_after,
        }
    }
}
