//! The CQL store under injected faults: a statement failing between two steps
//! of a ledger append (nothing may be stranded), and conditional writes that
//! apply but answer with a timeout (the outcome is read back, never guessed).
//! They need a CQL node (`HEYBLUE_SCYLLA_URI`), like the contract suite.

use std::time::Duration;

use uuid::Uuid;

use super::ScyllaStore;
use super::tests::{KeyspaceDropper, fresh_keyspace_store};
use crate::domain::AccountId;
use crate::store::{
    LedgerAppend, LedgerReason, LedgerStore, NewLedgerEntry, RefreshConsumption, SecretHash, Store,
    TokenFamily, TokenKind, TokenRecord, TokenStore,
};

/// Longer than any append needs on a healthy node, shorter than a stranded
/// claim's wait, so a stranded id fails the test instead of slowing it.
const RETRY_LIMIT: Duration = Duration::from_secs(5);

/// A store on a fresh keyspace, or `None` (with a message) without a node.
async fn fresh_store(case: &str) -> Option<(ScyllaStore, KeyspaceDropper)> {
    fresh_keyspace_store("fault", case).await
}

fn credit(account_id: AccountId, delta: i64) -> NewLedgerEntry {
    NewLedgerEntry {
        entry_id: Uuid::new_v4(),
        account_id,
        at_ms: 1_800_000_000_000,
        delta,
        reason: LedgerReason::Adjustment,
        reference: None,
    }
}

/// The entry appended once and the balance its sum, whatever happened before.
async fn assert_appended_once(store: &ScyllaStore, entry: &NewLedgerEntry, case: &str) {
    let retried = tokio::time::timeout(RETRY_LIMIT, store.append_ledger_entry(entry))
        .await
        .unwrap_or_else(|_| panic!("{case}: the retry waited on a stranded claim"))
        .unwrap_or_else(|error| panic!("{case}: the retry failed: {error}"));
    let stored = match retried {
        LedgerAppend::Appended(stored) | LedgerAppend::Duplicate(stored) => stored,
        LedgerAppend::InsufficientBalance { .. } => panic!("{case}: a credit was refused"),
    };
    assert_eq!(
        (stored.seq, stored.balance_after),
        (1, entry.delta),
        "{case}"
    );
    let page = store
        .ledger_page(entry.account_id, None, 10)
        .await
        .expect("page");
    assert_eq!(page, vec![stored], "{case}");
    assert_eq!(
        store.balance(entry.account_id).await.expect("balance"),
        entry.delta,
        "{case}"
    );
    let next = store
        .append_ledger_entry(&credit(entry.account_id, 1))
        .await
        .unwrap_or_else(|error| panic!("{case}: a later entry failed: {error}"));
    let LedgerAppend::Appended(next) = next else {
        panic!("{case}: a later entry was not appended: {next:?}");
    };
    assert_eq!(
        (next.seq, next.balance_after),
        (2, entry.delta + 1),
        "{case}"
    );
}

/// Whichever statement of an append fails (before the head moved, between the
/// head and the entry, after), a retry of the same entry appends it exactly
/// once, at once: no step leaves the entry id claimed but unplaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_append_failing_at_any_statement_is_retried_exactly_once() {
    let Some((store, _dropper)) = fresh_store("append failing at any statement").await else {
        return;
    };
    for failing in 0.. {
        let entry = credit(AccountId::random(), 10);
        store.faults().fail_statement(failing);
        let first = store.append_ledger_entry(&entry).await;
        let fired = !store.faults().is_armed();
        store.faults().disarm();
        if !fired {
            assert!(first.is_ok(), "an append with no fault failed: {first:?}");
            assert!(failing > 1, "the fault never fired");
            break;
        }
        assert_appended_once(&store, &entry, &format!("statement {failing} failed")).await;
    }
    store.close().await.expect("close");
}

/// A conditional write of an append that applies but answers with a timeout is
/// resolved by reading back: the append reports the entry it placed, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_append_whose_conditional_write_times_out_after_applying_is_resolved() {
    let Some((store, _dropper)) = fresh_store("append timing out after applying").await else {
        return;
    };
    for timing_out in 0.. {
        let entry = credit(AccountId::random(), 10);
        store
            .faults()
            .time_out_conditional_after_applying(timing_out);
        let first = store.append_ledger_entry(&entry).await;
        let fired = !store.faults().is_armed();
        store.faults().disarm();
        let case = format!("conditional write {timing_out} timed out");
        let first = first.unwrap_or_else(|error| panic!("{case}: the append failed: {error}"));
        let LedgerAppend::Appended(stored) = first else {
            panic!("{case}: the append reported {first:?}");
        };
        assert_eq!((stored.seq, stored.balance_after), (1, 10), "{case}");
        assert_appended_once(&store, &entry, &case).await;
        if !fired {
            assert!(timing_out > 0, "the fault never fired");
            break;
        }
    }
    store.close().await.expect("close");
}

/// A refresh token whose consumption applied but answered with a timeout is
/// reported consumed by this call, not as a reuse of its own write (which
/// would revoke the family of a client that did nothing wrong).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_consumption_timing_out_after_applying_is_not_a_reuse() {
    let Some((store, _dropper)) = fresh_store("refresh consumption timing out").await else {
        return;
    };
    let now_ms = crate::clock::Clock::system().now_ms();
    let family = TokenFamily {
        family_id: Uuid::new_v4(),
        account_id: AccountId::random(),
        created_at_ms: now_ms,
        revoked_at_ms: None,
    };
    store
        .insert_token_family(&family, family.created_at_ms + 86_400_000)
        .await
        .expect("family");
    let token = TokenRecord {
        token_hash: SecretHash([7; 32]),
        kind: TokenKind::Refresh,
        family_id: family.family_id,
        account_id: family.account_id,
        issued_at_ms: now_ms,
        expires_at_ms: now_ms + 3_600_000,
        consumed_at_ms: None,
    };
    store.insert_token(&token).await.expect("token");

    store.faults().time_out_conditional_after_applying(0);
    let consumed = store
        .consume_refresh_token(&token.token_hash, now_ms + 1)
        .await;
    assert!(!store.faults().is_armed(), "the fault fired");
    assert_eq!(
        consumed.expect("the consumption is resolved, not failed"),
        RefreshConsumption::Consumed(token.clone())
    );
    let again = store
        .consume_refresh_token(&token.token_hash, now_ms + 2)
        .await
        .expect("consume again");
    assert!(
        matches!(again, RefreshConsumption::AlreadyConsumed(ref stored) if stored.consumed_at_ms == Some(now_ms + 1)),
        "{again:?}"
    );
    store.close().await.expect("close");
}
