//! `bench city --obey-cadence`: a simulated phone that reports as the server's
//! `cadence{interval_ms, min_distance_m}` asks, the way a phone's location API
//! does it: a position goes out once at least `interval_ms` has passed since the
//! last one sent *and* the person moved at least `min_distance_m` from it;
//! `interval_ms: 0` sends nothing. Decisions fall on movement ticks, so an
//! interval that is not a whole number of ticks waits for the next one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::movement::{PersonKind, Point};
use crate::config::CadenceConfig;
use crate::geo::{LatLng, distance_m};

/// How often and after how much movement a phone reports.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct PhoneCadence {
    /// Least time between two reports, milliseconds (0: report nothing).
    pub(crate) interval_ms: u64,
    /// Least movement since the last report, metres.
    pub(crate) min_distance_m: u32,
}

impl PhoneCadence {
    /// What the server tells an available officer by default
    /// (`[presence.cadence]`): the bench plans other workers' officers with it.
    pub(crate) fn officer_default() -> Self {
        let config = CadenceConfig::default();
        Self {
            interval_ms: config.officer_available_interval_ms,
            min_distance_m: config.officer_available_min_distance_meters,
        }
    }

    /// Whether a phone that last reported `last` (tick and position) reports
    /// `position` at `tick`, with ticks `tick_interval_us` apart.
    pub(crate) fn is_due(
        &self,
        last: Option<(u64, Point)>,
        tick: u64,
        position: Point,
        tick_interval_us: i64,
    ) -> bool {
        if self.interval_ms == 0 {
            return false;
        }
        let Some((last_tick, last_position)) = last else {
            return true;
        };
        let ticks = i64::try_from(tick.saturating_sub(last_tick)).unwrap_or(i64::MAX / 2);
        let elapsed_us = ticks.saturating_mul(tick_interval_us);
        let interval_us = i64::try_from(self.interval_ms.saturating_mul(1_000)).unwrap_or(i64::MAX);
        elapsed_us >= interval_us
            && metres_between(last_position, position) >= f64::from(self.min_distance_m)
    }

    /// How far the server's picture of a phone obeying this cadence may lag its
    /// true position, at `max_speed_mps`: the distance it may move unreported.
    pub(crate) fn lag_m(&self, max_speed_mps: f64) -> f64 {
        f64::from(self.min_distance_m) + max_speed_mps * self.interval_ms as f64 / 1_000.0
    }
}

/// Under `--obey-cadence`, per role and cadence a phone was told: how many
/// movement ticks phones spent in it and how many reports they sent, so a run
/// gives the reports per phone per second of each class (what sizing needs).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct PaceTally {
    /// `"citizen 5000 ms / 25 m"` → `[ticks, reports]`.
    by_pace: BTreeMap<String, [u64; 2]>,
}

impl PaceTally {
    /// A `kind` phone told `cadence` (`None`: not told yet) spent a tick, and
    /// reported in it or not.
    pub(crate) fn count(
        &mut self,
        kind: PersonKind,
        cadence: Option<PhoneCadence>,
        reported: bool,
    ) {
        let role = match kind {
            PersonKind::Officer => "officer",
            PersonKind::Citizen => "citizen",
        };
        let pace = match cadence {
            Some(cadence) => format!(
                "{role} {} ms / {} m",
                cadence.interval_ms, cadence.min_distance_m
            ),
            None => format!("{role} not told yet"),
        };
        let counts = self.by_pace.entry(pace).or_default();
        counts[0] += 1;
        counts[1] += u64::from(reported);
    }

    /// Adds another worker's counts.
    pub(crate) fn merge(&mut self, other: &PaceTally) {
        for (pace, [ticks, reports]) in &other.by_pace {
            let counts = self.by_pace.entry(pace.clone()).or_default();
            counts[0] += ticks;
            counts[1] += reports;
        }
    }

    /// Each pace with its phone-seconds and reports per phone per second, for
    /// ticks `tick_seconds` long.
    pub(crate) fn rates(&self, tick_seconds: f64) -> Vec<(String, f64, f64)> {
        self.by_pace
            .iter()
            .map(|(pace, &[ticks, reports])| {
                let phone_seconds = ticks as f64 * tick_seconds;
                let per_second = if phone_seconds > 0.0 {
                    reports as f64 / phone_seconds
                } else {
                    0.0
                };
                (pace.clone(), phone_seconds, per_second)
            })
            .collect()
    }
}

/// Great-circle distance between two bench points, metres (infinite for a point
/// off the globe, which the walkers never produce).
pub(crate) fn metres_between(from: Point, to: Point) -> f64 {
    match (LatLng::new(from.lat, from.lng), LatLng::new(to.lat, to.lng)) {
        (Ok(from), Ok(to)) => distance_m(from, to),
        (Err(_), _) | (_, Err(_)) => f64::INFINITY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND_US: i64 = 1_000_000;

    fn point(lat: f64) -> Point {
        Point { lat, lng: -74.0 }
    }

    #[test]
    fn a_phone_reports_once_both_the_interval_and_the_distance_are_reached() {
        let cadence = PhoneCadence {
            interval_ms: 5_000,
            min_distance_m: 20,
        };
        let start = point(40.7);
        // The first position always goes out.
        assert!(cadence.is_due(None, 1, start, SECOND_US));
        // 0.0009° of latitude is about 100 m: far enough, but only 4 s later.
        assert!(!cadence.is_due(Some((1, start)), 5, point(40.7009), SECOND_US));
        assert!(cadence.is_due(Some((1, start)), 6, point(40.7009), SECOND_US));
        // Long enough, but about 11 m away.
        assert!(!cadence.is_due(Some((1, start)), 60, point(40.7001), SECOND_US));
        // Ticks of 2 s: three ticks are 6 s.
        assert!(cadence.is_due(Some((1, start)), 4, point(40.7009), 2 * SECOND_US));
    }

    #[test]
    fn the_pace_tally_gives_reports_per_phone_per_second_by_role_and_pace() {
        let near = PhoneCadence {
            interval_ms: 5_000,
            min_distance_m: 25,
        };
        let mut first = PaceTally::default();
        for tick in 0..10 {
            first.count(PersonKind::Citizen, Some(near), tick % 5 == 0);
        }
        first.count(PersonKind::Officer, None, true);
        let mut second = PaceTally::default();
        second.count(PersonKind::Citizen, Some(near), false);
        second.count(PersonKind::Citizen, Some(near), false);
        first.merge(&second);
        assert_eq!(
            first.rates(0.5),
            vec![
                ("citizen 5000 ms / 25 m".to_owned(), 6.0, 2.0 / 6.0),
                ("officer not told yet".to_owned(), 0.5, 2.0),
            ]
        );
    }

    #[test]
    fn interval_zero_means_never_report() {
        let stop = PhoneCadence {
            interval_ms: 0,
            min_distance_m: 0,
        };
        assert!(!stop.is_due(None, 1, point(40.7), SECOND_US));
        assert!(!stop.is_due(Some((1, point(40.7))), 1_000, point(40.8), SECOND_US));
    }

    #[test]
    fn the_lag_is_the_unreported_distance_and_the_officer_default_is_the_servers() {
        let cadence = PhoneCadence {
            interval_ms: 2_000,
            min_distance_m: 10,
        };
        assert!((cadence.lag_m(12.0) - 34.0).abs() < 1e-9);
        let config = CadenceConfig::default();
        assert_eq!(
            PhoneCadence::officer_default(),
            PhoneCadence {
                interval_ms: config.officer_available_interval_ms,
                min_distance_m: config.officer_available_min_distance_meters,
            }
        );
    }
}
