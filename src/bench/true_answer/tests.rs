use super::*;

/// A citizen's point in Midtown; officers are placed north (+) or south (−) of it.
const CENTRE: (f64, f64) = (40.7500, -73.9900);
/// Metres per degree of latitude on the mean-radius sphere `geo` uses.
const METRES_PER_DEGREE: f64 = 111_195.0;

fn at(north_m: f64) -> LatLng {
    LatLng::new(CENTRE.0 + north_m / METRES_PER_DEGREE, CENTRE.1).unwrap()
}

fn tracker(hysteresis_m: f64) -> TruthTracker {
    TruthTracker::new(
        NearestRule {
            radius_m: 5_000.0,
            hysteresis_m,
        },
        2,
    )
}

fn nobody_shown(_citizen: u32, _since_us: i64, _tied: &[u32]) -> Option<u32> {
    None
}

fn officers_over_time(tracker: TruthTracker) -> Vec<(i64, Option<Vec<u32>>)> {
    let timelines = tracker.into_timelines();
    timelines[&7]
        .iter()
        .map(|change| {
            (
                change.at_us,
                change.answer.as_ref().map(|answer| answer.officers.clone()),
            )
        })
        .collect()
}

#[test]
fn the_truth_follows_the_nearest_shown_officer() {
    let mut truth = tracker(0.0);
    truth.officer_at(0, at(3_000.0));
    truth.officer_at(1, at(-6_000.0));
    truth.citizen_at(7, at(0.0));
    truth.settle(0, &nobody_shown);
    // Officer 1 comes within range and closer than officer 0.
    truth.officer_at(1, at(-1_000.0));
    truth.settle(1_000, &nobody_shown);
    // A move inside the same shown cell changes nothing.
    truth.officer_at(1, at(-1_000.5));
    truth.settle(1_500, &nobody_shown);
    // Officer 0 comes next to the citizen.
    truth.officer_at(0, at(100.0));
    truth.settle(2_000, &nobody_shown);
    assert_eq!(
        officers_over_time(truth),
        vec![
            (0, Some(vec![0])),
            (1_000, Some(vec![1])),
            (2_000, Some(vec![0])),
        ]
    );
}

#[test]
fn the_band_and_the_shown_cell_are_part_of_the_answer() {
    let mut truth = tracker(0.0);
    truth.officer_at(0, at(3_000.0));
    truth.citizen_at(7, at(0.0));
    truth.settle(0, &nobody_shown);
    truth.officer_at(0, at(400.0));
    truth.settle(1_000, &nobody_shown);
    let timelines = truth.into_timelines();
    let timeline = &timelines[&7];
    assert_eq!(timeline.len(), 2);
    let (first, second) = (
        timeline[0].answer.as_ref().unwrap(),
        timeline[1].answer.as_ref().unwrap(),
    );
    assert_eq!(first.officers, second.officers);
    assert_eq!(first.band_m, 5_000);
    assert!(second.band_m <= 1_000);
    assert_ne!(first.cell, second.cell);
    assert_eq!(second.cell, ShownPosition::of(at(400.0)).cell());
}

#[test]
fn nobody_beyond_the_radius() {
    let mut truth = tracker(0.0);
    truth.officer_at(0, at(7_000.0));
    truth.citizen_at(7, at(0.0));
    truth.settle(0, &nobody_shown);
    truth.officer_at(0, at(4_000.0));
    truth.settle(1_000, &nobody_shown);
    assert_eq!(
        officers_over_time(truth),
        vec![(0, None), (1_000, Some(vec![0]))]
    );
}

#[test]
fn hysteresis_keeps_the_previous_true_answer() {
    // Officer 0 at 2 km is the answer; officer 1 arriving at 1.5 km is closer,
    // but not by more than the 1 km hysteresis.
    let mut truth = tracker(1_000.0);
    truth.officer_at(0, at(2_000.0));
    truth.officer_at(1, at(-4_900.0));
    truth.citizen_at(7, at(0.0));
    truth.settle(0, &nobody_shown);
    truth.officer_at(1, at(-1_500.0));
    truth.settle(1_000, &nobody_shown);
    truth.officer_at(1, at(-500.0));
    truth.settle(2_000, &nobody_shown);
    assert_eq!(
        officers_over_time(truth),
        vec![(0, Some(vec![0])), (2_000, Some(vec![1]))]
    );
    // The same positions from scratch name officer 1: the truth has a history.
    let mut fresh = tracker(1_000.0);
    fresh.officer_at(0, at(2_000.0));
    fresh.officer_at(1, at(-1_500.0));
    fresh.citizen_at(7, at(0.0));
    fresh.settle(0, &nobody_shown);
    assert_eq!(officers_over_time(fresh), vec![(0, Some(vec![1]))]);
}

#[test]
fn officers_in_one_shown_cell_tie_and_the_shown_one_is_kept() {
    let mut truth = tracker(1_000.0);
    truth.officer_at(0, at(1_000.0));
    truth.officer_at(1, at(1_000.0));
    truth.citizen_at(7, at(0.0));
    truth.settle(0, &nobody_shown);
    // The server picked officer 1; officer 0 walks 300 m closer: within the
    // hysteresis, so the server keeps officer 1.
    truth.officer_at(0, at(700.0));
    truth.settle(1_000, &|_citizen, since_us, tied: &[u32]| {
        assert_eq!((since_us, tied), (0, &[0, 1][..]));
        Some(1)
    });
    assert_eq!(
        officers_over_time(truth),
        vec![(0, Some(vec![0, 1])), (1_000, Some(vec![1]))]
    );
}

#[test]
fn updates_due_together_are_applied_together() {
    let mut truth = tracker(0.0);
    truth.officer_at(0, at(3_000.0));
    truth.officer_at(1, at(-4_000.0));
    truth.citizen_at(7, at(0.0));
    truth.settle(0, &nobody_shown);
    // Both officers move at the same instant: officer 1 passes officer 0 and
    // officer 0 comes back ahead; no answer exists in between.
    truth.officer_at(1, at(-1_000.0));
    truth.officer_at(0, at(500.0));
    truth.settle(1_000, &nobody_shown);
    assert_eq!(officers_over_time(truth).len(), 2);
}
