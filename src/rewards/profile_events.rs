//! The profile events of rewards: `voucher_issued`, `voucher_redeemed` and
//! `donation_made`, each appended once per voucher or donation (the profile
//! log's append-once, keyed by the id), so a retry or a recovery pass that
//! runs a step again adds nothing. A person without a profile (none is ever
//! missing for a signed-up account) is skipped.

use crate::domain::AccountId;
use crate::domain::profile::ProfileEventKind;
use crate::profiles::{ProfileError, Profiles};
use crate::store::{StoreError, StoreResult};

/// How far before the fact the duplicate scan looks: a step is retried or
/// recovered after it happened, never before.
const IDEMPOTENCY_WINDOW_MS: i64 = 15 * 60_000;

/// Appends `kind` to `account_id`'s profile unless an event `is_same` matches
/// was appended since `fact_at_ms` (less the window).
pub(super) async fn note_once(
    profiles: &Profiles,
    account_id: AccountId,
    kind: ProfileEventKind,
    is_same: impl Fn(&ProfileEventKind) -> bool,
    fact_at_ms: i64,
) -> StoreResult<()> {
    match profiles
        .append_once(
            account_id,
            kind,
            is_same,
            fact_at_ms - IDEMPOTENCY_WINDOW_MS,
        )
        .await
    {
        Ok(_) | Err(ProfileError::NotFound) => Ok(()),
        Err(ProfileError::Store(error)) => Err(error),
        Err(ProfileError::Contended) => Err(StoreError::Unavailable(
            "the profile kept changing; try again".to_owned(),
        )),
    }
}
