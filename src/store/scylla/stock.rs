//! Stock moves on CQL, exactly once per op id.
//!
//! `reward_offers.remaining` moves by compare-and-set (`IF remaining = ?`),
//! which alone cannot say afterwards *whose* move it was: a mover that stops
//! between its compare-and-set and its record leaves a move no one can tell
//! applied or not. So a move first claims the offer's row in
//! `offer_stock_moves` (`IF NOT EXISTS`), reads `remaining` at serial
//! consistency, writes its plan (`from` → `to`) into the row (`IF op_id = ?`),
//! sets `remaining` (`IF remaining = from`), records the op in
//! `offer_stock_ops` and frees the row (`IF op_id = ?`); a mover looks for its
//! op in `offer_stock_ops` again once it holds the row, so two calls of one op
//! never both move. While the row is held
//! no one else changes `remaining` (admin replacements hold it too), so a row
//! left behind is resolved by reading `remaining`: equal to `to` means the
//! move applied (its op is recorded), anything else means it did not.
//!
//! A row is resolved by others only once it is [`MOVE_STALE_MS`] old, and its
//! holder stops changing stock [`MOVE_FENCE_MS`] after claiming it, so a slow
//! holder and a resolver never both act. Moves of one limited offer are
//! serialised: the price of being able to tell, after any crash, whether a unit
//! was taken. An unlimited or missing offer, and a take from an empty stock,
//! are answered from a serial read without the row.

use std::time::Duration;

use uuid::Uuid;

use super::ScyllaStore;
use super::codec::{corrupt, first_row};
use crate::store::{StockDirection, StockMove, StockOp, StoreError, StoreResult};

/// How long a move waits for the offer's row before giving up.
const MOVE_WAIT: Duration = Duration::from_secs(20);
/// Pause between two looks at a held row.
const MOVE_POLL: Duration = Duration::from_millis(5);
/// Age after which a held row is taken to be abandoned and resolved by others.
const MOVE_STALE_MS: i64 = 30_000;
/// Age after which a holder no longer changes stock (it frees the row and
/// starts over), well before others may resolve its row.
const MOVE_FENCE_MS: i64 = 10_000;

/// An offer's row in `offer_stock_moves`.
#[derive(Debug, Clone, Copy)]
struct HeldMove {
    /// Who holds it.
    op_id: Uuid,
    /// Its plan, once written.
    plan: Option<(i32, i32)>,
    /// When it was claimed (Unix ms).
    claimed_at_ms: i64,
}

/// An offer's stock as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stock {
    /// No such offer.
    Missing,
    /// No count.
    Unlimited,
    /// Units left.
    Limited(i32),
}

/// Pauses before another look at a busy row; fails once `deadline` passed.
async fn wait_for_row(offer_id: Uuid, deadline: tokio::time::Instant) -> StoreResult<()> {
    if tokio::time::Instant::now() >= deadline {
        return Err(StoreError::Unavailable(format!(
            "stock of offer {offer_id} stayed busy; try again"
        )));
    }
    tokio::time::sleep(MOVE_POLL).await;
    Ok(())
}

/// The wall clock (Unix ms): row ages are compared across processes.
fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

impl ScyllaStore {
    /// `move_offer_stock`.
    pub(super) async fn move_stock(&self, op: &StockOp) -> StoreResult<StockMove> {
        let deadline = tokio::time::Instant::now() + MOVE_WAIT;
        loop {
            if self.stock_op_applied(op.op_id).await? {
                return Ok(StockMove::AlreadyApplied);
            }
            // Answers that need no unit to move are given without queueing
            // for the row: the serial read saw the offer so at that moment
            // (an unlimited offer's redemptions must not wait on each other).
            match self.stock_of(op.offer_id).await? {
                Stock::Missing => return Ok(StockMove::UnknownOffer),
                Stock::Unlimited => return Ok(StockMove::Unlimited),
                Stock::Limited(0) if op.direction == StockDirection::Take => {
                    return Ok(StockMove::OutOfStock);
                }
                Stock::Limited(_) => {}
            }
            let Some(claimed_at_ms) = self.try_hold_stock_row(op.offer_id, op.op_id).await? else {
                wait_for_row(op.offer_id, deadline).await?;
                continue;
            };
            // Checked again under the row: a holder records its op before it
            // frees the row, so a move of this op that ran meanwhile shows now.
            if self.stock_op_applied(op.op_id).await? {
                self.release_stock_row(op.offer_id, op.op_id).await?;
                return Ok(StockMove::AlreadyApplied);
            }
            if let Some(outcome) = self.planned_move(op, claimed_at_ms).await? {
                return Ok(outcome);
            }
        }
    }

    /// Waits until the offer's row is free (resolving an abandoned one) and
    /// claims it for `op_id`; returns the claim time.
    pub(super) async fn hold_stock_row(
        &self,
        offer_id: Uuid,
        op_id: Uuid,
        deadline: tokio::time::Instant,
    ) -> StoreResult<i64> {
        loop {
            if let Some(claimed_at_ms) = self.try_hold_stock_row(offer_id, op_id).await? {
                return Ok(claimed_at_ms);
            }
            wait_for_row(offer_id, deadline).await?;
        }
    }

    /// Claims the offer's row for `op_id` if it is free (or abandoned, which
    /// is resolved first); returns the claim time, or `None` while another
    /// holds it.
    async fn try_hold_stock_row(&self, offer_id: Uuid, op_id: Uuid) -> StoreResult<Option<i64>> {
        if let Some(held) = self.held_move(offer_id).await? {
            if wall_clock_ms() - held.claimed_at_ms <= MOVE_STALE_MS {
                return Ok(None);
            }
            self.resolve_move(offer_id, held).await?;
        }
        let claimed_at_ms = wall_clock_ms();
        let claim = self
            .execute_conditional(
                |connected| &connected.statements.vouchers.claim_stock_move,
                (offer_id, op_id, claimed_at_ms),
                "stock move claim",
            )
            .await?;
        Ok(claim.applied.then_some(claimed_at_ms))
    }

    /// Writes the plan `from` → `to` into the row `op_id` holds; false when
    /// the row is no longer its own.
    pub(super) async fn plan_stock_move(
        &self,
        offer_id: Uuid,
        op_id: Uuid,
        from: i32,
        to: i32,
    ) -> StoreResult<bool> {
        let planned = self
            .execute_conditional(
                |connected| &connected.statements.vouchers.plan_stock_move,
                (from, to, offer_id, op_id),
                "stock move plan",
            )
            .await?;
        Ok(planned.applied)
    }

    /// Frees the offer's row if `op_id` holds it.
    pub(super) async fn release_stock_row(&self, offer_id: Uuid, op_id: Uuid) -> StoreResult<()> {
        self.execute_conditional(
            |connected| &connected.statements.vouchers.release_stock_move,
            (offer_id, op_id),
            "stock move release",
        )
        .await?;
        Ok(())
    }

    /// Runs a claimed move; `None` when it must start over (the stock moved
    /// under it, or it held the row too long).
    async fn planned_move(
        &self,
        op: &StockOp,
        claimed_at_ms: i64,
    ) -> StoreResult<Option<StockMove>> {
        let from = match self.stock_of(op.offer_id).await? {
            Stock::Missing => {
                self.release_stock_row(op.offer_id, op.op_id).await?;
                return Ok(Some(StockMove::UnknownOffer));
            }
            Stock::Unlimited => {
                self.release_stock_row(op.offer_id, op.op_id).await?;
                return Ok(Some(StockMove::Unlimited));
            }
            Stock::Limited(remaining) => remaining,
        };
        let to = match op.direction {
            StockDirection::Take if from <= 0 => {
                self.release_stock_row(op.offer_id, op.op_id).await?;
                return Ok(Some(StockMove::OutOfStock));
            }
            StockDirection::Take => from - 1,
            StockDirection::Return => from.saturating_add(1),
        };
        if !self
            .plan_stock_move(op.offer_id, op.op_id, from, to)
            .await?
        {
            return Ok(None);
        }
        if wall_clock_ms() - claimed_at_ms > MOVE_FENCE_MS {
            self.release_stock_row(op.offer_id, op.op_id).await?;
            return Ok(None);
        }
        let moved = self
            .execute_conditional(
                |connected| &connected.statements.vouchers.set_remaining,
                (to, op.offer_id, from),
                "stock move",
            )
            .await?;
        if !moved.applied {
            self.release_stock_row(op.offer_id, op.op_id).await?;
            return Ok(None);
        }
        self.record_stock_op(op.op_id, op.offer_id, to).await?;
        self.release_stock_row(op.offer_id, op.op_id).await?;
        let remaining = u32::try_from(to).map_err(|error| corrupt("remaining", error))?;
        Ok(Some(StockMove::Applied { remaining }))
    }

    /// Settles an abandoned row: records its op when its plan shows in
    /// `remaining`, then frees the row.
    async fn resolve_move(&self, offer_id: Uuid, held: HeldMove) -> StoreResult<()> {
        if let Some((from, to)) = held.plan
            && from != to
            && self.stock_of(offer_id).await? == Stock::Limited(to)
        {
            self.record_stock_op(held.op_id, offer_id, to).await?;
        }
        tracing::warn!(%offer_id, op_id = %held.op_id, "abandoned stock move resolved");
        self.release_stock_row(offer_id, held.op_id).await
    }

    /// Notes that `op_id` moved the stock to `remaining_after` (kept 30 days
    /// by the statement's TTL: longer than any retry or recovery of the op).
    async fn record_stock_op(
        &self,
        op_id: Uuid,
        offer_id: Uuid,
        remaining_after: i32,
    ) -> StoreResult<()> {
        self.execute(
            |connected| &connected.statements.vouchers.insert_stock_op,
            (op_id, offer_id, remaining_after),
        )
        .await?;
        Ok(())
    }

    /// Whether `op_id` was applied.
    async fn stock_op_applied(&self, op_id: Uuid) -> StoreResult<bool> {
        let result = self
            .execute(
                |connected| &connected.statements.vouchers.select_stock_op,
                (op_id,),
            )
            .await?;
        Ok(first_row::<(Option<i32>,)>(result, "stock op")?.is_some())
    }

    /// The offer's row in `offer_stock_moves`, if held.
    async fn held_move(&self, offer_id: Uuid) -> StoreResult<Option<HeldMove>> {
        let result = self
            .execute(
                |connected| &connected.statements.vouchers.select_stock_move,
                (offer_id,),
            )
            .await?;
        type Row = (Option<Uuid>, Option<i32>, Option<i32>, Option<i64>);
        let Some((Some(op_id), from, to, claimed_at_ms)) = first_row::<Row>(result, "stock move")?
        else {
            return Ok(None);
        };
        Ok(Some(HeldMove {
            op_id,
            plan: from.zip(to),
            claimed_at_ms: claimed_at_ms.unwrap_or(0),
        }))
    }

    /// The offer's stock, read at serial consistency.
    async fn stock_of(&self, offer_id: Uuid) -> StoreResult<Stock> {
        let result = self
            .execute(
                |connected| &connected.statements.vouchers.select_remaining,
                (offer_id,),
            )
            .await?;
        Ok(
            match first_row::<(Option<i32>, Option<i32>)>(result, "offer stock")? {
                None => Stock::Missing,
                Some((_, None)) => Stock::Unlimited,
                Some((_, Some(remaining))) => Stock::Limited(remaining),
            },
        )
    }
}
