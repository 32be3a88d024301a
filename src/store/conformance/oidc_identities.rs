//! Contract of [`OidcIdentityStore`](crate::store::OidcIdentityStore): an
//! identity reaches one account (of concurrent links exactly one wins), a
//! link to the same account again replaces the email, an account lists its
//! identities only, and removal frees them.

use std::sync::Arc;

use super::race;
use super::samples::NOW_MS;
use crate::domain::AccountId;
use crate::store::{IdentityKey, OidcIdentity, OidcLinkOutcome, Store};

fn identity(key_byte: u8, account_id: AccountId, email: &[u8]) -> OidcIdentity {
    OidcIdentity {
        key: IdentityKey([key_byte; 32]),
        account_id,
        provider_id: "example".to_owned(),
        email_sealed: email.to_vec(),
        linked_at_ms: NOW_MS,
    }
}

pub(crate) async fn an_identity_reaches_one_account_and_is_freed_by_removal(store: Arc<dyn Store>) {
    let owner = AccountId::random();
    let other = AccountId::random();
    let first = identity(1, owner, b"sealed-1");
    assert_eq!(store.oidc_identity(&first.key).await.expect("read"), None);
    assert_eq!(
        store.link_oidc_identity(&first).await.expect("link"),
        OidcLinkOutcome::Linked
    );
    let replaced = identity(1, owner, b"sealed-2");
    assert_eq!(
        store
            .link_oidc_identity(&replaced)
            .await
            .expect("link again"),
        OidcLinkOutcome::Linked
    );
    assert_eq!(
        store.oidc_identity(&first.key).await.expect("read"),
        Some(replaced.clone())
    );
    assert_eq!(
        store
            .link_oidc_identity(&identity(1, other, b"sealed-3"))
            .await
            .expect("link elsewhere"),
        OidcLinkOutcome::LinkedElsewhere(owner)
    );
    assert!(
        store
            .oidc_identities_of(other)
            .await
            .expect("list")
            .is_empty(),
        "a lost link leaves nothing under the loser"
    );
    let second = identity(2, owner, b"");
    store.link_oidc_identity(&second).await.expect("link");
    store
        .link_oidc_identity(&identity(3, other, b""))
        .await
        .expect("link");
    let mut listed = store.oidc_identities_of(owner).await.expect("list");
    listed.sort_by_key(|listed| listed.key.0);
    assert_eq!(listed, vec![replaced, second]);

    store
        .remove_oidc_identities_of(owner)
        .await
        .expect("remove");
    store
        .remove_oidc_identities_of(owner)
        .await
        .expect("remove again");
    assert!(
        store
            .oidc_identities_of(owner)
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(store.oidc_identity(&first.key).await.expect("read"), None);
    assert_eq!(
        store
            .link_oidc_identity(&identity(1, other, b""))
            .await
            .expect("link freed"),
        OidcLinkOutcome::Linked
    );
    assert_eq!(
        store.oidc_identities_of(other).await.expect("list").len(),
        2
    );
}

pub(crate) async fn concurrent_links_of_one_identity_link_exactly_one(store: Arc<dyn Store>) {
    let results = race(&store, |store, _| async move {
        let account_id = AccountId::random();
        let outcome = store
            .link_oidc_identity(&identity(9, account_id, b""))
            .await
            .expect("link");
        (account_id, outcome)
    })
    .await;
    let winners: Vec<AccountId> = results
        .iter()
        .filter(|(_, (_, outcome))| *outcome == OidcLinkOutcome::Linked)
        .map(|(_, (account_id, _))| *account_id)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let stored = store
        .oidc_identity(&IdentityKey([9; 32]))
        .await
        .expect("read")
        .expect("linked");
    assert_eq!(stored.account_id, winners[0]);
    for (_, (account_id, outcome)) in &results {
        if *account_id != winners[0] {
            assert_eq!(*outcome, OidcLinkOutcome::LinkedElsewhere(winners[0]));
            assert!(
                store
                    .oidc_identities_of(*account_id)
                    .await
                    .expect("list")
                    .is_empty()
            );
        }
    }
}
