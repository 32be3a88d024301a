//! The store contract suite against a real CQL node, one fresh keyspace per
//! case so cases run in parallel. The node is named by `HEYBLUE_SCYLLA_URI`
//! (`host:port`, as `scripts/cql-node start` prints); without it every case is
//! skipped with a message saying how to run them.

use std::io::Write;
use std::sync::{Arc, Once};

use super::{ScyllaStore, Settings};
use crate::config::{ConsistencyLevel, ReplicationConfig, ScyllaConfig};
use crate::store::conformance::{Fixture, store_conformance_tests};

/// Variable naming the CQL node the tests use.
const URI_VARIABLE: &str = "HEYBLUE_SCYLLA_URI";

/// The one place these tests read the process environment.
pub(crate) fn cql_node_uri() -> Option<String> {
    std::env::var(URI_VARIABLE)
        .ok()
        .filter(|uri| !uri.trim().is_empty())
}

/// Settings for a new, uniquely named keyspace on the test node.
pub(crate) fn test_settings(uri: &str) -> Settings {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    Settings {
        config: ScyllaConfig {
            nodes: uri.split(',').map(|node| node.trim().to_owned()).collect(),
            keyspace: format!("heyblue_test_{}", &unique[..16]),
            local_datacenter: None,
            replication: ReplicationConfig::Simple { factor: 1 },
            consistency: ConsistencyLevel::LocalQuorum,
            request_timeout_seconds: 10,
            username: None,
            password_env: "HEYBLUE_SCYLLA_PASSWORD".to_owned(),
            tls: None,
        },
        password: None,
    }
}

/// A connected store on a fresh keyspace, or `None` without a node.
async fn fresh_store() -> Option<Fixture> {
    static SKIP_NOTICE: Once = Once::new();
    let Some(uri) = cql_node_uri() else {
        SKIP_NOTICE.call_once(|| {
            // Straight to the process's stderr, past the test harness's capture,
            // so the skip is seen even when every test passes.
            let _ignored_if_stderr_is_closed = writeln!(
                std::io::stderr(),
                "SKIPPED scylla store contract tests: {URI_VARIABLE} is unset. Run scripts/test \
                 (it starts a CQL node), or scripts/cql-node start and export \
                 {URI_VARIABLE}=<the host:port it prints>"
            );
        });
        return None;
    };
    let settings = test_settings(&uri);
    let dropper = KeyspaceDropper {
        settings: settings.clone(),
    };
    let store = ScyllaStore::connect(settings)
        .await
        .expect("connect to the test cql node");
    Some(Fixture::new(Arc::new(store), dropper))
}

/// A connected store on a fresh keyspace and the guard dropping it, or
/// `None` (saying which case of which `suite` is skipped) without a node.
pub(crate) async fn fresh_keyspace_store(
    suite: &str,
    case: &str,
) -> Option<(ScyllaStore, KeyspaceDropper)> {
    let Some(uri) = cql_node_uri() else {
        eprintln!("SKIPPED scylla {suite} test {case}: {URI_VARIABLE} is unset");
        return None;
    };
    let settings = test_settings(&uri);
    let dropper = KeyspaceDropper {
        settings: settings.clone(),
    };
    let store = ScyllaStore::connect(settings).await.expect("connect");
    Some((store, dropper))
}

/// Drops a test keyspace when the case ends, so a long-lived node does not fill
/// its heap with the tables of finished cases.
pub(crate) struct KeyspaceDropper {
    /// The keyspace and how to reach its node.
    pub(crate) settings: Settings,
}

impl Drop for KeyspaceDropper {
    fn drop(&mut self) {
        let settings = self.settings.clone();
        // A fresh runtime on its own thread: drop cannot await on the test's.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let session = scylla::client::session_builder::SessionBuilder::new()
                    .known_nodes(&settings.config.nodes)
                    .build()
                    .await?;
                session
                    .query_unpaged(
                        format!("DROP KEYSPACE IF EXISTS {}", settings.config.keyspace),
                        (),
                    )
                    .await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .join();
        if let Ok(Err(error)) = dropped {
            eprintln!("cannot drop test keyspace: {error}");
        }
    }
}

store_conformance_tests!(conformance, fresh_store);

/// The schema can be applied again to a keyspace that has it, and a keyspace
/// written by a newer binary is refused with a message that says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_applies_twice_and_newer_schemas_are_refused() {
    let Some(uri) = cql_node_uri() else {
        eprintln!("SKIPPED scylla schema test: {URI_VARIABLE} is unset");
        return;
    };
    let settings = test_settings(&uri);
    let first = ScyllaStore::connect(settings.clone())
        .await
        .expect("first connect");
    let again = ScyllaStore::connect(settings.clone())
        .await
        .expect("second connect applies the schema again");
    let connected = again.connected().expect("connected");
    connected
        .session
        .query_unpaged(
            "UPDATE schema_version SET version = ? WHERE component = 'heyblue'",
            (super::SCHEMA_VERSION + 1,),
        )
        .await
        .expect("pretend a newer binary migrated");

    let refused = ScyllaStore::connect(settings)
        .await
        .expect_err("a newer schema is refused");

    assert!(
        refused.to_string().contains("newer than version"),
        "{refused}"
    );
    crate::store::Store::close(&first).await.expect("close");
}

/// Token rows carry a TTL of the token's remaining life plus the retention day,
/// so the node drops them itself (and `purge_expired_tokens` has nothing to do).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_rows_carry_their_ttl() {
    use crate::domain::AccountId;
    use crate::store::{SecretHash, Store, TokenKind, TokenRecord, TokenStore};

    let Some(uri) = cql_node_uri() else {
        eprintln!("SKIPPED scylla ttl test: {URI_VARIABLE} is unset");
        return;
    };
    let settings = test_settings(&uri);
    let _dropper = KeyspaceDropper {
        settings: settings.clone(),
    };
    let store = ScyllaStore::connect(settings).await.expect("connect");
    let now_ms = crate::clock::Clock::system().now_ms();
    let token = |byte: u8, expires_at_ms: i64| TokenRecord {
        token_hash: SecretHash([byte; 32]),
        kind: TokenKind::Access,
        family_id: uuid::Uuid::new_v4(),
        account_id: AccountId::random(),
        issued_at_ms: now_ms,
        expires_at_ms,
        consumed_at_ms: None,
    };
    let hour_token = token(1, now_ms + 3_600_000);
    store.insert_token(&hour_token).await.expect("insert");
    let connected = store.connected().expect("connected");
    let (ttl,): (Option<i32>,) = connected
        .session
        .query_unpaged(
            "SELECT TTL(kind) FROM tokens WHERE token_hash = ?",
            (hour_token.token_hash.0.as_slice(),),
        )
        .await
        .expect("select ttl")
        .into_rows_result()
        .expect("rows")
        .single_row()
        .expect("one row");
    let ttl = i64::from(ttl.expect("the row has a ttl"));
    let expected = 3_600 + 86_400;
    assert!((expected - 60..=expected).contains(&ttl), "ttl {ttl}");

    store.close().await.expect("close");
}
