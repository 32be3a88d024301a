//! The per-citizen limits on connection requests that the `RequestRegistry`
//! applies before it looks at positions: requests per hour, the cooldown before
//! asking the same officer again after a request ended without a connection, and
//! officers' blocks. Kept per account (a reconnect resets nothing), in memory on
//! the node that holds the citizen's requests; every table is bounded by the
//! limits themselves and swept of expired entries.

use std::collections::{HashMap, VecDeque};

use uuid::Uuid;

use crate::domain::AccountId;
use crate::proto::RequestState;

/// How long a block lasts: the rest of the officer's day wherever it is.
pub(crate) const BLOCK_DURATION_MS: i64 = 24 * 3_600_000;
/// How long after it ended a request can still be named in `block`.
pub(crate) const BLOCKABLE_AFTER_END_MS: i64 = 3_600_000;
/// The window of the hourly cap.
const HOUR_MS: i64 = 3_600_000;

/// The citizen's requests of the last hour reached the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HourlyCapReached;

/// Why a request to one officer is refused before it reaches the officer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The same officer again within the cooldown.
    Cooldown,
    /// The officer blocked this citizen (shown as `officer_unavailable`).
    Blocked,
}

/// The rules, from `[connections]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LimitRules {
    /// Requests a citizen may make in any hour.
    pub(crate) max_requests_per_hour: u32,
    /// Wait before asking the same officer after a request ended unanswered.
    pub(crate) cooldown_ms: i64,
}

/// A request that is no longer pending, kept so `block` can still name it.
#[derive(Debug, Clone, Copy)]
struct Ended {
    citizen: AccountId,
    officer: AccountId,
    at_ms: i64,
}

/// The limits' state.
#[derive(Debug)]
pub(crate) struct RequestLimits {
    /// The rules.
    rules: LimitRules,
    /// Each citizen's request times in the last hour (at most the cap each).
    recent_requests: HashMap<AccountId, VecDeque<i64>>,
    /// (citizen, officer) → end of the cooldown.
    cooldowns: HashMap<(AccountId, AccountId), i64>,
    /// (officer, citizen) → end of the block.
    blocks: HashMap<(AccountId, AccountId), i64>,
    /// Requests that ended within the last hour, by id.
    ended: HashMap<Uuid, Ended>,
}

impl RequestLimits {
    /// Empty tables under `rules`.
    pub(crate) fn new(rules: LimitRules) -> Self {
        Self {
            rules,
            recent_requests: HashMap::new(),
            cooldowns: HashMap::new(),
            blocks: HashMap::new(),
            ended: HashMap::new(),
        }
    }

    /// Counts a new request of `citizen` against the hourly cap; refuses (and
    /// does not count) it when the cap is reached.
    pub(crate) fn count_request(
        &mut self,
        citizen: AccountId,
        now_ms: i64,
    ) -> Result<(), HourlyCapReached> {
        let times = self.recent_requests.entry(citizen).or_default();
        while times.front().is_some_and(|at| now_ms - *at >= HOUR_MS) {
            times.pop_front();
        }
        if times.len() >= self.rules.max_requests_per_hour as usize {
            return Err(HourlyCapReached);
        }
        times.push_back(now_ms);
        Ok(())
    }

    /// Whether `citizen` may ask `officer` now (block, then cooldown).
    pub(crate) fn check_officer(
        &self,
        citizen: AccountId,
        officer: AccountId,
        now_ms: i64,
    ) -> Result<(), Refusal> {
        if self
            .blocks
            .get(&(officer, citizen))
            .is_some_and(|until| now_ms < *until)
        {
            return Err(Refusal::Blocked);
        }
        if self
            .cooldowns
            .get(&(citizen, officer))
            .is_some_and(|until| now_ms < *until)
        {
            return Err(Refusal::Cooldown);
        }
        Ok(())
    }

    /// A request ended in `state`: remembered for `block`, and a cooldown starts
    /// when it ended without a connection.
    pub(crate) fn request_ended(
        &mut self,
        request_id: Uuid,
        citizen: AccountId,
        officer: AccountId,
        state: RequestState,
        now_ms: i64,
    ) {
        self.ended.insert(
            request_id,
            Ended {
                citizen,
                officer,
                at_ms: now_ms,
            },
        );
        let cools_down = match state {
            RequestState::Cancelled | RequestState::Declined | RequestState::Expired => true,
            RequestState::Pending
            | RequestState::Accepted
            | RequestState::OfficerBusy
            | RequestState::OfficerUnavailable
            | RequestState::OutOfRange => false,
        };
        if cools_down && self.rules.cooldown_ms > 0 {
            self.cooldowns
                .insert((citizen, officer), now_ms + self.rules.cooldown_ms);
        }
    }

    /// The citizen of an ended request of `officer`, if it ended recently enough
    /// to be blocked.
    pub(crate) fn ended_citizen(
        &self,
        request_id: Uuid,
        officer: AccountId,
        now_ms: i64,
    ) -> Option<AccountId> {
        self.ended
            .get(&request_id)
            .filter(|ended| {
                ended.officer == officer && now_ms - ended.at_ms < BLOCKABLE_AFTER_END_MS
            })
            .map(|ended| ended.citizen)
    }

    /// `officer` blocks `citizen`; returns when the block ends.
    pub(crate) fn block(&mut self, officer: AccountId, citizen: AccountId, now_ms: i64) -> i64 {
        let until_ms = now_ms + BLOCK_DURATION_MS;
        self.blocks.insert((officer, citizen), until_ms);
        until_ms
    }

    /// Drops every expired entry.
    pub(crate) fn sweep(&mut self, now_ms: i64) {
        self.recent_requests.retain(|_, times| {
            while times.front().is_some_and(|at| now_ms - *at >= HOUR_MS) {
                times.pop_front();
            }
            !times.is_empty()
        });
        self.cooldowns.retain(|_, until| now_ms < *until);
        self.blocks.retain(|_, until| now_ms < *until);
        self.ended
            .retain(|_, ended| now_ms - ended.at_ms < BLOCKABLE_AFTER_END_MS);
    }

    /// Entries held, for tests.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.recent_requests.len() + self.cooldowns.len() + self.blocks.len() + self.ended.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(n: u128) -> AccountId {
        AccountId(Uuid::from_u128(n))
    }

    fn limits() -> RequestLimits {
        RequestLimits::new(LimitRules {
            max_requests_per_hour: 3,
            cooldown_ms: 600_000,
        })
    }

    #[test]
    fn the_hourly_cap_slides() {
        let mut limits = limits();
        let citizen = account(1);
        for minute in 0..3 {
            assert_eq!(limits.count_request(citizen, minute * 60_000), Ok(()));
        }
        assert_eq!(
            limits.count_request(citizen, 59 * 60_000),
            Err(HourlyCapReached)
        );
        // The first request leaves the window an hour after it was made.
        assert_eq!(limits.count_request(citizen, 60 * 60_000), Ok(()));
        assert_eq!(limits.count_request(account(2), 60 * 60_000), Ok(()));
    }

    #[test]
    fn a_cooldown_follows_requests_that_ended_without_a_connection() {
        for (state, cools_down) in [
            (RequestState::Cancelled, true),
            (RequestState::Declined, true),
            (RequestState::Expired, true),
            (RequestState::Accepted, false),
            (RequestState::OutOfRange, false),
        ] {
            let mut limits = limits();
            limits.request_ended(Uuid::from_u128(9), account(1), account(2), state, 0);
            let expected = if cools_down {
                Err(Refusal::Cooldown)
            } else {
                Ok(())
            };
            assert_eq!(
                limits.check_officer(account(1), account(2), 599_999),
                expected,
                "{state:?}"
            );
            assert_eq!(limits.check_officer(account(1), account(3), 1), Ok(()));
            assert_eq!(
                limits.check_officer(account(1), account(2), 600_000),
                Ok(())
            );
        }
    }

    #[test]
    fn blocks_last_a_day_and_name_recent_requests_only() {
        let mut limits = limits();
        let (citizen, officer) = (account(1), account(2));
        let request = Uuid::from_u128(9);
        limits.request_ended(request, citizen, officer, RequestState::Accepted, 0);
        assert_eq!(
            limits.ended_citizen(request, account(3), 1),
            None,
            "another officer's"
        );
        assert_eq!(
            limits.ended_citizen(request, officer, BLOCKABLE_AFTER_END_MS),
            None
        );
        assert_eq!(limits.ended_citizen(request, officer, 1_000), Some(citizen));
        let until = limits.block(officer, citizen, 1_000);
        assert_eq!(until, 1_000 + BLOCK_DURATION_MS);
        assert_eq!(
            limits.check_officer(citizen, officer, until - 1),
            Err(Refusal::Blocked)
        );
        assert_eq!(limits.check_officer(citizen, account(3), 2_000), Ok(()));
        assert_eq!(limits.check_officer(citizen, officer, until), Ok(()));
    }

    #[test]
    fn sweeping_empties_every_table() {
        let mut limits = limits();
        for n in 0..100 {
            let citizen = account(n);
            limits.count_request(citizen, 0).unwrap();
            limits.request_ended(
                Uuid::from_u128(n),
                citizen,
                account(1_000),
                RequestState::Declined,
                0,
            );
            limits.block(account(1_000), citizen, 0);
        }
        assert_eq!(limits.len(), 400);
        limits.sweep(HOUR_MS);
        assert_eq!(limits.len(), 100, "only the blocks are left after an hour");
        limits.sweep(BLOCK_DURATION_MS);
        assert_eq!(limits.len(), 0);
    }
}
