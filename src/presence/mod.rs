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
    use std::sync::Arc;

    use super::index::{OfficerChange, OfficerEntry, PresenceIndex};
    use crate::domain::AccountId;
    use crate::geo::LatLng;
    use crate::privacy::ShownPosition;

    /// An index filled with officers.
    #[derive(Debug)]
    pub struct BenchIndex {
        index: PresenceIndex<u32>,
    }

    impl BenchIndex {
        /// Places one officer at each `(lat, lng)`; invalid points are skipped.
        pub fn with_officers(positions: &[(f64, f64)]) -> Self {
            let index = PresenceIndex::new();
            for (number, (lat, lng)) in positions.iter().enumerate() {
                let Ok(position) = LatLng::new(*lat, *lng) else {
                    continue;
                };
                let entry = OfficerEntry {
                    account_id: AccountId(uuid::Uuid::from_u128(number as u128 + 1)),
                    handle: Arc::from(format!("o{number}")),
                    display_name: Arc::from("Officer"),
                    position: ShownPosition::of(position),
                    available_until_ms: 0,
                    version: index.next_version(),
                    session: number as u32,
                };
                index.apply_officer_change(OfficerChange::Upsert(entry), 0.0);
            }
            Self { index }
        }

        /// Distance to the nearest officer within `radius_m`, if any.
        pub fn nearest_distance_m(&self, lat: f64, lng: f64, radius_m: f64) -> Option<f64> {
            let point = LatLng::new(lat, lng).ok()?;
            self.index
                .nearest_officer(point, radius_m)
                .map(|nearest| nearest.distance_m)
        }
    }
}
