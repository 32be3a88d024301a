//! Records of the import pipeline (`crate::import`): each run with its report,
//! the rows a run stages before it commits, and the external ids (`retailer_ref`,
//! `offer_ref`, ...) that tie an organisation's rows to the entities they wrote.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where an import run stands. A run writes nothing visible before
/// `Committed`; once committed it is applied to the end, by the importing
/// process or by the recovery pass of the next store open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ImportRunState {
    /// Validating the file and staging its valid rows (invisible).
    Staging,
    /// Validated and committed: the staged rows are being applied.
    Committed,
    /// Every staged row is applied.
    Applied,
    /// Refused (an invalid row without `skip_invalid`, or an unreadable
    /// file): nothing was written.
    Rejected,
    /// Validated only, at the caller's request: nothing was written.
    DryRun,
    /// Staging stopped part way (the process died or the store failed before
    /// the commit): the staged rows were dropped, nothing was written.
    Abandoned,
}

impl ImportRunState {
    /// The wire and storage name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ImportRunState::Staging => "staging",
            ImportRunState::Committed => "committed",
            ImportRunState::Applied => "applied",
            ImportRunState::Rejected => "rejected",
            ImportRunState::DryRun => "dry_run",
            ImportRunState::Abandoned => "abandoned",
        }
    }
}

/// One import run as recorded: who ran it, when, on what, and what came of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ImportRun {
    /// Random id; staged rows are stored under it.
    pub(crate) run_id: Uuid,
    /// What was imported (`offers`).
    pub(crate) kind: String,
    /// Who ran it (`cli`, or `admin@<client address>`).
    pub(crate) actor: String,
    /// When validation started (Unix ms); runs are listed newest first by it.
    pub(crate) started_at_ms: i64,
    /// When the run reached its last state (Unix ms); `None` while under way.
    pub(crate) finished_at_ms: Option<i64>,
    /// Where the run stands.
    pub(crate) state: ImportRunState,
    /// Staged chunks (numbered from 0), so apply and cleanup know where to stop.
    pub(crate) staged_chunks: u64,
    /// Chunks applied so far, so an interrupted apply resumes after them.
    pub(crate) applied_chunks: u64,
    /// The run's report as the admin API serves it (JSON): counts, file hash,
    /// problems. Kept opaque here so the store does not depend on the pipeline.
    pub(crate) report_json: String,
}

/// Where a listing of runs continues: strictly older than this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ImportRunCursor {
    /// Start time of the last run of the previous page.
    pub(crate) started_at_ms: i64,
    /// Its id (ties on time are ordered by id).
    pub(crate) run_id: Uuid,
}

/// What an external id last wrote: the entity, and a digest of the row's
/// content, so a re-import of the same row is recognised as unchanged
/// without reading the entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ImportRef {
    /// The entity the row wrote (nil for kinds keyed otherwise, the roster).
    pub(crate) entity_id: Uuid,
    /// SHA-256 of the row's normalised content.
    pub(crate) content_sha256: [u8; 32],
}
