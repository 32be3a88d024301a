//! The `cells` blob of a `report_rollups` row: the (area, partner, value)
//! of one hour of one period, in parts of at most [`PART_BYTES`] each, so a
//! row stays bounded however many areas and partners a period has. A part
//! is a format byte, then per cell: the area's length (one byte) and bytes,
//! a partner flag (0 or 1) and the partner's 16 bytes when 1, and the value
//! (8 bytes, big-endian).

use uuid::Uuid;

use crate::store::report_area::ReportArea;

/// The format byte every part starts with.
const FORMAT: u8 = 1;
/// Most bytes of one part (one row's `cells`).
pub(super) const PART_BYTES: usize = 1 << 20;
/// Most parts of one hour of one period: 64 MiB of cells, far above what
/// every ZIP times every partner needs (about 1.5 MiB for 100,000 areas).
pub(super) const MAX_PARTS: usize = 64;

/// One rolled-up cell of an hour of a period.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct RolledCell {
    /// The ZIP, the 3-digit ZIP, or `""` for the nation.
    pub(super) area: ReportArea,
    /// The retailer, municipality or charity, for metrics kept per partner.
    pub(super) partner: Option<Uuid>,
    /// The count or sum.
    pub(super) value: i64,
}

/// Why cells cannot be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub(super) enum RollupCodecError {
    /// More cells than [`MAX_PARTS`] parts hold.
    #[error("report roll-up needs {0} parts of {PART_BYTES} bytes, more than {MAX_PARTS}")]
    TooLarge(usize),
    /// A stored part that does not decode.
    #[error("report roll-up part is corrupt: {0}")]
    Corrupt(&'static str),
}

/// The bytes `cell` takes in a part.
fn encoded_len(cell: &RolledCell) -> usize {
    1 + cell.area.as_str().len() + 1 + cell.partner.map_or(0, |_| 16) + 8
}

/// `cells` as parts of at most [`PART_BYTES`] each (no part when empty).
pub(super) fn encode_parts(cells: &[RolledCell]) -> Result<Vec<Vec<u8>>, RollupCodecError> {
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    for cell in cells {
        let area = cell.area.as_str();
        if !current.is_empty() && current.len() + encoded_len(cell) > PART_BYTES {
            parts.push(std::mem::take(&mut current));
        }
        if current.is_empty() {
            current.push(FORMAT);
        }
        // An area is at most five digits, so its length fits a byte.
        current.push(area.len() as u8);
        current.extend_from_slice(area.as_bytes());
        match cell.partner {
            Some(partner) => {
                current.push(1);
                current.extend_from_slice(partner.as_bytes());
            }
            None => current.push(0),
        }
        current.extend_from_slice(&cell.value.to_be_bytes());
    }
    if !current.is_empty() {
        parts.push(current);
    }
    if parts.len() > MAX_PARTS {
        return Err(RollupCodecError::TooLarge(parts.len()));
    }
    Ok(parts)
}

/// Takes `count` bytes from the front of `rest`.
fn take<'a>(rest: &mut &'a [u8], count: usize) -> Result<&'a [u8], RollupCodecError> {
    if rest.len() < count {
        return Err(RollupCodecError::Corrupt("truncated"));
    }
    let (taken, left) = rest.split_at(count);
    *rest = left;
    Ok(taken)
}

/// The cells of one part, appended to `into`.
pub(super) fn decode_part(part: &[u8], into: &mut Vec<RolledCell>) -> Result<(), RollupCodecError> {
    let mut rest = part;
    if take(&mut rest, 1)? != [FORMAT] {
        return Err(RollupCodecError::Corrupt("unknown format"));
    }
    while !rest.is_empty() {
        let area_len = usize::from(take(&mut rest, 1)?[0]);
        let area = std::str::from_utf8(take(&mut rest, area_len)?)
            .ok()
            .and_then(ReportArea::parse)
            .ok_or(RollupCodecError::Corrupt("area"))?;
        let partner = match take(&mut rest, 1)?[0] {
            0 => None,
            1 => Some(
                Uuid::from_slice(take(&mut rest, 16)?)
                    .map_err(|_| RollupCodecError::Corrupt("partner id"))?,
            ),
            _ => return Err(RollupCodecError::Corrupt("partner flag")),
        };
        let mut value = [0_u8; 8];
        value.copy_from_slice(take(&mut rest, 8)?);
        into.push(RolledCell {
            area,
            partner,
            value: i64::from_be_bytes(value),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(area: &str, partner: Option<u128>, value: i64) -> RolledCell {
        RolledCell {
            area: ReportArea::parse(area).expect("an area"),
            partner: partner.map(Uuid::from_u128),
            value,
        }
    }

    #[test]
    fn cells_round_trip_through_parts() {
        let cells = vec![
            cell("", None, 7),
            cell("10036", None, -3),
            cell("", Some(9), 1),
        ];
        let parts = encode_parts(&cells).expect("encode");
        assert_eq!(parts.len(), 1);
        let mut decoded = Vec::new();
        decode_part(&parts[0], &mut decoded).expect("decode");
        assert_eq!(decoded, cells);
        assert!(encode_parts(&[]).expect("encode").is_empty());
    }

    #[test]
    fn many_cells_split_into_bounded_parts() {
        // 100,000 ZIPs with a partner each: 31 bytes a cell, about 3 MiB.
        let cells: Vec<RolledCell> = (0..100_000)
            .map(|zip| cell(&format!("{zip:05}"), Some(zip), zip as i64))
            .collect();
        let parts = encode_parts(&cells).expect("encode");
        assert!(parts.len() > 1, "split into {} parts", parts.len());
        assert!(parts.iter().all(|part| part.len() <= PART_BYTES));
        let mut decoded = Vec::new();
        for part in &parts {
            decode_part(part, &mut decoded).expect("decode");
        }
        assert_eq!(decoded, cells);
    }

    #[test]
    fn bad_input_is_refused() {
        let mut decoded = Vec::new();
        assert!(
            decode_part(
                &[FORMAT, 6, b'1', b'2', b'3', b'4', b'5', b'6'],
                &mut decoded
            )
            .is_err()
        );
        assert!(decode_part(&[FORMAT, 1, b'x', 0, 0, 0, 0, 0, 0, 0, 0, 0], &mut decoded).is_err());
        assert!(decode_part(&[FORMAT, 5, b'1'], &mut decoded).is_err());
        assert!(decode_part(&[2], &mut decoded).is_err());
        assert!(decode_part(&[FORMAT, 0, 7], &mut decoded).is_err());
    }
}
