//! A citizen's answer: the nearest available officer, chosen from the node-local
//! index with hysteresis, pushed only when what the citizen sees changes, plus the
//! one-shot `nearby` alert. The index holds officers only at their shown positions
//! (resolution-9 cell centres, see `privacy`), so the choice, the band, the alert
//! and their timing are all computed from what the citizen may know.

use super::{UserSessionState, push, push_latest_nearest};
use crate::actors::messages::SessionAddr;
use crate::domain::{AccountId, Role};
use crate::geo::{self, LatLng};
use crate::presence::index::NearestOfficer;
use crate::privacy;
use crate::proto::{OfficerView, ServerMessage};

/// What the citizen was last told.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CitizenAnswer {
    /// The officer currently answered, if any.
    pub(crate) officer: Option<AccountId>,
    /// The view last pushed (`None`: nothing pushed on this socket yet).
    pub(crate) pushed: Option<Option<OfficerView>>,
    /// Whether the next approach within the threshold raises a `nearby` alert.
    pub(crate) nearby_armed: bool,
    /// Handles recently shown to the citizen, newest last: `request_connection`
    /// may name only these.
    pub(crate) shown_handles: Vec<String>,
}

/// How many recently shown handles a citizen may still request.
const SHOWN_HANDLES_KEPT: usize = 4;

impl Default for CitizenAnswer {
    fn default() -> Self {
        Self {
            officer: None,
            pushed: None,
            nearby_armed: true,
            shown_handles: Vec::new(),
        }
    }
}

impl CitizenAnswer {
    /// Makes the next recompute push its answer even if unchanged (new socket).
    pub(crate) fn forget_pushed(&mut self) {
        self.pushed = None;
    }

    /// Whether `handle` was shown to the citizen recently.
    pub(crate) fn was_shown(&self, handle: &str) -> bool {
        self.shown_handles.iter().any(|shown| shown == handle)
    }

    fn remember_shown(&mut self, handle: &str) {
        if self.shown_handles.last().is_some_and(|last| last == handle) {
            return;
        }
        self.shown_handles.retain(|shown| shown != handle);
        self.shown_handles.push(handle.to_owned());
        if self.shown_handles.len() > SHOWN_HANDLES_KEPT {
            self.shown_handles.remove(0);
        }
    }
}

/// Recomputes a citizen's answer and pushes what changed.
pub(super) fn recompute(state: &mut UserSessionState) {
    if state.role != Role::Citizen {
        return;
    }
    let Some(position) = state.position else {
        return;
    };
    let config = &state.services.config;
    let started = tokio::time::Instant::now();
    let best = state
        .services
        .index
        .nearest_officer(position, config.nearest_max_radius_meters);
    crate::metrics::nearest_lookup(started.elapsed());
    let chosen = with_hysteresis(state, position, best);
    state.services.index.set_citizen_nearest(
        state.account_id,
        chosen
            .as_ref()
            .map(|nearest| (nearest.officer.account_id, nearest.distance_m)),
    );
    state.answer.officer = chosen.as_ref().map(|nearest| nearest.officer.account_id);
    let view = chosen.as_ref().map(officer_view);
    if state.answer.pushed.as_ref() != Some(&view) {
        push_latest_nearest(
            state,
            ServerMessage::Nearest {
                officer: view.clone(),
            },
        );
        if let Some(shown) = &view {
            state.answer.remember_shown(&shown.handle);
        }
        state.answer.pushed = Some(view.clone());
    }
    update_nearby_alert(
        state,
        chosen.as_ref().map(|nearest| nearest.distance_m),
        view,
    );
}

/// Keeps the current officer unless the best one is closer by more than the
/// hysteresis (and the current one is still available and in range).
fn with_hysteresis(
    state: &UserSessionState,
    position: LatLng,
    best: Option<NearestOfficer<SessionAddr>>,
) -> Option<NearestOfficer<SessionAddr>> {
    let best = best?;
    let config = &state.services.config;
    let Some(current_id) = state.answer.officer else {
        return Some(best);
    };
    if current_id == best.officer.account_id {
        return Some(best);
    }
    let Some(current) = state.services.index.officer(current_id) else {
        return Some(best);
    };
    let current_distance = privacy::distance_to_officer_m(position, current.position);
    let keep_current = current_distance <= config.nearest_max_radius_meters
        && best.distance_m + config.nearest_hysteresis_meters >= current_distance;
    if keep_current {
        Some(NearestOfficer {
            officer: current,
            distance_m: current_distance,
        })
    } else {
        Some(best)
    }
}

fn officer_view(nearest: &NearestOfficer<SessionAddr>) -> OfficerView {
    let approx = nearest.officer.position.point();
    OfficerView {
        handle: nearest.officer.handle.to_string(),
        display_name: nearest.officer.display_name.to_string(),
        approx_lat: approx.lat(),
        approx_lng: approx.lng(),
        distance_band_m: geo::distance_band_m(nearest.distance_m),
        available_until_ms: nearest.officer.available_until_ms,
    }
}

fn update_nearby_alert(
    state: &mut UserSessionState,
    distance_m: Option<f64>,
    view: Option<OfficerView>,
) {
    let config = &state.services.config;
    match (distance_m, view) {
        (Some(distance), Some(officer)) if distance <= config.nearby_threshold_meters => {
            if state.answer.nearby_armed {
                state.answer.nearby_armed = false;
                push(state, ServerMessage::Nearby { officer });
            }
        }
        (Some(distance), Some(_))
            if distance <= config.nearby_threshold_meters + config.nearby_hysteresis_meters => {}
        (Some(_) | None, Some(_) | None) => state.answer.nearby_armed = true,
    }
}
