//! Reading an import file as a stream of rows, on a blocking thread: CSV
//! (header row, UTF-8 with or without a BOM, quoted fields) or NDJSON (one
//! JSON object per line). Rows go to the pipeline in batches through a
//! bounded channel, so a file of any size is read with bounded memory; the
//! bytes are hashed (SHA-256) and counted on the way.

use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::report::{ProblemCode, RowProblem};
use super::schema::ImportKind;

/// Rows sent to the pipeline at once.
pub(crate) const BATCH_ROWS: usize = 1_000;
/// The UTF-8 byte order mark some spreadsheet programs write first.
const BOM: char = '\u{feff}';

/// How the file is written.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ImportFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Ndjson,
}

impl ImportFormat {
    /// The format a file name's extension names (`.csv`, `.ndjson`, `.jsonl`).
    pub fn from_extension(path: &std::path::Path) -> Option<Self> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "csv" => Some(ImportFormat::Csv),
            "ndjson" | "jsonl" => Some(ImportFormat::Ndjson),
            _ => None,
        }
    }

    /// The format a content type names (`text/csv`, `application/x-ndjson`).
    pub(crate) fn from_content_type(content_type: &str) -> Option<Self> {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "text/csv" => Some(ImportFormat::Csv),
            "application/x-ndjson" | "application/ndjson" | "application/jsonl" => {
                Some(ImportFormat::Ndjson)
            }
            _ => None,
        }
    }
}

/// One data row as read: a cell per schema column (`None` when absent or
/// blank), and the problems reading it found.
#[derive(Debug)]
pub(crate) struct RawRow {
    /// Line of the file the row starts on.
    pub(crate) row: u64,
    /// Cells by schema column, as written (untrimmed).
    pub(crate) cells: Vec<Option<String>>,
    /// Problems found reading the row (encoding, structure, unknown keys).
    pub(crate) problems: Vec<RowProblem>,
    /// The row could not be read into cells at all: validation skips it.
    pub(crate) unreadable: bool,
}

/// What the reading thread sends.
#[derive(Debug)]
pub(crate) enum SourceEvent {
    /// Problems of the file itself (the header); `fatal`: no row can be read.
    FileProblems {
        /// The problems.
        problems: Vec<RowProblem>,
        /// No row is read after them.
        fatal: bool,
    },
    /// The next rows, in file order.
    Rows(Vec<RawRow>),
    /// The whole file was read.
    End {
        /// SHA-256 of every byte, hex.
        sha256: String,
    },
    /// Reading failed (an I/O error): the run stops.
    Failed(String),
}

/// A reader that hashes and counts what passes through it.
struct HashingReader<R> {
    /// The bytes' source.
    inner: R,
    /// The running hash.
    hasher: Sha256,
    /// Bytes read so far, shared with whoever shows progress.
    bytes_read: Arc<AtomicU64>,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.hasher.update(&buffer[..read]);
        self.bytes_read.fetch_add(read as u64, Ordering::Relaxed);
        Ok(read)
    }
}

/// Reads `input` as `format` rows of `kind`, sending them to `events`. Runs
/// on a blocking thread; stops early if the receiver is gone.
pub(crate) fn read_source(
    input: Box<dyn Read + Send>,
    kind: ImportKind,
    format: ImportFormat,
    events: &mpsc::Sender<SourceEvent>,
    bytes_read: Arc<AtomicU64>,
) {
    let mut reader = HashingReader {
        inner: input,
        hasher: Sha256::new(),
        bytes_read,
    };
    let outcome = match format {
        ImportFormat::Csv => read_csv(&mut reader, kind, events),
        ImportFormat::Ndjson => read_ndjson(&mut reader, kind, events),
    };
    let event = match outcome.and_then(|()| std::io::copy(&mut reader, &mut std::io::sink())) {
        Ok(_drained) => SourceEvent::End {
            sha256: hex::encode(reader.hasher.finalize()),
        },
        Err(error) => SourceEvent::Failed(format!("cannot read the file: {error}")),
    };
    // The receiver may have stopped reading (a store failure): nothing to tell.
    let _receiver_gone = events.blocking_send(event);
}

/// Where each header column goes in the schema (`None`: unknown column).
fn map_header(names: &[String], kind: ImportKind) -> (Vec<Option<usize>>, Vec<RowProblem>, bool) {
    let columns = kind.columns();
    let mut problems = Vec::new();
    let mut fatal = false;
    let mut positions = Vec::with_capacity(names.len());
    for (index, name) in names.iter().enumerate() {
        if names[..index].contains(name) {
            problems.push(RowProblem::at(
                1,
                name,
                ProblemCode::FormatError,
                "the header names this column twice",
            ));
            fatal = true;
        }
        let position = columns.iter().position(|column| column.name == name);
        if position.is_none() {
            problems.push(RowProblem::at(
                1,
                name,
                ProblemCode::UnknownColumn,
                format!(
                    "`{name}` is not a column of {kind} (columns: {})",
                    columns
                        .iter()
                        .map(|column| column.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        positions.push(position);
    }
    let delimiter_hint = match names {
        [only] if only.contains([';', '\t', '|']) => {
            " (the header is one column: is the file separated by `;`, tabs or `|` instead of commas?)"
        }
        _ => "",
    };
    for column in columns.iter().filter(|column| column.required) {
        if !names.iter().any(|name| name == column.name) {
            problems.push(RowProblem::at(
                1,
                column.name,
                ProblemCode::MissingValue,
                format!(
                    "the header has no `{}` column, which is required{delimiter_hint}",
                    column.name
                ),
            ));
            fatal = true;
        }
    }
    (positions, problems, fatal)
}

fn not_text_problem(row: u64) -> RowProblem {
    RowProblem::of_row(
        row,
        ProblemCode::EncodingError,
        "the file is not UTF-8 text (a binary file, or another encoding): save it as CSV UTF-8",
    )
}

fn read_csv<R: Read>(
    reader: &mut HashingReader<R>,
    kind: ImportKind,
    events: &mpsc::Sender<SourceEvent>,
) -> std::io::Result<()> {
    let mut csv_reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(reader);
    let mut records = csv_reader.byte_records();
    let header = match records.next() {
        None => {
            let problem = RowProblem::of_row(0, ProblemCode::FormatError, "the file is empty");
            send_file_problems(events, vec![problem], true);
            return Ok(());
        }
        Some(Err(error)) => return csv_failure(events, error),
        Some(Ok(header)) => header,
    };
    let names: Option<Vec<String>> = header
        .iter()
        .map(|name| {
            std::str::from_utf8(name)
                .ok()
                .filter(|text| !text.contains('\0'))
                .map(|text| text.trim_start_matches(BOM).trim().to_ascii_lowercase())
        })
        .collect();
    let Some(names) = names else {
        send_file_problems(events, vec![not_text_problem(1)], true);
        return Ok(());
    };
    let (positions, problems, fatal) = map_header(&names, kind);
    if !problems.is_empty() {
        send_file_problems(events, problems, fatal);
    }
    if fatal {
        return Ok(());
    }
    let column_count = kind.columns().len();
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(error) => return csv_failure(events, error),
        };
        let row = record.position().map_or(0, csv::Position::line);
        let mut raw = RawRow {
            row,
            cells: vec![None; column_count],
            problems: Vec::new(),
            unreadable: false,
        };
        if record.len() != positions.len() {
            raw.problems.push(RowProblem::of_row(
                row,
                ProblemCode::FormatError,
                format!(
                    "expected {} fields like the header, found {} (a stray comma, or a quote not closed?)",
                    positions.len(),
                    record.len()
                ),
            ));
            raw.unreadable = true;
        } else {
            for (field, position) in record.iter().zip(&positions) {
                let Some(position) = *position else { continue };
                let column = kind.columns()[position].name;
                match std::str::from_utf8(field) {
                    Ok(text) if text.contains('\0') => {
                        raw.problems.push(RowProblem::at(
                            row,
                            column,
                            ProblemCode::EncodingError,
                            "holds a NUL byte: is this a binary file?",
                        ));
                    }
                    Ok(text) => {
                        raw.cells[position] = (!text.trim().is_empty()).then(|| text.to_owned());
                    }
                    Err(_) => raw.problems.push(RowProblem::at(
                        row,
                        column,
                        ProblemCode::EncodingError,
                        "is not UTF-8 text: save the file as CSV UTF-8",
                    )),
                }
            }
        }
        batch.push(raw);
        if batch.len() == BATCH_ROWS && !send_rows(events, &mut batch) {
            return Ok(());
        }
    }
    send_rows(events, &mut batch);
    Ok(())
}

fn read_ndjson<R: Read>(
    reader: &mut HashingReader<R>,
    kind: ImportKind,
    events: &mpsc::Sender<SourceEvent>,
) -> std::io::Result<()> {
    let columns = kind.columns();
    let mut lines = BufReader::new(reader);
    let mut line = Vec::new();
    let mut row = 0_u64;
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    loop {
        line.clear();
        if lines.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        row += 1;
        let mut raw = RawRow {
            row,
            cells: vec![None; columns.len()],
            problems: Vec::new(),
            unreadable: true,
        };
        match std::str::from_utf8(&line) {
            Err(_) => raw.problems.push(RowProblem::of_row(
                row,
                ProblemCode::EncodingError,
                "the line is not UTF-8 text",
            )),
            Ok(text) if text.contains('\0') => raw.problems.push(not_text_problem(row)),
            Ok(text) => {
                let text = text.trim_start_matches(BOM).trim();
                if text.is_empty() {
                    continue;
                }
                match serde_json::from_str::<serde_json::Value>(text) {
                    Ok(serde_json::Value::Object(object)) => {
                        raw.unreadable = false;
                        read_object(&object, kind, &mut raw);
                    }
                    Ok(_) | Err(_) => raw.problems.push(RowProblem::of_row(
                        row,
                        ProblemCode::FormatError,
                        "the line is not a JSON object",
                    )),
                }
            }
        }
        batch.push(raw);
        if batch.len() == BATCH_ROWS && !send_rows(events, &mut batch) {
            return Ok(());
        }
    }
    send_rows(events, &mut batch);
    Ok(())
}

/// Fills `raw`'s cells from one NDJSON object: strings as written, numbers
/// and booleans as their JSON text, arrays of strings (an area) joined by
/// spaces, `null` as absent.
fn read_object(
    object: &serde_json::Map<String, serde_json::Value>,
    kind: ImportKind,
    raw: &mut RawRow,
) {
    let columns = kind.columns();
    for (key, value) in object {
        let Some(position) = columns.iter().position(|column| column.name == key) else {
            raw.problems.push(RowProblem::at(
                raw.row,
                key,
                ProblemCode::UnknownColumn,
                format!("`{key}` is not a column of {kind}"),
            ));
            continue;
        };
        let text = match value {
            serde_json::Value::Null => None,
            serde_json::Value::String(text) => Some(text.clone()),
            serde_json::Value::Number(number) => Some(number.to_string()),
            serde_json::Value::Bool(flag) => Some(flag.to_string()),
            serde_json::Value::Array(items) => {
                let strings: Option<Vec<&str>> = items.iter().map(|item| item.as_str()).collect();
                match strings {
                    Some(strings) => Some(strings.join(" ")),
                    None => {
                        raw.problems.push(RowProblem::at(
                            raw.row,
                            key,
                            ProblemCode::TypeError,
                            "must be a string, a number, a boolean or an array of strings",
                        ));
                        None
                    }
                }
            }
            serde_json::Value::Object(_) => {
                raw.problems.push(RowProblem::at(
                    raw.row,
                    key,
                    ProblemCode::TypeError,
                    "must be a string, a number, a boolean or an array of strings",
                ));
                None
            }
        };
        raw.cells[position] = text.filter(|text| !text.trim().is_empty());
    }
}

fn send_file_problems(events: &mpsc::Sender<SourceEvent>, problems: Vec<RowProblem>, fatal: bool) {
    let _receiver_gone = events.blocking_send(SourceEvent::FileProblems { problems, fatal });
}

/// Sends and empties `batch`; false when the receiver is gone.
fn send_rows(events: &mpsc::Sender<SourceEvent>, batch: &mut Vec<RawRow>) -> bool {
    if batch.is_empty() {
        return true;
    }
    let rows = std::mem::replace(batch, Vec::with_capacity(BATCH_ROWS));
    events.blocking_send(SourceEvent::Rows(rows)).is_ok()
}

/// A CSV error while reading records: an I/O failure (the csv crate reports
/// malformed quoting leniently, so only I/O is left).
fn csv_failure(events: &mpsc::Sender<SourceEvent>, error: csv::Error) -> std::io::Result<()> {
    match error.into_kind() {
        csv::ErrorKind::Io(io) => Err(io),
        other => {
            let problem = RowProblem::of_row(
                0,
                ProblemCode::FormatError,
                format!("the CSV cannot be read: {other:?}"),
            );
            send_file_problems(events, vec![problem], true);
            Ok(())
        }
    }
}
