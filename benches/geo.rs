//! Geography hot paths: the ZIP of a point, the shard of a cell, the cell of a point,
//! and the cells searched for a nearest officer.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use h3o::Resolution;
use heyblue::bench_api::geo;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Random points over the contiguous US, Alaska and Hawaii boxes, fixed seed.
fn us_points(count: usize) -> Vec<geo::Point> {
    let mut rng = StdRng::seed_from_u64(7);
    (0..count)
        .map(|index| {
            let (lat, lng) = match index % 10 {
                0 => (
                    rng.random_range(55.0..71.0),
                    rng.random_range(-165.0..-141.0),
                ),
                1 => (
                    rng.random_range(19.0..22.0),
                    rng.random_range(-160.0..-155.0),
                ),
                _ => (
                    rng.random_range(25.0..49.0),
                    rng.random_range(-124.0..-67.0),
                ),
            };
            geo::point(lat, lng).expect("generated in range")
        })
        .collect()
}

fn bench_geo(criterion: &mut Criterion) {
    assert_eq!(geo::preload(), 33_791);
    let points = us_points(4_096);
    let cells: Vec<_> = points
        .iter()
        .map(|point| geo::cell_at(*point, Resolution::Eight))
        .collect();
    let mid_atlantic = geo::cell_at(geo::point(35.0, -45.0).expect("valid"), Resolution::Eight);
    let times_square = geo::point(40.758, -73.9855).expect("valid");

    let mut group = criterion.benchmark_group("geo");
    let mut position = 0;
    group.bench_function("nearest_zip/us_random", |bencher| {
        bencher.iter(|| {
            position = (position + 1) % points.len();
            geo::nearest_zip(black_box(points[position]))
        })
    });
    group.bench_function("nearest_zip/times_square", |bencher| {
        bencher.iter(|| geo::nearest_zip(black_box(times_square)))
    });
    group.bench_function("shard_for_cell/us_random_res8", |bencher| {
        bencher.iter(|| {
            position = (position + 1) % cells.len();
            geo::shard_for_cell(black_box(cells[position]))
        })
    });
    group.bench_function("shard_for_cell/mid_atlantic_res8", |bencher| {
        bencher.iter(|| geo::shard_for_cell(black_box(mid_atlantic)))
    });
    group.bench_function("cell_at/res8", |bencher| {
        bencher.iter(|| {
            position = (position + 1) % points.len();
            geo::cell_at(black_box(points[position]), Resolution::Eight)
        })
    });
    group.bench_function("search_cells/res8_5km", |bencher| {
        bencher.iter_batched(
            || {
                position = (position + 1) % points.len();
                points[position]
            },
            |point| geo::search_cells(black_box(point), 5_000.0, Resolution::Eight),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_geo);
criterion_main!(benches);
