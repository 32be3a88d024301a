//! Translation at the CQL boundary: driver errors to [`StoreError`], column
//! values to record fields, and the outcome of lightweight transactions.

use std::collections::HashMap;
use std::fmt::Display;

use scylla::deserialize::row::DeserializeRow;
use scylla::errors::{DbError, ExecutionError, RequestAttemptError};
use scylla::response::query_result::QueryResult;
use scylla::value::{CqlValue, Row};

use crate::domain::Role;
use crate::store::{StoreError, StoreResult, TokenKind};

/// Longest TTL CQL accepts (20 years), in seconds.
const MAX_TTL_SECONDS: i64 = 630_720_000;

/// Classifies a failed request: the cluster being unreachable, overloaded or too
/// slow is `Unavailable` (the request may be retried later); a request the
/// cluster rejects is a `Backend` failure.
pub(super) fn execution_error(error: ExecutionError) -> StoreError {
    let rejected = match &error {
        ExecutionError::BadQuery(_) => true,
        ExecutionError::LastAttemptError(RequestAttemptError::DbError(db_error, _)) => {
            !is_transient(db_error)
        }
        ExecutionError::PrepareError(_)
        | ExecutionError::EmptyPlan
        | ExecutionError::ConnectionPoolError(_)
        | ExecutionError::LastAttemptError(_)
        | ExecutionError::RequestTimeout(_)
        | ExecutionError::UseKeyspaceError(_)
        | ExecutionError::SchemaAgreementError(_)
        | ExecutionError::MetadataError(_) => false,
        _ => false,
    };
    if rejected {
        StoreError::Backend(format!("cql request rejected: {error}"))
    } else {
        StoreError::Unavailable(format!("cql request failed: {error}"))
    }
}

/// Whether a server error means "try again later" rather than "never".
fn is_transient(db_error: &DbError) -> bool {
    matches!(
        db_error,
        DbError::Unavailable { .. }
            | DbError::Overloaded
            | DbError::IsBootstrapping
            | DbError::ReadTimeout { .. }
            | DbError::WriteTimeout { .. }
            | DbError::ReadFailure { .. }
            | DbError::WriteFailure { .. }
            | DbError::TruncateError
            | DbError::RateLimitReached { .. }
            | DbError::ServerError
    )
}

/// A value read from the cluster that does not decode.
pub(super) fn corrupt(what: &str, error: impl Display) -> StoreError {
    StoreError::Corrupt(format!("cannot decode {what}: {error}"))
}

/// Every row of a result, decoded as `RowType`.
pub(super) fn rows<RowType>(result: QueryResult, what: &str) -> StoreResult<Vec<RowType>>
where
    RowType: for<'frame> DeserializeRow<'frame, 'frame>,
{
    let rows_result = result
        .into_rows_result()
        .map_err(|error| corrupt(what, error))?;
    let typed = rows_result
        .rows::<RowType>()
        .map_err(|error| corrupt(what, error))?;
    typed
        .map(|row| row.map_err(|error| corrupt(what, error)))
        .collect()
}

/// The first row of a result, if any.
pub(super) fn first_row<RowType>(result: QueryResult, what: &str) -> StoreResult<Option<RowType>>
where
    RowType: for<'frame> DeserializeRow<'frame, 'frame>,
{
    Ok(rows::<RowType>(result, what)?.into_iter().next())
}

/// The answer to a conditional write (`... IF ...`): whether it applied and, when
/// it did not, the current values of the columns it tested (absent when null or
/// when the row does not exist).
#[derive(Debug)]
pub(super) struct Conditional {
    /// Whether the write was made.
    pub(super) applied: bool,
    /// Current non-null values by column name, returned when the write was refused.
    current: HashMap<String, CqlValue>,
}

impl Conditional {
    /// Reads the `[applied]` row of a lightweight transaction.
    pub(super) fn from_result(result: QueryResult, what: &str) -> StoreResult<Self> {
        let rows_result = result
            .into_rows_result()
            .map_err(|error| corrupt(what, error))?;
        let names: Vec<String> = rows_result
            .column_specs()
            .iter()
            .map(|spec| spec.name().to_owned())
            .collect();
        let row: Row = rows_result
            .first_row::<Row>()
            .map_err(|error| corrupt(what, error))?;
        let mut current: HashMap<String, CqlValue> = names
            .into_iter()
            .zip(row.columns)
            .filter_map(|(name, value)| value.map(|value| (name, value)))
            .collect();
        let applied = match current.remove("[applied]") {
            Some(CqlValue::Boolean(applied)) => applied,
            other => return Err(corrupt(what, format!("[applied] is {other:?}"))),
        };
        Ok(Self { applied, current })
    }

    /// The current value of a `bigint` column, when it is set.
    pub(super) fn current_bigint(&self, column: &str) -> Option<i64> {
        match self.current.get(column) {
            Some(CqlValue::BigInt(value)) => Some(*value),
            _ => None,
        }
    }

    /// The current value of a `uuid` column, when it is set.
    pub(super) fn current_uuid(&self, column: &str) -> Option<uuid::Uuid> {
        match self.current.get(column) {
            Some(CqlValue::Uuid(value)) => Some(*value),
            _ => None,
        }
    }

    /// The current value of a `text` column, when it is set.
    pub(super) fn current_text(&self, column: &str) -> Option<&str> {
        match self.current.get(column) {
            Some(CqlValue::Text(value)) => Some(value.as_str()),
            _ => None,
        }
    }
}

/// A stored 32-byte hash.
pub(super) fn hash32(bytes: Vec<u8>, what: &str) -> StoreResult<[u8; 32]> {
    bytes
        .try_into()
        .map_err(|bytes: Vec<u8>| corrupt(what, format!("{} bytes, expected 32", bytes.len())))
}

/// The stored name of a role.
pub(super) fn role_text(role: Role) -> &'static str {
    role.as_str()
}

/// A role from its stored name.
pub(super) fn role_from_text(text: &str) -> StoreResult<Role> {
    match text {
        "citizen" => Ok(Role::Citizen),
        "officer" => Ok(Role::Officer),
        other => Err(corrupt("role", format!("unknown role {other:?}"))),
    }
}

/// The stored name of a token kind.
pub(super) fn token_kind_text(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Access => "access",
        TokenKind::Refresh => "refresh",
    }
}

/// A token kind from its stored name.
pub(super) fn token_kind_from_text(text: &str) -> StoreResult<TokenKind> {
    match text {
        "access" => Ok(TokenKind::Access),
        "refresh" => Ok(TokenKind::Refresh),
        other => Err(corrupt("token kind", format!("unknown kind {other:?}"))),
    }
}

/// A `u64` as a CQL `bigint`.
pub(super) fn to_bigint(value: u64, what: &str) -> StoreResult<i64> {
    i64::try_from(value).map_err(|_| StoreError::Backend(format!("{what} {value} is too large")))
}

/// A CQL `bigint` that holds a `u64`.
pub(super) fn from_bigint(value: i64, what: &str) -> StoreResult<u64> {
    u64::try_from(value).map_err(|_| corrupt(what, format!("negative value {value}")))
}

/// TTL of a record that matters until `expires_at_ms` and is kept `retention_ms`
/// longer, counted from the wall clock now, in whole seconds within CQL's range.
pub(super) fn ttl_seconds(expires_at_ms: i64, retention_ms: i64) -> i32 {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        });
    let remaining_ms = expires_at_ms.saturating_sub(now_ms).max(0);
    let seconds = remaining_ms.saturating_add(retention_ms) / 1000;
    i32::try_from(seconds.clamp(1, MAX_TTL_SECONDS)).unwrap_or(i32::MAX)
}

/// A record kept whole in a `blob` column: MessagePack with field names (the
/// embedded store's encoding), so records can gain defaulted fields.
pub(super) fn encode_record<T: serde::Serialize>(record: &T, what: &str) -> StoreResult<Vec<u8>> {
    rmp_serde::to_vec_named(record)
        .map_err(|error| StoreError::Backend(format!("cannot encode {what}: {error}")))
}

/// A record read back from a `blob` column.
pub(super) fn decode_record<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &str,
) -> StoreResult<T> {
    rmp_serde::from_slice(bytes).map_err(|error| corrupt(what, error))
}

/// Whether a conditional write that failed with `error` may still have applied:
/// a timeout or a lost connection leaves the outcome unknown (the Paxos round
/// may have been accepted), so the caller reads back at `SERIAL` before
/// deciding; a request the cluster rejected did not apply.
pub(super) fn may_have_applied(error: &StoreError) -> bool {
    match error {
        StoreError::Unavailable(_) => true,
        StoreError::Backend(_)
        | StoreError::Corrupt(_)
        | StoreError::InUse { .. }
        | StoreError::StorageFailed(_) => false,
    }
}
