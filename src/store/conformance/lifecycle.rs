//! Contract of [`Store`](crate::store::Store) itself: readiness and shutdown.

use std::sync::Arc;

use crate::store::{Store, StoreError};

/// `ping` answers while the store is open; after `close`, calls fail as
/// unavailable instead of reaching a released backend.
pub(crate) async fn ping_answers_until_close(store: Arc<dyn Store>) {
    store.ping().await.expect("ping an open store");
    assert!(!store.backend_name().is_empty());

    store.close().await.expect("close");

    assert!(matches!(
        store.ping().await,
        Err(StoreError::Unavailable(_))
    ));
}
