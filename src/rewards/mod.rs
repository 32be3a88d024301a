//! Rewards: what points are spent on. This module holds the catalog service:
//! admins create and replace retailers, municipalities, offers and schemes,
//! and charities (`admin`, generic over [`CatalogEntry`] in `entries`), and
//! signed-in people browse what is offered where they are (`browse`). Ids are
//! random, times come from the [`Clock`], and admins give issuers API keys
//! (`issuer_keys`). Pages continue from opaque cursors
//! (`cursor`), and every failure a client can cause is a [`CatalogError`].
//! Points are redeemed for vouchers by [`Redemptions`] (`redemption`), which
//! also lists and cancels them (`vouchers`) and expires unused ones whose
//! lifetime ended (`expiry`); issuers check and redeem them at the counter
//! (`counter`). Its failures are [`VoucherError`].
//! Points are donated to charities by [`Donations`] (`donation`), and the
//! pledges they make are totalled per month and charity and settled by
//! [`Statements`] (`statement`); `statement_command` is `heyblue rewards
//! statement`.
//! Vouchers travel as signed tokens (`signing`: PASETO v4.public, keys with
//! rotation) and as QR codes of those tokens (`qr`).

mod admin;
mod browse;
mod counter;
mod cursor;
mod donation;
mod entries;
mod error;
mod expiry;
mod issuer_keys;
mod profile_events;
mod qr;
mod redemption;
pub(crate) mod signing;
mod statement;
mod statement_command;
mod vouchers;

#[cfg(test)]
mod donation_tests;
#[cfg(test)]
mod property_tests;
#[cfg(test)]
mod redemption_tests;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use crate::clock::Clock;
use crate::store::Store;

pub(crate) use browse::BrowsedOffer;
pub(crate) use counter::{CounterAnswer, CounterVerdict};
pub(crate) use donation::{DonateRequest, DonationAnswer, Donations};
pub(crate) use entries::CatalogEntry;
pub(crate) use error::{CatalogError, DonationError, StatementError, VoucherError};
pub(crate) use qr::VoucherQr;
pub(crate) use redemption::{Recovered, RedeemRequest, RedemptionAnswer, Redemptions};
pub(crate) use statement::Statements;
pub use statement_command::{StatementCommandError, StatementFormat, rewards_statement};

/// Largest page a client may ask for.
pub(crate) const MAX_PAGE: usize = 50;
/// Page size when the client names none.
pub(crate) const DEFAULT_PAGE: usize = 20;

/// The catalog service.
#[derive(Debug, Clone)]
pub(crate) struct Catalog {
    /// Where the catalog is kept.
    store: Arc<dyn Store>,
    /// Creation and replacement times.
    clock: Clock,
}

impl Catalog {
    /// The catalog kept in `store`, stamped with `clock`.
    pub(crate) fn new(store: Arc<dyn Store>, clock: Clock) -> Self {
        Self { store, clock }
    }
}
