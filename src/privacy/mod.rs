//! What one person may observe about another's location, in one place.
//!
//! **The guarantee.** Everything a citizen can observe about an officer — the
//! approximate position, the distance band of `nearest`, the `nearby` alert,
//! which of several officers is the nearest (and the ties between them), whether
//! a `request_connection` is `out_of_range` or `pending`, `officer_unavailable`
//! versus other refusals, and *when* any push happens — is a function of the
//! officer's [`ShownPosition`]: the centre of the resolution-9 H3 cell the
//! officer is in (edge ≈ 174 m). Two precise points inside one cell give a
//! citizen the same messages at the same moments. Symmetrically, an officer sees
//! a requesting citizen only as a band between the two shown positions.
//!
//! **How it is enforced.** An officer's session turns each precise fix into a
//! [`ShownPosition`] before anything leaves it: the index, the cells, the
//! replicas sent to other nodes and every lookup only ever hold shown positions,
//! and the session publishes nothing while the officer moves inside one cell (so
//! no recheck, push or timing follows such a move). The type has no constructor
//! from a precise point other than [`ShownPosition::of`], which snaps.
//!
//! **The threat model.** A citizen controls the position it reports (spoofed
//! fixes anywhere, as fast as the server accepts them), can run many accounts,
//! and can wait and watch for as long as it likes. Such an attacker learns the
//! officer's cell — which it is shown anyway — and nothing finer: band edges,
//! the alert edge and the request-radius edge are circles around the cell
//! centre, and the bisector between two officers is the bisector of their cell
//! centres. Only the co-location rule for points uses precise server-observed
//! positions, once, after the officer has accepted (a human decision).
//!
//! Precise positions live only in memory (a session's state and the node's
//! last-seen table for that rule); they are never stored, logged or sent to
//! another person. docs/privacy.md lists every observable and its source.

use h3o::Resolution;

use crate::domain::connection::Observed;
use crate::geo::{self, LatLng};

/// Resolution of the cell whose centre stands for an officer's position.
pub(crate) const SHOWN_RESOLUTION: Resolution = Resolution::Nine;

/// A position as others may observe it: the centre of a resolution-9 cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ShownPosition(LatLng);

impl ShownPosition {
    /// Snaps a precise position to the centre of its resolution-9 cell. Snapping
    /// a shown position again gives the same position (a centre lies in its cell).
    pub(crate) fn of(precise: LatLng) -> Self {
        Self(geo::cell_center(geo::cell_at(precise, SHOWN_RESOLUTION)))
    }

    /// A position the caller knows to be a cell centre already, taken as it is.
    /// For tests of index geometry that need exact coordinates.
    #[cfg(test)]
    pub(crate) fn assume_shown(point: LatLng) -> Self {
        Self(point)
    }

    /// The centre's coordinates.
    pub(crate) fn point(self) -> LatLng {
        self.0
    }

    /// The resolution-9 cell this position is the centre of.
    pub(crate) fn cell(self) -> u64 {
        u64::from(geo::cell_at(self.0, SHOWN_RESOLUTION))
    }
}

/// How far a shown position can be from the precise point it stands for: 1.2
/// average edges of a resolution-9 cell (the largest circumradius measured is
/// 1.103 edges), about 209 m.
pub(crate) fn max_shown_offset_m() -> f64 {
    1.2 * SHOWN_RESOLUTION.edge_length_m()
}

/// The distance every citizen-facing answer about an officer is computed from:
/// from the citizen's reported point to the officer's shown position.
pub(crate) fn distance_to_officer_m(citizen: LatLng, officer: ShownPosition) -> f64 {
    geo::distance_m(citizen, officer.point())
}

/// Whether the citizen's point and the officer's shown position fall in the
/// same 3-digit ZIP area (of the ZIP whose census centroid is nearest, within
/// 50 km): from the shown position, so the answer is one the citizen could work
/// out from what it is shown.
pub(crate) fn same_zip3_area(citizen: LatLng, officer: ShownPosition) -> bool {
    const ZIP_AREA_MAX_DISTANCE_M: f64 = 50_000.0;
    let area = |point: LatLng| {
        geo::nearest_zip_within(point, ZIP_AREA_MAX_DISTANCE_M).map(|found| found.zip.prefix3())
    };
    match (area(citizen), area(officer.point())) {
        (Some(citizen_area), Some(officer_area)) => citizen_area == officer_area,
        (Some(_) | None, Some(_) | None) => false,
    }
}

/// The band an officer is shown for a requesting citizen: between the two shown
/// positions, so the citizen's precise point does not leak to the officer either.
pub(crate) fn citizen_band_for_officer_m(citizen: LatLng, officer: ShownPosition) -> u32 {
    let citizen_shown = ShownPosition::of(citizen);
    geo::distance_band_m(geo::distance_m(citizen_shown.point(), officer.point()))
}

/// Whether a citizen could have moved from `previous` to `next` by `now_ms` at no
/// more than `max_speed_mps`. The time between fixes counts as at least one
/// location interval, so two fixes sent back to back may still differ by GPS
/// jitter of `max_speed_mps` × one interval without being refused.
pub(crate) fn is_plausible_move(
    previous: Observed,
    next: LatLng,
    now_ms: i64,
    max_speed_mps: f64,
    location_interval_ms: u64,
) -> bool {
    let interval_ms = i64::try_from(location_interval_ms).unwrap_or(i64::MAX);
    let elapsed_ms = now_ms.saturating_sub(previous.at_ms).max(interval_ms);
    let reachable_m = max_speed_mps * elapsed_ms as f64 / 1_000.0;
    geo::distance_m(previous.position, next) <= reachable_m
}

#[cfg(test)]
mod tests;
