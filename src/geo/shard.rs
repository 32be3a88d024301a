//! Shards: the unit of ownership in the cluster. A cell belongs to the ZIP whose
//! centroid is nearest to the cell's centre, and to that ZIP's 3-digit prefix shard;
//! a cell with no ZIP centroid within 50 km (at sea, abroad) belongs to the shard of
//! its resolution-3 parent, so the server works anywhere.
//!
//! The cluster layer carries a shard as its display string ("070", "h3:832a10fffffffff"),
//! so display and parse are exact inverses and each shard has exactly one spelling.

use std::fmt;
use std::str::FromStr;

use h3o::{CellIndex, Resolution};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::cells::{cell_at, cell_center};
use super::zip::{Zip, nearest_zip_within};

/// Beyond this distance from every ZIP centroid, a cell gets an `h3:` shard.
pub(crate) const ZIP_SHARD_MAX_DISTANCE_M: f64 = 50_000.0;

/// Resolution of the cells that name the shards outside ZIP areas (edge ≈ 69 km).
pub(crate) const H3_SHARD_RESOLUTION: Resolution = Resolution::Three;

/// The text before the cell index in an H3 shard's name.
const H3_SHARD_PREFIX: &str = "h3:";

/// A shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum ShardId {
    /// A 3-digit ZIP prefix, 0–999 (as returned by [`Zip::prefix3`]); displayed as
    /// three digits with leading zeros, e.g. "070" for Hoboken's 07030.
    Zip3(u16),
    /// A resolution-3 H3 cell, for places with no ZIP centroid within
    /// [`ZIP_SHARD_MAX_DISTANCE_M`]; displayed "h3:" + the cell's lowercase hex index.
    H3(CellIndex),
}

/// Why a string does not name a shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ShardParseError {
    /// Neither three digits nor "h3:" + a cell index.
    #[error("a shard is three digits or h3:<cell>")]
    Format,
    /// An "h3:" shard whose cell index is invalid.
    #[error("invalid h3 cell index")]
    InvalidCell,
    /// An "h3:" shard whose cell is not at resolution 3.
    #[error("h3 shard cells are at resolution 3")]
    WrongResolution,
    /// A valid cell spelled differently from its display (upper case, leading zeros).
    #[error("h3 shard cell index is not in canonical form")]
    NotCanonical,
}

impl ShardId {
    /// The shard of a ZIP.
    pub(crate) fn for_zip(zip: Zip) -> Self {
        ShardId::Zip3(zip.prefix3())
    }
}

/// The shard that owns `cell`: the 3-digit prefix of the ZIP nearest to the cell's
/// centre if that ZIP's centroid is within 50 km, otherwise the resolution-3 parent.
pub(crate) fn shard_for_cell(cell: CellIndex) -> ShardId {
    let centre = cell_center(cell);
    if let Some(nearest) = nearest_zip_within(centre, ZIP_SHARD_MAX_DISTANCE_M) {
        return ShardId::for_zip(nearest.zip);
    }
    // Cells coarser than resolution 3 have no such parent; they take the
    // resolution-3 cell under their centre.
    let shard_cell = cell
        .parent(H3_SHARD_RESOLUTION)
        .unwrap_or_else(|| cell_at(centre, H3_SHARD_RESOLUTION));
    ShardId::H3(shard_cell)
}

impl fmt::Display for ShardId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShardId::Zip3(prefix) => {
                debug_assert!(*prefix < 1_000, "zip prefixes have three digits");
                write!(formatter, "{prefix:03}")
            }
            ShardId::H3(cell) => write!(formatter, "{H3_SHARD_PREFIX}{cell}"),
        }
    }
}

impl FromStr for ShardId {
    type Err = ShardParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Some(cell_text) = text.strip_prefix(H3_SHARD_PREFIX) {
            return parse_h3_shard(cell_text);
        }
        if text.len() != 3 || !text.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(ShardParseError::Format);
        }
        let prefix = text.parse::<u16>().map_err(|_| ShardParseError::Format)?;
        Ok(ShardId::Zip3(prefix))
    }
}

/// Parses the part of an H3 shard's name after "h3:".
fn parse_h3_shard(cell_text: &str) -> Result<ShardId, ShardParseError> {
    if cell_text.is_empty() || !cell_text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(ShardParseError::Format);
    }
    let cell = cell_text
        .parse::<CellIndex>()
        .map_err(|_| ShardParseError::InvalidCell)?;
    if cell.resolution() != H3_SHARD_RESOLUTION {
        return Err(ShardParseError::WrongResolution);
    }
    if cell.to_string() != cell_text {
        return Err(ShardParseError::NotCanonical);
    }
    Ok(ShardId::H3(cell))
}

impl Serialize for ShardId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ShardId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
