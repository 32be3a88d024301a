//! Vouchers at the issuer's counter: a retailer's (or municipality's) system,
//! holding one of the issuer's API keys, checks a voucher a person shows and
//! redeems it. The token's signature is checked before this (see the voucher
//! signing module); here the stored voucher decides: it must be the key's
//! issuer's, issued and unexpired. Redeeming is one conditional status change
//! (`issued` → `redeemed`), so of any number of concurrent redeems — and a
//! cancel or the expiry sweep racing them — exactly one applies.

use uuid::Uuid;

use super::VoucherError;
use super::profile_events::note_once;
use super::redemption::Redemptions;
use crate::domain::profile::ProfileEventKind;
use crate::domain::voucher::{Voucher, VoucherStatus};
use crate::store::{IssuerKey, VoucherTransition};

/// What the counter is told about a voucher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CounterVerdict {
    /// Issued, unexpired, this issuer's: it may be redeemed.
    Valid,
    /// Redeemed now (by this call).
    Redeemed,
    /// Redeemed before.
    AlreadyRedeemed,
    /// Its holder cancelled it.
    Cancelled,
    /// Its lifetime ended.
    Expired,
    /// Another issuer's voucher, or no voucher has this id.
    NotYours,
}

impl CounterVerdict {
    /// The wire name (`status` of the answer, or the error code).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CounterVerdict::Valid => "valid",
            CounterVerdict::Redeemed => "redeemed",
            CounterVerdict::AlreadyRedeemed => "already_redeemed",
            CounterVerdict::Cancelled => "cancelled",
            CounterVerdict::Expired => "expired",
            CounterVerdict::NotYours => "not_yours",
        }
    }
}

/// A verdict, with the voucher when it is the issuer's.
#[derive(Debug, Clone)]
pub(crate) struct CounterAnswer {
    /// What the counter is told.
    pub(crate) verdict: CounterVerdict,
    /// The voucher (absent for [`CounterVerdict::NotYours`]).
    pub(crate) voucher: Option<Voucher>,
}

impl Redemptions {
    /// What `key`'s issuer is told of voucher `voucher_id`; changes nothing.
    pub(crate) async fn check_at_counter(
        &self,
        key: &IssuerKey,
        voucher_id: Uuid,
    ) -> Result<CounterAnswer, VoucherError> {
        let Some(voucher) = self.issuers_voucher(key, voucher_id).await? else {
            return Ok(not_yours());
        };
        Ok(CounterAnswer {
            verdict: verdict_of(&voucher, self.clock.now_ms()),
            voucher: Some(voucher),
        })
    }

    /// Redeems voucher `voucher_id` for `key`'s issuer if it is valid.
    pub(crate) async fn redeem_at_counter(
        &self,
        key: &IssuerKey,
        voucher_id: Uuid,
    ) -> Result<CounterAnswer, VoucherError> {
        let Some(voucher) = self.issuers_voucher(key, voucher_id).await? else {
            return Ok(not_yours());
        };
        let now_ms = self.clock.now_ms();
        let verdict = verdict_of(&voucher, now_ms);
        if verdict == CounterVerdict::AlreadyRedeemed {
            // A retried redeem whose first try stopped before the event.
            self.note_redeemed(&voucher).await?;
        }
        if verdict != CounterVerdict::Valid {
            return Ok(CounterAnswer {
                verdict,
                voucher: Some(voucher),
            });
        }
        let transition = self
            .store
            .transition_voucher(
                voucher_id,
                VoucherStatus::Issued,
                VoucherStatus::Redeemed,
                now_ms,
            )
            .await?;
        Ok(match transition {
            VoucherTransition::Applied(redeemed) => {
                crate::metrics::vouchers_changed(VoucherStatus::Redeemed, 1);
                self.note_redeemed(&redeemed).await?;
                CounterAnswer {
                    verdict: CounterVerdict::Redeemed,
                    voucher: Some(redeemed),
                }
            }
            // Another redeem, a cancel or the sweep got there first.
            VoucherTransition::Refused(Some(current)) => CounterAnswer {
                verdict: verdict_of(&current, now_ms),
                voucher: Some(current),
            },
            VoucherTransition::Refused(None) => not_yours(),
        })
    }

    /// Adds `voucher_redeemed` to the holder's profile, once.
    async fn note_redeemed(&self, voucher: &Voucher) -> Result<(), VoucherError> {
        let voucher_id = voucher.voucher_id;
        note_once(
            &self.profiles,
            voucher.account_id,
            ProfileEventKind::VoucherRedeemed { voucher_id },
            |kind| matches!(kind, ProfileEventKind::VoucherRedeemed { voucher_id: seen } if *seen == voucher_id),
            voucher.status_changed_at_ms.unwrap_or(voucher.issued_at_ms),
        )
        .await?;
        Ok(())
    }

    /// The voucher, if it exists and was issued by `key`'s issuer.
    async fn issuers_voucher(
        &self,
        key: &IssuerKey,
        voucher_id: Uuid,
    ) -> Result<Option<Voucher>, VoucherError> {
        Ok(self
            .store
            .voucher(voucher_id)
            .await?
            .filter(|voucher| voucher.issuer_id == key.issuer_id && voucher.kind == key.kind))
    }
}

/// Where a voucher of the issuer stands at `now_ms`.
fn verdict_of(voucher: &Voucher, now_ms: i64) -> CounterVerdict {
    match voucher.status {
        VoucherStatus::Redeemed => CounterVerdict::AlreadyRedeemed,
        VoucherStatus::Cancelled => CounterVerdict::Cancelled,
        VoucherStatus::Expired => CounterVerdict::Expired,
        VoucherStatus::Issued if now_ms >= voucher.expires_at_ms => CounterVerdict::Expired,
        VoucherStatus::Issued => CounterVerdict::Valid,
    }
}

/// The answer for a voucher that is not the issuer's (or does not exist): the
/// same either way, so a key tells nothing of other issuers' vouchers.
fn not_yours() -> CounterAnswer {
    CounterAnswer {
        verdict: CounterVerdict::NotYours,
        voucher: None,
    }
}
