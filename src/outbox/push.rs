//! Push notifications queued when a message for an officer cannot be handed
//! to a socket: a `notification.push` delivery, written in the background
//! through the outbox (`IF NOT EXISTS` under an id derived from the officer,
//! the kind and what it is about, so the same miss twice queues one push).

use std::sync::Arc;

use uuid::Uuid;

use super::message::{PushKind, push_notification};
use crate::domain::AccountId;
use crate::store::Store;

/// How long a push about an ended availability window matters.
pub(crate) const AVAILABILITY_PUSH_MS: i64 = 15 * 60 * 1_000;

/// Queues a push of `kind` about `reference` to `account_id`; it matters
/// until `expires_at_ms`. A failure is logged; nothing waits for it.
pub(crate) fn queue(
    store: &Arc<dyn Store>,
    account_id: AccountId,
    kind: PushKind,
    reference: Uuid,
    now_ms: i64,
    expires_at_ms: i64,
) {
    let message = push_notification(account_id, kind, reference, now_ms, expires_at_ms);
    let store = Arc::clone(store);
    tokio::spawn(async move {
        match store.enqueue_outbox_message(&message).await {
            Ok(()) => crate::metrics::push_notification_queued(kind),
            Err(error) => {
                tracing::warn!(%error, kind = kind.as_str(), "push notification not queued");
            }
        }
    });
}
