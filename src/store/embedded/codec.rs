//! Translation at the redb boundary: records to and from MessagePack values
//! (with field names, so records can gain defaulted fields), and redb errors to
//! [`StoreError`].

use std::any::type_name;

use redb::ReadableTable;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::store::{StoreError, StoreResult};

/// Encodes a record as a table value.
pub(super) fn encode<T: Serialize>(record: &T) -> StoreResult<Vec<u8>> {
    rmp_serde::to_vec_named(record).map_err(|error| {
        StoreError::Backend(format!("cannot encode {}: {error}", type_name::<T>()))
    })
}

/// Decodes a table value; bytes that do not decode are corrupt.
pub(super) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> StoreResult<T> {
    rmp_serde::from_slice(bytes).map_err(|error| {
        StoreError::Corrupt(format!("cannot decode {}: {error}", type_name::<T>()))
    })
}

/// Reads and decodes the record stored under `key`.
pub(super) fn get_record<const N: usize, T: DeserializeOwned>(
    table: &impl ReadableTable<&'static [u8; N], &'static [u8]>,
    key: &[u8; N],
) -> StoreResult<Option<T>> {
    let Some(stored) = table.get(key).map_err(redb_error)? else {
        return Ok(None);
    };
    decode(stored.value()).map(Some)
}

/// Maps a redb error: damaged storage is `Corrupt`; a failed read or write of
/// the file (a full disk above all), and every call after one (redb refuses all
/// work until the database is reopened), is `StorageFailed`; anything else
/// `Backend`. (A held lock is recognised where the database is opened, where
/// the data directory is known.)
pub(super) fn redb_error(error: impl Into<redb::Error>) -> StoreError {
    match error.into() {
        redb::Error::Corrupted(detail) => StoreError::Corrupt(detail),
        redb::Error::Io(io) if io.kind() == std::io::ErrorKind::StorageFull => {
            StoreError::StorageFailed(format!("no space left on the disk: {io}"))
        }
        redb::Error::Io(io) => StoreError::StorageFailed(format!("i/o error: {io}")),
        redb::Error::PreviousIo => StoreError::StorageFailed(
            "an earlier i/o error stopped the database; it is being reopened".to_owned(),
        ),
        other => StoreError::Backend(format!("redb: {other}")),
    }
}
