//! The sliding-window limiter and the location coalescer on their own.

use std::time::Duration;

use tokio::time::Instant;

use super::rate::{LocationCoalescer, WindowLimiter};
use crate::proto::LocationUpdate;

fn update(seq: u64) -> LocationUpdate {
    LocationUpdate {
        lat: 40.7,
        lng: -74.0,
        accuracy_m: None,
        seq: Some(seq),
    }
}

#[test]
fn the_window_slides_event_by_event() {
    let start = Instant::now();
    let at = |ms: u64| start + Duration::from_millis(ms);
    let mut limiter = WindowLimiter::new(3, Duration::from_secs(60));
    assert!(limiter.try_acquire(at(0)));
    assert!(limiter.try_acquire(at(10_000)));
    assert!(limiter.try_acquire(at(20_000)));
    assert!(!limiter.try_acquire(at(59_999)), "three in the last minute");
    assert!(limiter.try_acquire(at(60_000)), "the first left the window");
    assert!(!limiter.try_acquire(at(69_999)));
    assert!(limiter.try_acquire(at(70_000)));
}

#[test]
fn refused_events_do_not_use_the_budget() {
    let start = Instant::now();
    let mut limiter = WindowLimiter::new(1, Duration::from_secs(60));
    assert!(limiter.try_acquire(start));
    for second in 1..60 {
        assert!(!limiter.try_acquire(start + Duration::from_secs(second)));
    }
    assert!(limiter.try_acquire(start + Duration::from_secs(60)));
}

#[test]
fn the_coalescer_keeps_only_the_newest_early_update() {
    let start = Instant::now();
    let at = |ms: u64| start + Duration::from_millis(ms);
    let mut coalescer = LocationCoalescer::new(Duration::from_secs(1));
    assert_eq!(coalescer.due_at(), None);
    assert_eq!(coalescer.offer(update(1), at(0)), Some(update(1)));
    assert_eq!(coalescer.offer(update(2), at(300)), None);
    assert_eq!(coalescer.offer(update(3), at(600)), None);
    assert_eq!(coalescer.due_at(), Some(at(1000)));
    assert_eq!(coalescer.take_due(at(999)), None, "not yet");
    assert_eq!(coalescer.take_due(at(1000)), Some(update(3)));
    assert_eq!(coalescer.due_at(), None);
    assert_eq!(
        coalescer.offer(update(4), at(1500)),
        None,
        "1 s after the last delivery"
    );
    assert_eq!(coalescer.take_due(at(2000)), Some(update(4)));
    assert_eq!(coalescer.offer(update(5), at(3000)), Some(update(5)));
}

#[test]
fn a_late_update_does_not_hold_back_the_next_ones() {
    let start = Instant::now();
    let at = |ms: u64| start + Duration::from_millis(ms);
    let mut coalescer = LocationCoalescer::new(Duration::from_secs(1));
    assert_eq!(coalescer.offer(update(1), at(0)), Some(update(1)));
    assert_eq!(
        coalescer.offer(update(2), at(1300)),
        Some(update(2)),
        "300 ms late"
    );
    assert_eq!(
        coalescer.offer(update(3), at(2000)),
        Some(update(3)),
        "back on the client's schedule, not 300 ms behind it"
    );
    assert_eq!(coalescer.offer(update(4), at(3000)), Some(update(4)));
    assert_eq!(coalescer.offer(update(5), at(3400)), None, "too soon");
}

#[test]
fn a_fast_client_gets_one_update_a_second_after_at_most_one_extra() {
    let start = Instant::now();
    let mut coalescer = LocationCoalescer::new(Duration::from_secs(1));
    assert!(coalescer.offer(update(0), start).is_some());
    // A long pause fills the allowance; then an update every 100 ms for 10 s.
    let burst_start = start + Duration::from_secs(60);
    let mut delivered = 0;
    for step in 0..100_u64 {
        let now = burst_start + Duration::from_millis(step * 100);
        if coalescer.take_due(now).is_some() {
            delivered += 1;
        }
        if coalescer.offer(update(step + 1), now).is_some() {
            delivered += 1;
        }
    }
    assert!(
        (10..=11).contains(&delivered),
        "{delivered} updates reached the session in 10 s"
    );
}
