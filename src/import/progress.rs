//! The progress bar of `heyblue import`: bytes read of the file, drawn on
//! stderr (stdout carries the report) and only on a terminal.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often the bar reads the byte count.
const TICK: Duration = Duration::from_millis(200);

/// A running bar over `total_bytes`, fed from `bytes_read`; finish it when done.
#[derive(Debug)]
pub struct ImportProgress {
    /// The bar.
    bar: ProgressBar,
    /// Stops the task that moves it.
    ticker: tokio::task::JoinHandle<()>,
}

impl ImportProgress {
    /// Stops and clears the bar.
    pub fn finish(self) {
        self.ticker.abort();
        self.bar.finish_and_clear();
    }
}

/// Starts a bar for a file of `total_bytes`.
pub(crate) fn progress_bar(total_bytes: u64, bytes_read: Arc<AtomicU64>) -> ImportProgress {
    let bar = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    let moved = bar.clone();
    let ticker = tokio::spawn(async move {
        let mut interval = tokio::time::interval(TICK);
        loop {
            interval.tick().await;
            moved.set_position(bytes_read.load(Ordering::Relaxed));
        }
    });
    ImportProgress { bar, ticker }
}
