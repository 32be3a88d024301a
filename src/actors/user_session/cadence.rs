//! A session's location cadence: the class it is in (from the role, an
//! officer's window, or a citizen's distance to the nearest available officer's
//! shown position) and whether the current socket was told its pace. Refreshed
//! after every message the session handles, so every change of window or answer
//! is seen, and told to the socket only when the class changes or a new socket
//! attaches. The distance is the one the `nearest` answer is computed from: a
//! cadence says no more about an officer's position than the answer does.

use super::{UserSessionState, push};
use crate::domain::Role;
use crate::domain::cadence::{CadenceClass, officer_class};
use crate::proto::ServerMessage;

/// The session's cadence class and what its socket knows of it.
#[derive(Debug, Default)]
pub(crate) struct SessionCadence {
    /// The class now (`None`: not classified yet).
    class: Option<CadenceClass>,
    /// Whether the current socket was sent the class's pace.
    told: bool,
}

impl SessionCadence {
    /// The class now, if classified.
    pub(crate) fn class(&self) -> Option<CadenceClass> {
        self.class
    }
}

/// Reclassifies the session and tells its socket the pace if it changed (or
/// was never told on this socket).
pub(super) fn refresh(state: &mut UserSessionState) {
    let rules = state.services.config.cadence.rules();
    let class = match state.role {
        Role::Officer => officer_class(state.window.is_some()),
        Role::Citizen => rules.citizen_class(state.cadence.class, state.answer.cadence_distance_m),
    };
    if state.cadence.class != Some(class) {
        crate::metrics::cadence_class_changed(state.cadence.class, Some(class));
        state.cadence.class = Some(class);
        state.cadence.told = false;
    }
    if state.cadence.told || state.outbound.is_none() {
        return;
    }
    let pace = rules.cadence(class);
    push(
        state,
        ServerMessage::Cadence {
            interval_ms: pace.interval_ms,
            min_distance_m: pace.min_distance_m,
        },
    );
    state.cadence.told = true;
}

/// A new socket: it is told the pace at the next refresh.
pub(super) fn forget_told(state: &mut UserSessionState) {
    state.cadence.told = false;
}

/// The session stops: it leaves its class.
pub(super) fn leave(state: &mut UserSessionState) {
    crate::metrics::cadence_class_changed(state.cadence.class.take(), None);
}
