//! The redb tables and their key layouts. Values are encoded records (see
//! `codec`); keys are fixed-width byte arrays, compared bytewise, so composite
//! keys (account id followed by a big-endian number) scan in order.

use redb::{TableDefinition, WriteTransaction};
use uuid::Uuid;

use super::codec::redb_error;
use crate::domain::AccountId;
use crate::store::StoreResult;

/// Bytes in a UUID key (account id, token family id).
const UUID_BYTES: usize = 16;
/// Bytes in a hash key (phone hash, secret hash).
const HASH_BYTES: usize = 32;
/// Bytes in a family index key: account id, then family id.
const FAMILY_INDEX_KEY_BYTES: usize = UUID_BYTES * 2;
/// Bytes in a profile event key: account id, then big-endian sequence number.
const PROFILE_EVENT_KEY_BYTES: usize = UUID_BYTES + 8;

/// Key of a record stored under a UUID.
pub(super) type UuidKey = [u8; UUID_BYTES];
/// Key of a record stored under a hash.
pub(super) type HashKey = [u8; HASH_BYTES];
/// Key of the family index.
pub(super) type FamilyIndexKey = [u8; FAMILY_INDEX_KEY_BYTES];
/// Key of a profile event.
pub(super) type ProfileEventKey = [u8; PROFILE_EVENT_KEY_BYTES];

/// Accounts by account id.
pub(super) const ACCOUNTS: TableDefinition<&UuidKey, &[u8]> = TableDefinition::new("accounts");
/// Account id by phone hash: the index `create_account` is conditional on.
pub(super) const ACCOUNT_IDS_BY_PHONE: TableDefinition<&HashKey, &UuidKey> =
    TableDefinition::new("account_ids_by_phone");
/// Token families by family id.
pub(super) const TOKEN_FAMILIES: TableDefinition<&UuidKey, &[u8]> =
    TableDefinition::new("token_families");
/// The families of each account, as keys with no value, for `token_families_of`.
pub(super) const FAMILIES_BY_ACCOUNT: TableDefinition<&FamilyIndexKey, ()> =
    TableDefinition::new("token_families_by_account");
/// Tokens by the hash of their secret.
pub(super) const TOKENS: TableDefinition<&HashKey, &[u8]> = TableDefinition::new("tokens");
/// One-time-code challenges by phone hash.
pub(super) const OTP_CHALLENGES: TableDefinition<&HashKey, &[u8]> =
    TableDefinition::new("otp_challenges");
/// Roster entries by phone hash.
pub(super) const ROSTER: TableDefinition<&HashKey, &[u8]> = TableDefinition::new("roster");
/// Profile events by account id and sequence number.
pub(super) const PROFILE_EVENTS: TableDefinition<&ProfileEventKey, &[u8]> =
    TableDefinition::new("profile_events");
/// Profile views by account id.
pub(super) const PROFILES: TableDefinition<&UuidKey, &[u8]> = TableDefinition::new("profiles");

/// Creates every table, so read transactions never meet a missing one.
pub(super) fn create_all(transaction: &WriteTransaction) -> StoreResult<()> {
    transaction.open_table(ACCOUNTS).map_err(redb_error)?;
    transaction
        .open_table(ACCOUNT_IDS_BY_PHONE)
        .map_err(redb_error)?;
    transaction.open_table(TOKEN_FAMILIES).map_err(redb_error)?;
    transaction
        .open_table(FAMILIES_BY_ACCOUNT)
        .map_err(redb_error)?;
    transaction.open_table(TOKENS).map_err(redb_error)?;
    transaction.open_table(OTP_CHALLENGES).map_err(redb_error)?;
    transaction.open_table(ROSTER).map_err(redb_error)?;
    transaction.open_table(PROFILE_EVENTS).map_err(redb_error)?;
    transaction.open_table(PROFILES).map_err(redb_error)?;
    Ok(())
}

/// The family index key of `family_id` under `account_id`.
pub(super) fn family_index_key(account_id: AccountId, family_id: Uuid) -> FamilyIndexKey {
    let mut key = [0; FAMILY_INDEX_KEY_BYTES];
    key[..UUID_BYTES].copy_from_slice(account_id.0.as_bytes());
    key[UUID_BYTES..].copy_from_slice(family_id.as_bytes());
    key
}

/// The family id a family index key ends with.
pub(super) fn family_id_of(key: &FamilyIndexKey) -> Uuid {
    let mut family_id = [0; UUID_BYTES];
    family_id.copy_from_slice(&key[UUID_BYTES..]);
    Uuid::from_bytes(family_id)
}

/// The key of event `seq` of `account_id`: big-endian, so keys sort by `seq`.
pub(super) fn profile_event_key(account_id: AccountId, seq: u64) -> ProfileEventKey {
    let mut key = [0; PROFILE_EVENT_KEY_BYTES];
    key[..UUID_BYTES].copy_from_slice(account_id.0.as_bytes());
    key[UUID_BYTES..].copy_from_slice(&seq.to_be_bytes());
    key
}
