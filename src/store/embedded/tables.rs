//! The redb tables and their key layouts. Values are encoded records (see
//! `codec`); keys are fixed-width byte arrays, compared bytewise, so composite
//! keys (account id followed by a big-endian number) scan in order.

use redb::{TableDefinition, WriteTransaction};
use uuid::Uuid;

use super::codec::redb_error;
use crate::domain::AccountId;
use crate::domain::catalog::{LimitPeriod, OfferKind};
use crate::domain::trophy_marks::TrophyMark;
use crate::domain::voucher::LimitWindow;
use crate::store::{AreaPosition, StoreResult};

/// Bytes in a UUID key (account id, token family id).
pub(super) const UUID_BYTES: usize = 16;
/// Bytes in a hash key (phone hash, secret hash).
const HASH_BYTES: usize = 32;
/// Bytes in a family index key: account id, then family id.
const FAMILY_INDEX_KEY_BYTES: usize = UUID_BYTES * 2;
/// Bytes in a profile event key: account id, then big-endian sequence number.
const PROFILE_EVENT_KEY_BYTES: usize = UUID_BYTES + 8;

/// Bytes in a connection index key: account id, biased big-endian time, connection id.
const CONNECTION_INDEX_KEY_BYTES: usize = UUID_BYTES + 8 + UUID_BYTES;
/// Bytes in a pair key: the two account ids, smaller first.
const PAIR_KEY_BYTES: usize = UUID_BYTES * 2;
/// Bytes in a daily counter key: account id, biased big-endian day.
const DAY_KEY_BYTES: usize = UUID_BYTES + 8;
/// Bytes in a ledger key: account id, big-endian sequence number.
const LEDGER_KEY_BYTES: usize = UUID_BYTES + 8;
/// Bytes in a time-then-id key (audit entries, voucher expiries): biased
/// big-endian time, id.
const TIME_ID_KEY_BYTES: usize = 8 + UUID_BYTES;

/// Bytes in an area index key: ZIP prefix digits, kind, biased big-endian end
/// of validity, offer id.
const AREA_INDEX_KEY_BYTES: usize = 3 + 1 + 8 + UUID_BYTES;

/// Bytes in a limit slot key: account id, offer id, period tag, biased
/// big-endian window index, big-endian slot.
const LIMIT_SLOT_KEY_BYTES: usize = UUID_BYTES * 2 + 1 + 8 + 4;

/// Bytes in a pledge key: biased big-endian month index, charity id, pledge id.
const PLEDGE_KEY_BYTES: usize = 8 + UUID_BYTES * 2;

/// Key of a pledge under its (month, charity).
pub(super) type PledgeKey = [u8; PLEDGE_KEY_BYTES];
/// Key of a staged import chunk: run id, big-endian chunk number.
pub(super) type StagedChunkKey = [u8; UUID_BYTES + 8];
/// Key of a per-person limit slot.
pub(super) type LimitSlotKey = [u8; LIMIT_SLOT_KEY_BYTES];
/// Key of an area index row.
pub(super) type AreaIndexKey = [u8; AREA_INDEX_KEY_BYTES];
/// Key of a person's connection index row.
pub(super) type ConnectionIndexKey = [u8; CONNECTION_INDEX_KEY_BYTES];
/// Key of a pair's last reward.
pub(super) type PairKey = [u8; PAIR_KEY_BYTES];
/// Key of a person's rewarded count on one day.
pub(super) type DayKey = [u8; DAY_KEY_BYTES];
/// Key of a ledger entry.
pub(super) type LedgerKey = [u8; LEDGER_KEY_BYTES];
/// Key ordered by time, then id: audit entries, voucher expiries.
pub(super) type TimeIdKey = [u8; TIME_ID_KEY_BYTES];
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
/// Account deletions started and not finished: account id → start time.
pub(super) const ACCOUNT_DELETIONS: TableDefinition<&UuidKey, i64> =
    TableDefinition::new("account_deletions");

/// Connection records by connection (request) id.
pub(super) const CONNECTIONS: TableDefinition<&UuidKey, &[u8]> =
    TableDefinition::new("connections");
/// Each person's connections, as keys with no value, newest last.
pub(super) const CONNECTIONS_BY_ACCOUNT: TableDefinition<&ConnectionIndexKey, ()> =
    TableDefinition::new("connections_by_account");
/// Records whose credits are not yet complete, as keys with no value.
pub(super) const INCOMPLETE_CONNECTIONS: TableDefinition<&UuidKey, ()> =
    TableDefinition::new("incomplete_connections");
/// When each pair was last rewarded (Unix ms).
pub(super) const PAIR_LAST_REWARDED: TableDefinition<&PairKey, i64> =
    TableDefinition::new("pair_last_rewarded");
/// Rewarded connections per person and UTC day.
pub(super) const DAILY_REWARDED: TableDefinition<&DayKey, u32> =
    TableDefinition::new("daily_rewarded");
/// The connections holding a person's reward slots of one UTC day: a
/// MessagePack list of ids, at most the daily cap long.
pub(super) const REWARD_DAY_SLOTS: TableDefinition<&DayKey, &[u8]> =
    TableDefinition::new("reward_day_slots");
/// The connection holding each pair's reward and the one it replaced
/// (MessagePack).
pub(super) const PAIR_REWARD_CLAIMS: TableDefinition<&PairKey, &[u8]> =
    TableDefinition::new("pair_reward_claims");
/// Ledger entries by account id and sequence number.
pub(super) const LEDGER: TableDefinition<&LedgerKey, &[u8]> = TableDefinition::new("ledger");
/// The ledger key of each entry id: the idempotency index.
pub(super) const LEDGER_IDS: TableDefinition<&UuidKey, &LedgerKey> =
    TableDefinition::new("ledger_ids");
/// Each account's balance and last ledger sequence number, written with every
/// append in the same transaction.
pub(super) const BALANCES: TableDefinition<&UuidKey, (i64, u64)> = TableDefinition::new("balances");
/// Trophies by account id followed by the trophy's wire id.
pub(super) const TROPHIES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("trophies");
/// Rows filed for removal (`expiry`): the time they stop mattering, the
/// table's tag and the row's key, to the time the row held when filed.
pub(super) const EXPIRING_ROWS: TableDefinition<&[u8], i64> = TableDefinition::new("expiring_rows");
/// Trophy marks by account id, the mark's kind, a zero byte and its value
/// (`domain::trophy_marks`): a few rows per person.
pub(super) const TROPHY_MARKS: TableDefinition<&[u8], ()> = TableDefinition::new("trophy_marks");

/// The audit log, by time then entry id (so a reverse scan is newest first).
pub(super) const AUDIT_LOG: TableDefinition<&TimeIdKey, &[u8]> = TableDefinition::new("audit_log");
/// Retailers by id.
pub(super) const RETAILERS: TableDefinition<&UuidKey, &[u8]> = TableDefinition::new("retailers");
/// Municipalities by id.
pub(super) const MUNICIPALITIES: TableDefinition<&UuidKey, &[u8]> =
    TableDefinition::new("municipalities");
/// Charities by id.
pub(super) const CHARITIES: TableDefinition<&UuidKey, &[u8]> = TableDefinition::new("charities");
/// Offers and schemes by id.
pub(super) const REWARD_OFFERS: TableDefinition<&UuidKey, &[u8]> =
    TableDefinition::new("reward_offers");
/// The area index, as keys with no value: one row per offer and ZIP prefix of
/// its area, under its kind, ordered by its end of validity.
pub(super) const REWARD_OFFERS_BY_AREA: TableDefinition<&AreaIndexKey, ()> =
    TableDefinition::new("reward_offers_by_area");

/// Redemptions by (account id, idempotency key): the account's 16 bytes, then
/// the key's bytes.
pub(super) const REDEMPTIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("redemptions");
/// The keys of `REDEMPTIONS` rows still started, for the recovery pass.
pub(super) const STARTED_REDEMPTIONS: TableDefinition<&[u8], ()> =
    TableDefinition::new("started_redemptions");
/// Stock moves applied, by op id: the remaining stock after each.
pub(super) const STOCK_OPS: TableDefinition<&UuidKey, u32> = TableDefinition::new("stock_ops");
/// Per-person limit slots: holder by (account, offer, window, slot).
pub(super) const LIMIT_SLOTS: TableDefinition<&LimitSlotKey, &UuidKey> =
    TableDefinition::new("limit_slots");
/// Vouchers by id.
pub(super) const VOUCHERS: TableDefinition<&UuidKey, &[u8]> = TableDefinition::new("vouchers");
/// A person's vouchers, as keys with no value: account, issue time, voucher id
/// (the layout of the connection index).
pub(super) const VOUCHERS_BY_ACCOUNT: TableDefinition<&ConnectionIndexKey, ()> =
    TableDefinition::new("vouchers_by_account");
/// Issued vouchers by expiry time, as keys with no value: a voucher's row is
/// removed when it leaves `issued`, so the sweep finds exactly the ones due.
pub(super) const VOUCHERS_BY_EXPIRY: TableDefinition<&TimeIdKey, ()> =
    TableDefinition::new("vouchers_by_expiry");
/// Issuers' API keys by the hash of their secret.
pub(super) const ISSUER_KEYS: TableDefinition<&HashKey, &[u8]> =
    TableDefinition::new("issuer_keys");
/// Each issuer's keys: issuer id, then key id (the family index layout) → the
/// key's hash.
pub(super) const ISSUER_KEYS_BY_ISSUER: TableDefinition<&FamilyIndexKey, &HashKey> =
    TableDefinition::new("issuer_keys_by_issuer");
/// Import runs by start time then id (listed newest first).
pub(super) const IMPORT_RUNS: TableDefinition<&TimeIdKey, &[u8]> =
    TableDefinition::new("import_runs");
/// Where each import run is stored in [`IMPORT_RUNS`], by run id.
pub(super) const IMPORT_RUN_KEYS: TableDefinition<&UuidKey, &TimeIdKey> =
    TableDefinition::new("import_run_keys");
/// Staged chunks of import runs, by run id then big-endian chunk number.
pub(super) const IMPORT_STAGED: TableDefinition<&StagedChunkKey, &[u8]> =
    TableDefinition::new("import_staged");
/// External ids of imported rows, by `kind`, a NUL, then the ref.
pub(super) const IMPORT_REFS: TableDefinition<&str, &[u8]> = TableDefinition::new("import_refs");
/// Voucher releases under way, by voucher id: when each was noted.
pub(super) const PENDING_RELEASES: TableDefinition<&UuidKey, i64> =
    TableDefinition::new("pending_releases");

/// Donations by account id then idempotency key (as `REDEMPTIONS`).
pub(super) const DONATIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("donations");
/// The keys of `DONATIONS` rows still started, for the recovery pass.
pub(super) const STARTED_DONATIONS: TableDefinition<&[u8], ()> =
    TableDefinition::new("started_donations");
/// Pledges by (month, charity, pledge id), for statements.
pub(super) const PLEDGES: TableDefinition<&PledgeKey, &[u8]> = TableDefinition::new("pledges");
/// Statement settlements by month index.
pub(super) const STATEMENT_SETTLEMENTS: TableDefinition<i64, &[u8]> =
    TableDefinition::new("statement_settlements");

/// Outbox deliveries by message id (`crate::outbox`).
pub(super) const OUTBOX_DELIVERIES: TableDefinition<&UuidKey, &[u8]> =
    TableDefinition::new("outbox_deliveries");
/// Open outbox deliveries by (next attempt time, message id): the due queue.
pub(super) const OUTBOX_DUE: TableDefinition<&TimeIdKey, ()> = TableDefinition::new("outbox_due");

/// Outbox endpoints by id (secrets sealed).
pub(super) const OUTBOX_ENDPOINTS: TableDefinition<&UuidKey, &[u8]> =
    TableDefinition::new("outbox_endpoints");

/// Push devices by (account id, device id).
pub(super) const DEVICES: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("devices");

/// Provider identities by key (the keyed hash of issuer and subject).
pub(super) const OIDC_IDENTITIES: TableDefinition<&[u8; 32], &[u8]> =
    TableDefinition::new("oidc_identities");

/// The identities of an account, by (account id, identity key).
pub(super) const OIDC_IDENTITIES_BY_ACCOUNT: TableDefinition<&[u8; 48], ()> =
    TableDefinition::new("oidc_identities_by_account");

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
    transaction
        .open_table(ACCOUNT_DELETIONS)
        .map_err(redb_error)?;
    transaction.open_table(CONNECTIONS).map_err(redb_error)?;
    transaction
        .open_table(CONNECTIONS_BY_ACCOUNT)
        .map_err(redb_error)?;
    transaction
        .open_table(INCOMPLETE_CONNECTIONS)
        .map_err(redb_error)?;
    transaction
        .open_table(PAIR_LAST_REWARDED)
        .map_err(redb_error)?;
    transaction.open_table(DAILY_REWARDED).map_err(redb_error)?;
    transaction
        .open_table(REWARD_DAY_SLOTS)
        .map_err(redb_error)?;
    transaction
        .open_table(PAIR_REWARD_CLAIMS)
        .map_err(redb_error)?;
    transaction.open_table(LEDGER).map_err(redb_error)?;
    transaction.open_table(LEDGER_IDS).map_err(redb_error)?;
    transaction.open_table(BALANCES).map_err(redb_error)?;
    transaction.open_table(TROPHIES).map_err(redb_error)?;
    transaction.open_table(TROPHY_MARKS).map_err(redb_error)?;
    transaction.open_table(EXPIRING_ROWS).map_err(redb_error)?;
    transaction.open_table(AUDIT_LOG).map_err(redb_error)?;
    transaction.open_table(IMPORT_RUNS).map_err(redb_error)?;
    transaction
        .open_table(IMPORT_RUN_KEYS)
        .map_err(redb_error)?;
    transaction.open_table(IMPORT_STAGED).map_err(redb_error)?;
    transaction.open_table(IMPORT_REFS).map_err(redb_error)?;
    transaction
        .open_table(OUTBOX_DELIVERIES)
        .map_err(redb_error)?;
    transaction.open_table(OUTBOX_DUE).map_err(redb_error)?;
    transaction.open_table(DEVICES).map_err(redb_error)?;
    transaction
        .open_table(OIDC_IDENTITIES)
        .map_err(redb_error)?;
    transaction
        .open_table(OIDC_IDENTITIES_BY_ACCOUNT)
        .map_err(redb_error)?;
    transaction
        .open_table(OUTBOX_ENDPOINTS)
        .map_err(redb_error)?;
    transaction.open_table(RETAILERS).map_err(redb_error)?;
    transaction.open_table(MUNICIPALITIES).map_err(redb_error)?;
    transaction.open_table(CHARITIES).map_err(redb_error)?;
    transaction.open_table(REWARD_OFFERS).map_err(redb_error)?;
    transaction
        .open_table(REWARD_OFFERS_BY_AREA)
        .map_err(redb_error)?;
    transaction.open_table(REDEMPTIONS).map_err(redb_error)?;
    transaction
        .open_table(STARTED_REDEMPTIONS)
        .map_err(redb_error)?;
    transaction.open_table(STOCK_OPS).map_err(redb_error)?;
    transaction.open_table(LIMIT_SLOTS).map_err(redb_error)?;
    transaction.open_table(VOUCHERS).map_err(redb_error)?;
    transaction
        .open_table(VOUCHERS_BY_ACCOUNT)
        .map_err(redb_error)?;
    transaction
        .open_table(VOUCHERS_BY_EXPIRY)
        .map_err(redb_error)?;
    transaction
        .open_table(PENDING_RELEASES)
        .map_err(redb_error)?;
    transaction.open_table(DONATIONS).map_err(redb_error)?;
    transaction
        .open_table(STARTED_DONATIONS)
        .map_err(redb_error)?;
    transaction.open_table(PLEDGES).map_err(redb_error)?;
    transaction
        .open_table(STATEMENT_SETTLEMENTS)
        .map_err(redb_error)?;
    transaction.open_table(ISSUER_KEYS).map_err(redb_error)?;
    transaction
        .open_table(ISSUER_KEYS_BY_ISSUER)
        .map_err(redb_error)?;
    super::reports::create_tables(transaction)
}

/// The family index key of `family_id` under `account_id`.
pub(super) fn family_index_key(account_id: AccountId, family_id: Uuid) -> FamilyIndexKey {
    let mut key = [0; FAMILY_INDEX_KEY_BYTES];
    key[..UUID_BYTES].copy_from_slice(account_id.0.as_bytes());
    key[UUID_BYTES..].copy_from_slice(family_id.as_bytes());
    key
}

/// The index row of an issuer's key: issuer id, then key id.
pub(super) fn issuer_key_index_key(issuer_id: Uuid, key_id: Uuid) -> FamilyIndexKey {
    let mut key = [0; FAMILY_INDEX_KEY_BYTES];
    key[..UUID_BYTES].copy_from_slice(issuer_id.as_bytes());
    key[UUID_BYTES..].copy_from_slice(key_id.as_bytes());
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

/// An i64 as big-endian bytes that sort like the numbers (sign bit flipped).
pub(super) fn biased(value: i64) -> [u8; 8] {
    ((value as u64) ^ (1 << 63)).to_be_bytes()
}

/// The index row of `connection_id` under `account_id` at `at_ms`.
pub(super) fn connection_index_key(
    account_id: AccountId,
    at_ms: i64,
    connection_id: Uuid,
) -> ConnectionIndexKey {
    let mut key = [0; CONNECTION_INDEX_KEY_BYTES];
    key[..UUID_BYTES].copy_from_slice(account_id.0.as_bytes());
    key[UUID_BYTES..UUID_BYTES + 8].copy_from_slice(&biased(at_ms));
    key[UUID_BYTES + 8..].copy_from_slice(connection_id.as_bytes());
    key
}

/// The connection id a connection index key ends with.
pub(super) fn connection_id_of(key: &ConnectionIndexKey) -> Uuid {
    let mut id = [0; UUID_BYTES];
    id.copy_from_slice(&key[UUID_BYTES + 8..]);
    Uuid::from_bytes(id)
}

/// The key of a pair, whichever order the two are given in.
pub(super) fn pair_key(first: AccountId, second: AccountId) -> PairKey {
    let (low, high) = if first <= second {
        (first, second)
    } else {
        (second, first)
    };
    let mut key = [0; PAIR_KEY_BYTES];
    key[..UUID_BYTES].copy_from_slice(low.0.as_bytes());
    key[UUID_BYTES..].copy_from_slice(high.0.as_bytes());
    key
}

/// The key of a person's counter for one UTC day.
pub(super) fn day_key(account_id: AccountId, day: i64) -> DayKey {
    let mut key = [0; DAY_KEY_BYTES];
    key[..UUID_BYTES].copy_from_slice(account_id.0.as_bytes());
    key[UUID_BYTES..].copy_from_slice(&biased(day));
    key
}

/// The key of ledger entry `seq` of `account_id`.
pub(super) fn ledger_key(account_id: AccountId, seq: u64) -> LedgerKey {
    let mut key = [0; LEDGER_KEY_BYTES];
    key[..UUID_BYTES].copy_from_slice(account_id.0.as_bytes());
    key[UUID_BYTES..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// The area index key of `offer_id` under (`zip_prefix`, `kind`) ending at
/// `valid_until_ms`. The prefix is three ASCII digits (validated areas only).
pub(super) fn area_index_key(
    zip_prefix: &str,
    kind: OfferKind,
    valid_until_ms: i64,
    offer_id: Uuid,
) -> AreaIndexKey {
    debug_assert_eq!(zip_prefix.len(), 3, "a ZIP prefix has three digits");
    let mut key = [0; AREA_INDEX_KEY_BYTES];
    key[..3].copy_from_slice(&zip_prefix.as_bytes()[..3]);
    key[3] = match kind {
        OfferKind::Offer => 0,
        OfferKind::Scheme => 1,
    };
    key[4..12].copy_from_slice(&biased(valid_until_ms));
    key[12..].copy_from_slice(offer_id.as_bytes());
    key
}

/// The position an area index key stands for.
pub(super) fn area_position_of(key: &AreaIndexKey) -> AreaPosition {
    let mut until = [0; 8];
    until.copy_from_slice(&key[4..12]);
    let mut id = [0; UUID_BYTES];
    id.copy_from_slice(&key[12..]);
    AreaPosition {
        valid_until_ms: (u64::from_be_bytes(until) ^ (1 << 63)) as i64,
        offer_id: Uuid::from_bytes(id),
    }
}

/// The key of a trophy: account id, then the trophy's wire id.
pub(super) fn trophy_key(account_id: AccountId, trophy: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(UUID_BYTES + trophy.len());
    key.extend_from_slice(account_id.0.as_bytes());
    key.extend_from_slice(trophy.as_bytes());
    key
}

/// The key of a trophy mark: account id, kind, a zero byte, value.
pub(super) fn trophy_mark_key(account_id: AccountId, mark: &TrophyMark) -> Vec<u8> {
    let kind = mark.kind();
    let value = mark.value();
    let mut key = Vec::with_capacity(UUID_BYTES + kind.len() + 1 + value.len());
    key.extend_from_slice(account_id.0.as_bytes());
    key.extend_from_slice(kind.as_bytes());
    key.push(0);
    key.extend_from_slice(value.as_bytes());
    key
}

/// The key of an audit entry or a voucher expiry: time first, so keys sort
/// by time, then id.
pub(super) fn time_id_key(at_ms: i64, id: Uuid) -> TimeIdKey {
    let mut key = [0; TIME_ID_KEY_BYTES];
    key[..8].copy_from_slice(&biased(at_ms));
    key[8..].copy_from_slice(id.as_bytes());
    key
}

/// The id a time-then-id key ends with.
pub(super) fn id_of_time_id_key(key: &TimeIdKey) -> Uuid {
    let mut id = [0; UUID_BYTES];
    id.copy_from_slice(&key[8..]);
    Uuid::from_bytes(id)
}

/// The key of a redemption (and of its started mark): account id, then the
/// idempotency key.
pub(super) fn redemption_key(account_id: AccountId, idempotency_key: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(UUID_BYTES + idempotency_key.len());
    key.extend_from_slice(account_id.0.as_bytes());
    key.extend_from_slice(idempotency_key.as_bytes());
    key
}

/// The key of `slot` of (`account_id`, `offer_id`, `window`); slot 0 and
/// `u32::MAX` bound the window's range.
pub(super) fn limit_slot_key(
    account_id: AccountId,
    offer_id: Uuid,
    window: LimitWindow,
    slot: u32,
) -> LimitSlotKey {
    let mut key = [0; LIMIT_SLOT_KEY_BYTES];
    key[..UUID_BYTES].copy_from_slice(account_id.0.as_bytes());
    key[UUID_BYTES..UUID_BYTES * 2].copy_from_slice(offer_id.as_bytes());
    key[UUID_BYTES * 2] = match window.per {
        LimitPeriod::Day => 0,
        LimitPeriod::Month => 1,
        LimitPeriod::Ever => 2,
    };
    key[UUID_BYTES * 2 + 1..UUID_BYTES * 2 + 9].copy_from_slice(&biased(window.index));
    key[UUID_BYTES * 2 + 9..].copy_from_slice(&slot.to_be_bytes());
    key
}

/// The slot number a limit slot key ends with.
pub(super) fn limit_slot_of(key: &LimitSlotKey) -> u32 {
    let mut slot = [0; 4];
    slot.copy_from_slice(&key[UUID_BYTES * 2 + 9..]);
    u32::from_be_bytes(slot)
}

/// The key of `pledge_id` under (`month_index`, `charity_id`); the nil and max
/// ids bound the (month, charity) range.
pub(super) fn pledge_key(month_index: i64, charity_id: Uuid, pledge_id: Uuid) -> PledgeKey {
    let mut key = [0; PLEDGE_KEY_BYTES];
    key[..8].copy_from_slice(&biased(month_index));
    key[8..8 + UUID_BYTES].copy_from_slice(charity_id.as_bytes());
    key[8 + UUID_BYTES..].copy_from_slice(pledge_id.as_bytes());
    key
}

/// Key of chunk `chunk` of run `run_id`.
pub(super) fn staged_chunk_key(run_id: Uuid, chunk: u64) -> StagedChunkKey {
    let mut key = [0; UUID_BYTES + 8];
    key[..UUID_BYTES].copy_from_slice(run_id.as_bytes());
    key[UUID_BYTES..].copy_from_slice(&chunk.to_be_bytes());
    key
}
