//! SMS adapters that deliver one-time codes, chosen by `[sms] type`:
//! `log` (development: the code goes to the server log — the only log line that
//! ever holds a code), `file` (one JSON line per message, for tests and demos) and
//! `webhook` (an HMAC-signed JSON POST to a provider).

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use crate::config::{EnvironmentVariables, SmsConfig};
use crate::domain::phone::PhoneNumber;

/// Header carrying `sha256=<hex HMAC of the body>` on webhook posts.
pub(crate) const SIGNATURE_HEADER: &str = "x-heyblue-signature";

/// Delivers a one-time code to a phone.
#[async_trait]
pub(crate) trait SmsSender: Send + Sync + std::fmt::Debug {
    /// Sends `code` to `phone`.
    async fn send_code(
        &self,
        phone: &PhoneNumber,
        code: &str,
        sent_at_ms: i64,
    ) -> Result<(), SmsError>;
}

/// A message that could not be delivered.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SmsError {
    /// Writing the file adapter's line failed.
    #[error("cannot append to sms file: {0}")]
    File(#[from] std::io::Error),
    /// The provider could not be reached or refused the message.
    #[error("sms provider failed: {0}")]
    Provider(String),
}

/// The adapter config names cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum SmsSetupError {
    /// The webhook's secret variable is unset.
    #[error("environment variable {0} (sms.secret_env) is not set")]
    MissingSecret(String),
    /// The HTTP client could not be built.
    #[error("cannot build the sms webhook client: {0}")]
    Client(String),
}

/// One message as the file and webhook adapters write it.
#[derive(Debug, Serialize)]
struct SmsMessage<'a> {
    phone: &'a str,
    code: &'a str,
    sent_at: i64,
}

/// Builds the adapter the config names.
pub(crate) fn from_config(
    config: &SmsConfig,
    environment: &EnvironmentVariables,
) -> Result<Box<dyn SmsSender>, SmsSetupError> {
    match config {
        SmsConfig::Log => Ok(Box::new(LogSms)),
        SmsConfig::File { path } => Ok(Box::new(FileSms {
            path: path.clone(),
            append_lock: Mutex::new(()),
        })),
        SmsConfig::Webhook {
            url,
            secret_env,
            timeout_seconds,
        } => {
            let secret = environment
                .get(secret_env)
                .ok_or_else(|| SmsSetupError::MissingSecret(secret_env.clone()))?;
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(*timeout_seconds))
                .build()
                .map_err(|error| SmsSetupError::Client(error.to_string()))?;
            Ok(Box::new(WebhookSms {
                url: url.clone(),
                secret: secret.as_bytes().to_vec(),
                client,
            }))
        }
    }
}

/// Writes codes to the log (development only).
#[derive(Debug)]
struct LogSms;

#[async_trait]
impl SmsSender for LogSms {
    async fn send_code(
        &self,
        phone: &PhoneNumber,
        code: &str,
        _sent_at_ms: i64,
    ) -> Result<(), SmsError> {
        tracing::info!(
            phone = phone.as_e164(),
            code,
            "sms (log adapter): one-time code"
        );
        Ok(())
    }
}

/// Appends codes to a JSON-lines file.
#[derive(Debug)]
struct FileSms {
    /// The file appended to.
    path: PathBuf,
    /// Keeps concurrent lines from interleaving.
    append_lock: Mutex<()>,
}

#[async_trait]
impl SmsSender for FileSms {
    async fn send_code(
        &self,
        phone: &PhoneNumber,
        code: &str,
        sent_at_ms: i64,
    ) -> Result<(), SmsError> {
        let mut line = serde_json::to_vec(&SmsMessage {
            phone: phone.as_e164(),
            code,
            sent_at: sent_at_ms,
        })
        .map_err(|error| SmsError::File(std::io::Error::other(error)))?;
        line.push(b'\n');
        let _guard = self.append_lock.lock().await;
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await?;
        file.write_all(&line).await?;
        file.flush().await?;
        Ok(())
    }
}

/// POSTs codes to a provider.
struct WebhookSms {
    /// Provider endpoint.
    url: String,
    /// HMAC key of the signature header.
    secret: Vec<u8>,
    /// Shared HTTP client with the configured timeout.
    client: reqwest::Client,
}

impl std::fmt::Debug for WebhookSms {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("WebhookSms")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl SmsSender for WebhookSms {
    async fn send_code(
        &self,
        phone: &PhoneNumber,
        code: &str,
        sent_at_ms: i64,
    ) -> Result<(), SmsError> {
        let body = serde_json::to_vec(&SmsMessage {
            phone: phone.as_e164(),
            code,
            sent_at: sent_at_ms,
        })
        .map_err(|error| SmsError::Provider(error.to_string()))?;
        let signature = hex::encode(super::keys::keyed_hash(&self.secret, &[&body]));
        let response = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, format!("sha256={signature}"))
            .body(body)
            .send()
            .await
            .map_err(|error| SmsError::Provider(error.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(SmsError::Provider(format!(
                "provider answered {}",
                response.status()
            )));
        }
        Ok(())
    }
}
