//! ZIP codes, and the ZIP of a point: the ZIP Code Tabulation Area whose census
//! centroid is nearest (2021 Gazetteer, 33,791 centroids, embedded in the binary).
//!
//! The index is a k-d tree (kiddo's `ImmutableKdTree`) over the centroids as 3-D unit
//! vectors, queried with squared Euclidean distance. Chord length is monotonic in
//! great-circle distance, so this is an exact nearest-centroid search on the sphere
//! with no special cases at the antimeridian (Aleutian ZIPs straddle it) or near the
//! poles; Euclidean distance on raw lat/lng would be wrong away from the equator. A
//! uniform lat/lng grid was the alternative: ZIP density varies by four orders of
//! magnitude between Manhattan and Alaska, so any cell size is either too coarse in
//! cities or has to search rings of empty cells in the wilderness, and it still needs
//! a haversine check at the edges. The tree answers in a few hundred nanoseconds
//! everywhere (see `benches/geo.rs`).
//!
//! A nearest centroid is not a point-in-polygon answer: near the edge of a large ZCTA
//! a smaller neighbour's centroid may be closer. That is good enough for sharding and
//! for records, which only need a stable, nearby ZIP.

use std::fmt;
use std::io::Read;
use std::num::NonZeroUsize;
use std::str::FromStr;
use std::sync::LazyLock;

use kiddo::{ImmutableKdTree, SquaredEuclidean};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::latlng::{CoordinateError, EARTH_MEAN_RADIUS_M, LatLng, distance_m};

/// The bundled census centroids: gzip CSV with a `zip,lat,lng` header, ZIPs as five
/// digits with their leading zeros.
static ZIP_CENTROIDS_CSV_GZ: &[u8] = include_bytes!("../../assets/us-zcta-centroids-2021.csv.gz");

/// The index over the bundled data, parsed on first use. The parse cannot fail for
/// the data this binary was built with: a test parses the same bytes.
static ZIP_INDEX: LazyLock<ZipIndex> =
    LazyLock::new(|| match ZipIndex::from_csv_gz(ZIP_CENTROIDS_CSV_GZ) {
        Ok(index) => index,
        Err(error) => panic!("embedded ZIP centroid data is invalid: {error}"),
    });

/// A five-digit US ZIP code (00000–99999), kept as a number so it is `Copy` and cheap
/// to compare; displayed with its leading zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Zip(u32);

/// Why a string is not a ZIP code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a zip code is exactly five ascii digits")]
pub(crate) struct ZipParseError;

impl Zip {
    /// The largest five-digit code.
    const MAX: u32 = 99_999;

    /// A ZIP from its numeric value; `None` above 99999.
    #[cfg(test)]
    pub(crate) fn new(code: u32) -> Option<Self> {
        (code <= Self::MAX).then_some(Self(code))
    }

    /// The numeric value (07030 is 7030).
    pub(crate) fn code(self) -> u32 {
        self.0
    }

    /// The first three digits (the sectional center facility), which name the shard:
    /// 07030 → 70, displayed by the shard as "070".
    pub(crate) fn prefix3(self) -> u16 {
        debug_assert!(self.0 <= Self::MAX);
        // At most 999 by the type's invariant, so the cast cannot truncate.
        (self.0 / 100) as u16
    }
}

impl fmt::Display for Zip {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:05}", self.0)
    }
}

impl FromStr for Zip {
    type Err = ZipParseError;

    /// Exactly five ASCII digits; no ZIP+4, no signs, no whitespace.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() != 5 || !text.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(ZipParseError);
        }
        let code = text.parse::<u32>().map_err(|_| ZipParseError)?;
        Ok(Self(code))
    }
}

impl Serialize for Zip {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Zip {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The answer to "which ZIP is this point in".
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ZipMatch {
    /// The ZIP whose centroid is nearest.
    pub(crate) zip: Zip,
    /// Great-circle distance from the point to that centroid, in meters; callers use it
    /// to tell "in the US" from "offshore or abroad".
    pub(crate) distance_m: f64,
}

/// The ZIP whose census centroid is nearest to `point`.
pub(crate) fn nearest_zip(point: LatLng) -> ZipMatch {
    ZIP_INDEX.nearest(point)
}

/// The nearest ZIP if its centroid is within `max_distance_m` of `point`, else `None`:
/// the same answer as [`nearest_zip`] plus a distance check, but the search stops at
/// the radius, which makes it about 20 times cheaper far from every centroid.
pub(crate) fn nearest_zip_within(point: LatLng, max_distance_m: f64) -> Option<ZipMatch> {
    ZIP_INDEX.nearest_within(point, max_distance_m)
}

/// The census centroid of a ZIP, or `None` for a ZIP with no tabulation area (PO boxes,
/// unique-organisation ZIPs, codes not in use). Also the known-ZIP check.
pub(crate) fn zip_centroid(zip: Zip) -> Option<LatLng> {
    ZIP_INDEX.centroid(zip)
}

/// The mean position (latitude, longitude in degrees) of the ZIP centroids of
/// each 3-digit prefix, sorted by prefix: where the console's map draws a
/// 3-digit area. A plain mean of degrees: no prefix straddles the antimeridian
/// far enough for it to matter on a national map.
pub(crate) fn zip3_positions() -> &'static [(u16, f64, f64)] {
    static POSITIONS: LazyLock<Vec<(u16, f64, f64)>> = LazyLock::new(|| {
        let mut sums: std::collections::BTreeMap<u16, (f64, f64, u32)> = Default::default();
        for entry in &ZIP_INDEX.entries {
            let sum = sums.entry(entry.zip.prefix3()).or_default();
            sum.0 += entry.centroid.lat();
            sum.1 += entry.centroid.lng();
            sum.2 += 1;
        }
        sums.into_iter()
            .map(|(prefix, (lat, lng, count))| {
                (prefix, lat / f64::from(count), lng / f64::from(count))
            })
            .collect()
    });
    &POSITIONS
}

/// Parses the embedded data now rather than on the first lookup, so a server pays the
/// cost (tens of milliseconds) at startup; returns how many ZIPs were loaded.
pub(crate) fn preload_zip_index() -> usize {
    ZIP_INDEX.len()
}

/// Why the centroid data could not be loaded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ZipDataError {
    /// The gzip stream is corrupt or not UTF-8.
    #[error("cannot decompress centroid data")]
    Decompress(#[source] std::io::Error),
    /// The first line is not `zip,lat,lng`.
    #[error("expected header `zip,lat,lng`")]
    Header,
    /// A data line is malformed.
    #[error("line {line}: {reason}")]
    Row {
        /// One-based line number, header included.
        line: usize,
        /// What is wrong with it.
        reason: RowError,
    },
    /// The same ZIP appears twice.
    #[error("zip {0} appears more than once")]
    DuplicateZip(Zip),
    /// No data lines at all.
    #[error("no centroids")]
    Empty,
    /// The k-d tree refused the points.
    #[error("cannot build the k-d tree: {0}")]
    Tree(String),
}

/// What is wrong with one CSV line.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RowError {
    /// Not exactly three comma-separated fields.
    #[error("expected three fields")]
    FieldCount,
    /// The first field is not five digits.
    #[error(transparent)]
    Zip(#[from] ZipParseError),
    /// A coordinate field is not a number.
    #[error("coordinate is not a number")]
    Number,
    /// The coordinates are out of range.
    #[error(transparent)]
    Coordinate(#[from] CoordinateError),
}

/// One ZIP and its centroid.
#[derive(Debug, Clone, Copy)]
struct ZipCentroid {
    /// The ZIP.
    zip: Zip,
    /// Its tabulation area's internal point.
    centroid: LatLng,
}

/// Centroids sorted by ZIP plus a k-d tree over them.
struct ZipIndex {
    /// Sorted by ZIP, so `centroid` is a binary search. The tree's items are indexes
    /// into this vector.
    entries: Vec<ZipCentroid>,
    /// The centroids as unit vectors.
    tree: ImmutableKdTree<f64, 3>,
}

impl fmt::Debug for ZipIndex {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ZipIndex")
            .field("zips", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl ZipIndex {
    /// Decompresses and parses a `zip,lat,lng` gzip CSV and builds the tree.
    fn from_csv_gz(bytes: &[u8]) -> Result<Self, ZipDataError> {
        let mut text = String::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_string(&mut text)
            .map_err(ZipDataError::Decompress)?;
        Self::from_csv(&text)
    }

    /// Parses a `zip,lat,lng` CSV (with header) and builds the tree.
    fn from_csv(text: &str) -> Result<Self, ZipDataError> {
        let mut lines = text.lines();
        if lines.next().map(str::trim_end) != Some("zip,lat,lng") {
            return Err(ZipDataError::Header);
        }
        let mut entries = Vec::with_capacity(34_000);
        for (index, line) in lines.enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let entry = parse_row(line.trim_end()).map_err(|reason| ZipDataError::Row {
                line: index + 2,
                reason,
            })?;
            entries.push(entry);
        }
        if entries.is_empty() {
            return Err(ZipDataError::Empty);
        }
        entries.sort_unstable_by_key(|entry| entry.zip);
        if let Some(pair) = entries.windows(2).find(|pair| pair[0].zip == pair[1].zip) {
            return Err(ZipDataError::DuplicateZip(pair[0].zip));
        }
        let points: Vec<[f64; 3]> = entries
            .iter()
            .map(|entry| entry.centroid.unit_vector())
            .collect();
        let tree = ImmutableKdTree::new_from_slice(&points)
            .map_err(|error| ZipDataError::Tree(error.to_string()))?;
        Ok(Self { entries, tree })
    }

    /// How many ZIPs are indexed.
    fn len(&self) -> usize {
        self.entries.len()
    }

    /// The nearest centroid. Exact ties (equidistant centroids) go to whichever the
    /// tree visits first, which is fixed for a given data set.
    fn nearest(&self, point: LatLng) -> ZipMatch {
        let found = self
            .tree
            .query(&point.unit_vector())
            .nearest_one::<SquaredEuclidean<f64>>()
            .execute();
        // Items are indexes into `entries` by construction (`new_from_slice`).
        let entry = self.entries[found.item as usize];
        ZipMatch {
            zip: entry.zip,
            distance_m: distance_m(point, entry.centroid),
        }
    }

    /// The nearest centroid, if it lies within `max_distance_m`.
    fn nearest_within(&self, point: LatLng, max_distance_m: f64) -> Option<ZipMatch> {
        if max_distance_m.is_nan() || max_distance_m < 0.0 {
            return None;
        }
        let max_angle = (max_distance_m / EARTH_MEAN_RADIUS_M).min(std::f64::consts::PI);
        let max_chord = 2.0 * (max_angle * 0.5).sin();
        // Padded so rounding in the chord never drops a centroid that the exact
        // haversine check below would keep.
        let max_chord_squared = max_chord * max_chord * (1.0 + 1e-9) + 1e-18;
        let found = self
            .tree
            .query(&point.unit_vector())
            .nearest_n::<SquaredEuclidean<f64>>(NonZeroUsize::MIN)
            .within(max_chord_squared)
            .execute();
        let nearest = found.first()?;
        // Items are indexes into `entries` by construction (`new_from_slice`).
        let entry = self.entries[nearest.item as usize];
        let distance_to_centroid_m = distance_m(point, entry.centroid);
        (distance_to_centroid_m <= max_distance_m).then_some(ZipMatch {
            zip: entry.zip,
            distance_m: distance_to_centroid_m,
        })
    }

    /// The centroid of a ZIP, if it has one.
    fn centroid(&self, zip: Zip) -> Option<LatLng> {
        self.entries
            .binary_search_by_key(&zip, |entry| entry.zip)
            .ok()
            .map(|position| self.entries[position].centroid)
    }
}

/// Parses one `zip,lat,lng` line.
fn parse_row(line: &str) -> Result<ZipCentroid, RowError> {
    let mut fields = line.split(',');
    let (Some(zip_text), Some(lat_text), Some(lng_text), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(RowError::FieldCount);
    };
    let zip = zip_text.parse::<Zip>()?;
    let lat = lat_text.parse::<f64>().map_err(|_| RowError::Number)?;
    let lng = lng_text.parse::<f64>().map_err(|_| RowError::Number)?;
    let centroid = LatLng::new(lat, lng)?;
    Ok(ZipCentroid { zip, centroid })
}

#[cfg(test)]
mod tests;
