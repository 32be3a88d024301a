//! An officer's availability window: opened or renewed by `go_available`, ended by
//! expiry, `go_unavailable`, logout, or a disconnect longer than the grace. The
//! handle citizens see is drawn when a window opens and kept while it is renewed.
//! When a window ends here (or is handed to another node by a drain), the
//! stretch this session held it for goes to the availability log for
//! reports: its start, its end (never after the window's end), and the ZIP
//! of the officer's coarse cell, nothing finer.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ractor::ActorRef;
use rand::Rng;

use super::{UserSessionMsg, UserSessionState, officer_change_here, placement, push, push_error};
use crate::actors::messages::SessionAddr;
use crate::actors::request_registry::RequestRegistryMsg;
use crate::domain::Role;
use crate::presence::index::OfficerChange;
use crate::proto::{AvailabilityEndReason, ErrorCode, ServerMessage};
use crate::store::AvailabilityRecord;

/// An open window.
#[derive(Debug, Clone)]
pub(crate) struct AvailabilityWindow {
    /// Distinguishes this window's expiry timer from older ones.
    pub(crate) id: u64,
    /// Opaque handle citizens see, stable while the window is renewed.
    pub(crate) handle: Arc<str>,
    /// When the window ends unless renewed (Unix ms).
    pub(crate) until_ms: i64,
    /// Random id of the stretch reports count (kept while renewed).
    pub(crate) stretch_id: uuid::Uuid,
    /// When this session began holding the window (Unix ms): when it opened,
    /// or when it was taken over from another node.
    pub(crate) started_at_ms: i64,
}

/// `go_available{minutes}`: opens or renews the window.
pub(super) fn go_available(
    myself: &ActorRef<UserSessionMsg>,
    state: &mut UserSessionState,
    minutes: u32,
) {
    if state.role != Role::Officer {
        push_error(
            state,
            ErrorCode::Forbidden,
            "only officers can go available",
        );
        return;
    }
    state.windows_opened += 1;
    let id = state.windows_opened;
    let now_ms = state.services.clock.now_ms();
    let until_ms = now_ms + i64::from(minutes) * 60_000;
    let (handle, stretch_id, started_at_ms) = state.window.as_ref().map_or_else(
        || (new_handle(), uuid::Uuid::new_v4(), now_ms),
        |window| {
            (
                window.handle.clone(),
                window.stretch_id,
                window.started_at_ms,
            )
        },
    );
    let opened = state.window.is_none();
    state.window = Some(AvailabilityWindow {
        id,
        handle,
        until_ms,
        stretch_id,
        started_at_ms,
    });
    myself.send_after(Duration::from_secs(u64::from(minutes) * 60), move || {
        UserSessionMsg::WindowExpired { window_id: id }
    });
    if opened {
        crate::metrics::availability_opened();
    }
    announce(state);
    placement::publish(myself, state);
}

/// A new officer session takes over the window an earlier session of the same
/// officer left on the map from another node (that node was lost or drained,
/// and the officer reconnected here within the grace): same handle, same end,
/// same position until the next update — citizens see no gap.
pub(super) async fn adopt_from_map(
    myself: &ActorRef<UserSessionMsg>,
    state: &mut UserSessionState,
) {
    if state.role != Role::Officer || state.window.is_some() {
        return;
    }
    let Some(entry) = state.services.index.officer(state.account_id) else {
        return;
    };
    let now_ms = state.services.clock.now_ms();
    if !matches!(entry.session, SessionAddr::Remote(_)) || entry.available_until_ms <= now_ms {
        return;
    }
    state.windows_opened += 1;
    let id = state.windows_opened;
    state.window = Some(AvailabilityWindow {
        id,
        handle: entry.handle.clone(),
        until_ms: entry.available_until_ms,
        stretch_id: uuid::Uuid::new_v4(),
        started_at_ms: now_ms,
    });
    let remaining = Duration::from_millis((entry.available_until_ms - now_ms) as u64);
    myself.send_after(remaining, move || UserSessionMsg::WindowExpired {
        window_id: id,
    });
    tracing::debug!("officer window taken over from another node");
    announce(state);
    // Shown where the map had the officer; the precise position (and with it
    // the co-location rule) waits for the officer's next fix.
    placement::show_at(myself, state, entry.position).await;
}

/// Tells the socket about an open window (after `go_available` or a reconnect).
pub(super) fn announce(state: &UserSessionState) {
    if let Some(window) = &state.window {
        push(
            state,
            ServerMessage::Availability {
                until_ms: window.until_ms,
            },
        );
    }
}

/// Ends the window, if open: removes the officer from the map and tells the socket.
pub(super) fn end_window(state: &mut UserSessionState, reason: AvailabilityEndReason) {
    if close_window_silently(state) {
        crate::metrics::availability_ended(reason);
        push(state, ServerMessage::AvailabilityEnded { reason });
    }
}

/// Ends the window without telling the socket; returns whether one was open.
/// On a draining node the officer stays on the map: it reconnects to another
/// node within the grace and keeps the window there.
pub(super) fn close_window_silently(state: &mut UserSessionState) -> bool {
    let Some(window) = state.window.take() else {
        return false;
    };
    record_stretch(state, &window);
    if state.services.link.is_draining() {
        return true;
    }
    let _registry_gone = state
        .services
        .requests
        .cast(RequestRegistryMsg::OfficerUnavailable {
            officer: state.account_id,
        });
    let version = state.services.index.next_version();
    officer_change_here(
        state,
        OfficerChange::Remove {
            account_id: state.account_id,
            version,
        },
    );
    true
}

/// Hands the stretch this session held the window for to the availability
/// log: up to now, or to the window's end if that came first (a late timer).
fn record_stretch(state: &UserSessionState, window: &AvailabilityWindow) {
    let ended_at_ms = state.services.clock.now_ms().min(window.until_ms);
    // The ZIP of the coarse cell records keep, as for a connection: never
    // narrower than that cell.
    let zip = state
        .position
        .and_then(|position| crate::geo::record_zip(crate::geo::record_cell(position)));
    state.services.availability.record(AvailabilityRecord {
        window_id: window.stretch_id,
        started_at_ms: window.started_at_ms,
        ended_at_ms,
        zip,
    });
}

fn new_handle() -> Arc<str> {
    let random: [u8; 12] = rand::rng().random();
    Arc::from(format!("o_{}", URL_SAFE_NO_PAD.encode(random)))
}
