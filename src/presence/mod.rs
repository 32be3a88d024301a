//! Live presence as data, below the actors: the link between a socket and its
//! session, the hub trait that binds them, the node-local index of officers and
//! citizens (with the one function for an officer change and the one for a
//! citizen's answer), and the last observed position of each person. Nothing
//! here names an actor: the actors (`crate::actors`) and the runtime that
//! starts them build on this module, never the other way round.

mod grid;
pub(crate) mod hub;
pub(crate) mod index;
pub(crate) mod last_seen;
pub(crate) mod outbound;

/// What `benches/presence.rs` needs, behind public wrappers (the index stays
/// crate-private). Not an API: hidden from docs and free to change.
#[doc(hidden)]
pub mod presence_bench_api {
    use std::sync::{Arc, Mutex, PoisonError};

    use super::index::{AnswerRules, OfficerChange, OfficerEntry, PresenceIndex};
    use crate::domain::AccountId;
    use crate::geo::LatLng;
    use crate::privacy::ShownPosition;

    /// Search radius and hysteresis of the server's defaults.
    const RULES: AnswerRules = AnswerRules {
        radius_m: 5_000.0,
        hysteresis_m: 25.0,
    };
    /// Citizens' sessions are numbered from here.
    const FIRST_CITIZEN: u32 = 1 << 30;

    /// An index filled with officers, and citizens who keep their answers.
    #[derive(Debug)]
    pub struct BenchIndex {
        index: PresenceIndex<u32>,
        /// Officers' handles, made once (sessions keep theirs for the window).
        handles: Vec<Arc<str>>,
        /// Each citizen's position and current answer, as its session holds them.
        citizens: Mutex<Vec<(LatLng, Option<AccountId>)>>,
    }

    impl BenchIndex {
        /// Places one officer at each `(lat, lng)`; invalid points are skipped.
        pub fn with_officers(positions: &[(f64, f64)]) -> Self {
            let bench = Self {
                index: PresenceIndex::new(),
                handles: (0..positions.len())
                    .map(|number| Arc::from(format!("o{number}")))
                    .collect(),
                citizens: Mutex::new(Vec::new()),
            };
            for (number, (lat, lng)) in positions.iter().enumerate() {
                bench.move_officer(number, *lat, *lng);
            }
            bench
        }

        /// Places citizens at `positions`, each with its first answer.
        pub fn place_citizens(&self, positions: &[(f64, f64)]) {
            let mut citizens = self.citizens.lock().unwrap_or_else(PoisonError::into_inner);
            for (lat, lng) in positions {
                let Ok(position) = LatLng::new(*lat, *lng) else {
                    continue;
                };
                let session = FIRST_CITIZEN + citizens.len() as u32;
                let account_id = account_of(session);
                let version = self.index.next_version();
                self.index
                    .upsert_citizen(account_id, position, version, session);
                let answer = self.index.answer_citizen(account_id, position, None, RULES);
                citizens.push((position, answer.map(|nearest| nearest.officer.account_id)));
            }
        }

        /// What one officer update costs the node's map: the change applied, and
        /// every citizen it names rechecking its answer. Answers how many did.
        pub fn move_officer(&self, number: usize, lat: f64, lng: f64) -> usize {
            let Ok(position) = LatLng::new(lat, lng) else {
                return 0;
            };
            let entry = OfficerEntry {
                account_id: account_of(number as u32),
                handle: self.handles[number].clone(),
                display_name: Arc::from("Officer"),
                position: ShownPosition::of(position),
                available_until_ms: 0,
                version: self.index.next_version(),
                session: number as u32,
            };
            let recheck = self
                .index
                .apply_officer_change(OfficerChange::Upsert(entry), RULES.radius_m)
                .recheck;
            let mut citizens = self.citizens.lock().unwrap_or_else(PoisonError::into_inner);
            for session in &recheck {
                let Some((position, current)) = session
                    .checked_sub(FIRST_CITIZEN)
                    .and_then(|slot| citizens.get_mut(slot as usize))
                else {
                    continue;
                };
                let answer =
                    self.index
                        .answer_citizen(account_of(*session), *position, *current, RULES);
                *current = answer.map(|nearest| nearest.officer.account_id);
            }
            recheck.len()
        }

        /// Distance to the nearest officer within `radius_m`, if any.
        pub fn nearest_distance_m(&self, lat: f64, lng: f64, radius_m: f64) -> Option<f64> {
            let point = LatLng::new(lat, lng).ok()?;
            self.index
                .nearest_officer(point, radius_m)
                .map(|nearest| nearest.distance_m)
        }
    }

    fn account_of(session: u32) -> AccountId {
        AccountId(uuid::Uuid::from_u128(u128::from(session) + 1))
    }
}
