//! `/v1/me/points`, `/v1/me/connections` and `/v1/me/trophies`: the caller's
//! balance and ledger, established connections (both paged, newest first) and
//! trophies.

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppState;
use super::bearer::Caller;
use super::error::ApiError;
use crate::connections::MAX_PAGE;
use crate::domain::connection::RewardWithheld;
use crate::store::{ConnectionCursor, ConnectionRecord, LedgerEntry, LedgerReason};

/// Default page size.
const DEFAULT_PAGE: usize = 20;

/// Query of the paged endpoints.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageQuery {
    /// The previous page's `next_before`.
    before: Option<String>,
    /// Page size, 1–100.
    limit: Option<usize>,
}

/// `GET /v1/me/points`.
#[derive(Debug, Serialize)]
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
#[derive(Debug, Serialize)]
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
    /// Balance after this entry.
    balance_after: i64,
}

/// `GET /v1/me/connections`.
#[derive(Debug, Serialize)]
pub(crate) struct ConnectionsBody {
    /// Newest first.
    connections: Vec<ConnectionBody>,
    /// Pass as `before` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_before: Option<String>,
}

/// One connection as one of its people sees it.
#[derive(Debug, Serialize)]
pub(crate) struct ConnectionBody {
    /// The connection id.
    connection_id: Uuid,
    /// When it was established (Unix ms).
    established_at_ms: i64,
    /// The other person's role.
    peer_role: &'static str,
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
#[derive(Debug, Serialize)]
pub(crate) struct TrophiesBody {
    /// Oldest first.
    trophies: Vec<TrophyBody>,
}

/// One trophy.
#[derive(Debug, Serialize)]
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
        .map(|last| format!("{}_{}", last.established_at_ms, last.connection_id));
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
pub(crate) async fn trophies(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<TrophiesBody>, ApiError> {
    let awards = state.connections.trophies(caller.account_id).await?;
    Ok(Json(TrophiesBody {
        trophies: awards
            .into_iter()
            .map(|award| TrophyBody {
                trophy: award.trophy.as_str(),
                title: award.trophy.title(),
                description: award.trophy.description(),
                awarded_at_ms: award.awarded_at_ms,
            })
            .collect(),
    }))
}

fn page(
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<(Option<String>, usize), ApiError> {
    let Query(query) =
        query.map_err(|rejection| ApiError::bad_request("invalid_query", rejection.body_text()))?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::unprocessable(
            "invalid_field",
            "limit: must be 1 to 100",
        ));
    }
    Ok((query.before, limit))
}

/// `<established_at_ms>_<connection_id>`, as `next_before` writes it.
fn parse_cursor(text: &str) -> Result<ConnectionCursor, ApiError> {
    let invalid = || ApiError::unprocessable("invalid_field", "before: not a cursor");
    let (at_ms, id) = text.split_once('_').ok_or_else(invalid)?;
    Ok(ConnectionCursor {
        established_at_ms: at_ms.parse().map_err(|_| invalid())?,
        connection_id: id.parse().map_err(|_| invalid())?,
    })
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
            connection_id: entry.reference,
            balance_after: entry.balance_after,
        }
    }
}
