//! What is left to send to each endpoint, for the per-endpoint gauges
//! (`heyblue_outbox_queue_depth`, `heyblue_outbox_oldest_undelivered_seconds`):
//! the open deliveries (pending, or failed with a retry scheduled) of the
//! event types an endpoint receives that have not reached it yet. Counted
//! from the store's listings by state, up to a bound per state, plus the
//! front of the due queue, so a backlog past the bound still shows its
//! oldest delivery (the front holds the earliest due).

use std::collections::HashMap;
use std::time::Duration;

use uuid::Uuid;

use super::delivery::{DeliveryState, OutboxDelivery};
use super::endpoint::Endpoint;
use crate::store::{OutboxStore, StoreResult};

/// Deliveries of the front of the due queue read for the oldest.
const DUE_FRONT: usize = 100;

/// One endpoint's backlog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EndpointBacklog {
    /// The endpoint.
    pub(crate) endpoint_id: Uuid,
    /// Open deliveries still to reach it (at most the bound per state).
    pub(crate) depth: usize,
    /// How long the oldest of them has waited since its fact.
    pub(crate) oldest: Duration,
}

/// The backlog of every enabled endpoint at `now_ms`, reading up to
/// `scan_limit` deliveries of each open state.
pub(crate) async fn measure(
    store: &dyn OutboxStore,
    endpoints: &[Endpoint],
    now_ms: i64,
    scan_limit: usize,
) -> StoreResult<Vec<EndpointBacklog>> {
    let mut open: HashMap<Uuid, OutboxDelivery> = HashMap::new();
    for state in [DeliveryState::Pending, DeliveryState::Failed] {
        for delivery in store.outbox_deliveries(state, now_ms, scan_limit).await? {
            open.insert(delivery.message.message_id, delivery);
        }
    }
    // The front of the due queue, for a backlog longer than the listings.
    let front = store.due_outbox_deliveries(now_ms, DUE_FRONT).await?;
    let mut oldest_of_front: HashMap<Uuid, i64> = HashMap::new();
    for endpoint in endpoints.iter().filter(|endpoint| endpoint.enabled) {
        let oldest = front
            .iter()
            .filter(|delivery| still_for(delivery, endpoint))
            .map(|delivery| delivery.message.created_at_ms)
            .min();
        if let Some(oldest) = oldest {
            oldest_of_front.insert(endpoint.id, oldest);
        }
    }
    Ok(endpoints
        .iter()
        .filter(|endpoint| endpoint.enabled)
        .map(|endpoint| {
            let waiting = open
                .values()
                .filter(|delivery| still_for(delivery, endpoint));
            let (depth, oldest_listed) =
                waiting.fold((0, None::<i64>), |(count, oldest), delivery| {
                    let created = delivery.message.created_at_ms;
                    (
                        count + 1,
                        Some(oldest.map_or(created, |oldest| oldest.min(created))),
                    )
                });
            let oldest_ms = match (oldest_listed, oldest_of_front.get(&endpoint.id)) {
                (Some(listed), Some(front)) => Some(listed.min(*front)),
                (listed, front) => listed.or(front.copied()),
            };
            let waited_ms = oldest_ms.map_or(0, |oldest| now_ms.saturating_sub(oldest).max(0));
            EndpointBacklog {
                endpoint_id: endpoint.id,
                depth,
                oldest: Duration::from_millis(u64::try_from(waited_ms).unwrap_or(0)),
            }
        })
        .collect())
}

/// Whether an open `delivery` has still to reach `endpoint`.
fn still_for(delivery: &OutboxDelivery, endpoint: &Endpoint) -> bool {
    delivery.state.is_open()
        && endpoint.event_types.contains(&delivery.message.event_type)
        && !delivery.done_endpoints.contains(&endpoint.id)
}
