//! `ApiJson<T>`: the JSON body extractor of every endpoint. Malformed JSON and
//! wrong types are 400, unknown or missing fields 422 naming the field, bodies over
//! the limit 413, a body not sent as `application/json` (another type, or none)
//! 415 — all in the API's error format. Requiring the type keeps a cross-site form
//! (which can only send `text/plain`, form types) from reaching a JSON endpoint.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A JSON request body, decoded strictly.
#[derive(Debug)]
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers().get(header::CONTENT_TYPE)) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| body_rejection(rejection.status()))?;
        decode(&bytes).map(ApiJson)
    }
}

/// Whether a `Content-Type` says `application/json` (parameters such as
/// `charset` allowed).
fn is_json(content_type: Option<&HeaderValue>) -> bool {
    let Some(content_type) = content_type.and_then(|value| value.to_str().ok()) else {
        return false;
    };
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// Maps a failure to read the body.
pub(crate) fn body_rejection(status: StatusCode) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "request body is too large",
        )
    } else {
        ApiError::bad_request("invalid_body", "request body could not be read")
    }
}

/// Decodes `bytes` as `T`, classifying failures for the client.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        classify(error.inner(), &path)
    })?;
    deserializer.end().map_err(|error| classify(&error, "."))?;
    Ok(value)
}

fn classify(error: &serde_json::Error, path: &str) -> ApiError {
    use serde_json::error::Category;
    let message = error.to_string();
    let detail = message.split(" at line ").next().unwrap_or(&message);
    match error.classify() {
        Category::Io | Category::Syntax | Category::Eof => ApiError::bad_request(
            "malformed_json",
            format!("body is not valid JSON: {detail}"),
        ),
        Category::Data if detail.starts_with("unknown field") => {
            ApiError::unprocessable("unknown_field", at_path(path, detail))
        }
        Category::Data if detail.starts_with("missing field") => {
            ApiError::unprocessable("missing_field", at_path(path, detail))
        }
        Category::Data => ApiError::bad_request("invalid_type", at_path(path, detail)),
    }
}

fn at_path(path: &str, detail: &str) -> String {
    if path == "." || path.is_empty() {
        detail.to_owned()
    } else {
        format!("{path}: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_application_json_is_json() {
        let value = |text: &'static str| HeaderValue::from_static(text);
        assert!(is_json(Some(&value("application/json"))));
        assert!(is_json(Some(&value("Application/JSON; charset=utf-8"))));
        assert!(!is_json(None));
        assert!(!is_json(Some(&value("text/plain"))));
        assert!(!is_json(Some(&value("application/x-www-form-urlencoded"))));
        assert!(!is_json(Some(&value("application/jsonp"))));
    }

    #[test]
    fn a_body_nested_as_deep_as_the_body_limit_allows_is_refused_without_recursing() {
        #[derive(Debug, serde::Deserialize)]
        struct Lenient {
            #[allow(dead_code)]
            name: Option<String>,
        }
        let depth = 64 * 1024 - 16;
        let mut under_a_skipped_field = b"{\"skipped\":".to_vec();
        under_a_skipped_field.extend(std::iter::repeat_n(b'[', depth));
        let error = decode::<Lenient>(&under_a_skipped_field).unwrap_err();
        assert_eq!(error.code(), "malformed_json");
        let bare: Vec<u8> = std::iter::repeat_n(b'[', depth).collect();
        let error = decode::<serde_json::Value>(&bare).unwrap_err();
        assert_eq!(error.code(), "malformed_json");
    }
}
