//! [`OtpStore`] on CQL: `otp_challenges` by phone, written by compare-and-set
//! on `version` (`IF NOT EXISTS` for the first write, `IF version = ?` after),
//! with a TTL of the code's expiry plus [`OTP_RETENTION_MS`], which outlasts the
//! hourly send limits that the challenge also carries.

use async_trait::async_trait;

use super::ScyllaStore;
use super::codec::{corrupt, first_row, from_bigint, hash32, to_bigint, ttl_seconds};
use crate::store::{OTP_RETENTION_MS, OtpChallenge, OtpStore, PhoneHash, SecretHash, StoreResult};

/// Columns of `SELECT ... FROM otp_challenges`.
type ChallengeRow = (Option<Vec<u8>>, i64, i32, Option<Vec<i64>>, i64);

#[async_trait]
impl OtpStore for ScyllaStore {
    async fn otp_challenge(&self, phone: &PhoneHash) -> StoreResult<Option<OtpChallenge>> {
        let result = self
            .execute(
                |connected| &connected.statements.select_otp,
                (phone.0.as_slice(),),
            )
            .await?;
        let Some(row) = first_row::<ChallengeRow>(result, "otp challenge")? else {
            return Ok(None);
        };
        let (code_hash, expires_at_ms, failed_attempts, recent_sends_ms, version) = row;
        Ok(Some(OtpChallenge {
            code_hash: code_hash
                .map(|bytes| hash32(bytes, "otp code hash").map(SecretHash))
                .transpose()?,
            expires_at_ms,
            failed_attempts: u32::try_from(failed_attempts)
                .map_err(|_| corrupt("otp failed attempts", failed_attempts))?,
            recent_sends_ms: recent_sends_ms.unwrap_or_default(),
            version: from_bigint(version, "otp version")?,
        }))
    }

    async fn put_otp_challenge(
        &self,
        phone: &PhoneHash,
        challenge: &OtpChallenge,
        expected_version: Option<u64>,
    ) -> StoreResult<bool> {
        let code_hash = challenge.code_hash.map(|hash| hash.0.to_vec());
        let failed_attempts = i32::try_from(challenge.failed_attempts).unwrap_or(i32::MAX);
        let version = to_bigint(challenge.version, "otp version")?;
        let ttl = ttl_seconds(challenge.expires_at_ms, OTP_RETENTION_MS);
        let write = match expected_version {
            None => {
                self.execute_conditional(
                    |connected| &connected.statements.insert_otp,
                    (
                        phone.0.as_slice(),
                        code_hash,
                        challenge.expires_at_ms,
                        failed_attempts,
                        &challenge.recent_sends_ms,
                        version,
                        ttl,
                    ),
                    "otp challenge",
                )
                .await?
            }
            Some(expected_version) => {
                self.execute_conditional(
                    |connected| &connected.statements.update_otp,
                    (
                        ttl,
                        code_hash,
                        challenge.expires_at_ms,
                        failed_attempts,
                        &challenge.recent_sends_ms,
                        version,
                        phone.0.as_slice(),
                        to_bigint(expected_version, "otp version")?,
                    ),
                    "otp challenge",
                )
                .await?
            }
        };
        Ok(write.applied)
    }
}
