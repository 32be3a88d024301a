//! Serde helper (`#[serde(with = "text_id")]`) that writes an id as its text form in
//! every format. Without it a UUID becomes 16 raw bytes in MessagePack (rmp-serde is
//! not "human readable" by default) but a string in JSON, and the two formats would
//! no longer share one schema.

use std::fmt::Display;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serializer, de};

/// Writes `id` as a string.
pub(crate) fn serialize<T, S>(id: &T, serializer: S) -> Result<S::Ok, S::Error>
where
    T: Display,
    S: Serializer,
{
    serializer.collect_str(id)
}

/// Reads a string and parses it as the id type.
pub(crate) fn deserialize<'de, T, D>(deserializer: D) -> Result<T, D::Error>
where
    T: FromStr,
    T::Err: Display,
    D: Deserializer<'de>,
{
    let text = String::deserialize(deserializer)?;
    text.parse()
        .map_err(|error| de::Error::custom(format_args!("not a valid id: {error}")))
}
