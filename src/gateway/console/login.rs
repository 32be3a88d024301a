//! The console's login and logout: `GET /admin/login` shows the form (its
//! token paired with the browser by a short-lived cookie, so another site
//! cannot post it), `POST /admin/login` checks the key (admin token or
//! analyst key, attempts limited per client address) and starts a session,
//! `POST /admin/logout` ends it.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::page::{ConsoleError, Section, frame, respond, with_headers};
use super::session::{ConsoleRole, ConsoleUser};
use crate::audit::AuditAction;
use crate::gateway::AppState;
use crate::gateway::client_address::ClientAddress;

/// The longest key the form takes.
const MAX_KEY_BYTES: usize = 512;

/// The login form as posted.
#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    /// The form's token (paired with the login cookie).
    #[serde(default)]
    login_token: String,
    /// The admin token or the analyst key.
    #[serde(default)]
    key: String,
}

/// A form that only carries its CSRF token.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenForm {
    /// The session's CSRF token.
    #[serde(default)]
    csrf: String,
}

/// The login page, with `problem` shown above the form.
fn login_page(state: &AppState, status: StatusCode, problem: Option<&str>) -> Response {
    let (token, set_cookie) = state.console.login_form();
    let page = frame(
        "Sign in",
        Section::None,
        None,
        html! {
            @if let Some(problem) = problem {
                p.error #login-problem role="alert" { (problem) }
            }
            form.stack method="post" action="/admin/login" {
                input type="hidden" name="login_token" value=(token);
                div {
                    label for="key" { "Admin token or analyst key" }
                    input #key type="password" name="key" required autocomplete="off"
                        maxlength=(MAX_KEY_BYTES) size="40";
                }
                button type="submit" { "Sign in" }
            }
            p.note {
                "The admin token opens every page; the analyst key opens the dashboard and the reports. "
                "A sign-in lasts eight hours on this node."
            }
        },
    );
    let mut response = respond(status, page);
    if let Ok(value) = HeaderValue::from_str(&set_cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `GET /admin/login`.
pub(crate) async fn show(State(state): State<AppState>) -> Response {
    login_page(&state, StatusCode::OK, None)
}

/// `POST /admin/login`.
pub(crate) async fn sign_in(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, ConsoleError> {
    let now_ms = state.clock.now_ms();
    if let Err(retry_after_seconds) = state.console.count_login(client, now_ms) {
        tracing::warn!(%client, "console login attempts over the limit");
        crate::metrics::console_sign_in("limited");
        return Err(ConsoleError::Page {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: "Too many sign-in attempts from this address. Try again later.".to_owned(),
            retry_after_seconds: Some(retry_after_seconds),
        });
    }
    if !state
        .console
        .login_form_matches(&headers, &form.login_token)
    {
        crate::metrics::console_sign_in("expired_form");
        return Ok(login_page(
            &state,
            StatusCode::FORBIDDEN,
            Some("The sign-in form expired. Enter the key again."),
        ));
    }
    let key = form.key.trim();
    let role = if key.len() > MAX_KEY_BYTES || key.is_empty() {
        None
    } else if state.admin_token.matches(key) {
        Some(ConsoleRole::Admin)
    } else if state
        .analyst_token
        .as_ref()
        .is_some_and(|analyst| analyst.matches(key))
    {
        Some(ConsoleRole::Analyst)
    } else {
        None
    };
    let Some(role) = role else {
        tracing::info!(%client, "console sign-in refused");
        crate::metrics::console_sign_in("refused");
        return Ok(login_page(
            &state,
            StatusCode::UNAUTHORIZED,
            Some("That key is not the admin token or the analyst key."),
        ));
    };
    let Some(cookies) = state.console.start(role, now_ms) else {
        return Err(ConsoleError::Page {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "Too many console sessions are open on this node. Try again later.".to_owned(),
            retry_after_seconds: Some(60),
        });
    };
    tracing::info!(%client, role = role.as_str(), "console sign-in");
    crate::metrics::console_sign_in(role.as_str());
    state
        .audit
        .record(
            client,
            AuditAction::ConsoleSignedIn,
            None,
            format!("role {}", role.as_str()),
        )
        .await?;
    let mut response = with_headers(Redirect::to("/admin").into_response());
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    Ok(response)
}

/// `POST /admin/logout`.
pub(crate) async fn sign_out(
    State(state): State<AppState>,
    user: ConsoleUser,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Result<Response, ConsoleError> {
    user.check_csrf(&form.csrf)?;
    let cleared = state.console.end(&headers);
    state
        .audit
        .record(
            client,
            AuditAction::ConsoleSignedOut,
            None,
            format!("role {}", user.role.as_str()),
        )
        .await?;
    let mut response = with_headers(Redirect::to("/admin/login").into_response());
    if let Ok(value) = HeaderValue::from_str(&cleared) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}
