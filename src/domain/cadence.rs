//! Location cadence: how often, and after how much movement, a phone should
//! report its position. The server picks a class per session from the role and,
//! for citizens, the distance to the nearest available officer's shown position
//! (the same coarse distance the `nearest` answer is computed from), and tells
//! the phone the class's interval and minimum movement. A class change towards
//! closer is taken at once; one towards farther only once the distance is beyond
//! the boundary plus a hysteresis, so a citizen walking along a boundary is not
//! told two cadences in turn. Pure: the caller supplies the distance.

/// A reporting pace: at most one report per `interval_ms`, and only after moving
/// `min_distance_m` (see `docs/protocol.md` for the whole client rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cadence {
    /// Least time between two reports (ms); 0: no reports are needed.
    pub(crate) interval_ms: u64,
    /// Least movement since the last report that makes a new one due (metres).
    pub(crate) min_distance_m: u32,
}

/// The classes a session's cadence is chosen from (also a metrics label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum CadenceClass {
    /// A citizen with an available officer within the near distance.
    CitizenNear,
    /// A citizen with an available officer within the mid distance.
    CitizenMid,
    /// A citizen with no available officer within the mid distance.
    CitizenFar,
    /// An officer with an open availability window.
    OfficerAvailable,
    /// An officer without a window: their position is not needed.
    OfficerUnavailable,
}

impl CadenceClass {
    /// The metrics spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CadenceClass::CitizenNear => "citizen_near",
            CadenceClass::CitizenMid => "citizen_mid",
            CadenceClass::CitizenFar => "citizen_far",
            CadenceClass::OfficerAvailable => "officer_available",
            CadenceClass::OfficerUnavailable => "officer_unavailable",
        }
    }

    /// A citizen class's rank: 0 nearest, 2 farthest; `None` for officers.
    fn citizen_rank(self) -> Option<u8> {
        match self {
            CadenceClass::CitizenNear => Some(0),
            CadenceClass::CitizenMid => Some(1),
            CadenceClass::CitizenFar => Some(2),
            CadenceClass::OfficerAvailable | CadenceClass::OfficerUnavailable => None,
        }
    }
}

/// The thresholds and paces, from `[presence.cadence]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CadenceRules {
    /// A citizen is `CitizenNear` with an officer this close (metres).
    pub(crate) near_within_m: f64,
    /// A citizen is `CitizenMid` with an officer this close (metres).
    pub(crate) mid_within_m: f64,
    /// A move to a farther class needs the distance beyond the boundary by this.
    pub(crate) hysteresis_m: f64,
    /// Pace of `CitizenNear`.
    pub(crate) citizen_near: Cadence,
    /// Pace of `CitizenMid`.
    pub(crate) citizen_mid: Cadence,
    /// Pace of `CitizenFar`.
    pub(crate) citizen_far: Cadence,
    /// Pace of `OfficerAvailable`.
    pub(crate) officer_available: Cadence,
}

impl CadenceRules {
    /// The pace of `class`.
    pub(crate) fn cadence(&self, class: CadenceClass) -> Cadence {
        match class {
            CadenceClass::CitizenNear => self.citizen_near,
            CadenceClass::CitizenMid => self.citizen_mid,
            CadenceClass::CitizenFar => self.citizen_far,
            CadenceClass::OfficerAvailable => self.officer_available,
            CadenceClass::OfficerUnavailable => Cadence {
                interval_ms: 0,
                min_distance_m: 0,
            },
        }
    }

    /// The class of a citizen whose nearest available officer is `nearest_m`
    /// away (`None`: none known), given the class it had (`None`: none yet).
    pub(crate) fn citizen_class(
        &self,
        previous: Option<CadenceClass>,
        nearest_m: Option<f64>,
    ) -> CadenceClass {
        let strict = self.rank_of(nearest_m, 0.0);
        let Some(previous_rank) = previous.and_then(CadenceClass::citizen_rank) else {
            return citizen_class_of_rank(strict);
        };
        if strict <= previous_rank {
            return citizen_class_of_rank(strict);
        }
        // Farther: only as far as the distance is past a boundary by the hysteresis.
        let relaxed = self.rank_of(nearest_m, self.hysteresis_m);
        citizen_class_of_rank(relaxed.max(previous_rank))
    }

    /// The rank of `nearest_m` with each boundary moved out by `slack_m`.
    fn rank_of(&self, nearest_m: Option<f64>, slack_m: f64) -> u8 {
        match nearest_m {
            Some(distance) if distance <= self.near_within_m + slack_m => 0,
            Some(distance) if distance <= self.mid_within_m + slack_m => 1,
            Some(_) | None => 2,
        }
    }

    /// The radius a lookup must cover so the hysteresis above the mid
    /// boundary can see an officer who is just past it.
    pub(crate) fn lookup_radius_m(&self) -> f64 {
        self.mid_within_m + self.hysteresis_m
    }
}

fn citizen_class_of_rank(rank: u8) -> CadenceClass {
    match rank {
        0 => CadenceClass::CitizenNear,
        1 => CadenceClass::CitizenMid,
        _ => CadenceClass::CitizenFar,
    }
}

/// The class of an officer.
pub(crate) fn officer_class(available: bool) -> CadenceClass {
    if available {
        CadenceClass::OfficerAvailable
    } else {
        CadenceClass::OfficerUnavailable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> CadenceRules {
        CadenceRules {
            near_within_m: 1_000.0,
            mid_within_m: 5_000.0,
            hysteresis_m: 250.0,
            citizen_near: Cadence {
                interval_ms: 1_000,
                min_distance_m: 5,
            },
            citizen_mid: Cadence {
                interval_ms: 5_000,
                min_distance_m: 25,
            },
            citizen_far: Cadence {
                interval_ms: 30_000,
                min_distance_m: 100,
            },
            officer_available: Cadence {
                interval_ms: 2_000,
                min_distance_m: 10,
            },
        }
    }

    #[test]
    fn first_class_follows_the_distance() {
        let rules = rules();
        assert_eq!(
            rules.citizen_class(None, Some(1_000.0)),
            CadenceClass::CitizenNear
        );
        assert_eq!(
            rules.citizen_class(None, Some(1_000.1)),
            CadenceClass::CitizenMid
        );
        assert_eq!(
            rules.citizen_class(None, Some(5_100.0)),
            CadenceClass::CitizenFar,
            "no hysteresis without a previous class"
        );
        assert_eq!(rules.citizen_class(None, None), CadenceClass::CitizenFar);
    }

    #[test]
    fn closer_is_taken_at_once_and_farther_only_past_the_hysteresis() {
        let rules = rules();
        let near = Some(CadenceClass::CitizenNear);
        assert_eq!(
            rules.citizen_class(near, Some(1_200.0)),
            CadenceClass::CitizenNear
        );
        assert_eq!(
            rules.citizen_class(near, Some(1_250.1)),
            CadenceClass::CitizenMid
        );
        assert_eq!(
            rules.citizen_class(near, Some(5_300.0)),
            CadenceClass::CitizenFar,
            "past both boundaries at once"
        );
        let far = Some(CadenceClass::CitizenFar);
        assert_eq!(
            rules.citizen_class(far, Some(999.0)),
            CadenceClass::CitizenNear
        );
        let mid = Some(CadenceClass::CitizenMid);
        assert_eq!(
            rules.citizen_class(mid, Some(5_200.0)),
            CadenceClass::CitizenMid
        );
        assert_eq!(rules.citizen_class(mid, None), CadenceClass::CitizenFar);
    }

    #[test]
    fn walking_along_a_boundary_keeps_one_class() {
        let rules = rules();
        let mut class = rules.citizen_class(None, Some(990.0));
        for step in 0..100_u32 {
            let wobble = if step % 2 == 0 { 1_010.0 } else { 990.0 };
            class = rules.citizen_class(Some(class), Some(wobble));
            assert_eq!(class, CadenceClass::CitizenNear);
        }
    }

    #[test]
    fn an_unavailable_officer_is_asked_for_nothing() {
        let rules = rules();
        assert_eq!(
            rules.cadence(officer_class(false)),
            Cadence {
                interval_ms: 0,
                min_distance_m: 0
            }
        );
        assert_eq!(rules.cadence(officer_class(true)).interval_ms, 2_000);
    }
}
