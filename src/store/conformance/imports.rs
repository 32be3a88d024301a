//! Contract of [`ImportStore`](crate::store::ImportStore): runs by id and
//! newest first in pages, staged chunks by (run, chunk) until dropped, and
//! external ids by (kind, ref).

use std::sync::Arc;

use uuid::Uuid;

use super::samples::NOW_MS;
use crate::store::{ImportRef, ImportRun, ImportRunCursor, ImportRunState, Store};

fn run(started_at_ms: i64) -> ImportRun {
    ImportRun {
        run_id: Uuid::new_v4(),
        kind: "offers".to_owned(),
        actor: "cli".to_owned(),
        started_at_ms,
        finished_at_ms: None,
        state: ImportRunState::Staging,
        staged_chunks: 0,
        applied_chunks: 0,
        report_json: "{}".to_owned(),
    }
}

/// Runs are replaced by id and listed newest first in pages that neither
/// skip nor repeat one.
pub(crate) async fn import_runs_are_kept_and_paged_newest_first(store: Arc<dyn Store>) {
    assert!(store.import_runs(None, 10).await.expect("empty").is_empty());
    let mut runs: Vec<ImportRun> = (0..5).map(|index| run(NOW_MS + index / 2)).collect();
    for each in &runs {
        store.put_import_run(each).await.expect("put");
    }
    runs[1].state = ImportRunState::Committed;
    runs[1].staged_chunks = 3;
    runs[1].finished_at_ms = Some(NOW_MS + 9);
    store.put_import_run(&runs[1]).await.expect("replace");
    assert_eq!(
        store.import_run(runs[1].run_id).await.expect("read"),
        Some(runs[1].clone())
    );
    assert_eq!(store.import_run(Uuid::new_v4()).await.expect("read"), None);
    runs.sort_by(|left, right| {
        (right.started_at_ms, right.run_id).cmp(&(left.started_at_ms, left.run_id))
    });
    let first = store.import_runs(None, 2).await.expect("page");
    assert_eq!(first, runs[..2].to_vec());
    let cursor = |run: &ImportRun| ImportRunCursor {
        started_at_ms: run.started_at_ms,
        run_id: run.run_id,
    };
    let second = store
        .import_runs(Some(cursor(&first[1])), 10)
        .await
        .expect("page");
    assert_eq!(second, runs[2..].to_vec());
}

/// A staged chunk reads back as written until its run's chunks are dropped.
pub(crate) async fn staged_import_chunks_live_until_dropped(store: Arc<dyn Store>) {
    let run_id = Uuid::new_v4();
    let other = Uuid::new_v4();
    for chunk in 0..3_u64 {
        store
            .stage_import_chunk(run_id, chunk, &[chunk as u8; 5])
            .await
            .expect("stage");
    }
    store
        .stage_import_chunk(other, 0, b"other")
        .await
        .expect("stage");
    assert_eq!(
        store.staged_import_chunk(run_id, 2).await.expect("read"),
        Some(vec![2; 5])
    );
    assert_eq!(
        store.staged_import_chunk(run_id, 3).await.expect("read"),
        None
    );
    store.drop_staged_import(run_id, 3).await.expect("drop");
    store
        .drop_staged_import(run_id, 3)
        .await
        .expect("drop again");
    for chunk in 0..3 {
        assert_eq!(
            store
                .staged_import_chunk(run_id, chunk)
                .await
                .expect("read"),
            None
        );
    }
    assert_eq!(
        store.staged_import_chunk(other, 0).await.expect("read"),
        Some(b"other".to_vec())
    );
}

/// External ids are kept per kind and replaced by a later write.
pub(crate) async fn import_refs_are_kept_per_kind(store: Arc<dyn Store>) {
    let target = |byte: u8| ImportRef {
        entity_id: Uuid::new_v4(),
        content_sha256: [byte; 32],
    };
    let first = target(1);
    let second = target(2);
    store
        .put_import_refs(
            "retailers",
            &[("shop-1".to_owned(), first), ("shop-2".to_owned(), second)],
        )
        .await
        .expect("put");
    let asked = [
        "shop-2".to_owned(),
        "shop-9".to_owned(),
        "shop-1".to_owned(),
    ];
    assert_eq!(
        store.import_refs("retailers", &asked).await.expect("read"),
        vec![Some(second), None, Some(first)]
    );
    assert_eq!(
        store.import_refs("charities", &asked).await.expect("read"),
        vec![None, None, None]
    );
    let replaced = ImportRef {
        content_sha256: [3; 32],
        ..first
    };
    store
        .put_import_refs("retailers", &[("shop-1".to_owned(), replaced)])
        .await
        .expect("replace");
    assert_eq!(
        store
            .import_refs("retailers", &["shop-1".to_owned()])
            .await
            .expect("read"),
        vec![Some(replaced)]
    );
}
