//! `POST /v1/me/devices` and `DELETE /v1/me/devices/{id}`: the push tokens
//! of the caller's phones, so an officer whose app is in the background can
//! be told of a request through the push gateway. At most ten per account;
//! a token is never logged, and a logout removes the device of its sign-in
//! (`logout_all` every device).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppState;
use super::bearer::Caller;
use super::error::ApiError;
use super::json_body::ApiJson;
use super::openapi::ErrorBody;
use crate::domain::AccountId;
use crate::domain::device::{
    Device, MAX_DEVICES_PER_ACCOUNT, MAX_TOKEN_BYTES, MIN_TOKEN_BYTES, Platform, device_id,
    is_push_token,
};
use crate::store::{Store, StoreResult};

/// Body of `POST /v1/me/devices`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewDevice {
    /// `ios` or `android`.
    platform: String,
    /// The push token the platform gave the app.
    token: String,
}

/// A device as its owner sees it: never the token, which the app has.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct DeviceBody {
    /// The device's id (for `DELETE`).
    device_id: Uuid,
    /// `ios` or `android`.
    platform: &'static str,
    /// When it was registered (Unix ms).
    registered_at_ms: i64,
}

impl From<&Device> for DeviceBody {
    fn from(device: &Device) -> Self {
        Self {
            device_id: device.device_id,
            platform: device.platform.as_str(),
            registered_at_ms: device.registered_at_ms,
        }
    }
}

/// Registers (or registers again) one of the caller's devices.
#[utoipa::path(
    post,
    path = "/v1/me/devices",
    tag = "me",
    request_body = NewDevice,
    responses(
        (status = 201, description = "The device is registered for pushes", body = DeviceBody),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 409, description = "`too_many_devices`", body = ErrorBody),
        (status = 400, description = "`malformed_json` or `invalid_body`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/json`", body = ErrorBody),
        (status = 422, description = "`missing_field`, `unknown_field`, `invalid_type` or `invalid_field`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("access_token" = []))
)]
pub(crate) async fn register(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(new): ApiJson<NewDevice>,
) -> Result<(StatusCode, Json<DeviceBody>), ApiError> {
    let Some(platform) = Platform::from_name(&new.platform) else {
        return Err(ApiError::unprocessable(
            "invalid_field",
            "platform: must be ios or android",
        ));
    };
    if !is_push_token(&new.token) {
        return Err(ApiError::unprocessable(
            "invalid_field",
            format!(
                "token: must be {MIN_TOKEN_BYTES} to {MAX_TOKEN_BYTES} letters, digits or -_:."
            ),
        ));
    }
    let account_id = caller.account_id;
    let id = device_id(account_id, &new.token);
    let registered = state.store.devices_of(account_id).await?;
    let known = registered.iter().any(|device| device.device_id == id);
    if !known && registered.len() >= MAX_DEVICES_PER_ACCOUNT {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "too_many_devices",
            format!("at most {MAX_DEVICES_PER_ACCOUNT} devices: remove one first"),
        ));
    }
    let device = Device {
        account_id,
        device_id: id,
        platform,
        token: new.token,
        family_id: caller.family_id,
        registered_at_ms: state.clock.now_ms(),
    };
    state.store.put_device(&device).await?;
    let status = if known {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(DeviceBody::from(&device))))
}

/// Removes one of the caller's devices (idempotent).
#[utoipa::path(
    delete,
    path = "/v1/me/devices/{device_id}",
    tag = "me",
    params(("device_id" = uuid::Uuid, Path, description = "The device")),
    responses(
        (status = 204, description = "Removed (also when it was not there)"),
        (status = 401, description = "`missing_token` or `invalid_token`", body = ErrorBody),
        (status = 503, description = "`store_unavailable`: try again shortly", body = ErrorBody)
    ),
    security(("access_token" = []))
)]
pub(crate) async fn remove(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(device_id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .remove_device(caller.account_id, device_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes the devices a sign-in registered (every device when `family_id`
/// is `None`): part of logging out.
pub(crate) async fn remove_signed_in_devices(
    store: &dyn Store,
    account_id: AccountId,
    family_id: Option<Uuid>,
) -> StoreResult<()> {
    for device in store.devices_of(account_id).await? {
        if family_id.is_none_or(|family_id| device.family_id == family_id) {
            store.remove_device(account_id, device.device_id).await?;
        }
    }
    Ok(())
}

/// A device in the caller's export: with its token, which is data held
/// about them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ExportedDevice {
    /// As listed.
    #[serde(flatten)]
    device: DeviceBody,
    /// The push token.
    token: String,
}

/// The caller's devices, for the export.
pub(crate) async fn devices_for_export(
    store: &dyn Store,
    account_id: AccountId,
) -> StoreResult<Vec<ExportedDevice>> {
    Ok(store
        .devices_of(account_id)
        .await?
        .into_iter()
        .map(|device| ExportedDevice {
            device: DeviceBody::from(&device),
            token: device.token,
        })
        .collect())
}
