//! `GET /admin/import` (the upload form) and `POST /admin/import` (admin
//! only): a file of any import kind, sent as a multipart form whose CSRF token
//! comes before the file; it is streamed to disk under `admin.max_import_bytes`
//! and run by the same code as `POST /v1/admin/import/{kind}`, audited alike;
//! the page shows the import report, problems included.

use axum::extract::multipart::Field;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use futures::StreamExt;
use maud::{Markup, html};

use super::page::{ConsoleError, Section, frame, grouped, respond};
use super::session::{ConsoleAdmin, ConsoleUser};
use crate::gateway::AppState;
use crate::gateway::admin_routes::{receive_stream, run_received_import};
use crate::gateway::client_address::ClientAddress;
use crate::import::{ImportFormat, ImportKind, ImportOutcome, ImportReport, ImportRequest};

/// The longest text field of the form (not the file).
const MAX_FIELD_BYTES: usize = 256;

/// The upload form, `chosen` selected.
fn form(user: &ConsoleUser, chosen: ImportKind) -> Markup {
    html! {
        form.stack method="post" action="/admin/import" enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(user.csrf);
            div.fields {
                div {
                    label for="kind" { "What the file holds" }
                    select #kind name="kind" {
                        @for kind in ImportKind::ALL {
                            option value=(kind.as_str()) selected[kind == chosen] { (kind.as_str()) }
                        }
                    }
                }
                div {
                    label for="format" { "Format" }
                    select #format name="format" {
                        option value="auto" { "from the file name" }
                        option value="csv" { "CSV" }
                        option value="ndjson" { "NDJSON" }
                    }
                }
            }
            div.check {
                input #dry_run type="checkbox" name="dry_run" value="true";
                " " label for="dry_run" { "Only check the file (dry run)" }
            }
            div.check {
                input #skip_invalid type="checkbox" name="skip_invalid" value="true";
                " " label for="skip_invalid" { "Import the valid rows even if others are invalid" }
            }
            div {
                label for="file" { "File (.csv, .ndjson or .jsonl)" }
                input #file type="file" name="file" required accept=".csv,.ndjson,.jsonl,text/csv,application/x-ndjson";
            }
            button type="submit" { "Import" }
        }
        p.note { "The columns of each kind are in docs/imports.md and at GET /v1/admin/import/{kind}/schema." }
    }
}

/// `GET /admin/import`.
pub(crate) async fn show(ConsoleAdmin(user): ConsoleAdmin) -> Response {
    respond(
        StatusCode::OK,
        frame(
            "Import",
            Section::Import,
            Some(&user),
            form(&user, ImportKind::Officers),
        ),
    )
}

/// A short text field, refused past [`MAX_FIELD_BYTES`].
async fn small_text(mut field: Field<'_>) -> Result<String, ConsoleError> {
    let mut bytes = Vec::new();
    while let Some(received) = field.next().await {
        let chunk = received.map_err(|error| ConsoleError::bad_request(error.body_text()))?;
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_FIELD_BYTES {
            return Err(ConsoleError::bad_request("a form field is too long"));
        }
    }
    String::from_utf8(bytes).map_err(|_| ConsoleError::bad_request("a form field is not text"))
}

/// The choices read before the file.
#[derive(Debug, Default)]
struct Choices {
    /// The CSRF token was checked.
    checked: bool,
    /// The kind.
    kind: Option<ImportKind>,
    /// The format (`None`: from the file name).
    format: Option<ImportFormat>,
    /// Validate only.
    dry_run: bool,
    /// Import the valid rows.
    skip_invalid: bool,
}

/// `POST /admin/import`.
pub(crate) async fn upload(
    State(state): State<AppState>,
    ConsoleAdmin(user): ConsoleAdmin,
    ClientAddress(client): ClientAddress,
    mut multipart: Multipart,
) -> Result<Response, ConsoleError> {
    let mut choices = Choices::default();
    let mut received = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|error| ConsoleError::bad_request(error.body_text()))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "csrf" {
            user.check_csrf(&small_text(field).await?)?;
            choices.checked = true;
            continue;
        }
        if !choices.checked {
            // Nothing is read (least of all a file) before the token.
            user.check_csrf("")?;
        }
        match name.as_str() {
            "kind" => {
                let text = small_text(field).await?;
                choices.kind = Some(
                    ImportKind::from_text(&text)
                        .ok_or_else(|| ConsoleError::bad_request("kind: not an import kind"))?,
                );
            }
            "format" => {
                choices.format = match small_text(field).await?.as_str() {
                    "csv" => Some(ImportFormat::Csv),
                    "ndjson" => Some(ImportFormat::Ndjson),
                    _ => None,
                };
            }
            "dry_run" => choices.dry_run = small_text(field).await? == "true",
            "skip_invalid" => choices.skip_invalid = small_text(field).await? == "true",
            "file" => {
                let file_name = field.file_name().unwrap_or_default().to_owned();
                let format = choices
                    .format
                    .or_else(|| ImportFormat::from_extension(std::path::Path::new(&file_name)))
                    .ok_or_else(|| {
                        ConsoleError::bad_request(
                            "Choose the format: the file name does not end in .csv, .ndjson or .jsonl.",
                        )
                    })?;
                let file = receive_stream(&state, Box::pin(field)).await?;
                received = Some((file, format));
            }
            _ => return Err(ConsoleError::bad_request("unknown form field")),
        }
    }
    let (Some(kind), Some((file, format))) = (choices.kind, received) else {
        return Err(ConsoleError::bad_request(
            "Choose a kind and a file, then send the form again.",
        ));
    };
    let request = ImportRequest {
        kind,
        format,
        skip_invalid: choices.skip_invalid,
        dry_run: choices.dry_run,
        actor: format!("console@{client}"),
    };
    let report = run_received_import(&state, client, request, file).await?;
    let body = html! {
        (report_view(&report))
        h2 { "Import another file" }
        (form(&user, kind))
    };
    Ok(respond(
        StatusCode::OK,
        frame("Import report", Section::Import, Some(&user), body),
    ))
}

/// What a run did, and its problems.
fn report_view(report: &ImportReport) -> Markup {
    let problems = report.problems.len() as u64 + report.problems_omitted;
    let (class, outcome) = match report.outcome {
        ImportOutcome::Applied => ("ok", "Applied: every valid row is written."),
        ImportOutcome::DryRun => ("ok", "Checked only (dry run): nothing was written."),
        ImportOutcome::Rejected => ("error", "Rejected: nothing was written."),
        ImportOutcome::Committed => ("ok", "Committed: the rows are being written."),
        ImportOutcome::Staging => ("note", "Still being checked."),
        ImportOutcome::Abandoned => ("error", "Abandoned: nothing was written."),
    };
    html! {
        section #import-report aria-labelledby="outcome" {
            p #outcome class=(class) role="status" { (outcome) }
            div.cards {
                div.card { span.label { "Rows read" } span.value #rows-read { (grouped(report.rows_read as i64)) } }
                div.card { span.label { "Valid" } span.value { (grouped(report.valid as i64)) } }
                div.card { span.label { "Invalid" } span.value #rows-invalid { (grouped(report.invalid as i64)) } }
                div.card { span.label { "Created" } span.value { (grouped(report.created as i64)) } }
                div.card { span.label { "Updated" } span.value { (grouped(report.updated as i64)) } }
                div.card { span.label { "Unchanged" } span.value { (grouped(report.unchanged as i64)) } }
            }
            p.note { "Run " code { (report.run_id) } " of " (report.kind.as_str()) "; file SHA-256 " code { (report.file_sha256) } "." }
            @if problems > 0 {
                h2 { (grouped(problems as i64)) " problem(s)" }
                div.scroll {
                    table #problems {
                        thead { tr { th.num scope="col" { "Line" } th scope="col" { "Column" } th scope="col" { "Code" } th scope="col" { "Problem" } } }
                        tbody {
                            @for problem in &report.problems {
                                tr {
                                    td.num { (problem.row) }
                                    td { (problem.column.as_deref().unwrap_or("")) }
                                    td { code { (problem.code.as_str()) } }
                                    td { (problem.problem) }
                                }
                            }
                        }
                    }
                }
                @if report.problems_omitted > 0 {
                    p.note { (grouped(report.problems_omitted as i64)) " more problem(s) are not listed." }
                }
            }
        }
    }
}
