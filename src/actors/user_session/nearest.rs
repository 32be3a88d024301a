//! A citizen's answer: the nearest available officer, chosen from the node-local
//! index with hysteresis, pushed only when what the citizen sees changes, plus the
//! one-shot `nearby` alert. The index holds officers only at their shown positions
//! (resolution-9 cell centres, see `privacy`), so the choice, the band, the alert
//! and their timing are all computed from what the citizen may know.

use std::sync::Arc;

use super::{UserSessionState, push, push_nearest};
use crate::actors::messages::SessionAddr;
use crate::domain::cadence::CadenceClass;
use crate::domain::{AccountId, Role};
use crate::geo;
use crate::presence::index::{AnswerRules, NearestOfficer};
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
    pub(crate) shown_handles: Vec<Arc<str>>,
    /// Distance to the nearest available officer's shown position that the
    /// cadence class is chosen from: the answer's, or, with no answer, the
    /// nearest within the cadence's lookup radius while the class is not yet
    /// the farthest (so the hysteresis past the last boundary can apply).
    pub(crate) cadence_distance_m: Option<f64>,
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
            cadence_distance_m: None,
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
        self.shown_handles.iter().any(|shown| &**shown == handle)
    }

    fn remember_shown(&mut self, handle: &Arc<str>) {
        if self.shown_handles.last().is_some_and(|last| last == handle) {
            return;
        }
        self.shown_handles.retain(|shown| shown != handle);
        self.shown_handles.push(handle.clone());
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
    let rules = AnswerRules {
        radius_m: config.nearest_max_radius_meters,
        hysteresis_m: config.nearest_hysteresis_meters,
    };
    let started = tokio::time::Instant::now();
    let chosen = state.services.index.answer_citizen(
        state.account_id,
        position,
        state.answer.officer,
        rules,
    );
    crate::metrics::nearest_lookup(started.elapsed());
    state.answer.officer = chosen.as_ref().map(|nearest| nearest.officer.account_id);
    state.answer.cadence_distance_m = cadence_distance(state, position, chosen.as_ref());
    let view = chosen.as_ref().map(officer_view);
    if state.answer.pushed.as_ref() != Some(&view) {
        push_nearest(
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

/// The distance the cadence class follows (see `CitizenAnswer::cadence_distance_m`).
fn cadence_distance(
    state: &UserSessionState,
    position: crate::geo::LatLng,
    chosen: Option<&NearestOfficer<SessionAddr>>,
) -> Option<f64> {
    if let Some(nearest) = chosen {
        return Some(nearest.distance_m);
    }
    let farthest_already = state
        .cadence
        .class()
        .is_none_or(|class| class == CadenceClass::CitizenFar);
    if farthest_already {
        return None;
    }
    let radius_m = state.services.config.cadence.rules().lookup_radius_m();
    state
        .services
        .index
        .nearest_officer(position, radius_m)
        .map(|nearest| nearest.distance_m)
}

fn officer_view(nearest: &NearestOfficer<SessionAddr>) -> OfficerView {
    let approx = nearest.officer.position.point();
    OfficerView {
        handle: nearest.officer.handle.clone(),
        display_name: nearest.officer.display_name.clone(),
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
