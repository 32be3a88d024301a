//! Console sessions: a signed-in browser holds a random session id in an
//! HttpOnly, SameSite=Strict cookie (Secure when the node serves TLS); the
//! node keeps, per id hash, the role (admin or analyst), the CSRF token every
//! form must echo and the expiry. The key itself is never in a cookie. Sessions
//! live in this node's memory: a restart signs everyone out.

use std::net::IpAddr;
use std::sync::Mutex;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use base64::Engine;
use sha2::{Digest, Sha256};

use super::super::AppState;
use super::page::ConsoleError;
use crate::identity::window_limiter::WindowLimiter;

/// How long a sign-in lasts, whatever is done with it.
pub(crate) const SESSION_TTL_MS: i64 = 8 * 3_600_000;
/// How long the login form's token is good for.
pub(crate) const LOGIN_FORM_TTL_SECONDS: u64 = 600;
/// Sessions held at most; a sign-in past it first drops expired ones, then is
/// refused.
const MAX_SESSIONS: usize = 1_024;
/// Login attempts per client address per hour.
pub(crate) const LOGIN_ATTEMPTS_PER_HOUR: u32 = 20;
/// Client addresses the login limiter tracks at most.
const LOGIN_LIMITER_KEYS: usize = 10_000;
/// Cookie of a session over plain HTTP.
const SESSION_COOKIE: &str = "heyblue_console";
/// Cookie of a session over TLS (`__Host-`: Secure, host-only, path `/`).
const SECURE_SESSION_COOKIE: &str = "__Host-heyblue_console";
/// Cookie pairing the login form with the browser that loaded it.
const LOGIN_COOKIE: &str = "heyblue_console_login";
/// Cookie pairing the login form over TLS.
const SECURE_LOGIN_COOKIE: &str = "__Host-heyblue_console_login";

/// What a console user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConsoleRole {
    /// Everything the console offers (the admin token).
    Admin,
    /// Read-only pages: the dashboard and the reports (the analyst key).
    Analyst,
}

impl ConsoleRole {
    /// Its name as shown.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ConsoleRole::Admin => "admin",
            ConsoleRole::Analyst => "analyst",
        }
    }
}

/// One signed-in browser.
#[derive(Debug, Clone)]
struct Session {
    /// What it may do.
    role: ConsoleRole,
    /// The token its forms carry.
    csrf: String,
    /// When it ends (Unix ms).
    expires_at_ms: i64,
}

/// The console's sessions and its login limiter.
#[derive(Debug)]
pub(crate) struct ConsoleSessions {
    /// SHA-256 of the session id → session.
    sessions: Mutex<std::collections::HashMap<[u8; 32], Session>>,
    /// Login attempts per client address.
    login_attempts: WindowLimiter<IpAddr>,
    /// Whether cookies carry `Secure` (the node serves TLS).
    secure: bool,
}

/// A fresh random token, URL-safe.
fn random_token() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// Constant-time equality of two strings.
pub(crate) fn same_secret(left: &str, right: &str) -> bool {
    let left: [u8; 32] = Sha256::digest(left.as_bytes()).into();
    let right: [u8; 32] = Sha256::digest(right.as_bytes()).into();
    left.iter()
        .zip(right.iter())
        .fold(0u8, |difference, (a, b)| difference | (a ^ b))
        == 0
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

impl ConsoleSessions {
    /// No sessions yet; cookies marked `Secure` when `secure`.
    pub(crate) fn new(secure: bool) -> Self {
        Self {
            sessions: Mutex::default(),
            login_attempts: WindowLimiter::new(LOGIN_ATTEMPTS_PER_HOUR, LOGIN_LIMITER_KEYS),
            secure,
        }
    }

    /// Counts a login attempt from `client`; `Err(retry_after_seconds)` past
    /// the budget.
    pub(crate) fn count_login(&self, client: IpAddr, now_ms: i64) -> Result<(), u64> {
        self.login_attempts.try_count(client, now_ms)
    }

    fn session_cookie_name(&self) -> &'static str {
        if self.secure {
            SECURE_SESSION_COOKIE
        } else {
            SESSION_COOKIE
        }
    }

    fn login_cookie_name(&self) -> &'static str {
        if self.secure {
            SECURE_LOGIN_COOKIE
        } else {
            LOGIN_COOKIE
        }
    }

    /// The attributes every console cookie carries.
    fn attributes(&self) -> &'static str {
        if self.secure {
            "Path=/; HttpOnly; SameSite=Strict; Secure"
        } else {
            "Path=/; HttpOnly; SameSite=Strict"
        }
    }

    /// A new login form token and the `Set-Cookie` value pairing it with
    /// this browser.
    pub(crate) fn login_form(&self) -> (String, String) {
        let token = random_token();
        let set_cookie = format!(
            "{}={token}; Max-Age={LOGIN_FORM_TTL_SECONDS}; {}",
            self.login_cookie_name(),
            self.attributes()
        );
        (token, set_cookie)
    }

    /// Whether the login form's token matches the browser's cookie.
    pub(crate) fn login_form_matches(&self, headers: &HeaderMap, token: &str) -> bool {
        cookie(headers, self.login_cookie_name())
            .is_some_and(|expected| !token.is_empty() && same_secret(expected, token))
    }

    /// Starts a session; the `Set-Cookie` values (session, and the login
    /// form's cookie cleared), or `None` when the table is full.
    pub(crate) fn start(&self, role: ConsoleRole, now_ms: i64) -> Option<[String; 2]> {
        let id = random_token();
        let mut sessions = self.sessions.lock().ok()?;
        if sessions.len() >= MAX_SESSIONS {
            sessions.retain(|_, session| session.expires_at_ms > now_ms);
            if sessions.len() >= MAX_SESSIONS {
                return None;
            }
        }
        sessions.insert(
            Sha256::digest(id.as_bytes()).into(),
            Session {
                role,
                csrf: random_token(),
                expires_at_ms: now_ms + SESSION_TTL_MS,
            },
        );
        Some([
            format!(
                "{}={id}; Max-Age={}; {}",
                self.session_cookie_name(),
                SESSION_TTL_MS / 1_000,
                self.attributes()
            ),
            self.cleared(self.login_cookie_name()),
        ])
    }

    fn cleared(&self, name: &str) -> String {
        format!("{name}=; Max-Age=0; {}", self.attributes())
    }

    /// Ends the request's session; the `Set-Cookie` value that clears it.
    pub(crate) fn end(&self, headers: &HeaderMap) -> String {
        if let Some(id) = cookie(headers, self.session_cookie_name()) {
            let key: [u8; 32] = Sha256::digest(id.as_bytes()).into();
            if let Ok(mut sessions) = self.sessions.lock() {
                sessions.remove(&key);
            }
        }
        self.cleared(self.session_cookie_name())
    }

    /// The live session of the request.
    fn find(&self, headers: &HeaderMap, now_ms: i64) -> Option<Session> {
        let id = cookie(headers, self.session_cookie_name())?;
        let key: [u8; 32] = Sha256::digest(id.as_bytes()).into();
        let mut sessions = self.sessions.lock().ok()?;
        let session = sessions.get(&key)?.clone();
        if session.expires_at_ms <= now_ms {
            sessions.remove(&key);
            return None;
        }
        Some(session)
    }

    /// Sessions held now (live or not yet swept).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.sessions
            .lock()
            .map(|sessions| sessions.len())
            .unwrap_or(0)
    }
}

/// A request from a signed-in console browser (admin or analyst); others are
/// sent to the login page.
#[derive(Debug, Clone)]
pub(crate) struct ConsoleUser {
    /// What it may do.
    pub(crate) role: ConsoleRole,
    /// The token its forms must carry.
    pub(crate) csrf: String,
}

impl ConsoleUser {
    /// Refuses a form whose token is not this session's.
    pub(crate) fn check_csrf(&self, offered: &str) -> Result<(), ConsoleError> {
        if !offered.is_empty() && same_secret(&self.csrf, offered) {
            Ok(())
        } else {
            Err(ConsoleError::forbidden(
                "This form has expired or did not come from the console. Reload the page and try again.",
            ))
        }
    }
}

impl FromRequestParts<AppState> for ConsoleUser {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ConsoleError> {
        let session = state
            .console
            .find(&parts.headers, state.clock.now_ms())
            .ok_or(ConsoleError::SignIn)?;
        Ok(ConsoleUser {
            role: session.role,
            csrf: session.csrf,
        })
    }
}

/// A console request signed in with the admin token.
#[derive(Debug, Clone)]
pub(crate) struct ConsoleAdmin(pub(crate) ConsoleUser);

impl FromRequestParts<AppState> for ConsoleAdmin {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ConsoleError> {
        let user = ConsoleUser::from_request_parts(parts, state).await?;
        if user.role == ConsoleRole::Admin {
            Ok(ConsoleAdmin(user))
        } else {
            Err(ConsoleError::forbidden(
                "This page needs the admin token; the analyst key reads the dashboard and the reports.",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_cookie(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, value.parse().unwrap());
        headers
    }

    #[test]
    fn a_session_is_found_by_its_cookie_until_it_expires_or_ends() {
        let sessions = ConsoleSessions::new(false);
        let [set_cookie, _cleared] = sessions.start(ConsoleRole::Analyst, 1_000).unwrap();
        assert!(set_cookie.contains("HttpOnly; SameSite=Strict"));
        assert!(!set_cookie.contains("Secure"));
        let pair = set_cookie.split(';').next().unwrap();
        let headers = with_cookie(&format!("other=1; {pair}"));
        let found = sessions.find(&headers, 2_000).unwrap();
        assert_eq!(found.role, ConsoleRole::Analyst);
        assert!(
            sessions
                .find(&with_cookie("heyblue_console=forged"), 2_000)
                .is_none()
        );
        assert!(sessions.find(&headers, 1_000 + SESSION_TTL_MS).is_none());
        assert_eq!(sessions.len(), 0, "an expired session is dropped");
        let [again, _] = sessions.start(ConsoleRole::Admin, 5_000).unwrap();
        let headers = with_cookie(again.split(';').next().unwrap());
        assert!(sessions.end(&headers).contains("Max-Age=0"));
        assert!(sessions.find(&headers, 5_001).is_none());
    }

    #[test]
    fn over_tls_the_cookies_are_secure_and_host_only() {
        let sessions = ConsoleSessions::new(true);
        let [set_cookie, _] = sessions.start(ConsoleRole::Admin, 0).unwrap();
        assert!(set_cookie.starts_with("__Host-heyblue_console="));
        assert!(set_cookie.ends_with("Secure"));
        let (token, login_cookie) = sessions.login_form();
        assert!(login_cookie.starts_with("__Host-heyblue_console_login="));
        let pair = login_cookie.split(';').next().unwrap();
        assert!(sessions.login_form_matches(&with_cookie(pair), &token));
        assert!(!sessions.login_form_matches(&with_cookie(pair), "other"));
        assert!(!sessions.login_form_matches(&HeaderMap::new(), &token));
    }

    #[test]
    fn the_session_table_is_bounded() {
        let sessions = ConsoleSessions::new(false);
        for _ in 0..MAX_SESSIONS {
            assert!(sessions.start(ConsoleRole::Admin, 0).is_some());
        }
        assert!(sessions.start(ConsoleRole::Admin, 1).is_none());
        assert!(
            sessions.start(ConsoleRole::Admin, SESSION_TTL_MS).is_some(),
            "expired sessions make room"
        );
    }
}
