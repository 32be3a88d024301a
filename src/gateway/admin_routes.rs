//! `/v1/admin/import/*`: imports, behind the admin token, each written to the
//! audit log.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use serde::Deserialize;

use super::AppState;
use super::bearer::Admin;
use super::client_address::ClientAddress;
use super::error::ApiError;
use crate::audit::AuditAction;
use crate::import::{ImportMode, ImportReport, import_officers};

/// Largest roster file accepted (about 100,000 rows).
pub(crate) const MAX_IMPORT_BYTES: usize = 16 * 1024 * 1024;

/// Query of `POST /v1/admin/import/officers`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImportQuery {
    /// Import the valid rows even when others are invalid.
    #[serde(default)]
    skip_invalid: bool,
}

/// Imports a roster CSV body (`phone,display_name,badge,department`).
pub(crate) async fn import_officer_roster(
    State(state): State<AppState>,
    _admin: Admin,
    ClientAddress(client): ClientAddress,
    query: Result<Query<ImportQuery>, axum::extract::rejection::QueryRejection>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<ImportReport>, ApiError> {
    let Query(query) =
        query.map_err(|rejection| ApiError::bad_request("invalid_query", rejection.body_text()))?;
    let body = body.map_err(|rejection| super::json_body::body_rejection(rejection.status()))?;
    let mode = if query.skip_invalid {
        ImportMode::SkipInvalid
    } else {
        ImportMode::AllOrNothing
    };
    let report = import_officers(
        state.store.as_ref(),
        state.identity.keys(),
        state.clock,
        &state.phone_regions,
        &body,
        mode,
    )
    .await?;
    tracing::info!(
        rows_read = report.rows_read,
        imported = report.imported,
        problems = report.problems.len(),
        "officer roster import"
    );
    state
        .audit
        .record(
            client,
            AuditAction::RosterImported,
            None,
            format!(
                "{} row(s) read, {} imported, {} problem(s)",
                report.rows_read,
                report.imported,
                report.problems.len()
            ),
        )
        .await?;
    if mode == ImportMode::AllOrNothing && !report.problems.is_empty() {
        let details = serde_json::to_value(&report)
            .map(|report| serde_json::json!({ "report": report }))
            .unwrap_or_default();
        return Err(ApiError::unprocessable(
            "invalid_rows",
            format!(
                "{} problem(s) found, nothing imported (pass skip_invalid=true to import the valid rows)",
                report.problems.len()
            ),
        )
        .with_details(details));
    }
    Ok(Json(report))
}
