//! The record of an officer's availability, as reports count it: one stretch
//! of an availability window on one node, from when it opened (or was taken
//! over from another node) to when it ended (expiry, `go_unavailable`,
//! logout, a lost socket past the grace, or a drain handing it on). It names
//! no person and no position finer than the ZIP of the officer's coarse
//! cell: it exists so availability minutes can be counted, and recounted by
//! `heyblue reports rebuild`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One stretch of an officer's availability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AvailabilityRecord {
    /// Random id drawn when the stretch began: the root of its fact ids, so
    /// writing it again (a retry) counts nothing twice.
    pub(crate) window_id: Uuid,
    /// When the stretch began (Unix ms).
    pub(crate) started_at_ms: i64,
    /// When it ended (Unix ms), never before `started_at_ms`.
    pub(crate) ended_at_ms: i64,
    /// The ZIP of the officer's coarse cell when the stretch ended (`None`
    /// when the officer had no position or it is outside the US).
    pub(crate) zip: Option<String>,
}
