//! `heyblue drain`: asks the node this configuration describes to drain and
//! stop (`POST /v1/admin/drain` on its own listen address, with the admin token
//! from the environment or its data directory), the same as sending it SIGTERM.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::config::{Config, EnvironmentVariables};

/// Why the drain request failed.
#[derive(Debug, thiserror::Error)]
pub enum DrainRequestError {
    /// No admin token in the environment nor in the data directory.
    #[error("no admin token: set {variable} or run this where {path} is readable")]
    NoToken {
        /// The variable that was read.
        variable: String,
        /// The file that was read.
        path: String,
    },
    /// The node did not answer or refused.
    #[error("the node at {address} did not accept the drain: {reason}")]
    Refused {
        /// Where it was asked.
        address: SocketAddr,
        /// What went wrong.
        reason: String,
    },
}

/// Asks the local node to drain; returns once it accepted.
pub async fn request_drain(
    config: &Config,
    environment: &EnvironmentVariables,
) -> Result<SocketAddr, DrainRequestError> {
    let token_file = config.data_dir.join("admin.token");
    let token = match environment.get(&config.admin.token_env) {
        Some(token) => token.trim().to_owned(),
        None => std::fs::read_to_string(&token_file)
            .map(|token| token.trim().to_owned())
            .map_err(|_| DrainRequestError::NoToken {
                variable: config.admin.token_env.clone(),
                path: token_file.display().to_string(),
            })?,
    };
    let mut address = config.listen;
    if address.ip().is_unspecified() {
        address.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    let refused = |reason: String| DrainRequestError::Refused { address, reason };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|error| refused(error.to_string()))?;
    let response = client
        .post(format!("http://{address}/v1/admin/drain"))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|error| refused(error.to_string()))?;
    if response.status() != reqwest::StatusCode::ACCEPTED {
        return Err(refused(format!("HTTP {}", response.status())));
    }
    Ok(address)
}
