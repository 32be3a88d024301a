//! Chaos during the handshake rounds: every `--kill-every-seconds` the spawned
//! server is killed with SIGKILL (no drain, no flush: a crash) and started
//! again on the same data, port and config, while the pairs carry on and
//! reconnect on their own. What it did goes into the report: how many kills and
//! how long each restart took until `/readyz` answered.

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::BenchError;
use super::spawn::SpawnedServer;

/// What the chaos did during a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct ChaosFigures {
    /// Seconds between two kills.
    pub(crate) kill_every_seconds: u64,
    /// Kills done (each followed by a restart).
    pub(crate) kills: u32,
    /// Kill → `/readyz` answering again, per kill, milliseconds.
    pub(crate) restart_ms: Vec<u64>,
}

impl ChaosFigures {
    /// The longest restart, milliseconds.
    pub(crate) fn longest_restart_ms(&self) -> u64 {
        self.restart_ms.iter().copied().max().unwrap_or(0)
    }
}

/// Runs `work` while killing and restarting `server` every `every`; stops
/// killing once `work` is done (a restart under way is finished first).
pub(crate) async fn kill_repeatedly_during<T>(
    work: impl Future<Output = T>,
    server: &mut SpawnedServer,
    http: &reqwest::Client,
    every: Duration,
) -> (T, Result<ChaosFigures, BenchError>) {
    let done = CancellationToken::new();
    let working = async {
        let outcome = work.await;
        done.cancel();
        outcome
    };
    let killing = async {
        let mut figures = ChaosFigures {
            kill_every_seconds: every.as_secs(),
            ..ChaosFigures::default()
        };
        loop {
            tokio::select! {
                () = done.cancelled() => return Ok(figures),
                () = tokio::time::sleep(every) => {}
            }
            let started = tokio::time::Instant::now();
            server.kill_and_restart(http).await?;
            figures.kills += 1;
            figures
                .restart_ms
                .push(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
        }
    };
    tokio::join!(working, killing)
}
