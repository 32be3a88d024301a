//! Established connections, exactly once. Given an accepted request, `establish`
//! runs idempotent steps keyed by the request id: insert the connection record
//! (or reuse the one a previous attempt wrote), append each rewarded person's
//! ledger credit (an id derived from the request id and the account, so a retry is
//! a duplicate), append each person's `connection_established` profile event
//! (written only if the log does not hold it yet), award trophies (insert-if-
//! absent, then the event the same way), and mark the record complete. Any step
//! may fail; re-running the whole flow — a retried accept, a racing duplicate, or
//! the recovery pass over incomplete records — converges to exactly one of each.

use std::collections::HashSet;
use std::sync::Arc;

use uuid::Uuid;

use crate::clock::Clock;
use crate::config::{ConnectionsConfig, PresenceConfig};
use crate::domain::connection::{
    ConnectionMode, Observed, RewardHistory, RewardRules, RewardWithheld, co_location_failure,
    connection_credit_id, decide_rewards, utc_day,
};
use crate::domain::profile::ProfileEventKind;
use crate::domain::trophies::{CountedConnection, TrophyId};
use crate::domain::trophy_marks::TrophyMarks;
use crate::domain::{AccountId, Role};
use crate::geo;
use crate::profiles::{ProfileError, Profiles};
use crate::store::{
    AwardOutcome, ConnectionCursor, ConnectionParty, ConnectionRecord, InsertConnectionOutcome,
    LedgerAppend, LedgerEntry, LedgerReason, NewLedgerEntry, PairRewardClaim, Store, StoreError,
    TrophyAward,
};

/// How far before a record's (or award's) time the profile log is searched for an
/// earlier copy of its event: covers clock skew between the writer and the record.
const IDEMPOTENCY_WINDOW_MS: i64 = 15 * 60_000;
/// Incomplete records finished per recovery batch.
const RECOVERY_BATCH: usize = 100;
/// Largest page of ledger entries or connections a client may ask for.
pub(crate) const MAX_PAGE: usize = 100;

/// The reward rules of the configuration.
pub(crate) fn reward_rules(
    presence: &PresenceConfig,
    connections: &ConnectionsConfig,
) -> RewardRules {
    let hour_ms = 3_600_000_i64;
    RewardRules {
        co_location_required: true,
        nearby_threshold_m: presence.nearby_threshold_meters,
        position_max_age_ms: i64::try_from(connections.position_max_age_seconds)
            .unwrap_or(i64::MAX / 1_000)
            .saturating_mul(1_000),
        pair_cooldown_ms: i64::try_from(connections.pair_cooldown_hours)
            .unwrap_or(0)
            .saturating_mul(hour_ms),
        daily_rewarded_connections: connections.daily_rewarded_connections,
        citizen_points: connections.citizen_points_per_connection,
        officer_points: connections.officer_points_per_connection,
    }
}

/// The reward rules of virtual connections: no co-location, their own points,
/// daily cap (counted against all of the day's rewarded connections) and pair
/// cooldown.
pub(crate) fn virtual_reward_rules(
    presence: &PresenceConfig,
    connections: &ConnectionsConfig,
) -> RewardRules {
    let hour_ms = 3_600_000_i64;
    RewardRules {
        co_location_required: false,
        pair_cooldown_ms: i64::try_from(connections.virtual_pair_cooldown_hours)
            .unwrap_or(0)
            .saturating_mul(hour_ms),
        daily_rewarded_connections: connections.virtual_daily_rewarded_connections,
        citizen_points: connections.virtual_points_per_connection,
        officer_points: connections.virtual_points_per_connection,
        ..reward_rules(presence, connections)
    }
}

/// Why establishing (or recovering) a connection failed; re-running is safe.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectionError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A profile event could not be appended.
    #[error(transparent)]
    Profile(#[from] ProfileError),
}

/// What one recovery pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RecoveryPass {
    /// Records finished.
    pub(crate) finished: usize,
    /// Records that failed and were skipped (retried by the next pass).
    pub(crate) failed: usize,
}

/// An accepted request, as the request actor hands it over.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AcceptedRequest {
    /// The request id: the connection id and the idempotency key of every write.
    pub(crate) request_id: Uuid,
    /// The citizen who asked.
    pub(crate) citizen: AccountId,
    /// The officer who accepted.
    pub(crate) officer: AccountId,
    /// In person or virtual: which reward rules apply.
    pub(crate) mode: ConnectionMode,
    /// When the officer accepted (Unix ms).
    pub(crate) accepted_at_ms: i64,
    /// The citizen's last server-observed position.
    pub(crate) citizen_seen: Option<Observed>,
    /// The officer's last server-observed position.
    pub(crate) officer_seen: Option<Observed>,
}

/// What one person gets told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartyOutcome {
    /// The person.
    pub(crate) account_id: AccountId,
    /// Points credited for the connection.
    pub(crate) points: i64,
    /// Why none were, when none were.
    pub(crate) withheld: Option<RewardWithheld>,
    /// Balance after the flow.
    pub(crate) balance: i64,
    /// Trophies this run awarded.
    pub(crate) new_trophies: Vec<TrophyId>,
}

/// An established connection and what each side gets told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Established {
    /// The durable record.
    pub(crate) record: ConnectionRecord,
    /// The citizen's side.
    pub(crate) citizen: PartyOutcome,
    /// The officer's side.
    pub(crate) officer: PartyOutcome,
}

/// Writes connections, credits, events and trophies; answers the REST queries.
#[derive(Debug, Clone)]
pub(crate) struct Connections {
    /// Records, ledger, trophies.
    store: Arc<dyn Store>,
    /// Profile events.
    profiles: Profiles,
    /// Award times.
    clock: Clock,
    /// Who is rewarded for an in-person connection.
    rules: RewardRules,
    /// Who is rewarded for a virtual connection.
    virtual_rules: RewardRules,
}

impl Connections {
    /// The store it writes to (shared with the writers of other report
    /// records).
    pub(crate) fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// The service over `store`.
    pub(crate) fn new(
        store: Arc<dyn Store>,
        profiles: Profiles,
        clock: Clock,
        rules: RewardRules,
    ) -> Self {
        Self {
            store,
            profiles,
            clock,
            rules,
            virtual_rules: virtual_reward_rules(
                &PresenceConfig::default(),
                &ConnectionsConfig::default(),
            ),
        }
    }

    /// The same service with `rules` for virtual connections.
    pub(crate) fn with_virtual_rules(self, rules: RewardRules) -> Self {
        Self {
            virtual_rules: rules,
            ..self
        }
    }

    /// The rules of connections of `mode`.
    fn rules_for(&self, mode: ConnectionMode) -> &RewardRules {
        match mode {
            ConnectionMode::InPerson => &self.rules,
            ConnectionMode::Virtual => &self.virtual_rules,
        }
    }

    /// Establishes the connection of an accepted request (idempotent).
    pub(crate) async fn establish(
        &self,
        accepted: &AcceptedRequest,
    ) -> Result<Established, ConnectionError> {
        let record = self.record_for(accepted).await?;
        self.finish(&record).await
    }

    /// Finishes every record whose credits are incomplete (after a crash or a
    /// store failure mid-way). A record that fails is logged, counted and
    /// skipped for the rest of the pass (the next pass tries it again), so one
    /// record that cannot be finished does not hold up the others. Fails only
    /// when the incomplete records cannot be listed.
    pub(crate) async fn recover(&self) -> Result<RecoveryPass, ConnectionError> {
        let mut pass = RecoveryPass::default();
        let mut failed_ids: HashSet<Uuid> = HashSet::new();
        loop {
            // Failed records stay incomplete and are listed again: ask for
            // enough to see a full batch past them.
            let wanted = RECOVERY_BATCH + failed_ids.len();
            let listed = self
                .store
                .incomplete_connections(self.clock.now_ms(), wanted)
                .await?;
            let listed_all = listed.len() < wanted;
            let mut progressed = false;
            for record in &listed {
                if failed_ids.contains(&record.connection_id) {
                    continue;
                }
                progressed = true;
                match self.finish(record).await {
                    Ok(_) => pass.finished += 1,
                    Err(error) => {
                        tracing::warn!(
                            connection_id = %record.connection_id,
                            %error,
                            "incomplete connection not finished; the next pass retries it"
                        );
                        crate::metrics::connection_recovery_failed();
                        failed_ids.insert(record.connection_id);
                        pass.failed += 1;
                    }
                }
            }
            if listed_all || !progressed {
                return Ok(pass);
            }
        }
    }

    /// The balance and a page of the ledger, newest first.
    pub(crate) async fn points(
        &self,
        account_id: AccountId,
        before_seq: Option<u64>,
        limit: usize,
    ) -> Result<(i64, Vec<LedgerEntry>), ConnectionError> {
        let entries = self
            .store
            .ledger_page(account_id, before_seq, limit.clamp(1, MAX_PAGE))
            .await?;
        Ok((self.store.balance(account_id).await?, entries))
    }

    /// Queues a push notification to an officer whose app could not be
    /// told on a socket of request `request_id` (it matters until
    /// `expires_at_ms`).
    pub(crate) fn push_unreachable_request(
        &self,
        officer: AccountId,
        request_id: Uuid,
        expires_at_ms: i64,
    ) {
        crate::outbox::push::queue(
            &self.store,
            officer,
            crate::outbox::message::PushKind::ConnectionRequested,
            request_id,
            self.clock.now_ms(),
            expires_at_ms,
        );
    }

    /// A page of the person's connections, newest first.
    pub(crate) async fn connections(
        &self,
        account_id: AccountId,
        before: Option<ConnectionCursor>,
        limit: usize,
    ) -> Result<Vec<ConnectionRecord>, ConnectionError> {
        Ok(self
            .store
            .connections_of(account_id, before, limit.clamp(1, MAX_PAGE))
            .await?)
    }

    /// The person's trophies, oldest first.
    pub(crate) async fn trophies(
        &self,
        account_id: AccountId,
    ) -> Result<Vec<TrophyAward>, ConnectionError> {
        Ok(self.store.trophies_of(account_id).await?)
    }

    /// The stored record, or a new one with the rewards decided now.
    async fn record_for(
        &self,
        accepted: &AcceptedRequest,
    ) -> Result<ConnectionRecord, ConnectionError> {
        if let Some(existing) = self.store.connection(accepted.request_id).await? {
            return Ok(existing);
        }
        let history = self.claim_rewards(accepted).await?;
        let (citizen, officer) = decide_rewards(
            self.rules_for(accepted.mode),
            accepted.accepted_at_ms,
            accepted.citizen_seen,
            accepted.officer_seen,
            history,
        );
        // Where it happened is the officer's observed place, coarsened to a
        // resolution-7 cell whose centre also gives the ZIP, so the ZIP never
        // narrows the place; without an officer position the record says
        // nothing rather than borrowing the citizen's.
        let place = accepted
            .officer_seen
            .map(|seen| geo::record_cell(seen.position));
        let record = ConnectionRecord {
            connection_id: accepted.request_id,
            citizen: ConnectionParty {
                account_id: accepted.citizen,
                points: citizen.points,
                withheld: citizen.withheld,
            },
            officer: ConnectionParty {
                account_id: accepted.officer,
                points: officer.points,
                withheld: officer.withheld,
            },
            established_at_ms: accepted.accepted_at_ms,
            mode: accepted.mode,
            cell_r7: place.map(u64::from),
            zip: place.and_then(geo::record_zip),
        };
        match self.store.insert_connection(&record).await? {
            InsertConnectionOutcome::Inserted => {
                crate::metrics::connection_established(&record);
                Ok(record)
            }
            InsertConnectionOutcome::Exists(existing) => Ok(*existing),
        }
    }

    /// Claims, in the store, what a reward of this connection needs: the pair's
    /// reward, then each person's slot of the day. The claims are conditional
    /// writes under the connection id, so the rules hold across nodes and a
    /// retry finds its own claims. Returns the history the rules read: a
    /// refused claim reads as a pair rewarded just now or a day already full.
    /// Nothing is claimed when co-location fails; the pair's claim is given
    /// back when neither person got a slot. A claim a crash leaves behind
    /// (before the record is written) withholds one reward, never grants one.
    async fn claim_rewards(
        &self,
        accepted: &AcceptedRequest,
    ) -> Result<RewardHistory, ConnectionError> {
        let rules = self.rules_for(accepted.mode);
        let cap = rules.daily_rewarded_connections;
        let refused = RewardHistory {
            pair_last_rewarded_ms: Some(accepted.accepted_at_ms),
            citizen_rewarded_today: cap,
            officer_rewarded_today: cap,
        };
        if co_location_failure(
            rules,
            accepted.accepted_at_ms,
            accepted.citizen_seen,
            accepted.officer_seen,
        )
        .is_some()
        {
            return Ok(refused);
        }
        // The facts of written records lag the claims, never lead them: when
        // they already refuse, no claim is needed.
        let recorded_pair_reward = self
            .store
            .last_rewarded_pair_connection_ms(accepted.citizen, accepted.officer)
            .await?;
        if recorded_pair_reward
            .is_some_and(|last| accepted.accepted_at_ms - last < rules.pair_cooldown_ms)
        {
            return Ok(refused);
        }
        let pair = PairRewardClaim {
            first: accepted.citizen,
            second: accepted.officer,
            connection_id: accepted.request_id,
            at_ms: accepted.accepted_at_ms,
            cooldown_ms: rules.pair_cooldown_ms,
        };
        if !self.store.claim_pair_reward(&pair).await? {
            return Ok(refused);
        }
        let day = utc_day(accepted.accepted_at_ms);
        let citizen_held = self.claim_day_slot(accepted.citizen, day, accepted).await?;
        let officer_held = self.claim_day_slot(accepted.officer, day, accepted).await?;
        if !citizen_held && !officer_held {
            self.store
                .release_pair_reward(accepted.citizen, accepted.officer, accepted.request_id)
                .await?;
        }
        Ok(RewardHistory {
            pair_last_rewarded_ms: None,
            citizen_rewarded_today: if citizen_held { 0 } else { cap },
            officer_rewarded_today: if officer_held { 0 } else { cap },
        })
    }

    /// Whether the connection holds one of the person's reward slots of the day.
    async fn claim_day_slot(
        &self,
        account_id: AccountId,
        day: i64,
        accepted: &AcceptedRequest,
    ) -> Result<bool, ConnectionError> {
        let cap = self.rules_for(accepted.mode).daily_rewarded_connections;
        if self
            .store
            .rewarded_connections_on_day(account_id, day)
            .await?
            >= cap
        {
            return Ok(false);
        }
        Ok(self
            .store
            .claim_daily_reward(account_id, day, cap, accepted.request_id)
            .await?)
    }

    /// The steps after the record, each idempotent, then the complete mark.
    async fn finish(&self, record: &ConnectionRecord) -> Result<Established, ConnectionError> {
        let citizen = self
            .finish_party(record, &record.citizen, Role::Officer)
            .await?;
        let officer = self
            .finish_party(record, &record.officer, Role::Citizen)
            .await?;
        self.store.complete_connection(record).await?;
        Ok(Established {
            record: record.clone(),
            citizen,
            officer,
        })
    }

    async fn finish_party(
        &self,
        record: &ConnectionRecord,
        party: &ConnectionParty,
        peer_role: Role,
    ) -> Result<PartyOutcome, ConnectionError> {
        let connection_id = record.connection_id;
        // The balance right after this credit, when this run wrote it.
        let mut credited_balance = None;
        if party.points > 0 {
            let credit = NewLedgerEntry {
                entry_id: connection_credit_id(connection_id, party.account_id),
                account_id: party.account_id,
                at_ms: record.established_at_ms,
                delta: party.points,
                reason: LedgerReason::Connection,
                reference: Some(connection_id),
            };
            match self.store.append_ledger_entry(&credit).await? {
                LedgerAppend::Appended(entry) => {
                    crate::metrics::points_credited(peer_role, party.points);
                    credited_balance = Some(entry.balance_after);
                }
                LedgerAppend::Duplicate(_) | LedgerAppend::InsufficientBalance { .. } => {}
            }
        }
        self.profiles
            .append_once(
                party.account_id,
                ProfileEventKind::ConnectionEstablished {
                    connection_id,
                    peer_role,
                    points: party.points,
                    withheld: party.withheld,
                },
                |kind| {
                    matches!(kind, ProfileEventKind::ConnectionEstablished { connection_id: seen, .. } if *seen == connection_id)
                },
                record.established_at_ms - IDEMPOTENCY_WINDOW_MS,
            )
            .await?;
        let new_trophies = self.award_trophies(record, party).await?;
        Ok(PartyOutcome {
            account_id: party.account_id,
            points: party.points,
            withheld: party.withheld,
            balance: match credited_balance {
                Some(balance) => balance,
                None => self.store.balance(party.account_id).await?,
            },
            new_trophies,
        })
    }

    /// Awards what the person's rewarded connections up to this one qualify for.
    /// A trophy already held since an earlier connection is skipped: that
    /// connection's own run writes its event before the record is marked complete
    /// (and the recovery pass re-runs it otherwise), so only trophies not held yet,
    /// or held since this very connection (a retry), are looked at again.
    async fn award_trophies(
        &self,
        record: &ConnectionRecord,
        party: &ConnectionParty,
    ) -> Result<Vec<TrophyId>, ConnectionError> {
        if party.points == 0 {
            return Ok(Vec::new());
        }
        let held = self.store.trophies_of(party.account_id).await?;
        let open: Vec<TrophyId> = TrophyId::ALL
            .into_iter()
            .filter(|trophy| {
                held.iter()
                    .find(|award| award.trophy == *trophy)
                    .is_none_or(|award| award.connection_id == record.connection_id)
            })
            .collect();
        if open.is_empty() {
            return Ok(Vec::new());
        }
        let marks = self.count_toward_trophies(record, party).await?;
        let mut awarded_now = Vec::new();
        for trophy in marks
            .qualifying()
            .into_iter()
            .filter(|trophy| open.contains(trophy))
        {
            let award = TrophyAward {
                account_id: party.account_id,
                trophy,
                awarded_at_ms: self.clock.now_ms(),
                connection_id: record.connection_id,
            };
            let held = match self.store.award_trophy(&award).await? {
                AwardOutcome::Awarded => {
                    awarded_now.push(trophy);
                    award
                }
                AwardOutcome::AlreadyHeld(earlier) => earlier,
            };
            self.profiles
                .append_once(
                    party.account_id,
                    ProfileEventKind::TrophyAwarded {
                        trophy,
                        connection_id: held.connection_id,
                    },
                    |kind| {
                        matches!(kind, ProfileEventKind::TrophyAwarded { trophy: seen, .. } if *seen == trophy)
                    },
                    held.awarded_at_ms - IDEMPOTENCY_WINDOW_MS,
                )
                .await?;
        }
        Ok(awarded_now)
    }

    /// Counts `record` into the party's trophy marks and returns them. A
    /// person with no marks yet (new, or connected before marks existed) is
    /// counted from their recorded history, once; after that a check reads and
    /// writes a few marks, however long the history.
    async fn count_toward_trophies(
        &self,
        record: &ConnectionRecord,
        party: &ConnectionParty,
    ) -> Result<TrophyMarks, ConnectionError> {
        let mut marks = TrophyMarks::from_stored(self.store.trophy_marks(party.account_id).await?);
        let counted: Vec<CountedConnection> = if marks.is_empty() {
            self.store
                .connections_of(party.account_id, None, usize::MAX)
                .await?
                .into_iter()
                .rev()
                .filter_map(|past| counted_for(&past, party.account_id))
                .collect()
        } else {
            counted_for(record, party.account_id).into_iter().collect()
        };
        let before = marks.clone();
        for connection in &counted {
            marks.count(connection);
        }
        self.store
            .change_trophy_marks(party.account_id, &marks.changes_since(&before))
            .await?;
        Ok(marks)
    }
}

/// `record` as the trophy rules count it for `account`: only when it earned
/// `account` points.
fn counted_for(record: &ConnectionRecord, account: AccountId) -> Option<CountedConnection> {
    let mine = record.party(account)?;
    let peer = record.peer_of(account)?;
    (mine.points > 0).then(|| CountedConnection {
        connection_id: record.connection_id,
        at_ms: record.established_at_ms,
        peer: peer.account_id,
        zip: record.zip.clone(),
    })
}

#[cfg(test)]
pub(crate) mod failing_store;
#[cfg(test)]
mod property_tests;
#[cfg(test)]
mod race_tests;
#[cfg(test)]
mod tests;
