//! [`ImportStore`] on CQL: `import_runs` by id (a listing reads them all and
//! sorts: runs are few), `import_staged` one partition per chunk, and
//! `import_refs` one partition per external id. Lookups and writes of many
//! refs run concurrently, [`CONCURRENT_REFS`] at a time.

use async_trait::async_trait;
use futures::future::try_join_all;
use uuid::Uuid;

use super::ScyllaStore;
use super::codec::{decode_record, encode_record, first_row, rows, to_bigint};
use crate::store::{ImportRef, ImportRun, ImportRunCursor, ImportStore, StoreResult};

/// External ids read or written at once.
const CONCURRENT_REFS: usize = 64;

#[async_trait]
impl ImportStore for ScyllaStore {
    async fn put_import_run(&self, run: &ImportRun) -> StoreResult<()> {
        self.execute(
            |connected| &connected.statements.imports.upsert_run,
            (
                run.run_id,
                run.started_at_ms,
                encode_record(run, "import run")?,
            ),
        )
        .await?;
        Ok(())
    }

    async fn import_run(&self, run_id: Uuid) -> StoreResult<Option<ImportRun>> {
        let result = self
            .execute(
                |connected| &connected.statements.imports.select_run,
                (run_id,),
            )
            .await?;
        first_row::<(Vec<u8>,)>(result, "import run")?
            .map(|(record,)| decode_record(&record, "import run"))
            .transpose()
    }

    async fn import_runs(
        &self,
        before: Option<ImportRunCursor>,
        limit: usize,
    ) -> StoreResult<Vec<ImportRun>> {
        let result = self
            .execute(|connected| &connected.statements.imports.select_runs, ())
            .await?;
        let mut runs = rows::<(Vec<u8>,)>(result, "import run")?
            .into_iter()
            .map(|(record,)| decode_record::<ImportRun>(&record, "import run"))
            .collect::<StoreResult<Vec<_>>>()?;
        runs.retain(|run| {
            before.is_none_or(|cursor| {
                (run.started_at_ms, run.run_id) < (cursor.started_at_ms, cursor.run_id)
            })
        });
        runs.sort_by(|left, right| {
            (right.started_at_ms, right.run_id).cmp(&(left.started_at_ms, left.run_id))
        });
        runs.truncate(limit);
        Ok(runs)
    }

    async fn stage_import_chunk(&self, run_id: Uuid, chunk: u64, rows: &[u8]) -> StoreResult<()> {
        self.execute(
            |connected| &connected.statements.imports.upsert_staged,
            (run_id, to_bigint(chunk, "import chunk")?, rows),
        )
        .await?;
        Ok(())
    }

    async fn staged_import_chunk(&self, run_id: Uuid, chunk: u64) -> StoreResult<Option<Vec<u8>>> {
        let result = self
            .execute(
                |connected| &connected.statements.imports.select_staged,
                (run_id, to_bigint(chunk, "import chunk")?),
            )
            .await?;
        Ok(first_row::<(Vec<u8>,)>(result, "staged import chunk")?.map(|(rows,)| rows))
    }

    async fn drop_staged_import(&self, run_id: Uuid, chunks: u64) -> StoreResult<()> {
        let numbers: Vec<u64> = (0..chunks).collect();
        for group in numbers.chunks(CONCURRENT_REFS) {
            let deletes: Vec<_> = group
                .iter()
                .map(|chunk| self.delete_staged_chunk(run_id, *chunk))
                .collect();
            try_join_all(deletes).await?;
        }
        Ok(())
    }

    async fn import_refs(
        &self,
        kind: &str,
        refs: &[String],
    ) -> StoreResult<Vec<Option<ImportRef>>> {
        let mut found = Vec::with_capacity(refs.len());
        for group in refs.chunks(CONCURRENT_REFS) {
            let reads: Vec<_> = group
                .iter()
                .map(|reference| self.import_ref(kind, reference))
                .collect();
            found.extend(try_join_all(reads).await?);
        }
        Ok(found)
    }

    async fn put_import_refs(&self, kind: &str, refs: &[(String, ImportRef)]) -> StoreResult<()> {
        for group in refs.chunks(CONCURRENT_REFS) {
            let writes: Vec<_> = group
                .iter()
                .map(|(reference, target)| self.put_import_ref(kind, reference, target))
                .collect();
            try_join_all(writes).await?;
        }
        Ok(())
    }
}

impl ScyllaStore {
    /// What one external id wrote.
    async fn import_ref(&self, kind: &str, reference: &str) -> StoreResult<Option<ImportRef>> {
        let result = self
            .execute(
                |connected| &connected.statements.imports.select_ref,
                (kind, reference),
            )
            .await?;
        first_row::<(Vec<u8>,)>(result, "import ref")?
            .map(|(record,)| decode_record::<ImportRef>(&record, "import ref"))
            .transpose()
    }

    /// Records what one external id wrote.
    async fn put_import_ref(
        &self,
        kind: &str,
        reference: &str,
        target: &ImportRef,
    ) -> StoreResult<()> {
        self.execute(
            |connected| &connected.statements.imports.upsert_ref,
            (kind, reference, encode_record(target, "import ref")?),
        )
        .await
        .map(|_| ())
    }

    /// Drops one staged chunk.
    async fn delete_staged_chunk(&self, run_id: Uuid, chunk: u64) -> StoreResult<()> {
        self.execute(
            |connected| &connected.statements.imports.delete_staged,
            (run_id, to_bigint(chunk, "import chunk")?),
        )
        .await
        .map(|_| ())
    }
}
