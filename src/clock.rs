//! Wall-clock milliseconds derived from tokio's clock. Production reads the system
//! time once and advances with `tokio::time::Instant`; tests that pause and advance
//! tokio's clock move this clock too, so expiry rules are tested without sleeping.

use tokio::time::Instant;

/// Milliseconds since the Unix epoch, steered by tokio's (pausable) clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// Tokio instant at which `origin_unix_ms` was read.
    origin_instant: Instant,
    /// System time at `origin_instant`.
    origin_unix_ms: i64,
}

impl Clock {
    /// A clock starting at the current system time.
    pub fn system() -> Self {
        let origin_unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Self::starting_at(origin_unix_ms)
    }

    /// A clock that reads `unix_ms` now (tests pin the calendar with it).
    pub fn starting_at(unix_ms: i64) -> Self {
        Self {
            origin_instant: Instant::now(),
            origin_unix_ms: unix_ms,
        }
    }

    /// Current time in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        let elapsed = self.origin_instant.elapsed().as_millis();
        self.origin_unix_ms
            .saturating_add(i64::try_from(elapsed).unwrap_or(i64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn follows_a_paused_tokio_clock() {
        let clock = Clock::starting_at(1_000);
        assert_eq!(clock.now_ms(), 1_000);
        tokio::time::advance(std::time::Duration::from_secs(300)).await;
        assert_eq!(clock.now_ms(), 301_000);
    }
}
