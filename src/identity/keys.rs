//! Server secrets derived from one 32-byte master key: the keyed hash that finds
//! phones, the AEAD key that seals them, and the key that hashes one-time codes.
//! The master key comes from the environment (every node of a cluster needs the
//! same one) or is generated once into `data_dir/master.key` with mode 0600.
//!
//! While the master key is rotated, the one before it is loaded too
//! (`identity.previous_master_key_env` / `previous_master_key_file`): new
//! seals and hashes use the current key, opens fall back to the previous
//! one, and lookups by phone try the previous hash after the current
//! (`identity::rekey` moves every record over; docs/operations.md).

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

/// Keys derived from the master key, and from the one before it while a
/// rotation runs; never logged (no `Debug` of the bytes).
pub(crate) struct ServerKeys {
    /// The keys of the current master key: every new seal and hash.
    current: PurposeKeys,
    /// The keys of the previous master key, while a rotation runs.
    previous: Option<PurposeKeys>,
}

/// A stored phone moved to the current key ([`ServerKeys::reseal_phone`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResealedPhone {
    /// Its lookup key under the current key.
    pub(crate) hash: PhoneHash,
    /// Sealed with the current key.
    pub(crate) sealed: Vec<u8>,
    /// Whether the stored seal was the current key's already.
    pub(crate) was_current: bool,
    /// Its lookup key under the previous key, while a rotation runs.
    pub(crate) previous_hash: Option<PhoneHash>,
}

/// The purpose keys derived from one master key.
struct PurposeKeys {
    /// Key of the phone lookup hash.
    phone_hash_key: [u8; 32],
    /// AEAD key sealing stored phone numbers.
    phone_seal_key: [u8; 32],
    /// Key of one-time-code hashes.
    code_hash_key: [u8; 32],
    /// AEAD key sealing stored webhook signing secrets.
    webhook_seal_key: [u8; 32],
    /// Key of the lookup hash of a provider identity (issuer and subject).
    identity_hash_key: [u8; 32],
    /// AEAD key sealing stored emails.
    email_seal_key: [u8; 32],
    /// AEAD key sealing OIDC link tokens.
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

    /// The previous master key while a rotation runs: from
    /// `environment[variable]`, else from `key_file` (which must exist);
    /// `None` when neither is set.
    pub(crate) fn load_previous_master(
        environment: &EnvironmentVariables,
        variable: &str,
        key_file: Option<&Path>,
    ) -> Result<Option<[u8; 32]>, KeyError> {
        if let Some(hex_key) = environment.get(variable) {
            return parse_key(hex_key)
                .map(Some)
                .ok_or_else(|| KeyError::BadEnvironmentKey {
                    variable: variable.to_owned(),
                });
        }
        let Some(path) = key_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.display().to_string(),
            source,
        })?;
        warn_if_readable_by_others(path);
        parse_key(&text)
            .map(Some)
            .ok_or_else(|| KeyError::BadKeyFile {
                path: path.display().to_string(),
            })
    }

    /// Derives the purpose keys from a master key.
    pub(crate) fn derive(master: &[u8; 32]) -> Self {
        Self {
            current: PurposeKeys::derive(master),
            previous: None,
        }
    }

    /// These keys, with the previous master key's to fall back on while a
    /// rotation runs.
    pub(crate) fn with_previous(mut self, previous_master: &[u8; 32]) -> Self {
        self.previous = Some(PurposeKeys::derive(previous_master));
        self
    }

    /// Whether a previous master key is loaded (a rotation runs).
    pub(crate) fn rotating(&self) -> bool {
        self.previous.is_some()
    }

    /// The lookup key of a phone.
    pub(crate) fn phone_hash(&self, phone: &PhoneNumber) -> PhoneHash {
        self.current.phone_hash(phone)
    }

    /// The phone's lookup key under the previous master key, while a
    /// rotation runs: where records not moved yet are found.
    pub(crate) fn previous_phone_hash(&self, phone: &PhoneNumber) -> Option<PhoneHash> {
        self.previous.as_ref().map(|keys| keys.phone_hash(phone))
    }

    /// The phone encrypted with a random nonce: `nonce || ciphertext`.
    pub(crate) fn seal_phone(&self, phone: &PhoneNumber) -> Vec<u8> {
        seal(&self.current.phone_seal_key, phone.as_e164().as_bytes())
    }

    /// Opens a sealed phone; `None` if it was sealed with another key or altered.
    /// (Read back only for the person's own export, and to move it to a new key.)
    pub(crate) fn open_phone(&self, sealed: &[u8]) -> Option<String> {
        self.open_phone_sealed(sealed).map(|(phone, _)| phone)
    }

    /// Opens a sealed phone, and says whether it was sealed with the current
    /// key (not the previous one).
    pub(crate) fn open_phone_sealed(&self, sealed: &[u8]) -> Option<(String, bool)> {
        let text = |bytes: Vec<u8>| String::from_utf8(bytes).ok();
        if let Some(plain) = open(&self.current.phone_seal_key, sealed) {
            return text(plain).map(|phone| (phone, true));
        }
        let previous = self.previous.as_ref()?;
        text(open(&previous.phone_seal_key, sealed)?).map(|phone| (phone, false))
    }

    /// A sealed phone as the current key has it: its lookup key and seal,
    /// whether it was sealed with the current key already, and its lookup
    /// key under the previous key. `None` when neither key opens it.
    pub(crate) fn reseal_phone(&self, sealed: &[u8]) -> Option<ResealedPhone> {
        let (e164, was_current) = self.open_phone_sealed(sealed)?;
        Some(ResealedPhone {
            hash: self.current.hash_e164(&e164),
            sealed: if was_current {
                sealed.to_vec()
            } else {
                seal(&self.current.phone_seal_key, e164.as_bytes())
            },
            was_current,
            previous_hash: self.previous.as_ref().map(|keys| keys.hash_e164(&e164)),
        })
    }

    /// A webhook signing secret encrypted with a random nonce:
    /// `nonce || ciphertext`, as phones are sealed.
    pub(crate) fn seal_webhook_secret(&self, secret: &[u8]) -> Vec<u8> {
        seal(&self.current.webhook_seal_key, secret)
    }

    /// Opens a sealed webhook secret; `None` if it was sealed with another
    /// key or altered.
    pub(crate) fn open_webhook_secret(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        self.open_webhook_secret_sealed(sealed)
            .map(|(secret, _)| secret)
    }

    /// Opens a sealed webhook secret, and says whether it was sealed with the
    /// current key.
    pub(crate) fn open_webhook_secret_sealed(&self, sealed: &[u8]) -> Option<(Vec<u8>, bool)> {
        if let Some(plain) = open(&self.current.webhook_seal_key, sealed) {
            return Some((plain, true));
        }
        let previous = self.previous.as_ref()?;
        open(&previous.webhook_seal_key, sealed).map(|plain| (plain, false))
    }

    /// The lookup key of a provider identity (issuer and subject).
    pub(crate) fn identity_key(&self, issuer: &str, subject: &str) -> IdentityKey {
        self.current.identity_key(issuer, subject)
    }

    /// The identity's lookup key under the previous master key, while a
    /// rotation runs.
    pub(crate) fn previous_identity_key(&self, issuer: &str, subject: &str) -> Option<IdentityKey> {
        self.previous
            .as_ref()
            .map(|keys| keys.identity_key(issuer, subject))
    }

    /// An email encrypted with a random nonce: `nonce || ciphertext`, as
    /// phones are sealed.
    pub(crate) fn seal_email(&self, email: &str) -> Vec<u8> {
        seal(&self.current.email_seal_key, email.as_bytes())
    }

    /// Opens a sealed email; `None` if neither key sealed it or it was altered.
    pub(crate) fn open_email(&self, sealed: &[u8]) -> Option<String> {
        self.open_email_sealed(sealed).map(|(email, _)| email)
    }

    /// Opens a sealed email, and says whether the current key sealed it.
    pub(crate) fn open_email_sealed(&self, sealed: &[u8]) -> Option<(String, bool)> {
        let text = |bytes: Vec<u8>| String::from_utf8(bytes).ok();
        if let Some(plain) = open(&self.current.email_seal_key, sealed) {
            return text(plain).map(|email| (email, true));
        }
        let previous = self.previous.as_ref()?;
        text(open(&previous.email_seal_key, sealed)?).map(|email| (email, false))
    }

    /// A link token's contents, encrypted and authenticated: only this
    /// server (or a node with the same master key) made it.
    pub(crate) fn seal_link(&self, contents: &[u8]) -> Vec<u8> {
        seal(&self.current.link_seal_key, contents)
    }

    /// Opens a link token's contents; `None` if this server did not make
    /// them (under the current or, while a rotation runs, the previous key).
    pub(crate) fn open_link(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        open(&self.current.link_seal_key, sealed).or_else(|| {
            self.previous
                .as_ref()
                .and_then(|previous| open(&previous.link_seal_key, sealed))
        })
    }

    /// Hash of a one-time code, bound to the phone it was sent to.
    pub(crate) fn code_hash(&self, phone: &PhoneHash, code: &str) -> SecretHash {
        SecretHash(keyed_hash(
            &self.current.code_hash_key,
            &[&phone.0, code.as_bytes()],
        ))
    }
}

impl PurposeKeys {
    fn derive(master: &[u8; 32]) -> Self {
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

    /// The lookup key of a provider identity: issuer and subject, separated
    /// by a byte neither contains.
    fn identity_key(&self, issuer: &str, subject: &str) -> IdentityKey {
        IdentityKey(keyed_hash(
            &self.identity_hash_key,
            &[issuer.as_bytes(), &[0], subject.as_bytes()],
        ))
    }

    fn phone_hash(&self, phone: &PhoneNumber) -> PhoneHash {
        self.hash_e164(phone.as_e164())
    }

    fn hash_e164(&self, e164: &str) -> PhoneHash {
        PhoneHash(keyed_hash(&self.phone_hash_key, &[e164.as_bytes()]))
    }
}

/// `plain` encrypted under `key` with a random nonce: `nonce || ciphertext`.
fn seal(key: &[u8; 32], plain: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(key.into());
    let nonce_bytes: [u8; NONCE_BYTES] = rand::rng().random();
    let nonce = XNonce::from(nonce_bytes);
    // Encryption into a Vec cannot fail for inputs far below the AEAD size limit.
    let ciphertext = cipher.encrypt(&nonce, plain).unwrap_or_default();
    let mut sealed = nonce_bytes.to_vec();
    sealed.extend_from_slice(&ciphertext);
    sealed
}

/// What `seal` sealed under `key`; `None` under another key or altered.
fn open(key: &[u8; 32], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() <= NONCE_BYTES {
        return None;
    }
    let (nonce_bytes, ciphertext) = sealed.split_at(NONCE_BYTES);
    XChaCha20Poly1305::new(key.into())
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
    fn during_a_rotation_the_previous_key_still_opens_and_finds() {
        let old = ServerKeys::derive(&[1; 32]);
        let sealed_phone = old.seal_phone(&phone());
        let sealed_secret = old.seal_webhook_secret(b"whsec-bytes");
        let rotating = ServerKeys::derive(&[2; 32]).with_previous(&[1; 32]);
        assert!(rotating.rotating());
        assert_eq!(
            rotating.open_phone_sealed(&sealed_phone),
            Some(("+12125550123".to_owned(), false)),
            "opened with the previous key"
        );
        let resealed = rotating.seal_phone(&phone());
        assert_eq!(
            rotating
                .open_phone_sealed(&resealed)
                .map(|(_, current)| current),
            Some(true)
        );
        assert_eq!(
            rotating.open_webhook_secret_sealed(&sealed_secret),
            Some((b"whsec-bytes".to_vec(), false))
        );
        assert_eq!(
            rotating.previous_phone_hash(&phone()),
            Some(old.phone_hash(&phone()))
        );
        assert_ne!(rotating.phone_hash(&phone()), old.phone_hash(&phone()));
        // Once the rotation is over, the old seals no longer open.
        let after = ServerKeys::derive(&[2; 32]);
        assert!(!after.rotating());
        assert_eq!(after.open_phone(&sealed_phone), None);
        assert_eq!(after.previous_phone_hash(&phone()), None);
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
