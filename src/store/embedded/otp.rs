//! [`OtpStore`] on redb: one challenge per phone, written by compare-and-set on
//! its version inside one write transaction, and filed for removal a day
//! after its code expires (the hourly sweep, as CQL's TTL does).

use async_trait::async_trait;

use super::EmbeddedStore;
use super::codec::{encode, get_record, redb_error};
use super::expiry::{self, Expiring};
use super::tables::OTP_CHALLENGES;
use crate::store::{OtpChallenge, OtpStore, PhoneHash, StoreResult};

#[async_trait]
impl OtpStore for EmbeddedStore {
    async fn otp_challenge(&self, phone: &PhoneHash) -> StoreResult<Option<OtpChallenge>> {
        let phone = *phone;
        self.read(move |transaction| {
            let challenges = transaction.open_table(OTP_CHALLENGES).map_err(redb_error)?;
            get_record(&challenges, &phone.0)
        })
        .await
    }

    async fn put_otp_challenge(
        &self,
        phone: &PhoneHash,
        challenge: &OtpChallenge,
        expected_version: Option<u64>,
    ) -> StoreResult<bool> {
        debug_assert!(
            expected_version.is_none_or(|expected| challenge.version > expected),
            "a challenge write must carry a version above the one it read"
        );
        let phone = *phone;
        let encoded = encode(challenge)?;
        let expires_at_ms = challenge.expires_at_ms;
        let version = i64::try_from(challenge.version).unwrap_or(i64::MAX);
        self.write(move |transaction| {
            let mut challenges = transaction.open_table(OTP_CHALLENGES).map_err(redb_error)?;
            let stored: Option<OtpChallenge> = get_record(&challenges, &phone.0)?;
            let stored_version = stored.map(|current| current.version);
            if stored_version != expected_version {
                return Ok(false);
            }
            challenges
                .insert(&phone.0, encoded.as_slice())
                .map_err(redb_error)?;
            expiry::file(
                transaction,
                Expiring::OtpChallenges,
                &phone.0,
                expiry::otp_challenge_expires_at_ms(expires_at_ms),
                version,
            )?;
            Ok(true)
        })
        .await
    }
}
