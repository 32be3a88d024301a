//! The rules of an established connection: its mode (in person or virtual),
//! who is rewarded (co-location from server-observed positions for in-person
//! connections, the pair cooldown, the daily cap), the ids the
//! idempotent writes are keyed by, and the calendar day a reward counts against.
//! Pure: the caller fetches the facts from the store and the presence index.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::AccountId;
use crate::geo::{LatLng, distance_m};

/// Milliseconds in a day; reward days are UTC calendar days.
const MS_PER_DAY: i64 = 86_400_000;

/// Why a connection was established without points for one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RewardWithheld {
    /// The two were farther apart than the nearby threshold at accept time.
    NotCoLocated,
    /// A server-observed position was missing or older than the freshness limit.
    StalePosition,
    /// The same pair was rewarded within the pair cooldown.
    PairCooldown,
    /// This person already had their rewarded connections for the day.
    DailyCap,
}

impl RewardWithheld {
    /// The wire and metrics spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RewardWithheld::NotCoLocated => "not_co_located",
            RewardWithheld::StalePosition => "stale_position",
            RewardWithheld::PairCooldown => "pair_cooldown",
            RewardWithheld::DailyCap => "daily_cap",
        }
    }
}

/// How the two people met: in person (both within the request radius, points
/// only when co-located at accept) or virtually (text over their sockets, under
/// their own reward rules).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ConnectionMode {
    /// Face to face.
    #[default]
    InPerson,
    /// Over the app's chat.
    Virtual,
}

impl ConnectionMode {
    /// The wire, storage and metrics spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ConnectionMode::InPerson => "in_person",
            ConnectionMode::Virtual => "virtual",
        }
    }

    /// Whether this is the default mode (left out of messages).
    pub(crate) fn is_in_person(&self) -> bool {
        *self == ConnectionMode::InPerson
    }

    /// The mode a stored spelling names (unknown or absent: in person, the
    /// mode of every record written before modes existed).
    pub(crate) fn from_stored(stored: Option<&str>) -> Self {
        match stored {
            Some("virtual") => ConnectionMode::Virtual,
            Some(_) | None => ConnectionMode::InPerson,
        }
    }
}

/// A position the server observed, and when.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Observed {
    /// Precise position (memory only, never stored or logged).
    pub(crate) position: LatLng,
    /// When the session received it (Unix ms).
    pub(crate) at_ms: i64,
}

/// The reward rules, from `[connections]` and `[presence]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RewardRules {
    /// Whether the co-location rules (fresh positions, the threshold) apply:
    /// for in-person connections, not for virtual ones.
    pub(crate) co_location_required: bool,
    /// Both people must be this close at accept time.
    pub(crate) nearby_threshold_m: f64,
    /// Positions older than this (at accept time) do not count.
    pub(crate) position_max_age_ms: i64,
    /// A pair is rewarded at most once in this window.
    pub(crate) pair_cooldown_ms: i64,
    /// Rewarded connections per person per UTC day.
    pub(crate) daily_rewarded_connections: u32,
    /// Points for the citizen of a rewarded connection.
    pub(crate) citizen_points: i64,
    /// Points for the officer of a rewarded connection.
    pub(crate) officer_points: i64,
}

/// What the store says about the pair and the two people, at accept time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RewardHistory {
    /// When the pair was last rewarded (Unix ms), if ever.
    pub(crate) pair_last_rewarded_ms: Option<i64>,
    /// The citizen's rewarded connections on the accept day.
    pub(crate) citizen_rewarded_today: u32,
    /// The officer's rewarded connections on the accept day.
    pub(crate) officer_rewarded_today: u32,
}

/// The decision for one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reward {
    /// Points to credit (0 when withheld).
    pub(crate) points: i64,
    /// Why none were credited.
    pub(crate) withheld: Option<RewardWithheld>,
}

/// Decides both rewards of a connection accepted at `accepted_at_ms`. The first
/// failing rule is reported: co-location (freshness, then distance), then the pair
/// cooldown, then each person's daily cap.
pub(crate) fn decide_rewards(
    rules: &RewardRules,
    accepted_at_ms: i64,
    citizen_seen: Option<Observed>,
    officer_seen: Option<Observed>,
    history: RewardHistory,
) -> (Reward, Reward) {
    let shared = shared_rule_failure(rules, accepted_at_ms, citizen_seen, officer_seen, history);
    let reward = |points: i64, rewarded_today: u32| {
        let withheld = shared.or((rewarded_today >= rules.daily_rewarded_connections)
            .then_some(RewardWithheld::DailyCap));
        Reward {
            points: if withheld.is_some() { 0 } else { points },
            withheld,
        }
    };
    (
        reward(rules.citizen_points, history.citizen_rewarded_today),
        reward(rules.officer_points, history.officer_rewarded_today),
    )
}

fn shared_rule_failure(
    rules: &RewardRules,
    accepted_at_ms: i64,
    citizen_seen: Option<Observed>,
    officer_seen: Option<Observed>,
    history: RewardHistory,
) -> Option<RewardWithheld> {
    if let Some(withheld) = co_location_failure(rules, accepted_at_ms, citizen_seen, officer_seen) {
        return Some(withheld);
    }
    if history
        .pair_last_rewarded_ms
        .is_some_and(|last| accepted_at_ms - last < rules.pair_cooldown_ms)
    {
        return Some(RewardWithheld::PairCooldown);
    }
    None
}

/// The co-location rules alone (fresh positions, then distance): the rules
/// that withhold both rewards without reading any history.
pub(crate) fn co_location_failure(
    rules: &RewardRules,
    accepted_at_ms: i64,
    citizen_seen: Option<Observed>,
    officer_seen: Option<Observed>,
) -> Option<RewardWithheld> {
    if !rules.co_location_required {
        return None;
    }
    let fresh = |seen: Option<Observed>| {
        seen.filter(|observed| accepted_at_ms - observed.at_ms <= rules.position_max_age_ms)
    };
    let (Some(citizen), Some(officer)) = (fresh(citizen_seen), fresh(officer_seen)) else {
        return Some(RewardWithheld::StalePosition);
    };
    if distance_m(citizen.position, officer.position) > rules.nearby_threshold_m {
        return Some(RewardWithheld::NotCoLocated);
    }
    None
}

/// The UTC day (days since the Unix epoch) of a time; daily caps count per day.
pub(crate) fn utc_day(unix_ms: i64) -> i64 {
    unix_ms.div_euclid(MS_PER_DAY)
}

/// The idempotency key of the ledger entry a connection credits to `account`:
/// derived from the request id, so every retry writes under the same id.
pub(crate) fn connection_credit_id(request_id: Uuid, account_id: AccountId) -> Uuid {
    let mut hasher = Sha256::new();
    hasher.update(b"heyblue:connection-credit:");
    hasher.update(request_id.as_bytes());
    hasher.update(account_id.0.as_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0_u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOON_MS: i64 = 1_767_268_800_000;

    fn rules() -> RewardRules {
        RewardRules {
            co_location_required: true,
            nearby_threshold_m: 250.0,
            position_max_age_ms: 60_000,
            pair_cooldown_ms: 24 * 3_600_000,
            daily_rewarded_connections: 5,
            citizen_points: 10,
            officer_points: 12,
        }
    }

    fn seen(lat: f64, age_ms: i64) -> Option<Observed> {
        Some(Observed {
            position: LatLng::new(lat, -73.9855).unwrap(),
            at_ms: NOON_MS - age_ms,
        })
    }

    fn quiet_history() -> RewardHistory {
        RewardHistory {
            pair_last_rewarded_ms: None,
            citizen_rewarded_today: 0,
            officer_rewarded_today: 0,
        }
    }

    #[test]
    fn close_fresh_new_pair_is_rewarded_on_both_sides() {
        let (citizen, officer) = decide_rewards(
            &rules(),
            NOON_MS,
            seen(40.7580, 1_000),
            seen(40.7590, 59_000),
            quiet_history(),
        );
        assert_eq!(
            citizen,
            Reward {
                points: 10,
                withheld: None
            }
        );
        assert_eq!(
            officer,
            Reward {
                points: 12,
                withheld: None
            }
        );
    }

    #[test]
    fn each_rule_withholds_with_its_reason() {
        let far = decide_rewards(
            &rules(),
            NOON_MS,
            seen(40.7580, 0),
            seen(40.7680, 0),
            quiet_history(),
        );
        assert_eq!(far.0.withheld, Some(RewardWithheld::NotCoLocated));
        assert_eq!(far.1.points, 0);
        let stale = decide_rewards(
            &rules(),
            NOON_MS,
            seen(40.7580, 60_001),
            seen(40.7580, 0),
            quiet_history(),
        );
        assert_eq!(stale.0.withheld, Some(RewardWithheld::StalePosition));
        let missing = decide_rewards(&rules(), NOON_MS, None, seen(40.7580, 0), quiet_history());
        assert_eq!(missing.1.withheld, Some(RewardWithheld::StalePosition));
        let recent_pair = RewardHistory {
            pair_last_rewarded_ms: Some(NOON_MS - 23 * 3_600_000),
            ..quiet_history()
        };
        let cooldown = decide_rewards(
            &rules(),
            NOON_MS,
            seen(40.7580, 0),
            seen(40.7580, 0),
            recent_pair,
        );
        assert_eq!(cooldown.0.withheld, Some(RewardWithheld::PairCooldown));
        let old_pair = RewardHistory {
            pair_last_rewarded_ms: Some(NOON_MS - 24 * 3_600_000),
            ..quiet_history()
        };
        let after_cooldown = decide_rewards(
            &rules(),
            NOON_MS,
            seen(40.7580, 0),
            seen(40.7580, 0),
            old_pair,
        );
        assert_eq!(after_cooldown.0.points, 10);
        let busy_officer = RewardHistory {
            officer_rewarded_today: 5,
            citizen_rewarded_today: 4,
            ..quiet_history()
        };
        let capped = decide_rewards(
            &rules(),
            NOON_MS,
            seen(40.7580, 0),
            seen(40.7580, 0),
            busy_officer,
        );
        assert_eq!(
            capped.0,
            Reward {
                points: 10,
                withheld: None
            }
        );
        assert_eq!(
            capped.1,
            Reward {
                points: 0,
                withheld: Some(RewardWithheld::DailyCap)
            }
        );
    }

    #[test]
    fn credit_ids_are_stable_and_distinct_per_person() {
        let request = Uuid::new_v4();
        let citizen = AccountId::random();
        let officer = AccountId::random();
        assert_eq!(
            connection_credit_id(request, citizen),
            connection_credit_id(request, citizen)
        );
        assert_ne!(
            connection_credit_id(request, citizen),
            connection_credit_id(request, officer)
        );
        assert_ne!(
            connection_credit_id(request, citizen),
            connection_credit_id(Uuid::new_v4(), citizen)
        );
    }

    #[test]
    fn days_are_utc_calendar_days() {
        assert_eq!(utc_day(0), 0);
        assert_eq!(utc_day(MS_PER_DAY - 1), 0);
        assert_eq!(utc_day(MS_PER_DAY), 1);
        assert_eq!(utc_day(-1), -1);
    }
}
