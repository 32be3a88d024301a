//! [`ImportStore`] on redb: runs keyed by time then id (with an id → key
//! table), staged chunks by (run, chunk), external ids by `kind\0ref`.

use async_trait::async_trait;
use uuid::Uuid;

use super::EmbeddedStore;
use super::audit::newest_by_time;
use super::codec::{decode, encode, redb_error};
use super::tables::{
    IMPORT_REFS, IMPORT_RUN_KEYS, IMPORT_RUNS, IMPORT_STAGED, staged_chunk_key, time_id_key,
};
use crate::store::{ImportRef, ImportRun, ImportRunCursor, ImportStore, StoreResult};

/// The `IMPORT_REFS` key of `reference` of `kind` (kinds hold no NUL).
fn ref_key(kind: &str, reference: &str) -> String {
    format!("{kind}\0{reference}")
}

#[async_trait]
impl ImportStore for EmbeddedStore {
    async fn put_import_run(&self, run: &ImportRun) -> StoreResult<()> {
        let key = time_id_key(run.started_at_ms, run.run_id);
        let run_id = *run.run_id.as_bytes();
        let encoded = encode(run)?;
        self.write(move |transaction| {
            let mut runs = transaction.open_table(IMPORT_RUNS).map_err(redb_error)?;
            let mut keys = transaction
                .open_table(IMPORT_RUN_KEYS)
                .map_err(redb_error)?;
            // A run keeps its start time, so its key never moves; the id table
            // is written with it all the same, in the same transaction.
            runs.insert(&key, encoded.as_slice()).map_err(redb_error)?;
            keys.insert(&run_id, &key).map_err(redb_error)?;
            Ok(())
        })
        .await
    }

    async fn import_run(&self, run_id: Uuid) -> StoreResult<Option<ImportRun>> {
        self.read(move |transaction| {
            let keys = transaction
                .open_table(IMPORT_RUN_KEYS)
                .map_err(redb_error)?;
            let Some(key) = keys.get(run_id.as_bytes()).map_err(redb_error)? else {
                return Ok(None);
            };
            let key = key.value();
            let runs = transaction.open_table(IMPORT_RUNS).map_err(redb_error)?;
            let Some(stored) = runs.get(&key).map_err(redb_error)? else {
                return Ok(None);
            };
            decode(stored.value()).map(Some)
        })
        .await
    }

    async fn import_runs(
        &self,
        before: Option<ImportRunCursor>,
        limit: usize,
    ) -> StoreResult<Vec<ImportRun>> {
        let before = before.map(|cursor| (cursor.started_at_ms, cursor.run_id));
        self.read(move |transaction| newest_by_time(transaction, IMPORT_RUNS, before, limit))
            .await
    }

    async fn stage_import_chunk(&self, run_id: Uuid, chunk: u64, rows: &[u8]) -> StoreResult<()> {
        let key = staged_chunk_key(run_id, chunk);
        let rows = rows.to_vec();
        self.write(move |transaction| {
            let mut staged = transaction.open_table(IMPORT_STAGED).map_err(redb_error)?;
            staged.insert(&key, rows.as_slice()).map_err(redb_error)?;
            Ok(())
        })
        .await
    }

    async fn staged_import_chunk(&self, run_id: Uuid, chunk: u64) -> StoreResult<Option<Vec<u8>>> {
        let key = staged_chunk_key(run_id, chunk);
        self.read(move |transaction| {
            let staged = transaction.open_table(IMPORT_STAGED).map_err(redb_error)?;
            Ok(staged
                .get(&key)
                .map_err(redb_error)?
                .map(|rows| rows.value().to_vec()))
        })
        .await
    }

    async fn drop_staged_import(&self, run_id: Uuid, chunks: u64) -> StoreResult<()> {
        self.write(move |transaction| {
            let mut staged = transaction.open_table(IMPORT_STAGED).map_err(redb_error)?;
            for chunk in 0..chunks {
                staged
                    .remove(&staged_chunk_key(run_id, chunk))
                    .map_err(redb_error)?;
            }
            Ok(())
        })
        .await
    }

    async fn import_refs(
        &self,
        kind: &str,
        refs: &[String],
    ) -> StoreResult<Vec<Option<ImportRef>>> {
        let keys: Vec<String> = refs
            .iter()
            .map(|reference| ref_key(kind, reference))
            .collect();
        self.read(move |transaction| {
            let table = transaction.open_table(IMPORT_REFS).map_err(redb_error)?;
            keys.iter()
                .map(|key| {
                    table
                        .get(key.as_str())
                        .map_err(redb_error)?
                        .map(|stored| decode(stored.value()))
                        .transpose()
                })
                .collect()
        })
        .await
    }

    async fn put_import_refs(&self, kind: &str, refs: &[(String, ImportRef)]) -> StoreResult<()> {
        let encoded = refs
            .iter()
            .map(|(reference, target)| Ok((ref_key(kind, reference), encode(target)?)))
            .collect::<StoreResult<Vec<_>>>()?;
        self.write(move |transaction| {
            let mut table = transaction.open_table(IMPORT_REFS).map_err(redb_error)?;
            for (key, target) in &encoded {
                table
                    .insert(key.as_str(), target.as_slice())
                    .map_err(redb_error)?;
            }
            Ok(())
        })
        .await
    }
}
