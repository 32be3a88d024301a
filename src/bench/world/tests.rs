use super::*;

const SECOND_US: i64 = 1_000_000;

fn params(officer_cadence: Option<PhoneCadence>) -> WorldParams {
    WorldParams {
        seed: 11,
        bbox: BoundingBox::MANHATTAN_AND_HOBOKEN,
        max_speed_mps: 12.0,
        interval_us: SECOND_US,
        history_ticks: 4,
        officer_cadence,
    }
}

fn schedule(last_tick: u64) -> Schedule {
    Schedule {
        t0_us: 100 * SECOND_US,
        interval_us: SECOND_US,
        last_tick,
    }
}

/// Every tick's send time of officer 0 (phase 0) is `t0 + (tick - 1) s`.
fn officer_send_us(tick: u64) -> i64 {
    schedule(0).send_time_us(0, tick)
}

#[test]
fn at_the_fixed_pace_every_tick_is_reported() {
    let mut world = World::new(params(None), 1, &[5]);
    world.start(schedule(30));
    for tick in 1..=30 {
        world.advance_to(tick);
        let position = world.position_at_tick(PersonKind::Officer, 0, tick);
        assert!(position.is_some());
        assert_eq!(
            world.reported_at_tick(PersonKind::Officer, 0, tick),
            position
        );
    }
    // The server's picture is the newest tick, and a window holds each tick.
    let end_us = officer_send_us(30);
    assert_eq!(
        world.position_at_time(PersonKind::Officer, 0, end_us),
        world.position_at_tick(PersonKind::Officer, 0, 30)
    );
    assert_eq!(
        world
            .positions_between(PersonKind::Officer, 0, officer_send_us(28), end_us)
            .len(),
        3
    );
}

#[test]
fn an_officer_obeying_a_cadence_reports_only_when_due_and_is_believed_where_it_reported() {
    let cadence = PhoneCadence {
        interval_ms: 3_000,
        min_distance_m: 10,
    };
    let long_memory = WorldParams {
        history_ticks: 100,
        ..params(Some(cadence))
    };
    let mut world = World::new(long_memory, 1, &[]);
    world.start(schedule(60));
    world.advance_to(60);
    let reported: Vec<u64> = (1..=60)
        .filter(|&tick| {
            world
                .reported_at_tick(PersonKind::Officer, 0, tick)
                .is_some()
        })
        .collect();
    assert!(!reported.is_empty());
    // At least 3 s apart, and from tick 0 (sent on connect) on.
    let mut previous = 0;
    for &tick in &reported {
        assert!(tick - previous >= 3, "reports at {previous} and {tick}");
        previous = tick;
    }
    assert!(reported.len() <= 20);
    // Between two reports, the server's picture stays the older one.
    let (first, second) = (reported[0], reported[1]);
    let believed = world.position_at_time(PersonKind::Officer, 0, officer_send_us(second) - 1);
    assert_eq!(
        believed,
        world.reported_at_tick(PersonKind::Officer, 0, first)
    );
    assert_eq!(
        world.send_times_between(PersonKind::Officer, 0, 0, officer_send_us(60)),
        reported
            .iter()
            .rev()
            .map(|&tick| officer_send_us(tick))
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_citizen_under_a_cadence_reports_what_its_phone_decides() {
    let cadence = PhoneCadence {
        interval_ms: 0,
        min_distance_m: 0,
    };
    let mut world = World::new(params(Some(PhoneCadence::officer_default())), 0, &[5]);
    world.start(schedule(10));
    world.advance_to(3);
    // Not told yet: the fixed pace.
    assert!(world.report_citizen(5, 1, None).is_some());
    // Told to stop: nothing more goes out, and the picture stays at tick 1.
    assert!(world.report_citizen(5, 2, Some(cadence)).is_none());
    assert!(world.report_citizen(5, 3, Some(cadence)).is_none());
    let at_tick_one = world.position_at_tick(PersonKind::Citizen, 5, 1);
    assert!(at_tick_one.is_some());
    let citizen_phase = Schedule::phase_us(SECOND_US, PersonKind::Citizen, 5);
    let late_us = schedule(10).send_time_us(citizen_phase, 3);
    assert_eq!(
        world.position_at_time(PersonKind::Citizen, 5, late_us),
        at_tick_one
    );
    let moved = world.unreported_m(5, 3);
    assert!(moved.is_some_and(|metres| metres > 0.0));
    // A tick the world has not computed cannot be reported.
    assert!(world.report_citizen(5, 4, None).is_none());
}
