//! Contract of [`AuditStore`](crate::store::AuditStore): an append-only log read
//! newest first, page by page, across days.

use std::sync::Arc;

use uuid::Uuid;

use super::samples::NOW_MS;
use crate::domain::AccountId;
use crate::store::{AuditCursor, AuditEntry, Store};

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

fn entry(at_ms: i64, action: &str) -> AuditEntry {
    AuditEntry {
        entry_id: Uuid::new_v4(),
        at_ms,
        actor: "admin@127.0.0.1".to_owned(),
        action: action.to_owned(),
        target: Some(AccountId::random()),
        detail: "1 sign-in revoked".to_owned(),
    }
}

fn cursor_after(entry: &AuditEntry) -> AuditCursor {
    AuditCursor {
        at_ms: entry.at_ms,
        entry_id: entry.entry_id,
    }
}

/// Entries on several days, some in one millisecond, come back newest first
/// in pages that neither skip nor repeat one; appending twice keeps one.
pub(crate) async fn audit_entries_page_newest_first_across_days(store: Arc<dyn Store>) {
    assert!(
        store
            .audit_entries(None, 10)
            .await
            .expect("empty")
            .is_empty()
    );
    let mut written = Vec::new();
    for (offset, action) in [
        (0, "account_lookup"),
        (DAY_MS, "account_disabled"),
        (DAY_MS, "account_enabled"),
        (DAY_MS + 1, "sessions_revoked"),
        (3 * DAY_MS, "roster_removed"),
    ] {
        let appended = entry(NOW_MS + offset, action);
        store.append_audit_entry(&appended).await.expect("append");
        written.push(appended);
    }
    store
        .append_audit_entry(&written[2])
        .await
        .expect("append again");
    let mut changed = written[2].clone();
    changed.detail = "rewritten".to_owned();
    store
        .append_audit_entry(&changed)
        .await
        .expect("append with the same id");

    let mut expected = written.clone();
    expected.sort_by_key(|entry| std::cmp::Reverse((entry.at_ms, entry.entry_id)));
    let mut read = Vec::new();
    let mut before = None;
    loop {
        let page = store.audit_entries(before, 2).await.expect("page");
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        before = Some(cursor_after(last));
        read.extend(page);
    }
    assert_eq!(read, expected, "every entry once, newest first, unchanged");
    assert_eq!(store.audit_entries(None, 100).await.expect("all"), expected);
}
