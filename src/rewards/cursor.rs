//! Opaque page cursors: base64url (no padding) of a few bytes that say where a
//! listing continues. Clients pass back what they were given; anything else is
//! a 422 naming the `cursor` field. Two shapes:
//!
//! * after an id (admin lists, charities): the 16 bytes of the last id;
//! * in an area listing: the kind being read (1 byte), then the position in
//!   its index partition: end of validity (8 bytes, big-endian) and offer id.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::domain::catalog::{FieldError, OfferKind};
use crate::store::AreaPosition;

/// Bytes of an area cursor.
const AREA_CURSOR_BYTES: usize = 1 + 8 + 16;

/// Where an offer browse continues: in the listing of `kind`, after `position`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct AreaCursor {
    /// The kind whose listing is being read.
    pub(super) kind: OfferKind,
    /// The last row read.
    pub(super) position: AreaPosition,
}

/// The cursor continuing after `id`.
pub(super) fn after_id(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// The id a cursor continues after.
pub(super) fn parse_after_id(cursor: &str) -> Result<Uuid, FieldError> {
    let bytes = decode(cursor)?;
    Uuid::from_slice(&bytes).map_err(|_| invalid())
}

/// The cursor continuing an area listing.
pub(super) fn in_area(cursor: AreaCursor) -> String {
    let mut bytes = Vec::with_capacity(AREA_CURSOR_BYTES);
    bytes.push(match cursor.kind {
        OfferKind::Offer => 0,
        OfferKind::Scheme => 1,
    });
    bytes.extend_from_slice(&cursor.position.valid_until_ms.to_be_bytes());
    bytes.extend_from_slice(cursor.position.offer_id.as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The place an area cursor names.
pub(super) fn parse_in_area(cursor: &str) -> Result<AreaCursor, FieldError> {
    let bytes = decode(cursor)?;
    if bytes.len() != AREA_CURSOR_BYTES {
        return Err(invalid());
    }
    let kind = match bytes[0] {
        0 => OfferKind::Offer,
        1 => OfferKind::Scheme,
        _ => return Err(invalid()),
    };
    let mut until = [0; 8];
    until.copy_from_slice(&bytes[1..9]);
    let offer_id = Uuid::from_slice(&bytes[9..]).map_err(|_| invalid())?;
    Ok(AreaCursor {
        kind,
        position: AreaPosition {
            valid_until_ms: i64::from_be_bytes(until),
            offer_id,
        },
    })
}

fn decode(cursor: &str) -> Result<Vec<u8>, FieldError> {
    URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())
}

fn invalid() -> FieldError {
    FieldError::new("cursor", "not a cursor this listing gave out")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_what_they_were_made_from() {
        let id = Uuid::new_v4();
        assert_eq!(parse_after_id(&after_id(id)), Ok(id));
        let cursor = AreaCursor {
            kind: OfferKind::Scheme,
            position: AreaPosition {
                valid_until_ms: 1_767_225_600_000,
                offer_id: id,
            },
        };
        assert_eq!(parse_in_area(&in_area(cursor)), Ok(cursor));
    }

    #[test]
    fn foreign_text_is_not_a_cursor() {
        for text in ["", "!!", "abc", &after_id(Uuid::new_v4())] {
            assert_eq!(parse_in_area(text).expect_err("refused").field, "cursor");
        }
        assert_eq!(parse_after_id("AAAA").expect_err("refused").field, "cursor");
    }
}
