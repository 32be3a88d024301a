//! Sign-in rules against the embedded store, with tokio's clock paused so code
//! expiry and rate windows are checked without waiting.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::keys::ServerKeys;
use super::sms::{SmsError, SmsSender};
use super::*;
use crate::clock::Clock;
use crate::config::IdentityConfig;
use crate::domain::Role;
use crate::domain::phone::PhoneNumber;
use crate::store::embedded::EmbeddedStore;
use crate::store::{RosterEntry, Store};

const PHONE: &str = "+1 212 555 0123";
const CLIENT: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// Captures sent codes instead of delivering them.
#[derive(Debug, Default, Clone)]
struct CapturedSms {
    sent: Arc<Mutex<Vec<(String, String)>>>,
}

impl CapturedSms {
    fn last_code(&self) -> String {
        self.sent
            .lock()
            .unwrap()
            .last()
            .expect("a code was sent")
            .1
            .clone()
    }

    fn count(&self) -> usize {
        self.sent.lock().unwrap().len()
    }
}

#[async_trait]
impl SmsSender for CapturedSms {
    async fn send_code(&self, phone: &PhoneNumber, code: &str, _at: i64) -> Result<(), SmsError> {
        self.sent
            .lock()
            .unwrap()
            .push((phone.as_e164().to_owned(), code.to_owned()));
        Ok(())
    }
}

struct Harness {
    service: IdentityService,
    store: Arc<dyn Store>,
    sms: CapturedSms,
    _dir: tempfile::TempDir,
}

async fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).await.unwrap());
    let sms = CapturedSms::default();
    let service = IdentityService::new(
        store.clone(),
        Arc::new(ServerKeys::derive(&[3; 32])),
        Box::new(sms.clone()),
        Clock::starting_at(1_700_000_000_000),
        IdentityConfig::default(),
    );
    Harness {
        service,
        store,
        sms,
        _dir: dir,
    }
}

async fn sign_in(harness: &Harness, phone: &str) -> SignedIn {
    harness.service.request_code(phone, CLIENT).await.unwrap();
    let code = harness.sms.last_code();
    harness
        .service
        .verify_code(phone, &code, CLIENT, None)
        .await
        .unwrap()
}

/// The roster entry of Officer Diaz at `phone`, hashed and sealed with `keys`.
fn officer_diaz(keys: &ServerKeys, phone: &PhoneNumber) -> RosterEntry {
    RosterEntry {
        phone_hash: keys.phone_hash(phone),
        phone_sealed: keys.seal_phone(phone),
        display_name: "Officer Diaz".into(),
        badge: "4411".into(),
        department: "NYPD".into(),
        updated_at_ms: 0,
    }
}

fn wrong_code(right: &str) -> String {
    let first = right.as_bytes()[0];
    let replaced = if first == b'9' {
        '0'
    } else {
        (first + 1) as char
    };
    format!("{replaced}{}", &right[1..])
}

#[tokio::test(start_paused = true)]
async fn first_sign_in_creates_a_citizen_with_a_profile() {
    let harness = harness().await;
    let signed_in = sign_in(&harness, PHONE).await;
    assert_eq!(signed_in.role, Role::Citizen);
    let caller = harness
        .service
        .authenticate(&signed_in.access_token)
        .await
        .unwrap();
    assert_eq!(caller.account_id, signed_in.account_id);
    let profile = harness
        .service
        .profiles()
        .get(caller.account_id)
        .await
        .unwrap();
    assert_eq!(
        profile.display_name,
        format!("Citizen {}", caller.account_id.short_suffix())
    );
    tokio::time::advance(Duration::from_secs(30)).await;
    let again = sign_in(&harness, "(212) 555-0123").await;
    assert_eq!(
        again.account_id, signed_in.account_id,
        "same phone, same account"
    );
}

#[tokio::test(start_paused = true)]
async fn roster_phone_signs_in_as_officer_and_citizen_is_promoted_later() {
    let harness = harness().await;
    let citizen = sign_in(&harness, PHONE).await;
    assert_eq!(citizen.role, Role::Citizen);
    let phone = harness.service.parse_phone(PHONE).unwrap();
    let keys = harness.service.keys().clone();
    harness
        .store
        .upsert_roster_entries(&[officer_diaz(&keys, &phone)])
        .await
        .unwrap();
    tokio::time::advance(Duration::from_secs(31)).await;
    let officer = sign_in(&harness, PHONE).await;
    assert_eq!(officer.account_id, citizen.account_id);
    assert_eq!(officer.role, Role::Officer);
    let profile = harness
        .service
        .profiles()
        .get(officer.account_id)
        .await
        .unwrap();
    assert_eq!(profile.role, Role::Officer);
    let rebuilt = harness
        .service
        .profiles()
        .rebuild(officer.account_id)
        .await
        .unwrap();
    assert_eq!(rebuilt, profile, "view equals the fold of its events");
}

#[tokio::test(start_paused = true)]
async fn code_expires_after_five_minutes() {
    let harness = harness().await;
    harness.service.request_code(PHONE, CLIENT).await.unwrap();
    let code = harness.sms.last_code();
    tokio::time::advance(Duration::from_secs(300)).await;
    let error = harness
        .service
        .verify_code(PHONE, &code, CLIENT, None)
        .await
        .unwrap_err();
    assert!(matches!(error, IdentityError::CodeExpired), "{error:?}");
}

#[tokio::test(start_paused = true)]
async fn five_wrong_codes_void_the_challenge() {
    let harness = harness().await;
    harness.service.request_code(PHONE, CLIENT).await.unwrap();
    let code = harness.sms.last_code();
    let wrong = wrong_code(&code);
    for attempts_left in (1..5).rev() {
        let error = harness
            .service
            .verify_code(PHONE, &wrong, CLIENT, None)
            .await
            .unwrap_err();
        assert!(
            matches!(error, IdentityError::WrongCode { attempts_left: left } if left == attempts_left),
            "{error:?}"
        );
    }
    let error = harness
        .service
        .verify_code(PHONE, &wrong, CLIENT, None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, IdentityError::CodeAttemptsExhausted),
        "{error:?}"
    );
    let error = harness
        .service
        .verify_code(PHONE, &code, CLIENT, None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, IdentityError::NoCodeOutstanding),
        "{error:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_code_signs_in_once() {
    let harness = harness().await;
    harness.service.request_code(PHONE, CLIENT).await.unwrap();
    let code = harness.sms.last_code();
    harness
        .service
        .verify_code(PHONE, &code, CLIENT, None)
        .await
        .unwrap();
    let error = harness
        .service
        .verify_code(PHONE, &code, CLIENT, None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, IdentityError::NoCodeOutstanding),
        "{error:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn code_requests_are_limited_per_phone() {
    let harness = harness().await;
    harness.service.request_code(PHONE, CLIENT).await.unwrap();
    let error = harness
        .service
        .request_code(PHONE, CLIENT)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            IdentityError::RateLimited {
                retry_after_seconds: 30
            }
        ),
        "{error:?}"
    );
    tokio::time::advance(Duration::from_secs(10)).await;
    let error = harness
        .service
        .request_code(PHONE, CLIENT)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            IdentityError::RateLimited {
                retry_after_seconds: 20
            }
        ),
        "{error:?}"
    );
    for _ in 0..4 {
        tokio::time::advance(Duration::from_secs(30)).await;
        harness.service.request_code(PHONE, CLIENT).await.unwrap();
    }
    assert_eq!(harness.sms.count(), 5);
    tokio::time::advance(Duration::from_secs(30)).await;
    let error = harness
        .service
        .request_code(PHONE, CLIENT)
        .await
        .unwrap_err();
    // Sends at 0, 40, 70, 100 and 130 s; at 160 s the first leaves the hour in 3,440 s.
    assert!(
        matches!(
            error,
            IdentityError::RateLimited {
                retry_after_seconds: 3_440
            }
        ),
        "{error:?}"
    );
    tokio::time::advance(Duration::from_secs(3_439)).await;
    assert!(harness.service.request_code(PHONE, CLIENT).await.is_err());
    tokio::time::advance(Duration::from_secs(1)).await;
    harness.service.request_code(PHONE, CLIENT).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn code_requests_are_limited_per_address() {
    let harness = harness().await;
    for index in 0..30 {
        // One exchange each: the per-prefix SMS budget is not what stops them.
        let phone = format!("+1 212 {} 0123", 200 + index);
        harness.service.request_code(&phone, CLIENT).await.unwrap();
    }
    let error = harness
        .service
        .request_code("+1 212 555 2000", CLIENT)
        .await
        .unwrap_err();
    assert!(
        matches!(error, IdentityError::RateLimited { .. }),
        "{error:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let harness = harness().await;
    let first = sign_in(&harness, PHONE).await;
    let second = harness.service.refresh(&first.refresh_token).await.unwrap();
    assert_ne!(second.access_token, first.access_token);
    assert_ne!(second.refresh_token, first.refresh_token);
    harness
        .service
        .authenticate(&second.access_token)
        .await
        .unwrap();
    let error = harness
        .service
        .refresh(&first.refresh_token)
        .await
        .unwrap_err();
    assert!(
        matches!(error, IdentityError::RefreshTokenReused { .. }),
        "{error:?}"
    );
    for token in [&first.access_token, &second.access_token] {
        let error = harness.service.authenticate(token).await.unwrap_err();
        assert!(matches!(error, IdentityError::InvalidToken), "{error:?}");
    }
    let error = harness
        .service
        .refresh(&second.refresh_token)
        .await
        .unwrap_err();
    assert!(matches!(error, IdentityError::InvalidToken), "{error:?}");
}

#[tokio::test(start_paused = true)]
async fn access_token_expires_after_an_hour() {
    let harness = harness().await;
    let signed_in = sign_in(&harness, PHONE).await;
    tokio::time::advance(Duration::from_secs(3_599)).await;
    harness
        .service
        .authenticate(&signed_in.access_token)
        .await
        .unwrap();
    tokio::time::advance(Duration::from_secs(1)).await;
    let error = harness
        .service
        .authenticate(&signed_in.access_token)
        .await
        .unwrap_err();
    assert!(matches!(error, IdentityError::InvalidToken), "{error:?}");
    harness
        .service
        .refresh(&signed_in.refresh_token)
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn logout_revokes_only_that_sign_in() {
    let harness = harness().await;
    let phone_one = sign_in(&harness, PHONE).await;
    tokio::time::advance(Duration::from_secs(31)).await;
    let phone_two = sign_in(&harness, PHONE).await;
    let caller = harness
        .service
        .authenticate(&phone_one.access_token)
        .await
        .unwrap();
    harness.service.logout(&caller).await.unwrap();
    assert!(
        harness
            .service
            .authenticate(&phone_one.access_token)
            .await
            .is_err()
    );
    assert!(
        harness
            .service
            .refresh(&phone_one.refresh_token)
            .await
            .is_err()
    );
    harness
        .service
        .authenticate(&phone_two.access_token)
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_deletion_interrupted_after_its_start_is_finished_by_the_sweep() {
    let harness = harness().await;
    let signed_in = sign_in(&harness, PHONE).await;
    let account_id = signed_in.account_id;
    let profiles = harness.service.profiles();
    profiles
        .update(
            account_id,
            crate::domain::profile::ProfileChanges {
                display_name: Some("Ada Lovegood".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // The node stopped right after noting the deletion and disabling the
    // account, before any erasure.
    let started_at_ms = harness.service.clock.now_ms();
    harness
        .store
        .record_account_deletion(account_id, started_at_ms)
        .await
        .unwrap();
    harness
        .store
        .set_account_disabled(account_id, Some(started_at_ms))
        .await
        .unwrap();

    assert_eq!(
        harness.service.finish_account_deletions().await.unwrap(),
        0,
        "a deletion just started belongs to its request"
    );
    tokio::time::advance(Duration::from_secs(180)).await;
    assert_eq!(harness.service.finish_account_deletions().await.unwrap(), 1);
    assert_eq!(harness.service.finish_account_deletions().await.unwrap(), 0);

    let profile = profiles.get(account_id).await.unwrap();
    assert_eq!(
        profile.display_name,
        crate::domain::profile::DELETED_DISPLAY_NAME
    );
    let events = profiles.events(account_id, None, 100).await.unwrap();
    assert!(
        !format!("{events:?}").contains("Ada Lovegood"),
        "{events:?}"
    );
    let account = harness.store.account(account_id).await.unwrap().unwrap();
    assert!(account.phone_sealed.is_empty());
    assert!(
        harness
            .service
            .authenticate(&signed_in.access_token)
            .await
            .is_err()
    );
    let again = sign_in(&harness, PHONE).await;
    assert_ne!(again.account_id, account_id, "the phone signs up afresh");
}

#[tokio::test(start_paused = true)]
async fn after_a_key_change_with_the_old_key_loaded_people_keep_their_account_and_role() {
    let before = harness().await;
    let old_keys = ServerKeys::derive(&[3; 32]);
    let regions = crate::domain::phone::PhoneRegions::only(phonenumber::country::Id::US);
    let officer_phone = PhoneNumber::parse("+1 212 555 0144", &regions).unwrap();
    before
        .store
        .upsert_roster_entries(&[officer_diaz(&old_keys, &officer_phone)])
        .await
        .unwrap();
    let citizen = sign_in(&before, PHONE).await;
    let officer = sign_in(&before, "+1 212 555 0144").await;
    assert_eq!(officer.role, Role::Officer);

    let rotated_keys = Arc::new(ServerKeys::derive(&[4; 32]).with_previous(&[3; 32]));
    let after = Harness {
        service: IdentityService::new(
            before.store.clone(),
            Arc::clone(&rotated_keys),
            Box::new(before.sms.clone()),
            Clock::starting_at(1_700_000_100_000),
            IdentityConfig::default(),
        ),
        store: before.store.clone(),
        sms: before.sms.clone(),
        _dir: tempfile::tempdir().unwrap(),
    };
    let citizen_again = sign_in(&after, PHONE).await;
    assert_eq!(citizen_again.account_id, citizen.account_id);
    let officer_again = sign_in(&after, "+1 212 555 0144").await;
    assert_eq!(officer_again.account_id, officer.account_id);
    assert_eq!(
        officer_again.role,
        Role::Officer,
        "the roster entry under the old key counts"
    );

    // Each account found under the old key was moved to the new one.
    let phone = PhoneNumber::parse(PHONE, &regions).unwrap();
    let moved = after
        .store
        .account_by_phone(&rotated_keys.phone_hash(&phone))
        .await
        .unwrap()
        .expect("under the new key");
    assert_eq!(moved.id, citizen.account_id);
    assert_eq!(
        rotated_keys.open_phone_sealed(&moved.phone_sealed),
        Some(("+12125550123".to_owned(), true))
    );
    assert_eq!(
        after
            .store
            .account_by_phone(&old_keys.phone_hash(&phone))
            .await
            .unwrap(),
        None
    );
}
