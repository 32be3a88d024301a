//! The coordinator's side of the workers: starts them (this binary as
//! `heyblue bench-worker`), sends commands to all, gathers their events, and while
//! waiting samples the totals and the server's memory once a second for the
//! timeline and the progress bar.

use std::process::Stdio;
use std::time::Duration;

use indicatif::ProgressBar;
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command as ProcessCommand};
use tokio::sync::mpsc;

use super::BenchError;
use super::plan::{Command, Event, WorkerPlan};
use super::resources::ServerResources;
use super::stats::{CounterSnapshot, LatencyExport};
use super::tally::HandshakeTally;

/// How often the timeline is sampled.
const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// Where the server's resident memory comes from.
#[derive(Debug, Clone)]
pub(crate) enum MemoryProbe {
    /// `heyblue_process_resident_memory_bytes` and `heyblue_sessions_active` from
    /// the metrics listener of each node that holds sessions (one, or a cluster's).
    Metrics {
        /// Each node: its base URL (`http://host:port`, the name in reports) and
        /// its metrics listener's base URL.
        nodes: Vec<(String, String)>,
        /// Client for the scrapes.
        http: reqwest::Client,
    },
    /// /proc/<pid>/status of a local child.
    Process {
        /// Its pid.
        pid: u32,
    },
}

/// One server's figures at one moment.
#[derive(Debug, Clone)]
pub(crate) struct ServerReading {
    /// Which server: a node's `host:port`, or the child's pid.
    pub(crate) server: String,
    /// Resident memory, bytes; `None` when it did not answer.
    pub(crate) resident_bytes: Option<u64>,
    /// Sessions the node counts open (`heyblue_sessions_active`, all roles); `None`
    /// for a child that does not export it.
    pub(crate) sessions: Option<u64>,
    /// Open files, tasks, actors and pending outbound messages; `None` for a
    /// child that does not export them.
    pub(crate) resources: Option<ServerResources>,
}

impl MemoryProbe {
    /// Every server's figures now, in the probe's order (nodes scraped at once).
    pub(crate) async fn read(&self) -> Vec<ServerReading> {
        match self {
            MemoryProbe::Metrics { nodes, http } => {
                futures::future::join_all(
                    nodes
                        .iter()
                        .map(|(base_url, metrics_url)| scrape_node(http, base_url, metrics_url)),
                )
                .await
            }
            MemoryProbe::Process { pid } => vec![ServerReading {
                server: format!("pid {pid}"),
                resident_bytes: super::spawn::resident_memory_of(*pid),
                sessions: None,
                resources: None,
            }],
        }
    }
}

/// The resident memory of all servers together; `None` when one did not answer.
pub(crate) fn total_resident_bytes(readings: &[ServerReading]) -> Option<u64> {
    readings
        .iter()
        .map(|reading| reading.resident_bytes)
        .sum::<Option<u64>>()
}

async fn scrape_node(http: &reqwest::Client, base_url: &str, metrics_url: &str) -> ServerReading {
    let text = match http.get(format!("{metrics_url}/metrics")).send().await {
        Ok(response) => response.text().await.ok(),
        Err(_) => None,
    };
    let server = base_url.trim_start_matches("http://").to_owned();
    let Some(text) = text else {
        return ServerReading {
            server,
            resident_bytes: None,
            sessions: None,
            resources: None,
        };
    };
    ServerReading {
        server,
        resident_bytes: metric_sum(&text, "heyblue_process_resident_memory_bytes"),
        sessions: metric_sum(&text, "heyblue_sessions_active"),
        resources: ServerResources::from_metrics_page(&text, metric_sum),
    }
}

/// The sum of a metric's samples over all its label sets in a Prometheus text
/// page; `None` when the page has none.
fn metric_sum(page: &str, name: &str) -> Option<u64> {
    let values: Vec<f64> = page
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(name)?;
            // The name exactly, not a longer one that starts with it.
            if !(rest.starts_with(' ') || rest.starts_with('{')) {
                return None;
            }
            line.split_whitespace().last()?.parse::<f64>().ok()
        })
        .collect();
    if values.is_empty() {
        return None;
    }
    Some(values.iter().sum::<f64>().max(0.0) as u64)
}

/// One timeline point.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Sample {
    /// Seconds since the run started.
    pub(crate) t_s: f64,
    /// The phase running.
    pub(crate) phase: String,
    /// Totals over all workers.
    pub(crate) counters: CounterSnapshot,
    /// The server's resident memory (a cluster's: summed over its nodes), bytes.
    pub(crate) server_rss_bytes: Option<u64>,
    /// The server's other resources (a cluster's: summed over its nodes).
    pub(crate) server_resources: Option<ServerResources>,
}

/// What the workers reported at the end, added up.
#[derive(Debug)]
pub(crate) struct FleetResults {
    /// Final counters.
    pub(crate) counters: CounterSnapshot,
    /// Histograms and samples.
    pub(crate) latencies: LatencyExport,
    /// Handshake failures, withheld rewards and the credit check.
    pub(crate) tally: HandshakeTally,
    /// The once-a-second samples.
    pub(crate) timeline: Vec<Sample>,
}

/// The running workers.
#[derive(Debug)]
pub(crate) struct Fleet {
    /// Processes (killed on drop).
    children: Vec<Child>,
    /// Their command pipes.
    stdins: Vec<ChildStdin>,
    /// Events from all workers, tagged by worker index.
    events: mpsc::UnboundedReceiver<(usize, Event)>,
    /// Latest counters per worker.
    latest: Vec<CounterSnapshot>,
    /// The timeline so far.
    pub(crate) timeline: Vec<Sample>,
    /// When the run started.
    started: tokio::time::Instant,
    /// Memory source.
    probe: MemoryProbe,
    /// The live display.
    bar: ProgressBar,
}

impl Fleet {
    /// Starts one worker per plan.
    pub(crate) async fn start(
        plans: Vec<WorkerPlan>,
        probe: MemoryProbe,
        bar: ProgressBar,
    ) -> Result<Self, BenchError> {
        let exe = super::spawn::current_exe()?;
        let (sender, events) = mpsc::unbounded_channel();
        let mut children = Vec::new();
        let mut stdins = Vec::new();
        for (index, plan) in plans.iter().enumerate() {
            let mut child = ProcessCommand::new(&exe)
                .arg("bench-worker")
                .env(
                    "RUST_LOG",
                    std::env::var("RUST_LOG").unwrap_or_else(|_| "error".to_owned()),
                )
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .kill_on_drop(true)
                .spawn()
                .map_err(|error| {
                    BenchError::Setup(format!("cannot start worker {index}: {error}"))
                })?;
            let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
                return Err(BenchError::Setup(format!("worker {index} has no pipes")));
            };
            let plan_line = serde_json::to_string(plan)
                .map_err(|error| BenchError::Setup(error.to_string()))?;
            stdin
                .write_all(format!("{plan_line}\n").as_bytes())
                .await
                .map_err(|error| {
                    BenchError::Setup(format!("cannot talk to worker {index}: {error}"))
                })?;
            let sender = sender.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stdout).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    match serde_json::from_str::<Event>(&line) {
                        Ok(event) => {
                            if sender.send((index, event)).is_err() {
                                return;
                            }
                        }
                        Err(error) => {
                            tracing::warn!(worker = index, %error, "unreadable worker line")
                        }
                    }
                }
                let _receiver_may_be_gone = sender.send((
                    index,
                    Event::Failed {
                        message: "the worker exited".to_owned(),
                    },
                ));
            });
            children.push(child);
            stdins.push(stdin);
        }
        let workers = children.len();
        Ok(Self {
            children,
            stdins,
            events,
            latest: vec![CounterSnapshot::default(); workers],
            timeline: Vec::new(),
            started: tokio::time::Instant::now(),
            probe,
            bar,
        })
    }

    /// Sends `command` to every worker and waits until all are done with it;
    /// returns the longest time a worker took, milliseconds.
    pub(crate) async fn run(&mut self, command: &Command, phase: &str) -> Result<u64, BenchError> {
        let line =
            serde_json::to_string(command).map_err(|error| BenchError::Setup(error.to_string()))?;
        for (index, stdin) in self.stdins.iter_mut().enumerate() {
            stdin
                .write_all(format!("{line}\n").as_bytes())
                .await
                .map_err(|error| BenchError::Worker {
                    index,
                    message: format!("cannot send a command: {error}"),
                })?;
        }
        self.announce(phase);
        let mut done = vec![false; self.stdins.len()];
        let mut longest_ms = 0;
        let mut sampler = tokio::time::interval(SAMPLE_INTERVAL);
        while done.iter().any(|finished| !finished) {
            tokio::select! {
                event = self.events.recv() => {
                    let Some((index, event)) = event else {
                        return Err(BenchError::Setup("all workers are gone".to_owned()));
                    };
                    match event {
                        Event::Progress { counters } => self.latest[index] = counters,
                        Event::Done { elapsed_ms, .. } => {
                            done[index] = true;
                            longest_ms = longest_ms.max(elapsed_ms);
                        }
                        Event::Failed { message } => return Err(BenchError::Worker { index, message }),
                        Event::Finished { .. } => {
                            return Err(BenchError::Worker { index, message: "finished early".to_owned() });
                        }
                    }
                }
                _ = sampler.tick() => self.sample(phase).await,
            }
        }
        self.sample(phase).await;
        Ok(longest_ms)
    }

    /// Samples for `duration` while the workers hold their sockets.
    pub(crate) async fn hold(&mut self, duration: Duration, phase: &str) -> Result<(), BenchError> {
        self.announce(phase);
        let until = tokio::time::Instant::now() + duration;
        let mut sampler = tokio::time::interval(SAMPLE_INTERVAL);
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(until) => return Ok(()),
                event = self.events.recv() => match event {
                    Some((index, Event::Progress { counters })) => self.latest[index] = counters,
                    Some((index, Event::Failed { message })) => return Err(BenchError::Worker { index, message }),
                    Some((_, Event::Done { .. } | Event::Finished { .. })) => {}
                    None => return Err(BenchError::Setup("all workers are gone".to_owned())),
                },
                _ = sampler.tick() => self.sample(phase).await,
            }
        }
    }

    /// Tells the workers to close and report; their final figures, added up.
    pub(crate) async fn finish(mut self) -> Result<FleetResults, BenchError> {
        let line = serde_json::to_string(&Command::Finish)
            .map_err(|error| BenchError::Setup(error.to_string()))?;
        for stdin in &mut self.stdins {
            let _worker_may_have_exited = stdin.write_all(format!("{line}\n").as_bytes()).await;
        }
        let mut finished = vec![false; self.stdins.len()];
        let mut totals = CounterSnapshot::default();
        let mut latencies = LatencyExport::default();
        let mut tally = HandshakeTally::default();
        while finished.iter().any(|done| !done) {
            let Some((index, event)) = self.events.recv().await else {
                return Err(BenchError::Setup("all workers are gone".to_owned()));
            };
            match event {
                Event::Finished {
                    counters,
                    latencies: worker_latencies,
                    tally: worker_tally,
                } => {
                    finished[index] = true;
                    totals.add(&counters);
                    latencies.merge(&worker_latencies);
                    tally.merge(&worker_tally);
                }
                Event::Failed { message } if !finished[index] => {
                    return Err(BenchError::Worker { index, message });
                }
                Event::Failed { .. } | Event::Progress { .. } | Event::Done { .. } => {}
            }
        }
        for child in &mut self.children {
            let _exit_status = child.wait().await;
        }
        self.bar.finish_and_clear();
        Ok(FleetResults {
            counters: totals,
            latencies,
            tally,
            timeline: self.timeline,
        })
    }

    /// The totals now.
    pub(crate) fn totals(&self) -> CounterSnapshot {
        let mut totals = CounterSnapshot::default();
        for counters in &self.latest {
            totals.add(counters);
        }
        totals
    }

    /// Every server's memory and sessions now.
    pub(crate) async fn server_readings(&self) -> Vec<ServerReading> {
        self.probe.read().await
    }

    fn announce(&self, phase: &str) {
        if self.bar.is_hidden() {
            eprintln!("phase {phase}");
        } else {
            self.bar.println(format!("phase {phase}"));
        }
    }

    async fn sample(&mut self, phase: &str) {
        let counters = self.totals();
        let readings = self.probe.read().await;
        let server_rss_bytes = total_resident_bytes(&readings);
        let server_resources =
            ServerResources::total(readings.iter().map(|reading| reading.resources.as_ref()));
        let t_s = self.started.elapsed().as_secs_f64();
        let previous = self
            .timeline
            .last()
            .map(|sample| (sample.t_s, sample.counters));
        let (updates_per_s, pushes_per_s, connects_per_s, established_per_s) = match previous {
            Some((previous_t, previous_counters)) if t_s > previous_t => {
                let per_second =
                    |now: u64, before: u64| now.saturating_sub(before) as f64 / (t_s - previous_t);
                (
                    per_second(counters.updates_sent, previous_counters.updates_sent),
                    per_second(counters.pushes, previous_counters.pushes),
                    per_second(counters.connected, previous_counters.connected),
                    per_second(
                        counters.rounds_established,
                        previous_counters.rounds_established,
                    ),
                )
            }
            Some(_) | None => (0.0, 0.0, 0.0, 0.0),
        };
        let memory = server_rss_bytes.map_or_else(
            || "?".to_owned(),
            |bytes| format!("{:.0} MiB", bytes as f64 / 1_048_576.0),
        );
        let traffic = if counters.rounds_started > 0 {
            format!(
                "accepted {} ({established_per_s:.0}/s) | failed rounds {}",
                counters.rounds_established, counters.rounds_failed
            )
        } else {
            format!(
                "updates {updates_per_s:.0}/s | pushes {pushes_per_s:.0}/s | wrong {}",
                counters.wrong
            )
        };
        self.bar.set_message(format!(
            "{phase} | signed in {} | open {} (+{connects_per_s:.0}/s) | {traffic} | errors {} | server {memory}",
            counters.signed_in,
            counters.open,
            counters.errors(),
        ));
        self.timeline.push(Sample {
            t_s,
            phase: phase.to_owned(),
            counters,
            server_rss_bytes,
            server_resources,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_metric_is_summed_over_its_labels_and_not_confused_with_longer_names() {
        let page = "# TYPE heyblue_sessions_active gauge\n\
                    heyblue_sessions_active{role=\"citizen\"} 900\n\
                    heyblue_sessions_active{role=\"officer\"} 100\n\
                    heyblue_sessions_active_total 7\n\
                    heyblue_process_resident_memory_bytes 1048576\n";
        assert_eq!(metric_sum(page, "heyblue_sessions_active"), Some(1_000));
        assert_eq!(
            metric_sum(page, "heyblue_process_resident_memory_bytes"),
            Some(1_048_576)
        );
        assert_eq!(metric_sum(page, "heyblue_cells_active"), None);
    }

    #[test]
    fn the_total_needs_every_server() {
        let reading = |resident_bytes| ServerReading {
            server: "127.0.0.1:8080".to_owned(),
            resident_bytes,
            sessions: None,
            resources: None,
        };
        assert_eq!(
            total_resident_bytes(&[reading(Some(1)), reading(Some(2))]),
            Some(3)
        );
        assert_eq!(
            total_resident_bytes(&[reading(Some(1)), reading(None)]),
            None
        );
    }
}
