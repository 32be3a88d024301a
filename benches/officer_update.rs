//! What one officer update costs the node's map, in allocations and time: the
//! change applied through the one officer-change function, and every citizen it
//! names rechecking its answer. A city of 1,000 officers and 9,000 citizens over
//! Manhattan and Hoboken; each update moves one officer to another point nearby
//! (a new shown cell, the only kind of officer fix that reaches the map).
//! Allocations are counted by `stats_alloc`'s instrumented system allocator.
//!
//! `cargo bench --bench officer_update`

use std::alloc::System;
use std::time::Instant;

use heyblue::bench_api::presence::BenchIndex;
use rand::{Rng, SeedableRng};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const SOUTH: f64 = 40.70;
const NORTH: f64 = 40.82;
const WEST: f64 = -74.06;
const EAST: f64 = -73.93;
const OFFICERS: usize = 1_000;
const CITIZENS: usize = 9_000;
const UPDATES: usize = 50_000;

fn random_points(rng: &mut impl Rng, count: usize) -> Vec<(f64, f64)> {
    (0..count)
        .map(|_| (rng.random_range(SOUTH..NORTH), rng.random_range(WEST..EAST)))
        .collect()
}

fn main() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut officers = random_points(&mut rng, OFFICERS);
    let index = BenchIndex::with_officers(&officers);
    index.place_citizens(&random_points(&mut rng, CITIZENS));
    // Moves of ~150–300 m: usually into a neighbouring shown cell.
    let moves: Vec<(usize, f64, f64)> = (0..UPDATES)
        .map(|_| {
            let officer = rng.random_range(0..OFFICERS);
            let dlat = rng.random_range(-0.002..0.002);
            let dlng = rng.random_range(-0.003..0.003);
            (officer, dlat, dlng)
        })
        .collect();
    let region = Region::new(GLOBAL);
    let started = Instant::now();
    let mut rechecks = 0usize;
    for (officer, dlat, dlng) in moves {
        let (lat, lng) = &mut officers[officer];
        *lat = (*lat + dlat).clamp(SOUTH, NORTH);
        *lng = (*lng + dlng).clamp(WEST, EAST);
        rechecks += index.move_officer(officer, *lat, *lng);
    }
    let elapsed = started.elapsed();
    let counted = region.change();
    let allocations = counted.allocations + counted.reallocations;
    let bytes = counted.bytes_allocated;
    let per_update = |total: f64| total / UPDATES as f64;
    println!("officer_update: {OFFICERS} officers, {CITIZENS} citizens, {UPDATES} updates");
    println!(
        "  time per update        {:>10.2} µs",
        per_update(elapsed.as_secs_f64() * 1e6)
    );
    println!(
        "  citizens rechecked     {:>10.2} per update",
        per_update(rechecks as f64)
    );
    println!(
        "  allocations            {:>10.2} per update ({:.2} per recheck)",
        per_update(allocations as f64),
        allocations as f64 / rechecks.max(1) as f64
    );
    println!(
        "  bytes allocated        {:>10.0} per update",
        per_update(bytes as f64)
    );
}
