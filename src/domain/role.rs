//! Roles. An account is a citizen unless its phone is on the imported officer roster.

use serde::{Deserialize, Serialize};

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Role {
    /// A member of the public.
    Citizen,
    /// A police officer on the roster.
    Officer,
}

impl Role {
    /// The wire and label name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Role::Citizen => "citizen",
            Role::Officer => "officer",
        }
    }
}
