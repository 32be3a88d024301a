//! Rows that matter only for a while leave the embedded store with the hourly
//! sweep once past their life, and not before; a pair's rows written again
//! later stay.

use uuid::Uuid;

use super::EmbeddedStore;
use super::tables::EXPIRING_ROWS;
use crate::domain::AccountId;
use crate::domain::catalog::LimitPeriod;
use crate::domain::connection::utc_day;
use crate::domain::voucher::LimitWindow;
use crate::store::{
    ConnectionParty, ConnectionRecord, ConnectionStore, LimitClaim, PairRewardClaim,
    RedemptionStore, TokenStore,
};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// 2026-12-04T12:00:00Z.
const NOW_MS: i64 = 1_796_385_600_000;

fn rewarded(citizen: AccountId, officer: AccountId, at_ms: i64) -> ConnectionRecord {
    let party = |account_id| ConnectionParty {
        account_id,
        points: 10,
        withheld: None,
    };
    ConnectionRecord {
        mode: Default::default(),
        connection_id: Uuid::new_v4(),
        citizen: party(citizen),
        officer: party(officer),
        established_at_ms: at_ms,
        cell_r7: None,
        zip: Some("10036".to_owned()),
    }
}

async fn filed_entries(store: &EmbeddedStore) -> u64 {
    store
        .read(|transaction| {
            use redb::ReadableTableMetadata;
            let entries = transaction
                .open_table(EXPIRING_ROWS)
                .map_err(super::codec::redb_error)?;
            entries.len().map_err(super::codec::redb_error)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn day_scoped_rows_leave_with_the_sweep_once_past_their_life() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).await.unwrap();
    let (citizen, officer) = (AccountId::random(), AccountId::random());
    let day = utc_day(NOW_MS);
    store
        .insert_connection(&rewarded(citizen, officer, NOW_MS))
        .await
        .unwrap();
    assert!(
        store
            .claim_daily_reward(citizen, day, 1, Uuid::new_v4())
            .await
            .unwrap()
    );
    let claim = PairRewardClaim {
        first: citizen,
        second: officer,
        connection_id: Uuid::new_v4(),
        at_ms: NOW_MS,
        cooldown_ms: DAY_MS,
    };
    assert!(store.claim_pair_reward(&claim).await.unwrap());
    let offer = Uuid::new_v4();
    let window = LimitWindow::holding(LimitPeriod::Day, NOW_MS);
    let slot_holder = Uuid::new_v4();
    assert_eq!(
        store
            .claim_limit_slot(citizen, offer, window, 1, slot_holder)
            .await
            .unwrap(),
        LimitClaim::Held { slot: 0 }
    );
    let ever = LimitWindow::holding(LimitPeriod::Ever, NOW_MS);
    store
        .claim_limit_slot(citizen, offer, ever, 1, slot_holder)
        .await
        .unwrap();
    assert!(filed_entries(&store).await > 0);

    // An hour later everything still holds.
    store.purge_expired_tokens(NOW_MS + HOUR_MS).await.unwrap();
    assert_eq!(
        store
            .rewarded_connections_on_day(citizen, day)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .last_rewarded_pair_connection_ms(citizen, officer)
            .await
            .unwrap(),
        Some(NOW_MS)
    );
    assert!(
        !store
            .claim_daily_reward(citizen, day, 1, Uuid::new_v4())
            .await
            .unwrap()
    );
    let mut within_cooldown = claim;
    within_cooldown.connection_id = Uuid::new_v4();
    within_cooldown.at_ms = NOW_MS + HOUR_MS;
    assert!(!store.claim_pair_reward(&within_cooldown).await.unwrap());
    assert_eq!(
        store
            .claim_limit_slot(citizen, offer, window, 1, Uuid::new_v4())
            .await
            .unwrap(),
        LimitClaim::Full
    );

    // Nine days later the day's rows, the pair's rows and the day window's
    // slot are gone; the slot of the offer's whole life stays.
    store
        .purge_expired_tokens(NOW_MS + 9 * DAY_MS)
        .await
        .unwrap();
    assert_eq!(
        store
            .rewarded_connections_on_day(citizen, day)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .last_rewarded_pair_connection_ms(citizen, officer)
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .claim_daily_reward(citizen, day, 1, Uuid::new_v4())
            .await
            .unwrap()
    );
    assert!(store.claim_pair_reward(&within_cooldown).await.unwrap());
    assert_eq!(
        store
            .claim_limit_slot(citizen, offer, window, 1, Uuid::new_v4())
            .await
            .unwrap(),
        LimitClaim::Held { slot: 0 }
    );
    assert_eq!(
        store
            .claim_limit_slot(citizen, offer, ever, 1, Uuid::new_v4())
            .await
            .unwrap(),
        LimitClaim::Full
    );
}

#[tokio::test]
async fn a_pair_rewarded_again_keeps_its_rows_past_the_first_life() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).await.unwrap();
    let (citizen, officer) = (AccountId::random(), AccountId::random());
    store
        .insert_connection(&rewarded(citizen, officer, NOW_MS))
        .await
        .unwrap();
    let again = NOW_MS + 7 * DAY_MS;
    store
        .insert_connection(&rewarded(citizen, officer, again))
        .await
        .unwrap();
    store
        .purge_expired_tokens(NOW_MS + 8 * DAY_MS + HOUR_MS)
        .await
        .unwrap();
    assert_eq!(
        store
            .last_rewarded_pair_connection_ms(citizen, officer)
            .await
            .unwrap(),
        Some(again)
    );
    store
        .purge_expired_tokens(again + 8 * DAY_MS)
        .await
        .unwrap();
    assert_eq!(
        store
            .last_rewarded_pair_connection_ms(citizen, officer)
            .await
            .unwrap(),
        None
    );
    assert_eq!(filed_entries(&store).await, 0, "every entry swept");
}

#[tokio::test]
async fn a_phones_code_state_leaves_a_day_after_its_code_and_a_newer_one_stays() {
    use crate::store::{OtpChallenge, OtpStore, PhoneHash};
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).await.unwrap();
    let challenge = |version: u64, expires_at_ms: i64| OtpChallenge {
        code_hash: None,
        expires_at_ms,
        failed_attempts: 0,
        recent_sends_ms: vec![expires_at_ms - 300_000],
        version,
    };
    let (gone, renewed) = (PhoneHash([1; 32]), PhoneHash([2; 32]));
    let expires = NOW_MS + 5 * 60_000;
    assert!(
        store
            .put_otp_challenge(&gone, &challenge(1, expires), None)
            .await
            .unwrap()
    );
    assert!(
        store
            .put_otp_challenge(&renewed, &challenge(1, expires), None)
            .await
            .unwrap()
    );
    // The second phone asks again two days later: its state lives on.
    let later = expires + 2 * DAY_MS;
    assert!(
        store
            .put_otp_challenge(&renewed, &challenge(2, later), Some(1))
            .await
            .unwrap()
    );

    store
        .purge_expired_tokens(expires + DAY_MS - 1)
        .await
        .unwrap();
    assert!(
        store.otp_challenge(&gone).await.unwrap().is_some(),
        "kept a day past the code"
    );
    store
        .purge_expired_tokens(expires + DAY_MS + 1)
        .await
        .unwrap();
    assert_eq!(store.otp_challenge(&gone).await.unwrap(), None);
    assert_eq!(
        store
            .otp_challenge(&renewed)
            .await
            .unwrap()
            .map(|state| state.version),
        Some(2),
        "a challenge written again since stays"
    );
    store
        .purge_expired_tokens(later + DAY_MS + 1)
        .await
        .unwrap();
    assert_eq!(store.otp_challenge(&renewed).await.unwrap(), None);
    assert_eq!(filed_entries(&store).await, 0);
}
