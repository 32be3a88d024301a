//! Reading and checking a file without the store: every check a run makes
//! before it reads references and earlier imports (the fuzz targets drive it),
//! and how a row's reading and validation problems are merged.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use tokio::sync::mpsc;

use super::entities::{Validation, validate};
use super::pipeline::READ_AHEAD_BATCHES;
use super::report::{ProblemCode, RowProblem};
use super::schema::ImportKind;
use super::source::{ImportFormat, SourceEvent, read_source};

/// What reading and checking a file finds, without the store: the checks a
/// run makes before it reads earlier imports (the fuzz targets drive it).
#[derive(Debug, Default)]
pub(crate) struct Checked {
    /// Data rows read.
    pub(crate) rows_read: u64,
    /// Rows that passed every check.
    pub(crate) valid_rows: u64,
    /// Every problem, in file order.
    pub(crate) problems: Vec<RowProblem>,
}

/// Reads `bytes` as `format` rows of `kind` and checks each row (duplicate
/// keys included), writing nothing.
pub(crate) fn check_bytes(
    kind: ImportKind,
    format: ImportFormat,
    bytes: &[u8],
    validation: Validation<'_>,
) -> Checked {
    let (sender, mut events) = mpsc::channel(READ_AHEAD_BATCHES);
    let input = bytes.to_vec();
    let reader = std::thread::spawn(move || {
        read_source(
            Box::new(std::io::Cursor::new(input)),
            kind,
            format,
            &sender,
            Arc::new(AtomicU64::new(0)),
        );
    });
    let mut checked = Checked::default();
    let mut first_row_of_key: HashMap<String, u64> = HashMap::new();
    while let Some(event) = events.blocking_recv() {
        match event {
            SourceEvent::FileProblems { problems, .. } => checked.problems.extend(problems),
            SourceEvent::Rows(rows) => {
                for raw in rows {
                    checked.rows_read += 1;
                    checked.problems.extend(raw.problems.iter().cloned());
                    if raw.unreadable {
                        continue;
                    }
                    match validate(kind, raw.row, &raw.cells, validation) {
                        Ok(candidate) if raw.problems.is_empty() => {
                            if let Some(first_row) = first_row_of_key.get(&candidate.key) {
                                checked.problems.push(RowProblem::at(
                                    raw.row,
                                    kind.key_column(),
                                    ProblemCode::DuplicateKey,
                                    format!(
                                        "duplicate {}, also on row {first_row}",
                                        kind.key_column()
                                    ),
                                ));
                            } else {
                                first_row_of_key.insert(candidate.key, raw.row);
                                checked.valid_rows += 1;
                            }
                        }
                        Ok(_) => {}
                        Err(found) => {
                            let mut problems = raw.problems.clone();
                            merge_problems(&mut problems, found);
                            checked
                                .problems
                                .extend(problems.into_iter().skip(raw.problems.len()));
                        }
                    }
                }
            }
            SourceEvent::End { .. } => {}
            SourceEvent::Failed(cause) => {
                checked
                    .problems
                    .push(RowProblem::of_row(0, ProblemCode::FormatError, cause))
            }
        }
    }
    let _reader_ended = reader.join();
    checked
}

/// Adds the validation problems `found` to the reading problems of a row,
/// leaving out those of a column reading already faulted (a cell that is not
/// UTF-8 is not also "missing").
pub(super) fn merge_problems(problems: &mut Vec<RowProblem>, found: Vec<RowProblem>) {
    let faulted: Vec<Option<String>> = problems
        .iter()
        .filter(|problem| problem.column.is_some())
        .map(|problem| problem.column.clone())
        .collect();
    problems.extend(
        found
            .into_iter()
            .filter(|problem| problem.column.is_none() || !faulted.contains(&problem.column)),
    );
}
