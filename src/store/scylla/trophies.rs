//! [`TrophyStore`] on CQL: `trophies` keyed by (account, trophy), one small
//! partition per person (at most one row per kind of trophy), awarded with
//! `IF NOT EXISTS` so a person holds each trophy once; `trophy_marks` keyed by
//! (account, kind, mark), one partition of a few rows per person, each mark
//! written or deleted on its own (a set: reruns are harmless). The award's
//! `trophy.awarded` outbox delivery follows the award, and is written again
//! (`IF NOT EXISTS`) when the same connection's recovery awards it again, so
//! a writer that stopped between the two leaves no award without delivery
//! once its connection is complete.

use async_trait::async_trait;
use futures::future::try_join_all;
use uuid::Uuid;

use super::ScyllaStore;
use super::codec::{corrupt, rows};
use crate::domain::AccountId;
use crate::domain::trophies::TrophyId;
use crate::domain::trophy_marks::{MarkChanges, TrophyMark};
use crate::outbox;
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
            self.write_outbox_message(outbox::message::trophy_awarded(award))
                .await?;
            return Ok(AwardOutcome::Awarded);
        }
        let (Some(awarded_at_ms), Some(connection_id)) = (
            outcome.current_bigint("awarded_at_ms"),
            outcome.current_uuid("connection_id"),
        ) else {
            return Err(corrupt("trophy award", "refused without the stored award"));
        };
        let held = TrophyAward {
            account_id: award.account_id,
            trophy: award.trophy,
            awarded_at_ms,
            connection_id,
        };
        if held.connection_id == award.connection_id {
            // The same fact awarded again (its connection's recovery pass):
            // its delivery may not be written yet if its writer stopped.
            self.write_outbox_message(outbox::message::trophy_awarded(&held))
                .await?;
        }
        Ok(AwardOutcome::AlreadyHeld(held))
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

    async fn trophy_marks(&self, account_id: AccountId) -> StoreResult<Vec<TrophyMark>> {
        let result = self
            .execute(
                |connected| &connected.statements.select_trophy_marks,
                (account_id.0,),
            )
            .await?;
        rows::<(String, String)>(result, "trophy mark")?
            .into_iter()
            .map(|(kind, value)| {
                TrophyMark::from_stored(&kind, &value)
                    .ok_or_else(|| corrupt("trophy mark", format!("unreadable {kind} mark")))
            })
            .collect()
    }

    async fn change_trophy_marks(
        &self,
        account_id: AccountId,
        changes: &MarkChanges,
    ) -> StoreResult<()> {
        let added = changes.add.iter().map(|mark| {
            self.execute(
                |connected| &connected.statements.insert_trophy_mark,
                (account_id.0, mark.kind(), mark.value()),
            )
        });
        try_join_all(added).await?;
        let forgotten = changes.forget.iter().map(|mark| {
            self.execute(
                |connected| &connected.statements.delete_trophy_mark,
                (account_id.0, mark.kind(), mark.value()),
            )
        });
        try_join_all(forgotten).await?;
        Ok(())
    }
}
