//! Typed configuration. Read once at start from an optional TOML file, then
//! `HEYBLUE_*` environment overrides (module `overrides`), then validated into an
//! immutable [`Config`]. Every option name carries its unit.

mod cadence;
mod cluster;
mod layers;
mod metrics;
mod oidc;
mod origins;
mod outbox;
mod overrides;
mod rewards;
mod scylla;
mod tls;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Longest refresh token lifetime accepted (`identity.refresh_token_ttl_days`):
/// the CQL store keeps a revocation a month longer than this, so a revoked
/// sign-in cannot outlive its revocation.
pub(crate) const MAX_REFRESH_TOKEN_TTL_DAYS: u64 = 365;

pub use cadence::CadenceConfig;
pub use cluster::{ClusterConfig, ClusterTlsConfig, RegionConfig};
pub use metrics::MetricsConfig;
pub use oidc::OidcProviderConfig;
pub use outbox::OutboxConfig;
pub use overrides::EnvironmentVariables;
pub use rewards::RewardsConfig;
pub use scylla::{ConsistencyLevel, ReplicationConfig, ScyllaConfig, ScyllaTlsConfig};
pub use tls::TlsConfig;

/// Everything the server can be told, with the defaults of `config/heyblue.example.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP and WebSocket listener binds to.
    pub listen: SocketAddr,
    /// Directory of the embedded store, the generated keys and the admin token.
    pub data_dir: PathBuf,
    /// Name of this node, reported by `/v1/route` and the metrics.
    pub node_name: String,
    /// Base URL clients use to reach this node (`ws://` or `wss://`, no path);
    /// `/v1/route` answers `<public_url>/v1/ws`. Defaults to `ws://<listen>`.
    pub public_url: Option<String>,
    /// Storage backend.
    pub store: StoreConfig,
    /// How one-time codes reach the phone.
    pub sms: SmsConfig,
    /// Admin API access.
    pub admin: AdminConfig,
    /// Sign-in rules: code and token lifetimes, rate limits.
    pub identity: IdentityConfig,
    /// HTTP limits.
    pub http: HttpConfig,
    /// Presence rules: cells, availability windows, nearest and nearby.
    pub presence: PresenceConfig,
    /// Connection requests, anti-farming rules and points.
    pub connections: ConnectionsConfig,
    /// Donated points' worth and the voucher signing keys.
    pub rewards: RewardsConfig,
    /// Log output.
    pub log: LogConfig,
    /// The Prometheus endpoint's own listener.
    pub metrics: MetricsConfig,
    /// How the outbox sends webhooks and notifications.
    pub outbox: OutboxConfig,
    /// How this node joins a cluster; absent, it runs alone.
    pub cluster: Option<ClusterConfig>,
    /// Regions by ZIP prefix, for pinning shards to nodes of a region.
    pub regions: Vec<RegionConfig>,
    /// Report aggregates.
    pub reports: ReportsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            node_name: "local".to_owned(),
            public_url: None,
            store: StoreConfig::Embedded,
            sms: SmsConfig::Log,
            admin: AdminConfig::default(),
            identity: IdentityConfig::default(),
            http: HttpConfig::default(),
            presence: PresenceConfig::default(),
            connections: ConnectionsConfig::default(),
            rewards: RewardsConfig::default(),
            log: LogConfig::default(),
            metrics: MetricsConfig::default(),
            outbox: OutboxConfig::default(),
            cluster: None,
            regions: Vec::new(),
            reports: ReportsConfig::default(),
        }
    }
}

/// Which backend keeps accounts, tokens, profiles and the rest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum StoreConfig {
    /// A redb file under `data_dir`: single node, nothing to install.
    Embedded,
    /// A ScyllaDB (or other CQL) cluster, for several nodes and production.
    Scylla(Box<ScyllaConfig>),
}

/// The SMS adapter that delivers one-time codes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SmsConfig {
    /// Writes the code to the server log at INFO (development only).
    Log,
    /// Appends one JSON line `{"phone","code","sent_at"}` per message (tests, demos).
    File {
        /// File the lines are appended to; created if missing.
        path: PathBuf,
    },
    /// POSTs JSON to a provider, signed with HMAC-SHA256 in `X-Heyblue-Signature`.
    Webhook {
        /// Provider endpoint.
        url: String,
        /// Name of the environment variable holding the signing secret.
        secret_env: String,
        /// Give up on the provider after this long.
        #[serde(default = "default_webhook_timeout_seconds")]
        timeout_seconds: u64,
    },
}

fn default_webhook_timeout_seconds() -> u64 {
    10
}

/// Report counts below it are withheld unless configured otherwise.
const DEFAULT_REPORT_CELL_COUNT: u32 = 11;
/// The smallest threshold of withheld report counts configuration may set.
const LEAST_REPORT_CELL_COUNT: u32 = 5;

/// Report aggregates (docs/reports.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportsConfig {
    /// Whether the store adds each record's facts to the report aggregates
    /// as it writes the record (true by default). When false, writes skip
    /// that work and reports are stale until `heyblue reports rebuild` runs.
    pub maintain_aggregates: bool,
    /// How often the server rolls up report cells of days whose facts
    /// changed (CQL store only: the embedded store keeps its cells as facts
    /// arrive). Reads roll up the days they need themselves, so this bounds
    /// how much work a read finds left, not how stale a report can be.
    pub roll_up_interval_ms: u64,
}

/// Default of `reports.roll_up_interval_ms`.
const DEFAULT_ROLL_UP_INTERVAL_MS: u64 = 10_000;
/// Bounds of `reports.roll_up_interval_ms`: from a tenth of a second to an hour.
const ROLL_UP_INTERVAL_MS_RANGE: std::ops::RangeInclusive<u64> = 100..=3_600_000;

impl Default for ReportsConfig {
    fn default() -> Self {
        Self {
            maintain_aggregates: true,
            roll_up_interval_ms: DEFAULT_ROLL_UP_INTERVAL_MS,
        }
    }
}

impl ReportsConfig {
    /// What the store does with the facts of the records it writes.
    pub(crate) fn upkeep(&self) -> crate::store::ReportUpkeep {
        if self.maintain_aggregates {
            crate::store::ReportUpkeep::Maintain
        } else {
            crate::store::ReportUpkeep::Skip
        }
    }
}

/// Admin API access.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Environment variable holding the admin bearer token; when unset or empty a
    /// token is generated into `data_dir/admin.token` (mode 0600) on first start.
    pub token_env: String,
    /// Largest import file accepted by `POST /v1/admin/import/{kind}`; a larger
    /// body is refused with 413 while it streams in (bigger files: the
    /// `heyblue import` command, which has no limit).
    pub max_import_bytes: u64,
    /// Environment variable holding the read-only analyst key, which reads
    /// reports (`GET /v1/admin/reports/...`) and nothing else; no analyst
    /// key when it is unset or empty.
    pub analyst_token_env: String,
    /// Report counts below this are withheld (published as `null` with a
    /// flag, see docs/reports.md); never below 5.
    pub min_report_cell_count: u32,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            token_env: "HEYBLUE_ADMIN_TOKEN".to_owned(),
            max_import_bytes: 256 * 1024 * 1024,
            analyst_token_env: "HEYBLUE_ANALYST_TOKEN".to_owned(),
            min_report_cell_count: DEFAULT_REPORT_CELL_COUNT,
        }
    }
}

/// Sign-in rules.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    /// Region used to read phone numbers written without a `+country` prefix.
    pub default_phone_region: String,
    /// Lifetime of an access token.
    pub access_token_ttl_seconds: u64,
    /// Lifetime of a refresh token family since its last use.
    pub refresh_token_ttl_days: u64,
    /// Lifetime of a one-time code.
    pub otp_ttl_seconds: u64,
    /// Wrong codes after which the challenge is void.
    pub otp_max_attempts: u32,
    /// Minimum spacing of code requests for one phone.
    pub otp_min_interval_seconds: u64,
    /// Code requests allowed per phone per hour.
    pub otp_max_per_phone_per_hour: u32,
    /// Code requests allowed per client address (IPv4 address or IPv6 /64) per hour.
    pub otp_max_per_ip_per_hour: u32,
    /// Wrong codes accepted per phone per hour, across its codes; further
    /// verifies for the phone are refused (429) until the hour has passed.
    pub otp_max_failures_per_phone_per_hour: u32,
    /// Wrong codes accepted per client address per hour, across phones.
    pub otp_max_failures_per_ip_per_hour: u32,
    /// Regions (two-letter codes) codes are texted to, by the region of the
    /// number itself: `US` refuses Canadian and Caribbean `+1` numbers.
    pub sms_allowed_regions: Vec<String>,
    /// Codes texted per hour by this node, to everyone.
    pub sms_max_per_hour: u32,
    /// Codes texted per hour by this node to one number prefix (the first six
    /// national digits: area code and exchange of a NANP number).
    pub sms_max_per_prefix_per_hour: u32,
    /// Environment variable holding the 32-byte master key (64 hex digits) that
    /// encrypts and hashes phone numbers; when unset a key is generated into
    /// `data_dir/master.key` (mode 0600). Every node of a cluster needs the same key.
    pub master_key_env: String,
    /// A file holding the master key (64 hex digits), read when
    /// `master_key_env`'s variable is unset, instead of `data_dir/master.key`:
    /// keeps the key off the data directory's disk and out of its backups.
    /// It must exist (a key is never generated there).
    pub master_key_file: Option<PathBuf>,
    /// Environment variable holding the master key before the current one,
    /// set only while the key is rotated: records sealed or hashed under it
    /// are still read, and moved to the current key (docs/operations.md).
    pub previous_master_key_env: String,
    /// A file holding the previous master key, read when
    /// `previous_master_key_env`'s variable is unset. It must exist.
    pub previous_master_key_file: Option<PathBuf>,
    /// OpenID Connect providers people may sign in with (`[[identity.oidc]]`);
    /// none by default: phone codes only.
    pub oidc: Vec<OidcProviderConfig>,
    /// OIDC sign-in steps (`start` and `callback` together) allowed per client
    /// address (IPv4 address or IPv6 /64) per hour.
    pub oidc_max_per_ip_per_hour: u32,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            default_phone_region: "US".to_owned(),
            access_token_ttl_seconds: 3600,
            refresh_token_ttl_days: 30,
            otp_ttl_seconds: 300,
            otp_max_attempts: 5,
            otp_min_interval_seconds: 30,
            otp_max_per_phone_per_hour: 5,
            otp_max_per_ip_per_hour: 30,
            otp_max_failures_per_phone_per_hour: 10,
            otp_max_failures_per_ip_per_hour: 30,
            sms_allowed_regions: vec!["US".to_owned()],
            sms_max_per_hour: 1000,
            sms_max_per_prefix_per_hour: 20,
            master_key_env: "HEYBLUE_MASTER_KEY".to_owned(),
            master_key_file: None,
            previous_master_key_env: "HEYBLUE_PREVIOUS_MASTER_KEY".to_owned(),
            previous_master_key_file: None,
            oidc: Vec::new(),
            oidc_max_per_ip_per_hour: 60,
        }
    }
}

/// HTTP limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Largest accepted request body; larger ones get 413.
    pub max_body_bytes: usize,
    /// A request that takes longer is answered 503.
    pub request_timeout_seconds: u64,
    /// Time given to open connections to finish after a shutdown signal.
    pub shutdown_grace_seconds: u64,
    /// Connections the kernel queues before they are accepted (the `listen`
    /// backlog; Linux caps it at `net.core.somaxconn`). A burst of reconnects
    /// beyond it has SYNs dropped and retried a second later.
    pub listen_backlog: u32,
    /// Web origins (`https://host[:port]`) whose pages may open a WebSocket. A
    /// request without `Origin` (native apps) is always let through; one with an
    /// origin not listed here is refused, so another site's page cannot use a
    /// visitor's browser to reach the API.
    pub allowed_origins: Vec<String>,
    /// Networks (CIDRs) of reverse proxies in front of the server. Only when the
    /// TCP peer is in one are `Forwarded` and `X-Forwarded-For` read, and the
    /// client is the rightmost address in them that is not itself a trusted
    /// proxy. Empty: the TCP peer is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// WebSocket upgrades without `Authorization` still waiting for their `hello`
    /// that one client address (an IPv4 address or an IPv6 /64) may hold at once;
    /// more are refused with 429 before upgrading.
    pub max_pending_sockets_per_ip: u32,
    /// A client must send each request head (the request line and headers)
    /// within this long: from accepting the connection for its first request,
    /// and from the previous answer for the next one on a kept-alive
    /// connection. Slower, silent or idle connections are closed, so a client
    /// sending headers a byte at a time (slowloris) cannot hold a socket. An
    /// upgraded WebSocket is not affected: it has its own heartbeat.
    pub header_read_timeout_seconds: u64,
    /// Connections one client address (an IPv4 address or an IPv6 /64) may
    /// hold open at once, WebSockets included; more are closed as soon as
    /// they are accepted. The address is the TCP peer's, or the PROXY
    /// protocol header's with `proxy_protocol`. Peers in `trusted_proxies` are
    /// not limited without `proxy_protocol` (a reverse proxy carries many
    /// clients: cap them there). Generous by default, since mobile carriers
    /// put many phones behind one address.
    pub max_connections_per_ip: u32,
    /// Every connection to `listen` starts with a PROXY protocol v2 header
    /// (a TCP load balancer's), whose source address is the client. Only
    /// peers in `trusted_proxies` may connect then, so that list must not be
    /// empty; connections without a valid header are closed.
    pub proxy_protocol: bool,
    /// HTTPS and WSS on `listen` (`[http.tls]`); plain HTTP without it (behind
    /// a proxy that terminates TLS, or on a trusted network).
    pub tls: Option<TlsConfig>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            request_timeout_seconds: 30,
            shutdown_grace_seconds: 10,
            listen_backlog: 4096,
            allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            max_pending_sockets_per_ip: 64,
            header_read_timeout_seconds: 10,
            max_connections_per_ip: 1_000,
            proxy_protocol: false,
            tls: None,
        }
    }
}

/// Presence rules (DESIGN section 3).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PresenceConfig {
    /// H3 resolution of cell actors (8: cells of about 0.7 km²).
    pub cell_resolution: u8,
    /// Length of the window `go_available` opens or renews when it names no minutes.
    pub availability_window_minutes: u32,
    /// How long an available officer may be without a socket before the window ends.
    pub disconnect_grace_seconds: u64,
    /// Officers farther than this are never a citizen's nearest.
    pub nearest_max_radius_meters: f64,
    /// A new officer replaces the current nearest only if closer by more than this.
    pub nearest_hysteresis_meters: f64,
    /// The `nearby` alert fires when the nearest officer comes this close.
    pub nearby_threshold_meters: f64,
    /// The alert re-arms once the nearest is beyond threshold plus this.
    pub nearby_hysteresis_meters: f64,
    /// A cell with nobody in it stops after this long.
    pub cell_idle_seconds: u64,
    /// How often stale presence (sessions that died without cleaning up) is swept.
    pub sweep_interval_seconds: u64,
    /// A citizen's fix that implies a faster move than this since the last
    /// accepted one is refused (`implausible_location`): spoofed jumps are not
    /// used for lookups.
    pub max_plausible_speed_mps: f64,
    /// Locations are handled at most about once per this interval per socket
    /// (extra ones replace the pending one); told to clients in `welcome`.
    pub location_min_interval_ms: u64,
    /// Control messages (everything but `location`) one socket may send per
    /// minute before they are refused with `rate_limited`.
    pub control_messages_per_minute: u32,
    /// Sockets one account may open per minute, on this node, across all its
    /// sign-ins: more are refused (429 with `Retry-After` on an upgrade with
    /// `Authorization`, close 4013 after `hello`).
    pub sockets_per_account_per_minute: u32,
    /// How often phones are asked to report their position (`cadence` messages).
    pub cadence: CadenceConfig,
}

impl Default for PresenceConfig {
    fn default() -> Self {
        Self {
            cell_resolution: 8,
            availability_window_minutes: 15,
            disconnect_grace_seconds: 30,
            nearest_max_radius_meters: 5_000.0,
            nearest_hysteresis_meters: 25.0,
            nearby_threshold_meters: 250.0,
            nearby_hysteresis_meters: 50.0,
            cell_idle_seconds: 60,
            sweep_interval_seconds: 30,
            max_plausible_speed_mps: 70.0,
            location_min_interval_ms: crate::proto::limits::LOCATION_MIN_INTERVAL_MS,
            control_messages_per_minute: crate::proto::limits::CONTROL_MESSAGES_PER_MINUTE,
            sockets_per_account_per_minute: crate::proto::limits::SOCKETS_PER_ACCOUNT_PER_MINUTE,
            cadence: CadenceConfig::default(),
        }
    }
}

/// Connection requests, the anti-farming rules and points (DESIGN section 3).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionsConfig {
    /// A citizen may ask only an officer whose shown position is this close to
    /// the citizen's last position.
    pub request_radius_meters: f64,
    /// A request nobody answers expires after this long.
    pub request_timeout_seconds: u64,
    /// Requests one officer may hold at once; more get `officer_busy`.
    pub max_pending_requests_per_officer: u32,
    /// A pair of people is rewarded at most once in this many hours.
    pub pair_cooldown_hours: u64,
    /// A person is rewarded for at most this many connections per UTC day.
    pub daily_rewarded_connections: u32,
    /// Points credited to the citizen of a rewarded connection.
    pub citizen_points_per_connection: i64,
    /// Points credited to the officer of a rewarded connection.
    pub officer_points_per_connection: i64,
    /// Positions older than this do not count for the co-location check at accept.
    pub position_max_age_seconds: u64,
    /// After a request to an officer is cancelled, declined or expires, the same
    /// citizen may not ask that officer again for this long (`request_cooldown`).
    pub request_cooldown_seconds: u64,
    /// Requests one citizen may make in any hour (`request_limit`).
    pub max_requests_per_hour: u32,
    /// A virtual request (`request_connection{mode: "virtual"}`) may name an
    /// officer whose shown position is in the citizen's 3-digit ZIP area or
    /// this close to the citizen's last position.
    pub virtual_radius_meters: f64,
    /// Points credited to each person of a rewarded virtual connection.
    pub virtual_points_per_connection: i64,
    /// A virtual connection is rewarded only while the person has fewer than
    /// this many rewarded connections (of either mode) that UTC day.
    pub virtual_daily_rewarded_connections: u32,
    /// A pair is rewarded for a virtual connection only if neither mode
    /// rewarded it within this many hours.
    pub virtual_pair_cooldown_hours: u64,
    /// A virtual connection's chat ends this long after it was established,
    /// unless either side ends it first.
    pub virtual_connection_max_minutes: u64,
    /// `chat` messages one account may send per minute (`chat_limit` beyond).
    pub chat_messages_per_minute: u32,
}

impl Default for ConnectionsConfig {
    fn default() -> Self {
        Self {
            request_radius_meters: 500.0,
            request_timeout_seconds: 60,
            max_pending_requests_per_officer: 3,
            pair_cooldown_hours: 24,
            daily_rewarded_connections: 5,
            citizen_points_per_connection: 10,
            officer_points_per_connection: 10,
            position_max_age_seconds: 60,
            request_cooldown_seconds: 600,
            max_requests_per_hour: 10,
            virtual_radius_meters: 25_000.0,
            virtual_points_per_connection: 5,
            virtual_daily_rewarded_connections: 3,
            virtual_pair_cooldown_hours: 24,
            virtual_connection_max_minutes: 30,
            chat_messages_per_minute: 20,
        }
    }
}

impl ConnectionsConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if !(1.0..=50_000.0).contains(&self.request_radius_meters) {
            return Err(invalid(
                "connections.request_radius_meters",
                "must be between 1 and 50000",
            ));
        }
        let positive = [
            (
                "connections.request_timeout_seconds",
                self.request_timeout_seconds,
            ),
            (
                "connections.max_pending_requests_per_officer",
                u64::from(self.max_pending_requests_per_officer),
            ),
            (
                "connections.position_max_age_seconds",
                self.position_max_age_seconds,
            ),
            (
                "connections.max_requests_per_hour",
                u64::from(self.max_requests_per_hour),
            ),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(invalid(key, "must be greater than 0"));
        }
        let points = [
            (
                "connections.citizen_points_per_connection",
                self.citizen_points_per_connection,
            ),
            (
                "connections.officer_points_per_connection",
                self.officer_points_per_connection,
            ),
        ];
        if let Some((key, _)) = points
            .iter()
            .find(|(_, value)| !(0..=1_000_000).contains(value))
        {
            return Err(invalid(key, "must be 0 to 1000000"));
        }
        if !(1.0..=500_000.0).contains(&self.virtual_radius_meters) {
            return Err(invalid(
                "connections.virtual_radius_meters",
                "must be between 1 and 500000",
            ));
        }
        if !(0..=1_000_000).contains(&self.virtual_points_per_connection) {
            return Err(invalid(
                "connections.virtual_points_per_connection",
                "must be 0 to 1000000",
            ));
        }
        if self.virtual_pair_cooldown_hours > 24 * 366 {
            return Err(invalid(
                "connections.virtual_pair_cooldown_hours",
                "must be at most 8784 (a year)",
            ));
        }
        if !(1..=24 * 60).contains(&self.virtual_connection_max_minutes) {
            return Err(invalid(
                "connections.virtual_connection_max_minutes",
                "must be 1 to 1440",
            ));
        }
        if !(1..=600).contains(&self.chat_messages_per_minute) {
            return Err(invalid(
                "connections.chat_messages_per_minute",
                "must be 1 to 600",
            ));
        }
        if self.pair_cooldown_hours > 24 * 366 {
            return Err(invalid(
                "connections.pair_cooldown_hours",
                "must be at most 8784 (a year)",
            ));
        }
        Ok(())
    }
}

/// Log output.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` for people, `json` for log collectors.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// A configuration that cannot be used, with the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// File that was asked for.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax {
        /// File at fault.
        path: PathBuf,
        /// Parser message, folded onto one line.
        message: String,
    },
    /// A key is unknown, has the wrong type or an invalid value.
    #[error("config key `{key}`: {problem}")]
    Key {
        /// Dotted path of the key, e.g. `identity.otp_ttl_seconds`.
        key: String,
        /// What is wrong with it.
        problem: String,
    },
}

impl Config {
    /// Reads `path` (when given), applies the `HEYBLUE_*` overrides found in
    /// `environment`, and validates the result.
    pub fn load(
        path: Option<&Path>,
        environment: &EnvironmentVariables,
    ) -> Result<Self, ConfigError> {
        Self::load_layers(path, environment)
    }

    /// Reads `paths` in order, each one's keys replacing the earlier ones'
    /// (tables merge key by key, arrays are replaced whole), then applies the
    /// `HEYBLUE_*` overrides and validates the result.
    pub fn load_layers<'a>(
        paths: impl IntoIterator<Item = &'a Path>,
        environment: &EnvironmentVariables,
    ) -> Result<Self, ConfigError> {
        let mut table = toml::Table::new();
        for path in paths {
            layers::merge(&mut table, read_table(path)?);
        }
        overrides::apply(&mut table, environment)?;
        Self::from_table(table)
    }

    /// Parses a TOML document (no environment), as tests and examples do.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let table: toml::Table =
            text.parse()
                .map_err(|error: toml::de::Error| ConfigError::Syntax {
                    path: PathBuf::from("<inline>"),
                    message: one_line(&error.to_string()),
                })?;
        Self::from_table(table)
    }

    fn from_table(table: toml::Table) -> Result<Self, ConfigError> {
        let config: Config =
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|error| {
                ConfigError::Key {
                    key: error.path().to_string(),
                    problem: one_line(&error.inner().to_string()),
                }
            })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            (
                "identity.access_token_ttl_seconds",
                self.identity.access_token_ttl_seconds,
            ),
            (
                "identity.refresh_token_ttl_days",
                self.identity.refresh_token_ttl_days,
            ),
            ("identity.otp_ttl_seconds", self.identity.otp_ttl_seconds),
            (
                "identity.otp_max_attempts",
                u64::from(self.identity.otp_max_attempts),
            ),
            (
                "identity.otp_max_per_phone_per_hour",
                u64::from(self.identity.otp_max_per_phone_per_hour),
            ),
            (
                "identity.otp_max_per_ip_per_hour",
                u64::from(self.identity.otp_max_per_ip_per_hour),
            ),
            (
                "identity.otp_max_failures_per_phone_per_hour",
                u64::from(self.identity.otp_max_failures_per_phone_per_hour),
            ),
            (
                "identity.otp_max_failures_per_ip_per_hour",
                u64::from(self.identity.otp_max_failures_per_ip_per_hour),
            ),
            (
                "identity.oidc_max_per_ip_per_hour",
                u64::from(self.identity.oidc_max_per_ip_per_hour),
            ),
            (
                "identity.sms_max_per_hour",
                u64::from(self.identity.sms_max_per_hour),
            ),
            (
                "identity.sms_max_per_prefix_per_hour",
                u64::from(self.identity.sms_max_per_prefix_per_hour),
            ),
            ("http.max_body_bytes", self.http.max_body_bytes as u64),
            (
                "http.request_timeout_seconds",
                self.http.request_timeout_seconds,
            ),
            ("http.listen_backlog", u64::from(self.http.listen_backlog)),
            (
                "http.max_pending_sockets_per_ip",
                u64::from(self.http.max_pending_sockets_per_ip),
            ),
            (
                "http.header_read_timeout_seconds",
                self.http.header_read_timeout_seconds,
            ),
            (
                "http.max_connections_per_ip",
                u64::from(self.http.max_connections_per_ip),
            ),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(invalid(key, "must be greater than 0"));
        }
        if self.identity.refresh_token_ttl_days > MAX_REFRESH_TOKEN_TTL_DAYS {
            return Err(invalid(
                "identity.refresh_token_ttl_days",
                "must be at most 365: a revoked sign-in is kept only that long",
            ));
        }
        self.presence.validate()?;
        self.connections.validate()?;
        self.rewards.validate()?;
        self.outbox.validate()?;
        self.metrics.validate(
            self.listen,
            self.cluster.as_ref().map(|cluster| cluster.listen),
        )?;
        origins::validate_allowed_origins(&self.http.allowed_origins)?;
        if let Some(tls) = &self.http.tls {
            tls.validate(self.listen)?;
        }
        if self.http.proxy_protocol && self.http.trusted_proxies.is_empty() {
            return Err(invalid(
                "http.proxy_protocol",
                "needs http.trusted_proxies: only listed proxies may name clients",
            ));
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("ws://") || url.starts_with("wss://"))
        {
            return Err(invalid("public_url", "must start with ws:// or wss://"));
        }
        if self.node_name.is_empty() || self.node_name.len() > 64 {
            return Err(invalid("node_name", "must be 1 to 64 characters"));
        }
        if self
            .identity
            .default_phone_region
            .parse::<phonenumber::country::Id>()
            .is_err()
        {
            return Err(invalid(
                "identity.default_phone_region",
                "must be a two-letter region code such as US",
            ));
        }
        let regions = &self.identity.sms_allowed_regions;
        if regions.is_empty()
            || regions
                .iter()
                .any(|region| region.parse::<phonenumber::country::Id>().is_err())
        {
            return Err(invalid(
                "identity.sms_allowed_regions",
                "must list two-letter region codes such as US",
            ));
        }
        if let Some(cluster) = &self.cluster {
            cluster.validate()?;
            if self.store == StoreConfig::Embedded {
                return Err(invalid(
                    "cluster",
                    "nodes of a cluster share one store: set [store] type = \"scylla\"",
                ));
            }
        }
        if self.admin.min_report_cell_count < LEAST_REPORT_CELL_COUNT {
            return Err(invalid(
                "admin.min_report_cell_count",
                "must be at least 5: smaller published counts can identify people",
            ));
        }
        if !ROLL_UP_INTERVAL_MS_RANGE.contains(&self.reports.roll_up_interval_ms) {
            return Err(invalid(
                "reports.roll_up_interval_ms",
                "must be 100 to 3600000 (a tenth of a second to an hour)",
            ));
        }
        cluster::validate_regions(&self.regions)?;
        oidc::validate_providers(&self.identity.oidc)?;
        match &self.store {
            StoreConfig::Embedded => {}
            StoreConfig::Scylla(scylla) => scylla.validate()?,
        }
        if let SmsConfig::Webhook { url, .. } = &self.sms
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(invalid("sms.url", "must be an http(s) URL"));
        }
        Ok(())
    }
}

impl PresenceConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if !(5..=10).contains(&self.cell_resolution) {
            return Err(invalid("presence.cell_resolution", "must be 5 to 10"));
        }
        if !(1..=15).contains(&self.availability_window_minutes) {
            return Err(invalid(
                "presence.availability_window_minutes",
                "must be 1 to 15",
            ));
        }
        let distances = [
            (
                "presence.nearest_max_radius_meters",
                self.nearest_max_radius_meters,
                100.0,
                50_000.0,
            ),
            (
                "presence.nearest_hysteresis_meters",
                self.nearest_hysteresis_meters,
                0.0,
                1_000.0,
            ),
            (
                "presence.nearby_threshold_meters",
                self.nearby_threshold_meters,
                1.0,
                5_000.0,
            ),
            (
                "presence.nearby_hysteresis_meters",
                self.nearby_hysteresis_meters,
                0.0,
                1_000.0,
            ),
            (
                "presence.max_plausible_speed_mps",
                self.max_plausible_speed_mps,
                1.0,
                1_000_000.0,
            ),
        ];
        for (key, value, low, high) in distances {
            if !(low..=high).contains(&value) {
                return Err(ConfigError::Key {
                    key: key.to_owned(),
                    problem: format!("must be between {low} and {high}"),
                });
            }
        }
        let positive = [
            ("presence.cell_idle_seconds", self.cell_idle_seconds),
            (
                "presence.sweep_interval_seconds",
                self.sweep_interval_seconds,
            ),
            (
                "presence.control_messages_per_minute",
                u64::from(self.control_messages_per_minute),
            ),
            (
                "presence.sockets_per_account_per_minute",
                u64::from(self.sockets_per_account_per_minute),
            ),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(invalid(key, "must be greater than 0"));
        }
        if !(10..=60_000).contains(&self.location_min_interval_ms) {
            return Err(invalid(
                "presence.location_min_interval_ms",
                "must be between 10 and 60000",
            ));
        }
        self.cadence.validate()?;
        Ok(())
    }
}

fn invalid(key: &str, problem: &str) -> ConfigError {
    ConfigError::Key {
        key: key.to_owned(),
        problem: problem.to_owned(),
    }
}

fn read_table(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    text.parse()
        .map_err(|error: toml::de::Error| ConfigError::Syntax {
            path: path.to_owned(),
            message: one_line(&error.to_string()),
        })
}

/// Error messages end up on one log line: fold the parser's multi-line output.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests;
