//! Deleting an account at its owner's request. The owner proves it with a
//! fresh one-time code; the account is then disabled (its tokens refused at
//! once), its sign-ins revoked, its push devices removed, the personal fields
//! of its profile erased in place (which also withdraws consent to social
//! posts not yet sent), its provider identities (and their emails) unlinked, and
//! its phone forgotten, so the number may sign up afresh. The
//! ledger, connection records and report facts stay under the account id,
//! which names nobody once the phone and profile are gone. Each step is
//! idempotent and the deletion is noted in the store before the first one, so
//! a deletion interrupted by a crash is finished by [`IdentityService::finish_account_deletions`].

use std::net::IpAddr;

use super::{IdentityError, IdentityService};
use crate::domain::AccountId;

/// Deletions finished per sweep (the rest wait for the next one).
const DELETIONS_PER_SWEEP: usize = 100;

/// How long a deletion may be under way before a sweep takes it over: the
/// request that started it has ended by then.
const TAKE_OVER_AFTER_MS: i64 = 120_000;

impl IdentityService {
    /// Deletes the caller's account once `code`, a one-time code sent to the
    /// account's phone, checks out. Retrying after a failure finishes it.
    pub(crate) async fn delete_account(
        &self,
        account_id: AccountId,
        code: &str,
        client: IpAddr,
    ) -> Result<(), IdentityError> {
        let account = self
            .store
            .account(account_id)
            .await?
            .ok_or(IdentityError::InvalidToken)?;
        self.check_code(&account.phone_hash, code, client).await?;
        let now_ms = self.clock.now_ms();
        self.store
            .record_account_deletion(account_id, now_ms)
            .await?;
        self.store
            .set_account_disabled(account_id, Some(now_ms))
            .await?;
        self.finish_account_deletion(account_id).await?;
        tracing::info!(account = %account_id.0, "account deleted at its owner's request");
        Ok(())
    }

    /// Finishes deletions that a stopped node left under way; returns how many
    /// it finished.
    pub(crate) async fn finish_account_deletions(&self) -> Result<usize, IdentityError> {
        let taken_over_before_ms = self.clock.now_ms() - TAKE_OVER_AFTER_MS;
        let mut finished = 0;
        for (account_id, started_at_ms) in self.store.account_deletions(DELETIONS_PER_SWEEP).await?
        {
            if started_at_ms > taken_over_before_ms {
                continue;
            }
            // A disabled account takes no new sign-in, so nothing undoes this.
            self.store
                .set_account_disabled(account_id, Some(started_at_ms))
                .await?;
            self.finish_account_deletion(account_id).await?;
            finished += 1;
        }
        Ok(finished)
    }

    /// The steps after the account is disabled, each idempotent.
    async fn finish_account_deletion(&self, account_id: AccountId) -> Result<(), IdentityError> {
        self.revoke_sign_ins(account_id).await?;
        for device in self.store.devices_of(account_id).await? {
            self.store
                .remove_device(account_id, device.device_id)
                .await?;
        }
        self.profiles.erase(account_id).await?;
        // The provider identities and their sealed emails go with the phone.
        self.store.remove_oidc_identities_of(account_id).await?;
        self.store.erase_account_phone(account_id).await?;
        self.store.finish_account_deletion(account_id).await?;
        Ok(())
    }
}
