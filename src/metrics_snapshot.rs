//! The gauges read from actors and from the process — placed officers and
//! citizens, pending connection requests, resident memory — refreshed by one
//! task once a second. A scrape only renders what is there, so scraping often,
//! or many scrapers at once, costs the actors nothing.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::runtime::PresenceRuntime;

/// How often the gauges are refreshed (and so the most often actors are asked).
pub(crate) const REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// Refreshes the gauges every [`REFRESH_INTERVAL`] until `stop` is cancelled.
pub(crate) async fn refresh_gauges(presence: PresenceRuntime, stop: CancellationToken) {
    let mut interval = tokio::time::interval(REFRESH_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = interval.tick() => {}
        }
        crate::metrics::refresh_process_gauges();
        let stats = presence.stats().await;
        crate::metrics::presence_placed(stats.officers_available, stats.citizens_located);
        crate::metrics::connection_requests_pending(stats.pending_requests);
    }
}
