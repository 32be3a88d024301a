//! The outbox's sending loop, one per node: every poll it lists due
//! deliveries, takes each with a lease, posts it to every enabled endpoint
//! subscribed to its event type that it has not reached yet, and settles it:
//! delivered when all are reached, otherwise failed with the next attempt
//! from the [`RetrySchedule`], or dead when the schedule is spent. An
//! endpoint answering 410 Gone, or failing every attempt for
//! `disable_after_failing` (5 days), is disabled (logged and counted) and
//! not sent to again. A message no endpoint wants is settled delivered at
//! once. Up to `concurrency` deliveries of a pass are under way at once, and
//! an endpoint with a rate limit is paced ([`Pacer`]): a delivery it cannot
//! take yet is deferred, no attempt counted. Every [`BACKLOG_INTERVAL`] the
//! loop sets the per-endpoint backlog gauges (`backlog`).
//!
//! Several nodes run this loop on one store: the lease keeps a delivery with
//! one of them at a time, and a dead node's leases expire into the others'.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use rand::seq::SliceRandom;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::admin::EndpointAdmin;
use super::delivery::{AttemptOutcome, OutboxDelivery};
use super::endpoint::{EndpointRegistry, FailingStreak};
use super::lease;
use super::pacing::{Pacer, Pacing};
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
    /// Deliveries of a poll under way at once.
    pub(crate) concurrency: usize,
    /// Open deliveries of each state read for the backlog gauges.
    pub(crate) backlog_scan_limit: usize,
    /// When failed deliveries are tried again.
    pub(crate) schedule: RetrySchedule,
    /// How long an endpoint may fail every attempt before it is disabled.
    pub(crate) disable_after_failing: Duration,
}

/// The sending loop's collaborators.
#[derive(Debug, Clone)]
pub(crate) struct Dispatcher {
    /// Where deliveries are read and settled.
    store: Arc<dyn Store>,
    /// The endpoints, opened; reloaded from the store before each pass.
    endpoints: Arc<EndpointRegistry>,
    /// The pace of each endpoint with a rate limit.
    pacer: Arc<Pacer>,
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

/// Why the server disabled an endpoint (a metric label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DisableReason {
    /// It answered 410 Gone.
    Gone,
    /// Every attempt failed for `disable_after_failing`.
    Failing,
}

impl DisableReason {
    fn as_str(self) -> &'static str {
        match self {
            DisableReason::Gone => "gone",
            DisableReason::Failing => "failing",
        }
    }
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
    /// Deliveries held back by an endpoint's rate limit.
    pub(crate) deferred: usize,
}

impl PassStats {
    /// Both counts together.
    fn add(self, other: Self) -> Self {
        Self {
            claimed: self.claimed + other.claimed,
            delivered: self.delivered + other.delivered,
            failed: self.failed + other.failed,
            dead: self.dead + other.dead,
            lost: self.lost + other.lost,
            cancelled: self.cancelled + other.cancelled,
            deferred: self.deferred + other.deferred,
        }
    }
}

/// How often the loop sets the per-endpoint backlog gauges.
const BACKLOG_INTERVAL: Duration = Duration::from_secs(30);

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
            pacer: Arc::new(Pacer::default()),
            keys,
            sender,
            composer,
            clock,
            settings,
        }
    }

    /// Polls until `shutdown`, then returns after the pass under way.
    pub(crate) async fn run(self, shutdown: CancellationToken) {
        let mut backlog_due = tokio::time::Instant::now();
        loop {
            let busy = match self.run_once().await {
                Ok(stats) => stats.claimed > 0,
                Err(error) => {
                    tracing::warn!(%error, "outbox pass failed");
                    false
                }
            };
            if tokio::time::Instant::now() >= backlog_due {
                self.set_backlog_gauges().await;
                backlog_due = tokio::time::Instant::now() + BACKLOG_INTERVAL;
            }
            if busy {
                continue;
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.settings.poll_interval) => {}
            }
        }
    }

    /// One pass: takes and sends up to a batch of due deliveries,
    /// `concurrency` at a time.
    pub(crate) async fn run_once(&self) -> StoreResult<PassStats> {
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
        let outcomes: Vec<StoreResult<PassStats>> = futures::stream::iter(due)
            .map(|read| self.take_and_deliver(read))
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;
        let mut stats = PassStats::default();
        let mut first_error = None;
        for outcome in outcomes {
            match outcome {
                Ok(one) => stats = stats.add(one),
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(stats),
        }
    }

    /// Takes one delivery read as due with a lease and, if this node got
    /// it, sends and settles it.
    async fn take_and_deliver(&self, read: OutboxDelivery) -> StoreResult<PassStats> {
        let mut stats = PassStats::default();
        let now_ms = self.clock.now_ms();
        let until_ms = now_ms
            .saturating_add(i64::try_from(self.settings.lease.as_millis()).unwrap_or(i64::MAX));
        let Some(claimed) =
            lease::claim(&*self.store, &read, self.settings.node_id, now_ms, until_ms).await?
        else {
            return Ok(stats);
        };
        stats.claimed += 1;
        self.deliver(claimed, &mut stats).await?;
        Ok(stats)
    }

    /// Sets the per-endpoint backlog gauges; a store failure leaves them as
    /// they were.
    async fn set_backlog_gauges(&self) {
        let endpoints = self.endpoints.all();
        match super::backlog::measure(
            &*self.store,
            &endpoints,
            self.clock.now_ms(),
            self.settings.backlog_scan_limit,
        )
        .await
        {
            Ok(backlogs) => {
                for backlog in backlogs {
                    crate::metrics::outbox_backlog(
                        backlog.endpoint_id,
                        backlog.depth,
                        backlog.oldest,
                    );
                }
                // A disabled endpoint is sent nothing: nothing waits for it.
                for endpoint in endpoints.iter().filter(|endpoint| !endpoint.enabled) {
                    crate::metrics::outbox_backlog(endpoint.id, 0, Duration::ZERO);
                }
            }
            Err(error) => tracing::warn!(%error, "outbox backlog not measured"),
        }
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
        self.pacer.retain(|id| {
            opened
                .iter()
                .any(|endpoint| endpoint.id == id && endpoint.rate_limit_per_second.is_some())
        });
        self.endpoints.replace_all(opened);
        Ok(())
    }

    /// Sends a claimed delivery to the endpoints it has not reached and
    /// settles it.
    async fn deliver(&self, mut claimed: OutboxDelivery, stats: &mut PassStats) -> StoreResult<()> {
        let event_type = claimed.message.event_type;
        let mut endpoints: Vec<_> = self
            .endpoints
            .subscribed(event_type)
            .into_iter()
            .filter(|endpoint| !claimed.done_endpoints.contains(&endpoint.id))
            .collect();
        // Nobody to send to: nothing is composed (nor any profile read).
        let mut sent = claimed.message.clone();
        let mut first_failure = None;
        let mut deferred_until: Option<i64> = None;
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
            if let Some(per_second) = endpoint.rate_limit_per_second
                && let Pacing::DeferUntil(at_ms) =
                    self.pacer
                        .admit(endpoint.id, per_second, self.clock.now_ms())
            {
                crate::metrics::outbox_deferred(endpoint.id);
                deferred_until = Some(deferred_until.map_or(at_ms, |until| until.max(at_ms)));
                continue;
            }
            let started = tokio::time::Instant::now();
            let result = self
                .sender
                .send(&endpoint, &sent, self.clock.now_ms())
                .await;
            crate::metrics::outbox_attempt(endpoint.id, &result, started.elapsed());
            match result {
                AttemptResult::Delivered => {
                    claimed.done_endpoints.push(endpoint.id);
                    if self.endpoints.note_success(endpoint.id) {
                        self.record_streak(endpoint.id, None).await;
                    }
                }
                AttemptResult::Gone => {
                    if self.endpoints.disable(endpoint.id) {
                        self.disable_gone(endpoint.id).await;
                    }
                    claimed.done_endpoints.push(endpoint.id);
                }
                AttemptResult::Failed { class, detail } => {
                    tracing::debug!(endpoint_id = %endpoint.id, class = class.as_str(), detail, "outbox attempt failed");
                    first_failure.get_or_insert(detail);
                    self.note_failure(endpoint.id).await;
                }
            }
        }
        let now_ms = self.clock.now_ms();
        let outcome = match (first_failure, deferred_until) {
            (None, None) => AttemptOutcome::Delivered { at_ms: now_ms },
            // Held back by a rate limit, nothing failed: no attempt counted.
            (None, Some(until_ms)) => AttemptOutcome::Deferred { until_ms },
            (Some(error), _) => AttemptOutcome::Failed {
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
                    if matches!(outcome, AttemptOutcome::Deferred { .. }) {
                        stats.deferred += 1;
                    } else {
                        stats.failed += 1;
                    }
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
        self.disable(
            endpoint_id,
            DisableReason::Gone,
            "answered 410 gone".to_owned(),
        )
        .await;
    }

    /// Starts an endpoint's failing streak, or disables it once the streak
    /// is older than `disable_after_failing`.
    async fn note_failure(&self, endpoint_id: Uuid) {
        let now_ms = self.clock.now_ms();
        match self.endpoints.note_failure(endpoint_id, now_ms) {
            FailingStreak::Started => self.record_streak(endpoint_id, Some(now_ms)).await,
            FailingStreak::Since(since_ms) => {
                let limit_ms = i64::try_from(self.settings.disable_after_failing.as_millis())
                    .unwrap_or(i64::MAX);
                if now_ms.saturating_sub(since_ms) >= limit_ms
                    && self.endpoints.disable(endpoint_id)
                {
                    let hours = self.settings.disable_after_failing.as_secs() / 3_600;
                    self.disable(
                        endpoint_id,
                        DisableReason::Failing,
                        format!("every attempt failed for {hours} hours"),
                    )
                    .await;
                }
            }
        }
    }

    /// Writes where an endpoint's failing streak stands.
    async fn record_streak(&self, endpoint_id: Uuid, failing_since_ms: Option<i64>) {
        if let Err(error) = self
            .admin
            .set_failing_since(endpoint_id, failing_since_ms)
            .await
        {
            tracing::warn!(%endpoint_id, %error, "outbox endpoint failing streak not recorded");
        }
    }

    /// Disables an endpoint in the store and tells the admin: a warning in
    /// the log, the metric, and the reason in the endpoint listing.
    async fn disable(&self, endpoint_id: Uuid, why: DisableReason, reason: String) {
        match self
            .admin
            .set_enabled(
                endpoint_id,
                false,
                Some(reason.clone()),
                self.clock.now_ms(),
            )
            .await
        {
            Ok(_) => {
                tracing::warn!(%endpoint_id, reason, "outbox endpoint disabled");
                crate::metrics::outbox_endpoint_disabled(why.as_str());
            }
            Err(error) => {
                tracing::warn!(%endpoint_id, %error, reason, "outbox endpoint to disable was not disabled");
            }
        }
    }
}
