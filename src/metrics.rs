//! Every metric the server exports, described once. Names follow
//! `heyblue_<thing>_<unit>[_total]`; label values come from bounded sets (routes,
//! methods, status codes, roles) — never an account, a session or a cell.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::domain::Role;
use crate::gateway::ws::{ConnectionOutcome, SocketEnd};
use crate::proto::AvailabilityEndReason;
use crate::proto::{ClientMessageType, ErrorCode};

const HTTP_REQUESTS: &str = "heyblue_http_requests_total";
const HTTP_DURATION: &str = "heyblue_http_request_duration_seconds";
const HTTP_CONNECTIONS_REFUSED: &str = "heyblue_http_connections_refused_total";
const HTTP_CONNECTIONS_CLOSED: &str = "heyblue_http_connections_closed_total";
const TLS_CERTIFICATE_RELOADS: &str = "heyblue_tls_certificate_reloads_total";
const SIGN_INS: &str = "heyblue_sign_ins_total";
const CONSOLE_SIGN_INS: &str = "heyblue_console_sign_ins_total";
const RESIDENT_MEMORY: &str = "heyblue_process_resident_memory_bytes";
const OPEN_FILES: &str = "heyblue_process_open_files";
const TASKS_ALIVE: &str = "heyblue_runtime_tasks_alive";
const OUTBOUND_PENDING: &str = "heyblue_ws_outbound_pending_messages";
const BUILD_INFO: &str = "heyblue_build_info";
const SESSIONS_ACTIVE: &str = "heyblue_sessions_active";
const CELLS_ACTIVE: &str = "heyblue_cells_active";
const SHARDS_ACTIVE: &str = "heyblue_shards_active";
const LOCATION_UPDATES: &str = "heyblue_location_updates_total";
const VIRTUAL_REQUESTS: &str = "heyblue_virtual_connection_requests_total";
const VIRTUAL_CONNECTIONS: &str = "heyblue_virtual_connections_established_total";
const VIRTUAL_ENDED: &str = "heyblue_virtual_connections_ended_total";
const CHAT_MESSAGES: &str = "heyblue_chat_messages_total";
const SESSIONS_BY_CADENCE: &str = "heyblue_sessions_by_cadence";
const LOCATION_UPDATES_BY_CADENCE: &str = "heyblue_location_updates_by_cadence_total";
const PUSHES: &str = "heyblue_pushes_total";
const OUTBOX_ATTEMPTS: &str = "heyblue_outbox_attempts_total";
const OUTBOX_ATTEMPT_DURATION: &str = "heyblue_outbox_attempt_duration_seconds";
const OUTBOX_ENDPOINTS_DISABLED: &str = "heyblue_outbox_endpoints_disabled_total";
const OUTBOX_CANCELLED: &str = "heyblue_outbox_cancelled_total";
const OUTBOX_DEFERRED: &str = "heyblue_outbox_deferred_total";
const OUTBOX_QUEUE_DEPTH: &str = "heyblue_outbox_queue_depth";
const OUTBOX_OLDEST_UNDELIVERED: &str = "heyblue_outbox_oldest_undelivered_seconds";
const PUSH_NOTIFICATIONS_QUEUED: &str = "heyblue_push_notifications_queued_total";
const NEAREST_LOOKUP: &str = "heyblue_nearest_lookup_duration_seconds";
const AVAILABILITY_OPENED: &str = "heyblue_availability_windows_opened_total";
const AVAILABILITY_ENDED: &str = "heyblue_availability_windows_ended_total";
const ACTOR_FAILURES: &str = "heyblue_actor_failures_total";
const STORE_DURATION: &str = "heyblue_store_request_duration_seconds";
const STORE_ERRORS: &str = "heyblue_store_errors_total";
const STORE_WRITE_BATCH: &str = "heyblue_store_write_batch_size";
const REPORT_ROLLUPS: &str = "heyblue_report_rollups_total";
const REPORT_ROLLUP_DURATION: &str = "heyblue_report_rollup_duration_seconds";
const REPORT_ROLLUPS_REFUSED: &str = "heyblue_report_rollups_refused_total";
const REPORT_DIRTY_DAYS: &str = "heyblue_report_dirty_days";
const REPORT_ROLLUP_PASS_FAILURES: &str = "heyblue_report_rollup_pass_failures_total";
const OFFICERS_AVAILABLE: &str = "heyblue_officers_available";
const CITIZENS_LOCATED: &str = "heyblue_citizens_located";
const WS_CONNECTIONS: &str = "heyblue_ws_connections_total";
const WS_FRAMES_REJECTED: &str = "heyblue_ws_frames_rejected_total";
const WS_MESSAGES_RECEIVED: &str = "heyblue_ws_messages_received_total";
const WS_CLOSES: &str = "heyblue_ws_closes_total";
const CONNECTION_REQUESTS: &str = "heyblue_connection_requests_total";
const CONNECTIONS_ESTABLISHED: &str = "heyblue_connections_established_total";
/// Redemptions answered, by outcome (`issued` or the refusal code).
const REDEMPTIONS: &str = "heyblue_redemptions_total";
const VOUCHER_CHANGES: &str = "heyblue_voucher_changes_total";
const DONATIONS: &str = "heyblue_donations_total";
const POINTS_CREDITED: &str = "heyblue_points_credited_total";
const CONNECTION_RECOVERY_FAILURES: &str = "heyblue_connection_recovery_failures_total";
const REQUESTS_PENDING: &str = "heyblue_connection_requests_pending";
const REWARDS_WITHHELD: &str = "heyblue_connection_rewards_withheld_total";
const CLUSTER_NODES_UP: &str = "heyblue_cluster_nodes_up";
const CLUSTER_SHARDS_OWNED: &str = "heyblue_cluster_shards_owned";
const CLUSTER_HANDOFFS: &str = "heyblue_cluster_shard_handoffs_total";
const CLUSTER_PLACEMENT_CHANGES: &str = "heyblue_cluster_placement_changes_total";
const CLUSTER_MESSAGES_SENT: &str = "heyblue_cluster_messages_sent_total";
const CLUSTER_MESSAGES_RECEIVED: &str = "heyblue_cluster_messages_received_total";
const CLUSTER_MESSAGES_DROPPED: &str = "heyblue_cluster_messages_dropped_total";
const CLUSTER_MESSAGES_SHED: &str = "heyblue_cluster_messages_shed_total";
const LOCATIONS_REFUSED: &str = "heyblue_locations_refused_total";
const REQUESTS_LIMITED: &str = "heyblue_connection_requests_limited_total";
const CITIZENS_BLOCKED: &str = "heyblue_citizens_blocked_total";
const SMS_REFUSED: &str = "heyblue_sms_refused_total";
const SIGN_IN_LIMITED: &str = "heyblue_sign_in_limited_total";
const ADMIN_ACTIONS: &str = "heyblue_admin_actions_total";

/// Latency buckets, seconds: from a microsecond (index lookups) to the request
/// time limit.
const LATENCY_BUCKETS_SECONDS: [f64; 18] = [
    0.000_001,
    0.000_002_5,
    0.000_005,
    0.000_01,
    0.000_025,
    0.000_1,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    10.0,
];

/// Buckets of the embedded store's write batch sizes (at most 128 per batch).
const WRITE_BATCH_BUCKETS: [f64; 8] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide Prometheus recorder (once; later calls return the
/// same handle, so several servers in one test process share it).
pub fn install_recorder() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("_seconds".to_owned()),
                    &LATENCY_BUCKETS_SECONDS,
                )
                .and_then(|builder| {
                    builder.set_buckets_for_metric(
                        Matcher::Full(STORE_WRITE_BATCH.to_owned()),
                        &WRITE_BATCH_BUCKETS,
                    )
                })
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (a host application's):
            // metrics then go there and this handle renders an empty page.
            if metrics::set_global_recorder(recorder).is_ok() {
                describe_all();
            }
            handle
        })
        .clone()
}

fn describe_all() {
    describe_counter!(
        OUTBOX_ATTEMPTS,
        "outbox delivery attempts by endpoint (an admin-made, bounded set) and result"
    );
    describe_histogram!(
        OUTBOX_ATTEMPT_DURATION,
        metrics::Unit::Seconds,
        "outbox delivery attempt latency by endpoint"
    );
    describe_counter!(
        OUTBOX_ENDPOINTS_DISABLED,
        "outbox endpoints the server disabled, by reason (gone: answered 410; failing: every attempt failed for outbox.disable_after_failing_hours)"
    );
    describe_counter!(
        OUTBOX_DEFERRED,
        "outbox deliveries held back by their endpoint's rate limit, by endpoint"
    );
    describe_gauge!(
        OUTBOX_QUEUE_DEPTH,
        "open outbox deliveries (pending or failed with a retry) still to reach each enabled endpoint, counted every 30 s by each sending node up to outbox.backlog_scan_limit per state"
    );
    describe_gauge!(
        OUTBOX_OLDEST_UNDELIVERED,
        metrics::Unit::Seconds,
        "age of the oldest open outbox delivery still to reach each enabled endpoint (0 when none)"
    );
    describe_counter!(
        PUSH_NOTIFICATIONS_QUEUED,
        "push notifications queued for officers whose app was not connected, by kind"
    );
    describe_counter!(
        OUTBOX_CANCELLED,
        "outbox deliveries cancelled because the people in them did not consent to the post, by event type"
    );
    describe_counter!(HTTP_REQUESTS, "HTTP requests by route, method and status");
    describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "HTTP request latency by route and method"
    );
    describe_counter!(SIGN_INS, "completed sign-ins by role");
    describe_counter!(
        CONSOLE_SIGN_INS,
        "admin console sign-in attempts by outcome (admin, analyst, refused, expired_form, limited)"
    );
    describe_gauge!(
        RESIDENT_MEMORY,
        metrics::Unit::Bytes,
        "resident memory of the server process"
    );
    describe_gauge!(
        OPEN_FILES,
        "file descriptors the server process holds (sockets included)"
    );
    describe_gauge!(TASKS_ALIVE, "tokio tasks alive in the server's runtime");
    describe_gauge!(
        OUTBOUND_PENDING,
        "messages queued for sockets and not yet taken by their writers"
    );
    describe_gauge!(
        BUILD_INFO,
        "always 1; the version label says which build runs"
    );
    describe_gauge!(SESSIONS_ACTIVE, "live user sessions by role");
    describe_counter!(
        VIRTUAL_REQUESTS,
        "virtual connection requests by how they ended"
    );
    describe_counter!(
        VIRTUAL_CONNECTIONS,
        "virtual connections recorded, by whether anyone was rewarded"
    );
    describe_counter!(
        VIRTUAL_ENDED,
        "virtual connections whose chat ended, by reason"
    );
    describe_counter!(
        CHAT_MESSAGES,
        "chat messages by outcome: relayed, not_connected, chat_limit"
    );
    describe_gauge!(
        SESSIONS_BY_CADENCE,
        "live user sessions by location cadence class"
    );
    describe_counter!(
        LOCATION_UPDATES_BY_CADENCE,
        "location updates handled by sessions, by the session's cadence class"
    );
    describe_gauge!(CELLS_ACTIVE, "live cell actors");
    describe_gauge!(SHARDS_ACTIVE, "live zip shard actors");
    describe_counter!(
        LOCATION_UPDATES,
        "location updates handled by sessions, by role"
    );
    describe_counter!(PUSHES, "messages pushed to sockets, by type");
    describe_histogram!(
        NEAREST_LOOKUP,
        metrics::Unit::Seconds,
        "time of one nearest-officer lookup in the node-local index"
    );
    describe_counter!(AVAILABILITY_OPENED, "officer availability windows opened");
    describe_counter!(ACTOR_FAILURES, "actors that failed (panicked), by kind");
    describe_histogram!(
        STORE_DURATION,
        metrics::Unit::Seconds,
        "store call latency by backend and operation"
    );
    describe_histogram!(
        STORE_WRITE_BATCH,
        "writes the embedded store committed together in one transaction"
    );
    describe_counter!(
        REPORT_ROLLUPS,
        "(metric, day)s of report cells rolled up from their facts on the CQL store, by trigger (read: a report needed them; background: the periodic pass)"
    );
    describe_histogram!(
        REPORT_ROLLUP_DURATION,
        metrics::Unit::Seconds,
        "time of a roll-up of one metric's dirty days on the CQL store, by trigger"
    );
    describe_counter!(
        REPORT_ROLLUPS_REFUSED,
        "report roll-ups refused because an hour's cells exceed the bound of a roll-up row's parts (see docs/storage.md)"
    );
    describe_gauge!(
        REPORT_DIRTY_DAYS,
        "(metric, day)s the last background pass found dirty on the CQL store and rolled up"
    );
    describe_counter!(
        REPORT_ROLLUP_PASS_FAILURES,
        "background roll-up passes that failed (retried at the next pass)"
    );
    describe_counter!(
        STORE_ERRORS,
        "failed store calls by backend, operation and kind"
    );
    describe_gauge!(OFFICERS_AVAILABLE, "available officers on this node's map");
    describe_gauge!(
        CITIZENS_LOCATED,
        "citizens with a known position on this node"
    );
    describe_counter!(
        AVAILABILITY_ENDED,
        "officer availability windows ended, by reason"
    );
    gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    describe_counter!(
        WS_CONNECTIONS,
        "WebSocket upgrade requests by outcome (accepted, unauthorized, auth_timeout, ...)"
    );
    describe_counter!(
        WS_FRAMES_REJECTED,
        "client frames answered with an error by the gateway, by error code"
    );
    describe_counter!(
        WS_MESSAGES_RECEIVED,
        "decoded client messages by type (before rate limits and coalescing)"
    );
    describe_counter!(
        CONNECTION_REQUESTS,
        "connection requests by final outcome (accepted, declined, expired, cancelled, officer_busy, ...)"
    );
    describe_counter!(
        CONNECTIONS_ESTABLISHED,
        "connection records written, by whether anyone was rewarded"
    );
    describe_gauge!(REQUESTS_PENDING, "pending connection requests on this node");
    describe_counter!(
        REDEMPTIONS,
        "redemptions answered, by outcome (issued or the refusal code)"
    );
    describe_counter!(
        VOUCHER_CHANGES,
        "vouchers moved out of issued, by new status (cancelled, redeemed, expired)"
    );
    describe_counter!(
        DONATIONS,
        "donations answered, by outcome (pledged or the refusal code)"
    );
    describe_counter!(POINTS_CREDITED, "points credited for connections, by role");
    describe_counter!(
        CONNECTION_RECOVERY_FAILURES,
        "incomplete connections the recovery pass could not finish (skipped, retried by the next pass)"
    );
    describe_counter!(
        REWARDS_WITHHELD,
        "connection rewards withheld, per person, by anti-farming rule"
    );
    describe_gauge!(
        CLUSTER_NODES_UP,
        "nodes this node hears from, itself included (draining ones too)"
    );
    describe_gauge!(
        CLUSTER_SHARDS_OWNED,
        "shards with live actors that this node owns"
    );
    describe_counter!(
        CLUSTER_HANDOFFS,
        "live shards of this node that another node took over"
    );
    describe_counter!(
        CLUSTER_PLACEMENT_CHANGES,
        "changes of the set of nodes that own shards"
    );
    describe_counter!(
        CLUSTER_MESSAGES_SENT,
        "messages sent to other nodes, by kind"
    );
    describe_counter!(
        CLUSTER_MESSAGES_RECEIVED,
        "messages received from other nodes, by kind"
    );
    describe_counter!(
        CLUSTER_MESSAGES_DROPPED,
        "messages for a node no live link reaches, by kind"
    );
    describe_counter!(
        CLUSTER_MESSAGES_SHED,
        "peers' messages shed because the router's queue was full, by kind"
    );
    describe_counter!(
        WS_CLOSES,
        "ended sockets by close reason name, or client_closed / connection_lost"
    );
    describe_counter!(
        LOCATIONS_REFUSED,
        "citizens' locations refused and not used, by reason (implausible_speed)"
    );
    describe_counter!(
        REQUESTS_LIMITED,
        "connection requests refused by a per-citizen limit (cooldown, hourly_cap)"
    );
    describe_counter!(
        CITIZENS_BLOCKED,
        "citizens blocked by an officer for the rest of the day"
    );
    describe_counter!(
        HTTP_CONNECTIONS_REFUSED,
        "connections closed as soon as accepted, by reason (per_address_limit)"
    );
    describe_counter!(
        HTTP_CONNECTIONS_CLOSED,
        "connections the server closed while serving them, by reason (header_timeout, tls_handshake_timeout, tls_handshake_failed)"
    );
    describe_counter!(
        TLS_CERTIFICATE_RELOADS,
        "TLS certificate reloads (file change or SIGHUP), by outcome (ok, error: the previous certificate stays)"
    );
    describe_counter!(
        SMS_REFUSED,
        "codes not texted, by reason (region, global_budget, prefix_budget)"
    );
    describe_counter!(
        SIGN_IN_LIMITED,
        "code requests and verifies refused by a limit (address_requests, \
         address_failures, phone_failures)"
    );
    describe_counter!(
        ADMIN_ACTIONS,
        "admin actions written to the audit log, by action"
    );
}

/// An admin action was written to the audit log.
pub(crate) fn admin_action(action: crate::audit::AuditAction) {
    counter!(ADMIN_ACTIONS, "action" => action.as_str()).increment(1);
}

/// An accepted connection was closed before being served.
pub(crate) fn http_connection_refused(refusal: crate::http_server::ConnectionRefusal) {
    counter!(HTTP_CONNECTIONS_REFUSED, "reason" => refusal.as_str()).increment(1);
}

/// The server closed a connection it was serving.
pub(crate) fn http_connection_closed(close: crate::http_server::ConnectionClose) {
    counter!(HTTP_CONNECTIONS_CLOSED, "reason" => close.as_str()).increment(1);
}

/// The TLS certificate files were read again.
pub(crate) fn tls_certificate_reloaded(ok: bool) {
    let outcome = if ok { "ok" } else { "error" };
    counter!(TLS_CERTIFICATE_RELOADS, "outcome" => outcome).increment(1);
}

/// A console sign-in attempt ended so (`admin`, `analyst`, `refused`,
/// `expired_form`, `limited`).
pub(crate) fn console_sign_in(outcome: &'static str) {
    counter!(CONSOLE_SIGN_INS, "outcome" => outcome).increment(1);
}

/// A code was not texted.
pub(crate) fn sms_refused(refusal: crate::identity::SmsRefusal) {
    counter!(SMS_REFUSED, "reason" => refusal.as_str()).increment(1);
}

/// A sign-in step was refused by a limit.
pub(crate) fn sign_in_limited(limit: crate::identity::SignInLimit) {
    counter!(SIGN_IN_LIMITED, "limit" => limit.as_str()).increment(1);
}

/// One HTTP request finished; `route` is a route template or `unmatched`, `method`
/// a standard method or `other` (the gateway's closed sets).
pub(crate) fn http_request_finished(
    route: &str,
    method: &'static str,
    status: u16,
    elapsed: Duration,
) {
    counter!(
        HTTP_REQUESTS,
        "route" => route.to_owned(),
        "method" => method,
        "status" => status.to_string()
    )
    .increment(1);
    histogram!(HTTP_DURATION, "route" => route.to_owned(), "method" => method)
        .record(elapsed.as_secs_f64());
}

/// A person signed in.
pub(crate) fn sign_in_completed(role: Role) {
    counter!(SIGN_INS, "role" => role.as_str()).increment(1);
}

/// A user session started.
pub(crate) fn session_started(role: Role) {
    gauge!(SESSIONS_ACTIVE, "role" => role.as_str()).increment(1.0);
}

/// A user session stopped.
pub(crate) fn session_stopped(role: Role) {
    gauge!(SESSIONS_ACTIVE, "role" => role.as_str()).decrement(1.0);
}

/// A cell actor started.
pub(crate) fn cell_started() {
    gauge!(CELLS_ACTIVE).increment(1.0);
}

/// A cell actor stopped.
pub(crate) fn cell_stopped() {
    gauge!(CELLS_ACTIVE).decrement(1.0);
}

/// A zip shard actor started.
pub(crate) fn shard_started() {
    gauge!(SHARDS_ACTIVE).increment(1.0);
}

/// A zip shard actor stopped.
pub(crate) fn shard_stopped() {
    gauge!(SHARDS_ACTIVE).decrement(1.0);
}

/// A session handled a location update.
pub(crate) fn location_update(role: Role) {
    counter!(LOCATION_UPDATES, "role" => role.as_str()).increment(1);
}

/// A session in cadence class `class` handled a location update.
pub(crate) fn location_update_in_class(class: crate::domain::cadence::CadenceClass) {
    counter!(LOCATION_UPDATES_BY_CADENCE, "class" => class.as_str()).increment(1);
}

/// A session moved from cadence class `from` to `to` (`None`: none, on start
/// and stop).
pub(crate) fn cadence_class_changed(
    from: Option<crate::domain::cadence::CadenceClass>,
    to: Option<crate::domain::cadence::CadenceClass>,
) {
    if let Some(left) = from {
        gauge!(SESSIONS_BY_CADENCE, "class" => left.as_str()).decrement(1.0);
    }
    if let Some(entered) = to {
        gauge!(SESSIONS_BY_CADENCE, "class" => entered.as_str()).increment(1.0);
    }
}

/// One outbox attempt to `endpoint_id` ended with `result` after `elapsed`.
pub(crate) fn outbox_attempt(
    endpoint_id: uuid::Uuid,
    result: &crate::outbox::sender::AttemptResult,
    elapsed: Duration,
) {
    use crate::outbox::sender::AttemptResult;
    let label = match result {
        AttemptResult::Delivered => "delivered",
        AttemptResult::Gone => "gone",
        AttemptResult::Failed { class, .. } => class.as_str(),
    };
    let endpoint = endpoint_id.to_string();
    counter!(OUTBOX_ATTEMPTS, "endpoint" => endpoint.clone(), "result" => label).increment(1);
    histogram!(OUTBOX_ATTEMPT_DURATION, "endpoint" => endpoint).record(elapsed.as_secs_f64());
}

/// The server disabled an outbox endpoint (`gone`: it answered 410;
/// `failing`: every attempt failed for `outbox.disable_after_failing_hours`).
pub(crate) fn outbox_endpoint_disabled(reason: &'static str) {
    counter!(OUTBOX_ENDPOINTS_DISABLED, "reason" => reason).increment(1);
}

/// A delivery to `endpoint_id` was held back by its rate limit.
pub(crate) fn outbox_deferred(endpoint_id: uuid::Uuid) {
    counter!(OUTBOX_DEFERRED, "endpoint" => endpoint_id.to_string()).increment(1);
}

/// What is left to send to `endpoint_id`: open deliveries and the age of the
/// oldest.
pub(crate) fn outbox_backlog(endpoint_id: uuid::Uuid, depth: usize, oldest: Duration) {
    let endpoint = endpoint_id.to_string();
    gauge!(OUTBOX_QUEUE_DEPTH, "endpoint" => endpoint.clone()).set(depth as f64);
    gauge!(OUTBOX_OLDEST_UNDELIVERED, "endpoint" => endpoint).set(oldest.as_secs_f64());
}

/// A push notification was queued.
pub(crate) fn push_notification_queued(kind: crate::outbox::message::PushKind) {
    counter!(PUSH_NOTIFICATIONS_QUEUED, "kind" => kind.as_str()).increment(1);
}

/// A social post was cancelled for want of consent.
pub(crate) fn outbox_cancelled(event_type: crate::outbox::message::EventType) {
    counter!(OUTBOX_CANCELLED, "event_type" => event_type.as_str()).increment(1);
}

/// A message was queued for a socket.
pub(crate) fn push_sent(kind: &'static str) {
    counter!(PUSHES, "type" => kind).increment(1);
}

/// One nearest lookup took `elapsed`.
pub(crate) fn nearest_lookup(elapsed: Duration) {
    histogram!(NEAREST_LOOKUP).record(elapsed.as_secs_f64());
}

/// An officer opened an availability window.
pub(crate) fn availability_opened() {
    counter!(AVAILABILITY_OPENED).increment(1);
}

/// An availability window ended.
pub(crate) fn availability_ended(reason: AvailabilityEndReason) {
    let label = match reason {
        AvailabilityEndReason::Expired => "expired",
        AvailabilityEndReason::WentUnavailable => "went_unavailable",
        AvailabilityEndReason::Logout => "logout",
        AvailabilityEndReason::Disconnected => "disconnected",
        AvailabilityEndReason::RosterRemoved => "roster_removed",
    };
    counter!(AVAILABILITY_ENDED, "reason" => label).increment(1);
}

/// The embedded store committed `writes` writes in one transaction.
pub(crate) fn store_write_batch(writes: usize) {
    histogram!(STORE_WRITE_BATCH).record(writes as f64);
}

/// A roll-up of one metric, started by `trigger`, rolled up `days` dirty
/// days in `elapsed`.
pub(crate) fn report_rollup(
    trigger: crate::store::scylla::RollUpTrigger,
    days: u64,
    elapsed: Duration,
) {
    counter!(REPORT_ROLLUPS, "trigger" => trigger.as_str()).increment(days);
    histogram!(REPORT_ROLLUP_DURATION, "trigger" => trigger.as_str()).record(elapsed.as_secs_f64());
}

/// A roll-up was refused: an hour's cells exceed the parts a row may have.
pub(crate) fn report_rollup_refused() {
    counter!(REPORT_ROLLUPS_REFUSED).increment(1);
}

/// The background pass ended: `dirty_days` rolled up, or it failed.
pub(crate) fn report_rollup_pass(dirty_days: Option<u64>) {
    match dirty_days {
        Some(days) => gauge!(REPORT_DIRTY_DAYS).set(days as f64),
        None => counter!(REPORT_ROLLUP_PASS_FAILURES).increment(1),
    }
}

/// One store call finished.
pub(crate) fn store_call(
    backend: &'static str,
    operation: &'static str,
    elapsed: Duration,
    error: Option<&crate::store::StoreError>,
) {
    histogram!(STORE_DURATION, "backend" => backend, "operation" => operation)
        .record(elapsed.as_secs_f64());
    if let Some(error) = error {
        let kind = match error {
            crate::store::StoreError::Unavailable(_) => "unavailable",
            crate::store::StoreError::InUse { .. } => "in_use",
            crate::store::StoreError::StorageFailed(_) => "storage_failed",
            crate::store::StoreError::Corrupt(_) => "corrupt",
            crate::store::StoreError::Backend(_) => "backend",
        };
        counter!(STORE_ERRORS, "backend" => backend, "operation" => operation, "kind" => kind)
            .increment(1);
    }
}

/// An actor of `kind` failed.
pub(crate) fn actor_failed(kind: &'static str) {
    counter!(ACTOR_FAILURES, "kind" => kind).increment(1);
}

/// Sets the presence gauges (refreshed once a second by `metrics_snapshot`).
pub(crate) fn presence_placed(officers_available: usize, citizens_located: usize) {
    gauge!(OFFICERS_AVAILABLE).set(officers_available as f64);
    gauge!(CITIZENS_LOCATED).set(citizens_located as f64);
}

/// A WebSocket upgrade request was settled.
pub(crate) fn ws_connection(outcome: ConnectionOutcome) {
    counter!(WS_CONNECTIONS, "outcome" => outcome.as_str()).increment(1);
}

/// The gateway answered a client frame with an `error`.
pub(crate) fn ws_frame_rejected(code: ErrorCode) {
    counter!(WS_FRAMES_REJECTED, "reason" => code.as_str()).increment(1);
}

/// A client message was decoded.
pub(crate) fn ws_message_received(message_type: ClientMessageType) {
    counter!(WS_MESSAGES_RECEIVED, "type" => message_type.as_str()).increment(1);
}

/// An upgraded socket ended.
pub(crate) fn ws_socket_ended(end: SocketEnd) {
    counter!(WS_CLOSES, "code" => end.as_str()).increment(1);
}

/// Refreshes the process gauges (once a second, by `metrics_snapshot`): what a
/// soak run watches for growth.
pub(crate) fn refresh_process_gauges() {
    if let Some(bytes) = resident_memory_bytes() {
        gauge!(RESIDENT_MEMORY).set(bytes as f64);
    }
    if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
        gauge!(OPEN_FILES).set(entries.count() as f64);
    }
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        gauge!(TASKS_ALIVE).set(runtime.metrics().num_alive_tasks() as f64);
    }
    gauge!(OUTBOUND_PENDING).set(crate::presence::outbound::pending_messages() as f64);
}

/// Resident set size from `/proc/self/status` (Linux); `None` elsewhere.
fn resident_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kibibytes: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kibibytes * 1024)
}

/// A redemption was answered for the first time.
pub(crate) fn redemption_finished(answer: &crate::rewards::RedemptionAnswer) {
    let outcome = match answer {
        crate::rewards::RedemptionAnswer::Issued(_) => "issued",
        crate::rewards::RedemptionAnswer::Refused(refusal) => refusal.code(),
    };
    counter!(REDEMPTIONS, "outcome" => outcome).increment(1);
}

/// `count` vouchers left `issued` for `to` (cancelled, redeemed or expired).
pub(crate) fn vouchers_changed(to: crate::domain::voucher::VoucherStatus, count: usize) {
    counter!(VOUCHER_CHANGES, "to" => to.as_str()).increment(count as u64);
}

/// A donation was answered for the first time.
pub(crate) fn donation_finished(answer: &crate::rewards::DonationAnswer) {
    let outcome = match answer {
        crate::rewards::DonationAnswer::Pledged(_) => "pledged",
        crate::rewards::DonationAnswer::Refused(refusal) => refusal.code(),
    };
    counter!(DONATIONS, "outcome" => outcome).increment(1);
}

/// A connection record was written.
pub(crate) fn connection_established(record: &crate::store::ConnectionRecord) {
    let rewarded = record.parties().iter().any(|party| party.points > 0);
    if record.mode == crate::domain::connection::ConnectionMode::Virtual {
        counter!(VIRTUAL_CONNECTIONS, "rewarded" => if rewarded { "true" } else { "false" })
            .increment(1);
    }
    counter!(CONNECTIONS_ESTABLISHED, "rewarded" => if rewarded { "true" } else { "false" })
        .increment(1);
    for party in record.parties() {
        if let Some(rule) = party.withheld {
            counter!(REWARDS_WITHHELD, "rule" => rule.as_str()).increment(1);
        }
    }
}

/// Points were credited to a person (`peer_role` is the other side's role).
pub(crate) fn points_credited(peer_role: Role, points: i64) {
    let role = match peer_role {
        Role::Citizen => "officer",
        Role::Officer => "citizen",
    };
    counter!(POINTS_CREDITED, "role" => role).increment(u64::try_from(points).unwrap_or(0));
}

/// The recovery pass could not finish an incomplete connection.
pub(crate) fn connection_recovery_failed() {
    counter!(CONNECTION_RECOVERY_FAILURES).increment(1);
}

/// A connection request ended (or was refused) with `outcome`.
pub(crate) fn connection_request_finished(outcome: crate::proto::RequestState) {
    counter!(CONNECTION_REQUESTS, "outcome" => outcome.as_str()).increment(1);
}

/// A virtual connection request ended in `outcome`.
pub(crate) fn virtual_request_finished(outcome: crate::proto::RequestState) {
    counter!(VIRTUAL_REQUESTS, "outcome" => outcome.as_str()).increment(1);
}

/// A virtual connection's chat ended (`EndedByYou`: either side ended it).
pub(crate) fn virtual_connection_ended(reason: crate::proto::ConnectionEndReason) {
    let label = match reason {
        crate::proto::ConnectionEndReason::EndedByYou
        | crate::proto::ConnectionEndReason::EndedByPeer => "ended",
        crate::proto::ConnectionEndReason::TimeLimit => "time_limit",
    };
    counter!(VIRTUAL_ENDED, "reason" => label).increment(1);
}

/// A `chat` message was relayed or refused (`outcome`).
pub(crate) fn chat_message(outcome: &'static str) {
    counter!(CHAT_MESSAGES, "outcome" => outcome).increment(1);
}

/// Pending connection requests (refreshed once a second by `metrics_snapshot`).
pub(crate) fn connection_requests_pending(pending: usize) {
    gauge!(REQUESTS_PENDING).set(pending as f64);
}

/// Nodes heard from (this one included), and live shards this node owns.
pub(crate) fn cluster_state(nodes_up: usize, shards_owned: usize) {
    gauge!(CLUSTER_NODES_UP).set(nodes_up as f64);
    gauge!(CLUSTER_SHARDS_OWNED).set(shards_owned as f64);
}

/// The owners changed; `handed_off` live shards of this node moved elsewhere.
pub(crate) fn placement_changed(handed_off: usize) {
    counter!(CLUSTER_PLACEMENT_CHANGES).increment(1);
    counter!(CLUSTER_HANDOFFS).increment(handed_off as u64);
}

/// A message left for another node.
pub(crate) fn cluster_message_sent(kind: &'static str) {
    counter!(CLUSTER_MESSAGES_SENT, "kind" => kind).increment(1);
}

/// A message arrived from another node.
pub(crate) fn cluster_message_received(kind: &'static str) {
    counter!(CLUSTER_MESSAGES_RECEIVED, "kind" => kind).increment(1);
}

/// A message found no link to its node.
pub(crate) fn cluster_message_dropped(kind: &'static str) {
    counter!(CLUSTER_MESSAGES_DROPPED, "kind" => kind).increment(1);
}

/// A peer's message was shed: the router's queue was full (see `cluster::intake`).
pub(crate) fn cluster_message_shed(kind: &'static str) {
    counter!(CLUSTER_MESSAGES_SHED, "kind" => kind).increment(1);
}

/// Why a citizen's location was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LocationRefusal {
    /// Farther from the last accepted fix than the plausible speed allows.
    ImplausibleSpeed,
}

/// A citizen's location was refused.
pub(crate) fn location_refused(reason: LocationRefusal) {
    let reason = match reason {
        LocationRefusal::ImplausibleSpeed => "implausible_speed",
    };
    counter!(LOCATIONS_REFUSED, "reason" => reason).increment(1);
}

/// Which per-citizen request limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestLimit {
    /// Asked the same officer again too soon after a request ended.
    Cooldown,
    /// Too many requests in the last hour.
    HourlyCap,
}

/// A connection request was refused by a per-citizen limit.
pub(crate) fn request_limited(limit: RequestLimit) {
    let limit = match limit {
        RequestLimit::Cooldown => "cooldown",
        RequestLimit::HourlyCap => "hourly_cap",
    };
    counter!(REQUESTS_LIMITED, "limit" => limit).increment(1);
}

/// An officer blocked a citizen.
pub(crate) fn citizen_blocked() {
    counter!(CITIZENS_BLOCKED).increment(1);
}
