//! The per-minute budgets of WebSocket traffic, kept per account on the node so a
//! reconnect does not refill them: sockets opened (429 or close 4013 beyond),
//! control messages (`rate_limited` beyond) and refused frames (close 4008 beyond). One socket per account at a time, so the
//! budget of the account is the budget of its socket; a new socket inherits what
//! the last one spent. Entries idle for a minute are swept, at most once a minute
//! and in O(entries), so the table holds only accounts active in the last minute
//! or two.

use std::sync::Mutex;
use std::time::Duration;

use dashmap::DashMap;
use tokio::time::Instant;

use super::rate::WindowLimiter;
use crate::domain::AccountId;

/// The window every budget is counted over.
const WINDOW: Duration = Duration::from_secs(60);

/// One account's budgets.
#[derive(Debug)]
struct Budgets {
    /// Control messages accepted in the window.
    control: WindowLimiter,
    /// Frames refused in the window.
    errors: WindowLimiter,
    /// Sockets opened in the window.
    connects: WindowLimiter,
    /// When any was last used, for the sweep.
    last_used: Instant,
}

/// Which budget an event spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Budget {
    /// A control message.
    Control,
    /// A refused frame.
    Error,
}

/// Per-account budgets of one node.
#[derive(Debug)]
pub(crate) struct AccountBudgets {
    /// Control messages allowed per account per minute.
    control_per_minute: u32,
    /// Refused frames allowed per account per minute before the socket closes.
    errors_per_minute: u32,
    /// Sockets an account may open per minute.
    connects_per_minute: u32,
    /// The budgets of accounts active lately.
    accounts: DashMap<AccountId, Budgets>,
    /// When idle entries were last swept.
    last_sweep: Mutex<Instant>,
}

impl AccountBudgets {
    /// Empty budgets with these per-minute limits.
    pub(crate) fn new(
        control_per_minute: u32,
        errors_per_minute: u32,
        connects_per_minute: u32,
    ) -> Self {
        Self {
            control_per_minute,
            errors_per_minute,
            connects_per_minute,
            accounts: DashMap::new(),
            last_sweep: Mutex::new(Instant::now()),
        }
    }

    /// Spends one event of `budget` for `account` at `now`; false when the
    /// account's budget for the last minute is spent (nothing is recorded then).
    pub(crate) fn try_spend(&self, account: AccountId, budget: Budget, now: Instant) -> bool {
        let mut entry = self.entry(account, now);
        match budget {
            Budget::Control => entry.control.try_acquire(now),
            Budget::Error => entry.errors.try_acquire(now),
        }
    }

    /// Counts a socket opened by `account` at `now`, or says how long until the
    /// account may open one (nothing is recorded then).
    pub(crate) fn try_connect(&self, account: AccountId, now: Instant) -> Result<(), Duration> {
        let mut entry = self.entry(account, now);
        if entry.connects.try_acquire(now) {
            Ok(())
        } else {
            Err(entry.connects.wait_after(now))
        }
    }

    /// The account's budgets, created when absent, marked used at `now`.
    fn entry(
        &self,
        account: AccountId,
        now: Instant,
    ) -> dashmap::mapref::one::RefMut<'_, AccountId, Budgets> {
        self.sweep_if_due(now);
        let mut entry = self.accounts.entry(account).or_insert_with(|| Budgets {
            control: WindowLimiter::new(self.control_per_minute, WINDOW),
            errors: WindowLimiter::new(self.errors_per_minute, WINDOW),
            connects: WindowLimiter::new(self.connects_per_minute, WINDOW),
            last_used: now,
        });
        entry.last_used = now;
        entry
    }

    /// The control-message limit, for the refusal's text.
    pub(crate) fn control_per_minute(&self) -> u32 {
        self.control_per_minute
    }

    /// Accounts currently tracked.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.accounts.len()
    }

    fn sweep_if_due(&self, now: Instant) {
        let Ok(mut last_sweep) = self.last_sweep.try_lock() else {
            return;
        };
        if now.saturating_duration_since(*last_sweep) < WINDOW {
            return;
        }
        *last_sweep = now;
        drop(last_sweep);
        self.accounts
            .retain(|_, budgets| now.saturating_duration_since(budgets.last_used) < WINDOW);
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn account(n: u128) -> AccountId {
        AccountId(Uuid::from_u128(n))
    }

    #[tokio::test(start_paused = true)]
    async fn budgets_are_per_account_and_refill_after_a_minute() {
        let budgets = AccountBudgets::new(3, 2, 2);
        let now = Instant::now();
        for _ in 0..3 {
            assert!(budgets.try_spend(account(1), Budget::Control, now));
        }
        assert!(!budgets.try_spend(account(1), Budget::Control, now));
        assert!(
            budgets.try_spend(account(2), Budget::Control, now),
            "another account"
        );
        assert!(
            budgets.try_spend(account(1), Budget::Error, now),
            "another budget"
        );
        let later = now + WINDOW;
        assert!(budgets.try_spend(account(1), Budget::Control, later));
    }

    #[tokio::test(start_paused = true)]
    async fn connects_beyond_the_budget_are_told_when_to_retry() {
        let budgets = AccountBudgets::new(3, 2, 2);
        let start = Instant::now();
        assert_eq!(budgets.try_connect(account(1), start), Ok(()));
        let second = start + Duration::from_secs(20);
        assert_eq!(budgets.try_connect(account(1), second), Ok(()));
        let third = start + Duration::from_secs(25);
        assert_eq!(
            budgets.try_connect(account(1), third),
            Err(Duration::from_secs(35)),
            "the first connect leaves the window 60 s after it"
        );
        assert_eq!(
            budgets.try_connect(account(2), third),
            Ok(()),
            "another account"
        );
        assert_eq!(budgets.try_connect(account(1), start + WINDOW), Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn idle_accounts_are_swept() {
        let budgets = AccountBudgets::new(3, 2, 2);
        let now = Instant::now();
        for n in 0..1_000 {
            budgets.try_spend(account(n), Budget::Control, now);
        }
        assert_eq!(budgets.tracked(), 1_000);
        budgets.try_spend(account(5_000), Budget::Control, now + 2 * WINDOW);
        assert_eq!(budgets.tracked(), 1, "only the account active now");
    }
}
