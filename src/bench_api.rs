//! Thin public wrappers over crate-private hot paths, for the criterion benches in
//! `benches/`. Not an API: hidden from the docs, no stability promise, and nothing
//! here is used by the server.

pub use crate::presence::presence_bench_api as presence;
pub use crate::proto::proto_bench_api as proto;

/// Geography: ZIP lookup, shard assignment, H3 indexing.
pub mod geo {
    use h3o::{CellIndex, Resolution};

    use crate::geo;

    /// A validated point, opaque to the benches.
    #[derive(Debug, Clone, Copy)]
    pub struct Point(geo::LatLng);

    /// A shard, opaque to the benches.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Shard(geo::ShardId);

    /// Validates a coordinate in degrees.
    pub fn point(lat: f64, lng: f64) -> Option<Point> {
        geo::LatLng::new(lat, lng).ok().map(Point)
    }

    /// Loads the embedded ZIP data, so no measured iteration pays for it.
    pub fn preload() -> usize {
        geo::preload_zip_index()
    }

    /// The nearest ZIP's code and the distance to its centroid in meters.
    pub fn nearest_zip(point: Point) -> (u32, f64) {
        let found = geo::nearest_zip(point.0);
        (found.zip.code(), found.distance_m)
    }

    /// The shard owning a cell.
    pub fn shard_for_cell(cell: CellIndex) -> Shard {
        Shard(geo::shard_for_cell(cell))
    }

    /// The cell of a point.
    pub fn cell_at(point: Point, resolution: Resolution) -> CellIndex {
        geo::cell_at(point.0, resolution)
    }

    /// The cells covering a radius around a point.
    pub fn search_cells(point: Point, radius_m: f64, resolution: Resolution) -> Vec<CellIndex> {
        geo::search_cells(point.0, radius_m, resolution)
    }
}
