//! Voucher tokens and the keys that sign them.
//!
//! - `key_set`   Ed25519 keys named by PASERK `k4.pid`: one active, retired ones kept to verify
//! - `key_file`  the owner-only JSON file the set lives in, read, generated and replaced atomically
//! - `token`     PASETO v4.public voucher tokens: compact claims, signing, typed verification
//! - `signer`    the live set handlers share, reloaded when the file changes
//!
//! `heyblue keys rotate` calls [`rotate_voucher_keys`].

mod key_file;
mod key_set;
mod signer;
mod token;

#[cfg(test)]
mod tests;

use crate::clock::Clock;
use crate::config::Config;

pub use key_file::KeyFileError;
pub(crate) use key_set::KeySet;
pub use key_set::Rotation;
pub(crate) use signer::{PublishedKey, VoucherSigner, watch_key_file};
#[cfg(test)]
pub(crate) use token::VoucherClaims;
pub(crate) use token::{Verification, verify as verify_token};

/// `heyblue keys rotate`: makes a new key active in the configured key file,
/// retires the old one (it keeps verifying) and drops keys retired longer than
/// the longest voucher lifetime. Running servers reload the file within
/// `rewards.voucher_keys_reload_seconds`. Creates the file when there is none.
pub fn rotate_voucher_keys(config: &Config) -> Result<Rotation, KeyFileError> {
    let path = config.rewards.voucher_keys_path(&config.data_dir);
    let now_ms = Clock::system().now_ms();
    let Some((mut keys, _)) = key_file::read(&path)? else {
        let (keys, _) = key_file::read_or_generate(&path, now_ms)?;
        return Ok(Rotation {
            new_kid: keys.active().kid.clone(),
            retired_kid: None,
            dropped_kids: Vec::new(),
        });
    };
    let rotation = keys.rotate(now_ms).map_err(|error| KeyFileError::Corrupt {
        path: path.display().to_string(),
        problem: error.to_string(),
    })?;
    key_file::replace(&path, &keys)?;
    Ok(rotation)
}
