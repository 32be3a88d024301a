//! [`TrophyStore`] on CQL: `trophies` keyed by (account, trophy), one small
//! partition per person (at most one row per kind of trophy), awarded with
//! `IF NOT EXISTS` so a person holds each trophy once.

use async_trait::async_trait;
use uuid::Uuid;

use super::ScyllaStore;
use super::codec::{corrupt, rows};
use crate::domain::AccountId;
use crate::domain::trophies::TrophyId;
use crate::store::{AwardOutcome, StoreResult, TrophyAward, TrophyStore};

/// Columns of `SELECT ... FROM trophies`.
type TrophyRow = (String, i64, Uuid);

/// A trophy from its stored name.
fn trophy_from_text(text: &str) -> StoreResult<TrophyId> {
    TrophyId::ALL
        .into_iter()
        .find(|trophy| trophy.as_str() == text)
        .ok_or_else(|| corrupt("trophy", format!("unknown trophy {text:?}")))
}

#[async_trait]
impl TrophyStore for ScyllaStore {
    async fn award_trophy(&self, award: &TrophyAward) -> StoreResult<AwardOutcome> {
        let outcome = self
            .execute_conditional(
                |connected| &connected.statements.award_trophy,
                (
                    award.account_id.0,
                    award.trophy.as_str(),
                    award.awarded_at_ms,
                    award.connection_id,
                ),
                "trophy award",
            )
            .await?;
        if outcome.applied {
            return Ok(AwardOutcome::Awarded);
        }
        let (Some(awarded_at_ms), Some(connection_id)) = (
            outcome.current_bigint("awarded_at_ms"),
            outcome.current_uuid("connection_id"),
        ) else {
            return Err(corrupt("trophy award", "refused without the stored award"));
        };
        Ok(AwardOutcome::AlreadyHeld(TrophyAward {
            account_id: award.account_id,
            trophy: award.trophy,
            awarded_at_ms,
            connection_id,
        }))
    }

    async fn trophies_of(&self, account_id: AccountId) -> StoreResult<Vec<TrophyAward>> {
        let result = self
            .execute(
                |connected| &connected.statements.select_trophies,
                (account_id.0,),
            )
            .await?;
        let mut awards = rows::<TrophyRow>(result, "trophy")?
            .into_iter()
            .map(|(trophy, awarded_at_ms, connection_id)| {
                Ok(TrophyAward {
                    account_id,
                    trophy: trophy_from_text(&trophy)?,
                    awarded_at_ms,
                    connection_id,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        awards.sort_by_key(|award| (award.awarded_at_ms, award.trophy));
        Ok(awards)
    }
}
