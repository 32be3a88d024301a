//! Administrative control of accounts: find one by phone, disable and enable
//! it, revoke its sign-ins, take an officer off the roster. Revoking here ends
//! the sign-ins in the store; closing the sockets they opened is the caller's
//! part (the presence runtime, as for a logout).

use serde::Serialize;

use super::{IdentityError, IdentityService};
use crate::domain::{AccountId, Role};
use crate::store::{Account, PhoneHash};

/// Whether an account may sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AccountStatus {
    /// It may.
    Active,
    /// An administrator disabled it.
    Disabled,
}

/// An account as an administrator sees it: no phone number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub(crate) struct AccountSummary {
    /// The account.
    pub(crate) account_id: AccountId,
    /// Its role.
    pub(crate) role: Role,
    /// Whether it may sign in.
    pub(crate) status: AccountStatus,
}

impl From<&Account> for AccountSummary {
    fn from(account: &Account) -> Self {
        Self {
            account_id: account.id,
            role: account.role,
            status: if account.disabled_at_ms.is_some() {
                AccountStatus::Disabled
            } else {
                AccountStatus::Active
            },
        }
    }
}

/// What taking an officer off the roster did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub(crate) struct RosterRemoval {
    /// The phone's account, if it ever signed in (its sockets must close).
    pub(crate) account_id: Option<AccountId>,
    /// Whether the phone had a roster entry (false on a retry that finishes
    /// an earlier removal).
    pub(crate) removed_from_roster: bool,
    /// Sign-ins revoked.
    pub(crate) revoked_sign_ins: u32,
}

impl IdentityService {
    /// The account signed in with this phone.
    pub(crate) async fn find_account(
        &self,
        phone_input: &str,
    ) -> Result<AccountSummary, IdentityError> {
        let phone = self.parse_phone(phone_input)?;
        let mut found = self
            .store
            .account_by_phone(&self.keys.phone_hash(&phone))
            .await?;
        if found.is_none()
            && let Some(previous) = self.keys.previous_phone_hash(&phone)
        {
            // A rotation of the master key has not moved it yet.
            found = self.store.account_by_phone(&previous).await?;
        }
        let account = found.ok_or(IdentityError::AccountNotFound)?;
        Ok(AccountSummary::from(&account))
    }

    /// Disables an account and revokes its sign-ins (its points and history
    /// stay); returns how many sign-ins were revoked. Disabling a disabled
    /// account keeps the first time and revokes anything signed in since.
    pub(crate) async fn disable_account(&self, id: AccountId) -> Result<u32, IdentityError> {
        let account = self.existing_account(id).await?;
        let disabled_at_ms = account.disabled_at_ms.unwrap_or(self.clock.now_ms());
        if !self
            .store
            .set_account_disabled(id, Some(disabled_at_ms))
            .await?
        {
            return Err(IdentityError::AccountNotFound);
        }
        self.revoke_sign_ins(id).await
    }

    /// Lets a disabled account sign in again (its old sign-ins stay revoked).
    pub(crate) async fn enable_account(&self, id: AccountId) -> Result<(), IdentityError> {
        if self.store.set_account_disabled(id, None).await? {
            Ok(())
        } else {
            Err(IdentityError::AccountNotFound)
        }
    }

    /// Revokes every sign-in of an existing account; returns how many.
    pub(crate) async fn revoke_account_sign_ins(
        &self,
        id: AccountId,
    ) -> Result<u32, IdentityError> {
        self.existing_account(id).await?;
        self.revoke_sign_ins(id).await
    }

    /// Takes a phone off the officer roster: its sign-ins are revoked and its
    /// account becomes a citizen's, so the next sign-in is a citizen's. The
    /// role changes last, so a retry after a partial failure (the account
    /// still an officer's) finishes the job; a sign-in between the steps finds
    /// no roster entry and signs in as a citizen.
    pub(crate) async fn remove_officer(
        &self,
        phone_input: &str,
    ) -> Result<RosterRemoval, IdentityError> {
        let phone = self.parse_phone(phone_input)?;
        let phone_hash = self.keys.phone_hash(&phone);
        let previous_hash = self.keys.previous_phone_hash(&phone);
        let mut removed_from_roster = self.store.remove_roster_entry(&phone_hash).await?;
        if let Some(previous) = &previous_hash {
            // An entry a rotation of the master key has not moved yet.
            removed_from_roster |= self.store.remove_roster_entry(previous).await?;
        }
        let mut removal = self
            .demote_officer(&phone_hash, removed_from_roster)
            .await?;
        if removal.account_id.is_none()
            && let Some(previous) = &previous_hash
        {
            removal = self.demote_officer(previous, removed_from_roster).await?;
        }
        if removal.account_id.is_none() && !removed_from_roster {
            return Err(IdentityError::NotOnRoster);
        }
        Ok(removal)
    }

    /// The account of a phone just taken off the roster (`removed_from_roster`
    /// says whether it was on it) becomes a citizen's, its sign-ins revoked;
    /// nothing happens to a phone without an officer's account. Also what an
    /// imported roster row marked inactive does.
    pub(crate) async fn demote_officer(
        &self,
        phone_hash: &PhoneHash,
        removed_from_roster: bool,
    ) -> Result<RosterRemoval, IdentityError> {
        let officer = self
            .store
            .account_by_phone(phone_hash)
            .await?
            .filter(|account| account.role == Role::Officer);
        let Some(officer) = officer else {
            return Ok(RosterRemoval {
                account_id: None,
                removed_from_roster,
                revoked_sign_ins: 0,
            });
        };
        let revoked_sign_ins = self.revoke_sign_ins(officer.id).await?;
        self.profiles.change_role(officer.id, Role::Citizen).await?;
        self.store
            .set_account_role(officer.id, Role::Citizen)
            .await?;
        Ok(RosterRemoval {
            account_id: Some(officer.id),
            removed_from_roster,
            revoked_sign_ins,
        })
    }

    async fn existing_account(&self, id: AccountId) -> Result<Account, IdentityError> {
        self.store
            .account(id)
            .await?
            .ok_or(IdentityError::AccountNotFound)
    }
}
