//! Nearest-officer lookups in the node-local index with 1k, 10k and 100k available
//! officers spread over Manhattan and Hoboken (across ZIP-shard borders), queried
//! from random citizen positions in the same area.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use heyblue::bench_api::presence::BenchIndex;
use rand::{Rng, SeedableRng};

/// Manhattan plus Hoboken.
const SOUTH: f64 = 40.70;
const NORTH: f64 = 40.82;
const WEST: f64 = -74.06;
const EAST: f64 = -73.93;

fn random_points(rng: &mut impl Rng, count: usize) -> Vec<(f64, f64)> {
    (0..count)
        .map(|_| (rng.random_range(SOUTH..NORTH), rng.random_range(WEST..EAST)))
        .collect()
}

fn nearest_lookup(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("nearest_lookup");
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let queries = random_points(&mut rng, 4096);
    for officers in [1_000usize, 10_000, 100_000] {
        let index = BenchIndex::with_officers(&random_points(&mut rng, officers));
        group.bench_with_input(
            BenchmarkId::from_parameter(officers),
            &index,
            |bench, index| {
                let mut next = 0usize;
                bench.iter(|| {
                    let (lat, lng) = queries[next % queries.len()];
                    next += 1;
                    black_box(index.nearest_distance_m(lat, lng, 5_000.0))
                });
            },
        );
    }
    // Sparse: one officer per ~10 km², the search must widen before it finds one.
    let sparse = BenchIndex::with_officers(&random_points(&mut rng, 16));
    group.bench_function("sparse_16", |bench| {
        let mut next = 0usize;
        bench.iter(|| {
            let (lat, lng) = queries[next % queries.len()];
            next += 1;
            black_box(sparse.nearest_distance_m(lat, lng, 5_000.0))
        });
    });
    group.finish();
}

criterion_group!(benches, nearest_lookup);
criterion_main!(benches);
