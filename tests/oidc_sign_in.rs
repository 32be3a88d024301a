//! Sign-in with OpenID Connect against a real OpenID Provider: panva's
//! `oidc-provider`, run by `scripts/oidc-provider/provider.mjs` on 127.0.0.1.
//! A cookie-keeping HTTP client walks authorize → login form → consent →
//! code like a browser would, and the app's part (start, callback, the
//! phone's code) goes through the server's API. Tokens the real provider
//! cannot be made to issue (expired, signed by an unpublished key, for
//! another audience, after a key rotation) come from a tiny issuer in this
//! test that signs its own.
//!
//! Needs `node` and the provider's packages (`npm ci` in
//! `scripts/oidc-provider`, which `scripts/test` runs and this test tries
//! once itself); without them the test fails, unless `HEYBLUE_SKIP_OIDC=1`:
//! then it says SKIPPED.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::process::ServerProcess;
use common::{TestServer, error_code, report_skip};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Url;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const REDIRECT_URI: &str = "org.heyblue.app:/oauth/callback";
const REAL_CLIENT_ID: &str = "heyblue-test";
const REAL_SECRET: &str = "heyblue-test-secret";
const TINY_CLIENT_ID: &str = "heyblue-app";
const ALICE_PHONE: &str = "+12125550401";
const BOB_PHONE: &str = "+12125550402";
const CAROL_PHONE: &str = "+12125550403";
const DAVE_PHONE: &str = "+12125550404";

fn provider_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/oidc-provider")
}

fn node_available() -> bool {
    std::process::Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Whether node and the provider's packages are there, installing the
/// packages from the lockfile once when only they are missing.
fn provider_installed() -> bool {
    if !node_available() {
        return false;
    }
    let package = provider_dir().join("node_modules/oidc-provider/package.json");
    if !package.exists() {
        let _outcome_checked_below = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(provider_dir())
            .status();
    }
    package.exists()
}

/// The real provider, stopped when dropped (and by itself when this
/// process ends, as its standard input closes).
struct RealProvider {
    issuer: String,
    child: Child,
}

impl RealProvider {
    async fn start() -> Self {
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .arg("0")
            .current_dir(provider_dir())
            .env("OIDC_CLIENT_ID", REAL_CLIENT_ID)
            .env("OIDC_CLIENT_SECRET", REAL_SECRET)
            .env("OIDC_REDIRECT_URI", REDIRECT_URI)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the provider starts within 30 s")
            .expect("readable stdout")
            .expect("the provider prints its address");
        let issuer = line
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .to_owned();
        // Later lines are not read; the pipe is kept so the provider never
        // blocks writing to it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { issuer, child }
    }

    async fn stop(mut self) {
        self.child.kill().await.expect("provider stops");
    }
}

/// A browser's part: a client with its own cookie jar that does not follow
/// redirects (the last one goes to the app's URI, not over HTTP).
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Follows the provider from the authorization URL through its login and
/// consent pages, signing in as `login`; returns the code and state the
/// redirect to the app carries.
async fn walk(browser: &reqwest::Client, authorization_url: &str, login: &str) -> (String, String) {
    let mut response = browser.get(authorization_url).send().await.unwrap();
    for _ in 0..20 {
        if response.status().is_redirection() {
            let location = response.headers()["location"].to_str().unwrap().to_owned();
            if location.starts_with(REDIRECT_URI) {
                let redirect = Url::parse(&location).unwrap();
                let query: HashMap<String, String> = redirect.query_pairs().into_owned().collect();
                let code = query
                    .get("code")
                    .unwrap_or_else(|| panic!("no code in {location}"));
                return (code.clone(), query["state"].clone());
            }
            let next = response.url().join(&location).unwrap();
            response = browser.get(next).send().await.unwrap();
            continue;
        }
        let page = response.url().clone();
        let status = response.status();
        let html = response.text().await.unwrap();
        assert_eq!(status, 200, "{html}");
        let action = form_action(&html);
        let fields: Vec<(&str, &str)> = if html.contains("name=\"login\"") {
            vec![("prompt", "login"), ("login", login), ("password", "pw")]
        } else {
            assert!(html.contains("value=\"consent\""), "{html}");
            vec![("prompt", "consent")]
        };
        response = browser
            .post(page.join(&action).unwrap())
            .form(&fields)
            .send()
            .await
            .unwrap();
    }
    panic!("the provider did not redirect to the app within 20 steps");
}

fn form_action(html: &str) -> String {
    let start = html.find("action=\"").expect("a form") + "action=\"".len();
    let end = html[start..].find('"').expect("closed attribute") + start;
    html[start..end].replace("&amp;", "&")
}

/// The authorization URL with its nonce replaced.
fn with_nonce(authorization_url: &str, nonce: &str) -> String {
    let mut url = Url::parse(authorization_url).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .map(|(key, value)| {
            if key == "nonce" {
                (key, nonce.to_owned())
            } else {
                (key, value)
            }
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.into()
}

fn query_value(url: &str, name: &str) -> String {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

/// `GET /v1/auth/oidc/{provider}/start`: the authorization URL and state.
async fn start(server: &TestServer, provider: &str) -> (String, String) {
    let response = server
        .http
        .get(server.url(&format!("/v1/auth/oidc/{provider}/start")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expires_in"], 600);
    (
        body["authorization_url"].as_str().unwrap().to_owned(),
        body["state"].as_str().unwrap().to_owned(),
    )
}

async fn callback(
    server: &TestServer,
    provider: &str,
    state: &str,
    code: &str,
    bearer: Option<&str>,
) -> reqwest::Response {
    let mut request = server
        .http
        .post(server.url(&format!("/v1/auth/oidc/{provider}/callback")))
        .json(&json!({ "state": state, "code": code }));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// A full sign-in with the real provider as `login` in `browser`.
async fn sign_in_with_provider(
    server: &TestServer,
    browser: &reqwest::Client,
    login: &str,
    bearer: Option<&str>,
) -> reqwest::Response {
    let (authorization_url, state) = start(server, "real").await;
    let (code, returned_state) = walk(browser, &authorization_url, login).await;
    assert_eq!(returned_state, state);
    callback(server, "real", &state, &code, bearer).await
}

/// Verifies `phone` with a code, carrying a link token when given.
async fn verify_phone(server: &TestServer, phone: &str, link_token: Option<&str>) -> Value {
    let response = server
        .post_json("/v1/auth/otp/request", json!({ "phone": phone }))
        .await;
    assert_eq!(response.status(), 202);
    let mut body = json!({ "phone": phone, "code": server.last_code_for(phone) });
    if let Some(token) = link_token {
        body["oidc_link_token"] = json!(token);
    }
    let response = server.post_json("/v1/auth/otp/verify", body).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

/// A signing key of the tiny issuer.
struct TestKey {
    kid: String,
    der: Vec<u8>,
    jwk: Value,
}

fn test_key(kid: &str) -> TestKey {
    let pair = rcgen::KeyPair::generate().unwrap();
    let point = pair.public_key_raw();
    assert_eq!(point.len(), 65, "an uncompressed P-256 point");
    TestKey {
        kid: kid.to_owned(),
        der: pair.serialize_der(),
        jwk: json!({
            "kty": "EC",
            "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
            "kid": kid,
            "use": "sig",
            "alg": "ES256",
        }),
    }
}

/// A tiny OpenID Provider: a discovery document, a key set the test
/// changes, and a token endpoint answering each code with the ID token the
/// test prepared for it (unknown codes are `invalid_grant`).
#[derive(Clone, Default)]
struct TinyIssuer {
    issuer: Arc<Mutex<String>>,
    published: Arc<Mutex<Vec<Value>>>,
    tokens: Arc<Mutex<HashMap<String, String>>>,
}

impl TinyIssuer {
    async fn start() -> Self {
        let tiny = Self::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        *tiny.issuer.lock().unwrap() = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(|State(tiny): State<TinyIssuer>| async move {
                    let issuer = tiny.issuer();
                    axum::Json(json!({
                        "issuer": issuer,
                        "authorization_endpoint": format!("{issuer}/authorize"),
                        "token_endpoint": format!("{issuer}/token"),
                        "jwks_uri": format!("{issuer}/jwks"),
                    }))
                }),
            )
            .route(
                "/jwks",
                get(|State(tiny): State<TinyIssuer>| async move {
                    axum::Json(json!({ "keys": *tiny.published.lock().unwrap() }))
                }),
            )
            .route(
                "/token",
                post(
                    |State(tiny): State<TinyIssuer>,
                     axum::Form(form): axum::Form<HashMap<String, String>>| async move {
                        let token = tiny.tokens.lock().unwrap().remove(&form["code"]);
                        match token {
                            Some(id_token) => (
                                axum::http::StatusCode::OK,
                                axum::Json(json!({ "id_token": id_token, "token_type": "Bearer" })),
                            ),
                            None => (
                                axum::http::StatusCode::BAD_REQUEST,
                                axum::Json(json!({ "error": "invalid_grant" })),
                            ),
                        }
                    },
                ),
            )
            .with_state(tiny.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        tiny
    }

    fn issuer(&self) -> String {
        self.issuer.lock().unwrap().clone()
    }

    fn publish(&self, keys: &[&TestKey]) {
        *self.published.lock().unwrap() = keys.iter().map(|key| key.jwk.clone()).collect();
    }

    /// Starts a sign-in with the tiny issuer, prepares an ID token for its
    /// code signed by `key` with the claims `adjust` leaves, and posts the
    /// callback.
    async fn sign_in(
        &self,
        server: &TestServer,
        key: &TestKey,
        adjust: impl FnOnce(&mut Value),
    ) -> reqwest::Response {
        let (authorization_url, state) = start(server, "tiny").await;
        assert_eq!(
            query_value(&authorization_url, "code_challenge_method"),
            "S256"
        );
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut claims = json!({
            "iss": self.issuer(),
            "aud": TINY_CLIENT_ID,
            "sub": "tiny-person",
            "iat": now,
            "exp": now + 300,
            "nonce": query_value(&authorization_url, "nonce"),
            "email": "tiny@example.test",
            "name": "Tiny Person",
        });
        adjust(&mut claims);
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(key.kid.clone());
        let id_token =
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_der(&key.der)).unwrap();
        let code = uuid::Uuid::new_v4().to_string();
        self.tokens.lock().unwrap().insert(code.clone(), id_token);
        callback(server, "tiny", &state, &code, None).await
    }
}

fn provider_toml(id: &str, issuer: &str, client_id: &str, secret_env: &str) -> String {
    format!(
        "[[identity.oidc]]\nid = \"{id}\"\nissuer = \"{issuer}\"\nclient_id = \"{client_id}\"\n\
         client_secret_env = \"{secret_env}\"\nredirect_uri = \"{REDIRECT_URI}\"\n\
         label = \"Sign in with {id}\"\n"
    )
}

/// A loopback address nothing listens on.
fn closed_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}

async fn expect_error(response: reqwest::Response, status: u16, code: &str) {
    assert_eq!(error_code(response).await, (status, code.to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_sign_in_against_a_real_provider() {
    if !provider_installed() {
        if std::env::var("HEYBLUE_SKIP_OIDC").as_deref() == Ok("1") {
            report_skip(
                "oidc test: node or the provider's packages are missing and HEYBLUE_SKIP_OIDC=1",
            );
            return;
        }
        panic!(
            "node and scripts/oidc-provider's packages are needed: install node and run \
             `npm ci` in scripts/oidc-provider (scripts/test does), or set HEYBLUE_SKIP_OIDC=1 \
             to skip this test"
        );
    }
    let provider = RealProvider::start().await;
    let tiny = TinyIssuer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "[identity]\noidc_max_per_ip_per_hour = 1000\notp_min_interval_seconds = 0\n{}{}{}",
        provider_toml("real", &provider.issuer, REAL_CLIENT_ID, "OIDC_REAL_SECRET"),
        provider_toml("tiny", &tiny.issuer(), TINY_CLIENT_ID, "OIDC_TINY_SECRET"),
        provider_toml("down", &closed_address(), "app", "OIDC_TINY_SECRET"),
    );
    let server = TestServer::start_with_environment(
        dir.path(),
        &extra,
        &[
            ("OIDC_REAL_SECRET", REAL_SECRET),
            ("OIDC_TINY_SECRET", "tiny-secret"),
        ],
    )
    .await;

    let listed: Value = server
        .http
        .get(server.url("/v1/auth/oidc/providers"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = listed["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|provider| provider["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["real", "tiny", "down"]);
    let unknown = server
        .http
        .get(server.url("/v1/auth/oidc/nobody/start"))
        .send()
        .await
        .unwrap();
    expect_error(unknown, 404, "oidc_provider_unknown").await;

    // First sign-in: the identity waits for a phone, whose code links it to
    // a new account named and emailed as the provider says.
    let alice_browser = browser();
    let (authorization_url, state) = start(&server, "real").await;
    assert!(authorization_url.starts_with(&format!("{}/auth?", provider.issuer)));
    assert_eq!(
        query_value(&authorization_url, "code_challenge_method"),
        "S256"
    );
    assert_eq!(query_value(&authorization_url, "state"), state);
    let (first_code, returned_state) = walk(&alice_browser, &authorization_url, "alice").await;
    assert_eq!(returned_state, state);
    let pending = callback(&server, "real", &state, &first_code, None).await;
    assert_eq!(pending.status(), 202);
    let pending: Value = pending.json().await.unwrap();
    assert_eq!(pending["status"], "phone_verification_required");
    let link_token = pending["link_token"].as_str().unwrap();
    assert!(
        !link_token.contains("alice"),
        "the token does not show the email"
    );

    // The same state is spent, and the same code again is refused by the
    // provider even under a fresh state.
    let again = callback(&server, "real", &state, &first_code, None).await;
    expect_error(again, 400, "oidc_state_invalid").await;
    let (_, fresh_state) = start(&server, "real").await;
    let replayed = callback(&server, "real", &fresh_state, &first_code, None).await;
    expect_error(replayed, 400, "oidc_code_rejected").await;
    let forged = callback(&server, "real", "not-a-state-we-made", "code", None).await;
    expect_error(forged, 400, "oidc_state_invalid").await;
    // A state belongs to its provider.
    let (_, real_state) = start(&server, "real").await;
    let crossed = callback(&server, "tiny", &real_state, "code", None).await;
    expect_error(crossed, 400, "oidc_state_invalid").await;
    let bad_link = server
        .post_json(
            "/v1/auth/otp/verify",
            json!({ "phone": ALICE_PHONE, "code": "123456", "oidc_link_token": "garbage" }),
        )
        .await;
    expect_error(bad_link, 400, "oidc_link_invalid").await;

    let alice = verify_phone(&server, ALICE_PHONE, Some(link_token)).await;
    assert_eq!(alice["role"], "citizen");
    let alice_token = alice["access_token"].as_str().unwrap();
    let profile = server.get_json("/v1/me/profile", alice_token).await;
    assert_eq!(profile["display_name"], "alice Example");
    let export = server.get_json("/v1/me/export", alice_token).await;
    assert_eq!(
        export["sign_in_identities"],
        json!([{
            "provider": "real",
            "email": "alice@example.test",
            "linked_at_ms": export["sign_in_identities"][0]["linked_at_ms"],
        }])
    );

    // Later sign-ins with the same identity reach the same account.
    let later = sign_in_with_provider(&server, &alice_browser, "alice", None).await;
    assert_eq!(later.status(), 200);
    let later: Value = later.json().await.unwrap();
    assert_eq!(later["account_id"], alice["account_id"]);
    let me = server
        .get_json("/v1/me/profile", later["access_token"].as_str().unwrap())
        .await;
    assert_eq!(me["display_name"], "alice Example");

    // A token issued for another sign-in's nonce is refused.
    let (authorization_url, state) = start(&server, "real").await;
    let tampered = with_nonce(&authorization_url, "a-nonce-this-server-never-sent");
    let (code, _) = walk(&alice_browser, &tampered, "alice").await;
    let wrong_nonce = callback(&server, "real", &state, &code, None).await;
    expect_error(wrong_nonce, 401, "oidc_nonce_mismatch").await;

    // Linking needs a signed-in person: Bob signs in with his phone, then
    // links his provider identity; it then signs him in. Alice's identity
    // cannot be linked to him.
    let bob = server.sign_in(BOB_PHONE).await;
    let bob_token = bob["access_token"].as_str().unwrap();
    let bob_browser = browser();
    let linked = sign_in_with_provider(&server, &bob_browser, "bob", Some(bob_token)).await;
    assert_eq!(linked.status(), 200);
    let linked: Value = linked.json().await.unwrap();
    assert_eq!(linked["status"], "linked");
    let bob_again = sign_in_with_provider(&server, &bob_browser, "bob", None).await;
    assert_eq!(bob_again.status(), 200);
    let bob_again: Value = bob_again.json().await.unwrap();
    assert_eq!(bob_again["account_id"], bob["account_id"]);
    let stolen = sign_in_with_provider(&server, &alice_browser, "alice", Some(bob_token)).await;
    expect_error(stolen, 409, "oidc_identity_linked_elsewhere").await;
    let bad_bearer = sign_in_with_provider(&server, &bob_browser, "bob", Some("not-a-token")).await;
    expect_error(bad_bearer, 401, "invalid_token").await;

    // The roster still decides the role, by the verified phone.
    let roster = format!("phone,display_name,badge,department\n{CAROL_PHONE},Officer C,513,NYPD\n");
    assert_eq!(server.import_roster(&roster).await.status(), 200);
    let carol_browser = browser();
    let pending = sign_in_with_provider(&server, &carol_browser, "carol", None).await;
    assert_eq!(pending.status(), 202);
    let pending: Value = pending.json().await.unwrap();
    let carol = verify_phone(&server, CAROL_PHONE, pending["link_token"].as_str()).await;
    assert_eq!(carol["role"], "officer");
    let carol_again = sign_in_with_provider(&server, &carol_browser, "carol", None).await;
    let carol_again: Value = carol_again.json().await.unwrap();
    assert_eq!(carol_again["account_id"], carol["account_id"]);
    assert_eq!(carol_again["role"], "officer");

    // Tokens the real provider will not make, from the tiny issuer.
    let first = test_key("first");
    tiny.publish(&[&first]);
    let accepted = tiny.sign_in(&server, &first, |_| {}).await;
    assert_eq!(accepted.status(), 202, "{}", accepted.text().await.unwrap());
    let expired = tiny
        .sign_in(&server, &first, |claims| {
            let issued = claims["iat"].as_u64().unwrap();
            claims["exp"] = json!(issued - 3600);
        })
        .await;
    expect_error(expired, 401, "oidc_token_expired").await;
    // Within the clock-skew leeway an expiry just past still passes.
    let skewed = tiny
        .sign_in(&server, &first, |claims| {
            let issued = claims["iat"].as_u64().unwrap();
            claims["exp"] = json!(issued - 10);
        })
        .await;
    assert_eq!(skewed.status(), 202);
    let foreign_audience = tiny
        .sign_in(&server, &first, |claims| {
            claims["aud"] = json!("another-app")
        })
        .await;
    expect_error(foreign_audience, 401, "oidc_token_audience_invalid").await;
    let foreign_issuer = tiny
        .sign_in(&server, &first, |claims| {
            claims["iss"] = json!("https://elsewhere.example.org")
        })
        .await;
    expect_error(foreign_issuer, 401, "oidc_token_issuer_invalid").await;
    let wrong_nonce = tiny
        .sign_in(&server, &first, |claims| claims["nonce"] = json!("other"))
        .await;
    expect_error(wrong_nonce, 401, "oidc_nonce_mismatch").await;
    let unpublished = test_key("ghost");
    let unknown_key = tiny.sign_in(&server, &unpublished, |_| {}).await;
    expect_error(unknown_key, 401, "oidc_token_key_unknown").await;
    // A published kid whose signature another key made.
    let impostor = TestKey {
        kid: "first".to_owned(),
        ..test_key("impostor")
    };
    let forged_signature = tiny.sign_in(&server, &impostor, |_| {}).await;
    expect_error(forged_signature, 401, "oidc_token_signature_invalid").await;
    // The provider rotates its key: the server fetches the new set once it
    // sees the new kid, without a restart.
    let second = test_key("second");
    tiny.publish(&[&second]);
    let rotated = tiny.sign_in(&server, &second, |_| {}).await;
    assert_eq!(rotated.status(), 202, "{}", rotated.text().await.unwrap());
    // The tiny person verifies a phone and later signs in with the new key.
    let pending: Value = tiny
        .sign_in(&server, &second, |_| {})
        .await
        .json()
        .await
        .unwrap();
    let dave = verify_phone(&server, DAVE_PHONE, pending["link_token"].as_str()).await;
    let profile = server
        .get_json("/v1/me/profile", dave["access_token"].as_str().unwrap())
        .await;
    assert_eq!(profile["display_name"], "Tiny Person");
    let dave_again = tiny.sign_in(&server, &second, |_| {}).await;
    assert_eq!(dave_again.status(), 200);
    let dave_again: Value = dave_again.json().await.unwrap();
    assert_eq!(dave_again["account_id"], dave["account_id"]);

    // A deleted account takes its identities with it: the identity is new
    // again, and the person's export before showed the email it kept.
    let dave_token = dave["access_token"].as_str().unwrap();
    let export = server.get_json("/v1/me/export", dave_token).await;
    assert_eq!(
        export["sign_in_identities"][0]["email"],
        "tiny@example.test"
    );
    let response = server
        .post_json("/v1/auth/otp/request", json!({ "phone": DAVE_PHONE }))
        .await;
    assert_eq!(response.status(), 202);
    let deleted = server
        .http
        .delete(server.url("/v1/me"))
        .bearer_auth(dave_token)
        .json(&json!({ "code": server.last_code_for(DAVE_PHONE) }))
        .send()
        .await
        .unwrap();
    assert!(
        deleted.status().is_success(),
        "{}",
        deleted.text().await.unwrap()
    );
    let after_deletion = tiny.sign_in(&server, &second, |_| {}).await;
    assert_eq!(after_deletion.status(), 202);

    // A provider that cannot be reached: at the start, or (its documents
    // already fetched) when the code is exchanged.
    let down = server
        .http
        .get(server.url("/v1/auth/oidc/down/start"))
        .send()
        .await
        .unwrap();
    expect_error(down, 503, "oidc_provider_unavailable").await;
    let (_, state) = start(&server, "real").await;
    provider.stop().await;
    let gone = callback(&server, "real", &state, "any-code", None).await;
    expect_error(gone, 503, "oidc_provider_unavailable").await;

    let data_dir = server.data_dir.clone();
    server.stop().await;
    // Emails are kept sealed: no row of the embedded store holds one in the
    // clear (the CQL rows hold the same sealed record).
    if !common::test_store_is_scylla() {
        let scan = heyblue::scan_rows(&data_dir, &[b"alice@example.test", b"bob@example.test"])
            .expect("the store scans");
        assert!(scan.unknown_tables.is_empty(), "unscanned tables: {scan:?}");
        assert!(
            scan.tables_holding.is_empty(),
            "an email in the clear: {scan:?}"
        );
    }
}

/// Start and callback count together against the per-address limit, like
/// the phone-code steps; past it, 429 with `Retry-After`. (No node needed:
/// the tiny issuer is the provider.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_steps_are_limited_per_client_address() {
    let tiny = TinyIssuer::start().await;
    let key = test_key("only");
    tiny.publish(&[&key]);
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "[identity]\noidc_max_per_ip_per_hour = 3\n{}",
        provider_toml("tiny", &tiny.issuer(), TINY_CLIENT_ID, "OIDC_TINY_SECRET"),
    );
    let server = TestServer::start_with_environment(
        dir.path(),
        &extra,
        &[("OIDC_TINY_SECRET", "tiny-secret")],
    )
    .await;
    // A start and its callback: two steps.
    let accepted = tiny.sign_in(&server, &key, |_| {}).await;
    assert_eq!(accepted.status(), 202);
    let (_, state) = start(&server, "tiny").await;
    let refused = callback(&server, "tiny", &state, "any-code", None).await;
    let retry_after = refused
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok())
        .expect("a Retry-After in seconds");
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    expect_error(refused, 429, "rate_limited").await;
    let refused_start = server
        .http
        .get(server.url("/v1/auth/oidc/tiny/start"))
        .send()
        .await
        .unwrap();
    expect_error(refused_start, 429, "rate_limited").await;
    server.stop().await;
}

/// A person who signed in with the provider (their email and name from it)
/// and then deleted their account is named in no line of a server log kept
/// at debug level, from the first request to the deletion.
#[tokio::test]
async fn no_log_line_names_a_provider_signed_in_person_who_deleted_their_account() {
    if !provider_installed() {
        if std::env::var("HEYBLUE_SKIP_OIDC").as_deref() == Ok("1") {
            report_skip(
                "oidc log test: node or the provider's packages are missing and HEYBLUE_SKIP_OIDC=1",
            );
            return;
        }
        panic!("node and scripts/oidc-provider's packages are needed (scripts/test installs them)");
    }
    let provider = RealProvider::start().await;
    let root = tempfile::tempdir().unwrap();
    let extra = format!(
        "[identity]\notp_min_interval_seconds = 0\n{}",
        provider_toml("real", &provider.issuer, REAL_CLIENT_ID, "OIDC_REAL_SECRET"),
    );
    let mut process = ServerProcess::start_with_environment(
        root.path(),
        &extra,
        "debug",
        &[("OIDC_REAL_SECRET", REAL_SECRET)],
    )
    .await;
    let server = &process.api;
    let pending = sign_in_with_provider(server, &browser(), "erin", None).await;
    assert_eq!(pending.status(), 202);
    let pending: Value = pending.json().await.unwrap();
    let link_token = pending["link_token"].as_str().unwrap();
    let erin = verify_phone(server, DAVE_PHONE, Some(link_token)).await;
    let token = erin["access_token"].as_str().unwrap().to_owned();
    let export = server.get_json("/v1/me/export", &token).await;
    let email = export["sign_in_identities"][0]["email"]
        .as_str()
        .expect("the provider's email is kept")
        .to_owned();
    let name = server.get_json("/v1/me/profile", &token).await["display_name"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(name.contains("erin"), "{name}");
    let again = sign_in_with_provider(server, &browser(), "erin", None).await;
    assert_eq!(again.status(), 200, "a later sign-in reaches the account");

    let requested = server
        .post_json("/v1/auth/otp/request", json!({ "phone": DAVE_PHONE }))
        .await;
    assert_eq!(requested.status(), 202);
    let deleted = server
        .http
        .delete(server.url("/v1/me"))
        .bearer_auth(&token)
        .json(&json!({ "code": server.last_code_for(DAVE_PHONE) }))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    process.kill();
    provider.stop().await;

    let log = std::fs::read_to_string(root.path().join("server.log")).unwrap();
    assert!(
        log.lines().count() > 20,
        "the log was written at debug level"
    );
    for needle in [email.as_str(), name.as_str(), DAVE_PHONE, &DAVE_PHONE[2..]] {
        let naming: Vec<&str> = log.lines().filter(|line| line.contains(needle)).collect();
        assert!(
            naming.is_empty(),
            "log lines name the person ({needle}): {naming:?}"
        );
    }
}
