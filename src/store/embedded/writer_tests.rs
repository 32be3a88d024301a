//! Group commit: writes queued together commit together, each sees the ones
//! before it, and a failing write takes nothing else down with it.

use std::sync::Arc;
use std::time::Duration;

use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use tempfile::TempDir;

use super::*;

const NUMBERS: TableDefinition<u64, u64> = TableDefinition::new("numbers");

fn open(directory: &TempDir) -> Arc<Database> {
    Arc::new(Database::create(directory.path().join("writer.redb")).expect("database"))
}

fn stored(database: &Database, key: u64) -> Option<u64> {
    let transaction = database.begin_read().expect("read");
    let Ok(table) = transaction.open_table(NUMBERS) else {
        return None;
    };
    table.get(key).expect("get").map(|value| value.value())
}

/// A write that holds the writer until `release` is sent, so the writes queued
/// meanwhile form one batch.
fn blocker(
    release: std::sync::mpsc::Receiver<()>,
) -> impl FnMut(&WriteTransaction) -> StoreResult<()> {
    let release = std::sync::Mutex::new(release);
    move |_transaction| {
        let _released = release
            .lock()
            .expect("not poisoned")
            .recv_timeout(Duration::from_secs(10));
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_write_rolls_back_alone_and_its_batch_commits() {
    let directory = TempDir::new().expect("temporary directory");
    let database = open(&directory);
    let writer = Arc::new(Writer::new(Arc::clone(&database)));
    let (release, released) = std::sync::mpsc::channel();
    let first = tokio::spawn({
        let writer = Arc::clone(&writer);
        async move { writer.write(blocker(released)).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let writes: Vec<_> = (0..40_u64)
        .map(|key| {
            let writer = Arc::clone(&writer);
            tokio::spawn(async move {
                writer
                    .write(move |transaction| {
                        let mut table = transaction.open_table(NUMBERS).expect("table");
                        table.insert(key, key * 10).expect("insert");
                        if key == 17 {
                            return Err(StoreError::Backend("refused".to_owned()));
                        }
                        Ok(key)
                    })
                    .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    release.send(()).expect("blocker waiting");
    first.await.expect("joined").expect("the blocker committed");
    for (key, write) in (0..40_u64).zip(writes) {
        let answer = write.await.expect("joined");
        if key == 17 {
            assert!(answer.is_err(), "the failing write reports its error");
            assert_eq!(stored(&database, key), None, "and wrote nothing");
        } else {
            assert_eq!(answer.expect("committed"), key);
            assert_eq!(stored(&database, key), Some(key * 10));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_write_sees_every_write_before_it() {
    let directory = TempDir::new().expect("temporary directory");
    let database = open(&directory);
    let writer = Arc::new(Writer::new(Arc::clone(&database)));
    let increments: Vec<_> = (0..100)
        .map(|_| {
            let writer = Arc::clone(&writer);
            tokio::spawn(async move {
                writer
                    .write(|transaction| {
                        let mut table = transaction.open_table(NUMBERS).expect("table");
                        let next = table.get(0).expect("get").map_or(0, |value| value.value()) + 1;
                        table.insert(0, next).expect("insert");
                        Ok(next)
                    })
                    .await
            })
        })
        .collect();
    let mut seen = Vec::new();
    for increment in increments {
        seen.push(increment.await.expect("joined").expect("committed"));
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=100).collect::<Vec<u64>>(),
        "no increment lost or repeated"
    );
    assert_eq!(stored(&database, 0), Some(100));
}

#[tokio::test]
async fn dropping_the_writer_releases_the_database() {
    let directory = TempDir::new().expect("temporary directory");
    let path = directory.path().join("writer.redb");
    let database = Arc::new(Database::create(&path).expect("database"));
    let writer = Writer::new(Arc::clone(&database));
    writer
        .write(|transaction| {
            transaction
                .open_table(NUMBERS)
                .expect("table")
                .insert(1, 1)
                .expect("insert");
            Ok(())
        })
        .await
        .expect("committed");
    drop(writer);
    drop(database);
    let reopened = Database::create(&path).expect("the file is free again");
    assert_eq!(stored(&reopened, 1), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_write_fails_and_the_queue_goes_on() {
    let directory = TempDir::new().expect("temporary directory");
    let database = open(&directory);
    let writer = Arc::new(Writer::new(Arc::clone(&database)));
    let panicked = writer
        .write(|transaction| -> StoreResult<()> {
            transaction
                .open_table(NUMBERS)
                .expect("table")
                .insert(7, 7)
                .expect("insert");
            panic!("a bug in a write");
        })
        .await;
    assert!(panicked.is_err(), "the caller gets an error, not a hang");
    assert_eq!(stored(&database, 7), None, "and nothing of it is written");
    writer
        .write(|transaction| {
            transaction
                .open_table(NUMBERS)
                .expect("table")
                .insert(8, 8)
                .expect("insert");
            Ok(())
        })
        .await
        .expect("the next write commits");
    assert_eq!(stored(&database, 8), Some(8));
}
