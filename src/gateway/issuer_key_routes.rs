//! `/v1/admin/catalog/{retailers,municipalities}/{id}/keys` (admin token):
//! create an issuer's API key (shown once), list its keys, revoke one. The
//! counter systems of retailers and municipalities check and redeem vouchers
//! with these keys. Creations and revocations are written to the audit log.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppState;
use super::bearer::Admin;
use super::catalog_routes::entry_id;
use super::client_address::ClientAddress;
use super::error::ApiError;
use super::json_body::ApiJson;
use crate::audit::AuditAction;
use crate::domain::catalog::{Municipality, OfferKind, Retailer};
use crate::rewards::{CatalogEntry, CatalogError};
use crate::store::IssuerKey;

/// A catalog entry that issues vouchers and so holds API keys.
pub(crate) trait Issuer: CatalogEntry {
    /// The kind of the offers it issues.
    const KIND: OfferKind;
}

impl Issuer for Retailer {
    const KIND: OfferKind = OfferKind::Offer;
}

impl Issuer for Municipality {
    const KIND: OfferKind = OfferKind::Scheme;
}

/// Body of `POST .../keys`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewKeyBody {
    /// What the key is for, e.g. "Till 2, Main St".
    label: String,
}

/// A key as listed: never its secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct KeyView {
    /// Id, used to revoke it.
    key_id: Uuid,
    /// The retailer or municipality.
    issuer_id: Uuid,
    /// The admin's label.
    label: String,
    /// Creation time (Unix ms).
    created_at_ms: i64,
    /// Revocation time (Unix ms), absent while it works.
    #[serde(skip_serializing_if = "Option::is_none")]
    revoked_at_ms: Option<i64>,
}

impl From<IssuerKey> for KeyView {
    fn from(key: IssuerKey) -> Self {
        Self {
            key_id: key.key_id,
            issuer_id: key.issuer_id,
            label: key.label,
            created_at_ms: key.created_at_ms,
            revoked_at_ms: key.revoked_at_ms,
        }
    }
}

/// Answer of `POST .../keys`: the key, shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct CreatedKeyBody {
    /// The stored key.
    #[serde(flatten)]
    view: KeyView,
    /// The key to configure in the counter system (`hbk_...`).
    key: String,
}

/// `GET .../keys`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct KeyListBody {
    /// Every key of the issuer, oldest first, revoked ones included.
    keys: Vec<KeyView>,
}

/// `POST /v1/admin/catalog/<issuers>/{id}/keys`.
pub(crate) async fn create<Entry: Issuer>(
    State(state): State<AppState>,
    _admin: Admin,
    ClientAddress(client): ClientAddress,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewKeyBody>,
) -> Result<(StatusCode, Json<CreatedKeyBody>), ApiError> {
    let issuer_id = entry_id::<Entry>(&id)?;
    let created = state
        .catalog
        .create_issuer_key(Entry::KIND, issuer_id, &body.label)
        .await?;
    let detail = format!("{} {issuer_id} key {}", Entry::WHAT, created.key.key_id);
    state
        .audit
        .record(client, AuditAction::IssuerKeyCreated, None, detail)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKeyBody {
            view: created.key.into(),
            key: created.secret,
        }),
    ))
}

/// `GET /v1/admin/catalog/<issuers>/{id}/keys`.
pub(crate) async fn list<Entry: Issuer>(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<KeyListBody>, ApiError> {
    let issuer_id = entry_id::<Entry>(&id)?;
    let keys = state.catalog.issuer_keys(Entry::KIND, issuer_id).await?;
    Ok(Json(KeyListBody {
        keys: keys.into_iter().map(KeyView::from).collect(),
    }))
}

/// `POST /v1/admin/catalog/<issuers>/{id}/keys/{key_id}/revoke`: the key
/// stops working at once; revoking again answers it as it is.
pub(crate) async fn revoke<Entry: Issuer>(
    State(state): State<AppState>,
    _admin: Admin,
    ClientAddress(client): ClientAddress,
    Path((id, key_id)): Path<(String, String)>,
) -> Result<Json<KeyView>, ApiError> {
    let issuer_id = entry_id::<Entry>(&id)?;
    let key_id = Uuid::parse_str(&key_id).map_err(|_| CatalogError::NotFound {
        code: "api_key_not_found",
        what: "API key of this issuer",
    })?;
    let revoked = state
        .catalog
        .revoke_issuer_key(Entry::KIND, issuer_id, key_id)
        .await?;
    let detail = format!("{} {issuer_id} key {key_id}", Entry::WHAT);
    state
        .audit
        .record(client, AuditAction::IssuerKeyRevoked, None, detail)
        .await?;
    Ok(Json(revoked.into()))
}
