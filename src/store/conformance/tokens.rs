//! Contract of [`TokenStore`](crate::store::TokenStore): token families,
//! revocation, tokens, and single-use refresh tokens.

use std::sync::Arc;

use uuid::Uuid;

use super::samples::{NOW_MS, account, family, phone, secret, token};
use super::{CONCURRENT_CALLERS, race};
use crate::domain::AccountId;
use crate::store::{AccessGrant, RefreshConsumption, Store, TokenKind};

/// How long the sign-ins of these cases are kept at least: a day.
const DAY_MS: i64 = 86_400_000;

/// Families are read back by id and listed per account, revoked or not.
pub(crate) async fn token_families_are_stored_and_listed_per_account(store: Arc<dyn Store>) {
    let alice = AccountId::random();
    let bob = AccountId::random();
    let mut alice_families = vec![family(alice), family(alice)];
    let bob_family = family(bob);
    for stored in alice_families.iter().chain([&bob_family]) {
        store
            .insert_token_family(stored, NOW_MS + DAY_MS)
            .await
            .expect("insert");
    }
    store
        .revoke_token_family(alice_families[1].family_id, NOW_MS)
        .await
        .expect("revoke");
    alice_families[1].revoked_at_ms = Some(NOW_MS);

    let mut listed = store.token_families_of(alice).await.expect("list");
    listed.sort_by_key(|listed_family| listed_family.family_id);
    alice_families.sort_by_key(|expected| expected.family_id);

    assert_eq!(listed, alice_families);
    assert_eq!(
        store.token_families_of(bob).await.expect("list"),
        vec![bob_family.clone()]
    );
    assert_eq!(
        store
            .token_families_of(AccountId::random())
            .await
            .expect("list"),
        vec![]
    );
    assert_eq!(
        store
            .token_family(bob_family.family_id)
            .await
            .expect("read"),
        Some(bob_family)
    );
    assert_eq!(
        store.token_family(Uuid::new_v4()).await.expect("read"),
        None
    );
}

/// Revoking twice keeps the first revocation time.
pub(crate) async fn revoking_a_family_is_idempotent_and_keeps_the_first_time(
    store: Arc<dyn Store>,
) {
    let sign_in = family(AccountId::random());
    store
        .insert_token_family(&sign_in, NOW_MS + DAY_MS)
        .await
        .expect("insert");

    store
        .revoke_token_family(sign_in.family_id, NOW_MS + 10)
        .await
        .expect("first revoke");
    store
        .revoke_token_family(sign_in.family_id, NOW_MS + 20)
        .await
        .expect("second revoke");

    let stored = store
        .token_family(sign_in.family_id)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.revoked_at_ms, Some(NOW_MS + 10));
    assert_eq!(stored.account_id, sign_in.account_id);
}

/// Tokens are read back by hash, expired ones too (callers check expiry).
pub(crate) async fn tokens_are_found_by_hash_even_when_expired(store: Arc<dyn Store>) {
    let sign_in = family(AccountId::random());
    let access = token(secret(1), TokenKind::Access, &sign_in);
    let mut expired_refresh = token(secret(2), TokenKind::Refresh, &sign_in);
    expired_refresh.expires_at_ms = NOW_MS - 1;
    store.insert_token(&access).await.expect("insert");
    store.insert_token(&expired_refresh).await.expect("insert");

    assert_eq!(store.token(&secret(1)).await.expect("read"), Some(access));
    assert_eq!(
        store.token(&secret(2)).await.expect("read"),
        Some(expired_refresh)
    );
    assert_eq!(store.token(&secret(3)).await.expect("read"), None);
}

/// Purging expired tokens never touches a live one (backends with row TTLs purge
/// nothing themselves; the embedded one deletes the expired rows).
pub(crate) async fn purging_expired_tokens_keeps_live_ones(store: Arc<dyn Store>) {
    let sign_in = family(AccountId::random());
    let live = token(secret(1), TokenKind::Access, &sign_in);
    let mut expired = token(secret(2), TokenKind::Access, &sign_in);
    expired.expires_at_ms = NOW_MS - 1;
    store.insert_token(&live).await.expect("insert");
    store.insert_token(&expired).await.expect("insert");

    let purged = store.purge_expired_tokens(NOW_MS).await.expect("purge");
    assert!(
        purged <= 1,
        "only the expired token may go, purged {purged}"
    );
    assert_eq!(store.token(&secret(1)).await.expect("read"), Some(live));
}

/// A refresh token is consumed once; the reuse reports the first consumption.
pub(crate) async fn consuming_a_refresh_token_succeeds_once(store: Arc<dyn Store>) {
    let sign_in = family(AccountId::random());
    let refresh = token(secret(1), TokenKind::Refresh, &sign_in);
    store.insert_token(&refresh).await.expect("insert");

    let first = store
        .consume_refresh_token(&secret(1), NOW_MS + 10)
        .await
        .expect("first consume");
    let reuse = store
        .consume_refresh_token(&secret(1), NOW_MS + 20)
        .await
        .expect("second consume");

    let consumed = crate::store::TokenRecord {
        consumed_at_ms: Some(NOW_MS + 10),
        ..refresh.clone()
    };
    assert_eq!(first, RefreshConsumption::Consumed(refresh));
    assert_eq!(reuse, RefreshConsumption::AlreadyConsumed(consumed.clone()));
    assert_eq!(store.token(&secret(1)).await.expect("read"), Some(consumed));
}

/// Unknown hashes and access tokens cannot be traded in.
pub(crate) async fn consuming_an_unknown_or_access_token_finds_nothing(store: Arc<dyn Store>) {
    let sign_in = family(AccountId::random());
    let access = token(secret(1), TokenKind::Access, &sign_in);
    store.insert_token(&access).await.expect("insert");

    let unknown = store
        .consume_refresh_token(&secret(2), NOW_MS)
        .await
        .expect("consume");
    let access_consumption = store
        .consume_refresh_token(&secret(1), NOW_MS)
        .await
        .expect("consume");

    assert_eq!(unknown, RefreshConsumption::Unknown);
    assert_eq!(access_consumption, RefreshConsumption::Unknown);
    assert_eq!(store.token(&secret(1)).await.expect("read"), Some(access));
}

/// Of many callers trading in one refresh token, exactly one consumes it.
pub(crate) async fn concurrent_consumption_of_one_refresh_token_succeeds_once(
    store: Arc<dyn Store>,
) {
    let sign_in = family(AccountId::random());
    let refresh = token(secret(1), TokenKind::Refresh, &sign_in);
    store.insert_token(&refresh).await.expect("insert");

    let results = race(&store, |store, index| async move {
        let at_ms = NOW_MS + i64::try_from(index).expect("small index");
        store.consume_refresh_token(&secret(1), at_ms).await
    })
    .await;

    let mut winners = Vec::new();
    let mut reuses = 0;
    for (index, outcome) in results {
        match outcome.expect("consume") {
            RefreshConsumption::Consumed(before) => {
                assert_eq!(before, refresh);
                winners.push(index);
            }
            RefreshConsumption::AlreadyConsumed(_) => reuses += 1,
            RefreshConsumption::Unknown => panic!("the token is stored"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one caller consumes the token");
    assert_eq!(reuses, CONCURRENT_CALLERS - 1);
    let winning_at_ms = NOW_MS + i64::try_from(winners[0]).expect("small index");
    let stored = store
        .token(&secret(1))
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.consumed_at_ms, Some(winning_at_ms));
}

/// An access grant is the token with its family and account as they are now,
/// revoked families and missing rows included; an unknown hash has none.
pub(crate) async fn an_access_grant_reads_the_token_its_family_and_account(store: Arc<dyn Store>) {
    let holder = account(phone(41));
    store.create_account(&holder).await.expect("account");
    let sign_in = family(holder.id);
    store
        .insert_token_family(&sign_in, NOW_MS + DAY_MS)
        .await
        .expect("family");
    let access = token(secret(41), TokenKind::Access, &sign_in);
    store.insert_token(&access).await.expect("token");
    let orphan = token(secret(42), TokenKind::Access, &family(AccountId::random()));
    store.insert_token(&orphan).await.expect("token");

    assert_eq!(
        store.access_grant(&secret(41)).await.expect("read"),
        Some(AccessGrant {
            token: access.clone(),
            family: Some(sign_in.clone()),
            account: Some(holder.clone()),
        })
    );
    store
        .revoke_token_family(sign_in.family_id, NOW_MS)
        .await
        .expect("revoke");
    let revoked = store.access_grant(&secret(41)).await.expect("read");
    assert_eq!(
        revoked
            .and_then(|grant| grant.family)
            .and_then(|family| family.revoked_at_ms),
        Some(NOW_MS)
    );
    assert_eq!(
        store.access_grant(&secret(42)).await.expect("read"),
        Some(AccessGrant {
            token: orphan,
            family: None,
            account: None,
        })
    );
    assert_eq!(store.access_grant(&secret(43)).await.expect("read"), None);
}
