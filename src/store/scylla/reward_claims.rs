//! Reward claims on CQL, so the anti-farming rules hold across nodes:
//!
//! * `reward_day_slots`: a person's UTC day has `cap` slots, each a row taken
//!   with `IF NOT EXISTS` by one connection. A claim reads the day's rows at
//!   `SERIAL` (at most `cap` of them), and takes the first free slot; a lost
//!   race reads again. Rows live [`DAY_SLOT_TTL_SECONDS`].
//! * `pair_reward_claims`: one row per pair naming the connection holding its
//!   reward, taken by compare-and-set on that holder, and only when the
//!   holder's reward is at least the cooldown old. The replaced holder is kept,
//!   so a release (the connection rewarded nobody after all) restores it. Rows
//!   live the cooldown plus a day.
//!
//! A write whose answer was lost (maybe applied) is decided by the next
//! `SERIAL` read, which shows the claim held by this connection or not.

use uuid::Uuid;

use super::ScyllaStore;
use super::codec::{first_row, may_have_applied, rows};
use super::connections::ordered_pair;
use crate::domain::AccountId;
use crate::store::{PairRewardClaim, StoreError, StoreResult};

/// How long a day's slots are kept: the day and one more (in seconds).
const DAY_SLOT_TTL_SECONDS: i32 = 2 * 86_400;

/// Rounds of read-then-claim before a claim gives up (each lost round means
/// another connection of the person or pair claimed in between).
const CLAIM_ATTEMPTS: usize = 32;

/// Columns of `SELECT ... FROM pair_reward_claims`.
type PairClaimRow = (Option<Uuid>, Option<i64>, Option<Uuid>, Option<i64>);

/// The TTL of a pair's claim: the cooldown and a day more, in seconds.
fn pair_claim_ttl_seconds(cooldown_ms: i64) -> i32 {
    let seconds = cooldown_ms.max(0) / 1000 + 86_400;
    i32::try_from(seconds).unwrap_or(i32::MAX)
}

impl ScyllaStore {
    /// The slots taken on a person's day and their holders, read at `SERIAL`.
    async fn day_slots(&self, account_id: AccountId, day: i64) -> StoreResult<Vec<(i32, Uuid)>> {
        let result = self
            .execute(
                |connected| &connected.statements.ledger.select_day_slots,
                (account_id.0, day),
            )
            .await?;
        Ok(rows::<(i32, Option<Uuid>)>(result, "reward day slot")?
            .into_iter()
            .filter_map(|(slot, holder)| holder.map(|holder| (slot, holder)))
            .collect())
    }

    /// A pair's claim, read at `SERIAL`: (holder, its time, previous holder,
    /// its time).
    async fn pair_claim(&self, first: AccountId, second: AccountId) -> StoreResult<PairClaimRow> {
        let result = self
            .execute(
                |connected| &connected.statements.ledger.select_pair_claim,
                (first.0, second.0),
            )
            .await?;
        Ok(first_row::<PairClaimRow>(result, "pair reward claim")?
            .unwrap_or((None, None, None, None)))
    }

    /// See [`crate::store::ConnectionStore::claim_daily_reward`].
    pub(super) async fn claim_day_slot(
        &self,
        account_id: AccountId,
        day: i64,
        cap: u32,
        connection_id: Uuid,
    ) -> StoreResult<bool> {
        let cap = i32::try_from(cap).unwrap_or(i32::MAX);
        for _attempt in 0..CLAIM_ATTEMPTS {
            let taken = self.day_slots(account_id, day).await?;
            if taken.iter().any(|(_, holder)| *holder == connection_id) {
                return Ok(true);
            }
            let Some(free) = (0..cap).find(|slot| taken.iter().all(|(taken, _)| taken != slot))
            else {
                return Ok(false);
            };
            let claim = self
                .execute_conditional(
                    |connected| &connected.statements.ledger.claim_day_slot,
                    (account_id.0, day, free, connection_id, DAY_SLOT_TTL_SECONDS),
                    "reward day slot claim",
                )
                .await;
            match claim {
                Ok(claim) if claim.applied => return Ok(true),
                Ok(_refused) => {}
                Err(error) if may_have_applied(&error) => {}
                Err(error) => return Err(error),
            }
        }
        Err(StoreError::Unavailable(format!(
            "reward slots of {} kept changing during {CLAIM_ATTEMPTS} claims",
            account_id.0
        )))
    }

    /// See [`crate::store::ConnectionStore::claim_pair_reward`].
    pub(super) async fn claim_pair(&self, claim: &PairRewardClaim) -> StoreResult<bool> {
        let (first, second) = ordered_pair(claim.first, claim.second);
        let ttl = pair_claim_ttl_seconds(claim.cooldown_ms);
        for _attempt in 0..CLAIM_ATTEMPTS {
            let (holder, held_at_ms, _, _) = self.pair_claim(first, second).await?;
            let taken = match (holder, held_at_ms) {
                (Some(holder), _) if holder == claim.connection_id => return Ok(true),
                (Some(holder), Some(held_at_ms)) => {
                    if claim.at_ms - held_at_ms < claim.cooldown_ms {
                        return Ok(false);
                    }
                    self.execute_conditional(
                        |connected| &connected.statements.ledger.claim_pair,
                        (
                            ttl,
                            claim.connection_id,
                            claim.at_ms,
                            holder,
                            held_at_ms,
                            first.0,
                            second.0,
                            holder,
                        ),
                        "pair reward claim",
                    )
                    .await
                }
                (Some(_), None) | (None, _) => {
                    self.execute_conditional(
                        |connected| &connected.statements.ledger.claim_free_pair,
                        (ttl, claim.connection_id, claim.at_ms, first.0, second.0),
                        "pair reward claim",
                    )
                    .await
                }
            };
            match taken {
                Ok(taken) if taken.applied => return Ok(true),
                Ok(_refused) => {}
                Err(error) if may_have_applied(&error) => {}
                Err(error) => return Err(error),
            }
        }
        Err(StoreError::Unavailable(format!(
            "reward claim of a pair of {} kept changing during {CLAIM_ATTEMPTS} claims",
            first.0
        )))
    }

    /// See [`crate::store::ConnectionStore::release_pair_reward`].
    pub(super) async fn release_pair(
        &self,
        first: AccountId,
        second: AccountId,
        connection_id: Uuid,
    ) -> StoreResult<()> {
        let (first, second) = ordered_pair(first, second);
        let (holder, _, previous, previous_at_ms) = self.pair_claim(first, second).await?;
        if holder != Some(connection_id) {
            return Ok(());
        }
        self.execute_conditional(
            |connected| &connected.statements.ledger.release_pair,
            (
                // The restored holder was at least the cooldown older than the
                // released one, so it blocks only connections accepted before
                // that one; a day covers their retries.
                DAY_SLOT_TTL_SECONDS,
                previous,
                previous_at_ms,
                first.0,
                second.0,
                connection_id,
            ),
            "pair reward release",
        )
        .await?;
        Ok(())
    }
}
