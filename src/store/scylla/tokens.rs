//! [`TokenStore`] on CQL: `token_families` by id and by account, and `tokens`
//! by hash, each with a TTL of an expiry plus [`TOKEN_RETENTION_MS`] (readers
//! check expiry, so the TTL only reclaims space and `purge_expired_tokens` has
//! nothing to do). A family's rows live until its newest refresh token's
//! expiry (each rotation writes them again with a later one); a revocation
//! is written with [`REVOCATION_TTL_SECONDS`], longer than any family's TTL,
//! so a revoked family never reappears unrevoked. Consuming a refresh token and revoking a family are conditional
//! writes, so the first caller wins. A consumption whose answer is lost (a
//! timeout: maybe applied) is decided by reading the token back at `SERIAL`:
//! the consumption time it wrote identifies its own write.

use async_trait::async_trait;
use scylla::value::MaybeUnset;
use uuid::Uuid;

use super::ScyllaStore;
use super::codec::{
    first_row, may_have_applied, rows, token_kind_from_text, token_kind_text, ttl_seconds,
};
use crate::domain::AccountId;
use crate::store::{
    RefreshConsumption, SecretHash, StoreError, StoreResult, TokenFamily, TokenKind, TokenRecord,
    TokenStore,
};

/// How long a token row outlives its expiry, so that a late refresh attempt is
/// still recognised as a reuse of a known token (one day).
const TOKEN_RETENTION_MS: i64 = 86_400_000;

/// How long a revocation is kept: longer than a family can live (a refresh
/// token lives at most `MAX_REFRESH_TOKEN_TTL_DAYS`, plus the retention day)
/// with a month to spare for a rotation that read the family just before it
/// was revoked. When it ends, the family's own rows have ended.
const REVOCATION_TTL_SECONDS: i32 = {
    let days = crate::config::MAX_REFRESH_TOKEN_TTL_DAYS as i32 + 31;
    days * 86_400
};

/// Columns of `SELECT ... FROM token_families[_by_account]`.
type FamilyRow = (Uuid, Uuid, i64, Option<i64>);

/// Columns of `SELECT ... FROM tokens`, ending with the row's remaining TTL.
type TokenRow = (String, Uuid, Uuid, i64, i64, Option<i64>, Option<i32>);

fn family_from_row(row: FamilyRow) -> TokenFamily {
    let (family_id, account_id, created_at_ms, revoked_at_ms) = row;
    TokenFamily {
        family_id,
        account_id: AccountId(account_id),
        created_at_ms,
        revoked_at_ms,
    }
}

/// A set value, or "leave as stored" instead of writing a null.
fn set_or_unset(value: Option<i64>) -> MaybeUnset<i64> {
    value.map_or(MaybeUnset::Unset, MaybeUnset::Set)
}

impl ScyllaStore {
    /// Decides a consumption whose answer was lost (maybe applied) by reading
    /// the token at `SERIAL`: consumed at this call's time means this call
    /// consumed it (so a client retrying after a timeout is not taken for a
    /// thief); consumed at another time means another call did; unconsumed
    /// means the write did not apply and never will, so the error stands.
    async fn unanswered_consumption(
        &self,
        hash: &SecretHash,
        record: TokenRecord,
        at_ms: i64,
        error: StoreError,
    ) -> StoreResult<RefreshConsumption> {
        tracing::debug!(%error, "refresh token consumption unanswered; reading back");
        let result = self
            .execute(
                |connected| &connected.statements.select_token_consumed_serial,
                (hash.0.as_slice(),),
            )
            .await?;
        let Some((_kind, consumed_at_ms)) = first_row::<(String, Option<i64>)>(result, "token")?
        else {
            // The row expired meanwhile.
            return Ok(RefreshConsumption::Unknown);
        };
        match consumed_at_ms {
            Some(consumed_at_ms) if consumed_at_ms == at_ms => {
                Ok(RefreshConsumption::Consumed(record))
            }
            Some(consumed_at_ms) => Ok(RefreshConsumption::AlreadyConsumed(TokenRecord {
                consumed_at_ms: Some(consumed_at_ms),
                ..record
            })),
            None => Err(error),
        }
    }

    /// The token with this hash and the remaining TTL of its row in seconds.
    async fn token_with_ttl(
        &self,
        hash: &SecretHash,
    ) -> StoreResult<Option<(TokenRecord, Option<i32>)>> {
        let result = self
            .execute(
                |connected| &connected.statements.select_token,
                (hash.0.as_slice(),),
            )
            .await?;
        let Some(row) = first_row::<TokenRow>(result, "token")? else {
            return Ok(None);
        };
        let (kind, family_id, account_id, issued_at_ms, expires_at_ms, consumed_at_ms, ttl) = row;
        let record = TokenRecord {
            token_hash: *hash,
            kind: token_kind_from_text(&kind)?,
            family_id,
            account_id: AccountId(account_id),
            issued_at_ms,
            expires_at_ms,
            consumed_at_ms,
        };
        Ok(Some((record, ttl)))
    }
}

#[async_trait]
impl TokenStore for ScyllaStore {
    async fn insert_token_family(
        &self,
        family: &TokenFamily,
        live_until_ms: i64,
    ) -> StoreResult<()> {
        let revoked_at_ms = set_or_unset(family.revoked_at_ms);
        let ttl = ttl_seconds(live_until_ms, TOKEN_RETENTION_MS).min(REVOCATION_TTL_SECONDS);
        self.execute(
            |connected| &connected.statements.insert_family,
            (
                family.family_id,
                family.account_id.0,
                family.created_at_ms,
                revoked_at_ms,
                ttl,
            ),
        )
        .await?;
        self.execute(
            |connected| &connected.statements.insert_family_by_account,
            (
                family.account_id.0,
                family.family_id,
                family.created_at_ms,
                revoked_at_ms,
                ttl,
            ),
        )
        .await?;
        Ok(())
    }

    async fn token_family(&self, family_id: Uuid) -> StoreResult<Option<TokenFamily>> {
        let result = self
            .execute(
                |connected| &connected.statements.select_family,
                (family_id,),
            )
            .await?;
        Ok(first_row::<FamilyRow>(result, "token family")?.map(family_from_row))
    }

    async fn revoke_token_family(&self, family_id: Uuid, at_ms: i64) -> StoreResult<()> {
        let Some(family) = self.token_family(family_id).await? else {
            return Ok(());
        };
        let revoked_at_ms = match family.revoked_at_ms {
            Some(revoked_at_ms) => revoked_at_ms,
            None => {
                let revocation = self
                    .execute_conditional(
                        |connected| &connected.statements.revoke_family,
                        (REVOCATION_TTL_SECONDS, at_ms, family_id),
                        "family revocation",
                    )
                    .await?;
                if revocation.applied {
                    at_ms
                } else {
                    revocation.current_bigint("revoked_at_ms").unwrap_or(at_ms)
                }
            }
        };
        // Copied every time, so a revocation interrupted between the two
        // writes is completed by the next attempt.
        self.execute(
            |connected| &connected.statements.revoke_family_by_account,
            (
                REVOCATION_TTL_SECONDS,
                revoked_at_ms,
                family.account_id.0,
                family_id,
            ),
        )
        .await?;
        Ok(())
    }

    async fn token_families_of(&self, account_id: AccountId) -> StoreResult<Vec<TokenFamily>> {
        let result = self
            .execute(
                |connected| &connected.statements.select_families_of,
                (account_id.0,),
            )
            .await?;
        Ok(rows::<FamilyRow>(result, "token family")?
            .into_iter()
            .map(family_from_row)
            .collect())
    }

    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()> {
        self.execute(
            |connected| &connected.statements.insert_token,
            (
                token.token_hash.0.as_slice(),
                token_kind_text(token.kind),
                token.family_id,
                token.account_id.0,
                token.issued_at_ms,
                token.expires_at_ms,
                set_or_unset(token.consumed_at_ms),
                ttl_seconds(token.expires_at_ms, TOKEN_RETENTION_MS),
            ),
        )
        .await?;
        Ok(())
    }

    async fn token(&self, hash: &SecretHash) -> StoreResult<Option<TokenRecord>> {
        Ok(self
            .token_with_ttl(hash)
            .await?
            .map(|(record, _ttl)| record))
    }

    async fn consume_refresh_token(
        &self,
        hash: &SecretHash,
        at_ms: i64,
    ) -> StoreResult<RefreshConsumption> {
        let Some((record, ttl)) = self.token_with_ttl(hash).await? else {
            return Ok(RefreshConsumption::Unknown);
        };
        match record.kind {
            TokenKind::Access => return Ok(RefreshConsumption::Unknown),
            TokenKind::Refresh => {}
        }
        if let Some(consumed_at_ms) = record.consumed_at_ms {
            return Ok(RefreshConsumption::AlreadyConsumed(TokenRecord {
                consumed_at_ms: Some(consumed_at_ms),
                ..record
            }));
        }
        // The new cell expires with the rest of the row (TTL 0 would mean never).
        let remaining_ttl = ttl.unwrap_or(0).max(1);
        let consumption = match self
            .execute_conditional(
                |connected| &connected.statements.consume_token,
                (remaining_ttl, at_ms, hash.0.as_slice()),
                "refresh token consumption",
            )
            .await
        {
            Ok(consumption) => consumption,
            Err(error) if may_have_applied(&error) => {
                return self
                    .unanswered_consumption(hash, record, at_ms, error)
                    .await;
            }
            Err(error) => return Err(error),
        };
        if consumption.applied {
            return Ok(RefreshConsumption::Consumed(record));
        }
        if consumption.current_text("kind").is_none() {
            // The row expired between the read and the write.
            return Ok(RefreshConsumption::Unknown);
        }
        Ok(RefreshConsumption::AlreadyConsumed(TokenRecord {
            consumed_at_ms: consumption.current_bigint("consumed_at_ms"),
            ..record
        }))
    }

    async fn purge_expired_tokens(&self, _now_ms: i64) -> StoreResult<u64> {
        // Token rows carry a TTL; the cluster drops them itself.
        Ok(0)
    }
}
