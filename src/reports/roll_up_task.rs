//! The background roll-up of report cells on the CQL store: every
//! `reports.roll_up_interval_ms`, rolls up every day whose facts changed
//! since its last roll-up (`ReportStore::roll_up_reports`), so the reads
//! that roll up the days they need find little left. A failed pass is
//! logged and counted, and the next pass tries again; it never stops the
//! server. Spawned by `serve` when the store is CQL.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::store::Store;

/// Rolls up dirty days at once and then every `period` until `stop` is
/// cancelled; a pass that overruns delays the next one.
pub(crate) async fn roll_up_reports_periodically(
    store: Arc<dyn Store>,
    period: Duration,
    stop: CancellationToken,
) {
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = interval.tick() => {}
        }
        let pass = tracing::debug_span!("report_roll_up_pass");
        tokio::select! {
            () = stop.cancelled() => return,
            () = roll_up_once(store.as_ref()).instrument(pass) => {}
        }
    }
}

/// One pass: logs and counts what it did or why it failed.
async fn roll_up_once(store: &dyn Store) {
    let started = tokio::time::Instant::now();
    match store.roll_up_reports().await {
        Ok(pass) => {
            crate::metrics::report_rollup_pass(Some(pass.days));
            if pass.days > 0 {
                tracing::debug!(
                    days = pass.days,
                    months = pass.months,
                    fact_rows_read = pass.fact_rows_read,
                    elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    "report cells rolled up"
                );
            }
        }
        Err(error) => {
            crate::metrics::report_rollup_pass(None);
            tracing::warn!(%error, "report roll-up failed; retried at the next pass");
        }
    }
}
