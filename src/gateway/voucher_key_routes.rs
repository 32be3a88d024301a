//! `GET /v1/rewards/keys`: the public keys that verify voucher tokens, for
//! retailers who check vouchers offline — like a JWKS, by `kid` (the PASERK
//! `k4.pid` in each token's footer). Public, no sign-in; caches may keep the
//! answer five minutes, well inside the time a rotated-out key keeps
//! verifying, while a new key is used the moment a node reloads the file.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use super::AppState;
use crate::rewards::signing::PublishedKey;

/// How long clients and caches may keep the answer.
const CACHE_CONTROL: &str = "public, max-age=300";

/// The answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct KeysBody {
    /// Every key that can still verify, oldest first.
    keys: Vec<KeyBody>,
}

/// One verifying key.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct KeyBody {
    /// PASERK `k4.pid` of the key: the `kid` of the token footer.
    kid: String,
    /// Always `Ed25519` (PASETO v4.public).
    alg: &'static str,
    /// The 32 raw public key bytes, base64url without padding.
    public_key: String,
    /// The same key as PASERK `k4.public.…`, for PASETO libraries.
    paserk: String,
    /// Generation time (Unix ms).
    created_at_ms: i64,
    /// Retirement time (Unix ms): it signs no more tokens after it, and
    /// verifies those it signed until they expire. `null` for the active key.
    retired_at_ms: Option<i64>,
}

/// The verifying keys.
#[utoipa::path(
    get,
    path = "/v1/rewards/keys",
    tag = "rewards",
    responses(
        (status = 200, description = "The public keys that verify voucher tokens (cacheable)", body = KeysBody)
    )
)]
pub(crate) async fn keys(State(state): State<AppState>) -> impl IntoResponse {
    let keys = state
        .voucher_signer
        .published(state.clock.now_ms())
        .into_iter()
        .map(KeyBody::from)
        .collect();
    (
        [(header::CACHE_CONTROL, CACHE_CONTROL)],
        Json(KeysBody { keys }),
    )
}

impl From<PublishedKey> for KeyBody {
    fn from(key: PublishedKey) -> Self {
        let public_key = URL_SAFE_NO_PAD.encode(key.public_key);
        Self {
            kid: key.kid,
            alg: "Ed25519",
            paserk: format!("k4.public.{public_key}"),
            public_key,
            created_at_ms: key.created_at_ms,
            retired_at_ms: key.retired_at_ms,
        }
    }
}
