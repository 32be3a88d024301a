//! Sample records for the contract cases, distinct by a small number so cases
//! can make as many as they need.

use uuid::Uuid;

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
        role: Role::Citizen,
        created_at_ms: NOW_MS,
        updated_at_ms: NOW_MS,
        version,
    }
}
