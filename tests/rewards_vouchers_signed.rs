//! Signed vouchers over real HTTP, checked the way a retailer would check them:
//! offline, with the keys of `GET /v1/rewards/keys` and a PASETO v4.public
//! verifier written here from the specification (PAE and Ed25519 through
//! `ed25519-dalek`), not the server's own code. Then `heyblue keys rotate` on
//! the server's key file: the old token keeps verifying and new tokens carry
//! the new key id. And the QR images, for their holder only.

mod common;

use common::rewards::{admin_create, now_ms};
use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::points::earn_points;
use common::{TestServer, error_code};
use ed25519_dalek::{Signature, VerifyingKey};
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_heyblue");
const OFFICER_PHONE: &str = "+12125550202";
const CITIZEN_PHONE: &str = "+12125550302";
const DAY_MS: i64 = 86_400_000;
/// The PASETO header of v4 public tokens.
const HEADER: &str = "v4.public.";

// ---------------------------------------------------------------------------
// The independent verifier: what a retailer's till would run.
// ---------------------------------------------------------------------------

/// PASETO Pre-Authentication Encoding: the piece count, then each piece, each
/// preceded by its length as a little-endian 64-bit integer with the top bit
/// clear.
fn pae(pieces: &[&[u8]]) -> Vec<u8> {
    fn le64(value: usize) -> [u8; 8] {
        (u64::try_from(value).unwrap() & 0x7fff_ffff_ffff_ffff).to_le_bytes()
    }
    let mut encoded = le64(pieces.len()).to_vec();
    for piece in pieces {
        encoded.extend_from_slice(&le64(piece.len()));
        encoded.extend_from_slice(piece);
    }
    encoded
}

/// The published keys by `kid`.
async fn published_keys(server: &TestServer) -> HashMap<String, VerifyingKey> {
    let answer: Value = server
        .http
        .get(server.url("/v1/rewards/keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| {
            assert_eq!(key["alg"], "Ed25519");
            let raw = URL_SAFE_NO_PAD
                .decode(key["public_key"].as_str().unwrap())
                .unwrap();
            let raw: [u8; 32] = raw.try_into().expect("32 bytes");
            assert_eq!(
                key["paserk"].as_str().unwrap(),
                format!("k4.public.{}", URL_SAFE_NO_PAD.encode(raw))
            );
            (
                key["kid"].as_str().unwrap().to_owned(),
                VerifyingKey::from_bytes(&raw).unwrap(),
            )
        })
        .collect()
}

/// Verifies a v4.public token with `keys`: the payload claims and the key id
/// when the signature holds, else why not.
fn verify_offline(
    token: &str,
    keys: &HashMap<String, VerifyingKey>,
) -> Result<(Value, String), &'static str> {
    let rest = token.strip_prefix(HEADER).ok_or("not v4.public")?;
    let (body, footer) = rest.split_once('.').ok_or("no footer")?;
    let signed = URL_SAFE_NO_PAD.decode(body).map_err(|_| "bad base64")?;
    let footer = URL_SAFE_NO_PAD.decode(footer).map_err(|_| "bad base64")?;
    if signed.len() < 64 {
        return Err("too short");
    }
    let (message, signature) = signed.split_at(signed.len() - 64);
    let footer_json: Value = serde_json::from_slice(&footer).map_err(|_| "bad footer")?;
    let kid = footer_json["kid"].as_str().ok_or("no kid")?;
    let key = keys.get(kid).ok_or("unknown key")?;
    let signature = Signature::from_slice(signature).map_err(|_| "bad signature")?;
    key.verify_strict(
        &pae(&[HEADER.as_bytes(), message, &footer, b""]),
        &signature,
    )
    .map_err(|_| "bad signature")?;
    let claims: Value = serde_json::from_slice(message).map_err(|_| "bad payload")?;
    Ok((claims, kid.to_owned()))
}

/// A UUID as the token writes it: base64url of its 16 bytes.
fn compact(uuid_text: &str) -> String {
    URL_SAFE_NO_PAD.encode(uuid::Uuid::parse_str(uuid_text).unwrap().as_bytes())
}

// ---------------------------------------------------------------------------
// The scene: two people with points, a retailer and an offer.
// ---------------------------------------------------------------------------

struct Scene {
    server: TestServer,
    officer: String,
    citizen: String,
    retailer_id: String,
    offer_id: String,
    dir: tempfile::TempDir,
}

async fn scene() -> Scene {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(
        dir.path(),
        "[connections]\ncitizen_points_per_connection = 200\n\
         officer_points_per_connection = 200\n\
         [rewards]\nvoucher_keys_reload_seconds = 1\n",
    )
    .await;
    let roster =
        format!("phone,display_name,badge,department\n{OFFICER_PHONE},Officer B,442,NYPD\n");
    assert_eq!(server.import_roster(&roster).await.status(), 200);
    let officer = server.sign_in(OFFICER_PHONE).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let citizen = server.sign_in(CITIZEN_PHONE).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    earn_points(&server, &officer, &citizen).await;
    let retailer = admin_create(
        &server,
        "retailers",
        json!({ "name": "Corner Cafe", "address": "1 Main Street", "zip": "10001",
                "contact": "owner@example.com" }),
    )
    .await;
    let retailer_id = retailer["id"].as_str().unwrap().to_owned();
    let offer = admin_create(
        &server,
        "offers",
        json!({ "kind": "offer", "issuer_id": retailer_id, "title": "Free coffee",
                "description": "One small coffee.", "point_cost": 40, "area": ["100"],
                "valid_from_ms": now_ms() - DAY_MS, "valid_until_ms": now_ms() + 30 * DAY_MS,
                "voucher_lifetime_seconds": 86_400 }),
    )
    .await;
    Scene {
        server,
        officer,
        citizen,
        retailer_id,
        offer_id: offer["id"].as_str().unwrap().to_owned(),
        dir,
    }
}

impl Scene {
    /// Redeems the offer as the citizen; the issued voucher.
    async fn redeem(&self, key: &str) -> Value {
        let response = self
            .server
            .http
            .post(self.server.url("/v1/rewards/redemptions"))
            .bearer_auth(&self.citizen)
            .header("Idempotency-Key", key)
            .json(&json!({ "offer_id": self.offer_id, "zip": "10001" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }

    /// The citizen's voucher `id` as `GET /v1/me/vouchers/{id}` shows it.
    async fn voucher(&self, id: &str) -> Value {
        self.server
            .get_json(&format!("/v1/me/vouchers/{id}"), &self.citizen)
            .await
    }

    /// Runs `heyblue keys rotate` on the server's data directory; its output.
    async fn rotate_keys(&self) -> String {
        let output = tokio::process::Command::new(BINARY)
            .args(["keys", "rotate"])
            .env("HEYBLUE_DATA_DIR", self.dir.path().join("data"))
            .env("RUST_LOG", "warn")
            .output()
            .await
            .unwrap();
        let printed = String::from_utf8(output.stdout).unwrap();
        assert!(
            output.status.success(),
            "{printed}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        printed
    }
}

/// Fetches the published keys until `kid` is among them (the server checks
/// its key file every second).
async fn keys_once_published(server: &TestServer, kid: &str) -> HashMap<String, VerifyingKey> {
    for _ in 0..100 {
        let keys = published_keys(server).await;
        if keys.contains_key(kid) {
            return keys;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("key {kid} was not published within 10 s");
}

#[tokio::test]
async fn a_voucher_token_verifies_offline_before_and_after_a_key_rotation() {
    let scene = scene().await;
    let issued = scene.redeem("first").await;
    let voucher_id = issued["voucher_id"].as_str().unwrap().to_owned();
    let token = issued["token"]
        .as_str()
        .expect("an issued voucher has a token");
    eprintln!("voucher token: {} characters", token.len());
    assert!(token.len() <= 362, "fits QR version 14 at level M");
    let listed = scene
        .server
        .get_json("/v1/me/vouchers", &scene.citizen)
        .await;
    assert_eq!(
        listed["vouchers"][0]["token"], token,
        "the same token on read"
    );
    assert_eq!(scene.voucher(&voucher_id).await["token"], token);

    let response = scene
        .server
        .http
        .get(scene.server.url("/v1/rewards/keys"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "no sign-in needed");
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=300",
        "cacheable a few minutes"
    );
    let keys = published_keys(&scene.server).await;
    assert_eq!(keys.len(), 1);

    let (claims, first_kid) = verify_offline(token, &keys).expect("verifies offline");
    assert!(first_kid.starts_with("k4.pid."), "{first_kid}");
    assert_eq!(claims["v"], compact(&voucher_id));
    assert_eq!(claims["o"], compact(&scene.offer_id));
    assert_eq!(claims["i"], compact(&scene.retailer_id));
    assert_eq!(claims["k"], "o");
    let expires = chrono_free_seconds(claims["exp"].as_str().unwrap());
    assert_eq!(
        expires,
        issued["expires_at_ms"].as_i64().unwrap() / 1_000,
        "exp is the voucher's expiry in whole seconds"
    );
    let claim_names: Vec<&String> = claims.as_object().unwrap().keys().collect();
    assert_eq!(claim_names, ["exp", "i", "k", "o", "v"], "nothing personal");

    // Any altered byte of the signed payload breaks the signature.
    let (body, footer) = token[HEADER.len()..].split_once('.').unwrap();
    let mut signed = URL_SAFE_NO_PAD.decode(body).unwrap();
    let k_position = signed.windows(5).position(|w| w == b"\"k\":\"").unwrap() + 5;
    signed[k_position] = b's';
    let altered = format!("{HEADER}{}.{footer}", URL_SAFE_NO_PAD.encode(&signed));
    assert_eq!(verify_offline(&altered, &keys), Err("bad signature"));

    let rotated = scene.rotate_keys().await;
    let new_kid = rotated
        .lines()
        .find_map(|line| line.strip_prefix("active voucher key: "))
        .expect("the new key is named")
        .to_owned();
    assert_ne!(new_kid, first_kid);
    assert!(rotated.contains(&first_kid), "{rotated}");
    let keys = keys_once_published(&scene.server, &new_kid).await;
    assert_eq!(keys.len(), 2, "the retired key is still published");
    assert_eq!(
        verify_offline(token, &keys)
            .expect("the old token still verifies")
            .1,
        first_kid
    );

    let second = scene.redeem("second").await;
    let (_, second_kid) = verify_offline(second["token"].as_str().unwrap(), &keys).unwrap();
    assert_eq!(second_kid, new_kid, "new tokens carry the new key id");
    let reread = scene.voucher(&voucher_id).await;
    let (reread_claims, reread_kid) =
        verify_offline(reread["token"].as_str().unwrap(), &keys).unwrap();
    assert_eq!(reread_kid, new_kid, "read now, signed with the active key");
    assert_eq!(reread_claims["v"], compact(&voucher_id));

    let mode = {
        use std::os::unix::fs::PermissionsExt;
        let path = scene.dir.path().join("data/voucher-keys.json");
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode, 0o600);
}

#[tokio::test]
async fn qr_codes_are_for_the_holder_only_and_a_cancelled_voucher_has_none() {
    let scene = scene().await;
    let issued = scene.redeem("qr").await;
    let id = issued["voucher_id"].as_str().unwrap();

    let svg = scene
        .server
        .get_authed(&format!("/v1/me/vouchers/{id}/qr.svg"), &scene.citizen)
        .await;
    assert_eq!(svg.status(), 200);
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert_eq!(svg.headers()["cache-control"], "no-store");
    assert!(svg.text().await.unwrap().contains("<svg"));

    let png = scene
        .server
        .get_authed(&format!("/v1/me/vouchers/{id}/qr.png"), &scene.citizen)
        .await;
    assert_eq!(png.status(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");
    assert_eq!(png.headers()["cache-control"], "no-store");
    let image = png.bytes().await.unwrap();
    assert_eq!(&image[..8], b"\x89PNG\r\n\x1a\n");
    // IHDR width: (17 + 4 × version + 8 quiet modules) × 8 px.
    let width = u32::from_be_bytes(image[16..20].try_into().unwrap());
    let version = (width / 8 - 8 - 17) / 4;
    eprintln!(
        "voucher qr: version {version}, {width} px png of {} bytes",
        image.len()
    );
    assert!(version <= 14, "version {version}");

    for image in ["qr.svg", "qr.png"] {
        let other = scene
            .server
            .get_authed(&format!("/v1/me/vouchers/{id}/{image}"), &scene.officer)
            .await;
        assert_eq!(
            error_code(other).await,
            (404, "voucher_not_found".to_owned()),
            "{image} of another's voucher"
        );
    }

    let cancel = scene
        .server
        .http
        .post(scene.server.url(&format!("/v1/me/vouchers/{id}/cancel")))
        .bearer_auth(&scene.citizen)
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), 200);
    let cancelled: Value = cancel.json().await.unwrap();
    assert!(cancelled.get("token").is_none(), "{cancelled}");
    let gone = scene
        .server
        .get_authed(&format!("/v1/me/vouchers/{id}/qr.svg"), &scene.citizen)
        .await;
    assert_eq!(
        error_code(gone).await,
        (409, "voucher_not_usable".to_owned())
    );
}

/// Seconds since the epoch of an RFC 3339 UTC time in whole seconds
/// (`2026-12-05T12:00:00Z`), computed by hand so the test needs no date crate.
fn chrono_free_seconds(text: &str) -> i64 {
    let number = |range: std::ops::Range<usize>| text[range].parse::<i64>().unwrap();
    assert_eq!(text.len(), 20, "{text}");
    assert!(text.ends_with('Z'), "{text}");
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    let (hour, minute, second) = (number(11..13), number(14..16), number(17..19));
    // Days from civil (Howard Hinnant).
    let shifted_year = if month <= 2 { year - 1 } else { year };
    let era = shifted_year.div_euclid(400);
    let year_of_era = shifted_year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    days * 86_400 + hour * 3_600 + minute * 60 + second
}
