//! Rows of the embedded store that matter only for a while — a day's reward
//! count and slots, a pair's last reward and reward claim, a limit slot of a
//! day or month window, a stock move's idempotency mark, a phone's one-time
//! code state — are filed in
//! `expiring_rows` under the time they stop mattering, in the transaction that
//! writes them, for the spans the CQL store gives the same rows as TTLs. The
//! hourly sweep (`purge_expired_tokens`) removes what is due, reading only due
//! entries, in transactions of at most [`SWEEP_BATCH`] rows.
//!
//! A row written again later is filed again; an entry filed for an older write
//! of a pair's rows carries that write's time and leaves a newer write alone.

use redb::{ReadableTable, WriteTransaction};

use super::codec::{decode, redb_error};
use super::connections::PairHolder;
use super::tables::{
    DAILY_REWARDED, DayKey, EXPIRING_ROWS, HashKey, LIMIT_SLOTS, LimitSlotKey, OTP_CHALLENGES,
    PAIR_LAST_REWARDED, PAIR_REWARD_CLAIMS, PairKey, REWARD_DAY_SLOTS, STOCK_OPS, UuidKey, biased,
};
use crate::domain::voucher::LimitWindow;
use crate::store::{OTP_RETENTION_MS, OtpChallenge, StoreResult};

/// Due rows removed per write transaction: keeps writers waiting briefly.
pub(super) const SWEEP_BATCH: usize = 10_000;

/// Bytes of an entry's time prefix.
const TIME_BYTES: usize = 8;

const DAY_MS: i64 = 86_400_000;

/// When the rows of UTC day `day` stop mattering: the end of the next day
/// (CQL: a TTL of two days).
pub(super) fn day_rows_expire_at_ms(day: i64) -> i64 {
    day.saturating_add(2).saturating_mul(DAY_MS)
}

/// When a pair's last reward at `at_ms` stops mattering (CQL: eight days).
pub(super) fn pair_last_rewarded_expires_at_ms(at_ms: i64) -> i64 {
    at_ms.saturating_add(8 * DAY_MS)
}

/// When a pair's reward claim at `at_ms` stops mattering: the cooldown and a
/// day more (CQL: the same TTL).
pub(super) fn pair_claim_expires_at_ms(at_ms: i64, cooldown_ms: i64) -> i64 {
    at_ms.saturating_add(cooldown_ms).saturating_add(DAY_MS)
}

/// When a phone's one-time-code state stops mattering: a day after its code
/// expires, past the hourly send limits it carries (CQL: the same TTL).
pub(super) fn otp_challenge_expires_at_ms(code_expires_at_ms: i64) -> i64 {
    code_expires_at_ms.saturating_add(OTP_RETENTION_MS)
}

/// When a stock move's idempotency mark stops mattering (CQL: thirty days).
pub(super) fn stock_op_expires_at_ms(at_ms: i64) -> i64 {
    at_ms.saturating_add(30 * DAY_MS)
}

/// When a limit slot of `window` stops mattering: a day after the window
/// ends; never for a window of an offer's whole life.
pub(super) fn limit_slot_expires_at_ms(window: LimitWindow) -> Option<i64> {
    window
        .ends_at_ms()
        .map(|ends_at_ms| ends_at_ms.saturating_add(DAY_MS))
}

/// A table whose rows are filed for removal, by its tag in entry keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expiring {
    /// `daily_rewarded`: a person's rewarded connections of a day.
    DailyRewarded,
    /// `reward_day_slots`: the connections holding a person's day slots.
    RewardDaySlots,
    /// `pair_last_rewarded`: a pair's last reward (version: its time).
    PairLastRewarded,
    /// `pair_reward_claims`: a pair's reward holder (version: its time).
    PairRewardClaims,
    /// `limit_slots`: a redemption's slot in a day or month window.
    LimitSlots,
    /// `stock_ops`: a stock move's idempotency mark.
    StockOps,
    /// `otp_challenges`: a phone's one-time-code state (version: its version).
    OtpChallenges,
}

impl Expiring {
    const ALL: [Expiring; 7] = [
        Expiring::DailyRewarded,
        Expiring::RewardDaySlots,
        Expiring::PairLastRewarded,
        Expiring::PairRewardClaims,
        Expiring::LimitSlots,
        Expiring::StockOps,
        Expiring::OtpChallenges,
    ];

    fn tag(self) -> u8 {
        match self {
            Expiring::DailyRewarded => 1,
            Expiring::RewardDaySlots => 2,
            Expiring::PairLastRewarded => 3,
            Expiring::PairRewardClaims => 4,
            Expiring::LimitSlots => 5,
            Expiring::StockOps => 6,
            Expiring::OtpChallenges => 7,
        }
    }

    fn from_tag(tag: u8) -> Option<Expiring> {
        Expiring::ALL.into_iter().find(|table| table.tag() == tag)
    }
}

/// Files the row of `table` under `row_key` for removal at `expires_at_ms`.
/// `version` is the time the pair tables' row holds (removed only while it
/// holds no later one); 0 for the others.
pub(super) fn file(
    transaction: &WriteTransaction,
    table: Expiring,
    row_key: &[u8],
    expires_at_ms: i64,
    version: i64,
) -> StoreResult<()> {
    let mut key = Vec::with_capacity(TIME_BYTES + 1 + row_key.len());
    key.extend_from_slice(&biased(expires_at_ms));
    key.push(table.tag());
    key.extend_from_slice(row_key);
    let mut entries = transaction.open_table(EXPIRING_ROWS).map_err(redb_error)?;
    entries
        .insert(key.as_slice(), version)
        .map_err(redb_error)?;
    Ok(())
}

/// Removes up to [`SWEEP_BATCH`] rows due at or before `now_ms`, with their
/// entries; returns how many entries were due (fewer than the batch: done).
pub(super) fn sweep_due(transaction: &WriteTransaction, now_ms: i64) -> StoreResult<usize> {
    let end = biased(now_ms.saturating_add(1));
    let mut entries = transaction.open_table(EXPIRING_ROWS).map_err(redb_error)?;
    let mut due: Vec<(Vec<u8>, i64)> = Vec::new();
    for row in entries
        .range::<&[u8]>(..end.as_slice())
        .map_err(redb_error)?
        .take(SWEEP_BATCH)
    {
        let (key, version) = row.map_err(redb_error)?;
        due.push((key.value().to_vec(), version.value()));
    }
    for (key, version) in &due {
        if let (Some(&tag), Some(row_key)) = (key.get(TIME_BYTES), key.get(TIME_BYTES + 1..))
            && let Some(table) = Expiring::from_tag(tag)
        {
            remove_row(transaction, table, row_key, *version)?;
        }
        entries.remove(key.as_slice()).map_err(redb_error)?;
    }
    Ok(due.len())
}

/// Removes one filed row, if its key has the table's shape and, for the pair
/// tables, the row holds no write later than `version`.
fn remove_row(
    transaction: &WriteTransaction,
    table: Expiring,
    row_key: &[u8],
    version: i64,
) -> StoreResult<()> {
    match table {
        Expiring::DailyRewarded => {
            if let Ok(key) = <&DayKey>::try_from(row_key) {
                let mut rows = transaction.open_table(DAILY_REWARDED).map_err(redb_error)?;
                rows.remove(key).map_err(redb_error)?;
            }
        }
        Expiring::RewardDaySlots => {
            if let Ok(key) = <&DayKey>::try_from(row_key) {
                let mut rows = transaction
                    .open_table(REWARD_DAY_SLOTS)
                    .map_err(redb_error)?;
                rows.remove(key).map_err(redb_error)?;
            }
        }
        Expiring::PairLastRewarded => {
            if let Ok(key) = <&PairKey>::try_from(row_key) {
                let mut rows = transaction
                    .open_table(PAIR_LAST_REWARDED)
                    .map_err(redb_error)?;
                let last = rows.get(key).map_err(redb_error)?.map(|row| row.value());
                if last.is_some_and(|last| last <= version) {
                    rows.remove(key).map_err(redb_error)?;
                }
            }
        }
        Expiring::PairRewardClaims => {
            if let Ok(key) = <&PairKey>::try_from(row_key) {
                let mut rows = transaction
                    .open_table(PAIR_REWARD_CLAIMS)
                    .map_err(redb_error)?;
                let holder: Option<PairHolder> = match rows.get(key).map_err(redb_error)? {
                    Some(stored) => Some(decode(stored.value())?),
                    None => None,
                };
                if holder.is_some_and(|holder| holder.at_ms <= version) {
                    rows.remove(key).map_err(redb_error)?;
                }
            }
        }
        Expiring::LimitSlots => {
            if let Ok(key) = <&LimitSlotKey>::try_from(row_key) {
                let mut rows = transaction.open_table(LIMIT_SLOTS).map_err(redb_error)?;
                rows.remove(key).map_err(redb_error)?;
            }
        }
        Expiring::StockOps => {
            if let Ok(key) = <&UuidKey>::try_from(row_key) {
                let mut rows = transaction.open_table(STOCK_OPS).map_err(redb_error)?;
                rows.remove(key).map_err(redb_error)?;
            }
        }
        Expiring::OtpChallenges => {
            if let Ok(key) = <&HashKey>::try_from(row_key) {
                let mut rows = transaction.open_table(OTP_CHALLENGES).map_err(redb_error)?;
                let stored: Option<OtpChallenge> = match rows.get(key).map_err(redb_error)? {
                    Some(stored) => Some(decode(stored.value())?),
                    None => None,
                };
                // A challenge written again since was filed again, later.
                if stored.is_some_and(|challenge| {
                    i64::try_from(challenge.version).is_ok_and(|stored| stored <= version)
                }) {
                    rows.remove(key).map_err(redb_error)?;
                }
            }
        }
    }
    Ok(())
}
