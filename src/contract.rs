//! The API contract as machine-readable documents for client authors: the
//! WebSocket protocol as AsyncAPI 3.0 (built from the message types in `proto`)
//! and the HTTP API as OpenAPI 3.1 (built from the handlers in `gateway`).
//! `heyblue contract <document>` prints one; the server also serves them.

use std::sync::LazyLock;

/// Which document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ContractDocument {
    /// The WebSocket protocol (AsyncAPI 3.0).
    Asyncapi,
    /// The HTTP API (OpenAPI 3.1).
    Openapi,
}

/// The document as pretty-printed JSON, ending in a newline (the form committed
/// under docs/).
pub fn contract_json(document: ContractDocument) -> String {
    match document {
        ContractDocument::Asyncapi => ASYNCAPI_JSON.clone(),
        ContractDocument::Openapi => OPENAPI_JSON.clone(),
    }
}

/// Built once: the document never changes while the process runs.
pub(crate) static ASYNCAPI_JSON: LazyLock<String> =
    LazyLock::new(|| pretty(&crate::proto::asyncapi::asyncapi_document()));

/// Built once, like the AsyncAPI document.
pub(crate) static OPENAPI_JSON: LazyLock<String> =
    LazyLock::new(|| pretty(&crate::gateway::openapi::openapi_document()));

fn pretty(document: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(document).unwrap_or_default();
    text.push('\n');
    text
}
