//! Sample records for the contract cases, distinct by a small number so cases
//! can make as many as they need.

use uuid::Uuid;

use crate::domain::catalog::{
    Area, CatalogStatus, Charity, LimitPeriod, Municipality, OfferKind, PerPersonLimit, Retailer,
    RewardOffer,
};
use crate::domain::profile::{Profile, ProfileChanges, ProfileEvent, ProfileEventKind};
use crate::domain::{AccountId, Role};
use crate::store::{
    Account, OtpChallenge, PhoneHash, RosterEntry, SecretHash, TokenFamily, TokenKind, TokenRecord,
};

/// A fixed calendar time for the samples (2026-01-01T00:00:00Z).
pub(super) const NOW_MS: i64 = 1_767_225_600_000;

/// The phone hash numbered `number`.
pub(super) fn phone(number: u8) -> PhoneHash {
    PhoneHash([number; 32])
}

/// The secret hash numbered `number`.
pub(super) fn secret(number: u8) -> SecretHash {
    SecretHash([number; 32])
}

/// A new citizen account on `phone`.
pub(super) fn account(phone_hash: PhoneHash) -> Account {
    Account {
        id: AccountId::random(),
        phone_hash,
        phone_sealed: vec![7; 40],
        role: Role::Citizen,
        created_at_ms: NOW_MS,
        disabled_at_ms: None,
    }
}

/// A live token family of `account_id`.
pub(super) fn family(account_id: AccountId) -> TokenFamily {
    TokenFamily {
        family_id: Uuid::new_v4(),
        account_id,
        created_at_ms: NOW_MS,
        revoked_at_ms: None,
    }
}

/// An unconsumed token of `kind` in `family`, expiring an hour from `NOW_MS`.
pub(super) fn token(token_hash: SecretHash, kind: TokenKind, family: &TokenFamily) -> TokenRecord {
    TokenRecord {
        token_hash,
        kind,
        family_id: family.family_id,
        account_id: family.account_id,
        issued_at_ms: NOW_MS,
        expires_at_ms: NOW_MS + 3_600_000,
        consumed_at_ms: None,
    }
}

/// A challenge at `version` with an outstanding code.
pub(super) fn challenge(version: u64, failed_attempts: u32) -> OtpChallenge {
    OtpChallenge {
        code_hash: Some(secret(9)),
        expires_at_ms: NOW_MS + 300_000,
        failed_attempts,
        recent_sends_ms: vec![NOW_MS],
        version,
    }
}

/// The roster entry of `phone`, showing `display_name`.
pub(super) fn roster_entry(phone_hash: PhoneHash, display_name: &str) -> RosterEntry {
    RosterEntry {
        phone_hash,
        phone_sealed: vec![3; 40],
        display_name: display_name.to_owned(),
        badge: "4521".to_owned(),
        department: "Springfield PD".to_owned(),
        updated_at_ms: NOW_MS,
    }
}

/// Event `seq` of `account_id`: the creation for seq 1, a bio edit after it.
pub(super) fn profile_event(account_id: AccountId, seq: u64) -> ProfileEvent {
    let kind = if seq == 1 {
        ProfileEventKind::ProfileCreated {
            display_name: "Citizen 0001".to_owned(),
            role: Role::Citizen,
        }
    } else {
        ProfileEventKind::ProfileUpdated(ProfileChanges {
            bio: Some(format!("edit {seq}")),
            ..ProfileChanges::default()
        })
    };
    ProfileEvent {
        account_id,
        seq,
        at_ms: NOW_MS + i64::try_from(seq).expect("small seq"),
        kind,
    }
}

/// The view of `account_id` at `version`, named `display_name`.
pub(super) fn profile(account_id: AccountId, version: u64, display_name: &str) -> Profile {
    Profile {
        account_id,
        display_name: display_name.to_owned(),
        bio: String::new(),
        avatar_url: None,
        share_to_social: false,
        share_name: false,
        role: Role::Citizen,
        created_at_ms: NOW_MS,
        updated_at_ms: NOW_MS,
        version,
    }
}

/// An active retailer named `name` in ZIP 10001.
pub(super) fn retailer(name: &str) -> Retailer {
    Retailer {
        id: Uuid::new_v4(),
        name: name.to_owned(),
        address: "1 Main Street".to_owned(),
        zip: "10001".to_owned(),
        contact: "shop@example.com".to_owned(),
        status: CatalogStatus::Active,
        created_at_ms: NOW_MS,
        updated_at_ms: NOW_MS,
    }
}

/// An active municipality named `name` serving prefix 100.
pub(super) fn municipality(name: &str) -> Municipality {
    Municipality {
        id: Uuid::new_v4(),
        name: name.to_owned(),
        state: "NY".to_owned(),
        area: Area::from_stored(vec!["100".to_owned(), "11201".to_owned()]),
        contact: "parks@example.gov".to_owned(),
        status: CatalogStatus::Active,
        created_at_ms: NOW_MS,
        updated_at_ms: NOW_MS,
    }
}

/// An active charity named `name`.
pub(super) fn charity(name: &str) -> Charity {
    Charity {
        id: Uuid::new_v4(),
        name: name.to_owned(),
        ein: "12-3456789".to_owned(),
        description: "Meals for neighbours.\nEvery day.".to_owned(),
        status: CatalogStatus::Active,
        created_at_ms: NOW_MS,
        updated_at_ms: NOW_MS,
    }
}

/// A new (version 1) active offer of `kind` in `area`, valid from `NOW_MS`
/// until `valid_until_ms`, with `total` units (all remaining) or unlimited.
pub(super) fn offer(
    kind: OfferKind,
    area: &[&str],
    valid_until_ms: i64,
    total: Option<u32>,
) -> RewardOffer {
    RewardOffer {
        id: Uuid::new_v4(),
        kind,
        issuer_id: Uuid::new_v4(),
        title: "Free coffee".to_owned(),
        description: "One small coffee.".to_owned(),
        point_cost: 50,
        area: Area::from_stored(area.iter().map(|code| (*code).to_owned()).collect()),
        valid_from_ms: NOW_MS,
        valid_until_ms,
        total_quantity: total,
        remaining: total,
        per_person_limit: Some(PerPersonLimit {
            count: 2,
            per: LimitPeriod::Month,
        }),
        voucher_lifetime_seconds: 86_400,
        status: CatalogStatus::Active,
        created_at_ms: NOW_MS,
        updated_at_ms: NOW_MS,
        version: 1,
    }
}
