//! Per-client-IP limit on code requests: a fixed one-hour window per address,
//! held in memory (a restart forgets it; the per-phone limits are stored).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Length of one counting window.
const WINDOW_MS: i64 = 3_600_000;
/// Addresses remembered before expired windows are swept out.
const SWEEP_ABOVE_ENTRIES: usize = 100_000;

/// Counts code requests per IP address.
#[derive(Debug)]
pub(crate) struct IpRequestLimiter {
    /// Requests allowed per address per window.
    max_per_window: u32,
    /// Address → (window start, requests in it).
    windows: Mutex<HashMap<IpAddr, (i64, u32)>>,
}

impl IpRequestLimiter {
    /// A limiter allowing `max_per_window` requests per address per hour.
    pub(crate) fn new(max_per_window: u32) -> Self {
        Self {
            max_per_window,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request at `now_ms`; `Err(retry_after_seconds)` when over the limit.
    pub(crate) fn check(&self, address: IpAddr, now_ms: i64) -> Result<(), u64> {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() > SWEEP_ABOVE_ENTRIES {
            windows.retain(|_, (start, _)| now_ms - *start < WINDOW_MS);
        }
        let (start, count) = windows.entry(address).or_insert((now_ms, 0));
        if now_ms - *start >= WINDOW_MS {
            *start = now_ms;
            *count = 0;
        }
        if *count >= self.max_per_window {
            let remaining_ms = (*start + WINDOW_MS - now_ms).max(1);
            return Err((remaining_ms as u64).div_ceil(1000));
        }
        *count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_each_address_per_hour() {
        let limiter = IpRequestLimiter::new(2);
        let address: IpAddr = [10, 0, 0, 1].into();
        let other: IpAddr = [10, 0, 0, 2].into();
        assert_eq!(limiter.check(address, 0), Ok(()));
        assert_eq!(limiter.check(address, 1_000), Ok(()));
        assert_eq!(limiter.check(address, 2_000), Err(3_598));
        assert_eq!(limiter.check(other, 2_000), Ok(()));
        assert_eq!(limiter.check(address, WINDOW_MS), Ok(()));
    }
}
