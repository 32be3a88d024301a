//! A store whose report aggregates were written under an older layout comes
//! up with the aggregates its records give, at every grain, level and role,
//! without any command being run; a store of the current layout is left as
//! it is.

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableDatabase, TableDefinition};
use tempfile::TempDir;
use uuid::Uuid;

use super::report_layout::{REPORT_LAYOUT, REPORT_LAYOUT_VERSION, bring_up_to_date};
use super::reports::{REPORT_CELLS, REPORT_PARTNER_CELLS, REPORT_PEOPLE};
use super::{DATABASE_FILE_NAME, EmbeddedStore};
use crate::domain::AccountId;
use crate::reports::check::{assert_reports_match_records, stored_cells};
use crate::store::{ConnectionParty, ConnectionRecord, LedgerReason, NewLedgerEntry, Store};

/// 2027-01-15 14:00 UTC.
const AT_MS: i64 = 1_800_021_600_000;
const DAY_MS: i64 = 86_400_000;
/// The day of [`AT_MS`].
const DAY: i64 = AT_MS / DAY_MS;
/// Bytes of a cell key of the former (hourly-only) layout.
const FORMER_CELL_KEY_BYTES: usize = 18;

fn connection(citizen: AccountId, officer: AccountId, at_ms: i64, zip: &str) -> ConnectionRecord {
    let party = |account_id, points| ConnectionParty {
        account_id,
        points,
        withheld: None,
    };
    ConnectionRecord {
        connection_id: Uuid::new_v4(),
        citizen: party(citizen, 10),
        officer: party(officer, 5),
        established_at_ms: at_ms,
        cell_r7: None,
        zip: Some(zip.to_owned()),
        mode: Default::default(),
    }
}

/// Writes connections over two months and three ZIPs, and ledger entries.
async fn write_records(store: &dyn Store) {
    let officer = AccountId::random();
    let citizens = [AccountId::random(), AccountId::random()];
    for (index, zip) in ["10036", "10001", "94110"].into_iter().enumerate() {
        for citizen in citizens {
            for days_before in [0, 1, 20] {
                let at_ms = AT_MS - days_before * DAY_MS + index as i64 * 3_600_000;
                store
                    .insert_connection(&connection(citizen, officer, at_ms, zip))
                    .await
                    .expect("insert");
            }
        }
    }
    for (delta, reason) in [
        (100, LedgerReason::Adjustment),
        (-30, LedgerReason::Redemption),
    ] {
        let entry = NewLedgerEntry {
            entry_id: Uuid::new_v4(),
            account_id: citizens[0],
            at_ms: AT_MS,
            delta,
            reason,
            reference: None,
        };
        store.append_ledger_entry(&entry).await.expect("append");
    }
}

/// The database file of the store in `data_dir`, opened without the store.
fn raw(data_dir: &Path) -> Database {
    Database::create(data_dir.join(DATABASE_FILE_NAME)).expect("open the file")
}

/// The layout version written in `database`.
fn written_version(database: &Database) -> Option<u64> {
    let transaction = database.begin_read().expect("read");
    let table = transaction.open_table(REPORT_LAYOUT).ok()?;
    table
        .get("report_cells")
        .expect("get")
        .map(|stored| stored.value())
}

/// Writes records, and returns the data directory (the store closed) and the
/// cells the store kept for them.
async fn store_with_records() -> (
    TempDir,
    std::collections::BTreeMap<crate::store::report_records::CellKey, i64>,
) {
    let data_dir = TempDir::new().expect("temporary directory");
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(data_dir.path()).await.expect("open"));
    write_records(store.as_ref()).await;
    let cells = stored_cells(store.as_ref(), DAY - 40, DAY + 1).await;
    assert!(!cells.is_empty(), "the records were counted");
    store.close().await.expect("close");
    (data_dir, cells)
}

#[tokio::test]
async fn a_store_of_the_hourly_only_layout_opens_with_every_grain_recomputed() {
    let (data_dir, expected) = store_with_records().await;
    {
        // What the former layout left: its own cell tables, the ids of the
        // facts it counted (the same table), and no version.
        let database = raw(data_dir.path());
        let transaction = database.begin_write().expect("write");
        transaction.delete_table(REPORT_CELLS).expect("delete");
        transaction
            .delete_table(REPORT_PARTNER_CELLS)
            .expect("delete");
        transaction.delete_table(REPORT_PEOPLE).expect("delete");
        transaction.delete_table(REPORT_LAYOUT).expect("delete");
        let former: TableDefinition<&[u8; FORMER_CELL_KEY_BYTES], i64> =
            TableDefinition::new("report_cells");
        transaction
            .open_table(former)
            .expect("former table")
            .insert(&[1; FORMER_CELL_KEY_BYTES], 7)
            .expect("insert");
        transaction.commit().expect("commit");
    }

    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(data_dir.path()).await.expect("open"));

    assert_eq!(
        stored_cells(store.as_ref(), DAY - 40, DAY + 1).await,
        expected
    );
    assert_reports_match_records(store.as_ref(), DAY).await;
    store.close().await.expect("close");
    let database = raw(data_dir.path());
    assert_eq!(written_version(&database), Some(REPORT_LAYOUT_VERSION));
    let transaction = database.begin_read().expect("read");
    let names: Vec<String> = transaction
        .list_tables()
        .expect("tables")
        .map(|handle| redb::TableHandle::name(&handle).to_owned())
        .collect();
    assert!(
        !names.iter().any(|name| name == "report_cells"),
        "the former cells are dropped: {names:?}"
    );
}

#[tokio::test]
async fn aggregates_of_another_layout_version_are_recomputed_and_the_current_one_is_kept() {
    let (data_dir, expected) = store_with_records().await;
    let database = raw(data_dir.path());
    let kept = bring_up_to_date(&database).expect("up to date");
    assert!(!kept.recomputed, "a store of the current layout is kept");
    {
        // Aggregates of an older version: some cells missing.
        let transaction = database.begin_write().expect("write");
        transaction.delete_table(REPORT_CELLS).expect("delete");
        transaction
            .open_table(REPORT_LAYOUT)
            .expect("layout")
            .insert("report_cells", REPORT_LAYOUT_VERSION - 1)
            .expect("insert");
        transaction.commit().expect("commit");
    }

    let upgrade = bring_up_to_date(&database).expect("up to date");

    assert!(upgrade.recomputed);
    assert_eq!(upgrade.from_version, Some(REPORT_LAYOUT_VERSION - 1));
    assert_eq!(upgrade.records, 3 * 2 * 3 + 2);
    assert_eq!(written_version(&database), Some(REPORT_LAYOUT_VERSION));
    drop(database);
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(data_dir.path()).await.expect("open"));
    assert_eq!(
        stored_cells(store.as_ref(), DAY - 40, DAY + 1).await,
        expected
    );
    assert_reports_match_records(store.as_ref(), DAY).await;
}
