//! Where a reward is offered: a list of 5-digit ZIPs and 3-digit ZIP prefixes.
//! A ZIP is covered when the list holds it or its prefix. Prefixes are also how
//! the catalog is indexed (the presence shards use the same 3-digit areas), so
//! browsing one ZIP reads one prefix's offers.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::fields::FieldError;

/// Digits of a ZIP prefix (the shard and index unit).
pub(crate) const ZIP_PREFIX_DIGITS: usize = 3;
/// Digits of a ZIP.
const ZIP_DIGITS: usize = 5;
/// Most codes one area may list: bounds the index rows one offer writes.
pub(crate) const AREA_MAX_CODES: usize = 100;

/// A validated area: distinct codes, each a ZIP or a ZIP prefix, sorted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub(crate) struct Area(Vec<String>);

/// Whether `text` is a 5-digit ZIP.
pub(crate) fn is_zip(text: &str) -> bool {
    text.len() == ZIP_DIGITS && text.bytes().all(|byte| byte.is_ascii_digit())
}

/// Whether `text` is a 3-digit ZIP prefix.
fn is_zip_prefix(text: &str) -> bool {
    text.len() == ZIP_PREFIX_DIGITS && text.bytes().all(|byte| byte.is_ascii_digit())
}

impl Area {
    /// Validates the codes an admin sent for `field`: 1 to [`AREA_MAX_CODES`],
    /// each a ZIP or a prefix; duplicates are dropped.
    pub(crate) fn parse(field: &'static str, codes: Vec<String>) -> Result<Self, FieldError> {
        if codes.is_empty() || codes.len() > AREA_MAX_CODES {
            return Err(FieldError::new(
                field,
                format!("must list 1 to {AREA_MAX_CODES} ZIPs or 3-digit ZIP prefixes"),
            ));
        }
        let mut distinct = BTreeSet::new();
        for code in codes {
            let code = code.trim().to_owned();
            if !is_zip(&code) && !is_zip_prefix(&code) {
                return Err(FieldError::new(
                    field,
                    format!("{code:?} is neither a 5-digit ZIP nor a 3-digit ZIP prefix"),
                ));
            }
            distinct.insert(code);
        }
        Ok(Self(distinct.into_iter().collect()))
    }

    /// An area read back from storage, trusted as written.
    pub(crate) fn from_stored(codes: Vec<String>) -> Self {
        Self(codes)
    }

    /// The codes, sorted.
    pub(crate) fn codes(&self) -> &[String] {
        &self.0
    }

    /// Whether the area covers `zip` (the ZIP itself or its prefix is listed).
    pub(crate) fn covers(&self, zip: &str) -> bool {
        self.0.iter().any(|code| {
            code == zip || (code.len() == ZIP_PREFIX_DIGITS && zip.starts_with(code.as_str()))
        })
    }

    /// Whether the area lists `code` or covers it: a ZIP is covered by itself or
    /// its prefix, a prefix only by itself.
    pub(crate) fn includes(&self, code: &str) -> bool {
        if is_zip(code) {
            self.covers(code)
        } else {
            self.0.iter().any(|listed| listed == code)
        }
    }

    /// The distinct 3-digit prefixes the area touches: the index partitions an
    /// offer in this area is listed under.
    pub(crate) fn prefixes(&self) -> BTreeSet<String> {
        self.0
            .iter()
            .map(|code| code[..ZIP_PREFIX_DIGITS].to_owned())
            .collect()
    }
}
