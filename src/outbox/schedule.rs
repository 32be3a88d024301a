//! When a failed delivery is tried again: the first attempt is made at once,
//! then a list of delays after each failed attempt (by default the attempts
//! fall at: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after the
//! one before, as Svix does), each stretched or shrunk by up to a jitter fraction so
//! that deliveries failing together do not retry together. After the last
//! delay the delivery is dead-lettered.

use std::time::Duration;

use rand::Rng;

/// The default delays, in seconds, before attempts 2 to 8.
pub(crate) const DEFAULT_DELAYS_SECONDS: [u64; 7] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];

/// The default jitter: each delay varies by up to a fifth either way.
pub(crate) const DEFAULT_JITTER: f64 = 0.2;

/// A retry schedule.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RetrySchedule {
    /// Delay after the n-th failed attempt (index n - 1); attempts beyond the
    /// list are not made.
    pub(crate) delays: Vec<Duration>,
    /// Fraction (0 to 1) by which a delay may be randomly lengthened or shortened.
    pub(crate) jitter: f64,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self {
            delays: DEFAULT_DELAYS_SECONDS
                .iter()
                .map(|seconds| Duration::from_secs(*seconds))
                .collect(),
            jitter: DEFAULT_JITTER,
        }
    }
}

impl RetrySchedule {
    /// When to try again after `failed_attempts` attempts have failed (the
    /// latest at `failed_at_ms`), or `None` to dead-letter.
    pub(crate) fn retry_at_ms(&self, failed_attempts: u32, failed_at_ms: i64) -> Option<i64> {
        let index = usize::try_from(failed_attempts).ok()?.checked_sub(1)?;
        let delay = self.delays.get(index)?;
        let base_ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
        let spread = self.jitter.clamp(0.0, 1.0);
        let factor = if spread > 0.0 {
            rand::rng().random_range(1.0 - spread..=1.0 + spread)
        } else {
            1.0
        };
        // Float to integer casts saturate; delays are far below 2^53 ms.
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        let jittered_ms = (base_ms as f64 * factor).round() as i64;
        Some(failed_at_ms.saturating_add(jittered_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_jitter_the_default_schedule_is_the_published_one() {
        let schedule = RetrySchedule {
            jitter: 0.0,
            ..RetrySchedule::default()
        };
        let expected = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];
        for (failed, seconds) in (1..).zip(expected) {
            assert_eq!(
                schedule.retry_at_ms(failed, 1_000),
                Some(1_000 + seconds * 1_000)
            );
        }
        assert_eq!(schedule.retry_at_ms(8, 1_000), None);
        assert_eq!(schedule.retry_at_ms(0, 1_000), None);
    }

    #[test]
    fn jitter_stays_within_its_fraction() {
        let schedule = RetrySchedule::default();
        for _ in 0..1_000 {
            let at = schedule.retry_at_ms(2, 0).expect("scheduled");
            assert!((240_000..=360_000).contains(&at), "{at}");
        }
    }
}
