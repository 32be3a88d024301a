//! The CQL due queue of the outbox, measured on a real node: stale rows
//! (left by a writer that lost its race or stopped between its index write and
//! its conditional write) ahead of a due delivery in its bucket never hide it.

use uuid::Uuid;

use super::bound_tests::fresh_store;
use super::time_queue::bucket_of;
use crate::outbox::message::{EventType, OutboxMessage, message_id};
use crate::store::OutboxStore;

/// Far more stale rows than one page of the listing reads.
const STALE_ROWS: i64 = 700;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_rows_ahead_of_a_due_delivery_do_not_hide_it() {
    let Some((store, _dropper)) = fresh_store("outbox stale rows").await else {
        return;
    };
    let now_ms = 1_780_000_000_000_i64;
    // All in one bucket, the stale rows first.
    let created_at_ms = now_ms - 1_000;
    for offset in 0..STALE_ROWS {
        let due_at_ms = created_at_ms - STALE_ROWS + offset;
        assert_eq!(bucket_of(due_at_ms), bucket_of(created_at_ms));
        store
            .execute(
                |connected| &connected.statements.outbox.insert_due,
                (bucket_of(due_at_ms), due_at_ms, Uuid::new_v4()),
            )
            .await
            .expect("stale row");
    }
    let fact_key = Uuid::new_v4().to_string();
    let id = message_id(EventType::ConnectionCompleted, &fact_key);
    store
        .enqueue_outbox_message(&OutboxMessage {
            message_id: id,
            event_type: EventType::ConnectionCompleted,
            fact_key,
            created_at_ms,
            body: "{}".to_owned(),
        })
        .await
        .expect("enqueue");

    for limit in [1, 50] {
        let due = store
            .due_outbox_deliveries(now_ms, limit)
            .await
            .expect("due");
        let found: Vec<Uuid> = due
            .iter()
            .map(|delivery| delivery.message.message_id)
            .collect();
        assert_eq!(found, vec![id], "limit {limit}");
    }
}
