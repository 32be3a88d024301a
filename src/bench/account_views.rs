//! What the REST API shows one person about their points and connections, read
//! the way a client reads it: `GET /v1/me/points` and `GET /v1/me/connections`
//! with the person's bearer token, page after page (newest first) until the last.
//! The handshake's credit check compares these views with the rounds it ran.

use serde::Deserialize;
use uuid::Uuid;

/// Entries or connections per page: the API's largest page.
const PAGE_LIMIT: usize = 100;
/// Pages read per list at most, so a cursor that never ends cannot hang the check.
const MAX_PAGES: usize = 10_000;

/// One person's balance, whole ledger and every connection.
#[derive(Debug, Clone, Default)]
pub(crate) struct AccountView {
    /// The balance the API reports.
    pub(crate) balance: i64,
    /// Every ledger entry, newest first.
    pub(crate) ledger: Vec<LedgerRow>,
    /// Every established connection, newest first.
    pub(crate) connections: Vec<ConnectionRow>,
}

/// A ledger entry, as `GET /v1/me/points` lists it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct LedgerRow {
    /// Position in the person's ledger, from 1.
    pub(crate) seq: u64,
    /// When (Unix ms).
    pub(crate) at_ms: i64,
    /// The change.
    pub(crate) delta: i64,
    /// Why (`connection` for connection credits).
    pub(crate) reason: String,
    /// The connection a credit is for.
    #[serde(default)]
    pub(crate) connection_id: Option<Uuid>,
    /// Balance after this entry.
    pub(crate) balance_after: i64,
}

/// A connection, as `GET /v1/me/connections` lists it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct ConnectionRow {
    /// The connection (the request id).
    pub(crate) connection_id: Uuid,
    /// When it was established (Unix ms).
    pub(crate) established_at_ms: i64,
    /// Points this person got for it.
    pub(crate) points: i64,
}

/// One page of `GET /v1/me/points`.
#[derive(Debug, Deserialize)]
struct PointsPage {
    /// The balance.
    balance: i64,
    /// Entries, newest first.
    entries: Vec<LedgerRow>,
    /// Cursor of the next page; absent on the last.
    #[serde(default)]
    next_before: Option<String>,
}

/// One page of `GET /v1/me/connections`.
#[derive(Debug, Deserialize)]
struct ConnectionsPage {
    /// Connections, newest first.
    connections: Vec<ConnectionRow>,
    /// Cursor of the next page; absent on the last.
    #[serde(default)]
    next_before: Option<String>,
}

/// Reads the person's whole view with `token`.
pub(crate) async fn read(
    http: &reqwest::Client,
    base_url: &str,
    token: &str,
) -> Result<AccountView, String> {
    let mut view = AccountView::default();
    let mut cursor: Option<String> = None;
    for page_number in 0..MAX_PAGES {
        let page: PointsPage =
            get(http, base_url, "/v1/me/points", token, cursor.as_deref()).await?;
        if page_number == 0 {
            view.balance = page.balance;
        }
        view.ledger.extend(page.entries);
        match next(cursor, page.next_before)? {
            Some(next_cursor) => cursor = Some(next_cursor),
            None => break,
        }
    }
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page: ConnectionsPage = get(
            http,
            base_url,
            "/v1/me/connections",
            token,
            cursor.as_deref(),
        )
        .await?;
        view.connections.extend(page.connections);
        match next(cursor, page.next_before)? {
            Some(next_cursor) => cursor = Some(next_cursor),
            None => break,
        }
    }
    Ok(view)
}

/// The cursor of the next page, refusing one that does not move.
fn next(current: Option<String>, next_before: Option<String>) -> Result<Option<String>, String> {
    match next_before {
        Some(next_cursor) if Some(&next_cursor) == current.as_ref() => {
            Err(format!("the cursor {next_cursor} does not advance"))
        }
        other => Ok(other),
    }
}

async fn get<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    base_url: &str,
    path: &str,
    token: &str,
    before: Option<&str>,
) -> Result<T, String> {
    let mut url = reqwest::Url::parse(&format!("{base_url}{path}"))
        .map_err(|error| format!("bad URL {base_url}{path}: {error}"))?;
    url.query_pairs_mut()
        .append_pair("limit", &PAGE_LIMIT.to_string());
    if let Some(before) = before {
        url.query_pairs_mut().append_pair("before", before);
    }
    let response = http
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(|error| format!("GET {path} failed: {error}"))?;
    if !response.status().is_success() {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        return Err(format!("GET {path} answered {status}: {body}"));
    }
    response
        .json()
        .await
        .map_err(|error| format!("GET {path}: unreadable answer: {error}"))
}
