//! A citizen's answer, chosen from the index and recorded in it in one step: the
//! nearest available officer within the search radius, except that the officer
//! answered last is kept while it is still within the radius and no other is
//! closer by more than the hysteresis (so two officers at similar distances do
//! not make the answer flap). Recording the answer is what lets an officer change
//! find this citizen (see `officer_change`).

use super::{NearestOfficer, PresenceIndex};
use crate::domain::AccountId;
use crate::geo::{LatLng, distance_m};

/// The rules a citizen's answer follows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct AnswerRules {
    /// Officers farther than this are never answered, metres.
    pub(crate) radius_m: f64,
    /// The current officer is replaced only by one closer by more than this, metres.
    pub(crate) hysteresis_m: f64,
}

impl<W: Clone> PresenceIndex<W> {
    /// Chooses the answer of `citizen` at `position`, whose answer so far names
    /// `current`, and records it.
    pub(crate) fn answer_citizen(
        &self,
        citizen: AccountId,
        position: LatLng,
        current: Option<AccountId>,
        rules: AnswerRules,
    ) -> Option<NearestOfficer<W>> {
        let _shared = self
            .answers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let best = self.nearest_officer(position, rules.radius_m);
        let chosen = self.with_hysteresis(position, current, best, rules);
        #[cfg(test)]
        between_lookup_and_record::run();
        self.set_citizen_nearest(
            citizen,
            chosen
                .as_ref()
                .map(|nearest| (nearest.officer.account_id, nearest.distance_m)),
        );
        chosen
    }

    fn with_hysteresis(
        &self,
        position: LatLng,
        current: Option<AccountId>,
        best: Option<NearestOfficer<W>>,
        rules: AnswerRules,
    ) -> Option<NearestOfficer<W>> {
        let best = best?;
        let Some(current_id) = current else {
            return Some(best);
        };
        if current_id == best.officer.account_id {
            return Some(best);
        }
        let Some(current) = self.officer(current_id) else {
            return Some(best);
        };
        let current_distance = distance_m(position, current.position.point());
        let keep_current = current_distance <= rules.radius_m
            && best.distance_m + rules.hysteresis_m >= current_distance;
        if keep_current {
            Some(NearestOfficer {
                officer: current,
                distance_m: current_distance,
            })
        } else {
            Some(best)
        }
    }
}

/// Lets a test act between a lookup and the recording of its answer, the window
/// the answers lock closes.
#[cfg(test)]
pub(super) mod between_lookup_and_record {
    use std::cell::RefCell;

    thread_local! {
        static HOOK: RefCell<Option<Box<dyn FnMut()>>> = RefCell::new(None);
    }

    /// Runs `hook` inside the next `answer_citizen` of this thread.
    pub(crate) fn set(hook: impl FnMut() + 'static) {
        HOOK.with(|slot| *slot.borrow_mut() = Some(Box::new(hook)));
    }

    pub(super) fn run() {
        let hook = HOOK.with(|slot| slot.borrow_mut().take());
        if let Some(mut hook) = hook {
            hook();
        }
    }
}
