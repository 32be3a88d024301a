//! Whether a person's part in a fact may be posted, and under which name.
//!
//! A fact is shared only if the person had `share_to_social` on when it
//! happened and has not turned it off since (withdrawing cancels undelivered
//! posts, even if turned on again later). The answer is read from the
//! person's profile event log, newest first, back to the last sharing choice
//! made at or before the fact; a log longer than [`MAX_EVENTS_READ`] to that
//! point is not read further and the fact is not shared (the rule fails
//! closed). Naming follows the person's `share_name` when the post is sent.

use crate::domain::AccountId;
use crate::domain::Role;
use crate::domain::profile::ProfileEventKind;
use crate::store::{Store, StoreResult};

/// Events read per page of the log.
const EVENTS_PER_PAGE: usize = 100;
/// Most events read to find the choice in force at a fact.
pub(crate) const MAX_EVENTS_READ: usize = 5_000;

/// What a post may say about one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Consent {
    /// The fact may be shared.
    Shared {
        /// The display name, when the person agreed to be named.
        name: Option<String>,
        /// Their role (for "an officer" / "a neighbour").
        role: Role,
    },
    /// Not shared, and why (for admins; never sent).
    Refused(&'static str),
}

/// The consent of `account_id` to share a fact of theirs that happened at
/// `fact_at_ms`, as it stands now.
pub(crate) async fn consent(
    store: &dyn Store,
    account_id: AccountId,
    fact_at_ms: i64,
) -> StoreResult<Consent> {
    let Some(profile) = store.profile(account_id).await? else {
        return Ok(Consent::Refused("no profile"));
    };
    if !profile.share_to_social {
        return Ok(Consent::Refused("sharing is off"));
    }
    let mut before = None;
    let mut read = 0_usize;
    loop {
        let page = store
            .profile_events(account_id, before, EVENTS_PER_PAGE)
            .await?;
        let Some(oldest) = page.last() else {
            return Ok(Consent::Refused("sharing was off at the time"));
        };
        before = Some(oldest.seq);
        for event in &page {
            read += 1;
            let choice = match &event.kind {
                ProfileEventKind::ProfileUpdated(changes) => changes.share_to_social,
                // Sharing starts off, and ends with the account.
                ProfileEventKind::ProfileCreated { .. } | ProfileEventKind::AccountDeleted => {
                    Some(false)
                }
                ProfileEventKind::RoleChanged { .. }
                | ProfileEventKind::ConnectionEstablished { .. }
                | ProfileEventKind::TrophyAwarded { .. }
                | ProfileEventKind::VoucherIssued { .. }
                | ProfileEventKind::VoucherRedeemed { .. }
                | ProfileEventKind::DonationMade { .. } => None,
            };
            let Some(on) = choice else {
                continue;
            };
            if event.at_ms > fact_at_ms {
                if !on {
                    return Ok(Consent::Refused("sharing was withdrawn"));
                }
                continue;
            }
            if !on {
                return Ok(Consent::Refused("sharing was off at the time"));
            }
            return Ok(Consent::Shared {
                name: profile.share_name.then(|| profile.display_name.clone()),
                role: profile.role,
            });
        }
        if read >= MAX_EVENTS_READ || page.len() < EVENTS_PER_PAGE {
            return Ok(Consent::Refused(if read >= MAX_EVENTS_READ {
                "history too long to read"
            } else {
                "sharing was off at the time"
            }));
        }
    }
}
