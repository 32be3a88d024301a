//! The ScyllaDB backend: every store trait on a CQL cluster through the `scylla`
//! driver, with prepared statements, TTLs for tokens and challenges, and
//! lightweight transactions (`IF ...`, serial consistency) for the conditional
//! writes. Tables are listed in `schema.cql` and `docs/storage.md`.
//!
//! The server never waits for the cluster: [`ScyllaStore::start`] returns at once
//! and connects in the background with backoff; until then (and whenever the
//! cluster is unreachable) calls fail with [`StoreError::Unavailable`], which the
//! HTTP layer answers with 503 `store_unavailable`. Once connected, the driver
//! reconnects to nodes on its own.

mod accounts;
mod audit;
mod catalog;
mod catalog_statements;
mod codec;
mod connect;
mod connections;
mod deletion_statements;
mod devices;
#[cfg(test)]
pub(crate) mod faults;
mod import_statements;
mod imports;
mod incomplete;
mod issuer_keys;
mod key_rotation;
mod key_rotation_statements;
mod ledger;
mod ledger_statements;
mod offers;
mod oidc_identities;
mod otp;
mod outbox;
mod outbox_statements;
mod pledge_statements;
mod pledges;
mod prepare;
mod profiles;
mod queue_statements;
mod redemptions;
mod report_rollup_codec;
mod report_rollup_rows;
mod report_rollup_statements;
mod report_rollups;
mod report_scans;
mod report_statements;
mod reports;
mod reward_claims;
mod roster;
mod statements;
mod stock;
mod time_queue;
mod tokens;
mod trophies;
mod voucher_statements;
mod vouchers;

#[cfg(test)]
mod bound_tests;
#[cfg(test)]
mod fault_tests;
#[cfg(test)]
mod outbox_backlog_tests;
#[cfg(test)]
mod outbox_queue_tests;
#[cfg(test)]
mod queue_bound_tests;
#[cfg(test)]
mod report_rollup_tests;
#[cfg(test)]
pub(crate) mod tests;

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use scylla::response::query_result::QueryResult;
use scylla::response::{PagingState, PagingStateResponse};
use scylla::serialize::batch::BatchValues;
use scylla::serialize::row::SerializeRow;
use scylla::statement::batch::Batch;
use scylla::statement::prepared::PreparedStatement;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{AccessGrant, AccountStore, SecretHash, Store, StoreError, StoreResult, TokenStore};
use codec::{Conditional, execution_error};
use connect::{ConnectError, Connected};
pub(crate) use connect::{SCHEMA_VERSION, Settings};
pub(crate) use report_rollups::RollUpTrigger;

/// First wait before retrying a failed connection; doubled up to the maximum.
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(500);
/// Longest wait between connection attempts.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);

/// The CQL-backed store.
#[derive(Debug)]
pub(crate) struct ScyllaStore {
    /// Where the connection stands; shared with the background connector.
    state: Arc<RwLock<ConnectionState>>,
    /// Stops the background connector at close.
    stop: CancellationToken,
    /// The keyspace, for logs.
    keyspace: String,
    /// Whether writes add their facts to the report aggregates
    /// (`reports.maintain_aggregates`).
    report_upkeep: crate::store::ReportUpkeep,
    /// This instance's dirty-day marks and roll-ups of report cells.
    rollups: report_rollups::RollupState,
    /// Failures tests inject into statements.
    #[cfg(test)]
    faults: Arc<faults::Faults>,
}

/// Where the connection stands.
#[derive(Debug)]
enum ConnectionState {
    /// No session yet; the connector is trying. Holds the last failure.
    Connecting {
        /// Why the last attempt failed (or that none finished yet).
        last_error: String,
    },
    /// A session with prepared statements.
    Connected(Arc<Connected>),
    /// Connecting cannot succeed without an operator (a newer schema).
    Refused {
        /// What the operator must fix.
        reason: String,
    },
    /// [`Store::close`] ran.
    Closed,
}

impl ScyllaStore {
    /// Returns at once and connects in the background, retrying with backoff.
    pub(crate) fn start(settings: Settings) -> Self {
        let store = Self::new(&settings);
        let state = Arc::clone(&store.state);
        let stop = store.stop.clone();
        let span = tracing::info_span!("scylla_connector", keyspace = %settings.config.keyspace);
        tokio::spawn(keep_connecting(settings, state, stop).instrument(span));
        store
    }

    /// Connects once and waits for it (tests and `heyblue migrate`).
    pub(crate) async fn connect(settings: Settings) -> StoreResult<Self> {
        let store = Self::new(&settings);
        let connected = connect::connect(&settings).await?;
        store.set_state(ConnectionState::Connected(Arc::new(connected)));
        tracing::info!(keyspace = %store.keyspace, "scylla store connected");
        Ok(store)
    }

    /// The store, writing the facts of the records it writes for the report
    /// aggregates or not as `upkeep` says.
    pub(crate) fn with_report_upkeep(mut self, upkeep: crate::store::ReportUpkeep) -> Self {
        self.report_upkeep = upkeep;
        self
    }

    fn new(settings: &Settings) -> Self {
        Self {
            state: Arc::new(RwLock::new(ConnectionState::Connecting {
                last_error: "connecting".to_owned(),
            })),
            stop: CancellationToken::new(),
            keyspace: settings.config.keyspace.clone(),
            report_upkeep: crate::store::ReportUpkeep::default(),
            rollups: report_rollups::RollupState::new(),
            #[cfg(test)]
            faults: Arc::default(),
        }
    }

    fn set_state(&self, state: ConnectionState) {
        *self.state.write().unwrap_or_else(PoisonError::into_inner) = state;
    }

    /// The session, or why there is none.
    fn connected(&self) -> StoreResult<Arc<Connected>> {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        match &*state {
            ConnectionState::Connected(connected) => Ok(Arc::clone(connected)),
            ConnectionState::Connecting { last_error } => Err(StoreError::Unavailable(format!(
                "scylla store is not connected: {last_error}"
            ))),
            ConnectionState::Refused { reason } => Err(StoreError::Backend(reason.clone())),
            ConnectionState::Closed => {
                Err(StoreError::Unavailable("scylla store is closed".to_owned()))
            }
        }
    }

    /// Runs a prepared statement and returns its result.
    async fn execute(
        &self,
        statement: impl FnOnce(&Connected) -> &PreparedStatement,
        values: impl SerializeRow,
    ) -> StoreResult<QueryResult> {
        let connected = self.connected()?;
        #[cfg(test)]
        if let Some(injected) = self.faults.before_statement() {
            return Err(injected);
        }
        connected
            .session
            .execute_unpaged(statement(&connected), values)
            .await
            .map_err(execution_error)
    }

    /// Runs a prepared statement for one page of at most `page_rows` rows,
    /// from `cursor` (`None`: the first page); returns the page and the
    /// cursor of the next one, `None` after the last.
    async fn execute_page(
        &self,
        statement: impl FnOnce(&Connected) -> &PreparedStatement,
        values: impl SerializeRow,
        cursor: Option<Vec<u8>>,
        page_rows: usize,
    ) -> StoreResult<(QueryResult, Option<Vec<u8>>)> {
        let connected = self.connected()?;
        #[cfg(test)]
        if let Some(injected) = self.faults.before_statement() {
            return Err(injected);
        }
        let mut paged = statement(&connected).clone();
        paged.set_page_size(i32::try_from(page_rows.max(1)).unwrap_or(i32::MAX));
        let paging = cursor.map_or_else(PagingState::start, PagingState::new_from_raw_bytes);
        let (result, response) = connected
            .session
            .execute_single_page(&paged, values, paging)
            .await
            .map_err(execution_error)?;
        let next = match response {
            PagingStateResponse::HasMorePages { state } => {
                state.as_bytes_slice().map(|bytes| bytes.to_vec())
            }
            PagingStateResponse::NoMorePages => None,
        };
        Ok((result, next))
    }

    /// Runs a conditional statement (`IF ...`) and returns whether it applied.
    async fn execute_conditional(
        &self,
        statement: impl FnOnce(&Connected) -> &PreparedStatement,
        values: impl SerializeRow,
        what: &str,
    ) -> StoreResult<Conditional> {
        let result = self.execute(statement, values).await?;
        #[cfg(test)]
        if let Some(injected) = self.faults.after_conditional() {
            return Err(injected);
        }
        Conditional::from_result(result, what)
    }

    /// Runs a conditional batch (every statement on one partition) and returns
    /// whether it applied.
    async fn execute_conditional_batch(
        &self,
        batch: impl FnOnce(&Connected) -> &Batch,
        values: impl BatchValues,
        what: &str,
    ) -> StoreResult<Conditional> {
        let connected = self.connected()?;
        #[cfg(test)]
        if let Some(injected) = self.faults.before_statement() {
            return Err(injected);
        }
        let result = connected
            .session
            .batch(batch(&connected), values)
            .await
            .map_err(execution_error)?;
        #[cfg(test)]
        if let Some(injected) = self.faults.after_conditional() {
            return Err(injected);
        }
        Conditional::from_result(result, what)
    }

    /// The faults tests inject into this store's statements.
    #[cfg(test)]
    pub(crate) fn faults(&self) -> &faults::Faults {
        &self.faults
    }
}

/// Tries to connect until it works, `stop` is cancelled, or trying cannot help.
async fn keep_connecting(
    settings: Settings,
    state: Arc<RwLock<ConnectionState>>,
    stop: CancellationToken,
) {
    let mut delay = FIRST_RETRY_DELAY;
    loop {
        let outcome = tokio::select! {
            () = stop.cancelled() => return,
            outcome = connect::connect(&settings) => outcome,
        };
        if !record_attempt(&state, outcome, delay) {
            return;
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(MAX_RETRY_DELAY);
    }
}

/// Records the outcome of a connection attempt; returns whether to try again.
fn record_attempt(
    state: &RwLock<ConnectionState>,
    outcome: Result<Connected, ConnectError>,
    delay: Duration,
) -> bool {
    let mut current = state.write().unwrap_or_else(PoisonError::into_inner);
    if matches!(*current, ConnectionState::Closed) {
        return false;
    }
    match outcome {
        Ok(connected) => {
            *current = ConnectionState::Connected(Arc::new(connected));
            tracing::info!("scylla store connected");
            false
        }
        Err(ConnectError::Refused(reason)) => {
            tracing::error!(%reason, "scylla store refused; fix the cause and restart");
            *current = ConnectionState::Refused { reason };
            false
        }
        Err(ConnectError::Retryable(last_error)) => {
            tracing::warn!(
                error = %last_error,
                retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                "scylla store not reachable yet"
            );
            *current = ConnectionState::Connecting { last_error };
            true
        }
    }
}

#[async_trait]
impl Store for ScyllaStore {
    fn backend_name(&self) -> &'static str {
        "scylla"
    }

    async fn ping(&self) -> StoreResult<()> {
        self.execute(|connected| &connected.statements.ping, ())
            .await
            .map(|_| ())
    }

    async fn close(&self) -> StoreResult<()> {
        self.stop.cancel();
        self.set_state(ConnectionState::Closed);
        tracing::info!(keyspace = %self.keyspace, "scylla store closed");
        Ok(())
    }

    /// The family and the account are read concurrently: two round trips, not three.
    async fn access_grant(&self, hash: &SecretHash) -> StoreResult<Option<AccessGrant>> {
        let Some(token) = self.token(hash).await? else {
            return Ok(None);
        };
        let (family, account) = tokio::try_join!(
            self.token_family(token.family_id),
            self.account(token.account_id)
        )?;
        Ok(Some(AccessGrant {
            token,
            family,
            account,
        }))
    }
}
