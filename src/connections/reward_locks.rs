//! Reward decisions, one person at a time. Deciding a connection's rewards reads
//! each person's rewarded connections of the day and then inserts the record; two
//! connections of one person decided at once could both take the last reward of
//! the day. A lock per person closes that race without queueing unrelated
//! connections behind each other: the locks are striped (a fixed array, indexed
//! by the account id), both people's stripes are taken in index order, so any two
//! decisions sharing a person are serialised and no two can deadlock.

use tokio::sync::{Mutex, MutexGuard};

use crate::domain::AccountId;

/// Stripes: enough that unrelated connections rarely share one at thousands of
/// decisions a second, few enough to cost nothing (a few KiB per node).
const STRIPES: usize = 256;

/// The striped locks of one node.
#[derive(Debug)]
pub(crate) struct RewardLocks {
    /// One lock per stripe.
    stripes: Box<[Mutex<()>]>,
}

/// Held while one connection's rewards are decided and its record inserted.
#[derive(Debug)]
pub(crate) struct DecisionGuard<'locks> {
    /// The lower stripe, taken first.
    _first: MutexGuard<'locks, ()>,
    /// The higher stripe, when the two people hash to different stripes.
    _second: Option<MutexGuard<'locks, ()>>,
}

impl Default for RewardLocks {
    fn default() -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }
}

impl RewardLocks {
    /// Locks the stripes of both people, lower index first.
    pub(crate) async fn lock_pair(&self, one: AccountId, other: AccountId) -> DecisionGuard<'_> {
        let (low, high) = ordered(stripe_of(one), stripe_of(other));
        let first = self.stripes[low].lock().await;
        let second = match high {
            Some(high) => Some(self.stripes[high].lock().await),
            None => None,
        };
        DecisionGuard {
            _first: first,
            _second: second,
        }
    }
}

/// The stripe of an account: its id is random (UUID v4/v7 tail), so the low bits
/// spread evenly.
fn stripe_of(account: AccountId) -> usize {
    let bytes = account.0.as_bytes();
    usize::from(u16::from_le_bytes([bytes[14], bytes[15]])) % STRIPES
}

/// The two stripes in locking order; the second is `None` when they are the same.
fn ordered(a: usize, b: usize) -> (usize, Option<usize>) {
    match a.cmp(&b) {
        std::cmp::Ordering::Less => (a, Some(b)),
        std::cmp::Ordering::Greater => (b, Some(a)),
        std::cmp::Ordering::Equal => (a, None),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use uuid::Uuid;

    use super::*;

    fn account() -> AccountId {
        AccountId(Uuid::new_v4())
    }

    #[tokio::test]
    async fn decisions_sharing_a_person_wait_for_each_other() {
        let locks = Arc::new(RewardLocks::default());
        let officer = account();
        let held = locks.lock_pair(account(), officer).await;
        let second = {
            let locks = Arc::clone(&locks);
            tokio::spawn(async move {
                let _guard = locks.lock_pair(officer, account()).await;
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !second.is_finished(),
            "the same officer was decided twice at once"
        );
        drop(held);
        tokio::time::timeout(Duration::from_secs(5), second)
            .await
            .expect("the second decision ran once the first ended")
            .expect("no panic");
    }

    #[tokio::test]
    async fn a_pair_in_either_order_and_on_one_stripe_does_not_deadlock() {
        let locks = Arc::new(RewardLocks::default());
        let (a, b) = (account(), account());
        let mut tasks = Vec::new();
        for round in 0..200 {
            let locks = Arc::clone(&locks);
            tasks.push(tokio::spawn(async move {
                let _guard = if round % 2 == 0 {
                    locks.lock_pair(a, b).await
                } else {
                    locks.lock_pair(b, a).await
                };
                tokio::task::yield_now().await;
            }));
        }
        drop(locks.lock_pair(a, a).await);
        for task in tasks {
            tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .expect("no deadlock")
                .expect("no panic");
        }
    }

    #[test]
    fn stripes_spread_accounts() {
        let mut used = std::collections::HashSet::new();
        for _ in 0..2_000 {
            used.insert(stripe_of(account()));
        }
        assert!(
            used.len() > STRIPES * 9 / 10,
            "only {} stripes used",
            used.len()
        );
    }
}
