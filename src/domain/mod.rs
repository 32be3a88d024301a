//! Pure rules and types: identifiers, roles, phone numbers, profiles and the events
//! they are folded from. No I/O and no actors here.

pub(crate) mod ids;
pub(crate) mod phone;
pub(crate) mod profile;
pub(crate) mod role;

pub(crate) use ids::AccountId;
pub(crate) use role::Role;
