//! The embedded backend: the shared contract suite, plus what only a file on
//! disk has (reopening, the file lock, corrupt bytes).

use std::path::Path;
use std::sync::Arc;

use tempfile::TempDir;

use super::EmbeddedStore;
use super::tables::{TOKENS, profile_event_key};
use crate::config::StoreConfig;
use crate::domain::profile::{ProfileEvent, ProfileEventKind};
use crate::domain::{AccountId, Role};
use crate::store::conformance::{Fixture, store_conformance_tests};
use crate::store::{
    Account, AccountStore, PhoneHash, ProfileStore, SecretHash, Store, StoreError, TokenFamily,
    TokenKind, TokenRecord, TokenStore,
};

/// A fresh store in its own temporary directory, for the contract suite.
async fn fresh_store() -> Option<Fixture> {
    let data_dir = TempDir::new().expect("temporary directory");
    let store = EmbeddedStore::open(data_dir.path())
        .await
        .expect("open a fresh store");
    Some(Fixture::new(Arc::new(store), data_dir))
}

store_conformance_tests!(conformance, fresh_store);

fn sample_account() -> Account {
    Account {
        id: AccountId::random(),
        phone_hash: PhoneHash([1; 32]),
        phone_sealed: vec![7; 40],
        role: Role::Officer,
        created_at_ms: 1_000,
        disabled_at_ms: None,
    }
}

/// An account stored before accounts could be disabled decodes as enabled.
#[test]
fn accounts_stored_without_a_disabled_mark_are_enabled() {
    #[derive(serde::Serialize)]
    struct AccountBeforeDisabling {
        id: AccountId,
        phone_hash: PhoneHash,
        phone_sealed: Vec<u8>,
        role: Role,
        created_at_ms: i64,
    }
    let expected = sample_account();
    let stored = super::codec::encode(&AccountBeforeDisabling {
        id: expected.id,
        phone_hash: expected.phone_hash,
        phone_sealed: expected.phone_sealed.clone(),
        role: expected.role,
        created_at_ms: expected.created_at_ms,
    })
    .unwrap();
    let decoded: Account = super::codec::decode(&stored).unwrap();
    assert_eq!(decoded, expected);
}

fn sample_token(hash_byte: u8, expires_at_ms: i64) -> TokenRecord {
    TokenRecord {
        token_hash: SecretHash([hash_byte; 32]),
        kind: TokenKind::Access,
        family_id: uuid::Uuid::new_v4(),
        account_id: AccountId::random(),
        issued_at_ms: 1_000,
        expires_at_ms,
        consumed_at_ms: None,
    }
}

async fn open(data_dir: &Path) -> EmbeddedStore {
    EmbeddedStore::open(data_dir).await.expect("open")
}

#[tokio::test]
async fn records_survive_dropping_and_reopening_the_store() {
    let data_dir = TempDir::new().expect("temporary directory");
    let account = sample_account();
    let token = sample_token(5, 9_000);
    let event = ProfileEvent {
        account_id: account.id,
        seq: 1,
        at_ms: 1_000,
        kind: ProfileEventKind::ProfileCreated {
            display_name: "Officer Ada".to_owned(),
            role: Role::Officer,
        },
    };
    {
        let store = open(data_dir.path()).await;
        store.create_account(&account).await.expect("create");
        store.insert_token(&token).await.expect("insert");
        store.append_profile_event(&event).await.expect("append");
    }

    let reopened = open(data_dir.path()).await;

    assert_eq!(
        reopened
            .account_by_phone(&account.phone_hash)
            .await
            .expect("read"),
        Some(account.clone())
    );
    assert_eq!(
        reopened.token(&token.token_hash).await.expect("read"),
        Some(token)
    );
    assert_eq!(
        reopened
            .profile_events(account.id, None, 10)
            .await
            .expect("read"),
        vec![event]
    );
}

#[tokio::test]
async fn close_releases_the_data_directory() {
    let data_dir = TempDir::new().expect("temporary directory");
    let account = sample_account();
    let first = open(data_dir.path()).await;
    first.create_account(&account).await.expect("create");

    first.close().await.expect("close");
    first.close().await.expect("closing twice is harmless");
    let second = open(data_dir.path()).await;

    assert_eq!(
        second.account(account.id).await.expect("read"),
        Some(account)
    );
    assert!(matches!(
        first.account(AccountId::random()).await,
        Err(StoreError::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_second_open_of_an_open_data_directory_is_refused() {
    let data_dir = TempDir::new().expect("temporary directory");
    let _holder = open(data_dir.path()).await;

    let refused = EmbeddedStore::open(data_dir.path()).await;

    let Err(error) = refused else {
        panic!("a second open must fail while the first is open");
    };
    assert!(
        matches!(&error, StoreError::InUse { path } if path == &data_dir.path().display().to_string()),
        "unexpected error: {error:?}"
    );
    assert!(
        error.to_string().contains("already in use"),
        "unexpected message: {error}"
    );
}

#[tokio::test]
async fn open_creates_a_missing_data_directory() {
    let parent = TempDir::new().expect("temporary directory");
    let data_dir = parent.path().join("nested").join("data");

    let store = open(&data_dir).await;

    store.ping().await.expect("ping");
    assert!(data_dir.join("heyblue.redb").is_file());
}

#[tokio::test]
async fn the_configured_backend_is_the_embedded_store() {
    let data_dir = TempDir::new().expect("temporary directory");

    let store = crate::store::open(
        &StoreConfig::Embedded,
        data_dir.path(),
        &crate::config::EnvironmentVariables::from_pairs::<String, String>([]),
        crate::store::ReportUpkeep::Maintain,
    )
    .await
    .expect("open");

    assert_eq!(store.backend_name(), "embedded");
    store.ping().await.expect("ping");
}

#[tokio::test]
async fn undecodable_bytes_are_reported_as_corrupt() {
    let data_dir = TempDir::new().expect("temporary directory");
    let store = open(data_dir.path()).await;
    let hash = SecretHash([4; 32]);
    store
        .write(move |transaction| {
            let mut tokens = transaction.open_table(TOKENS).expect("tokens table");
            tokens
                .insert(&hash.0, [0xc1_u8, 0xff, 0x00].as_slice())
                .expect("insert garbage");
            Ok(())
        })
        .await
        .expect("write");

    let read = store.token(&hash).await;

    assert!(
        matches!(read, Err(StoreError::Corrupt(_))),
        "unexpected result: {read:?}"
    );
}

#[tokio::test]
async fn purging_removes_only_expired_tokens() {
    let data_dir = TempDir::new().expect("temporary directory");
    let store = open(data_dir.path()).await;
    let expired = sample_token(1, 4_999);
    let expiring_now = sample_token(2, 5_000);
    let live = sample_token(3, 5_001);
    for token in [&expired, &expiring_now, &live] {
        store.insert_token(token).await.expect("insert");
    }

    let removed = store.purge_expired_tokens(5_000).await.expect("purge");

    assert_eq!(removed, 2);
    assert_eq!(store.token(&expired.token_hash).await.expect("read"), None);
    assert_eq!(
        store.token(&expiring_now.token_hash).await.expect("read"),
        None
    );
    assert_eq!(
        store.token(&live.token_hash).await.expect("read"),
        Some(live)
    );
}

/// Writes a sign-in and one refresh token of it.
async fn sign_in_with_token(
    store: &EmbeddedStore,
    family: &TokenFamily,
    hash_byte: u8,
    expires_at_ms: i64,
) {
    store
        .insert_token_family(family, expires_at_ms)
        .await
        .expect("sign in");
    let token = TokenRecord {
        family_id: family.family_id,
        account_id: family.account_id,
        kind: TokenKind::Refresh,
        ..sample_token(hash_byte, expires_at_ms)
    };
    store.insert_token(&token).await.expect("token");
}

/// After many sign-ins whose tokens have all expired, the hourly purge leaves
/// the account's family list holding only the sign-ins still usable.
#[tokio::test]
async fn purging_drops_sign_ins_whose_tokens_all_expired() {
    let data_dir = TempDir::new().expect("temporary directory");
    let store = open(data_dir.path()).await;
    let account_id = AccountId::random();
    let now_ms = 1_800_000_000_000;
    let day_ms = 86_400_000;
    let sign_in = |created_at_ms: i64| TokenFamily {
        family_id: uuid::Uuid::new_v4(),
        account_id,
        created_at_ms,
        revoked_at_ms: None,
    };
    // A year of daily sign-ins, each over after its thirty days.
    for day in 0..100_u8 {
        let created_at_ms = now_ms - (400 - i64::from(day)) * day_ms;
        let family = sign_in(created_at_ms);
        sign_in_with_token(&store, &family, day, created_at_ms + 30 * day_ms).await;
    }
    let live = sign_in(now_ms - day_ms);
    sign_in_with_token(&store, &live, 200, now_ms + 29 * day_ms).await;
    // Signed in a moment ago, its tokens not written yet.
    let starting = sign_in(now_ms);
    store
        .insert_token_family(&starting, now_ms + 30 * day_ms)
        .await
        .expect("sign in");

    store.purge_expired_tokens(now_ms).await.expect("purge");

    let mut left: Vec<_> = store
        .token_families_of(account_id)
        .await
        .expect("families")
        .into_iter()
        .map(|family| family.family_id)
        .collect();
    left.sort_unstable();
    let mut expected = vec![live.family_id, starting.family_id];
    expected.sort_unstable();
    assert_eq!(left, expected);
    assert_eq!(
        store.token_family(live.family_id).await.expect("read"),
        Some(live)
    );
}

#[test]
fn profile_event_keys_sort_by_account_then_numeric_seq() {
    let account_id = AccountId(uuid::Uuid::from_bytes([1; 16]));
    let next_account = AccountId(uuid::Uuid::from_bytes([2; 16]));

    let mut keys = [
        profile_event_key(next_account, 1),
        profile_event_key(account_id, 65_536),
        profile_event_key(account_id, 256),
        profile_event_key(account_id, 255),
        profile_event_key(account_id, 1),
    ];
    keys.sort();

    assert_eq!(
        keys,
        [
            profile_event_key(account_id, 1),
            profile_event_key(account_id, 255),
            profile_event_key(account_id, 256),
            profile_event_key(account_id, 65_536),
            profile_event_key(next_account, 1),
        ]
    );
}
