//! Erasing a deleted account's personal fields: the view is folded past an
//! `account_deleted` event, and every earlier event that holds a name, bio or
//! avatar is rewritten without it (the one rewrite the event log allows).

use super::{ProfileError, Profiles};
use crate::domain::AccountId;
use crate::domain::profile::{DELETED_DISPLAY_NAME, Profile, ProfileEvent, ProfileEventKind};

/// Events read per page while erasing.
const ERASE_PAGE: usize = 100;

/// Erasure passes before an edit that keeps landing is reported: edits need a
/// signed-in caller, and the account's sign-ins are revoked before erasure, so
/// only an edit already under way can land after the first pass.
const ERASE_PASSES: usize = 3;

/// Whether a view shows nothing personal.
fn is_erased(profile: &Profile) -> bool {
    profile.display_name == DELETED_DISPLAY_NAME
        && profile.bio.is_empty()
        && profile.avatar_url.is_none()
        && !profile.share_to_social
        && !profile.share_name
}

impl Profiles {
    /// Erases the account's personal fields from its view and its event log;
    /// idempotent. An account without a profile has nothing to erase.
    pub(crate) async fn erase(&self, account_id: AccountId) -> Result<(), ProfileError> {
        for _ in 0..ERASE_PASSES {
            let view = match self.get(account_id).await {
                Ok(view) => view,
                Err(ProfileError::NotFound) => return Ok(()),
                Err(error) => return Err(error),
            };
            if !is_erased(&view) {
                self.append(account_id, ProfileEventKind::AccountDeleted)
                    .await?;
            }
            self.erase_events(account_id).await?;
            if is_erased(&self.get(account_id).await?) {
                return Ok(());
            }
        }
        Err(ProfileError::Contended)
    }

    /// Rewrites every event that holds a personal field, newest first.
    async fn erase_events(&self, account_id: AccountId) -> Result<(), ProfileError> {
        let mut before_seq = None;
        loop {
            let page = self
                .store
                .profile_events(account_id, before_seq, ERASE_PAGE)
                .await?;
            for event in &page {
                if let Some(kind) = event.kind.erased() {
                    self.store
                        .replace_profile_event(&ProfileEvent {
                            kind,
                            ..event.clone()
                        })
                        .await?;
                }
            }
            match page.last() {
                Some(oldest) if page.len() == ERASE_PAGE => before_seq = Some(oldest.seq),
                Some(_) | None => return Ok(()),
            }
        }
    }
}
