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
        // Codes and phone numbers: owner-only, like the data directory's files.
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(crate::data_dir::FILE_MODE)
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};

    use super::*;

    type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

    /// A provider on 127.0.0.1 that records what it receives and answers `status`.
    async fn provider(status: StatusCode) -> (String, Received) {
        let received: Received = Arc::default();
        let app = axum::Router::new()
            .route(
                "/sms",
                axum::routing::post(
                    move |State(received): State<Received>, headers: HeaderMap, body: Bytes| async move {
                        received.lock().unwrap().push((headers, body));
                        status
                    },
                ),
            )
            .with_state(received.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{address}/sms"), received)
    }

    fn webhook(url: String) -> Box<dyn SmsSender> {
        let config = SmsConfig::Webhook {
            url,
            secret_env: "SMS_SECRET".into(),
            timeout_seconds: 5,
        };
        let environment = EnvironmentVariables::from_pairs([("SMS_SECRET", "s3cret")]);
        from_config(&config, &environment).unwrap()
    }

    fn phone() -> PhoneNumber {
        PhoneNumber::parse(
            "+12125550123",
            &crate::domain::phone::PhoneRegions::only(phonenumber::country::Id::US),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn webhook_posts_a_signed_message() {
        let (url, received) = provider(StatusCode::OK).await;
        webhook(url)
            .send_code(&phone(), "123456", 42)
            .await
            .unwrap();
        let received = received.lock().unwrap();
        let (headers, body) = &received[0];
        let message: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(
            message,
            serde_json::json!({ "phone": "+12125550123", "code": "123456", "sent_at": 42 })
        );
        let expected = format!(
            "sha256={}",
            hex::encode(crate::identity::keys::keyed_hash(b"s3cret", &[body]))
        );
        assert_eq!(headers[SIGNATURE_HEADER], expected.as_str());
    }

    #[tokio::test]
    async fn a_refusing_provider_is_an_error() {
        let (url, _received) = provider(StatusCode::BAD_GATEWAY).await;
        let error = webhook(url)
            .send_code(&phone(), "123456", 42)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("502"), "{error}");
    }

    #[test]
    fn a_missing_secret_is_refused_at_startup() {
        let config = SmsConfig::Webhook {
            url: "https://sms.example.org/send".into(),
            secret_env: "SMS_SECRET".into(),
            timeout_seconds: 5,
        };
        let error = from_config(&config, &EnvironmentVariables::default()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "environment variable SMS_SECRET (sms.secret_env) is not set"
        );
    }

    #[tokio::test]
    async fn file_adapter_appends_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("codes.jsonl");
        let sender = from_config(
            &SmsConfig::File { path: path.clone() },
            &EnvironmentVariables::default(),
        )
        .unwrap();
        sender.send_code(&phone(), "111111", 1).await.unwrap();
        sender.send_code(&phone(), "222222", 2).await.unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        let codes: Vec<String> = text
            .lines()
            .map(|line| {
                serde_json::from_str::<serde_json::Value>(line).unwrap()["code"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(codes, ["111111", "222222"]);
    }
}
