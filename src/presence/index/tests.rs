use std::sync::Arc;

use proptest::prelude::*;

use super::*;

/// The index's geometry is tested with exact coordinates: the snapping to cell
/// centres happens before anything reaches the index (see `privacy`).
fn shown(position: LatLng) -> ShownPosition {
    ShownPosition::assume_shown(position)
}

fn point(lat: f64, lng: f64) -> LatLng {
    LatLng::new(lat, lng).unwrap()
}

fn account(n: u128) -> AccountId {
    AccountId(uuid::Uuid::from_u128(n))
}

fn officer(index: &PresenceIndex<u32>, n: u128, position: LatLng) -> OfficerEntry<u32> {
    OfficerEntry {
        account_id: account(n),
        handle: Arc::from(format!("h{n}")),
        display_name: Arc::from("Officer"),
        position: shown(position),
        available_until_ms: 0,
        version: index.next_version(),
        session: n as u32,
    }
}

fn brute_force(officers: &[(u128, LatLng)], from: LatLng, radius: f64) -> Option<(u128, f64)> {
    officers
        .iter()
        .map(|(n, position)| (*n, distance_m(from, *position)))
        .filter(|(_, distance)| *distance <= radius)
        .min_by(|a, b| a.1.total_cmp(&b.1).then(account(a.0).cmp(&account(b.0))))
}

/// Manhattan and Hoboken, across the Hudson (ZIPs 10014 and 07030 face each other).
fn hudson_point() -> impl Strategy<Value = LatLng> {
    (40.70f64..40.78, -74.06f64..-73.97).prop_map(|(lat, lng)| point(lat, lng))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn nearest_matches_brute_force_across_the_hudson(
        officers in proptest::collection::vec(hudson_point(), 0..40),
        citizens in proptest::collection::vec(hudson_point(), 1..10),
        radius in 200.0f64..5_000.0,
    ) {
        let index = PresenceIndex::new();
        let placed: Vec<(u128, LatLng)> = officers.iter().enumerate()
            .map(|(n, position)| (n as u128 + 1, *position)).collect();
        for (n, position) in &placed {
            prop_assert_eq!(index.upsert_officer(officer(&index, *n, *position)), Applied::Yes(None));
        }
        for citizen in citizens {
            let expected = brute_force(&placed, citizen, radius);
            let found = index.nearest_officer(citizen, radius)
                .map(|nearest| (nearest.officer.session as u128, nearest.distance_m));
            prop_assert_eq!(found, expected);
        }
    }

    #[test]
    fn nearest_matches_brute_force_anywhere(
        lat in -85.0f64..85.0,
        lng in -180.0f64..180.0,
        offsets in proptest::collection::vec((-0.05f64..0.05, -0.08f64..0.08), 1..25),
    ) {
        let index = PresenceIndex::new();
        let mut placed = Vec::new();
        for (n, (dlat, dlng)) in offsets.iter().enumerate() {
            let wrapped = (lng + dlng + 540.0).rem_euclid(360.0) - 180.0;
            let position = point((lat + dlat).clamp(-89.9, 89.9), wrapped);
            index.upsert_officer(officer(&index, n as u128 + 1, position));
            placed.push((n as u128 + 1, position));
        }
        let from = point(lat, lng);
        let expected = brute_force(&placed, from, 5_000.0);
        let found = index.nearest_officer(from, 5_000.0)
            .map(|nearest| (nearest.officer.session as u128, nearest.distance_m));
        prop_assert_eq!(found, expected);
    }
}

#[test]
fn moving_and_removing_officers_updates_answers() {
    let index = PresenceIndex::new();
    let citizen = point(40.7580, -73.9855);
    index.upsert_officer(officer(&index, 1, point(40.7590, -73.9855)));
    assert_eq!(
        index
            .nearest_officer(citizen, 5_000.0)
            .unwrap()
            .officer
            .session,
        1
    );
    index.upsert_officer(officer(&index, 2, point(40.7581, -73.9855)));
    assert_eq!(
        index
            .nearest_officer(citizen, 5_000.0)
            .unwrap()
            .officer
            .session,
        2
    );
    index.upsert_officer(officer(&index, 2, point(40.80, -73.9855)));
    assert_eq!(
        index
            .nearest_officer(citizen, 5_000.0)
            .unwrap()
            .officer
            .session,
        1
    );
    let version = index.next_version();
    assert!(matches!(
        index.remove_officer(account(1), version),
        Applied::Yes(Some(_))
    ));
    assert_eq!(
        index
            .nearest_officer(citizen, 5_000.0)
            .unwrap()
            .officer
            .session,
        2
    );
    assert!(index.nearest_officer(citizen, 1_000.0).is_none());
}

#[test]
fn late_writes_never_resurrect_a_removed_officer() {
    let index = PresenceIndex::new();
    let stale = officer(&index, 1, point(40.75, -73.99));
    let removal = index.next_version();
    index.remove_officer(account(1), removal);
    assert_eq!(index.upsert_officer(stale), Applied::Stale);
    assert!(index.officer(account(1)).is_none());
    let fresh = officer(&index, 1, point(40.75, -73.99));
    assert!(matches!(index.upsert_officer(fresh), Applied::Yes(None)));
    let older = OfficerEntry {
        version: 0,
        ..officer(&index, 1, point(41.0, -73.99))
    };
    assert_eq!(index.upsert_officer(older), Applied::Stale);
    assert_eq!(
        index.officer(account(1)).unwrap().position,
        shown(point(40.75, -73.99))
    );
}

#[test]
fn officer_changes_reach_the_citizens_they_affect() {
    let index = PresenceIndex::new();
    let near = point(40.7580, -73.9855);
    let far = point(40.90, -73.80);
    let version = index.next_version();
    index.upsert_citizen(account(100), near, version, 100u32);
    let version = index.next_version();
    index.upsert_citizen(account(101), far, version, 101u32);
    let officer_position = point(40.7590, -73.9855);
    let mut affected = index.citizens_to_recheck(account(1), &[shown(officer_position)], 5_000.0);
    affected.sort_unstable();
    assert_eq!(affected, vec![100], "only citizens within range");

    index.set_citizen_nearest(account(100), Some((account(1), 111.0)));
    // A farther officer does not affect a citizen who has a closer answer.
    let other = point(40.7700, -73.9855);
    assert!(
        index
            .citizens_to_recheck(account(2), &[shown(other)], 5_000.0)
            .is_empty()
    );
    // The answered officer moving away always does.
    let away = point(40.85, -73.9855);
    assert_eq!(
        index.citizens_to_recheck(account(1), &[shown(away)], 5_000.0),
        vec![100]
    );
    let version = index.next_version();
    index.remove_citizen(account(100), version);
    assert!(
        index
            .citizens_to_recheck(account(1), &[shown(away)], 5_000.0)
            .is_empty()
    );
}

#[test]
fn sweep_drops_entries_of_dead_sessions() {
    let index = PresenceIndex::new();
    index.upsert_officer(officer(&index, 1, point(40.75, -73.99)));
    index.upsert_officer(officer(&index, 2, point(40.76, -73.99)));
    let version = index.next_version();
    index.upsert_citizen(account(3), point(40.75, -73.98), version, 3u32);
    let dropped = index.sweep(|session| *session != 2 && *session != 3, 5_000.0);
    assert_eq!(
        dropped.counts,
        IndexCounts {
            officers: 1,
            citizens: 1
        }
    );
    assert_eq!(
        index.counts(),
        IndexCounts {
            officers: 1,
            citizens: 0
        }
    );
}

#[test]
fn officers_are_found_by_handle_while_placed() {
    let index = PresenceIndex::new();
    let here = point(40.758, -73.9855);
    let first = officer(&index, 1, here);
    index.upsert_officer(first.clone());
    assert_eq!(index.officer_by_handle("h1"), Some(first.clone()));
    assert_eq!(index.officer_by_handle("h2"), None);

    let mut renamed = officer(&index, 1, point(40.759, -73.9855));
    renamed.handle = Arc::from("h1-new");
    index.upsert_officer(renamed.clone());
    assert_eq!(index.officer_by_handle("h1"), None);
    assert_eq!(index.officer_by_handle("h1-new"), Some(renamed.clone()));

    index.remove_officer(account(1), index.next_version());
    assert_eq!(index.officer_by_handle("h1-new"), None);
    let dead = officer(&index, 3, here);
    index.upsert_officer(dead);
    index.sweep(|session| *session != 3, 5_000.0);
    assert_eq!(index.officer_by_handle("h3"), None);
}
