//! Geography as pure functions: validated coordinates and haversine distances, the
//! ZIP of a point (nearest census centroid, data embedded in the binary), shard
//! assignment, H3 helpers and the distance bands people are shown. No actors, and no
//! I/O at run time.

mod bands;
mod cells;
mod latlng;
mod shard;
#[cfg(test)]
pub(crate) mod test_support;
mod zip;

pub(crate) use bands::{DISTANCE_BANDS_M, distance_band_m};
pub(crate) use cells::{cell_at, cell_center, record_cell, record_zip, search_cells};
pub(crate) use latlng::{LatLng, distance_m};
pub(crate) use shard::{ShardId, shard_for_cell};
pub(crate) use zip::{
    Zip, nearest_zip, nearest_zip_within, preload_zip_index, zip_centroid, zip3_positions,
};
