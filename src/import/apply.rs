//! Applying a committed run, and finishing the ones a process left behind.
//! Each staged chunk is written row by row (rows of a chunk concurrently),
//! then its external ids, then the run's count of applied chunks; every write
//! is an idempotent upsert (an offer is rewritten only if it differs), so a
//! chunk interrupted part way is simply applied again. Recovery, run when the
//! store is opened for serving or importing, applies every committed run to
//! the end and abandons runs that stopped staging long ago (their rows were
//! never visible).

use std::sync::Arc;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};

use super::entities::{StagedEntity, StagedOffer};
use super::officers::OfficerRow;
use super::pipeline::StagedRow;
use super::report::{ImportOutcome, ImportReport};
use crate::clock::Clock;
use crate::domain::catalog::{Charity, Retailer, Stamps};
use crate::domain::phone::PhoneRegions;
use crate::identity::keys::ServerKeys;
use crate::store::{ImportRef, ImportRun, ImportRunState, PhoneHash, Store, StoreError};

/// Rows of one chunk written at once (the embedded store commits the writes
/// waiting together; CQL runs them in parallel).
const APPLY_CONCURRENCY: usize = 32;
/// Times an offer replacement is recomputed when a redemption moved its
/// stock in between.
const OFFER_ATTEMPTS: usize = 5;
/// A run still staging this long after it started was left by a process
/// that died: recovery abandons it.
const STALE_STAGING_MS: i64 = 60 * 60 * 1_000;
/// Runs read per page by recovery.
const RECOVERY_PAGE: usize = 100;

/// What happens when an imported roster row marks an officer as gone.
#[async_trait]
pub(crate) trait OfficerDepartures: Send + Sync + std::fmt::Debug {
    /// The officer with this phone left the force: their account becomes a
    /// citizen's and their sign-ins (and so their sockets) end.
    async fn officer_left(&self, phone_hash: &PhoneHash) -> Result<(), StoreError>;
}

/// Everything a run needs.
#[derive(Debug, Clone)]
pub(crate) struct ApplyContext {
    /// Where rows go.
    pub(crate) store: Arc<dyn Store>,
    /// Hashes and seals phones.
    pub(crate) keys: Arc<ServerKeys>,
    /// How phone numbers are read (the server's default and served regions).
    pub(crate) phone_regions: PhoneRegions,
    /// Stamps records.
    pub(crate) clock: Clock,
    /// Ends the sessions of officers taken off the roster.
    pub(crate) departures: Arc<dyn OfficerDepartures>,
}

/// The report as stored with its run.
pub(crate) fn encode_report(report: &ImportReport) -> String {
    serde_json::to_string(report).unwrap_or_default()
}

/// Applies the staged chunks of the committed `run` from where it stopped,
/// then marks it applied and drops its staged rows.
pub(crate) async fn apply_run(
    context: &ApplyContext,
    run: &mut ImportRun,
) -> Result<(), StoreError> {
    debug_assert_eq!(run.state, ImportRunState::Committed);
    let kind = run.kind.clone();
    while run.applied_chunks < run.staged_chunks {
        let chunk = run.applied_chunks;
        if let Some(encoded) = context.store.staged_import_chunk(run.run_id, chunk).await? {
            let rows: Vec<StagedRow> = rmp_serde::from_slice(&encoded)
                .map_err(|error| StoreError::Corrupt(format!("staged import rows: {error}")))?;
            apply_rows(context, &rows).await?;
            let refs: Vec<(String, ImportRef)> = rows
                .iter()
                .map(|row| {
                    (
                        row.key.clone(),
                        ImportRef {
                            entity_id: row.entity_id,
                            content_sha256: row.content_sha256,
                        },
                    )
                })
                .collect();
            context.store.put_import_refs(&kind, &refs).await?;
        }
        run.applied_chunks = chunk + 1;
        context.store.put_import_run(run).await?;
    }
    run.state = ImportRunState::Applied;
    run.finished_at_ms = Some(context.clock.now_ms());
    run.report_json = with_outcome(&run.report_json, ImportOutcome::Applied);
    context.store.put_import_run(run).await?;
    context
        .store
        .drop_staged_import(run.run_id, run.staged_chunks)
        .await?;
    tracing::info!(run_id = %run.run_id, kind = %run.kind, "import applied");
    Ok(())
}

/// The stored report `report_json` with its outcome set to `outcome`.
fn with_outcome(report_json: &str, outcome: ImportOutcome) -> String {
    match serde_json::from_str::<ImportReport>(report_json) {
        Ok(mut report) => {
            report.outcome = outcome;
            encode_report(&report)
        }
        Err(_) => report_json.to_owned(),
    }
}

/// Finishes what interrupted runs left: applies committed runs, abandons
/// runs that stopped staging. Returns how many runs it finished.
pub(crate) async fn recover(context: &ApplyContext) -> Result<u64, StoreError> {
    let now_ms = context.clock.now_ms();
    let mut finished = 0;
    let mut before = None;
    loop {
        let page = context.store.import_runs(before, RECOVERY_PAGE).await?;
        let Some(last) = page.last() else {
            return Ok(finished);
        };
        before = Some(crate::store::ImportRunCursor {
            started_at_ms: last.started_at_ms,
            run_id: last.run_id,
        });
        let page_len = page.len();
        for mut run in page {
            match run.state {
                ImportRunState::Committed => {
                    tracing::info!(run_id = %run.run_id, kind = %run.kind, "applying an interrupted import");
                    apply_run(context, &mut run).await?;
                    finished += 1;
                }
                ImportRunState::Staging if now_ms - run.started_at_ms > STALE_STAGING_MS => {
                    run.state = ImportRunState::Abandoned;
                    run.finished_at_ms = Some(now_ms);
                    run.report_json = with_outcome(&run.report_json, ImportOutcome::Abandoned);
                    context.store.put_import_run(&run).await?;
                    context
                        .store
                        .drop_staged_import(run.run_id, run.staged_chunks)
                        .await?;
                    finished += 1;
                }
                ImportRunState::Staging
                | ImportRunState::Applied
                | ImportRunState::Rejected
                | ImportRunState::DryRun
                | ImportRunState::Abandoned => {}
            }
        }
        if page_len < RECOVERY_PAGE {
            return Ok(finished);
        }
    }
}

/// Writes one chunk's rows.
async fn apply_rows(context: &ApplyContext, rows: &[StagedRow]) -> Result<(), StoreError> {
    let now_ms = context.clock.now_ms();
    // Roster rows staying on the force go in one upsert per chunk.
    let on_roster: Vec<_> = rows
        .iter()
        .filter_map(|row| match &row.entity {
            StagedEntity::Officer(officer) if officer.active => Some(officer.roster_entry(now_ms)),
            StagedEntity::Officer(_)
            | StagedEntity::Retailer(_)
            | StagedEntity::Offer(_)
            | StagedEntity::Charity(_) => None,
        })
        .collect();
    if !on_roster.is_empty() {
        context.store.upsert_roster_entries(&on_roster).await?;
    }
    let offers: Vec<&StagedOffer> = rows
        .iter()
        .filter_map(|row| match &row.entity {
            StagedEntity::Offer(offer) => Some(offer),
            StagedEntity::Officer(_) | StagedEntity::Retailer(_) | StagedEntity::Charity(_) => None,
        })
        .collect();
    if !offers.is_empty() {
        apply_offers(context.store.as_ref(), &offers, now_ms).await?;
    }
    let writes: Vec<_> = rows
        .iter()
        .filter(|row| !matches!(row.entity, StagedEntity::Offer(_)))
        .map(|row| apply_row(context, &row.entity, now_ms))
        .collect();
    futures::stream::iter(writes)
        .buffer_unordered(APPLY_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// `staged` as it is written over `stored` at `now_ms`: the stored creation
/// time kept, `now_ms` as the new version's time; `None` when the stored
/// record already holds exactly it (an unchanged row is not rewritten).
fn restamped<T: Clone + PartialEq>(
    staged: &T,
    stored: Option<&T>,
    now_ms: i64,
    stamps_of: impl Fn(&T) -> Stamps,
    set_stamps: impl Fn(&mut T, Stamps),
) -> Option<T> {
    let kept = stored.map_or(
        Stamps {
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
        },
        &stamps_of,
    );
    let mut written = staged.clone();
    set_stamps(&mut written, kept);
    if stored == Some(&written) {
        return None;
    }
    set_stamps(
        &mut written,
        Stamps {
            created_at_ms: kept.created_at_ms,
            updated_at_ms: now_ms,
        },
    );
    Some(written)
}

/// Writes one row (active roster rows are written by the chunk).
async fn apply_row(
    context: &ApplyContext,
    entity: &StagedEntity,
    now_ms: i64,
) -> Result<(), StoreError> {
    let store = context.store.as_ref();
    match entity {
        StagedEntity::Officer(officer) => officer_departure(context, officer).await,
        StagedEntity::Retailer(retailer) => {
            let stored = store.retailer(retailer.id).await?;
            let stamps = |stored: &Retailer| Stamps {
                created_at_ms: stored.created_at_ms,
                updated_at_ms: stored.updated_at_ms,
            };
            let written = restamped(retailer, stored.as_ref(), now_ms, stamps, |row, stamps| {
                row.created_at_ms = stamps.created_at_ms;
                row.updated_at_ms = stamps.updated_at_ms;
            });
            match written {
                Some(written) => store.put_retailer(&written).await,
                None => Ok(()),
            }
        }
        StagedEntity::Charity(charity) => {
            let stored = store.charity(charity.id).await?;
            let stamps = |stored: &Charity| Stamps {
                created_at_ms: stored.created_at_ms,
                updated_at_ms: stored.updated_at_ms,
            };
            let written = restamped(charity, stored.as_ref(), now_ms, stamps, |row, stamps| {
                row.created_at_ms = stamps.created_at_ms;
                row.updated_at_ms = stamps.updated_at_ms;
            });
            match written {
                Some(written) => store.put_charity(&written).await,
                None => Ok(()),
            }
        }
        // Chunks write their offers in a batch; a lone offer is written alone.
        StagedEntity::Offer(offer) => apply_offer(store, offer, now_ms).await,
    }
}

/// Writes a chunk's offers in one batch (one transaction on the embedded
/// store): each read first, those that differ written conditionally together;
/// an offer whose stock moved in between is retried on its own.
async fn apply_offers(
    store: &dyn Store,
    offers: &[&StagedOffer],
    now_ms: i64,
) -> Result<(), StoreError> {
    let ids: Vec<_> = offers.iter().map(|offer| offer.id).collect();
    let previous = store.offers_by_id(&ids).await?;
    let mut batch = Vec::with_capacity(offers.len());
    let mut batched = Vec::with_capacity(offers.len());
    for (offer, previous) in offers.iter().zip(previous) {
        if previous
            .as_ref()
            .is_some_and(|previous| offer.matches(previous))
        {
            continue;
        }
        let stamps = Stamps {
            created_at_ms: previous
                .as_ref()
                .map_or(now_ms, |previous| previous.created_at_ms),
            updated_at_ms: now_ms,
        };
        match offer
            .draft()
            .into_offer(offer.id, stamps, previous.as_ref())
        {
            Ok(written) => {
                batch.push((written, previous));
                batched.push(*offer);
            }
            Err(error) => {
                tracing::warn!(offer_id = %offer.id, %error, "imported offer not applied");
            }
        }
    }
    let applied = store.put_offers(&batch).await?;
    for (offer, applied) in batched.into_iter().zip(applied) {
        if !applied {
            apply_offer(store, offer, now_ms).await?;
        }
    }
    Ok(())
}

/// An officer row marked inactive: off the roster, and their sessions end.
async fn officer_departure(context: &ApplyContext, officer: &OfficerRow) -> Result<(), StoreError> {
    if officer.active {
        return Ok(());
    }
    let phone_hash = PhoneHash(officer.phone_hash);
    context.store.remove_roster_entry(&phone_hash).await?;
    context.departures.officer_left(&phone_hash).await
}

/// Writes an offer unless the stored one already says the same, keeping the
/// stock already taken; conditional on the stored version, re-read on a
/// conflict with a redemption.
async fn apply_offer(
    store: &dyn Store,
    offer: &StagedOffer,
    now_ms: i64,
) -> Result<(), StoreError> {
    for _attempt in 0..OFFER_ATTEMPTS {
        let previous = store.offer(offer.id).await?;
        if previous
            .as_ref()
            .is_some_and(|previous| offer.matches(previous))
        {
            return Ok(());
        }
        let stamps = Stamps {
            created_at_ms: previous
                .as_ref()
                .map_or(now_ms, |previous| previous.created_at_ms),
            updated_at_ms: now_ms,
        };
        let written = match offer
            .draft()
            .into_offer(offer.id, stamps, previous.as_ref())
        {
            Ok(written) => written,
            Err(error) => {
                // Only the stock can make a validated row fail here: more units
                // were taken than the row's new total. The stored offer stays.
                tracing::warn!(offer_id = %offer.id, %error, "imported offer not applied");
                return Ok(());
            }
        };
        if store.put_offer(&written, previous.as_ref()).await? {
            return Ok(());
        }
    }
    tracing::warn!(offer_id = %offer.id, "imported offer not applied: its stock kept changing");
    Ok(())
}
