//! The one way an officer changes on a node's map: appearing, moving (its shown
//! cell changed or its window was renewed) or leaving. The change is applied and
//! the citizens it can affect are found under the index's answers lock, so the
//! caller gets exactly the sessions to recheck, whether the change came from the
//! officer's own session, from a peer node, or from cleaning up after a session
//! that died.

use super::{Applied, OfficerEntry, PresenceIndex};
use crate::domain::AccountId;
use crate::privacy::ShownPosition;

/// A change to one officer's presence.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OfficerChange<W> {
    /// The officer is available at `entry.position` (placed, moved or renewed).
    Upsert(OfficerEntry<W>),
    /// The officer is no longer available.
    Remove {
        /// The officer.
        account_id: AccountId,
        /// Presence version of the removal.
        version: u64,
    },
}

/// What applying a change did.
#[derive(Debug)]
pub(crate) struct OfficerChangeOutcome<W> {
    /// Whether the map changed (false for a change older than what it holds):
    /// only an applied change is shared with other nodes.
    pub(crate) applied: bool,
    /// Sessions of the citizens whose answer may have changed.
    pub(crate) recheck: Vec<W>,
}

impl<W: Clone> PresenceIndex<W> {
    /// Applies `change` and answers the citizens to recheck: those whose answer
    /// names the officer, and those within `max_radius_m` of its old or new
    /// position for whom that position is at least as close as their answer.
    pub(crate) fn apply_officer_change(
        &self,
        change: OfficerChange<W>,
        max_radius_m: f64,
    ) -> OfficerChangeOutcome<W> {
        let _exclusive = self
            .answers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (account_id, applied) = match change {
            OfficerChange::Upsert(entry) => {
                let account_id = entry.account_id;
                let position = entry.position;
                let positions = match self.upsert_officer(entry) {
                    Applied::Yes(previous) => {
                        let mut positions = vec![position];
                        positions.extend(previous.map(|old| old.position));
                        Some(positions)
                    }
                    Applied::Stale => None,
                };
                (account_id, positions)
            }
            OfficerChange::Remove {
                account_id,
                version,
            } => {
                let positions: Option<Vec<ShownPosition>> =
                    match self.remove_officer(account_id, version) {
                        Applied::Yes(removed) => {
                            Some(removed.map(|old| old.position).into_iter().collect())
                        }
                        Applied::Stale => None,
                    };
                (account_id, positions)
            }
        };
        match applied {
            Some(positions) => OfficerChangeOutcome {
                applied: true,
                recheck: self.citizens_to_recheck(account_id, &positions, max_radius_m),
            },
            None => OfficerChangeOutcome {
                applied: false,
                recheck: Vec::new(),
            },
        }
    }
}

#[cfg(test)]
mod tests;
