//! The outbox's sending loop, one per node: every poll it lists due
//! deliveries, takes each with a lease, posts it to every enabled endpoint
//! subscribed to its event type that it has not reached yet, and settles it:
//! delivered when all are reached, otherwise failed with the next attempt
//! from the [`RetrySchedule`], or dead when the schedule is spent. An
//! endpoint answering 410 Gone is disabled (logged and counted) and not sent
//! to again. A message no endpoint wants is settled delivered at once.
//!
//! Several nodes run this loop on one store: the lease keeps a delivery with
//! one of them at a time, and a dead node's leases expire into the others'.

use std::sync::Arc;
use std::time::Duration;

use rand::seq::SliceRandom;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::admin::EndpointAdmin;
use super::delivery::{AttemptOutcome, OutboxDelivery};
use super::endpoint::EndpointRegistry;
use super::lease;
use super::schedule::RetrySchedule;
use super::sender::{AttemptResult, Sender};
use super::social::compose::{Composed, Composer};
use crate::clock::Clock;
use crate::identity::keys::ServerKeys;
use crate::store::{Store, StoreResult};

/// How the loop runs.
#[derive(Debug, Clone)]
pub(crate) struct DispatchSettings {
    /// This node's id, written in the leases it takes.
    pub(crate) node_id: Uuid,
    /// How long a lease lasts; longer than an attempt on every endpoint.
    pub(crate) lease: Duration,
    /// Wait between polls when nothing was due.
    pub(crate) poll_interval: Duration,
    /// Deliveries taken per poll.
    pub(crate) batch: usize,
    /// When failed deliveries are tried again.
    pub(crate) schedule: RetrySchedule,
}

/// The sending loop's collaborators.
#[derive(Debug, Clone)]
pub(crate) struct Dispatcher {
    /// Where deliveries are read and settled.
    store: Arc<dyn Store>,
    /// The endpoints, opened; reloaded from the store before each pass.
    endpoints: Arc<EndpointRegistry>,
    /// Opens the endpoints' sealed secrets.
    keys: Arc<ServerKeys>,
    /// Writes an endpoint disabled when it answers 410 Gone.
    admin: EndpointAdmin,
    /// The HTTP sender.
    sender: Sender,
    /// Writes each attempt's body (the social post), or cancels it.
    composer: BodyComposer,
    /// Time, pausable in tests.
    clock: Clock,
    /// How it runs.
    settings: DispatchSettings,
}

/// How a delivery's body is written before each attempt.
#[derive(Debug, Clone)]
pub(crate) enum BodyComposer {
    /// Social posts under the consent rules.
    Social(Composer),
    /// The recorded body as it is: for tests of the sending machinery,
    /// whose facts have no people behind them.
    #[cfg(test)]
    Recorded,
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PassStats {
    /// Deliveries this node took.
    pub(crate) claimed: usize,
    /// Deliveries settled delivered.
    pub(crate) delivered: usize,
    /// Deliveries settled failed with a retry scheduled.
    pub(crate) failed: usize,
    /// Deliveries dead-lettered.
    pub(crate) dead: usize,
    /// Settlements refused because the lease was lost meanwhile.
    pub(crate) lost: usize,
    /// Deliveries cancelled (a post without consent).
    pub(crate) cancelled: usize,
}

impl Dispatcher {
    /// A dispatcher over these collaborators.
    pub(crate) fn new(
        store: Arc<dyn Store>,
        keys: Arc<ServerKeys>,
        sender: Sender,
        composer: BodyComposer,
        clock: Clock,
        settings: DispatchSettings,
    ) -> Self {
        Self {
            admin: EndpointAdmin::new(Arc::clone(&store), Arc::clone(&keys), false),
            store,
            endpoints: Arc::new(EndpointRegistry::default()),
            keys,
            sender,
            composer,
            clock,
            settings,
        }
    }

    /// Polls until `shutdown`, then returns after the pass under way.
    pub(crate) async fn run(self, shutdown: CancellationToken) {
        loop {
            let busy = match self.run_once().await {
                Ok(stats) => stats.claimed > 0,
                Err(error) => {
                    tracing::warn!(%error, "outbox pass failed");
                    false
                }
            };
            if busy {
                continue;
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.settings.poll_interval) => {}
            }
        }
    }

    /// One pass: takes and sends up to a batch of due deliveries.
    pub(crate) async fn run_once(&self) -> StoreResult<PassStats> {
        let mut stats = PassStats::default();
        self.reload_endpoints().await?;
        let now_ms = self.clock.now_ms();
        let mut due = self
            .store
            .due_outbox_deliveries(now_ms, self.settings.batch)
            .await?;
        // Nodes read the same front of the queue: each tries it in its own
        // order, so they mostly take different deliveries instead of racing
        // for the same ones.
        due.shuffle(&mut rand::rng());
        for read in due {
            let now_ms = self.clock.now_ms();
            let until_ms = now_ms
                .saturating_add(i64::try_from(self.settings.lease.as_millis()).unwrap_or(i64::MAX));
            let Some(claimed) =
                lease::claim(&*self.store, &read, self.settings.node_id, now_ms, until_ms).await?
            else {
                continue;
            };
            stats.claimed += 1;
            self.deliver(claimed, &mut stats).await?;
        }
        Ok(stats)
    }

    /// Replaces the registry with the stored endpoints, opened.
    async fn reload_endpoints(&self) -> StoreResult<()> {
        let mut opened = Vec::new();
        for record in self.store.outbox_endpoints().await? {
            match record.open(&self.keys) {
                Some(endpoint) => opened.push(endpoint),
                None => {
                    tracing::warn!(endpoint_id = %record.id, "outbox endpoint secret cannot be opened: skipped");
                }
            }
        }
        self.endpoints.replace_all(opened);
        Ok(())
    }

    /// Sends a claimed delivery to the endpoints it has not reached and
    /// settles it.
    async fn deliver(&self, mut claimed: OutboxDelivery, stats: &mut PassStats) -> StoreResult<()> {
        let event_type = claimed.message.event_type;
        let endpoints: Vec<_> = self
            .endpoints
            .subscribed(event_type)
            .into_iter()
            .filter(|endpoint| !claimed.done_endpoints.contains(&endpoint.id))
            .collect();
        // Nobody to send to: nothing is composed (nor any profile read).
        let mut sent = claimed.message.clone();
        let mut first_failure = None;
        let mut endpoints = endpoints;
        if !endpoints.is_empty() {
            match self.compose(&claimed).await? {
                Composed::Send(body) => sent.body = body,
                Composed::Cancel(reason) => {
                    return self.cancel(&claimed, reason, stats).await;
                }
                Composed::Wait(reason) => {
                    first_failure = Some(reason.to_owned());
                    endpoints.clear();
                }
            }
        }
        for endpoint in endpoints {
            let started = tokio::time::Instant::now();
            let result = self
                .sender
                .send(&endpoint, &sent, self.clock.now_ms())
                .await;
            crate::metrics::outbox_attempt(endpoint.id, &result, started.elapsed());
            match result {
                AttemptResult::Delivered => claimed.done_endpoints.push(endpoint.id),
                AttemptResult::Gone => {
                    if self.endpoints.disable(endpoint.id) {
                        self.disable_gone(endpoint.id).await;
                    }
                    claimed.done_endpoints.push(endpoint.id);
                }
                AttemptResult::Failed { class, detail } => {
                    tracing::debug!(endpoint_id = %endpoint.id, class = class.as_str(), detail, "outbox attempt failed");
                    first_failure.get_or_insert(detail);
                }
            }
        }
        let now_ms = self.clock.now_ms();
        let outcome = match first_failure {
            None => AttemptOutcome::Delivered { at_ms: now_ms },
            Some(error) => AttemptOutcome::Failed {
                at_ms: now_ms,
                error,
                retry_at_ms: self
                    .settings
                    .schedule
                    .retry_at_ms(claimed.attempts.saturating_add(1), now_ms),
            },
        };
        match lease::settle(&*self.store, &claimed, &outcome).await? {
            Some(settled) => match settled.state {
                super::delivery::DeliveryState::Delivered => stats.delivered += 1,
                super::delivery::DeliveryState::Dead => {
                    tracing::warn!(message_id = %settled.message.message_id, "outbox delivery dead-lettered");
                    stats.dead += 1;
                }
                super::delivery::DeliveryState::Failed
                | super::delivery::DeliveryState::Pending => {
                    stats.failed += 1;
                }
                super::delivery::DeliveryState::Cancelled => stats.cancelled += 1,
            },
            None => stats.lost += 1,
        }
        Ok(())
    }

    /// The body of the next attempt.
    async fn compose(&self, claimed: &OutboxDelivery) -> StoreResult<Composed> {
        match &self.composer {
            BodyComposer::Social(composer) => composer.compose(&claimed.message).await,
            #[cfg(test)]
            BodyComposer::Recorded => Ok(Composed::Send(claimed.message.body.clone())),
        }
    }

    /// Settles a delivery that must never be sent.
    async fn cancel(
        &self,
        claimed: &OutboxDelivery,
        reason: &'static str,
        stats: &mut PassStats,
    ) -> StoreResult<()> {
        let outcome = AttemptOutcome::Cancelled {
            at_ms: self.clock.now_ms(),
            reason: reason.to_owned(),
        };
        match lease::settle(&*self.store, claimed, &outcome).await? {
            Some(_) => {
                tracing::debug!(message_id = %claimed.message.message_id, reason, "outbox post cancelled");
                crate::metrics::outbox_cancelled(claimed.message.event_type);
                stats.cancelled += 1;
            }
            None => stats.lost += 1,
        }
        Ok(())
    }

    /// Disables an endpoint that answered 410 Gone, in the store, and tells
    /// the admin (log and metric; the endpoint listing shows the reason).
    async fn disable_gone(&self, endpoint_id: Uuid) {
        let reason = Some("answered 410 gone".to_owned());
        match self
            .admin
            .set_enabled(endpoint_id, false, reason, self.clock.now_ms())
            .await
        {
            Ok(_) => {
                tracing::warn!(%endpoint_id, "outbox endpoint answered 410 gone: disabled");
                crate::metrics::outbox_endpoint_disabled();
            }
            Err(error) => {
                tracing::warn!(%endpoint_id, %error, "outbox endpoint answered 410 gone but was not disabled");
            }
        }
    }
}
