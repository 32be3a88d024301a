//! `serve()`: opens the store, loads the keys (the master key, the voucher
//! signing keys, reloaded when their file changes) and tokens, starts the presence
//! actors, builds the router, and serves the API and `/metrics` (each on its own
//! listener) until the shutdown future resolves.
//! Shutdown order: signal → cancel the root token → stop accepting, and every
//! WebSocket sends a Close frame (1001) → sessions, then shards and cells stop →
//! open requests and sockets finish (each bounded by `http.shutdown_grace_seconds`)
//! → background tasks joined → store closed.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::actors::placement::ClusterRole;
use crate::clock::Clock;
use crate::cluster::link::ClusterLink;
use crate::cluster::node::{ClusterStartError, start_node_server};
use crate::cluster::wire::NodeStatus;
use crate::config::{Config, EnvironmentVariables};
use crate::connections::{Connections, reward_rules};
use crate::domain::phone::PhoneRegions;
use crate::gateway::ws::SocketTasks;
use crate::gateway::{self, AdminToken, AppState};
use crate::http_server::{ConnectionLimits, serve_connections};
use crate::identity::keys::{KeyError, ServerKeys};
use crate::identity::sms::{self, SmsSetupError};
use crate::identity::{IdentityService, write_secret_file};
use crate::import::{
    ApplyContext, ImportFormat, ImportKind, ImportReport, ImportRequest, run_import,
};
use crate::listener::Listeners;
use crate::profiles::Profiles;
use crate::proxy_protocol::ProxiedListener;
use crate::rewards::signing::{VoucherSigner, watch_key_file};
use crate::runtime::{ClusterSetup, PresenceRuntime, PresenceStartError};
use crate::store::{self, Store, StoreError};
use crate::tls::{ReloadingAcceptor, watch_certificate_files};
use tokio::task::JoinHandle;
use tracing::Instrument;

/// How often incomplete connection records are looked for.
const CONNECTION_RECOVERY_INTERVAL: Duration = Duration::from_secs(60);
/// Pause between two tries of import recovery while the store cannot be read.
const IMPORT_RECOVERY_RETRY: Duration = Duration::from_secs(2);
/// How long a drain waits for sockets to deliver their 4010 close.
const DRAIN_CLOSE_WAIT: Duration = Duration::from_secs(3);
/// How often expired tokens are deleted from the store.
const TOKEN_SWEEP_INTERVAL: Duration = Duration::from_secs(3600);
/// File holding a generated admin token.
const ADMIN_TOKEN_FILE: &str = "admin.token";

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The data directory cannot be created or read.
    #[error("cannot prepare data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// The store cannot be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The master key cannot be loaded.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// The voucher signing key file is missing its directory, loose or corrupt.
    #[error(transparent)]
    VoucherKeys(#[from] crate::rewards::signing::KeyFileError),
    /// The SMS adapter cannot be built.
    #[error(transparent)]
    Sms(#[from] SmsSetupError),
    /// An OpenID Connect provider cannot be set up (its secret is missing).
    #[error("{0}")]
    Oidc(String),
    /// The admin token cannot be read or generated.
    #[error("cannot use admin token file {path}: {source}")]
    AdminToken {
        /// The file.
        path: String,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// The presence actors could not start.
    #[error(transparent)]
    Presence(#[from] PresenceStartError),
    /// The cluster port could not start.
    #[error(transparent)]
    Cluster(#[from] ClusterStartError),
    /// The TLS certificate or key cannot be served.
    #[error("cannot serve TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    /// The outbox's HTTP client cannot be built.
    #[error("{0}")]
    Outbox(String),
    /// `heyblue keys rotate-master` without the key being replaced.
    #[error(
        "no previous master key: set the variable named by identity.previous_master_key_env \
         (HEYBLUE_PREVIOUS_MASTER_KEY) or identity.previous_master_key_file to the key being \
         replaced, and the current key to the new one"
    )]
    NoPreviousMasterKey,
    /// The listener failed.
    #[error("http server failed: {0}")]
    Http(#[from] std::io::Error),
}

/// Serves the API on `listeners.api` and `/metrics` on `listeners.metrics` until
/// `shutdown` resolves.
pub async fn serve(
    listeners: Listeners,
    config: Config,
    environment: EnvironmentVariables,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let config = Arc::new(config);
    check_cluster_secrets(&config, &environment)?;
    let tls = config
        .http
        .tls
        .as_ref()
        .map(ReloadingAcceptor::load)
        .transpose()?;
    let parts = open_parts(&config, &environment, StoreOpening::Background).await?;
    if parts.keys.rotating() {
        tokio::spawn(move_to_current_key(
            parts.store.clone(),
            Arc::clone(&parts.keys),
        ));
    }
    let admin_token = load_admin_token(&config, &environment)?;
    let analyst_token = environment
        .get(&config.admin.analyst_token_env)
        .filter(|token| !token.trim().is_empty())
        .map(AdminToken::new);
    let voucher_keys_path = config.rewards.voucher_keys_path(&config.data_dir);
    let voucher_signer = VoucherSigner::open(&voucher_keys_path, Clock::system().now_ms())?;
    let sms = sms::from_config(&config.sms, &environment)?;
    let clock = Clock::system();
    let oidc = Arc::new(
        crate::oidc::OidcService::from_config(
            &config.identity,
            &environment,
            Arc::clone(&parts.keys),
            clock,
        )
        .map_err(|error| ServeError::Oidc(error.to_string()))?,
    );
    let identity = Arc::new(IdentityService::new(
        parts.store.clone(),
        parts.keys,
        sms,
        clock,
        config.identity.clone(),
    ));
    let Listeners {
        api: listener,
        metrics: metrics_listener,
    } = listeners;
    let local_address = listener.local_addr()?;
    let metrics_address = metrics_listener.local_addr()?;
    // Parse the embedded ZIP centroids now, not on the first location.
    let zips = crate::geo::preload_zip_index();
    tracing::debug!(zips, "zip index loaded");
    let root = CancellationToken::new();
    let stop_requested = CancellationToken::new();
    // Sockets close (1001) as soon as shutdown starts, while accepting stops.
    let sockets = SocketTasks::new(root.child_token());
    let profiles = Profiles::new(parts.store.clone(), clock);
    let connections = Connections::new(
        parts.store.clone(),
        profiles.clone(),
        clock,
        reward_rules(&config.presence, &config.connections),
    )
    .with_virtual_rules(crate::connections::virtual_reward_rules(
        &config.presence,
        &config.connections,
    ));
    let public_base = config
        .public_url
        .clone()
        .unwrap_or_else(|| {
            let scheme = if tls.is_some() { "wss" } else { "ws" };
            format!("{scheme}://{local_address}")
        })
        .trim_end_matches('/')
        .to_owned();
    let redemptions = crate::rewards::Redemptions::new(parts.store.clone(), clock);
    let donations = crate::rewards::Donations::new(
        parts.store.clone(),
        clock,
        config.rewards.dollars_per_point,
    );
    let cluster = cluster_setup(&config, &environment, &public_base).await?;
    let presence = PresenceRuntime::start(
        config.presence.clone(),
        config.connections.clone(),
        cluster,
        clock,
        profiles,
        connections.clone(),
    )
    .await?;
    let imports = ApplyContext {
        store: parts.store.clone(),
        keys: Arc::clone(identity.keys()),
        phone_regions: parts.phone_regions.clone(),
        clock,
        departures: Arc::new(gateway::RosterDepartures {
            identity: identity.clone(),
            presence: Some(presence.clone()),
        }),
    };
    // Before serving: a run committed by a process that died is visible whole
    // from the first request on.
    let import_recovery_task = recover_imports(imports, root.clone())
        .instrument(tracing::info_span!("import_recovery"))
        .await;
    let ws_url = format!("{public_base}/v1/ws");
    let state = AppState {
        config: config.clone(),
        store: parts.store.clone(),
        identity,
        connections: connections.clone(),
        catalog: crate::rewards::Catalog::new(parts.store.clone(), clock),
        redemptions: redemptions.clone(),
        donations: donations.clone(),
        statements: crate::rewards::Statements::new(parts.store.clone()),
        voucher_signer: voucher_signer.clone(),
        hub: Arc::new(presence.clone()),
        sockets: sockets.clone(),
        account_budgets: Arc::new(crate::gateway::ws::AccountBudgets::new(
            config.presence.control_messages_per_minute,
            crate::proto::limits::ERRORS_PER_MINUTE_BEFORE_CLOSE,
            config.presence.sockets_per_account_per_minute,
        )),
        pending_sockets: crate::gateway::address_slots::AddressSlots::new(
            config.http.max_pending_sockets_per_ip,
        ),
        presence: presence.clone(),
        audit: crate::audit::AuditLog::new(parts.store.clone(), clock),
        ws_url: Arc::from(ws_url.as_str()),
        admin_token,
        analyst_token,
        clock,
        phone_regions: parts.phone_regions.clone(),
        stop_requested: stop_requested.clone(),
        console: Arc::new(crate::gateway::console::ConsoleSessions::new(
            config.http.tls.is_some(),
        )),
        exports: Arc::new(crate::identity::window_limiter::WindowLimiter::new(
            gateway::EXPORTS_PER_HOUR,
            gateway::EXPORT_LIMITER_KEYS,
        )),
        oidc,
    };
    tracing::info!(address = %local_address, metrics_address = %metrics_address, store = parts.store.backend_name(), "serving");

    let signal_token = root.clone();
    let drain_handoff = config
        .cluster
        .as_ref()
        .map(|cluster| Duration::from_millis(cluster.drain_handoff_ms));
    let draining_presence = presence.clone();
    let draining_sockets = sockets.clone();
    let signal_task = tokio::spawn(async move {
        tokio::select! {
            () = shutdown => {}
            () = stop_requested.cancelled() => {}
            () = signal_token.cancelled() => return,
        }
        if let Some(handoff) = drain_handoff {
            drain(&draining_presence, &draining_sockets, handoff).await;
        }
        signal_token.cancel();
    });
    let sweeper_task = tokio::spawn(sweep_expired_tokens(
        parts.store.clone(),
        clock,
        root.clone(),
    ));
    let recovery_task = tokio::spawn(recover_connections(connections.clone(), root.clone()));
    let deletion_task = tokio::spawn(finish_account_deletions(
        state.identity.clone(),
        root.clone(),
    ));
    let redemption_recovery_task = tokio::spawn(recover_redemptions(
        redemptions,
        donations,
        redemption_recovery_grace_ms(&config),
        root.clone(),
    ));
    let voucher_keys_task = tokio::spawn(watch_key_file(
        voucher_signer,
        Duration::from_secs(config.rewards.voucher_keys_reload_seconds),
        root.clone(),
    ));
    let gauges_task = tokio::spawn(crate::metrics_snapshot::refresh_gauges(
        presence.clone(),
        root.clone(),
    ));
    let outbox_task = crate::outbox::start(
        &config.outbox,
        parts.store.clone(),
        Arc::clone(state.identity.keys()),
        clock,
        root.clone(),
    )
    .map_err(|error| ServeError::Outbox(error.to_string()))?;
    // The CQL store rolls report cells up from facts; the embedded store
    // keeps them in each write's transaction and needs no pass.
    let report_roll_up_task =
        matches!(config.store, crate::config::StoreConfig::Scylla(_)).then(|| {
            tokio::spawn(
                crate::reports::roll_up_reports_periodically(
                    parts.store.clone(),
                    Duration::from_millis(config.reports.roll_up_interval_ms),
                    root.clone(),
                )
                .instrument(tracing::info_span!("report_roll_up")),
            )
        });
    let metrics_task = tokio::spawn(serve_metrics(metrics_listener, root.clone()));
    let http_token = root.clone();
    let mut app = gateway::router(state);
    let mut tls_tasks = Vec::new();
    if let (Some(acceptor), Some(settings)) = (&tls, &config.http.tls) {
        app = gateway::https::with_hsts(app, settings.hsts_max_age_seconds);
        tls_tasks.push(tokio::spawn(watch_certificate_files(
            Arc::clone(acceptor),
            root.clone(),
        )));
        if let Some(address) = settings.redirect_listen {
            let redirect_listener = crate::listener::bind_listener(address, 1024)?;
            let target = redirect_target(config.public_url.as_deref(), local_address.port());
            let redirects = serve_connections(
                redirect_listener,
                gateway::https::redirect_router(target),
                ConnectionLimits::from_config(&config.http),
                None,
                root.clone(),
            );
            tls_tasks.push(tokio::spawn(async move {
                if let Err(error) = redirects.await {
                    tracing::warn!(%error, "HTTPS redirect listener failed");
                }
            }));
        }
    }
    let limits = ConnectionLimits::from_config(&config.http);
    let mut http_task = if config.http.proxy_protocol {
        let proxied = ProxiedListener::new(listener, config.http.trusted_proxies.clone())?;
        tokio::spawn(serve_http(proxied, app, limits, tls, http_token))
    } else {
        tokio::spawn(serve_http(listener, app, limits, tls, http_token))
    };

    let http_result = tokio::select! {
        finished = &mut http_task => finished,
        () = root.cancelled() => {
            tracing::info!("shutting down: no new connections");
            // Sessions stop first: each closes its socket with a Close frame, which
            // lets the HTTP server's graceful shutdown finish.
            presence.shutdown().await;
            let grace = Duration::from_secs(config.http.shutdown_grace_seconds);
            match tokio::time::timeout(grace, &mut http_task).await {
                Ok(finished) => finished,
                Err(_) => {
                    tracing::warn!(grace_seconds = grace.as_secs(), "open connections cut after the grace period");
                    http_task.abort();
                    Ok(Ok(()))
                }
            }
        }
    };
    root.cancel();
    let socket_grace = Duration::from_secs(config.http.shutdown_grace_seconds);
    if !sockets.close_all(socket_grace).await {
        tracing::warn!(
            grace_seconds = socket_grace.as_secs(),
            "sockets still closing after the grace period"
        );
    }
    presence.shutdown().await;
    signal_task.abort();
    if let Err(error) = sweeper_task.await {
        tracing::warn!(%error, "token sweeper ended abnormally");
    }
    if let Err(error) = recovery_task.await {
        tracing::warn!(%error, "connection recovery ended abnormally");
    }
    if let Err(error) = deletion_task.await {
        tracing::warn!(%error, "account deletion sweep ended abnormally");
    }
    if let Err(error) = redemption_recovery_task.await {
        tracing::warn!(%error, "redemption recovery ended abnormally");
    }
    if let Some(task) = import_recovery_task
        && let Err(error) = task.await
    {
        tracing::warn!(%error, "import recovery ended abnormally");
    }
    if let Err(error) = voucher_keys_task.await {
        tracing::warn!(%error, "voucher key reloading ended abnormally");
    }
    if let Some(task) = outbox_task
        && let Err(error) = task.await
    {
        tracing::warn!(%error, "outbox sending ended abnormally");
    }
    if let Some(task) = report_roll_up_task
        && let Err(error) = task.await
    {
        tracing::warn!(%error, "report roll-up ended abnormally");
    }
    if let Err(error) = gauges_task.await {
        tracing::warn!(%error, "gauge refresh ended abnormally");
    }
    for task in tls_tasks {
        if let Err(error) = task.await {
            tracing::warn!(%error, "TLS certificate watch or redirect listener ended abnormally");
        }
    }
    match metrics_task.await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(%error, "metrics listener failed"),
        Err(error) => tracing::warn!(%error, "metrics listener ended abnormally"),
    }
    parts.store.close().await?;
    tracing::info!("stopped");
    match http_result {
        Ok(result) => result.map_err(ServeError::Http),
        Err(join_error) => Err(ServeError::Http(std::io::Error::other(join_error))),
    }
}

/// Serves the API on `listener` until `stop` is cancelled.
async fn serve_http<L>(
    listener: L,
    app: axum::Router,
    limits: ConnectionLimits,
    tls: Option<Arc<ReloadingAcceptor>>,
    stop: CancellationToken,
) -> std::io::Result<()>
where
    L: axum::serve::Listener<Io = tokio::net::TcpStream, Addr = SocketAddr>,
{
    // Pushes are small frames written back to back (`request_update` then
    // `connection_established`); with Nagle's algorithm the second waits for the
    // client's delayed ACK of the first, about 40 ms on Linux.
    let listener = listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY on an accepted socket");
        }
    });
    serve_connections(listener, app, limits, tls, stop).await
}

/// Where the redirect listener sends plain HTTP requests: the public URL's
/// host when one is configured, else the request's host on `https_port`.
fn redirect_target(public_url: Option<&str>, https_port: u16) -> gateway::https::RedirectTarget {
    let authority = public_url
        .and_then(|url| url.split_once("://"))
        .map(|(_scheme, rest)| rest.split('/').next().unwrap_or_default())
        .filter(|authority| !authority.is_empty());
    match authority {
        Some(authority) => gateway::https::RedirectTarget::Authority(authority.to_owned()),
        None => gateway::https::RedirectTarget::HostOnPort(https_port),
    }
}

/// Serves `GET /metrics` on `listener` until `stop` is cancelled.
async fn serve_metrics(listener: TcpListener, stop: CancellationToken) -> std::io::Result<()> {
    let router = gateway::metrics_endpoint::router(crate::metrics::install_recorder());
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
}

/// A cluster node must get the shared master key from the environment (a
/// generated one would differ per node); a generated admin token works but is
/// per node, so it is worth a warning.
fn check_cluster_secrets(
    config: &Config,
    environment: &EnvironmentVariables,
) -> Result<(), ClusterStartError> {
    if config.cluster.is_none() {
        return Ok(());
    }
    let master_key_env = &config.identity.master_key_env;
    if environment.get(master_key_env).is_none_or(str::is_empty) {
        return Err(ClusterStartError::MasterKey(master_key_env.clone()));
    }
    if config.rewards.voucher_keys_file.is_none() {
        tracing::warn!(
            "rewards.voucher_keys_file is not set: this node signs vouchers with keys of its own \
             data_dir, which the other nodes do not publish; name one shared file on every node"
        );
    }
    if environment.get(&config.admin.token_env).is_none() {
        tracing::warn!(
            variable = %config.admin.token_env,
            "no admin token in the environment: this node uses its own, unlike the others"
        );
    }
    Ok(())
}

/// The node's cluster link and, with a `[cluster]` section, its started cluster port.
async fn cluster_setup(
    config: &Config,
    environment: &EnvironmentVariables,
    public_base: &str,
) -> Result<ClusterSetup, ServeError> {
    let Some(cluster) = &config.cluster else {
        let alone = ClusterSetup::single_node(&config.node_name);
        alone.link.set_public_url(&config.node_name, public_base);
        return Ok(alone);
    };
    let region = cluster.region.as_str();
    let link = Arc::new(ClusterLink::new(
        &config.node_name,
        region,
        true,
        config.regions.clone(),
    ));
    link.set_public_url(&config.node_name, public_base);
    let cookie = environment
        .get(&cluster.cookie_env)
        .filter(|cookie| !cookie.is_empty())
        .ok_or_else(|| ClusterStartError::Cookie(cluster.cookie_env.clone()))?
        .to_owned();
    let link_tls = cluster
        .tls
        .as_ref()
        .map(crate::tls::ClusterLinkTls::load)
        .transpose()
        .map_err(ClusterStartError::Tls)?;
    let node_server =
        start_node_server(&config.node_name, cluster, cookie, link_tls.as_ref()).await?;
    let advertised = format!("{}:{}", cluster.advertised_host(), cluster.listen.port());
    tracing::info!(cluster_address = %advertised, region, seeds = cluster.seeds.len(), "cluster port open");
    let role = ClusterRole {
        me: NodeStatus {
            name: config.node_name.clone(),
            region: region.to_owned(),
            public_url: public_base.to_owned(),
            draining: false,
            sessions: 0,
            shards: 0,
        },
        heartbeat_interval: Duration::from_millis(cluster.heartbeat_interval_ms),
        peer_timeout: Duration::from_millis(cluster.peer_timeout_ms),
        seeds: cluster.seeds.clone(),
        advertised,
        listen: cluster.listen,
        node_server,
        link_tls,
    };
    Ok(ClusterSetup {
        link,
        role: Some(role),
    })
}

/// A clustered node hands its shards to the others, gives their new owners
/// `handoff` to receive the officers' presence, then ends its sessions: their
/// sockets close with 4010 and clients reconnect through `/v1/route`.
async fn drain(presence: &PresenceRuntime, sockets: &SocketTasks, handoff: Duration) {
    tracing::info!("draining: handing shards to the other nodes");
    presence.drain().await;
    tokio::time::sleep(handoff).await;
    tracing::info!("draining: sending clients to other nodes");
    presence.shutdown().await;
    if !sockets.wait_until_closed(DRAIN_CLOSE_WAIT).await {
        tracing::info!("sockets without a session are closed with the shutdown");
    }
}

/// Deletes expired tokens every hour until `stop` is cancelled.
async fn sweep_expired_tokens(store: Arc<dyn Store>, clock: Clock, stop: CancellationToken) {
    every(TOKEN_SWEEP_INTERVAL, stop, || async {
        match store.purge_expired_tokens(clock.now_ms()).await {
            Ok(removed) => tracing::debug!(removed, "expired tokens deleted"),
            Err(error) => tracing::warn!(%error, "expired token sweep failed"),
        }
    })
    .await;
}

/// Runs `pass` at once and then every `period` until `stop` is cancelled; a
/// pass that overruns delays the next one rather than queueing more.
async fn every<Pass, Run>(period: Duration, stop: CancellationToken, mut pass: Pass)
where
    Pass: FnMut() -> Run,
    Run: std::future::Future<Output = ()>,
{
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = interval.tick() => {}
        }
        pass().await;
    }
}

/// Finishes account deletions a stopped node left under way: every minute,
/// until `stop` is cancelled.
async fn finish_account_deletions(identity: Arc<IdentityService>, stop: CancellationToken) {
    every(CONNECTION_RECOVERY_INTERVAL, stop, || async {
        match identity.finish_account_deletions().await {
            Ok(0) => {}
            Ok(finished) => tracing::info!(finished, "interrupted account deletions finished"),
            Err(error) => tracing::warn!(%error, "account deletion sweep failed; retried later"),
        }
    })
    .await;
}

/// Finishes connection records left incomplete (a crash or a store failure
/// between the record and its credits): once at start, then every minute, until
/// `stop` is cancelled.
async fn recover_connections(connections: Connections, stop: CancellationToken) {
    every(CONNECTION_RECOVERY_INTERVAL, stop, || async {
        match connections.recover().await {
            Ok(pass) if pass.finished == 0 && pass.failed == 0 => {}
            Ok(pass) => tracing::info!(
                finished = pass.finished,
                failed = pass.failed,
                "incomplete connections recovered"
            ),
            Err(error) => tracing::warn!(%error, "connection recovery failed; retried later"),
        }
    })
    .await;
}

/// How old an unfinished redemption (or voucher release) must be before the
/// recovery pass takes it over: `rewards.recovery_grace_seconds`, else twice
/// the HTTP time limit and a minute more, so the request that started it has
/// been cut off and its store calls have ended.
fn redemption_recovery_grace_ms(config: &Config) -> i64 {
    if let Some(seconds) = config.rewards.recovery_grace_seconds {
        return i64::try_from(seconds).unwrap_or(i64::MAX / 1_000) * 1_000;
    }
    let request_limit_ms = i64::try_from(config.http.request_timeout_seconds)
        .unwrap_or(i64::MAX / 4_000)
        .saturating_mul(1_000);
    request_limit_ms.saturating_mul(2).saturating_add(60_000)
}

/// Finishes redemptions, voucher releases and donations left unfinished (a
/// crash or a store failure mid-way) once they are `grace_ms` old, and expires
/// vouchers whose lifetime ended: at start, then every minute, until `stop` is
/// cancelled.
async fn recover_redemptions(
    redemptions: crate::rewards::Redemptions,
    donations: crate::rewards::Donations,
    grace_ms: i64,
    stop: CancellationToken,
) {
    every(CONNECTION_RECOVERY_INTERVAL, stop, || async {
        match redemptions.recover(grace_ms).await {
            Ok(recovered) if recovered == crate::rewards::Recovered::default() => {}
            Ok(recovered) => tracing::info!(
                redemptions = recovered.redemptions,
                releases = recovered.releases,
                expired = recovered.expired,
                "unfinished redemptions and releases finished, unused vouchers expired"
            ),
            Err(error) => tracing::warn!(%error, "redemption recovery failed; retried later"),
        }
        match donations.recover(grace_ms).await {
            Ok(0) => {}
            Ok(finished) => tracing::info!(finished, "unfinished donations finished"),
            Err(error) => tracing::warn!(%error, "donation recovery failed; retried later"),
        }
    })
    .await;
}

/// The pieces both `serve` and the CLI import need.
struct Parts {
    store: Arc<dyn Store>,
    keys: Arc<ServerKeys>,
    phone_regions: PhoneRegions,
}

/// How the store is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoreOpening {
    /// Serving: a CQL store connects in the background (calls fail as
    /// unavailable until it has).
    Background,
    /// One-shot commands: wait until the store answers.
    Now,
}

async fn open_parts(
    config: &Config,
    environment: &EnvironmentVariables,
    opening: StoreOpening,
) -> Result<Parts, ServeError> {
    crate::data_dir::prepare(&config.data_dir).map_err(|source| ServeError::DataDir {
        path: config.data_dir.display().to_string(),
        source,
    })?;
    let store = match opening {
        StoreOpening::Background => {
            store::open(
                &config.store,
                &config.data_dir,
                environment,
                config.reports.upkeep(),
            )
            .await?
        }
        StoreOpening::Now => store::open_now_for(config, environment).await?,
    };
    let mut keys = ServerKeys::load(
        environment,
        &config.identity.master_key_env,
        config.identity.master_key_file.as_deref(),
        &config.data_dir,
    )?;
    if let Some(previous) = ServerKeys::load_previous_master(
        environment,
        &config.identity.previous_master_key_env,
        config.identity.previous_master_key_file.as_deref(),
    )? {
        keys = keys.with_previous(&previous);
    }
    let keys = Arc::new(keys);
    let phone_regions = crate::identity::phone_regions(&config.identity);
    let warming = phone_regions.clone();
    let started = std::time::Instant::now();
    // Paid once here rather than by the first people to sign in.
    if tokio::task::spawn_blocking(move || warming.warm_up())
        .await
        .is_ok()
    {
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis(),
            "phone number patterns compiled"
        );
    }
    Ok(Parts {
        store,
        keys,
        phone_regions,
    })
}

fn load_admin_token(
    config: &Config,
    environment: &EnvironmentVariables,
) -> Result<AdminToken, ServeError> {
    if let Some(token) = environment.get(&config.admin.token_env) {
        return Ok(AdminToken::new(token));
    }
    let path = config.data_dir.join(ADMIN_TOKEN_FILE);
    let file_error = |source| ServeError::AdminToken {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(token) => {
            tracing::info!(path = %path.display(), "admin token read from file");
            Ok(AdminToken::new(&token))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let token = crate::identity::tokens::generate(crate::store::TokenKind::Access);
            let token = format!("hbadmin_{}", &token[4..]);
            write_secret_file(&path, &token).map_err(file_error)?;
            tracing::info!(path = %path.display(), "generated admin token");
            Ok(AdminToken::new(&token))
        }
        Err(error) => Err(file_error(error)),
    }
}

/// While a previous master key is loaded, moves every record to the current
/// one in the background, trying again a minute later if the store fails.
async fn move_to_current_key(store: Arc<dyn Store>, keys: Arc<ServerKeys>) {
    loop {
        match crate::identity::rekey::rekey_all(store.as_ref(), &keys).await {
            Ok(report) => {
                tracing::info!(?report, "records moved to the current master key");
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "moving records to the current master key failed; retrying");
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
        }
    }
}

/// `heyblue keys rotate-master`: moves every record sealed or hashed under
/// the previous master key to the current one, and reports what it did.
pub async fn rotate_master_key(
    config: &Config,
    environment: &EnvironmentVariables,
) -> Result<String, ServeError> {
    let parts = open_parts(config, environment, StoreOpening::Now).await?;
    if !parts.keys.rotating() {
        parts.store.close().await?;
        return Err(ServeError::NoPreviousMasterKey);
    }
    let report = crate::identity::rekey::rekey_all(parts.store.as_ref(), &parts.keys).await;
    parts.store.close().await?;
    let report = report?;
    Ok(format!(
        "accounts: {} moved, {} already current, {} left; roster: {} moved, {} already \
         current, {} left; outbox endpoints: {} moved, {} left",
        report.accounts_moved,
        report.accounts_current,
        report.accounts_left,
        report.roster_moved,
        report.roster_current,
        report.roster_left,
        report.endpoints_moved,
        report.endpoints_left,
    ))
}

/// `heyblue migrate`: applies the store schema and reports what was done.
pub async fn migrate(
    config: &Config,
    environment: &EnvironmentVariables,
) -> Result<String, ServeError> {
    crate::data_dir::prepare(&config.data_dir).map_err(|source| ServeError::DataDir {
        path: config.data_dir.display().to_string(),
        source,
    })?;
    Ok(store::migrate(&config.store, &config.data_dir, environment).await?)
}

/// Applies the import runs an earlier process committed but did not finish:
/// once before serving (so with the embedded store they are whole from the
/// first request), then, if the store could not be read yet (a CQL cluster
/// still connecting), again every [`IMPORT_RECOVERY_RETRY`] until it can.
async fn recover_imports(context: ApplyContext, stop: CancellationToken) -> Option<JoinHandle<()>> {
    match crate::import::recover(&context).await {
        Ok(finished) => {
            if finished > 0 {
                tracing::info!(finished, "interrupted imports finished");
            }
            None
        }
        Err(error) => {
            tracing::warn!(%error, "import recovery failed; retrying");
            let retries = async move {
                loop {
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(IMPORT_RECOVERY_RETRY) => {}
                    }
                    match crate::import::recover(&context).await {
                        Ok(finished) => {
                            tracing::info!(finished, "interrupted imports finished");
                            return;
                        }
                        Err(error) => tracing::warn!(%error, "import recovery failed; retrying"),
                    }
                }
            };
            Some(tokio::spawn(retries.in_current_span()))
        }
    }
}

/// What `heyblue import` asks.
#[derive(Debug, Clone)]
pub struct ImportFileOptions {
    /// What the file holds.
    pub kind: ImportKind,
    /// How it is written; from the extension when `None`.
    pub format: Option<ImportFormat>,
    /// Import the valid rows even when others are invalid.
    pub skip_invalid: bool,
    /// Validate and report only.
    pub dry_run: bool,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// `heyblue import KIND FILE`: validates and imports a file straight into the
/// store, streaming it (the embedded store must not be open in a running
/// server: use `POST /v1/admin/import/{kind}` then). Interrupted runs of
/// earlier processes are finished first.
pub async fn import_file(
    config: &Config,
    environment: &EnvironmentVariables,
    path: &Path,
    options: ImportFileOptions,
) -> Result<ImportReport, ImportFileError> {
    let read_error = |source| ImportFileError::Read {
        path: path.display().to_string(),
        source,
    };
    let format = options
        .format
        .or_else(|| ImportFormat::from_extension(path))
        .ok_or_else(|| ImportFileError::UnknownFormat {
            path: path.display().to_string(),
        })?;
    let file = std::fs::File::open(path).map_err(read_error)?;
    let file_bytes = file.metadata().map_err(read_error)?.len();
    let parts = open_parts(config, environment, StoreOpening::Now).await?;
    let sms = sms::from_config(&config.sms, environment)?;
    let clock = Clock::system();
    let identity = Arc::new(IdentityService::new(
        parts.store.clone(),
        Arc::clone(&parts.keys),
        sms,
        clock,
        config.identity.clone(),
    ));
    let context = ApplyContext {
        store: parts.store.clone(),
        keys: parts.keys,
        phone_regions: parts.phone_regions.clone(),
        clock,
        departures: Arc::new(gateway::RosterDepartures {
            identity,
            presence: None,
        }),
    };
    let recovered = crate::import::recover(&context)
        .await
        .map_err(ServeError::Store)?;
    if recovered > 0 {
        tracing::info!(recovered, "interrupted imports finished");
    }
    let bytes_read = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let bar = options
        .progress
        .then(|| crate::import::progress_bar(file_bytes, Arc::clone(&bytes_read)));
    let request = ImportRequest {
        kind: options.kind,
        format,
        skip_invalid: options.skip_invalid,
        dry_run: options.dry_run,
        actor: "cli".to_owned(),
    };
    let report = run_import(
        &context,
        request,
        Box::new(std::io::BufReader::with_capacity(1 << 16, file)),
        bytes_read,
    )
    .await;
    if let Some(bar) = bar {
        bar.finish();
    }
    let report = report.map_err(ServeError::Store)?;
    parts.store.close().await.map_err(ServeError::Store)?;
    Ok(report)
}

/// Why a file could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportFileError {
    /// The CSV file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// Neither `--format` nor the file's extension says CSV or NDJSON.
    #[error("cannot tell the format of {path}: name it .csv or .ndjson, or pass --format")]
    UnknownFormat {
        /// The file.
        path: String,
    },
    /// The store or keys cannot be opened.
    #[error(transparent)]
    Setup(#[from] ServeError),
    /// The SMS adapter cannot be set up.
    #[error(transparent)]
    Sms(#[from] SmsSetupError),
}
