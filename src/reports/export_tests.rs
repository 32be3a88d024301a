//! The export round trip: rows written as Parquet and CSV from an embedded
//! store, read back by the `parquet` crate's reader and by pyarrow (an
//! independent reader, installed by `scripts/test`), with a manifest whose
//! counts and checksums match, pseudonyms that differ between exports, and
//! no account id in any file.

use std::path::{Path, PathBuf};
use std::process::Command;

use parquet::file::reader::{FileReader, SerializedFileReader};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::export_command::{ExportOptions, write_export};
use crate::domain::AccountId;
use crate::store::embedded::EmbeddedStore;
use crate::store::{ConnectionParty, ConnectionRecord, ConnectionStore};

/// 2027-01-15 14:30 UTC.
const AT_MS: i64 = 1_800_023_400_000;
/// The variable that lets a machine without pyarrow skip its check, loudly.
const SKIP_PYARROW: &str = "HEYBLUE_SKIP_PYARROW";

fn party(account_id: AccountId, points: i64) -> ConnectionParty {
    ConnectionParty {
        account_id,
        points,
        withheld: None,
    }
}

/// Six connections of six citizens with six officers in 10036 (twelve
/// people), one more of the first citizen in 94105, one the day before.
async fn sample_store(dir: &Path) -> (EmbeddedStore, Vec<AccountId>) {
    let store = EmbeddedStore::open(dir).await.unwrap();
    let mut people = Vec::new();
    let mut add = |record: ConnectionRecord| {
        people.push(record.citizen.account_id);
        people.push(record.officer.account_id);
        record
    };
    let mut records = Vec::new();
    for index in 0..6 {
        records.push(add(ConnectionRecord {
            mode: Default::default(),
            connection_id: Uuid::new_v4(),
            citizen: party(AccountId::random(), 10),
            officer: party(AccountId::random(), 5),
            established_at_ms: AT_MS + index * 60_000,
            cell_r7: Some(1),
            zip: Some("10036".to_owned()),
        }));
    }
    let first = records[0].citizen.account_id;
    records.push(add(ConnectionRecord {
        mode: Default::default(),
        connection_id: Uuid::new_v4(),
        citizen: party(first, 0),
        officer: party(AccountId::random(), 5),
        established_at_ms: AT_MS + 3_600_000,
        cell_r7: None,
        zip: Some("94105".to_owned()),
    }));
    records.push(add(ConnectionRecord {
        mode: Default::default(),
        connection_id: Uuid::new_v4(),
        citizen: party(first, 10),
        officer: party(AccountId::random(), 5),
        established_at_ms: AT_MS - 86_400_000,
        cell_r7: None,
        zip: Some("10036".to_owned()),
    }));
    for record in &records {
        store.insert_connection(record).await.unwrap();
    }
    (store, people)
}

fn options(out: &Path) -> ExportOptions<'_> {
    ExportOptions {
        from: "2027-01-15",
        to: "2027-01-15",
        out,
        stable_pseudonyms: false,
    }
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|line| line.split(',').map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn an_export_round_trips_with_its_manifest_and_names_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let (store, people) = sample_store(&dir.path().join("data")).await;
    let out = dir.path().join("export");
    let files = write_export(&store, &options(&out), [7; 32], 11, AT_MS)
        .await
        .unwrap();
    assert_eq!(files.len(), 2);
    assert!(files.iter().all(|file| file.rows == 14), "{files:?}");

    let rows = csv_rows(&out.join("connections.csv"));
    assert_eq!(
        rows[0],
        [
            "day",
            "hour",
            "connection",
            "role",
            "participant",
            "area",
            "area_level",
            "points"
        ]
    );
    let data = &rows[1..];
    assert_eq!(data.len(), 14);
    assert!(data.iter().all(|row| row[0] == "2027-01-15"));
    let zip_rows = data
        .iter()
        .filter(|row| row[5] == "10036" && row[6] == "zip");
    assert_eq!(zip_rows.count(), 12, "twelve people took part in 10036");
    let prefix_rows = data
        .iter()
        .filter(|row| row[5] == "941" && row[6] == "zip3");
    assert_eq!(prefix_rows.count(), 2, "one person in 94105 is not enough");
    assert!(data.iter().any(|row| row[1] == "15"));
    // One person is one pseudonym within an export.
    let elsewhere = data
        .iter()
        .find(|row| row[5] == "941" && row[3] == "citizen")
        .unwrap();
    assert!(
        data.iter()
            .any(|row| row[5] == "10036" && row[4] == elsewhere[4])
    );

    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["from"], "2027-01-15");
    assert_eq!(manifest["stable_pseudonyms"], false);
    for file in manifest["files"].as_array().unwrap() {
        let bytes = std::fs::read(out.join(file["name"].as_str().unwrap())).unwrap();
        assert_eq!(file["sha256"], hex::encode(Sha256::digest(&bytes)));
        assert_eq!(file["bytes"], bytes.len());
        assert_eq!(file["rows"], 14);
    }

    for name in ["connections.csv", "connections.parquet", "manifest.json"] {
        let bytes = std::fs::read(out.join(name)).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for person in &people {
            assert!(
                !text.contains(&person.0.to_string()),
                "{name} names a person"
            );
            assert!(
                !bytes
                    .windows(16)
                    .any(|window| window == person.0.as_bytes()),
                "{name} holds an account id"
            );
        }
    }

    let reader =
        SerializedFileReader::new(std::fs::File::open(out.join("connections.parquet")).unwrap())
            .unwrap();
    assert_eq!(reader.metadata().file_metadata().num_rows(), 14);
    let parquet_rows: Vec<Vec<String>> = reader
        .get_row_iter(None)
        .unwrap()
        .map(|row| {
            row.unwrap()
                .get_column_iter()
                .map(|(_, field)| field.to_string().trim_matches('"').to_owned())
                .collect()
        })
        .collect();
    assert_eq!(parquet_rows, data.to_vec());

    let again = dir.path().join("again");
    write_export(&store, &options(&again), [8; 32], 11, AT_MS)
        .await
        .unwrap();
    let other = csv_rows(&again.join("connections.csv"));
    let names = |rows: &[Vec<String>]| -> std::collections::BTreeSet<String> {
        rows[1..].iter().map(|row| row[4].clone()).collect()
    };
    assert!(
        names(&rows).is_disjoint(&names(&other)),
        "exports under different keys cannot be joined"
    );
}

/// The Python that has pyarrow: the venv `scripts/test` makes, or the
/// system's.
fn python_with_pyarrow() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pyarrow-venv/bin/python3");
    [venv, PathBuf::from("python3")].into_iter().find(|python| {
        Command::new(python)
            .args(["-c", "import pyarrow.parquet"])
            .output()
            .is_ok_and(|output| output.status.success())
    })
}

#[tokio::test]
async fn pyarrow_reads_the_parquet_file_as_the_csv_says() {
    let Some(python) = python_with_pyarrow() else {
        if std::env::var(SKIP_PYARROW).as_deref() == Ok("1") {
            eprintln!("SKIPPED pyarrow round trip: pyarrow is not installed and {SKIP_PYARROW}=1");
            return;
        }
        panic!(
            "pyarrow is not installed: run scripts/test (it installs pyarrow into \
             target/pyarrow-venv), or set {SKIP_PYARROW}=1 to skip this check"
        );
    };
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = sample_store(&dir.path().join("data")).await;
    let out = dir.path().join("export");
    write_export(&store, &options(&out), [9; 32], 11, AT_MS)
        .await
        .unwrap();
    let script = "import json, sys\nimport pyarrow.parquet as pq\n\
                  table = pq.read_table(sys.argv[1])\n\
                  print(json.dumps({'names': table.column_names, \
                  'types': [str(field.type) for field in table.schema], \
                  'rows': [[str(value) for value in row.values()] for row in table.to_pylist()]}))\n";
    let output = Command::new(&python)
        .args(["-c", script])
        .arg(out.join("connections.parquet"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let csv = csv_rows(&out.join("connections.csv"));
    assert_eq!(read["names"], serde_json::json!(csv[0]));
    assert_eq!(
        read["types"],
        serde_json::json!([
            "string", "int32", "string", "string", "string", "string", "string", "int64"
        ])
    );
    assert_eq!(read["rows"], serde_json::json!(csv[1..].to_vec()));
}
