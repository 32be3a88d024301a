//! The `heyblue` command: parses arguments, sets up logging and metrics, binds the
//! listener and hands over to the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use heyblue::config::LogFormat;
use heyblue::{Config, EnvironmentVariables};

/// Hey Blue! presence server.
#[derive(Debug, Parser)]
#[command(version = heyblue::version::LONG_VERSION, about)]
struct Cli {
    /// TOML config file (see config/heyblue.example.toml); defaults apply
    /// without one. Given more than once, later files' keys replace earlier
    /// ones' (tables merge, arrays are replaced): e.g. a node config, then a
    /// region map from cluster/regions/.
    #[arg(long, global = true, value_name = "PATH")]
    config: Vec<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API and WebSocket (the default).
    Serve,
    /// Apply the store schema (Scylla: keyspace, tables, schema version) and exit.
    Migrate,
    /// Import officers, retailers, offers, schemes or charities from a CSV or
    /// NDJSON file (see docs/imports.md). Exit code 1 when rows are invalid
    /// and nothing was written.
    Import(ImportArgs),
    /// Rewards administration.
    Rewards {
        #[command(subcommand)]
        what: RewardsCommand,
    },
    /// Report aggregates (see docs/reports.md).
    Reports {
        #[command(subcommand)]
        what: ReportsCommand,
    },
    /// Write de-identified connection-level facts (Parquet, CSV and a
    /// manifest) for the data team (see docs/reports.md).
    Export {
        /// First UTC day, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last UTC day, YYYY-MM-DD (inclusive).
        #[arg(long)]
        to: String,
        /// The directory to write (created if missing).
        #[arg(long)]
        out: std::path::PathBuf,
        /// Name participants as earlier stable exports did, so exports can
        /// be joined (the key is kept in the data directory).
        #[arg(long)]
        stable_pseudonyms: bool,
    },
    /// Manage the voucher signing keys and the master key.
    Keys {
        #[command(subcommand)]
        what: KeysCommand,
    },
    /// Print the API contract as JSON: the WebSocket protocol as AsyncAPI 3.0,
    /// or the HTTP API as OpenAPI 3.1 (docs/asyncapi.json and docs/openapi.json
    /// are this output).
    Contract {
        /// Which document.
        #[arg(value_enum)]
        document: heyblue::ContractDocument,
    },
    /// Ask the node of this configuration to drain (hand its shards and clients
    /// to the other nodes) and stop, as SIGTERM does.
    Drain,
    /// Load and correctness runs against a node on this machine (see docs/benchmarks.md).
    Bench(Box<heyblue::BenchArgs>),
    /// A bench worker process (started by `heyblue bench`; reads its plan on stdin).
    #[command(hide = true)]
    BenchWorker,
    /// The echo server of `heyblue bench --baseline echo`.
    #[command(hide = true)]
    BenchEcho {
        /// Address to listen on (loopback).
        #[arg(long)]
        listen: std::net::SocketAddr,
    },
}

#[derive(Debug, clap::Args)]
struct ImportArgs {
    /// What the file holds.
    #[arg(value_enum)]
    kind: heyblue::ImportKind,
    /// The file.
    file: PathBuf,
    /// csv or ndjson; from the file's extension when absent.
    #[arg(long, value_enum)]
    format: Option<heyblue::ImportFormat>,
    /// Import the valid rows even if some rows are invalid.
    #[arg(long)]
    skip_invalid: bool,
    /// Validate and report what would change, writing nothing.
    #[arg(long)]
    dry_run: bool,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "PATH")]
    report_json: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum RewardsCommand {
    /// Print the pledge statement of a UTC month: per charity, the pledges,
    /// points and dollars (read from the store of the configuration; with the
    /// embedded store, stop the server first or use the admin API).
    Statement {
        /// The month, YYYY-MM (e.g. 2026-12).
        #[arg(long)]
        month: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "csv")]
        format: heyblue::StatementFormat,
    },
}

#[derive(Debug, Subcommand)]
enum ReportsCommand {
    /// Recompute the report aggregates from the records (after a bug fix),
    /// from a UTC day on (from the first record's day when absent). With the
    /// embedded store, stop the server first.
    Rebuild {
        /// The first UTC day to recompute, YYYY-MM-DD.
        #[arg(long)]
        from: Option<String>,
    },
    /// Load the report facts of synthetic connections into the configured
    /// store (use a scratch data directory or keyspace), then time reports
    /// over the whole span at every ZIP (docs/benchmarks.md).
    Bench {
        /// Connections to load (0: time what an earlier run loaded).
        #[arg(long, default_value_t = 1_000_000)]
        connections: u64,
        /// Days they are spread over, from 2026-01-01.
        #[arg(long, default_value_t = 365)]
        days: i64,
        /// Distinct ZIPs they are spread over.
        #[arg(long, default_value_t = 30_000)]
        zips: u32,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Make a new voucher signing key active in the key file
    /// (rewards.voucher_keys_file); the old one keeps verifying until its
    /// vouchers expire. Running servers pick it up within
    /// rewards.voucher_keys_reload_seconds.
    Rotate,
    /// Move every phone, roster entry and webhook secret sealed or hashed
    /// under the previous master key (identity.previous_master_key_env or
    /// previous_master_key_file) to the current one; safe to run again and
    /// while servers run on a CQL store (servers loading both keys also do
    /// it when they start). See docs/operations.md.
    RotateMaster,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let environment = EnvironmentVariables::from_process();
    let config = match Config::load_layers(cli.config.iter().map(PathBuf::as_path), &environment) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("heyblue: {error}");
            return ExitCode::from(2);
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    // Bench processes log to stderr (stdout carries the table or worker
    // events), and so does a statement (stdout carries the CSV or JSON).
    let bench_process = matches!(
        command,
        Command::Bench(_)
            | Command::BenchWorker
            | Command::BenchEcho { .. }
            | Command::Rewards { .. }
            | Command::Reports { .. }
            | Command::Export { .. }
    );
    init_tracing(config.log.format, bench_process);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("heyblue: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run(command, config, environment));
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("heyblue: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(
    command: Command,
    config: Config,
    environment: EnvironmentVariables,
) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve => {
            heyblue::install_recorder();
            let api = heyblue::bind_listener(config.listen, config.http.listen_backlog)
                .with_context(|| format!("cannot listen on {}", config.listen))?;
            let metrics =
                heyblue::bind_metrics_listener(config.metrics.listen).with_context(|| {
                    format!(
                        "cannot listen on {} for /metrics (set [metrics] listen)",
                        config.metrics.listen
                    )
                })?;
            let listeners = heyblue::Listeners { api, metrics };
            heyblue::serve(listeners, config, environment, shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let report = heyblue::migrate(&config, &environment).await?;
            println!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Import(args) => {
            let options = heyblue::ImportFileOptions {
                kind: args.kind,
                format: args.format,
                skip_invalid: args.skip_invalid,
                dry_run: args.dry_run,
                progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
            };
            let report = heyblue::import_file(&config, &environment, &args.file, options).await?;
            print!("{report}");
            if let Some(path) = &args.report_json {
                let json = serde_json::to_vec_pretty(&report)?;
                std::fs::write(path, json)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            if report.outcome == heyblue::ImportOutcome::Rejected {
                println!("nothing imported: fix the rows above or pass --skip-invalid");
                Ok(ExitCode::from(1))
            } else {
                Ok(ExitCode::SUCCESS)
            }
        }
        Command::Rewards {
            what: RewardsCommand::Statement { month, format },
        } => {
            let statement =
                heyblue::rewards_statement(&config, &environment, &month, format).await?;
            print!("{statement}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Reports {
            what: ReportsCommand::Rebuild { from },
        } => {
            let summary = heyblue::rebuild_reports(&config, &environment, from.as_deref()).await?;
            println!("{summary}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Reports {
            what:
                ReportsCommand::Bench {
                    connections,
                    days,
                    zips,
                },
        } => {
            let options = heyblue::ReportBenchOptions {
                connections,
                days,
                zips,
            };
            let summary = heyblue::bench_reports(&config, &environment, options).await?;
            println!("{summary}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Export {
            from,
            to,
            out,
            stable_pseudonyms,
        } => {
            let options = heyblue::ExportOptions {
                from: &from,
                to: &to,
                out: &out,
                stable_pseudonyms,
            };
            let summary = heyblue::export_connections(&config, &environment, options).await?;
            println!("{summary}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys {
            what: KeysCommand::Rotate,
        } => {
            let rotation = heyblue::rotate_voucher_keys(&config)?;
            println!("active voucher key: {}", rotation.new_kid);
            if let Some(retired) = rotation.retired_kid {
                println!("retired (still verifying): {retired}");
            }
            for dropped in rotation.dropped_kids {
                println!("dropped (retired longer than a voucher lives): {dropped}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys {
            what: KeysCommand::RotateMaster,
        } => {
            let summary = heyblue::rotate_master_key(&config, &environment).await?;
            println!("{summary}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Contract { document } => {
            print!("{}", heyblue::contract_json(document));
            Ok(ExitCode::SUCCESS)
        }
        Command::Drain => {
            let address = heyblue::request_drain(&config, &environment).await?;
            println!("node at {address} is draining; it stops once its clients moved");
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(args) => match heyblue::run_bench(*args).await {
            Ok(report) if report.all_correct() => Ok(ExitCode::SUCCESS),
            Ok(_) => Ok(ExitCode::from(1)),
            Err(heyblue::BenchError::Usage(message)) => {
                eprintln!("heyblue bench: {message}");
                Ok(ExitCode::from(2))
            }
            Err(error) => Err(error.into()),
        },
        Command::BenchWorker => Ok(heyblue::run_bench_worker().await),
        Command::BenchEcho { listen } => {
            if !listen.ip().is_loopback() {
                anyhow::bail!("the echo server listens on loopback only");
            }
            heyblue::run_echo_server(listen).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(stream) => stream,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM, only SIGINT stops the server");
                let _interrupted = interrupt.await;
                return;
            }
        };
    tokio::select! {
        _ = interrupt => tracing::info!("SIGINT received"),
        _ = terminate.recv() => tracing::info!("SIGTERM received"),
    }
}

fn init_tracing(format: LogFormat, bench_process: bool) {
    let default_level = if bench_process { "warn" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    if bench_process {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
        return;
    }
    // Colours only on a terminal: log files and collectors get plain text.
    let colours = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colours);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
