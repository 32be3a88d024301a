use super::*;
use crate::bench::movement::BoundingBox;
use crate::bench::send_log::SendLog;
use crate::bench::true_answer::TrueAnswer;

const CENTRE: (f64, f64) = (40.7500, -73.9900);
const METRES_PER_DEGREE: f64 = 111_195.0;

fn at(north_m: f64) -> LatLng {
    LatLng::new(CENTRE.0 + north_m / METRES_PER_DEGREE, CENTRE.1).unwrap()
}

/// A synthetic city: officer 1 overtakes officer 0 at 1 s, officer 0 comes
/// back next to the citizen at 2 s, and the run ends at 3 s.
fn timeline() -> Vec<TruthChange> {
    let mut truth = TruthTracker::new(
        NearestRule {
            radius_m: 5_000.0,
            hysteresis_m: 0.0,
        },
        2,
    );
    let nobody = |_citizen: u32, _since_us: i64, _tied: &[u32]| None;
    truth.officer_at(0, at(3_000.0));
    truth.officer_at(1, at(-4_000.0));
    truth.citizen_at(7, at(0.0));
    truth.settle(0, &nobody);
    truth.officer_at(1, at(-1_000.0));
    truth.settle(1_000_000, &nobody);
    truth.officer_at(0, at(100.0));
    truth.settle(2_000_000, &nobody);
    truth.into_timelines().remove(&7).unwrap()
}

/// What a push showing `truth` looks like, received at `at_us`.
fn push_of(truth: Option<&TrueAnswer>, at_us: i64) -> Received {
    Received {
        at_us,
        answer: Answer {
            officer: truth.map(|truth| (truth.officers[0], truth.band_m)),
            shown_cell: truth.map(|truth| truth.cell),
        },
    }
}

fn tally(pushes: &[Received]) -> ChangeTally {
    let mut tally = ChangeTally::default();
    tally_citizen(&mut tally, 7, &timeline(), pushes, 3_000_000, 0);
    tally
}

#[test]
fn every_change_pushed_in_time_is_timed_from_its_update() {
    let changes = timeline();
    assert_eq!(changes.len(), 3);
    let pushes = [
        push_of(changes[0].answer.as_ref(), -400_000),
        push_of(changes[1].answer.as_ref(), 1_012_000),
        push_of(changes[2].answer.as_ref(), 2_150_000),
    ];
    let tally = tally(&pushes);
    assert_eq!((tally.changes, tally.pushed, tally.missed), (2, 2, 0));
    assert_eq!(tally.latency_us.len(), 2);
    assert!(tally.latency_us.equivalent(tally.latency_us.min(), 12_000));
    assert!(tally.latency_us.equivalent(tally.latency_us.max(), 150_000));
}

#[test]
fn a_change_never_pushed_while_true_is_missed() {
    let changes = timeline();
    // The first change is never pushed: the next push already shows the second.
    let pushes = [
        push_of(changes[0].answer.as_ref(), -400_000),
        push_of(changes[2].answer.as_ref(), 2_100_000),
    ];
    let tally = tally(&pushes);
    assert_eq!((tally.changes, tally.pushed, tally.missed), (2, 1, 1));
    assert_eq!(tally.missed_lifetime_us.len(), 1);
    assert!(
        tally
            .missed_lifetime_us
            .equivalent(tally.missed_lifetime_us.max(), 1_000_000)
    );
    assert_eq!(tally.missed_samples.len(), 1);
    assert!(tally.missed_samples[0].contains("citizen 7"));
}

#[test]
fn a_push_on_its_way_when_the_truth_changed_again_is_late_not_missed() {
    let changes = timeline();
    // The first change's push arrives 100 ms after the truth moved on: the
    // citizen saw it, 1.1 s after it became true.
    let late = [
        push_of(changes[0].answer.as_ref(), -400_000),
        push_of(changes[1].answer.as_ref(), 2_100_000),
        push_of(changes[2].answer.as_ref(), 2_200_000),
    ];
    let seen_late = tally(&late);
    assert_eq!(
        (seen_late.changes, seen_late.pushed, seen_late.missed),
        (2, 2, 0)
    );
    assert!(
        seen_late
            .latency_us
            .equivalent(seen_late.latency_us.max(), 1_100_000)
    );
    // Only the first push after the change can have been on its way: a push
    // showing it after the next answer's push was never its answer.
    let overtaken = [
        push_of(changes[0].answer.as_ref(), -400_000),
        push_of(changes[2].answer.as_ref(), 2_100_000),
        push_of(changes[1].answer.as_ref(), 2_200_000),
    ];
    let tally = tally(&overtaken);
    assert_eq!((tally.changes, tally.pushed, tally.missed), (2, 1, 1));
}

#[test]
fn a_wrong_band_or_cell_does_not_count_as_shown() {
    let changes = timeline();
    let mut wrong_band = push_of(changes[1].answer.as_ref(), 1_010_000);
    if let Some((_, band_m)) = &mut wrong_band.answer.officer {
        *band_m += 1;
    }
    let mut wrong_cell = push_of(changes[1].answer.as_ref(), 1_020_000);
    wrong_cell.answer.shown_cell = changes[0].answer.as_ref().map(|truth| truth.cell);
    let tally = tally(&[wrong_band, wrong_cell]);
    assert_eq!(tally.pushed, 0);
    assert_eq!(tally.missed, 2);
}

#[test]
fn a_truth_that_comes_back_to_the_screen_is_already_shown() {
    let changes = timeline();
    let pushes = [
        push_of(changes[0].answer.as_ref(), -400_000),
        push_of(changes[1].answer.as_ref(), 1_010_000),
    ];
    let mut back = changes[..2].to_vec();
    back.push(TruthChange {
        at_us: 2_000_000,
        answer: changes[1].answer.clone(),
    });
    // The truth flips to officer 0 for 5 ms and back: the flip is missed, the
    // return was on screen already.
    back[2].answer = changes[0].answer.clone();
    back.push(TruthChange {
        at_us: 2_005_000,
        answer: changes[1].answer.clone(),
    });
    let mut tally = ChangeTally::default();
    tally_citizen(&mut tally, 7, &back, &pushes, 3_000_000, 0);
    assert_eq!(tally.changes, 3);
    assert_eq!((tally.pushed, tally.already_shown, tally.missed), (1, 1, 1));
    assert!(
        tally
            .missed_lifetime_us
            .equivalent(tally.missed_lifetime_us.max(), 5_000)
    );
}

#[test]
fn a_replayed_run_pushed_exactly_is_all_pushed() {
    let params = WorldParams {
        seed: 3,
        bbox: BoundingBox::MANHATTAN_AND_HOBOKEN,
        max_speed_mps: 12.0,
        interval_us: 1_000_000,
        history_ticks: 2,
        officer_cadence: None,
    };
    let replay = Replay {
        params,
        schedule: Schedule {
            t0_us: 10_000_000,
            interval_us: 1_000_000,
            last_tick: 60,
        },
        officers: 30,
        rule: NearestRule {
            radius_m: 5_000.0,
            hysteresis_m: 100.0,
        },
        end_us: 72_000_000,
    };
    let citizens: Vec<u32> = (0..40).collect();
    let no_pushes: HashMap<u32, Vec<Received>> = citizens
        .iter()
        .map(|&citizen| (citizen, Vec::new()))
        .collect();
    let timelines = truth_timelines(&replay, &citizens, &no_pushes, &SendTimes::default());
    // Push every change 0.5 ms after it became true, as a perfect server would.
    let pushes: HashMap<u32, Vec<Received>> = timelines
        .iter()
        .map(|(&citizen, timeline)| {
            let pushed = timeline
                .iter()
                .map(|change| push_of(change.answer.as_ref(), change.at_us + 500))
                .collect();
            (citizen, pushed)
        })
        .collect();
    let tally = measure(&replay, &pushes, &SendTimes::default());
    assert!(tally.changes > 40, "only {} changes", tally.changes);
    assert_eq!(tally.missed, 0, "{:?}", tally.missed_samples);
    assert_eq!(tally.pushed, tally.changes);
    assert!(tally.latency_us.equivalent(tally.latency_us.max(), 500));
    // And with no pushes at all, every change is missed.
    let silent = measure(&replay, &no_pushes, &SendTimes::default());
    assert_eq!(silent.missed, silent.changes);
}

#[test]
fn the_truth_counts_each_update_from_when_it_was_written() {
    // A crowded square kilometre and a 100 ms interval: many updates are due
    // in the same millisecond slot, and answers change often.
    let interval_us = 100_000;
    let params = WorldParams {
        seed: 5,
        bbox: BoundingBox {
            lat_min: 40.750,
            lng_min: -73.990,
            lat_max: 40.759,
            lng_max: -73.978,
        },
        max_speed_mps: 12.0,
        interval_us,
        history_ticks: 2,
        officer_cadence: None,
    };
    let schedule = Schedule {
        t0_us: 10_000_000,
        interval_us,
        last_tick: 100,
    };
    let replay = Replay {
        params,
        schedule,
        officers: 40,
        rule: NearestRule {
            radius_m: 5_000.0,
            hysteresis_m: 0.0,
        },
        end_us: 45_000_000,
    };
    let citizens: Vec<u32> = (0..30).collect();
    let no_pushes: HashMap<u32, Vec<Received>> = citizens
        .iter()
        .map(|&citizen| (citizen, Vec::new()))
        .collect();
    let planned = truth_timelines(&replay, &citizens, &no_pushes, &SendTimes::default());
    // Every update written 1.5 intervals late, the frames of one burst up to
    // 0.2 ms apart and in another order than planned: the same truths, 150 ms
    // later (the replay keeps enough positions to follow the lag, and applies a
    // burst together).
    let log = SendLog::default();
    let mut held = std::collections::HashSet::new();
    let people = (0..40)
        .map(|index| (PersonKind::Officer, index))
        .chain(citizens.iter().map(|&index| (PersonKind::Citizen, index)));
    for (kind, index) in people {
        let person = Person { kind, index };
        held.insert(person);
        for tick in 1..=schedule.last_tick {
            let due_us = schedule.send_time_us(Schedule::phase_us(interval_us, kind, index), tick);
            let jitter_us =
                i64::from((index * 37 + u32::from(kind == PersonKind::Officer) * 101) % 200);
            log.record(person, tick, due_us + 150_000 + jitter_us);
        }
    }
    let late = truth_timelines(&replay, &citizens, &no_pushes, &log.take(held.clone()));
    let shifted = |timelines: &HashMap<u32, Vec<TruthChange>>, by_us: i64| {
        let mut all: Vec<(u32, i64, Option<Vec<u32>>)> = timelines
            .iter()
            .flat_map(|(&citizen, timeline)| {
                timeline.iter().skip(1).map(move |change| {
                    let officers = change.answer.as_ref().map(|a| a.officers.clone());
                    (citizen, (change.at_us + by_us) / 1_000, officers)
                })
            })
            .collect();
        all.sort_by_key(|entry| (entry.0, entry.1));
        all
    };
    assert!(shifted(&planned, 0).len() > 20);
    assert_eq!(shifted(&planned, 150_000), shifted(&late, 0));
    // Nothing written after the start: no truth ever changes.
    let silent = truth_timelines(
        &replay,
        &citizens,
        &no_pushes,
        &SendLog::default().take(held),
    );
    assert!(silent.values().all(|timeline| timeline.len() == 1));
}

#[test]
fn updates_due_together_are_applied_together_whatever_their_write_order() {
    let update = |written_us: i64, due_us: i64, index: u32| Update {
        written_us,
        due_us,
        is_citizen: index % 2 == 1,
        index,
        tick: 1,
    };
    let mut updates = vec![
        update(1_020, 1_000, 2),
        update(1_005, 1_000, 1),
        update(2_400, 2_000, 4),
        update(1_010, 1_000, 3),
        update(2_300, 2_000, 5),
    ];
    updates.sort_unstable();
    let groups: Vec<Vec<u32>> = bursts(&updates)
        .map(|burst| burst.iter().map(|update| update.index).collect())
        .collect();
    assert_eq!(groups, vec![vec![1, 3, 2], vec![5, 4]]);
}
