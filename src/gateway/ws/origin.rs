//! The `Origin` check of `GET /v1/ws`. Browsers send `Origin` on every WebSocket
//! upgrade and let any page open one, so without a check another site's page
//! could open a socket from a visitor's browser. Native apps send no `Origin`
//! and pass; an upgrade with one passes only if `http.allowed_origins` lists it
//! exactly (default: none). Refusals are 403 `origin_not_allowed`, before any
//! token is read.

use axum::http::{HeaderMap, StatusCode, header};

use super::outcome::ConnectionOutcome;
use crate::gateway::error::ApiError;

/// Lets the upgrade go on, or refuses it with 403.
pub(crate) fn check_origin(
    headers: &HeaderMap,
    allowed_origins: &[String],
) -> Result<(), ApiError> {
    let mut origins = headers.get_all(header::ORIGIN).iter();
    let Some(origin) = origins.next() else {
        return Ok(());
    };
    let listed = origins.next().is_none()
        && origin
            .to_str()
            .is_ok_and(|origin| allowed_origins.iter().any(|allowed| allowed == origin));
    if listed {
        return Ok(());
    }
    crate::metrics::ws_connection(ConnectionOutcome::OriginNotAllowed);
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "origin_not_allowed",
        "this web origin may not open a WebSocket (http.allowed_origins)",
    ))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(origins: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for origin in origins {
            headers.append(header::ORIGIN, HeaderValue::from_static(origin));
        }
        headers
    }

    #[test]
    fn no_origin_passes_and_only_listed_origins_do() {
        let allowed = vec!["https://app.example.org".to_owned()];
        assert!(check_origin(&headers(&[]), &[]).is_ok());
        assert!(check_origin(&headers(&["https://app.example.org"]), &allowed).is_ok());
        let unlisted = check_origin(&headers(&["https://app.example.org"]), &[]).unwrap_err();
        assert_eq!(unlisted.code(), "origin_not_allowed");
        for refused in [
            &["https://evil.example"][..],
            &["null"],
            &["https://app.example.org", "https://evil.example"],
        ] {
            let error = check_origin(&headers(refused), &allowed).unwrap_err();
            assert_eq!(error.code(), "origin_not_allowed", "{refused:?}");
        }
    }
}
