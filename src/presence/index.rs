//! The node-local presence index: every available officer and every located
//! citizen on this node, bucketed in latitude/longitude grids (see `grid`):
//! officers in a fine and a coarse grid, so that a search near many officers ends
//! within a few fine rings and a search far from any widens in coarse steps. Cells
//! publish into it; a citizen's session reads its nearest officer straight from it
//! without sending a message per cell searched. Writes carry versions, so commands
//! that reach two cells out of order never resurrect an older position.
//!
//! `W` is whatever identifies a live session (its actor ref in the server, a plain
//! value in tests); the index never calls it, it only hands it back.
//!
//! Officers change only through [`PresenceIndex::apply_officer_change`] (see
//! `officer_change`), and citizens' answers are chosen and recorded only through
//! [`PresenceIndex::answer_citizen`] (see `answer`): the two exclude each other,
//! so no officer change can fall between a citizen's lookup and the recording of
//! its answer unseen by both.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use dashmap::DashMap;

use super::grid::{Grid, GridKey, MAX_RINGS, RingBounds};
use crate::domain::AccountId;
use crate::geo::{LatLng, distance_m};
use crate::privacy::ShownPosition;

mod answer;
mod officer_change;

pub(crate) use answer::AnswerRules;
pub(crate) use officer_change::OfficerChange;

/// An available officer as the index keeps it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OfficerEntry<W> {
    /// The officer.
    pub(crate) account_id: AccountId,
    /// Opaque handle shown to citizens, stable for the availability window.
    pub(crate) handle: Arc<str>,
    /// Name shown to citizens.
    pub(crate) display_name: Arc<str>,
    /// Where citizens may see the officer: its cell's centre, never the precise
    /// fix, so every answer computed from the index is one a citizen may know.
    pub(crate) position: ShownPosition,
    /// End of the availability window (Unix ms).
    pub(crate) available_until_ms: i64,
    /// Presence version of this entry.
    pub(crate) version: u64,
    /// The officer's session.
    pub(crate) session: W,
}

/// The answer to a nearest query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NearestOfficer<W> {
    /// The officer.
    pub(crate) officer: OfficerEntry<W>,
    /// Great-circle distance from the query point to the officer's shown
    /// position, metres.
    pub(crate) distance_m: f64,
}

/// A located citizen.
#[derive(Debug, Clone)]
struct CitizenRecord<W> {
    position: LatLng,
    version: u64,
    session: W,
    /// The officer last answered as nearest, and its distance then.
    nearest: Option<(AccountId, f64)>,
}

/// Whether a versioned write took effect.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Applied<T> {
    /// It did; the value it replaced or removed, if any.
    Yes(Option<T>),
    /// A newer write for the same account already happened; nothing changed.
    Stale,
}

/// Fine rings searched before the coarse grid takes over (about 330 m).
const FINE_RINGS: u32 = 3;

/// Positions bucketed by grid cell.
type Buckets = DashMap<GridKey, Vec<(AccountId, LatLng)>>;

/// A located citizen in the citizen grid, with its answer's distance.
#[derive(Debug, Clone, Copy)]
struct CitizenSlot {
    account_id: AccountId,
    position: LatLng,
    /// Distance to the officer last answered (infinite: none), metres.
    answer_m: f64,
}

/// A radius a hair below the one distances are computed with: the latitude gap
/// times it never exceeds a true distance, whatever the rounding.
const LAT_BOUND_RADIUS_M: f64 = 6_371_000.0;

/// Entry counts, for stats and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct IndexCounts {
    /// Available officers placed on the map.
    pub(crate) officers: usize,
    /// Citizens with a known position.
    pub(crate) citizens: usize,
}

/// What a sweep dropped, and who must recheck because of it.
#[derive(Debug)]
pub(crate) struct Swept<W> {
    /// Officers and citizens dropped.
    pub(crate) counts: IndexCounts,
    /// Citizens whose answer may have changed.
    pub(crate) recheck: Vec<W>,
}

/// Officers and citizens of this node, by position.
#[derive(Debug)]
pub(crate) struct PresenceIndex<W> {
    /// Available officers by account.
    officers: DashMap<AccountId, OfficerEntry<W>>,
    /// Officer account by the handle citizens see (for `request_connection`).
    handles: DashMap<Arc<str>, AccountId>,
    /// Officer positions in the fine grid.
    officers_fine: Buckets,
    /// Officer positions in the coarse grid.
    officers_coarse: Buckets,
    /// Located citizens by account.
    citizens: DashMap<AccountId, CitizenRecord<W>>,
    /// Citizens in the coarse grid.
    citizen_grid: DashMap<GridKey, Vec<CitizenSlot>>,
    /// Officer → citizens whose last answer was that officer.
    watchers: DashMap<AccountId, HashSet<AccountId>>,
    /// Version of the last removal per account, so late writes stay removed.
    tombstones: DashMap<AccountId, u64>,
    /// Source of presence versions.
    next_version: AtomicU64,
    /// Held exclusively while an officer change is applied and the citizens it
    /// affects are found, shared while a citizen's answer is looked up and
    /// recorded (see the module doc).
    answers: RwLock<()>,
}

impl<W: Clone> Default for PresenceIndex<W> {
    fn default() -> Self {
        Self::new()
    }
}

impl<W: Clone> PresenceIndex<W> {
    /// An empty index.
    pub(crate) fn new() -> Self {
        Self {
            officers: DashMap::new(),
            handles: DashMap::new(),
            officers_fine: DashMap::new(),
            officers_coarse: DashMap::new(),
            citizens: DashMap::new(),
            citizen_grid: DashMap::new(),
            watchers: DashMap::new(),
            tombstones: DashMap::new(),
            next_version: AtomicU64::new(1),
            answers: RwLock::new(()),
        }
    }

    /// A version newer than every version handed out or applied before (sessions
    /// stamp each presence command with one). Versions follow the wall clock in
    /// microseconds, so versions from different nodes compare: an officer who
    /// reconnects to another node writes over its old entry there.
    pub(crate) fn next_version(&self) -> u64 {
        let now_us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_micros() as u64);
        let previous = self
            .next_version
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |next| {
                Some(next.max(now_us) + 1)
            })
            .unwrap_or_else(|current| current);
        previous.max(now_us)
    }

    /// Keeps versions this node hands out above `version` (seen from elsewhere).
    fn observe_version(&self, version: u64) {
        self.next_version
            .fetch_max(version.saturating_add(1), Ordering::Relaxed);
    }

    /// Account and version of every officer whose session `matches` says so.
    pub(crate) fn officers_where(&self, matches: impl Fn(&W) -> bool) -> Vec<(AccountId, u64)> {
        self.officers
            .iter()
            .filter(|entry| matches(&entry.session))
            .map(|entry| (entry.account_id, entry.version))
            .collect()
    }

    /// Places or moves an officer. The grid slots move while the entry is
    /// locked, so two writers of one officer never leave a stale slot behind.
    fn upsert_officer(&self, entry: OfficerEntry<W>) -> Applied<OfficerEntry<W>> {
        self.observe_version(entry.version);
        if self.is_tombstoned(entry.account_id, entry.version) {
            return Applied::Stale;
        }
        let account_id = entry.account_id;
        let point = entry.position.point();
        let handle = entry.handle.clone();
        let version = entry.version;
        let previous = match self.officers.entry(account_id) {
            dashmap::Entry::Occupied(mut occupied) => {
                if occupied.get().version >= version {
                    return Applied::Stale;
                }
                let old = occupied.insert(entry);
                self.unplace_officer(account_id, old.position.point());
                if old.handle != handle {
                    self.forget_handle(&old.handle, account_id);
                }
                self.place_officer(account_id, point, handle);
                Some(old)
            }
            dashmap::Entry::Vacant(vacant) => {
                vacant.insert(entry);
                self.place_officer(account_id, point, handle);
                None
            }
        };
        if self.is_tombstoned(account_id, version) {
            // A removal with a newer version raced this write: it wins.
            self.remove_officer(account_id, version);
            return Applied::Stale;
        }
        Applied::Yes(previous)
    }

    /// Removes an officer, unless a newer write happened.
    fn remove_officer(&self, account_id: AccountId, version: u64) -> Applied<OfficerEntry<W>> {
        self.observe_version(version);
        self.tombstone(account_id, version);
        match self.officers.entry(account_id) {
            dashmap::Entry::Occupied(occupied) => {
                if occupied.get().version > version {
                    return Applied::Stale;
                }
                let old = occupied.remove();
                self.unplace_officer(account_id, old.position.point());
                self.forget_handle(&old.handle, account_id);
                Applied::Yes(Some(old))
            }
            dashmap::Entry::Vacant(_) => Applied::Yes(None),
        }
    }

    /// The officer's current entry.
    pub(crate) fn officer(&self, account_id: AccountId) -> Option<OfficerEntry<W>> {
        self.officers.get(&account_id).map(|entry| entry.clone())
    }

    /// The available officer citizens see under `handle`.
    pub(crate) fn officer_by_handle(&self, handle: &str) -> Option<OfficerEntry<W>> {
        let account_id = *self.handles.get(handle)?;
        self.officer(account_id)
            .filter(|entry| entry.handle.as_ref() == handle)
    }

    /// The nearest available officer within `max_radius_m` of `point`; ties go to
    /// the smaller account id, so every caller gets the same answer.
    pub(crate) fn nearest_officer(
        &self,
        point: LatLng,
        max_radius_m: f64,
    ) -> Option<NearestOfficer<W>> {
        let mut best: Option<(f64, AccountId)> = None;
        let settled = search(
            Grid::FINE,
            &self.officers_fine,
            point,
            max_radius_m,
            FINE_RINGS,
            &mut best,
        );
        if !settled {
            search(
                Grid::COARSE,
                &self.officers_coarse,
                point,
                max_radius_m,
                MAX_RINGS,
                &mut best,
            );
        }
        let (_, account_id) = best?;
        // Outside `answer_citizen` an officer may leave between the grid scan and
        // this read; inside it no officer changes at all.
        let officer = self.officer(account_id)?;
        Some(NearestOfficer {
            distance_m: distance_m(point, officer.position.point()),
            officer,
        })
    }

    /// Places or moves a citizen.
    pub(crate) fn upsert_citizen(
        &self,
        account_id: AccountId,
        position: LatLng,
        version: u64,
        session: W,
    ) -> Applied<LatLng> {
        if self.is_tombstoned(account_id, version) {
            return Applied::Stale;
        }
        let previous = match self.citizens.entry(account_id) {
            dashmap::Entry::Occupied(mut occupied) => {
                let record = occupied.get_mut();
                if record.version >= version {
                    return Applied::Stale;
                }
                let old = record.position;
                record.position = position;
                record.version = version;
                record.session = session;
                Some(old)
            }
            dashmap::Entry::Vacant(vacant) => {
                vacant.insert(CitizenRecord {
                    position,
                    version,
                    session,
                    nearest: None,
                });
                None
            }
        };
        let answer_m = match previous {
            Some(old) => take_citizen_slot(&self.citizen_grid, old, account_id)
                .map_or(f64::INFINITY, |slot| slot.answer_m),
            None => f64::INFINITY,
        };
        self.citizen_grid
            .entry(Grid::COARSE.key(position))
            .or_default()
            .push(CitizenSlot {
                account_id,
                position,
                answer_m,
            });
        Applied::Yes(previous)
    }

    /// Removes a citizen, unless a newer write happened.
    pub(crate) fn remove_citizen(&self, account_id: AccountId, version: u64) -> Applied<LatLng> {
        self.tombstone(account_id, version);
        match self
            .citizens
            .remove_if(&account_id, |_, record| record.version <= version)
        {
            Some((_, old)) => {
                take_citizen_slot(&self.citizen_grid, old.position, account_id);
                if let Some((officer, _)) = old.nearest {
                    self.unwatch(officer, account_id);
                }
                Applied::Yes(Some(old.position))
            }
            None if self.citizens.contains_key(&account_id) => Applied::Stale,
            None => Applied::Yes(None),
        }
    }

    /// Records the answer a citizen was last given, so officer changes reach the
    /// citizens they can affect.
    fn set_citizen_nearest(&self, citizen: AccountId, nearest: Option<(AccountId, f64)>) {
        let (previous, position) = match self.citizens.get_mut(&citizen) {
            Some(mut record) => (
                std::mem::replace(&mut record.nearest, nearest),
                record.position,
            ),
            None => return,
        };
        if let Some(mut bucket) = self.citizen_grid.get_mut(&Grid::COARSE.key(position))
            && let Some(slot) = bucket.iter_mut().find(|slot| slot.account_id == citizen)
        {
            slot.answer_m = nearest.map_or(f64::INFINITY, |(_, distance)| distance);
        }
        if previous.map(|(officer, _)| officer) == nearest.map(|(officer, _)| officer) {
            return;
        }
        if let Some((officer, _)) = previous {
            self.unwatch(officer, citizen);
        }
        if let Some((officer, _)) = nearest {
            self.watchers.entry(officer).or_default().insert(citizen);
        }
    }

    /// Sessions of the citizens whose answer may change because `officer` appeared
    /// at, left or moved between `shown` positions: those whose answer is that
    /// officer, and those within `max_radius_m` of a position that is at least as
    /// close to them as their current answer. Each citizen's grid slot carries
    /// its answer's distance, and the latitude gap alone bounds a distance from
    /// below, so most citizens of the rings scanned cost two subtractions.
    fn citizens_to_recheck(
        &self,
        officer: AccountId,
        shown: &[ShownPosition],
        max_radius_m: f64,
    ) -> Vec<W> {
        let mut affected: Vec<AccountId> = self
            .watchers
            .get(&officer)
            .map(|watching| watching.iter().copied().collect())
            .unwrap_or_default();
        let grid = Grid::COARSE;
        for position in shown.iter().map(|position| position.point()) {
            let center = grid.key(position);
            let lat_radians = position.lat().to_radians();
            for ring in 0..=grid.rings_covering(position, max_radius_m) {
                for key in grid.ring_cells(center, ring) {
                    let Some(bucket) = self.citizen_grid.get(&key) else {
                        continue;
                    };
                    for slot in bucket.iter() {
                        let reach_m = slot.answer_m.min(max_radius_m);
                        let lat_gap_m = (slot.position.lat().to_radians() - lat_radians).abs()
                            * LAT_BOUND_RADIUS_M;
                        if lat_gap_m <= reach_m && distance_m(position, slot.position) <= reach_m {
                            affected.push(slot.account_id);
                        }
                    }
                }
            }
        }
        affected.sort_unstable();
        affected.dedup();
        affected
            .into_iter()
            .filter_map(|citizen| {
                self.citizens
                    .get(&citizen)
                    .map(|record| record.session.clone())
            })
            .collect()
    }

    /// How many officers and citizens are placed.
    pub(crate) fn counts(&self) -> IndexCounts {
        IndexCounts {
            officers: self.officers.len(),
            citizens: self.citizens.len(),
        }
    }

    /// Drops every entry whose session `is_alive` says is gone (sessions that died
    /// without cleaning up): how many officers and citizens were dropped, and the
    /// citizens whose answer named or may now miss a dropped officer.
    pub(crate) fn sweep(&self, is_alive: impl Fn(&W) -> bool, max_radius_m: f64) -> Swept<W> {
        let dead_officers: Vec<(AccountId, u64)> = self
            .officers
            .iter()
            .filter(|entry| !is_alive(&entry.session))
            .map(|entry| (entry.account_id, entry.version))
            .collect();
        let dead_citizens: Vec<(AccountId, u64)> = self
            .citizens
            .iter()
            .filter(|record| !is_alive(&record.session))
            .map(|record| (*record.key(), record.version))
            .collect();
        for (account_id, version) in &dead_citizens {
            self.remove_citizen(*account_id, *version);
        }
        let mut recheck = Vec::new();
        for (account_id, version) in &dead_officers {
            let change = OfficerChange::Remove {
                account_id: *account_id,
                version: *version,
            };
            recheck.extend(self.apply_officer_change(change, max_radius_m).recheck);
        }
        Swept {
            counts: IndexCounts {
                officers: dead_officers.len(),
                citizens: dead_citizens.len(),
            },
            recheck,
        }
    }

    /// Removes the account's citizen entry if it belongs to a session `is_dead`
    /// says is gone (a newer session of the same account keeps its own), and
    /// answers the version of its officer entry if that belongs to such a
    /// session too: removing it is an officer change for the caller to apply.
    pub(crate) fn dead_entries_of(
        &self,
        account_id: AccountId,
        is_dead: impl Fn(&W) -> bool,
    ) -> Option<u64> {
        let citizen_version = self
            .citizens
            .get(&account_id)
            .filter(|record| is_dead(&record.session))
            .map(|record| record.version);
        if let Some(version) = citizen_version {
            self.remove_citizen(account_id, version);
        }
        self.officers
            .get(&account_id)
            .filter(|entry| is_dead(&entry.session))
            .map(|entry| entry.version)
    }

    /// Forgets removal versions below `version` (reordering windows are short;
    /// this keeps the tombstone map from growing without bound).
    pub(crate) fn forget_tombstones_before(&self, version: u64) {
        self.tombstones.retain(|_, removed| *removed >= version);
    }

    fn is_tombstoned(&self, account_id: AccountId, version: u64) -> bool {
        self.tombstones
            .get(&account_id)
            .is_some_and(|removed| *removed >= version)
    }

    fn tombstone(&self, account_id: AccountId, version: u64) {
        let mut removed = self.tombstones.entry(account_id).or_insert(version);
        if *removed < version {
            *removed = version;
        }
    }

    fn place_officer(&self, account_id: AccountId, position: LatLng, handle: Arc<str>) {
        self.handles.insert(handle, account_id);
        for (grid, buckets) in [
            (Grid::FINE, &self.officers_fine),
            (Grid::COARSE, &self.officers_coarse),
        ] {
            buckets
                .entry(grid.key(position))
                .or_default()
                .push((account_id, position));
        }
    }

    fn unplace_officer(&self, account_id: AccountId, position: LatLng) {
        remove_slot(&self.officers_fine, Grid::FINE.key(position), account_id);
        remove_slot(
            &self.officers_coarse,
            Grid::COARSE.key(position),
            account_id,
        );
    }

    fn forget_handle(&self, handle: &str, account_id: AccountId) {
        self.handles
            .remove_if(handle, |_, owner| *owner == account_id);
    }

    fn unwatch(&self, officer: AccountId, citizen: AccountId) {
        if let Some(mut watching) = self.watchers.get_mut(&officer) {
            watching.remove(&citizen);
            if watching.is_empty() {
                drop(watching);
                self.watchers
                    .remove_if(&officer, |_, watching| watching.is_empty());
            }
        }
    }
}

/// Expands rings of `grid` around `point` up to `max_rings`, improving `best`
/// (distance, then smaller account id). Returns true when the search is settled:
/// no ring beyond the last one searched can hold anything closer.
fn search(
    grid: Grid,
    buckets: &Buckets,
    point: LatLng,
    max_radius_m: f64,
    max_rings: u32,
    best: &mut Option<(f64, AccountId)>,
) -> bool {
    let center = grid.key(point);
    let bounds = RingBounds::around(grid, point);
    for ring in 0..=max_rings {
        let limit = best.map_or(max_radius_m, |(distance, _)| distance.min(max_radius_m));
        if bounds.ring_lower_bound_m(ring) > limit {
            return true;
        }
        for key in grid.ring_cells(center, ring) {
            let Some(bucket) = buckets.get(&key) else {
                continue;
            };
            for (account_id, position) in bucket.iter() {
                let distance = distance_m(point, *position);
                if distance > max_radius_m {
                    continue;
                }
                let better = match *best {
                    None => true,
                    Some((best_distance, best_account)) => {
                        distance < best_distance
                            || (distance == best_distance && *account_id < best_account)
                    }
                };
                if better {
                    *best = Some((distance, *account_id));
                }
            }
        }
    }
    let limit = best.map_or(max_radius_m, |(distance, _)| distance.min(max_radius_m));
    bounds.ring_lower_bound_m(max_rings + 1) > limit
}

/// Removes and answers a citizen's slot from the bucket of `position`.
fn take_citizen_slot(
    grid: &DashMap<GridKey, Vec<CitizenSlot>>,
    position: LatLng,
    account_id: AccountId,
) -> Option<CitizenSlot> {
    let key = Grid::COARSE.key(position);
    let mut bucket = grid.get_mut(&key)?;
    let at = bucket
        .iter()
        .position(|slot| slot.account_id == account_id)?;
    let slot = bucket.swap_remove(at);
    if bucket.is_empty() {
        drop(bucket);
        grid.remove_if(&key, |_, bucket| bucket.is_empty());
    }
    Some(slot)
}

fn remove_slot(grid: &Buckets, key: GridKey, account_id: AccountId) {
    if let Some(mut bucket) = grid.get_mut(&key) {
        bucket.retain(|(slot, _)| *slot != account_id);
        if bucket.is_empty() {
            drop(bucket);
            grid.remove_if(&key, |_, bucket| bucket.is_empty());
        }
    }
}

#[cfg(test)]
mod tests;
