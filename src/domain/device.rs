//! Push devices: a phone's push token registered by a signed-in app, so an
//! officer whose app is in the background can be told of a request. Rules of
//! a registration: the platform, the token's shape, how many per account.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::AccountId;

/// Most devices one account may register; registering another is refused
/// until one is removed (a logout removes the device of its sign-in).
pub(crate) const MAX_DEVICES_PER_ACCOUNT: usize = 10;
/// Longest push token, in bytes (APNs tokens are 64 hex characters, FCM
/// registration tokens about 160 characters).
pub(crate) const MAX_TOKEN_BYTES: usize = 512;
/// Shortest push token, in bytes.
pub(crate) const MIN_TOKEN_BYTES: usize = 16;

/// The push service a token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Platform {
    /// Apple Push Notification service.
    Ios,
    /// Firebase Cloud Messaging.
    Android,
}

impl Platform {
    /// The wire name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Platform::Ios => "ios",
            Platform::Android => "android",
        }
    }

    /// The platform with this wire name.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        [Platform::Ios, Platform::Android]
            .into_iter()
            .find(|platform| platform.as_str() == name)
    }
}

/// A registered device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Device {
    /// Whose.
    pub(crate) account_id: AccountId,
    /// Derived from the account and the token ([`device_id`]), so
    /// registering the same token again names the same device.
    pub(crate) device_id: Uuid,
    /// Which push service.
    pub(crate) platform: Platform,
    /// The push token, as the platform gave it (never logged).
    pub(crate) token: String,
    /// The sign-in (refresh-token family) that registered it: its logout
    /// removes the device.
    pub(crate) family_id: Uuid,
    /// When it was registered (Unix ms).
    pub(crate) registered_at_ms: i64,
}

/// The id of `account_id`'s device with push token `token`.
pub(crate) fn device_id(account_id: AccountId, token: &str) -> Uuid {
    let mut hasher = Sha256::new();
    hasher.update(b"heyblue push device\0");
    hasher.update(account_id.0.as_bytes());
    hasher.update(token.as_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0_u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// Whether `token` has the shape of a push token: 16 to 512 bytes of
/// letters, digits and `-_:.` (hex APNs tokens and FCM tokens both fit).
pub(crate) fn is_push_token(token: &str) -> bool {
    (MIN_TOKEN_BYTES..=MAX_TOKEN_BYTES).contains(&token.len())
        && token
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b':' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_checked_and_name_one_device_per_account() {
        assert!(is_push_token(&"a1".repeat(32)));
        assert!(is_push_token("dQw4w9WgXcQ:APA91bH-x_y.z"));
        assert!(!is_push_token("short"));
        assert!(!is_push_token(&"a".repeat(MAX_TOKEN_BYTES + 1)));
        assert!(!is_push_token("has space in it 1234567"));
        assert!(!is_push_token("newline\nin-the-token-1234"));
        let first = AccountId(Uuid::new_v4());
        let second = AccountId(Uuid::new_v4());
        assert_eq!(device_id(first, "token"), device_id(first, "token"));
        assert_ne!(device_id(first, "token"), device_id(second, "token"));
        assert_eq!(Platform::from_name("ios"), Some(Platform::Ios));
        assert_eq!(Platform::from_name("web"), None);
    }
}
