//! A format-neutral parse of one frame. Decoding is two steps: the bytes become a
//! [`WireValue`] (any JSON or MessagePack value: this step alone decides
//! `malformed_frame`), then the value is deserialized into a typed message through
//! this module's own `Deserializer`, whose [`FieldError`] records *which* field was
//! missing or invalid. serde's own formats only say so in prose, and lose the field
//! name entirely inside internally tagged enums; owning the second step gives stable
//! codes without parsing error messages, and one code path for both formats.

use std::borrow::Cow;
use std::fmt;

use serde::de::value::{BorrowedStrDeserializer, SeqDeserializer, StrDeserializer};
use serde::de::{
    self, DeserializeSeed, Deserializer, Expected, IntoDeserializer, MapAccess, Visitor,
};

use super::errors::truncate_chars;
use super::limits::{ERROR_MESSAGE_MAX_CHARS, MAX_NESTING_DEPTH};

/// One parsed JSON or MessagePack value. Strings borrow from the frame when the
/// format allows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WireValue<'de> {
    /// JSON `null`, MessagePack nil.
    Null,
    /// A boolean.
    Bool(bool),
    /// A non-negative integer.
    Unsigned(u64),
    /// A negative integer.
    Signed(i64),
    /// A floating-point number (MessagePack may carry NaN and infinities).
    Float(f64),
    /// A UTF-8 string.
    Str(Cow<'de, str>),
    /// MessagePack bin data (no message field uses it; it only fails typing).
    Bytes(Vec<u8>),
    /// An array.
    Array(Vec<WireValue<'de>>),
    /// A map with string keys, in frame order (duplicates kept, so typing reports them).
    Map(Vec<(Cow<'de, str>, WireValue<'de>)>),
}

impl<'de> WireValue<'de> {
    /// Parses one value from `deserializer`, refusing nesting deeper than
    /// [`MAX_NESTING_DEPTH`] and maps whose keys are not strings.
    pub(crate) fn parse<D>(deserializer: D) -> Result<Self, D::Error>
    where
        D: Deserializer<'de>,
    {
        WireValueSeed {
            depth_left: MAX_NESTING_DEPTH,
        }
        .deserialize(deserializer)
    }

    /// Whether this is JSON `null` / MessagePack nil.
    pub(crate) fn is_null(&self) -> bool {
        match self {
            WireValue::Null => true,
            WireValue::Bool(_)
            | WireValue::Unsigned(_)
            | WireValue::Signed(_)
            | WireValue::Float(_)
            | WireValue::Str(_)
            | WireValue::Bytes(_)
            | WireValue::Array(_)
            | WireValue::Map(_) => false,
        }
    }

    /// The value of `key` if this is a map holding it (the first occurrence).
    pub(crate) fn get(&self, key: &str) -> Option<&WireValue<'de>> {
        match self {
            WireValue::Map(entries) => entries
                .iter()
                .find(|(entry_key, _)| entry_key.as_ref() == key)
                .map(|(_, value)| value),
            WireValue::Null
            | WireValue::Bool(_)
            | WireValue::Unsigned(_)
            | WireValue::Signed(_)
            | WireValue::Float(_)
            | WireValue::Str(_)
            | WireValue::Bytes(_)
            | WireValue::Array(_) => None,
        }
    }
}

/// Parses a [`WireValue`] with a bound on the remaining nesting depth.
struct WireValueSeed {
    /// How many more levels of maps and arrays may open.
    depth_left: usize,
}

impl<'de> DeserializeSeed<'de> for WireValueSeed {
    type Value = WireValue<'de>;

    fn deserialize<D>(self, deserializer: D) -> Result<Self::Value, D::Error>
    where
        D: Deserializer<'de>,
    {
        deserializer.deserialize_any(self)
    }
}

impl WireValueSeed {
    /// The seed for the values one level down, or an error when the bound is reached.
    fn nested<E: de::Error>(&self) -> Result<WireValueSeed, E> {
        match self.depth_left.checked_sub(1) {
            Some(depth_left) => Ok(WireValueSeed { depth_left }),
            None => Err(E::custom(format_args!(
                "maps and arrays nest deeper than {MAX_NESTING_DEPTH} levels"
            ))),
        }
    }
}

impl<'de> Visitor<'de> for WireValueSeed {
    type Value = WireValue<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON or MessagePack value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        Ok(WireValue::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(match u64::try_from(value) {
            Ok(unsigned) => WireValue::Unsigned(unsigned),
            Err(_) => WireValue::Signed(value),
        })
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(WireValue::Unsigned(value))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        Ok(WireValue::Float(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(WireValue::Str(Cow::Owned(value.to_owned())))
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(WireValue::Str(Cow::Borrowed(value)))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(WireValue::Str(Cow::Owned(value)))
    }

    fn visit_bytes<E: de::Error>(self, value: &[u8]) -> Result<Self::Value, E> {
        Ok(WireValue::Bytes(value.to_vec()))
    }

    fn visit_byte_buf<E: de::Error>(self, value: Vec<u8>) -> Result<Self::Value, E> {
        Ok(WireValue::Bytes(value))
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(WireValue::Null)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(WireValue::Null)
    }

    fn visit_some<D>(self, deserializer: D) -> Result<Self::Value, D::Error>
    where
        D: Deserializer<'de>,
    {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A>(self, mut sequence: A) -> Result<Self::Value, A::Error>
    where
        A: de::SeqAccess<'de>,
    {
        let element_seed = self.nested()?;
        // No capacity from the size hint: a MessagePack header may claim 2^32 items.
        let mut items = Vec::new();
        while let Some(item) = sequence.next_element_seed(WireValueSeed {
            depth_left: element_seed.depth_left,
        })? {
            items.push(item);
        }
        Ok(WireValue::Array(items))
    }

    fn visit_map<A>(self, mut map: A) -> Result<Self::Value, A::Error>
    where
        A: MapAccess<'de>,
    {
        let value_seed = self.nested()?;
        let mut entries = Vec::new();
        while let Some(key) = map.next_key_seed(MapKeySeed)? {
            let value = map.next_value_seed(WireValueSeed {
                depth_left: value_seed.depth_left,
            })?;
            entries.push((key, value));
        }
        Ok(WireValue::Map(entries))
    }
}

/// Parses a map key, which must be a string.
struct MapKeySeed;

impl<'de> DeserializeSeed<'de> for MapKeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D>(self, deserializer: D) -> Result<Self::Value, D::Error>
    where
        D: Deserializer<'de>,
    {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for MapKeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a string map key")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(value.to_owned()))
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(value))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(value))
    }
}

/// Why a [`WireValue`] did not fit a typed message, and where.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldError {
    /// Keys from the failing field out to the message, innermost first.
    path_innermost_first: Vec<String>,
    /// What went wrong.
    kind: FieldErrorKind,
}

/// The kinds of [`FieldError`] the codec maps to distinct error codes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldErrorKind {
    /// A required field is absent (its name is the last path element).
    Missing,
    /// A string names no variant of the expected enum.
    UnknownVariant {
        /// What was sent (truncated).
        variant: String,
        /// The variants serde knows for the enum.
        expected: &'static [&'static str],
    },
    /// Wrong type, bad value, duplicate key, or a rule of the field was broken.
    Invalid {
        /// serde's or the validator's description.
        detail: String,
    },
}

impl FieldError {
    /// What went wrong.
    pub(crate) fn kind(&self) -> &FieldErrorKind {
        &self.kind
    }

    /// Dotted path of the failing field (`"citizen.display_name"`), empty when the
    /// failure is about the message as a whole.
    pub(crate) fn field_path(&self) -> String {
        let outermost_first: Vec<&str> = self
            .path_innermost_first
            .iter()
            .rev()
            .map(String::as_str)
            .collect();
        outermost_first.join(".")
    }

    /// The same error seen from the map that holds `key`.
    fn within(mut self, key: &str) -> Self {
        self.path_innermost_first.push(key.to_owned());
        self
    }

    fn with_kind(kind: FieldErrorKind) -> Self {
        Self {
            path_innermost_first: Vec::new(),
            kind,
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field_path = self.field_path();
        match &self.kind {
            FieldErrorKind::Missing => write!(formatter, "missing field `{field_path}`"),
            FieldErrorKind::UnknownVariant { variant, expected } => write!(
                formatter,
                "field `{field_path}`: unknown variant {variant:?}, expected one of {expected:?}"
            ),
            FieldErrorKind::Invalid { detail } => {
                write!(formatter, "field `{field_path}`: {detail}")
            }
        }
    }
}

impl std::error::Error for FieldError {}

impl de::Error for FieldError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Self::with_kind(FieldErrorKind::Invalid {
            detail: truncate_chars(&message.to_string(), ERROR_MESSAGE_MAX_CHARS),
        })
    }

    fn missing_field(field: &'static str) -> Self {
        Self::with_kind(FieldErrorKind::Missing).within(field)
    }

    fn duplicate_field(field: &'static str) -> Self {
        Self::with_kind(FieldErrorKind::Invalid {
            detail: "the key appears more than once".to_owned(),
        })
        .within(field)
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        Self::with_kind(FieldErrorKind::UnknownVariant {
            variant: truncate_chars(variant, ERROR_MESSAGE_MAX_CHARS / 2),
            expected,
        })
    }

    fn invalid_length(length: usize, expected: &dyn Expected) -> Self {
        Self::custom(format_args!("invalid length {length}, expected {expected}"))
    }
}

impl<'de> IntoDeserializer<'de, FieldError> for WireValue<'de> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> Deserializer<'de> for WireValue<'de> {
    type Error = FieldError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        match self {
            WireValue::Null => visitor.visit_unit(),
            WireValue::Bool(value) => visitor.visit_bool(value),
            WireValue::Unsigned(value) => visitor.visit_u64(value),
            WireValue::Signed(value) => visitor.visit_i64(value),
            WireValue::Float(value) => visitor.visit_f64(value),
            WireValue::Str(Cow::Borrowed(value)) => visitor.visit_borrowed_str(value),
            WireValue::Str(Cow::Owned(value)) => visitor.visit_string(value),
            WireValue::Bytes(value) => visitor.visit_byte_buf(value),
            WireValue::Array(items) => {
                let mut sequence = SeqDeserializer::new(items.into_iter());
                let value = visitor.visit_seq(&mut sequence)?;
                sequence.end()?;
                Ok(value)
            }
            WireValue::Map(entries) => visitor.visit_map(EntriesAccess {
                entries: entries.into_iter(),
                pending: None,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        match self {
            WireValue::Null => visitor.visit_none(),
            present => visitor.visit_some(present),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, FieldError> {
        match self {
            WireValue::Str(name) => visitor.visit_enum(name.into_deserializer()),
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, FieldError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

/// Walks a map's entries, naming the key in any error its value produces.
struct EntriesAccess<'de> {
    /// Entries not yet handed out.
    entries: std::vec::IntoIter<(Cow<'de, str>, WireValue<'de>)>,
    /// The entry whose key was just returned and whose value comes next.
    pending: Option<(Cow<'de, str>, WireValue<'de>)>,
}

impl<'de> MapAccess<'de> for EntriesAccess<'de> {
    type Error = FieldError;

    fn next_key_seed<K>(&mut self, seed: K) -> Result<Option<K::Value>, FieldError>
    where
        K: DeserializeSeed<'de>,
    {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        let key_value = match &key {
            Cow::Borrowed(borrowed) => seed.deserialize(BorrowedStrDeserializer::new(borrowed)),
            Cow::Owned(owned) => seed.deserialize(StrDeserializer::new(owned)),
        }?;
        self.pending = Some((key, value));
        Ok(Some(key_value))
    }

    fn next_value_seed<V>(&mut self, seed: V) -> Result<V::Value, FieldError>
    where
        V: DeserializeSeed<'de>,
    {
        match self.pending.take() {
            Some((key, value)) => seed.deserialize(value).map_err(|error| error.within(&key)),
            None => Err(de::Error::custom(
                "a map value was asked for before its key",
            )),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}
