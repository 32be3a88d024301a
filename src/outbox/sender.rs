//! One attempt to post a message to an endpoint, Standard Webhooks style:
//! headers `webhook-id`, `webhook-timestamp` and `webhook-signature`, the
//! recorded JSON body; any 2xx within the timeout is success, anything else
//! (a redirect included: none is followed) a failure, and 410 Gone tells the
//! sender to stop. The client speaks TLS with rustls, resolves through the
//! [`GuardedResolver`], and reads at most [`RESPONSE_BODY_CAP_BYTES`] of an
//! answer (kept for the failure detail).

use std::sync::Arc;
use std::time::Duration;

use super::destination::{GuardedResolver, check_literal_host};
use super::endpoint::Endpoint;
use super::message::OutboxMessage;
use super::signature::signature_header;

/// How long an endpoint has to answer (connect, send, answer).
pub(crate) const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);

/// How long connecting may take of that.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Most bytes of a response body read.
pub(crate) const RESPONSE_BODY_CAP_BYTES: usize = 1_024;

/// Largest body sent (20 KiB).
pub(crate) const MAX_BODY_BYTES: usize = 20 * 1_024;

/// Why an attempt failed, as a bounded metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureClass {
    /// No answer within the timeout.
    Timeout,
    /// No connection (refused, reset, TLS, DNS).
    Connect,
    /// The destination is not a public address.
    Refused,
    /// A 3xx answer (redirects are not followed).
    Redirect,
    /// A 4xx answer.
    ClientError,
    /// A 5xx answer.
    ServerError,
    /// The message cannot be sent at all (too large).
    Invalid,
}

impl FailureClass {
    /// The metric label.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FailureClass::Timeout => "timeout",
            FailureClass::Connect => "connect",
            FailureClass::Refused => "refused",
            FailureClass::Redirect => "redirect",
            FailureClass::ClientError => "status_4xx",
            FailureClass::ServerError => "status_5xx",
            FailureClass::Invalid => "invalid",
        }
    }
}

/// The result of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AttemptResult {
    /// A 2xx answer.
    Delivered,
    /// 410 Gone: the endpoint is to be disabled.
    Gone,
    /// Anything else.
    Failed {
        /// The class, for metrics.
        class: FailureClass,
        /// What happened, for admins (status and the start of the body).
        detail: String,
    },
}

/// Why the client cannot be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the outbox http client: {0}")]
pub(crate) struct ClientError(String);

/// Posts messages to endpoints.
#[derive(Debug, Clone)]
pub(crate) struct Sender {
    /// The HTTP client (pooled connections).
    client: reqwest::Client,
    /// Whether loopback and private destinations may be reached.
    allow_private: bool,
}

impl Sender {
    /// A sender; `allow_private` lets it reach loopback and private addresses.
    pub(crate) fn new(allow_private: bool) -> Result<Self, ClientError> {
        Self::with_timeout(allow_private, ATTEMPT_TIMEOUT)
    }

    /// A sender whose endpoints have `timeout` to answer.
    pub(crate) fn with_timeout(
        allow_private: bool,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { allow_private }))
            .user_agent(concat!("heyblue-outbox/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| ClientError(error.to_string()))?;
        Ok(Self {
            client,
            allow_private,
        })
    }

    /// Posts `message` to `endpoint`, signed at `now_ms`.
    pub(crate) async fn send(
        &self,
        endpoint: &Endpoint,
        message: &OutboxMessage,
        now_ms: i64,
    ) -> AttemptResult {
        if message.body.len() > MAX_BODY_BYTES {
            return failed(FailureClass::Invalid, "body larger than 20 KiB");
        }
        if check_literal_host(&endpoint.url, self.allow_private).is_err() {
            return failed(FailureClass::Refused, "destination is not a public address");
        }
        let webhook_id = message.message_id.to_string();
        let timestamp_seconds = now_ms.div_euclid(1_000);
        let signature = signature_header(
            &endpoint.signing_secrets(now_ms),
            &webhook_id,
            timestamp_seconds,
            &message.body,
        );
        let sent = self
            .client
            .post(endpoint.url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", &webhook_id)
            .header("webhook-timestamp", timestamp_seconds.to_string())
            .header("webhook-signature", signature)
            .body(message.body.clone())
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(error) => return failed(classify(&error), &error_chain(&error)),
        };
        let status = response.status();
        let body = read_capped(&mut response).await;
        if status.is_success() {
            return AttemptResult::Delivered;
        }
        if status == reqwest::StatusCode::GONE {
            return AttemptResult::Gone;
        }
        let class = if status.is_redirection() {
            FailureClass::Redirect
        } else if status.is_client_error() {
            FailureClass::ClientError
        } else {
            FailureClass::ServerError
        };
        failed(class, &format!("status {}: {body}", status.as_u16()))
    }
}

fn failed(class: FailureClass, detail: &str) -> AttemptResult {
    AttemptResult::Failed {
        class,
        detail: detail.to_owned(),
    }
}

/// The class of a request that got no answer.
fn classify(error: &reqwest::Error) -> FailureClass {
    if error.is_timeout() {
        return FailureClass::Timeout;
    }
    if error_chain(error).contains("not a public address") {
        return FailureClass::Refused;
    }
    FailureClass::Connect
}

/// An error and its causes, one line.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Up to [`RESPONSE_BODY_CAP_BYTES`] of the body, lossily as text; the rest
/// is not read.
async fn read_capped(response: &mut reqwest::Response) -> String {
    let mut kept = Vec::new();
    while kept.len() < RESPONSE_BODY_CAP_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = RESPONSE_BODY_CAP_BYTES - kept.len();
                kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}
