//! Writes export rows as Parquet (the `parquet` crate's column writers,
//! uncompressed, no Arrow) and as CSV, and the manifest naming each file
//! with its row count, size and SHA-256.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use parquet::data_type::{ByteArray, ByteArrayType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::export_rows::ExportRow;
use crate::import::csv_text_cell;

/// The Parquet schema of the rows, in column order.
const SCHEMA: &str = "message connection_facts {
    REQUIRED BYTE_ARRAY day (UTF8);
    REQUIRED INT32 hour;
    REQUIRED BYTE_ARRAY connection (UTF8);
    REQUIRED BYTE_ARRAY role (UTF8);
    REQUIRED BYTE_ARRAY participant (UTF8);
    REQUIRED BYTE_ARRAY area (UTF8);
    REQUIRED BYTE_ARRAY area_level (UTF8);
    REQUIRED INT64 points;
}";

/// The CSV header, the Parquet columns in order.
pub(crate) const COLUMNS: [&str; 8] = [
    "day",
    "hour",
    "connection",
    "role",
    "participant",
    "area",
    "area_level",
    "points",
];

/// Why an export file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportWriteError {
    /// The file system failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The Parquet writer failed.
    #[error("cannot write parquet file {path}: {message}")]
    Parquet {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
}

/// One written file, as the manifest lists it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct WrittenFile {
    /// Its name in the export directory.
    pub(crate) name: String,
    /// Data rows (without a header).
    pub(crate) rows: u64,
    /// Its size.
    pub(crate) bytes: u64,
    /// SHA-256 of its bytes, hex.
    pub(crate) sha256: String,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ExportWriteError + '_ {
    move |source| ExportWriteError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Describes a written file.
pub(crate) fn describe(path: &Path, rows: u64) -> Result<WrittenFile, ExportWriteError> {
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    Ok(WrittenFile {
        name: path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default(),
        rows,
        bytes: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(&bytes)),
    })
}

/// Writes the rows as CSV.
pub(crate) fn write_csv(path: &Path, rows: &[ExportRow]) -> Result<WrittenFile, ExportWriteError> {
    let file = std::fs::File::create(path).map_err(io_error(path))?;
    let mut out = std::io::BufWriter::new(file);
    let mut text = COLUMNS.join(",");
    text.push_str("\r\n");
    out.write_all(text.as_bytes()).map_err(io_error(path))?;
    for row in rows {
        let cells = [
            csv_text_cell(&row.day),
            row.hour.to_string(),
            csv_text_cell(&row.connection),
            csv_text_cell(row.role),
            csv_text_cell(&row.participant),
            csv_text_cell(&row.area),
            csv_text_cell(row.area_level),
            row.points.to_string(),
        ];
        let mut line = cells.join(",");
        line.push_str("\r\n");
        out.write_all(line.as_bytes()).map_err(io_error(path))?;
    }
    out.flush().map_err(io_error(path))?;
    describe(path, rows.len() as u64)
}

/// The text cells of one column.
fn text_column(rows: &[ExportRow], cell: impl Fn(&ExportRow) -> &str) -> Vec<ByteArray> {
    rows.iter()
        .map(|row| ByteArray::from(cell(row).as_bytes().to_vec()))
        .collect()
}

/// Writes the rows as one Parquet row group.
pub(crate) fn write_parquet(
    path: &Path,
    rows: &[ExportRow],
) -> Result<WrittenFile, ExportWriteError> {
    let parquet_error = |error: parquet::errors::ParquetError| ExportWriteError::Parquet {
        path: path.display().to_string(),
        message: error.to_string(),
    };
    let schema = Arc::new(parse_message_type(SCHEMA).map_err(parquet_error)?);
    let file = std::fs::File::create(path).map_err(io_error(path))?;
    let properties = Arc::new(WriterProperties::builder().build());
    let mut writer = SerializedFileWriter::new(file, schema, properties).map_err(parquet_error)?;
    let mut group = writer.next_row_group().map_err(parquet_error)?;
    let texts: [Vec<ByteArray>; 6] = [
        text_column(rows, |row| &row.day),
        text_column(rows, |row| &row.connection),
        text_column(rows, |row| row.role),
        text_column(rows, |row| &row.participant),
        text_column(rows, |row| &row.area),
        text_column(rows, |row| row.area_level),
    ];
    let hours: Vec<i32> = rows.iter().map(|row| row.hour).collect();
    let points: Vec<i64> = rows.iter().map(|row| row.points).collect();
    let mut texts = texts.into_iter();
    let mut index = 0;
    while let Some(mut column) = group.next_column().map_err(parquet_error)? {
        match index {
            1 => {
                column
                    .typed::<Int32Type>()
                    .write_batch(&hours, None, None)
                    .map_err(parquet_error)?;
            }
            7 => {
                column
                    .typed::<Int64Type>()
                    .write_batch(&points, None, None)
                    .map_err(parquet_error)?;
            }
            _ => {
                let values = texts.next().unwrap_or_default();
                column
                    .typed::<ByteArrayType>()
                    .write_batch(&values, None, None)
                    .map_err(parquet_error)?;
            }
        }
        column.close().map_err(parquet_error)?;
        index += 1;
    }
    group.close().map_err(parquet_error)?;
    writer.close().map_err(parquet_error)?;
    describe(path, rows.len() as u64)
}
