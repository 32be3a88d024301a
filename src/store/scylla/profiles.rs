//! [`ProfileStore`] on CQL. Event logs live in `profile_events`, one partition
//! per account and bucket of [`EVENTS_PER_BUCKET`] sequence numbers (so no
//! partition grows without bound, and `IF NOT EXISTS` on the sequence number
//! keeps seqs unique per account); `profile_event_buckets` lists an account's
//! buckets newest first, so a page walks buckets from the newest down until it
//! is full. Views live in `profiles`, replaced by compare-and-set on `version`.

use async_trait::async_trait;
use uuid::Uuid;

use super::ScyllaStore;
use super::codec::{corrupt, first_row, from_bigint, role_from_text, role_text, rows, to_bigint};
use crate::domain::AccountId;
use crate::domain::profile::{Profile, ProfileEvent, ProfileEventKind};
use crate::store::{AppendOutcome, ProfileStore, StoreError, StoreResult};

/// Sequence numbers per event-log partition.
const EVENTS_PER_BUCKET: u64 = 1000;

/// Compare-and-set rounds `put_profile` makes before giving up (each lost round
/// means another writer changed the row in between).
const PUT_PROFILE_ATTEMPTS: usize = 5;

/// Columns of `SELECT ... FROM profile_events`.
type EventRow = (i64, i64, String);

/// Columns of `SELECT ... FROM profiles`.
type ProfileRow = (
    String,
    String,
    Option<String>,
    bool,
    String,
    i64,
    i64,
    i64,
    Option<bool>,
);

/// The bucket holding `seq`.
fn bucket_of(seq: u64) -> StoreResult<i64> {
    to_bigint(seq / EVENTS_PER_BUCKET, "event bucket")
}

fn event_from_row(account_id: AccountId, row: EventRow) -> StoreResult<ProfileEvent> {
    let (seq, at_ms, kind) = row;
    let kind: ProfileEventKind =
        serde_json::from_str(&kind).map_err(|error| corrupt("profile event", error))?;
    Ok(ProfileEvent {
        account_id,
        seq: from_bigint(seq, "profile event seq")?,
        at_ms,
        kind,
    })
}

fn profile_from_row(account_id: AccountId, row: ProfileRow) -> StoreResult<Profile> {
    let (
        display_name,
        bio,
        avatar_url,
        share_to_social,
        role,
        created_at_ms,
        updated_at_ms,
        version,
        share_name,
    ) = row;
    Ok(Profile {
        account_id,
        display_name,
        bio,
        avatar_url,
        share_to_social,
        // Rows written before the column existed hold null: not named.
        share_name: share_name.unwrap_or(false),
        role: role_from_text(&role)?,
        created_at_ms,
        updated_at_ms,
        version: from_bigint(version, "profile version")?,
    })
}

#[async_trait]
impl ProfileStore for ScyllaStore {
    async fn append_profile_event(&self, event: &ProfileEvent) -> StoreResult<AppendOutcome> {
        let bucket = bucket_of(event.seq)?;
        let seq = to_bigint(event.seq, "profile event seq")?;
        let kind = serde_json::to_string(&event.kind).map_err(|error| {
            StoreError::Backend(format!("cannot encode profile event: {error}"))
        })?;
        // The bucket is listed before any event lands in it, so a reader never
        // misses a stored event.
        self.execute(
            |connected| &connected.statements.insert_event_bucket,
            (event.account_id.0, bucket),
        )
        .await?;
        let append = self
            .execute_conditional(
                |connected| &connected.statements.insert_event,
                (event.account_id.0, bucket, seq, event.at_ms, kind),
                "profile event",
            )
            .await?;
        Ok(if append.applied {
            AppendOutcome::Appended
        } else {
            AppendOutcome::SeqTaken
        })
    }

    async fn replace_profile_event(&self, event: &ProfileEvent) -> StoreResult<()> {
        let bucket = bucket_of(event.seq)?;
        let seq = to_bigint(event.seq, "profile event seq")?;
        let kind = serde_json::to_string(&event.kind).map_err(|error| {
            StoreError::Backend(format!("cannot encode profile event: {error}"))
        })?;
        // Conditional like the append, so both writes of the row are ordered by
        // Paxos; a missing row stays missing.
        self.execute_conditional(
            |connected| &connected.statements.deletion.replace_event,
            (kind, event.account_id.0, bucket, seq),
            "profile event rewrite",
        )
        .await?;
        Ok(())
    }

    async fn profile_events(
        &self,
        account_id: AccountId,
        before_seq: Option<u64>,
        limit: usize,
    ) -> StoreResult<Vec<ProfileEvent>> {
        let mut page = Vec::new();
        let before = match before_seq {
            Some(0) => return Ok(page),
            Some(before_seq) => Some(to_bigint(before_seq, "profile event seq")?),
            None => None,
        };
        if limit == 0 {
            return Ok(page);
        }
        let buckets_result = match before_seq {
            Some(before_seq) => {
                self.execute(
                    |connected| &connected.statements.select_buckets_up_to,
                    (account_id.0, bucket_of(before_seq - 1)?),
                )
                .await?
            }
            None => {
                self.execute(
                    |connected| &connected.statements.select_buckets,
                    (account_id.0,),
                )
                .await?
            }
        };
        let buckets = rows::<(i64,)>(buckets_result, "event bucket")?;
        for (bucket,) in buckets {
            let wanted = i32::try_from(limit - page.len()).unwrap_or(i32::MAX);
            let result = match before {
                Some(before) => {
                    self.execute(
                        |connected| &connected.statements.select_events_before,
                        (account_id.0, bucket, before, wanted),
                    )
                    .await?
                }
                None => {
                    self.execute(
                        |connected| &connected.statements.select_events,
                        (account_id.0, bucket, wanted),
                    )
                    .await?
                }
            };
            for row in rows::<EventRow>(result, "profile event")? {
                page.push(event_from_row(account_id, row)?);
            }
            if page.len() >= limit {
                break;
            }
        }
        page.truncate(limit);
        Ok(page)
    }

    async fn profile(&self, account_id: AccountId) -> StoreResult<Option<Profile>> {
        let result = self
            .execute(
                |connected| &connected.statements.select_profile,
                (account_id.0,),
            )
            .await?;
        first_row::<ProfileRow>(result, "profile")?
            .map(|row| profile_from_row(account_id, row))
            .transpose()
    }

    async fn put_profile(&self, profile: &Profile) -> StoreResult<()> {
        let account_id: Uuid = profile.account_id.0;
        let version = to_bigint(profile.version, "profile version")?;
        let role = role_text(profile.role);
        for _attempt in 0..PUT_PROFILE_ATTEMPTS {
            let replace = self
                .execute_conditional(
                    |connected| &connected.statements.update_profile_if_not_newer,
                    (
                        profile.display_name.as_str(),
                        profile.bio.as_str(),
                        profile.avatar_url.as_deref(),
                        profile.share_to_social,
                        role,
                        profile.created_at_ms,
                        profile.updated_at_ms,
                        version,
                        profile.share_name,
                        account_id,
                        version,
                    ),
                    "profile",
                )
                .await?;
            if replace.applied || replace.current_bigint("version").is_some() {
                // Written, or a newer view is stored and stays.
                return Ok(());
            }
            let insert = self
                .execute_conditional(
                    |connected| &connected.statements.insert_profile_if_absent,
                    (
                        account_id,
                        profile.display_name.as_str(),
                        profile.bio.as_str(),
                        profile.avatar_url.as_deref(),
                        profile.share_to_social,
                        role,
                        profile.created_at_ms,
                        profile.updated_at_ms,
                        version,
                        profile.share_name,
                    ),
                    "profile",
                )
                .await?;
            if insert.applied {
                return Ok(());
            }
        }
        Err(StoreError::Unavailable(format!(
            "profile {account_id} kept changing during {PUT_PROFILE_ATTEMPTS} writes"
        )))
    }
}
