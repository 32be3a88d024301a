//! The `[presence.cadence]` section: the distances that choose a session's
//! location cadence class and each class's pace (`crate::domain::cadence`).
//! Every pace is an interval in ms and a least movement in metres; the server
//! tells phones these in `cadence` messages.

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};
use crate::domain::cadence::{Cadence, CadenceRules};

/// Longest interval a class may ask for: a phone must still be heard from
/// well within the socket's idle timeout by its pings, and a position this old
/// is as good as none.
const MAX_INTERVAL_MS: u64 = 600_000;
/// Largest least movement a class may ask for.
const MAX_MIN_DISTANCE_METERS: u32 = 10_000;

/// Cadence thresholds and paces.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CadenceConfig {
    /// A citizen with an available officer this close reports at the near pace.
    pub near_within_meters: f64,
    /// A citizen with an available officer this close (but not near) reports at
    /// the mid pace; farther, at the far pace.
    pub mid_within_meters: f64,
    /// A citizen moves to a slower class only once the officer is this far past
    /// the boundary, so walking along it does not flip the cadence.
    pub hysteresis_meters: f64,
    /// Near pace: least time between reports.
    pub citizen_near_interval_ms: u64,
    /// Near pace: least movement that makes a report due.
    pub citizen_near_min_distance_meters: u32,
    /// Mid pace: least time between reports.
    pub citizen_mid_interval_ms: u64,
    /// Mid pace: least movement that makes a report due.
    pub citizen_mid_min_distance_meters: u32,
    /// Far pace: least time between reports.
    pub citizen_far_interval_ms: u64,
    /// Far pace: least movement that makes a report due.
    pub citizen_far_min_distance_meters: u32,
    /// An available officer's pace: least time between reports.
    pub officer_available_interval_ms: u64,
    /// An available officer's pace: least movement that makes a report due.
    pub officer_available_min_distance_meters: u32,
}

impl Default for CadenceConfig {
    fn default() -> Self {
        Self {
            near_within_meters: 1_000.0,
            mid_within_meters: 5_000.0,
            hysteresis_meters: 250.0,
            citizen_near_interval_ms: 1_000,
            citizen_near_min_distance_meters: 5,
            citizen_mid_interval_ms: 5_000,
            citizen_mid_min_distance_meters: 25,
            citizen_far_interval_ms: 30_000,
            citizen_far_min_distance_meters: 100,
            officer_available_interval_ms: 2_000,
            officer_available_min_distance_meters: 10,
        }
    }
}

impl CadenceConfig {
    /// The rules the sessions apply.
    pub(crate) fn rules(&self) -> CadenceRules {
        CadenceRules {
            near_within_m: self.near_within_meters,
            mid_within_m: self.mid_within_meters,
            hysteresis_m: self.hysteresis_meters,
            citizen_near: Cadence {
                interval_ms: self.citizen_near_interval_ms,
                min_distance_m: self.citizen_near_min_distance_meters,
            },
            citizen_mid: Cadence {
                interval_ms: self.citizen_mid_interval_ms,
                min_distance_m: self.citizen_mid_min_distance_meters,
            },
            citizen_far: Cadence {
                interval_ms: self.citizen_far_interval_ms,
                min_distance_m: self.citizen_far_min_distance_meters,
            },
            officer_available: Cadence {
                interval_ms: self.officer_available_interval_ms,
                min_distance_m: self.officer_available_min_distance_meters,
            },
        }
    }

    /// Checks the distances are ordered and every pace is a real one.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(1.0..=50_000.0).contains(&self.near_within_meters) {
            return Err(invalid(
                "presence.cadence.near_within_meters",
                "must be between 1 and 50000",
            ));
        }
        if !(self.near_within_meters..=50_000.0).contains(&self.mid_within_meters) {
            return Err(invalid(
                "presence.cadence.mid_within_meters",
                "must be between near_within_meters and 50000",
            ));
        }
        if !(0.0..=5_000.0).contains(&self.hysteresis_meters) {
            return Err(invalid(
                "presence.cadence.hysteresis_meters",
                "must be between 0 and 5000",
            ));
        }
        let intervals = [
            (
                "presence.cadence.citizen_near_interval_ms",
                self.citizen_near_interval_ms,
            ),
            (
                "presence.cadence.citizen_mid_interval_ms",
                self.citizen_mid_interval_ms,
            ),
            (
                "presence.cadence.citizen_far_interval_ms",
                self.citizen_far_interval_ms,
            ),
            (
                "presence.cadence.officer_available_interval_ms",
                self.officer_available_interval_ms,
            ),
        ];
        if let Some((key, _)) = intervals
            .iter()
            .find(|(_, value)| !(100..=MAX_INTERVAL_MS).contains(value))
        {
            return Err(invalid(key, "must be between 100 and 600000"));
        }
        let distances = [
            (
                "presence.cadence.citizen_near_min_distance_meters",
                self.citizen_near_min_distance_meters,
            ),
            (
                "presence.cadence.citizen_mid_min_distance_meters",
                self.citizen_mid_min_distance_meters,
            ),
            (
                "presence.cadence.citizen_far_min_distance_meters",
                self.citizen_far_min_distance_meters,
            ),
            (
                "presence.cadence.officer_available_min_distance_meters",
                self.officer_available_min_distance_meters,
            ),
        ];
        if let Some((key, _)) = distances
            .iter()
            .find(|(_, value)| *value > MAX_MIN_DISTANCE_METERS)
        {
            return Err(invalid(key, "must be at most 10000"));
        }
        Ok(())
    }
}
