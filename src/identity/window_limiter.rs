//! A keyed counter over one-hour windows, bounded in memory with constant work
//! per call: each key's window starts at its first event; keys live in two
//! generations, swapped once a window, so a key idle for two windows is gone
//! without a sweep. A full table refuses new keys until the next swap rather
//! than grow or forget counts an attacker could reset by flooding it.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// Length of one counting window.
pub(crate) const WINDOW_MS: i64 = 3_600_000;

/// Counts events per key per window.
#[derive(Debug)]
pub(crate) struct WindowLimiter<K> {
    /// Events allowed per key per window.
    max_per_window: u32,
    /// Keys held in the current generation at most.
    max_keys: usize,
    /// The two generations of counts.
    generations: Mutex<Generations<K>>,
}

/// Counts of the current generation and the one before.
#[derive(Debug)]
struct Generations<K> {
    /// When the current generation began.
    started_ms: i64,
    /// Key → (its window start, events in it), written since `started_ms`.
    current: HashMap<K, (i64, u32)>,
    /// Counts of the generation before, still live for keys whose window runs on.
    previous: HashMap<K, (i64, u32)>,
}

impl<K: Hash + Eq + Copy> WindowLimiter<K> {
    /// A limiter allowing `max_per_window` events per key, over at most `max_keys` keys.
    pub(crate) fn new(max_per_window: u32, max_keys: usize) -> Self {
        Self {
            max_per_window,
            max_keys,
            generations: Mutex::new(Generations {
                started_ms: i64::MIN / 2,
                current: HashMap::new(),
                previous: HashMap::new(),
            }),
        }
    }

    /// Counts one event for `key` at `now_ms`; `Err(retry_after_seconds)` when
    /// the key's budget is spent (the event is then not counted).
    pub(crate) fn try_count(&self, key: K, now_ms: i64) -> Result<(), u64> {
        self.with_entry(key, now_ms, |max, entry| {
            if entry.1 >= max {
                return Err(retry_after_seconds(entry.0, now_ms));
            }
            entry.1 += 1;
            Ok(())
        })
    }

    /// `Err(retry_after_seconds)` while `key`'s budget is spent; counts nothing.
    pub(crate) fn check(&self, key: K, now_ms: i64) -> Result<(), u64> {
        self.with_entry(key, now_ms, |max, entry| {
            if entry.1 >= max {
                Err(retry_after_seconds(entry.0, now_ms))
            } else {
                Ok(())
            }
        })
    }

    /// Events counted for `key` in its current window.
    pub(crate) fn count(&self, key: K, now_ms: i64) -> u32 {
        self.with_entry(key, now_ms, |_, entry| Ok(entry.1))
            .unwrap_or(self.max_per_window)
    }

    /// The allowance per key.
    pub(crate) fn max_per_window(&self) -> u32 {
        self.max_per_window
    }

    fn with_entry<T>(
        &self,
        key: K,
        now_ms: i64,
        action: impl FnOnce(u32, &mut (i64, u32)) -> Result<T, u64>,
    ) -> Result<T, u64> {
        let mut generations = self
            .generations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if now_ms - generations.started_ms >= WINDOW_MS {
            generations.previous = std::mem::take(&mut generations.current);
            generations.started_ms = now_ms;
        }
        let carried = generations
            .previous
            .remove(&key)
            .filter(|(start, _)| now_ms - start < WINDOW_MS);
        // A key carried over from the previous generation was already counted.
        let full = carried.is_none() && generations.current.len() >= self.max_keys;
        let next_swap_ms = generations.started_ms + WINDOW_MS;
        let entry = match generations.current.entry(key) {
            std::collections::hash_map::Entry::Occupied(occupied) => occupied.into_mut(),
            std::collections::hash_map::Entry::Vacant(_) if full => {
                return Err(retry_after_seconds(next_swap_ms - WINDOW_MS, now_ms));
            }
            std::collections::hash_map::Entry::Vacant(vacant) => {
                vacant.insert(carried.unwrap_or((now_ms, 0)))
            }
        };
        if now_ms - entry.0 >= WINDOW_MS {
            *entry = (now_ms, 0);
        }
        action(self.max_per_window, entry)
    }
}

/// Seconds until a window that began at `window_start_ms` ends (at least 1).
fn retry_after_seconds(window_start_ms: i64, now_ms: i64) -> u64 {
    let remaining_ms = (window_start_ms + WINDOW_MS - now_ms).max(1);
    (remaining_ms as u64).div_ceil(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_each_key_per_window() {
        let limiter = WindowLimiter::new(2, 100);
        assert_eq!(limiter.try_count(1, 0), Ok(()));
        assert_eq!(limiter.try_count(1, 1_000), Ok(()));
        assert_eq!(limiter.try_count(1, 2_000), Err(3_598));
        assert_eq!(limiter.check(1, 2_000), Err(3_598));
        assert_eq!(limiter.try_count(2, 2_000), Ok(()));
        assert_eq!(limiter.try_count(1, WINDOW_MS), Ok(()));
    }

    #[test]
    fn a_window_survives_the_generation_swap() {
        let limiter = WindowLimiter::new(2, 100);
        assert_eq!(limiter.try_count(7, 0), Ok(()));
        assert_eq!(limiter.try_count(8, WINDOW_MS - 10), Ok(()));
        assert_eq!(limiter.try_count(8, WINDOW_MS - 5), Ok(()));
        // The swap at WINDOW_MS moves key 8 to the previous generation; its
        // window still runs, so its count comes along.
        assert_eq!(limiter.try_count(8, WINDOW_MS + 1), Err(3_600));
        assert_eq!(limiter.count(7, WINDOW_MS + 1), 0);
    }

    #[test]
    fn a_full_table_refuses_new_keys_and_keeps_old_counts() {
        let limiter = WindowLimiter::new(5, 2);
        assert_eq!(limiter.try_count(1, 0), Ok(()));
        assert_eq!(limiter.try_count(2, 0), Ok(()));
        assert_eq!(limiter.try_count(3, 1_000), Err(3_599));
        assert_eq!(limiter.count(1, 1_000), 1);
        assert_eq!(limiter.try_count(3, WINDOW_MS), Ok(()));
    }
}
