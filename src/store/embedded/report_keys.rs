//! The byte keys of the embedded store's report tables. A cell key is
//! metric, grain, level, role, biased first day of its period, hour, area
//! (then the partner, for metrics kept per partner): the cells one report
//! reads (one metric, grain, level and role over a span of days) are one
//! contiguous range, whatever the other roles and grains hold.

use super::tables::biased;
use crate::store::report_area::{MAX_AREA_BYTES, ReportArea};
use crate::store::report_records::{AreaLevel, CellKey, Grain, ReportCell, ReportRole};

/// Bytes of an area in a key: up to five ASCII digits, zero-padded.
const AREA_BYTES: usize = MAX_AREA_BYTES;
/// Offset of the biased day in a cell key (after metric, grain, level, role).
const CELL_DAY_AT: usize = 4;
/// Offset of the hour in a cell key.
const CELL_HOUR_AT: usize = CELL_DAY_AT + 8;
/// Offset of the area in a cell key.
const CELL_AREA_AT: usize = CELL_HOUR_AT + 1;
/// Bytes of a cell key: metric, grain, level, role, biased day, hour, area.
pub(super) const CELL_KEY_BYTES: usize = CELL_AREA_AT + AREA_BYTES;
/// Bytes of a cell key of a metric kept per partner: a cell key, then the
/// partner's id.
pub(super) const PARTNER_CELL_KEY_BYTES: usize = CELL_KEY_BYTES + 16;
/// Bytes of a person-in-cell key: grain, level, role, biased day, hour,
/// area, person.
pub(super) const PERSON_KEY_BYTES: usize = 3 + 8 + 1 + AREA_BYTES + 16;
/// Bytes of a fact id key: biased day, fact id.
pub(super) const FACT_KEY_BYTES: usize = 8 + 16;

/// Key of a cell.
pub(super) type CellKeyBytes = [u8; CELL_KEY_BYTES];
/// Key of a cell of a metric kept per partner.
pub(super) type PartnerCellKeyBytes = [u8; PARTNER_CELL_KEY_BYTES];
/// Key of a person counted in a `participants` cell.
pub(super) type PersonKeyBytes = [u8; PERSON_KEY_BYTES];
/// Key of a counted fact.
pub(super) type FactKeyBytes = [u8; FACT_KEY_BYTES];

/// The area of the area bytes of a key.
fn area_of_bytes(bytes: &[u8]) -> Option<ReportArea> {
    ReportArea::from_bytes(bytes.try_into().ok()?)
}

/// The day of biased day bytes.
fn unbiased(bytes: &[u8]) -> i64 {
    let mut day = [0; 8];
    day.copy_from_slice(bytes);
    (u64::from_be_bytes(day) ^ (1 << 63)) as i64
}

/// The first key of (metric, grain, level, role) in a cell table (`N` is
/// [`CELL_KEY_BYTES`] or [`PARTNER_CELL_KEY_BYTES`]) on `day`.
pub(super) fn cell_range_start<const N: usize>(
    key: (u8, Grain, AreaLevel, ReportRole),
    day: i64,
) -> [u8; N] {
    let (metric, grain, level, role) = key;
    let mut bytes = [0; N];
    bytes[0] = metric;
    bytes[1] = grain.tag();
    bytes[2] = level.tag();
    bytes[3] = role.tag();
    bytes[CELL_DAY_AT..CELL_HOUR_AT].copy_from_slice(&biased(day));
    bytes
}

/// The key of a cell in its table (with the partner after it when `N` is
/// [`PARTNER_CELL_KEY_BYTES`]).
pub(super) fn cell_key_bytes<const N: usize>(key: &CellKey) -> [u8; N] {
    let mut bytes =
        cell_range_start::<N>((key.metric.tag(), key.grain, key.level, key.role), key.day);
    bytes[CELL_HOUR_AT] = key.hour;
    bytes[CELL_AREA_AT..CELL_KEY_BYTES].copy_from_slice(&key.area.bytes());
    if let Some(partner) = key.partner {
        bytes[CELL_KEY_BYTES..].copy_from_slice(partner.as_bytes());
    }
    bytes
}

/// The biased day bytes of a cell key.
pub(super) fn cell_day_bytes(bytes: &[u8]) -> &[u8] {
    &bytes[CELL_DAY_AT..CELL_HOUR_AT]
}

/// The cell of a key read from a cell table of `metric`.
pub(super) fn cell_from_bytes(
    metric: crate::store::report_records::ReportMetric,
    bytes: &[u8],
    value: i64,
) -> Option<ReportCell> {
    let partner = (bytes.len() == PARTNER_CELL_KEY_BYTES)
        .then(|| uuid::Uuid::from_slice(&bytes[CELL_KEY_BYTES..]).ok())
        .flatten();
    Some(ReportCell {
        key: CellKey {
            metric,
            grain: Grain::from_tag(bytes[1])?,
            level: AreaLevel::from_tag(bytes[2])?,
            role: ReportRole::from_tag(bytes[3])?,
            day: unbiased(cell_day_bytes(bytes)),
            hour: bytes[CELL_HOUR_AT],
            area: area_of_bytes(&bytes[CELL_AREA_AT..CELL_KEY_BYTES])?,
            partner,
        },
        value,
    })
}

/// The first person key of (grain, level, role) on `day`.
pub(super) fn person_range_start(
    grain: Grain,
    level: AreaLevel,
    role: ReportRole,
    day: i64,
) -> PersonKeyBytes {
    let mut bytes = [0; PERSON_KEY_BYTES];
    bytes[0] = grain.tag();
    bytes[1] = level.tag();
    bytes[2] = role.tag();
    bytes[3..11].copy_from_slice(&biased(day));
    bytes
}

/// The biased day bytes of a person key.
pub(super) fn person_day_bytes(bytes: &[u8]) -> &[u8] {
    &bytes[3..11]
}

/// The key of `person` counted in the `participants` cell at `key`.
pub(super) fn person_key_bytes(key: &CellKey, person: uuid::Uuid) -> PersonKeyBytes {
    let mut bytes = [0; PERSON_KEY_BYTES];
    bytes[0] = key.grain.tag();
    bytes[1] = key.level.tag();
    bytes[2] = key.role.tag();
    bytes[3..11].copy_from_slice(&biased(key.day));
    bytes[11] = key.hour;
    bytes[12..17].copy_from_slice(&key.area.bytes());
    bytes[17..].copy_from_slice(person.as_bytes());
    bytes
}

/// The key of a counted fact.
pub(super) fn fact_key_bytes(day: i64, fact_id: uuid::Uuid) -> FactKeyBytes {
    let mut bytes = [0; FACT_KEY_BYTES];
    bytes[..8].copy_from_slice(&biased(day));
    bytes[8..].copy_from_slice(fact_id.as_bytes());
    bytes
}
