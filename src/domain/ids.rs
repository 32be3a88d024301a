//! Identifiers. An account id is a random UUID: unguessable, and native to CQL.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The stable identity of one person's account.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
pub(crate) struct AccountId(pub(crate) Uuid);

impl AccountId {
    /// A fresh random id.
    pub(crate) fn random() -> Self {
        Self(Uuid::new_v4())
    }

    /// The last four hex digits, used in default display names.
    pub(crate) fn short_suffix(&self) -> String {
        let simple = self.0.simple().to_string();
        simple[simple.len() - 4..].to_owned()
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(formatter)
    }
}

impl std::str::FromStr for AccountId {
    type Err = uuid::Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(text).map(Self)
    }
}
