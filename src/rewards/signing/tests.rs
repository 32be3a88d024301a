//! Voucher tokens and keys: round trips, every way a token fails, rotation and
//! its retention bound, the key file's checks, and reloading a rotated file.

use std::os::unix::fs::PermissionsExt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tempfile::TempDir;
use uuid::Uuid;

use super::key_file::{self, KeyFileError};
use super::key_set::{KeySet, RETIRED_KEY_KEPT_MS};
use super::token;
use super::{Verification, VoucherClaims};
use super::{VoucherSigner, rotate_voucher_keys};
use crate::config::Config;
use crate::domain::AccountId;
use crate::domain::catalog::OfferKind;
use crate::domain::voucher::{Voucher, VoucherStatus};

/// 2026-12-04T12:00:00Z.
const NOW_MS: i64 = 1_796_385_600_000;
const DAY_MS: i64 = 86_400_000;

fn voucher(expires_at_ms: i64) -> Voucher {
    Voucher {
        voucher_id: Uuid::new_v4(),
        account_id: AccountId(Uuid::new_v4()),
        offer_id: Uuid::new_v4(),
        kind: OfferKind::Scheme,
        issuer_id: Uuid::new_v4(),
        title: "Free swim".to_owned(),
        points: 40,
        issued_at_ms: NOW_MS,
        expires_at_ms,
        status: VoucherStatus::Issued,
        status_changed_at_ms: None,
        stock_taken: false,
        limit_slot: None,
    }
}

fn claims_of(verification: Verification) -> VoucherClaims {
    match verification {
        Verification::Valid(claims) => claims,
        other => panic!("expected a valid token, got {other:?}"),
    }
}

#[test]
fn a_signed_token_verifies_with_its_claims_and_no_personal_data() {
    let keys = KeySet::generate(NOW_MS).unwrap();
    // Expiry with milliseconds: the token's is rounded down to the second.
    let voucher = voucher(NOW_MS + DAY_MS + 999);
    let signed = token::sign(&keys, &voucher);
    assert!(signed.starts_with("v4.public."), "{signed}");
    assert_eq!(signed, token::sign(&keys, &voucher), "deterministic");
    let claims = claims_of(token::verify(&keys, &signed, NOW_MS));
    assert_eq!(claims.voucher_id, voucher.voucher_id);
    assert_eq!(claims.offer_id, voucher.offer_id);
    assert_eq!(claims.issuer_id, voucher.issuer_id);
    assert_eq!(claims.kind, OfferKind::Scheme);
    assert_eq!(claims.expires_at_ms, NOW_MS + DAY_MS);
    assert_eq!(claims.kid, keys.active().kid);
    let body = signed.split('.').nth(2).unwrap();
    let payload = URL_SAFE_NO_PAD.decode(body).unwrap();
    let payload = String::from_utf8_lossy(&payload[..payload.len() - 64]).into_owned();
    assert!(
        !payload.contains(&voucher.account_id.0.to_string()),
        "{payload}"
    );
    assert!(!payload.contains("Free swim"), "{payload}");
    // A typical token is short enough for a version-14 QR code at level M.
    assert!(signed.len() <= 362, "{} characters", signed.len());
}

#[test]
fn an_altered_token_fails_and_garbage_is_malformed() {
    let keys = KeySet::generate(NOW_MS).unwrap();
    let signed = token::sign(&keys, &voucher(NOW_MS + DAY_MS));
    let mut parts: Vec<String> = signed.split('.').map(str::to_owned).collect();
    let mut body = URL_SAFE_NO_PAD.decode(&parts[2]).unwrap();
    // Another expiry second inside the signed payload.
    let position = body.iter().rposition(|byte| byte.is_ascii_digit()).unwrap();
    body[position] = if body[position] == b'9' { b'8' } else { b'9' };
    parts[2] = URL_SAFE_NO_PAD.encode(&body);
    assert_eq!(
        token::verify(&keys, &parts.join("."), NOW_MS),
        Verification::BadSignature
    );
    for garbage in [
        "",
        "v4.public.",
        "v4.local.abc",
        "not a token",
        "v4.public.AAAA.AAAA",
    ] {
        assert_eq!(
            token::verify(&keys, garbage, NOW_MS),
            Verification::Malformed,
            "{garbage:?}"
        );
    }
}

#[test]
fn surrounding_whitespace_is_ignored_and_oversized_text_is_malformed_unread() {
    let keys = KeySet::generate(NOW_MS).unwrap();
    let signed = token::sign(&keys, &voucher(NOW_MS + DAY_MS));
    claims_of(token::verify(&keys, &format!(" {signed}\n"), NOW_MS));
    let padded = format!("{signed}{}", "A".repeat(token::MAX_TOKEN_BYTES));
    assert_eq!(
        token::verify(&keys, &padded, NOW_MS),
        Verification::Malformed
    );
}

#[test]
fn a_token_of_another_key_set_names_an_unknown_key() {
    let ours = KeySet::generate(NOW_MS).unwrap();
    let theirs = KeySet::generate(NOW_MS).unwrap();
    let signed = token::sign(&theirs, &voucher(NOW_MS + DAY_MS));
    assert_eq!(
        token::verify(&ours, &signed, NOW_MS),
        Verification::UnknownKey
    );
}

#[test]
fn an_expired_token_says_so_with_its_claims() {
    let keys = KeySet::generate(NOW_MS).unwrap();
    let voucher = voucher(NOW_MS + DAY_MS);
    let signed = token::sign(&keys, &voucher);
    match token::verify(&keys, &signed, NOW_MS + DAY_MS) {
        Verification::Expired(claims) => assert_eq!(claims.voucher_id, voucher.voucher_id),
        other => panic!("expected expired, got {other:?}"),
    }
}

#[test]
fn after_rotation_old_tokens_verify_until_the_retention_bound_then_the_key_is_dropped() {
    let mut keys = KeySet::generate(NOW_MS).unwrap();
    let first_kid = keys.active().kid.clone();
    let year_voucher = voucher(NOW_MS + 365 * DAY_MS);
    let old_token = token::sign(&keys, &year_voucher);
    let rotation = keys.rotate(NOW_MS + DAY_MS).unwrap();
    assert_eq!(rotation.retired_kid.as_deref(), Some(first_kid.as_str()));
    assert!(rotation.dropped_kids.is_empty());
    assert_ne!(keys.active().kid, first_kid);
    assert_eq!(rotation.new_kid, keys.active().kid);
    let old_claims = claims_of(token::verify(&keys, &old_token, NOW_MS + 2 * DAY_MS));
    assert_eq!(old_claims.kid, first_kid);
    let new_claims = claims_of(token::verify(
        &keys,
        &token::sign(&keys, &year_voucher),
        NOW_MS + 2 * DAY_MS,
    ));
    assert_eq!(new_claims.kid, keys.active().kid);
    assert_eq!(keys.published(NOW_MS + 2 * DAY_MS).count(), 2);
    // Past the bound the retired key no longer verifies nor is published, and
    // the next rotation drops it.
    let past_bound = NOW_MS + DAY_MS + RETIRED_KEY_KEPT_MS;
    assert_eq!(
        token::verify(&keys, &old_token, past_bound),
        Verification::UnknownKey
    );
    assert_eq!(keys.published(past_bound).count(), 1);
    let later = keys.rotate(past_bound).unwrap();
    assert_eq!(later.dropped_kids, vec![first_kid]);
    assert_eq!(keys.keys().len(), 2);
}

#[test]
fn the_key_file_is_generated_owner_only_and_read_back() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("voucher-keys.json");
    let (generated, _) = key_file::read_or_generate(&path, NOW_MS).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let (read, _) = key_file::read(&path).unwrap().unwrap();
    assert_eq!(read.active().kid, generated.active().kid);
    let signed = token::sign(&generated, &voucher(NOW_MS + DAY_MS));
    claims_of(token::verify(&read, &signed, NOW_MS));
}

#[test]
fn a_loose_or_corrupt_key_file_is_refused() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("voucher-keys.json");
    key_file::read_or_generate(&path, NOW_MS).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let loose = VoucherSigner::open(&path, NOW_MS).unwrap_err();
    assert!(
        matches!(loose, KeyFileError::Loose { mode: 0o640, .. }),
        "{loose}"
    );
    assert!(loose.to_string().contains("chmod 600"), "{loose}");

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let retired_twice = text.replace("\"retired_at_ms\": null", "\"retired_at_ms\": 1");
    std::fs::write(&path, retired_twice).unwrap();
    let error = VoucherSigner::open(&path, NOW_MS).unwrap_err();
    assert!(matches!(error, KeyFileError::Corrupt { .. }), "{error}");
    assert!(error.to_string().contains("exactly one"), "{error}");

    std::fs::write(&path, "{\"format\":").unwrap();
    let truncated = VoucherSigner::open(&path, NOW_MS).unwrap_err();
    assert!(
        matches!(truncated, KeyFileError::Corrupt { .. }),
        "{truncated}"
    );
    assert!(!truncated.to_string().contains("k4.secret."), "{truncated}");
}

#[test]
fn a_key_stored_under_another_kid_is_refused() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("voucher-keys.json");
    let (keys, _) = key_file::read_or_generate(&path, NOW_MS).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let other_kid = KeySet::generate(NOW_MS).unwrap().active().kid.clone();
    std::fs::write(&path, text.replace(&keys.active().kid, &other_kid)).unwrap();
    let error = VoucherSigner::open(&path, NOW_MS).unwrap_err();
    assert!(error.to_string().contains("k4.pid"), "{error}");
}

#[test]
fn a_running_signer_picks_up_a_rotated_file() {
    let dir = TempDir::new().unwrap();
    let config = Config {
        data_dir: dir.path().to_owned(),
        ..Config::default()
    };
    let path = config.rewards.voucher_keys_path(&config.data_dir);
    let signer = VoucherSigner::open(&path, NOW_MS).unwrap();
    let voucher = voucher(NOW_MS + 400 * DAY_MS);
    let before = signer.sign(&voucher);
    assert!(!signer.reload_if_changed().unwrap(), "nothing changed yet");
    let rotation = rotate_voucher_keys(&config).unwrap();
    assert!(signer.reload_if_changed().unwrap());
    let after = signer.sign(&voucher);
    assert_ne!(before, after);
    assert_eq!(
        claims_of(signer.verify(&after, NOW_MS)).kid,
        rotation.new_kid
    );
    assert_eq!(
        Some(claims_of(signer.verify(&before, NOW_MS)).kid),
        rotation.retired_kid
    );
    let published = signer.published(NOW_MS);
    assert_eq!(published.len(), 2);
    assert!(published[0].retired_at_ms.is_some());
    assert_eq!(published[1].kid, rotation.new_kid);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the rotated file is owner-only too");
}

#[test]
fn an_interrupted_rotation_is_named() {
    let dir = TempDir::new().unwrap();
    let config = Config {
        data_dir: dir.path().to_owned(),
        ..Config::default()
    };
    rotate_voucher_keys(&config).unwrap();
    std::fs::write(dir.path().join("voucher-keys.json.new"), "").unwrap();
    let error = rotate_voucher_keys(&config).unwrap_err();
    assert!(
        matches!(error, KeyFileError::RotationBusy { .. }),
        "{error}"
    );
}
