//! Taking a due delivery with a lease, settling it, and replaying it, each a
//! compare-and-set of the delivery's version in the store: of two nodes that
//! read one version, only the first to write wins; the other learns it lost
//! and leaves the delivery alone. A node that dies holding a lease holds it
//! until it expires; then another takes the delivery over, and the dead
//! node's late settlement, if it ever comes, is refused.

use uuid::Uuid;

use super::delivery::{AttemptOutcome, DeliveryState, OutboxDelivery};
use crate::store::{OutboxStore, StoreResult};

/// Takes `read` (as read from the store) for `holder` until `until_ms`; the
/// claimed record, or `None` when it is not due at `now_ms` or another node
/// changed it since it was read.
pub(crate) async fn claim(
    store: &dyn OutboxStore,
    read: &OutboxDelivery,
    holder: Uuid,
    now_ms: i64,
    until_ms: i64,
) -> StoreResult<Option<OutboxDelivery>> {
    let Some(claimed) = read.claimed(holder, now_ms, until_ms) else {
        return Ok(None);
    };
    let applied = store
        .replace_outbox_delivery(read.version, &claimed)
        .await?;
    Ok(applied.then_some(claimed))
}

/// Records `outcome` on a delivery this node `claimed`; the settled record,
/// or `None` when the lease was lost (another node took the delivery over
/// after the lease expired, or an admin replayed it).
pub(crate) async fn settle(
    store: &dyn OutboxStore,
    claimed: &OutboxDelivery,
    outcome: &AttemptOutcome,
) -> StoreResult<Option<OutboxDelivery>> {
    let settled = claimed.settled(outcome);
    let applied = store
        .replace_outbox_delivery(claimed.version, &settled)
        .await?;
    Ok(applied.then_some(settled))
}

/// What a replay found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReplayOutcome {
    /// The delivery is due again from the first attempt.
    Replayed(Box<OutboxDelivery>),
    /// No delivery has this id.
    NotFound,
    /// It is still open (pending, or failed with a retry scheduled).
    StillOpen,
}

/// Sends a settled delivery (dead or delivered) again from the first
/// attempt, retrying the compare-and-set if it races another change.
pub(crate) async fn replay(
    store: &dyn OutboxStore,
    message_id: Uuid,
    now_ms: i64,
) -> StoreResult<ReplayOutcome> {
    loop {
        let Some(read) = store.outbox_delivery(message_id).await? else {
            return Ok(ReplayOutcome::NotFound);
        };
        if read.state.is_open() {
            return Ok(ReplayOutcome::StillOpen);
        }
        let replayed = read.replayed(now_ms);
        if store
            .replace_outbox_delivery(read.version, &replayed)
            .await?
        {
            return Ok(ReplayOutcome::Replayed(Box::new(replayed)));
        }
    }
}

/// Replays up to `limit` dead letters; how many it replayed.
pub(crate) async fn replay_dead(
    store: &dyn OutboxStore,
    now_ms: i64,
    limit: usize,
) -> StoreResult<usize> {
    let mut replayed = 0;
    for dead in store
        .outbox_deliveries(DeliveryState::Dead, now_ms, limit)
        .await?
    {
        if let ReplayOutcome::Replayed(_) = replay(store, dead.message.message_id, now_ms).await? {
            replayed += 1;
        }
    }
    Ok(replayed)
}

/// Replays up to `limit` dead letters that `endpoint` did not take (of the
/// event types it subscribes to), each to the endpoints it has not reached;
/// how many it replayed. For an endpoint back after an outage.
pub(crate) async fn replay_dead_for_endpoint(
    store: &dyn OutboxStore,
    endpoint: &super::endpoint::EndpointRecord,
    now_ms: i64,
    limit: usize,
) -> StoreResult<usize> {
    let mut replayed = 0;
    for dead in store
        .outbox_deliveries(DeliveryState::Dead, now_ms, limit)
        .await?
    {
        let missed = endpoint.event_types.contains(&dead.message.event_type)
            && !dead.done_endpoints.contains(&endpoint.id);
        if !missed {
            continue;
        }
        let again = dead.replayed_to_unreached(now_ms);
        if store.replace_outbox_delivery(dead.version, &again).await? {
            replayed += 1;
        }
    }
    Ok(replayed)
}
