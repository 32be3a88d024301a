//! Pure rules and types: identifiers, roles, location cadence, phone numbers, profiles and the events
//! they are folded from, what text may be shown to others, the reward rules of
//! connections, trophies and quotes, the rewards catalog, vouchers, and
//! donations to charities. No I/O and no
//! actors here.

pub(crate) mod cadence;
pub(crate) mod catalog;
pub(crate) mod connection;
pub(crate) mod device;
pub(crate) mod donation;
pub(crate) mod ids;
pub(crate) mod phone;
pub(crate) mod profile;
pub(crate) mod quotes;
pub(crate) mod role;
pub(crate) mod shown_text;
pub(crate) mod trophies;
pub(crate) mod trophy_marks;
pub(crate) mod voucher;

pub(crate) use ids::AccountId;
pub(crate) use role::Role;
