//! The audit log of administrative actions: every admin endpoint that reads
//! personal data or changes state appends one entry after it acted, naming
//! the action, the account acted on (by id, never by phone), the outcome and
//! who acted (the admin credential and its client address). Entries are never
//! changed or removed; `GET /v1/admin/audit` pages through them, newest first.

use std::net::IpAddr;
use std::sync::Arc;

use uuid::Uuid;

use crate::clock::Clock;
use crate::domain::AccountId;
use crate::store::{AuditCursor, AuditEntry, Store, StoreResult};

/// What an administrator did: the closed set of `action` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuditAction {
    /// Looked an account up by phone.
    AccountLookup,
    /// Disabled an account.
    AccountDisabled,
    /// Enabled an account.
    AccountEnabled,
    /// Revoked an account's sign-ins.
    SessionsRevoked,
    /// Took a phone off the officer roster.
    RosterRemoved,
    /// Imported an officer roster.
    RosterImported,
    /// Imported retailers, offers, schemes or charities.
    DataImported,
    /// Asked this node to drain.
    NodeDrained,
    /// Created a catalog entry (retailer, municipality, offer, charity).
    CatalogEntryCreated,
    /// Replaced a catalog entry.
    CatalogEntryReplaced,
    /// Marked a month's pledge statement settled.
    StatementSettled,
    /// Created an API key of a retailer or municipality.
    IssuerKeyCreated,
    /// Revoked an API key of a retailer or municipality.
    IssuerKeyRevoked,
    /// Credited or debited a person's points.
    PointsAdjusted,
    /// Created an outbox endpoint.
    OutboxEndpointCreated,
    /// Rotated an outbox endpoint's signing secret.
    OutboxEndpointRotated,
    /// Enabled or disabled an outbox endpoint.
    OutboxEndpointChanged,
    /// Replayed outbox deliveries.
    OutboxReplayed,
    /// Signed in to the admin console (the detail names the role).
    ConsoleSignedIn,
    /// Signed out of the admin console.
    ConsoleSignedOut,
}

impl AuditAction {
    /// The stored and shown name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::AccountLookup => "account_lookup",
            Self::AccountDisabled => "account_disabled",
            Self::AccountEnabled => "account_enabled",
            Self::SessionsRevoked => "sessions_revoked",
            Self::RosterRemoved => "roster_removed",
            Self::RosterImported => "roster_imported",
            Self::DataImported => "data_imported",
            Self::NodeDrained => "node_drained",
            Self::CatalogEntryCreated => "catalog_entry_created",
            Self::CatalogEntryReplaced => "catalog_entry_replaced",
            Self::StatementSettled => "statement_settled",
            Self::IssuerKeyCreated => "issuer_key_created",
            Self::IssuerKeyRevoked => "issuer_key_revoked",
            Self::PointsAdjusted => "points_adjusted",
            Self::OutboxEndpointCreated => "outbox_endpoint_created",
            Self::OutboxEndpointRotated => "outbox_endpoint_rotated",
            Self::OutboxEndpointChanged => "outbox_endpoint_changed",
            Self::OutboxReplayed => "outbox_replayed",
            Self::ConsoleSignedIn => "console_signed_in",
            Self::ConsoleSignedOut => "console_signed_out",
        }
    }
}

/// Appends to and reads the audit log.
#[derive(Debug, Clone)]
pub(crate) struct AuditLog {
    /// Where entries live.
    store: Arc<dyn Store>,
    /// Entry times.
    clock: Clock,
}

impl AuditLog {
    /// A log kept in `store`.
    pub(crate) fn new(store: Arc<dyn Store>, clock: Clock) -> Self {
        Self { store, clock }
    }

    /// How the audit log names the admin token used from `client`.
    pub(crate) fn actor(client: IpAddr) -> String {
        format!("admin_token@{client}")
    }

    /// Records that the admin token, used from `client`, did `action` to
    /// `target` with the outcome `detail`.
    pub(crate) async fn record(
        &self,
        client: IpAddr,
        action: AuditAction,
        target: Option<AccountId>,
        detail: impl Into<String>,
    ) -> StoreResult<()> {
        let entry = AuditEntry {
            entry_id: Uuid::new_v4(),
            at_ms: self.clock.now_ms(),
            actor: Self::actor(client),
            action: action.as_str().to_owned(),
            target,
            detail: detail.into(),
        };
        tracing::info!(action = %entry.action, target = ?entry.target.map(|id| id.0), "admin action");
        self.store.append_audit_entry(&entry).await?;
        crate::metrics::admin_action(action);
        Ok(())
    }

    /// Up to `limit` entries older than `before`, newest first.
    pub(crate) async fn page(
        &self,
        before: Option<AuditCursor>,
        limit: usize,
    ) -> StoreResult<Vec<AuditEntry>> {
        self.store.audit_entries(before, limit).await
    }
}
