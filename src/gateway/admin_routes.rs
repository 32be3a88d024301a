//! `/v1/admin/import/{kind}` and `/v1/admin/imports`: data imports behind the
//! admin token, each run recorded and written to the audit log. The body is
//! streamed to a temporary file under the data directory (refused with 413
//! past `admin.max_import_bytes`), then read by the import pipeline; the run
//! itself is spawned, so a client that hangs up mid-import never leaves a
//! committed run half applied.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use async_trait::async_trait;
use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::io::Write;
use uuid::Uuid;

use super::AppState;
use super::bearer::Admin;
use super::client_address::ClientAddress;
use super::error::ApiError;
use super::openapi::ErrorBody;
use super::paging::{PageQuery, page, parse_time_cursor, time_cursor};
use crate::audit::AuditAction;
use crate::identity::IdentityService;
use crate::import::{
    ApplyContext, ImportFormat, ImportKind, ImportReport, ImportRequest, OfficerDepartures,
    run_import,
};
use crate::runtime::PresenceRuntime;
use crate::store::{ImportRun, ImportRunCursor, PhoneHash, StoreError};

/// Query of `POST /v1/admin/import/{kind}`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImportQuery {
    /// Import the valid rows even when others are invalid.
    #[serde(default)]
    skip_invalid: bool,
    /// Validate and report only.
    #[serde(default)]
    dry_run: bool,
    /// `csv` or `ndjson`, when the content type does not say.
    format: Option<ImportFormat>,
}

/// Officers an import takes off the roster: the account becomes a citizen's,
/// its sign-ins are revoked, and its sockets close at once wherever they are
/// (which ends an open availability window).
#[derive(Debug)]
pub(crate) struct RosterDepartures {
    /// Demotes the account and revokes its sign-ins.
    pub(crate) identity: Arc<IdentityService>,
    /// Closes the sockets (absent in the CLI, which serves none: a running
    /// server sees the revoked sign-ins on their next use).
    pub(crate) presence: Option<PresenceRuntime>,
}

#[async_trait]
impl OfficerDepartures for RosterDepartures {
    async fn officer_left(&self, phone_hash: &PhoneHash) -> Result<(), StoreError> {
        let removal = self
            .identity
            .demote_officer(phone_hash, true)
            .await
            .map_err(|error| match error {
                crate::identity::IdentityError::Store(store) => store,
                other => StoreError::Backend(other.to_string()),
            })?;
        if let (Some(account_id), Some(presence)) = (removal.account_id, &self.presence) {
            presence.revoke(account_id, None);
        }
        Ok(())
    }
}

/// `POST /v1/admin/import/{kind}?skip_invalid=&dry_run=&format=`: imports the
/// body (CSV or NDJSON, from the content type or `format`). 200 with the
/// report when applied or dry; 422 with it when rows are invalid and nothing
/// was written; 413 past the size limit.
#[utoipa::path(
    post,
    path = "/v1/admin/import/{kind}",
    tag = "admin",
    params(("kind" = crate::import::ImportKind, Path, description = "What the file holds"), ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "The file (CSV or NDJSON; `Content-Type` or `format` says which)"),
    responses(
        (status = 200, description = "The import report", body = crate::import::ImportReport),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the admin token", body = ErrorBody),
        (status = 400, description = "`invalid_query`", body = ErrorBody),
        (status = 404, description = "`unknown_import_kind`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 422, description = "`invalid_rows` (the report is in `error.report`; nothing was written)", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub(crate) async fn import(
    State(state): State<AppState>,
    _admin: Admin,
    ClientAddress(client): ClientAddress,
    Path(kind): Path<String>,
    query: Result<Query<ImportQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ImportReport>, ApiError> {
    let Query(query) =
        query.map_err(|rejection| ApiError::bad_request("invalid_query", rejection.body_text()))?;
    let kind = ImportKind::from_text(&kind).ok_or_else(unknown_kind)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(ImportFormat::from_content_type);
    let format = query.format.or(content_type).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send text/csv or application/x-ndjson (or pass format=csv|ndjson)",
        )
    })?;
    let file = receive_stream(&state, body.into_data_stream()).await?;
    let request = ImportRequest {
        kind,
        format,
        skip_invalid: query.skip_invalid,
        dry_run: query.dry_run,
        actor: format!("admin@{client}"),
    };
    let report = run_received_import(&state, client, request, file).await?;
    if report.outcome == crate::import::ImportOutcome::Rejected {
        let details = serde_json::to_value(&report)
            .map(|report| serde_json::json!({ "report": report }))
            .unwrap_or_default();
        return Err(ApiError::unprocessable(
            "invalid_rows",
            format!(
                "{} problem(s) found, nothing imported (pass skip_invalid=true to import the valid rows)",
                report.problems.len() as u64 + report.problems_omitted
            ),
        )
        .with_details(details));
    }
    Ok(Json(report))
}

/// Runs an import of a received file (from the API or the console's upload
/// form) and writes it to the audit log; returns the report whatever the
/// outcome.
pub(crate) async fn run_received_import(
    state: &AppState,
    client: std::net::IpAddr,
    request: ImportRequest,
    file: tempfile::NamedTempFile,
) -> Result<ImportReport, ApiError> {
    let kind = request.kind;
    let input = file.reopen().map_err(|error| ApiError::internal(&error))?;
    let context = ApplyContext {
        store: state.store.clone(),
        keys: Arc::clone(state.identity.keys()),
        phone_regions: state.phone_regions.clone(),
        clock: state.clock,
        departures: Arc::new(RosterDepartures {
            identity: state.identity.clone(),
            presence: Some(state.presence.clone()),
        }),
    };
    // Spawned: the run ends even if the client hangs up (the file stays
    // until it does, owned by the task).
    let report = tokio::spawn(async move {
        let report = run_import(
            &context,
            request,
            Box::new(std::io::BufReader::new(input)),
            Arc::new(AtomicU64::new(0)),
        )
        .await;
        drop(file);
        report
    })
    .await
    .map_err(|error| ApiError::internal(&error))??;
    tracing::info!(
        kind = %report.kind,
        run_id = %report.run_id,
        rows_read = report.rows_read,
        invalid = report.invalid,
        outcome = ?report.outcome,
        "import run"
    );
    let action = if kind == ImportKind::Officers {
        AuditAction::RosterImported
    } else {
        AuditAction::DataImported
    };
    state
        .audit
        .record(
            client,
            action,
            None,
            format!(
                "{kind} run {}: {} row(s) read, {} created, {} updated, {} problem(s), {:?}",
                report.run_id,
                report.rows_read,
                report.created,
                report.updated,
                report.problems.len() as u64 + report.problems_omitted,
                report.outcome
            ),
        )
        .await?;
    Ok(report)
}

/// Streams a body (or an uploaded file) into a temporary file, refusing it past the limit.
pub(crate) async fn receive_stream<Chunks, Chunk, Failure>(
    state: &AppState,
    mut stream: Chunks,
) -> Result<tempfile::NamedTempFile, ApiError>
where
    Chunks: futures::Stream<Item = Result<Chunk, Failure>> + Unpin,
    Chunk: AsRef<[u8]>,
{
    let limit = state.config.admin.max_import_bytes;
    let directory = state.config.data_dir.clone();
    let mut file = tokio::task::spawn_blocking(move || tempfile::NamedTempFile::new_in(directory))
        .await
        .map_err(|error| ApiError::internal(&error))?
        .map_err(|error| ApiError::internal(&error))?;
    let mut received: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|_| ApiError::bad_request("invalid_body", "request body could not be read"))?;
        let bytes = chunk.as_ref();
        received += bytes.len() as u64;
        if received > limit {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!(
                    "import files sent to the API are limited to {limit} bytes (admin.max_import_bytes); use `heyblue import` for larger ones"
                ),
            ));
        }
        // Small writes to a local file: cheap enough on the async thread.
        file.write_all(bytes)
            .map_err(|error| ApiError::internal(&error))?;
    }
    file.flush().map_err(|error| ApiError::internal(&error))?;
    Ok(file)
}

/// A recorded run as listed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct RunBody {
    /// Its id.
    run_id: Uuid,
    /// What was imported.
    kind: String,
    /// Who ran it.
    actor: String,
    /// When it started (Unix ms).
    started_at_ms: i64,
    /// When it ended (Unix ms).
    finished_at_ms: Option<i64>,
    /// Where it stands (`applied`, `rejected`, ...).
    state: &'static str,
    /// Its report.
    report: serde_json::Value,
}

impl From<ImportRun> for RunBody {
    fn from(run: ImportRun) -> Self {
        Self {
            run_id: run.run_id,
            kind: run.kind,
            actor: run.actor,
            started_at_ms: run.started_at_ms,
            finished_at_ms: run.finished_at_ms,
            state: run.state.as_str(),
            report: serde_json::from_str(&run.report_json).unwrap_or_default(),
        }
    }
}

/// A page of runs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct RunPageBody {
    /// Newest first.
    runs: Vec<RunBody>,
    /// Cursor of the next page, while more may follow.
    next_before: Option<String>,
}

/// `GET /v1/admin/imports?before=&limit=`: import runs, newest first.
#[utoipa::path(
    get,
    path = "/v1/admin/imports",
    tag = "admin",
    params(crate::gateway::catalog_routes::PageQuery),
    responses(
        (status = 200, description = "A page of import runs, newest first", body = RunPageBody),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the admin token", body = ErrorBody),
        (status = 400, description = "`invalid_query`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub(crate) async fn list_imports(
    State(state): State<AppState>,
    _admin: Admin,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<RunPageBody>, ApiError> {
    let (before, limit) = page(query)?;
    let before = before
        .map(|text| {
            parse_time_cursor(&text).map(|(started_at_ms, run_id)| ImportRunCursor {
                started_at_ms,
                run_id,
            })
        })
        .transpose()?;
    let runs = state.store.import_runs(before, limit).await?;
    let next_before = (runs.len() == limit)
        .then(|| runs.last())
        .flatten()
        .map(|last| time_cursor(last.started_at_ms, last.run_id));
    Ok(Json(RunPageBody {
        runs: runs.into_iter().map(RunBody::from).collect(),
        next_before,
    }))
}

/// `GET /v1/admin/imports/{id}`: one run with its report.
#[utoipa::path(
    get,
    path = "/v1/admin/imports/{id}",
    tag = "admin",
    params(("id" = String, Path, description = "The run")),
    responses(
        (status = 200, description = "One import run and its report", body = RunBody),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the admin token", body = ErrorBody),
        (status = 404, description = "`import_not_found`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub(crate) async fn get_import(
    State(state): State<AppState>,
    _admin: Admin,
    Path(run_id): Path<String>,
) -> Result<Json<RunBody>, ApiError> {
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "import_not_found",
            "no import run has this id",
        )
    };
    let run_id: Uuid = run_id.parse().map_err(|_| not_found())?;
    let run = state
        .store
        .import_run(run_id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(RunBody::from(run)))
}

/// The schema of one kind, as served.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct SchemaBody {
    /// The kind.
    kind: ImportKind,
    /// Its columns, key first.
    columns: &'static [crate::import::Column],
}

/// `GET /v1/admin/import/{kind}/schema`: the columns of a kind (as
/// docs/imports.md lists them), for tools that build files.
#[utoipa::path(
    get,
    path = "/v1/admin/import/{kind}/schema",
    tag = "admin",
    params(("kind" = crate::import::ImportKind, Path, description = "The kind of file")),
    responses(
        (status = 200, description = "The columns a file of this kind has", body = SchemaBody),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not the admin token", body = ErrorBody),
        (status = 404, description = "`unknown_import_kind`", body = ErrorBody)
    ),
    security(("admin_token" = []))
)]
pub(crate) async fn import_schema(
    _admin: Admin,
    Path(kind): Path<String>,
) -> Result<Json<SchemaBody>, ApiError> {
    let kind = ImportKind::from_text(&kind).ok_or_else(unknown_kind)?;
    Ok(Json(SchemaBody {
        kind,
        columns: kind.columns(),
    }))
}

fn unknown_kind() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_import_kind",
        "imports are officers, retailers, offers, schemes or charities",
    )
}
