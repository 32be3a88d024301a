//! Profile commands and queries over the event log. Every change is an appended
//! event (the truth); the stored profile is a view folded from the events and
//! rewritten after each append. Appends use optimistic concurrency on the event
//! sequence number, so concurrent edits never lose an event.

mod erasure;

use std::sync::Arc;

use crate::clock::Clock;
use crate::domain::AccountId;
use crate::domain::profile::{self, Profile, ProfileChanges, ProfileEvent, ProfileEventKind};
use crate::store::{AppendOutcome, Store, StoreError};

/// Attempts at appending before a burst of concurrent edits is reported.
const APPEND_ATTEMPTS: usize = 8;
/// Largest page of events a client may ask for.
pub(crate) const MAX_EVENTS_PAGE: usize = 100;
/// Events read per page while looking for an earlier copy of an event.
const DUPLICATE_SCAN_PAGE: usize = 50;

/// Whether [`Profiles::append_once`] wrote the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AppendedOnce {
    /// This call appended it.
    Appended,
    /// The log already held it; nothing was written.
    AlreadyThere,
}

/// Why a profile command failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProfileError {
    /// There is no profile for the account.
    #[error("profile not found")]
    NotFound,
    /// Other writers kept taking the next sequence number.
    #[error("profile is being changed concurrently, try again")]
    Contended,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Appends profile events and keeps the view in step.
#[derive(Debug, Clone)]
pub(crate) struct Profiles {
    /// Where events and views live.
    store: Arc<dyn Store>,
    /// Timestamps of new events.
    clock: Clock,
}

impl Profiles {
    /// Profiles backed by `store`.
    pub(crate) fn new(store: Arc<dyn Store>, clock: Clock) -> Self {
        Self { store, clock }
    }

    /// The store behind them (for what a session writes besides profile
    /// events: a push queued when its socket is away).
    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Writes the `profile_created` event of a new account (idempotent: an
    /// existing profile is returned as it is).
    pub(crate) async fn create(
        &self,
        account_id: AccountId,
        display_name: String,
        role: crate::domain::Role,
    ) -> Result<Profile, ProfileError> {
        self.append(
            account_id,
            ProfileEventKind::ProfileCreated { display_name, role },
        )
        .await
    }

    /// Applies a validated edit.
    pub(crate) async fn update(
        &self,
        account_id: AccountId,
        changes: ProfileChanges,
    ) -> Result<Profile, ProfileError> {
        if changes.is_empty() {
            return self.get(account_id).await;
        }
        self.append(account_id, ProfileEventKind::ProfileUpdated(changes))
            .await
    }

    /// Records a role change decided by the roster.
    pub(crate) async fn change_role(
        &self,
        account_id: AccountId,
        role: crate::domain::Role,
    ) -> Result<Profile, ProfileError> {
        self.append(account_id, ProfileEventKind::RoleChanged { role })
            .await
    }

    /// Appends `kind` unless the log already holds an event `is_same` matches
    /// among those written at or after `not_before_ms` (the caller's idempotency
    /// window). The scan reads exactly the events up to the view's version and the
    /// append is conditional on the next sequence number, so of any number of
    /// concurrent callers exactly one appends.
    pub(crate) async fn append_once(
        &self,
        account_id: AccountId,
        kind: ProfileEventKind,
        is_same: impl Fn(&ProfileEventKind) -> bool,
        not_before_ms: i64,
    ) -> Result<AppendedOnce, ProfileError> {
        for _ in 0..APPEND_ATTEMPTS * 4 {
            let current = match self.store.profile(account_id).await? {
                Some(view) => view,
                None => {
                    self.catch_up_view(account_id).await?;
                    self.get(account_id).await?
                }
            };
            if self
                .holds_event(account_id, current.version, &is_same, not_before_ms)
                .await?
            {
                return Ok(AppendedOnce::AlreadyThere);
            }
            let event = ProfileEvent {
                account_id,
                seq: current.version + 1,
                at_ms: self.clock.now_ms(),
                kind: kind.clone(),
            };
            match self.store.append_profile_event(&event).await? {
                AppendOutcome::Appended => {
                    if let Some(next) = profile::apply(Some(current), &event) {
                        self.store.put_profile(&next).await?;
                    }
                    return Ok(AppendedOnce::Appended);
                }
                AppendOutcome::SeqTaken => self.catch_up_view(account_id).await?,
            }
        }
        Err(ProfileError::Contended)
    }

    /// Whether an event with `seq <= up_to_seq` written at or after `not_before_ms`
    /// matches `is_same`.
    async fn holds_event(
        &self,
        account_id: AccountId,
        up_to_seq: u64,
        is_same: &impl Fn(&ProfileEventKind) -> bool,
        not_before_ms: i64,
    ) -> Result<bool, ProfileError> {
        let mut before_seq = up_to_seq.saturating_add(1);
        loop {
            let page = self
                .store
                .profile_events(account_id, Some(before_seq), DUPLICATE_SCAN_PAGE)
                .await?;
            for event in &page {
                if is_same(&event.kind) {
                    return Ok(true);
                }
                if event.at_ms < not_before_ms {
                    return Ok(false);
                }
            }
            match page.last() {
                Some(oldest) if page.len() == DUPLICATE_SCAN_PAGE => before_seq = oldest.seq,
                Some(_) | None => return Ok(false),
            }
        }
    }

    /// The current view.
    pub(crate) async fn get(&self, account_id: AccountId) -> Result<Profile, ProfileError> {
        self.store
            .profile(account_id)
            .await?
            .ok_or(ProfileError::NotFound)
    }

    /// A page of events, newest first, before `before_seq`.
    pub(crate) async fn events(
        &self,
        account_id: AccountId,
        before_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<ProfileEvent>, ProfileError> {
        let limit = limit.clamp(1, MAX_EVENTS_PAGE);
        Ok(self
            .store
            .profile_events(account_id, before_seq, limit)
            .await?)
    }

    /// Rebuilds the view from the whole event log (the CQRS truth).
    pub(crate) async fn rebuild(&self, account_id: AccountId) -> Result<Profile, ProfileError> {
        let mut newest_first = self
            .store
            .profile_events(account_id, None, usize::MAX)
            .await?;
        newest_first.reverse();
        profile::fold(&newest_first).ok_or(ProfileError::NotFound)
    }

    async fn append(
        &self,
        account_id: AccountId,
        kind: ProfileEventKind,
    ) -> Result<Profile, ProfileError> {
        for _ in 0..APPEND_ATTEMPTS {
            let is_creation = matches!(kind, ProfileEventKind::ProfileCreated { .. });
            let mut current = self.store.profile(account_id).await?;
            if current.is_none() && !is_creation {
                // Only a creation may start a log; the view may just lag the log.
                self.catch_up_view(account_id).await?;
                current = Some(self.get(account_id).await?);
            }
            if current.is_some() && is_creation {
                return current.ok_or(ProfileError::NotFound);
            }
            let event = ProfileEvent {
                account_id,
                seq: current.as_ref().map_or(1, |view| view.version + 1),
                at_ms: self.clock.now_ms(),
                kind: kind.clone(),
            };
            match self.store.append_profile_event(&event).await? {
                AppendOutcome::Appended => {
                    let Some(next) = profile::apply(current, &event) else {
                        return Err(ProfileError::NotFound);
                    };
                    self.store.put_profile(&next).await?;
                    return Ok(next);
                }
                AppendOutcome::SeqTaken => self.catch_up_view(account_id).await?,
            }
        }
        Err(ProfileError::Contended)
    }

    /// After losing a race the view may lag the log (the winner may not have
    /// written it yet, or crashed before it did): fold the log and store it.
    async fn catch_up_view(&self, account_id: AccountId) -> Result<(), ProfileError> {
        if let Ok(rebuilt) = self.rebuild(account_id).await {
            self.store.put_profile(&rebuilt).await?;
        }
        Ok(())
    }
}
