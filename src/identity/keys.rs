//! Server secrets derived from one 32-byte master key: the keyed hash that finds
//! phones, the AEAD key that seals them, the key that hashes one-time codes,
//! and the keys of sign-in with OpenID Providers (identity lookup hash, sealed
//! emails, link tokens).
//! The master key comes from the environment (every node of a cluster needs the
//! same one) or is generated once into `data_dir/master.key` with mode 0600.

use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::config::EnvironmentVariables;
use crate::domain::phone::PhoneNumber;
use crate::store::{IdentityKey, PhoneHash, SecretHash};

type HmacSha256 = Hmac<Sha256>;

/// Length of the XChaCha20 nonce stored in front of each sealed phone.
const NONCE_BYTES: usize = 24;
/// File holding a generated master key, hex encoded.
pub(crate) const MASTER_KEY_FILE: &str = "master.key";

/// Keys derived from the master key; never logged (no `Debug` of the bytes).
pub(crate) struct ServerKeys {
    /// Key of the phone lookup hash.
    phone_hash_key: [u8; 32],
    /// AEAD key sealing stored phone numbers.
    phone_seal_key: [u8; 32],
    /// Key of one-time-code hashes.
    code_hash_key: [u8; 32],
    /// AEAD key sealing stored webhook signing secrets.
    webhook_seal_key: [u8; 32],
    /// Key of the lookup hash of provider identities (issuer and subject).
    identity_hash_key: [u8; 32],
    /// AEAD key sealing emails given by OpenID Providers.
    email_seal_key: [u8; 32],
    /// AEAD key sealing the link tokens of sign-ins pending a phone.
    link_seal_key: [u8; 32],
}

impl std::fmt::Debug for ServerKeys {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("ServerKeys(..)")
    }
}

/// Why the master key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The environment variable is set but is not 64 hex digits.
    #[error("environment variable {variable} must hold 64 hex digits (32 bytes)")]
    BadEnvironmentKey {
        /// The variable named by `identity.master_key_env`.
        variable: String,
    },
    /// The key file exists but is not 64 hex digits.
    #[error("key file {path} must hold 64 hex digits (32 bytes)")]
    BadKeyFile {
        /// The file.
        path: String,
    },
    /// The key file could not be read or written.
    #[error("cannot use key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O failure.
        source: std::io::Error,
    },
}

/// Logs a warning when the key file at `path` may be read by other users.
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(metadata) = std::fs::metadata(path)
        && metadata.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "the master key file is readable by other users: chmod 600 it");
    }
}

impl ServerKeys {
    /// Loads the master key from `environment[variable]`, else from
    /// `key_file` (which must exist: a key is never made up in a place an
    /// operator chose), else from `data_dir/master.key`, generating that
    /// file on first start.
    pub(crate) fn load(
        environment: &EnvironmentVariables,
        variable: &str,
        key_file: Option<&Path>,
        data_dir: &Path,
    ) -> Result<Self, KeyError> {
        if let Some(hex_key) = environment.get(variable) {
            let master = parse_key(hex_key).ok_or_else(|| KeyError::BadEnvironmentKey {
                variable: variable.to_owned(),
            })?;
            return Ok(Self::derive(&master));
        }
        if let Some(path) = key_file {
            let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
                path: path.display().to_string(),
                source,
            })?;
            warn_if_readable_by_others(path);
            let master = parse_key(&text).ok_or_else(|| KeyError::BadKeyFile {
                path: path.display().to_string(),
            })?;
            return Ok(Self::derive(&master));
        }
        let path = data_dir.join(MASTER_KEY_FILE);
        let master = match std::fs::read_to_string(&path) {
            Ok(text) => parse_key(&text).ok_or_else(|| KeyError::BadKeyFile {
                path: path.display().to_string(),
            })?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let master: [u8; 32] = rand::rng().random();
                super::secret_file::write_new(&path, &hex::encode(master)).map_err(|source| {
                    KeyError::Io {
                        path: path.display().to_string(),
                        source,
                    }
                })?;
                tracing::info!(path = %path.display(), "generated master key");
                master
            }
            Err(source) => {
                return Err(KeyError::Io {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        Ok(Self::derive(&master))
    }

    /// Derives the purpose keys from a master key.
    pub(crate) fn derive(master: &[u8; 32]) -> Self {
        Self {
            phone_hash_key: keyed_hash(master, &[b"heyblue phone hash v1"]),
            phone_seal_key: keyed_hash(master, &[b"heyblue phone seal v1"]),
            code_hash_key: keyed_hash(master, &[b"heyblue otp code v1"]),
            webhook_seal_key: keyed_hash(master, &[b"heyblue webhook secret seal v1"]),
            identity_hash_key: keyed_hash(master, &[b"heyblue oidc identity hash v1"]),
            email_seal_key: keyed_hash(master, &[b"heyblue email seal v1"]),
            link_seal_key: keyed_hash(master, &[b"heyblue oidc link token seal v1"]),
        }
    }

    /// The lookup key of a phone.
    pub(crate) fn phone_hash(&self, phone: &PhoneNumber) -> PhoneHash {
        PhoneHash(keyed_hash(
            &self.phone_hash_key,
            &[phone.as_e164().as_bytes()],
        ))
    }

    /// The phone encrypted with a random nonce: `nonce || ciphertext`.
    pub(crate) fn seal_phone(&self, phone: &PhoneNumber) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new((&self.phone_seal_key).into());
        let nonce_bytes: [u8; NONCE_BYTES] = rand::rng().random();
        let nonce = XNonce::from(nonce_bytes);
        // Encryption into a Vec cannot fail for inputs far below the AEAD size limit.
        let ciphertext = cipher
            .encrypt(&nonce, phone.as_e164().as_bytes())
            .unwrap_or_default();
        let mut sealed = nonce_bytes.to_vec();
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    /// Opens a sealed phone; `None` if it was sealed with another key or altered.
    /// (Read back only for the person's own export.)
    pub(crate) fn open_phone(&self, sealed: &[u8]) -> Option<String> {
        if sealed.len() <= NONCE_BYTES {
            return None;
        }
        let (nonce_bytes, ciphertext) = sealed.split_at(NONCE_BYTES);
        let cipher = XChaCha20Poly1305::new((&self.phone_seal_key).into());
        let plaintext = cipher
            .decrypt(XNonce::from_slice(nonce_bytes), ciphertext)
            .ok()?;
        String::from_utf8(plaintext).ok()
    }

    /// A webhook signing secret encrypted with a random nonce:
    /// `nonce || ciphertext`, as phones are sealed.
    pub(crate) fn seal_webhook_secret(&self, secret: &[u8]) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new((&self.webhook_seal_key).into());
        let nonce_bytes: [u8; NONCE_BYTES] = rand::rng().random();
        let nonce = XNonce::from(nonce_bytes);
        // Encryption into a Vec cannot fail for inputs far below the AEAD size limit.
        let ciphertext = cipher.encrypt(&nonce, secret).unwrap_or_default();
        let mut sealed = nonce_bytes.to_vec();
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    /// Opens a sealed webhook secret; `None` if it was sealed with another
    /// key or altered.
    pub(crate) fn open_webhook_secret(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() <= NONCE_BYTES {
            return None;
        }
        let (nonce_bytes, ciphertext) = sealed.split_at(NONCE_BYTES);
        let cipher = XChaCha20Poly1305::new((&self.webhook_seal_key).into());
        cipher
            .decrypt(XNonce::from_slice(nonce_bytes), ciphertext)
            .ok()
    }

    /// The lookup key of a provider identity: issuer and subject, separated
    /// by a byte neither contains.
    pub(crate) fn identity_key(&self, issuer: &str, subject: &str) -> IdentityKey {
        IdentityKey(keyed_hash(
            &self.identity_hash_key,
            &[issuer.as_bytes(), &[0], subject.as_bytes()],
        ))
    }

    /// An email encrypted with a random nonce: `nonce || ciphertext`, as
    /// phones are sealed.
    pub(crate) fn seal_email(&self, email: &str) -> Vec<u8> {
        seal(&self.email_seal_key, email.as_bytes())
    }

    /// Opens a sealed email; `None` if it was sealed with another key or altered.
    pub(crate) fn open_email(&self, sealed: &[u8]) -> Option<String> {
        String::from_utf8(open(&self.email_seal_key, sealed)?).ok()
    }

    /// A link token's contents, encrypted and authenticated: only this
    /// server (or a node with the same master key) made it.
    pub(crate) fn seal_link(&self, contents: &[u8]) -> Vec<u8> {
        seal(&self.link_seal_key, contents)
    }

    /// Opens a link token's contents; `None` if this server did not make them.
    pub(crate) fn open_link(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        open(&self.link_seal_key, sealed)
    }

    /// Hash of a one-time code, bound to the phone it was sent to.
    pub(crate) fn code_hash(&self, phone: &PhoneHash, code: &str) -> SecretHash {
        SecretHash(keyed_hash(
            &self.code_hash_key,
            &[&phone.0, code.as_bytes()],
        ))
    }
}

/// `plaintext` encrypted under `key` with a random nonce: `nonce || ciphertext`.
fn seal(key: &[u8; 32], plaintext: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(key.into());
    let nonce_bytes: [u8; NONCE_BYTES] = rand::rng().random();
    let nonce = XNonce::from(nonce_bytes);
    // Encryption into a Vec cannot fail for inputs far below the AEAD size limit.
    let ciphertext = cipher.encrypt(&nonce, plaintext).unwrap_or_default();
    let mut sealed = nonce_bytes.to_vec();
    sealed.extend_from_slice(&ciphertext);
    sealed
}

/// Opens what [`seal`] made under `key`; `None` for anything else.
fn open(key: &[u8; 32], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() <= NONCE_BYTES {
        return None;
    }
    let (nonce_bytes, ciphertext) = sealed.split_at(NONCE_BYTES);
    let cipher = XChaCha20Poly1305::new(key.into());
    cipher
        .decrypt(XNonce::from_slice(nonce_bytes), ciphertext)
        .ok()
}

/// SHA-256 of a high-entropy secret (a token): enough, since tokens cannot be guessed.
pub(crate) fn token_hash(token: &str) -> SecretHash {
    SecretHash(Sha256::digest(token.as_bytes()).into())
}

/// HMAC-SHA256 over the concatenated parts.
pub(crate) fn keyed_hash(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("hmac accepts keys of any length"));
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Constant-time equality of two hashes.
pub(crate) fn hashes_equal(left: &SecretHash, right: &SecretHash) -> bool {
    left.0
        .iter()
        .zip(right.0.iter())
        .fold(0u8, |difference, (a, b)| difference | (a ^ b))
        == 0
}

fn parse_key(text: &str) -> Option<[u8; 32]> {
    let bytes = hex::decode(text.trim()).ok()?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone() -> PhoneNumber {
        PhoneNumber::parse(
            "+12125550123",
            &crate::domain::phone::PhoneRegions::only(phonenumber::country::Id::US),
        )
        .unwrap()
    }

    #[test]
    fn sealed_phone_opens_only_with_the_same_key() {
        let keys = ServerKeys::derive(&[7; 32]);
        let sealed = keys.seal_phone(&phone());
        assert!(!sealed.windows(4).any(|window| window == b"2125"));
        assert_eq!(keys.open_phone(&sealed).as_deref(), Some("+12125550123"));
        assert_eq!(ServerKeys::derive(&[8; 32]).open_phone(&sealed), None);
    }

    #[test]
    fn phone_hash_is_keyed_and_stable() {
        let keys = ServerKeys::derive(&[7; 32]);
        assert_eq!(keys.phone_hash(&phone()), keys.phone_hash(&phone()));
        assert_ne!(
            keys.phone_hash(&phone()),
            ServerKeys::derive(&[8; 32]).phone_hash(&phone())
        );
    }

    #[test]
    fn generated_key_file_is_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let environment = EnvironmentVariables::default();
        let first = ServerKeys::load(&environment, "HEYBLUE_MASTER_KEY", None, dir.path()).unwrap();
        let mode = std::fs::metadata(dir.path().join(MASTER_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let second =
            ServerKeys::load(&environment, "HEYBLUE_MASTER_KEY", None, dir.path()).unwrap();
        assert_eq!(first.phone_hash(&phone()), second.phone_hash(&phone()));
    }

    #[test]
    fn a_key_file_outside_the_data_directory_is_read_and_never_made_up() {
        let data_dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let key_file = elsewhere.path().join("master.key");
        let environment = EnvironmentVariables::default();

        let missing = ServerKeys::load(
            &environment,
            "HEYBLUE_MASTER_KEY",
            Some(&key_file),
            data_dir.path(),
        );
        assert!(missing.is_err(), "a missing key file is an error");
        assert!(!key_file.exists() && !data_dir.path().join(MASTER_KEY_FILE).exists());

        std::fs::write(&key_file, format!("{}\n", hex::encode([7; 32]))).unwrap();
        let keys = ServerKeys::load(
            &environment,
            "HEYBLUE_MASTER_KEY",
            Some(&key_file),
            data_dir.path(),
        )
        .unwrap();
        assert_eq!(
            keys.phone_hash(&phone()),
            ServerKeys::derive(&[7; 32]).phone_hash(&phone())
        );
        assert!(!data_dir.path().join(MASTER_KEY_FILE).exists());

        // The environment still wins over the file.
        let from_environment =
            EnvironmentVariables::from_pairs([("HEYBLUE_MASTER_KEY", hex::encode([9; 32]))]);
        let keys = ServerKeys::load(
            &from_environment,
            "HEYBLUE_MASTER_KEY",
            Some(&key_file),
            data_dir.path(),
        )
        .unwrap();
        assert_eq!(
            keys.phone_hash(&phone()),
            ServerKeys::derive(&[9; 32]).phone_hash(&phone())
        );
    }

    #[test]
    fn malformed_environment_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let environment = EnvironmentVariables::from_pairs([("KEY", "not-hex")]);
        let error = ServerKeys::load(&environment, "KEY", None, dir.path()).unwrap_err();
        assert!(error.to_string().contains("64 hex digits"));
    }
}
