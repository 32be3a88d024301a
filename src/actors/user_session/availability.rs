//! An officer's availability window: opened or renewed by `go_available`, ended by
//! expiry, `go_unavailable`, logout, or a disconnect longer than the grace. The
//! handle citizens see is drawn when a window opens and kept while it is renewed.

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

/// An open window.
#[derive(Debug, Clone)]
pub(crate) struct AvailabilityWindow {
    /// Distinguishes this window's expiry timer from older ones.
    pub(crate) id: u64,
    /// Opaque handle citizens see, stable while the window is renewed.
    pub(crate) handle: Arc<str>,
    /// When the window ends unless renewed (Unix ms).
    pub(crate) until_ms: i64,
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
    let until_ms = state.services.clock.now_ms() + i64::from(minutes) * 60_000;
    let handle = state
        .window
        .as_ref()
        .map_or_else(new_handle, |window| window.handle.clone());
    let opened = state.window.is_none();
    state.window = Some(AvailabilityWindow {
        id,
        handle,
        until_ms,
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
    if state.window.take().is_none() {
        return false;
    }
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

fn new_handle() -> Arc<str> {
    let random: [u8; 12] = rand::rng().random();
    Arc::from(format!("o_{}", URL_SAFE_NO_PAD.encode(random)))
}
