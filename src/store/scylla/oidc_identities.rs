//! [`OidcIdentityStore`] on CQL: `oidc_identities` by key, claimed with
//! `IF NOT EXISTS` so one identity reaches one account, and
//! `oidc_identities_by_account` (a few rows per account) to find an
//! account's identities. The index row is written before the claim and
//! removed again by a link that loses, so every claimed identity is indexed
//! under its account; readers skip index rows whose identity names another
//! account. Every later change of a claimed row is conditional on its
//! account, as writes to a row that Paxos owns must be.

use async_trait::async_trait;
use scylla::client::session::Session;
use scylla::errors::PrepareError;
use scylla::statement::prepared::PreparedStatement;
use uuid::Uuid;

use super::ScyllaStore;
use super::codec::{corrupt, decode_record, encode_record, first_row, hash32, rows};
use super::prepare::Preparer;
use crate::domain::AccountId;
use crate::store::{IdentityKey, OidcIdentity, OidcIdentityStore, OidcLinkOutcome, StoreResult};

/// The prepared statements of the two identity tables.
#[derive(Debug)]
pub(super) struct OidcIdentityStatements {
    /// Claims an identity for an account.
    claim: PreparedStatement,
    /// Rewrites the record of an identity the account holds.
    update_held: PreparedStatement,
    /// Reads one identity.
    select: PreparedStatement,
    /// Removes an identity the account holds.
    delete_held: PreparedStatement,
    /// Indexes an identity under its account.
    index: PreparedStatement,
    /// Lists the identity keys indexed under an account.
    select_index: PreparedStatement,
    /// Removes one index row.
    delete_index: PreparedStatement,
}

impl OidcIdentityStatements {
    /// Prepares every statement on `session` (already using the keyspace).
    pub(super) async fn prepare(session: &Session) -> Result<Self, PrepareError> {
        let prepare = Preparer(session);
        Ok(Self {
            claim: prepare
                .conditional(
                    "INSERT INTO oidc_identities (identity_key, account_id, record) \
                     VALUES (?, ?, ?) IF NOT EXISTS",
                )
                .await?,
            update_held: prepare
                .conditional(
                    "UPDATE oidc_identities SET record = ? WHERE identity_key = ? \
                     IF account_id = ?",
                )
                .await?,
            select: prepare
                .serial("SELECT account_id, record FROM oidc_identities WHERE identity_key = ?")
                .await?,
            delete_held: prepare
                .conditional("DELETE FROM oidc_identities WHERE identity_key = ? IF account_id = ?")
                .await?,
            index: prepare
                .idempotent(
                    "INSERT INTO oidc_identities_by_account (account_id, identity_key) \
                     VALUES (?, ?)",
                )
                .await?,
            select_index: prepare
                .idempotent(
                    "SELECT identity_key FROM oidc_identities_by_account WHERE account_id = ?",
                )
                .await?,
            delete_index: prepare
                .idempotent(
                    "DELETE FROM oidc_identities_by_account \
                     WHERE account_id = ? AND identity_key = ?",
                )
                .await?,
        })
    }
}

impl ScyllaStore {
    /// The keys indexed under an account (some may have been lost to another).
    async fn indexed_identity_keys(&self, account_id: AccountId) -> StoreResult<Vec<IdentityKey>> {
        let result = self
            .execute(
                |connected| &connected.statements.oidc.select_index,
                (account_id.0,),
            )
            .await?;
        rows::<(Vec<u8>,)>(result, "identity index")?
            .into_iter()
            .map(|(key,)| hash32(key, "identity key").map(IdentityKey))
            .collect()
    }
}

#[async_trait]
impl OidcIdentityStore for ScyllaStore {
    async fn link_oidc_identity(&self, identity: &OidcIdentity) -> StoreResult<OidcLinkOutcome> {
        let record = encode_record(identity, "oidc identity")?;
        let key = identity.key.0.as_slice();
        let account_id = identity.account_id.0;
        self.execute(
            |connected| &connected.statements.oidc.index,
            (account_id, key),
        )
        .await?;
        let claim = self
            .execute_conditional(
                |connected| &connected.statements.oidc.claim,
                (key, account_id, record.as_slice()),
                "identity claim",
            )
            .await?;
        if claim.applied {
            return Ok(OidcLinkOutcome::Linked);
        }
        let Some(holder) = claim.current_uuid("account_id") else {
            return Err(corrupt("identity claim", "refused without a holder"));
        };
        if holder == account_id {
            let update = self
                .execute_conditional(
                    |connected| &connected.statements.oidc.update_held,
                    (record.as_slice(), key, account_id),
                    "identity update",
                )
                .await?;
            if update.applied {
                return Ok(OidcLinkOutcome::Linked);
            }
        }
        // Lost: the index row written above must not list it under this account.
        self.execute(
            |connected| &connected.statements.oidc.delete_index,
            (account_id, key),
        )
        .await?;
        let current = self.oidc_identity(&identity.key).await?;
        Ok(OidcLinkOutcome::LinkedElsewhere(
            current.map_or(AccountId(holder), |stored| stored.account_id),
        ))
    }

    async fn oidc_identity(&self, key: &IdentityKey) -> StoreResult<Option<OidcIdentity>> {
        let result = self
            .execute(
                |connected| &connected.statements.oidc.select,
                (key.0.as_slice(),),
            )
            .await?;
        let Some((account_id, record)) = first_row::<(Uuid, Vec<u8>)>(result, "oidc identity")?
        else {
            return Ok(None);
        };
        let identity: OidcIdentity = decode_record(&record, "oidc identity")?;
        if identity.account_id.0 != account_id {
            return Err(corrupt("oidc identity", "record names another account"));
        }
        Ok(Some(identity))
    }

    async fn oidc_identities_of(&self, account_id: AccountId) -> StoreResult<Vec<OidcIdentity>> {
        let mut found = Vec::new();
        for key in self.indexed_identity_keys(account_id).await? {
            if let Some(identity) = self.oidc_identity(&key).await?
                && identity.account_id == account_id
            {
                found.push(identity);
            }
        }
        Ok(found)
    }

    async fn remove_oidc_identities_of(&self, account_id: AccountId) -> StoreResult<()> {
        for key in self.indexed_identity_keys(account_id).await? {
            self.execute_conditional(
                |connected| &connected.statements.oidc.delete_held,
                (key.0.as_slice(), account_id.0),
                "identity removal",
            )
            .await?;
            self.execute(
                |connected| &connected.statements.oidc.delete_index,
                (account_id.0, key.0.as_slice()),
            )
            .await?;
        }
        Ok(())
    }
}
