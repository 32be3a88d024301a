//! One import run, start to end: record the run, read the file on a blocking
//! thread, validate each batch of rows (checks of the row, then duplicate
//! keys, references and earlier imports, each read from the store once per
//! batch), stage the rows that change something in chunks under the run id,
//! and only then decide. Nothing is visible before the one write that marks
//! the run committed; after it the staged rows are applied (`apply`).

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::apply::{ApplyContext, apply_run, encode_report};
use super::check::merge_problems;
use super::entities::{Candidate, Issuer, StagedEntity, Validation, validate};
use super::report::{ImportOutcome, ImportReport, ProblemCode, RowProblem};
use super::schema::ImportKind;
use super::source::{ImportFormat, SourceEvent, read_source};
use crate::domain::catalog::{Area, check_scheme_area};
use crate::store::{ImportRef, ImportRun, ImportRunState, StoreError};

/// Rows staged in one chunk (one store write).
pub(crate) const STAGE_CHUNK_ROWS: usize = 1_000;
/// Batches the reading thread may run ahead of validation.
pub(super) const READ_AHEAD_BATCHES: usize = 4;

/// What the caller asks of a run.
#[derive(Debug, Clone)]
pub(crate) struct ImportRequest {
    /// What the file holds.
    pub(crate) kind: ImportKind,
    /// How it is written.
    pub(crate) format: ImportFormat,
    /// Write the valid rows even when others are invalid.
    pub(crate) skip_invalid: bool,
    /// Validate and report only.
    pub(crate) dry_run: bool,
    /// Who runs it, for the record.
    pub(crate) actor: String,
}

/// A valid row as staged: its key, the digest of its content, what it writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StagedRow {
    /// The external id (the phone's keyed hash, hex, for officers).
    pub(crate) key: String,
    /// SHA-256 of the row's content.
    pub(crate) content_sha256: [u8; 32],
    /// The entity's id (nil for officers).
    pub(crate) entity_id: Uuid,
    /// What it writes.
    pub(crate) entity: StagedEntity,
}

/// The state of a run while its file is read.
struct Run<'context> {
    /// Store, clock and the rest.
    context: &'context ApplyContext,
    /// What was asked.
    request: ImportRequest,
    /// The record being built.
    record: ImportRun,
    /// The report being built.
    report: ImportReport,
    /// First line of each key seen so far (duplicate keys), by a 96-bit
    /// digest of the key: 16 bytes an entry, so a million keys take about
    /// 34 MiB with the table's spare room; two of a million keys share a
    /// digest once in some 10^17 files.
    first_row_of_key: HashMap<KeyDigest, u32>,
    /// Retailers resolved so far: external id → retailer id (`None`: unknown).
    retailers: HashMap<String, Option<Uuid>>,
    /// Municipalities read so far: id → area (`None`: unknown).
    municipalities: HashMap<Uuid, Option<Area>>,
    /// Rows waiting to be staged.
    pending: Vec<StagedRow>,
    /// A problem of the file itself stops every write.
    fatal: bool,
}

/// Runs one import of `input`, read as `request.format` rows of
/// `request.kind`; `bytes_read` counts progress.
pub(crate) async fn run_import(
    context: &ApplyContext,
    request: ImportRequest,
    input: Box<dyn Read + Send>,
    bytes_read: Arc<AtomicU64>,
) -> Result<ImportReport, StoreError> {
    let run_id = Uuid::new_v4();
    let started_at_ms = context.clock.now_ms();
    let report = ImportReport {
        run_id,
        kind: request.kind,
        outcome: ImportOutcome::Staging,
        dry_run: request.dry_run,
        skip_invalid: request.skip_invalid,
        file_sha256: String::new(),
        bytes_read: 0,
        rows_read: 0,
        valid: 0,
        invalid: 0,
        created: 0,
        updated: 0,
        unchanged: 0,
        problems: Vec::new(),
        problems_omitted: 0,
        roster_size: None,
    };
    let record = ImportRun {
        run_id,
        kind: request.kind.as_str().to_owned(),
        actor: request.actor.clone(),
        started_at_ms,
        finished_at_ms: None,
        state: ImportRunState::Staging,
        staged_chunks: 0,
        applied_chunks: 0,
        report_json: encode_report(&report),
    };
    context.store.put_import_run(&record).await?;
    tracing::info!(%run_id, kind = %request.kind, "import staging");
    let mut run = Run {
        context,
        request,
        record,
        report,
        first_row_of_key: HashMap::new(),
        retailers: HashMap::new(),
        municipalities: HashMap::new(),
        pending: Vec::with_capacity(STAGE_CHUNK_ROWS),
        fatal: false,
    };
    let (sender, mut events) = mpsc::channel(READ_AHEAD_BATCHES);
    let kind = run.request.kind;
    let format = run.request.format;
    let progress = Arc::clone(&bytes_read);
    let reader = tokio::task::spawn_blocking(move || {
        read_source(input, kind, format, &sender, progress);
    });
    let outcome = run.read_all(&mut events).await;
    // Dropping the receiver stops the reader at its next send.
    drop(events);
    let _reader_ended = reader.await;
    run.report.bytes_read = bytes_read.load(std::sync::atomic::Ordering::Relaxed);
    match outcome {
        Ok(()) => run.finish().await,
        Err(error) => {
            // Staged rows are invisible; leave the run for recovery to abandon.
            tracing::warn!(%run_id, %error, "import stopped by a store failure");
            Err(error)
        }
    }
}

impl Run<'_> {
    /// Reads every event of the file.
    async fn read_all(
        &mut self,
        events: &mut mpsc::Receiver<SourceEvent>,
    ) -> Result<(), StoreError> {
        while let Some(event) = events.recv().await {
            match event {
                SourceEvent::FileProblems { problems, fatal } => {
                    self.fatal |= fatal;
                    for problem in problems {
                        self.report.push_problem(problem);
                    }
                }
                SourceEvent::Rows(rows) => self.on_rows(rows).await?,
                SourceEvent::End { sha256 } => self.report.file_sha256 = sha256,
                SourceEvent::Failed(cause) => {
                    self.fatal = true;
                    self.report.push_problem(RowProblem::of_row(
                        0,
                        ProblemCode::FormatError,
                        cause,
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether rows are still worth staging: not on a dry run, and not once
    /// the run is sure to be refused.
    fn staging(&self) -> bool {
        !self.request.dry_run
            && !self.fatal
            && (self.request.skip_invalid || !self.report.has_problems())
    }

    /// Validates one batch and stages what it changes.
    async fn on_rows(&mut self, rows: Vec<super::source::RawRow>) -> Result<(), StoreError> {
        let validation = Validation {
            keys: &self.context.keys,
            phone_regions: &self.context.phone_regions,
        };
        let kind = self.request.kind;
        let mut candidates = Vec::with_capacity(rows.len());
        for raw in rows {
            self.report.rows_read += 1;
            let mut problems = raw.problems;
            let checked = if raw.unreadable {
                None
            } else {
                match validate(kind, raw.row, &raw.cells, validation) {
                    Ok(candidate) => Some(candidate),
                    Err(found) => {
                        merge_problems(&mut problems, found);
                        None
                    }
                }
            };
            if let Some(candidate) = &checked
                && problems.is_empty()
            {
                let digest = key_digest(&candidate.key);
                if let Some(first_row) = self.first_row_of_key.get(&digest) {
                    let also_on = match first_row {
                        &u32::MAX => "an earlier row".to_owned(),
                        row => format!("row {row}"),
                    };
                    problems.push(RowProblem::at(
                        raw.row,
                        kind.key_column(),
                        ProblemCode::DuplicateKey,
                        format!("duplicate {}, also on {also_on}", kind.key_column()),
                    ));
                } else {
                    // Rows past 2^32 - 1 (a file of hundreds of gigabytes) are
                    // reported as "an earlier row".
                    let row = u32::try_from(raw.row).unwrap_or(u32::MAX);
                    self.first_row_of_key.insert(digest, row);
                }
            }
            match checked {
                Some(candidate) if problems.is_empty() => candidates.push(candidate),
                Some(_) | None => self.invalid_row(problems),
            }
        }
        let candidates = self.resolve_issuers(candidates).await?;
        self.classify(candidates).await?;
        if self.pending.len() >= STAGE_CHUNK_ROWS {
            self.stage_pending().await?;
        }
        Ok(())
    }

    fn invalid_row(&mut self, problems: Vec<RowProblem>) {
        self.report.invalid += 1;
        for problem in problems {
            self.report.push_problem(problem);
        }
    }

    /// Resolves each candidate's issuer (reading each unknown one once), and
    /// refuses rows whose issuer does not exist or whose scheme area lies
    /// outside its municipality.
    async fn resolve_issuers(
        &mut self,
        candidates: Vec<Candidate>,
    ) -> Result<Vec<Candidate>, StoreError> {
        let unknown_retailers: Vec<String> = candidates
            .iter()
            .filter_map(|candidate| match &candidate.issuer {
                Some(Issuer::Retailer(reference)) if !self.retailers.contains_key(reference) => {
                    Some(reference.clone())
                }
                Some(Issuer::Retailer(_) | Issuer::Municipality(_)) | None => None,
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if !unknown_retailers.is_empty() {
            let found = self
                .context
                .store
                .import_refs(ImportKind::Retailers.as_str(), &unknown_retailers)
                .await?;
            for (reference, target) in unknown_retailers.into_iter().zip(found) {
                self.retailers
                    .insert(reference, target.map(|target| target.entity_id));
            }
        }
        for candidate in &candidates {
            if let Some(Issuer::Municipality(id)) = candidate.issuer
                && !self.municipalities.contains_key(&id)
            {
                let municipality = self.context.store.municipality(id).await?;
                self.municipalities
                    .insert(id, municipality.map(|municipality| municipality.area));
            }
        }
        let mut resolved = Vec::with_capacity(candidates.len());
        for mut candidate in candidates {
            let issuer_id = match &candidate.issuer {
                None => {
                    resolved.push(candidate);
                    continue;
                }
                Some(Issuer::Retailer(reference)) => self
                    .retailers
                    .get(reference)
                    .copied()
                    .flatten()
                    .ok_or_else(|| {
                        RowProblem::at(
                            candidate.row,
                            "retailer_ref",
                            ProblemCode::UnknownReference,
                            format!("no retailer was imported as `{reference}`: import it with `retailers` first"),
                        )
                    }),
                Some(Issuer::Municipality(id)) => match self.municipalities.get(id) {
                    Some(Some(area)) => match &candidate.entity {
                        StagedEntity::Offer(offer) => {
                            let scheme_area = Area::from_stored(offer.area.clone());
                            check_scheme_area(&scheme_area, area)
                                .map(|()| *id)
                                .map_err(|error| {
                                    RowProblem::at(
                                        candidate.row,
                                        "area",
                                        ProblemCode::ConstraintError,
                                        error.problem,
                                    )
                                })
                        }
                        StagedEntity::Officer(_)
                        | StagedEntity::Retailer(_)
                        | StagedEntity::Charity(_) => Ok(*id),
                    },
                    Some(None) | None => Err(RowProblem::at(
                        candidate.row,
                        "municipality_id",
                        ProblemCode::UnknownReference,
                        format!("no municipality has the id {id}"),
                    )),
                },
            };
            match issuer_id {
                Ok(issuer_id) => {
                    if let StagedEntity::Offer(offer) = &mut candidate.entity {
                        offer.issuer_id = issuer_id;
                    }
                    resolved.push(candidate);
                }
                Err(problem) => self.invalid_row(vec![problem]),
            }
        }
        Ok(resolved)
    }

    /// Compares each candidate with what its key last wrote: new, changed or
    /// the same; queues the new and changed ones for staging.
    async fn classify(&mut self, candidates: Vec<Candidate>) -> Result<(), StoreError> {
        if candidates.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = candidates
            .iter()
            .map(|candidate| candidate.key.clone())
            .collect();
        let earlier = self
            .context
            .store
            .import_refs(self.request.kind.as_str(), &keys)
            .await?;
        let staging = self.staging();
        for (candidate, earlier) in candidates.into_iter().zip(earlier) {
            self.report.valid += 1;
            let entity_id = match earlier {
                Some(ImportRef { content_sha256, .. })
                    if content_sha256 == candidate.content_sha256 =>
                {
                    self.report.unchanged += 1;
                    continue;
                }
                Some(earlier) => {
                    self.report.updated += 1;
                    earlier.entity_id
                }
                None => {
                    self.report.created += 1;
                    match candidate.entity {
                        StagedEntity::Officer(_) => Uuid::nil(),
                        StagedEntity::Retailer(_)
                        | StagedEntity::Offer(_)
                        | StagedEntity::Charity(_) => Uuid::new_v4(),
                    }
                }
            };
            if staging {
                let mut entity = candidate.entity;
                entity.set_id(entity_id);
                self.pending.push(StagedRow {
                    key: candidate.key,
                    content_sha256: candidate.content_sha256,
                    entity_id,
                    entity,
                });
            }
        }
        Ok(())
    }

    /// Stages the waiting rows as the next chunk.
    async fn stage_pending(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() || !self.staging() {
            self.pending.clear();
            return Ok(());
        }
        let rows = std::mem::take(&mut self.pending);
        let encoded = rmp_serde::to_vec_named(&rows)
            .map_err(|error| StoreError::Backend(format!("cannot encode staged rows: {error}")))?;
        self.context
            .store
            .stage_import_chunk(self.record.run_id, self.record.staged_chunks, &encoded)
            .await?;
        self.record.staged_chunks += 1;
        Ok(())
    }

    /// Decides the run: refused, dry, or committed and applied.
    async fn finish(&mut self) -> Result<ImportReport, StoreError> {
        // References are checked per batch after the rows' own checks: put
        // their problems back in file order (stable, so a row keeps its order).
        self.report.problems.sort_by_key(|problem| problem.row);
        self.stage_pending().await?;
        let refused = self.fatal || (self.report.has_problems() && !self.request.skip_invalid);
        let state = if refused {
            ImportRunState::Rejected
        } else if self.request.dry_run {
            ImportRunState::DryRun
        } else {
            ImportRunState::Committed
        };
        self.record.state = state;
        if state != ImportRunState::Committed {
            self.report.outcome = if refused {
                ImportOutcome::Rejected
            } else {
                ImportOutcome::DryRun
            };
            self.record.finished_at_ms = Some(self.context.clock.now_ms());
            self.record.report_json = encode_report(&self.report);
            self.context.store.put_import_run(&self.record).await?;
            self.context
                .store
                .drop_staged_import(self.record.run_id, self.record.staged_chunks)
                .await?;
            self.count_roster().await?;
            return Ok(self.report.clone());
        }
        self.report.outcome = ImportOutcome::Committed;
        self.record.report_json = encode_report(&self.report);
        // The commit point: from here the run is applied to the end, by this
        // process or by the recovery pass of the next one.
        self.context.store.put_import_run(&self.record).await?;
        tracing::info!(run_id = %self.record.run_id, staged_chunks = self.record.staged_chunks, "import committed");
        apply_run(self.context, &mut self.record).await?;
        self.report.outcome = ImportOutcome::Applied;
        self.count_roster().await?;
        Ok(self.report.clone())
    }

    /// Officer imports report the roster's size after the run.
    async fn count_roster(&mut self) -> Result<(), StoreError> {
        if self.request.kind == ImportKind::Officers {
            self.report.roster_size = Some(self.context.store.roster_size().await?);
        }
        Ok(())
    }
}

/// A key as remembered for duplicate detection: the first 96 bits of its
/// SHA-256 (a byte array, so an entry with its row packs into 16 bytes).
type KeyDigest = [u8; 12];

/// The [`KeyDigest`] of `key`.
fn key_digest(key: &str) -> KeyDigest {
    let digest = Sha256::digest(key.as_bytes());
    let mut first = [0; 12];
    first.copy_from_slice(&digest[..12]);
    first
}
