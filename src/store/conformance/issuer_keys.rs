//! Issuers' API keys: found by the hash of their secret, listed per issuer,
//! revoked once (the first time is kept), and never across issuers.

use std::sync::Arc;

use uuid::Uuid;

use super::samples::NOW_MS;
use crate::domain::catalog::OfferKind;
use crate::store::{IssuerKey, SecretHash, Store};

/// A fresh key of `issuer_id` created at `created_at_ms`.
fn key_of(issuer_id: Uuid, created_at_ms: i64) -> IssuerKey {
    IssuerKey {
        key_id: Uuid::new_v4(),
        kind: OfferKind::Offer,
        issuer_id,
        label: "Till 1".to_owned(),
        secret_hash: SecretHash(rand::random()),
        created_at_ms,
        revoked_at_ms: None,
    }
}

pub(crate) async fn issuer_keys_are_found_listed_and_revoked_once(store: Arc<dyn Store>) {
    let shop = Uuid::new_v4();
    let other_shop = Uuid::new_v4();
    let first = key_of(shop, NOW_MS);
    let second = key_of(shop, NOW_MS + 1);
    let foreign = key_of(other_shop, NOW_MS);
    for key in [&second, &first, &foreign] {
        store.insert_issuer_key(key).await.expect("insert");
    }

    assert_eq!(
        store
            .issuer_key_by_hash(&first.secret_hash)
            .await
            .expect("read"),
        Some(first.clone())
    );
    assert_eq!(
        store
            .issuer_key_by_hash(&SecretHash([7; 32]))
            .await
            .expect("read"),
        None
    );
    assert_eq!(
        store.issuer_keys_of(shop).await.expect("list"),
        vec![first.clone(), second.clone()],
        "oldest first, the issuer's own"
    );

    let revoked = store
        .revoke_issuer_key(shop, first.key_id, NOW_MS + 10)
        .await
        .expect("revoke")
        .expect("known key");
    assert_eq!(revoked.revoked_at_ms, Some(NOW_MS + 10));
    let again = store
        .revoke_issuer_key(shop, first.key_id, NOW_MS + 20)
        .await
        .expect("revoke again")
        .expect("known key");
    assert_eq!(
        again.revoked_at_ms,
        Some(NOW_MS + 10),
        "the first time stays"
    );
    assert_eq!(
        store
            .issuer_key_by_hash(&first.secret_hash)
            .await
            .expect("read")
            .and_then(|key| key.revoked_at_ms),
        Some(NOW_MS + 10)
    );
    assert_eq!(
        store
            .revoke_issuer_key(shop, foreign.key_id, NOW_MS + 10)
            .await
            .expect("revoke"),
        None,
        "another issuer's key is not found under this one"
    );
    assert_eq!(
        store
            .issuer_key_by_hash(&foreign.secret_hash)
            .await
            .expect("read")
            .and_then(|key| key.revoked_at_ms),
        None
    );
}
