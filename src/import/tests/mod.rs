//! Tests of the import pipeline on the embedded store: each kind's sample,
//! reports, all-or-nothing, skip-invalid, re-imports, bad files, recovery,
//! and the documentation's schema tables.

mod bad_input;
mod every_code;
mod kinds;
mod officers;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use uuid::Uuid;

use super::apply::{ApplyContext, OfficerDepartures};
use super::pipeline::{ImportRequest, run_import};
use super::report::{ImportReport, ProblemCode};
use super::schema::{ImportKind, schema_markdown};
use super::source::ImportFormat;
use crate::clock::Clock;
use crate::domain::catalog::{Area, CatalogStatus, Municipality};
use crate::identity::keys::ServerKeys;
use crate::store::embedded::EmbeddedStore;
use crate::store::{PhoneHash, Store, StoreError};

/// The municipality the scheme sample names.
pub(super) const SAMPLE_MUNICIPALITY: &str = "7d444840-9dc0-11d1-b245-5ffdce74fad2";

/// Records the officers taken off the roster.
#[derive(Debug, Default)]
pub(super) struct RecordedDepartures {
    /// Their phone hashes, in order.
    pub(super) left: Mutex<Vec<PhoneHash>>,
}

#[async_trait]
impl OfficerDepartures for RecordedDepartures {
    async fn officer_left(&self, phone_hash: &PhoneHash) -> Result<(), StoreError> {
        self.left
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(*phone_hash);
        Ok(())
    }
}

/// A store in a temporary directory, and the context of runs on it.
pub(super) struct Fixture {
    pub(super) context: ApplyContext,
    pub(super) departures: Arc<RecordedDepartures>,
    _dir: tempfile::TempDir,
}

pub(super) async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).await.unwrap());
    let departures = Arc::new(RecordedDepartures::default());
    let context = ApplyContext {
        store,
        keys: Arc::new(ServerKeys::derive(&[1; 32])),
        phone_regions: crate::domain::phone::PhoneRegions::only(phonenumber::country::Id::US),
        clock: Clock::system(),
        departures: departures.clone(),
    };
    Fixture {
        context,
        departures,
        _dir: dir,
    }
}

/// How a test runs an import.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Flags {
    pub(super) skip_invalid: bool,
    pub(super) dry_run: bool,
    pub(super) ndjson: bool,
}

pub(super) async fn import(
    fixture: &Fixture,
    kind: ImportKind,
    bytes: &[u8],
    flags: Flags,
) -> ImportReport {
    let request = ImportRequest {
        kind,
        format: if flags.ndjson {
            ImportFormat::Ndjson
        } else {
            ImportFormat::Csv
        },
        skip_invalid: flags.skip_invalid,
        dry_run: flags.dry_run,
        actor: "test".to_owned(),
    };
    run_import(
        &fixture.context,
        request,
        Box::new(std::io::Cursor::new(bytes.to_vec())),
        Arc::new(AtomicU64::new(0)),
    )
    .await
    .unwrap()
}

/// The sample file of `kind` under docs/samples.
pub(super) fn sample(kind: ImportKind) -> Vec<u8> {
    let path = format!(
        "{}/docs/samples/{}.csv",
        env!("CARGO_MANIFEST_DIR"),
        kind.as_str()
    );
    std::fs::read(&path).unwrap()
}

/// Puts the municipality the scheme sample names into the catalog.
pub(super) async fn sample_municipality(fixture: &Fixture) {
    let municipality = Municipality {
        id: Uuid::parse_str(SAMPLE_MUNICIPALITY).unwrap(),
        name: "New York".to_owned(),
        state: "NY".to_owned(),
        area: Area::parse("area", vec!["100".to_owned(), "112".to_owned()]).unwrap(),
        contact: "city@example.com".to_owned(),
        status: CatalogStatus::Active,
        created_at_ms: 1,
        updated_at_ms: 1,
    };
    fixture
        .context
        .store
        .put_municipality(&municipality)
        .await
        .unwrap();
}

/// Makes the store ready for `kind`'s sample (issuers first).
pub(super) async fn prerequisites(fixture: &Fixture, kind: ImportKind) {
    match kind {
        ImportKind::Offers => {
            let report = import(
                fixture,
                ImportKind::Retailers,
                &sample(ImportKind::Retailers),
                Flags::default(),
            )
            .await;
            assert!(!report.has_problems(), "{report}");
        }
        ImportKind::Schemes => sample_municipality(fixture).await,
        ImportKind::Officers | ImportKind::Retailers | ImportKind::Charities => {}
    }
}

/// The (row, column, code) of each problem.
pub(super) fn found(report: &ImportReport) -> Vec<(u64, Option<&str>, ProblemCode)> {
    report
        .problems
        .iter()
        .map(|problem| (problem.row, problem.column.as_deref(), problem.code))
        .collect()
}

/// How many entities of `kind` the store holds.
pub(super) async fn stored(fixture: &Fixture, kind: ImportKind) -> usize {
    let store = fixture.context.store.as_ref();
    match kind {
        ImportKind::Officers => usize::try_from(store.roster_size().await.unwrap()).unwrap(),
        ImportKind::Retailers => store.retailers(None, 1_000).await.unwrap().len(),
        ImportKind::Offers | ImportKind::Schemes => store.offers(None, 1_000).await.unwrap().len(),
        ImportKind::Charities => store.charities(None, 1_000).await.unwrap().len(),
    }
}

#[test]
fn the_documentation_holds_each_schema_as_the_code_renders_it() {
    let path = format!("{}/docs/imports.md", env!("CARGO_MANIFEST_DIR"));
    let documentation = std::fs::read_to_string(path).unwrap();
    for kind in ImportKind::ALL {
        let table = schema_markdown(kind);
        assert!(
            documentation.contains(&table),
            "docs/imports.md lacks the schema of {kind} as the code has it:\n{table}"
        );
    }
}
