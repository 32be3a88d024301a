//! What a provider identity reaches: the account it is linked to (signed in
//! like a phone, the roster deciding the role by the account's phone), or,
//! for an identity no account holds, a link made when the phone is verified
//! (a new account's profile takes the provider's name) or when the person is
//! signed in already.

use super::service::{IdentityError, IdentityService, SignedIn};
use crate::domain::profile::DISPLAY_NAME_MAX_CHARS;
use crate::domain::shown_text;
use crate::domain::{AccountId, Role};
use crate::oidc::PendingLink;
use crate::store::{Account, IdentityKey, OidcIdentity, OidcLinkOutcome};

impl IdentityService {
    /// Signs in to the account the identity of `link` is linked to; `None`
    /// when no live account holds it (the person must verify a phone
    /// first). While the master key is rotated, a link made under the
    /// previous key (`previous_key`) is found too, and linked again under
    /// the current key with the email sealed anew.
    pub(crate) async fn sign_in_identity(
        &self,
        link: &PendingLink,
        previous_key: Option<&IdentityKey>,
    ) -> Result<Option<SignedIn>, IdentityError> {
        let identity = match self.store.oidc_identity(&link.key).await? {
            Some(identity) => identity,
            None => {
                let Some(previous_key) = previous_key else {
                    return Ok(None);
                };
                let Some(identity) = self.store.oidc_identity(previous_key).await? else {
                    return Ok(None);
                };
                self.link_identity(identity.account_id, link).await?;
                identity
            }
        };
        let Some(mut account) = self.store.account(identity.account_id).await? else {
            return Ok(None);
        };
        // A deleted account's phone is erased: it reaches nothing any more.
        if account.phone_sealed.is_empty() {
            return Ok(None);
        }
        if account.disabled_at_ms.is_some() {
            return Err(IdentityError::AccountDisabled);
        }
        self.follow_roster(&mut account).await?;
        self.issue_new_family(&account).await.map(Some)
    }

    /// Links the identity of `link` to `account_id` (a signed-in caller, or
    /// the account whose phone was just verified).
    pub(crate) async fn link_identity(
        &self,
        account_id: AccountId,
        link: &PendingLink,
    ) -> Result<(), IdentityError> {
        let identity = OidcIdentity {
            key: link.key,
            account_id,
            provider_id: link.provider_id.clone(),
            email_sealed: link
                .email
                .as_deref()
                .map(|email| self.keys.seal_email(email))
                .unwrap_or_default(),
            linked_at_ms: self.clock.now_ms(),
        };
        match self.store.link_oidc_identity(&identity).await? {
            OidcLinkOutcome::Linked => Ok(()),
            OidcLinkOutcome::LinkedElsewhere(_) => Err(IdentityError::IdentityLinkedElsewhere),
        }
    }

    /// Brings the account's role in line with the roster entry of its phone.
    async fn follow_roster(&self, account: &mut Account) -> Result<(), IdentityError> {
        let roster_role = match self.store.roster_entry(&account.phone_hash).await? {
            Some(_) => Role::Officer,
            None => Role::Citizen,
        };
        if account.role != roster_role {
            self.store.set_account_role(account.id, roster_role).await?;
            self.profiles.change_role(account.id, roster_role).await?;
            account.role = roster_role;
        }
        Ok(())
    }
}

/// A provider's name as a display name: checked like a typed one and cut to
/// the limit; `None` when it cannot be shown.
pub(super) fn prefilled_display_name(name: &str) -> Option<String> {
    let shortened: String = name.trim().chars().take(DISPLAY_NAME_MAX_CHARS).collect();
    shown_text::display_name(&shortened).ok()
}

#[cfg(test)]
mod tests {
    use super::prefilled_display_name;

    #[test]
    fn provider_names_are_checked_and_cut_to_the_limit() {
        assert_eq!(
            prefilled_display_name("  Ada Lovelace "),
            Some("Ada Lovelace".to_owned())
        );
        assert_eq!(prefilled_display_name("a\u{202e}b"), None);
        assert_eq!(prefilled_display_name(&"x".repeat(100)).unwrap().len(), 40);
    }
}
