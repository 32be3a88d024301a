//! The WebSocket protocol as an AsyncAPI 3.0 document, built from the message
//! types themselves: every payload schema is derived from the type the codec
//! encodes or decodes, each message carries its first example from
//! docs/protocol.md (which tests decode with the real codec), and the close codes
//! and limits come from their definitions.
//! `GET /v1/asyncapi.json` serves it, `heyblue contract asyncapi` prints it, and
//! `docs/asyncapi.json` is the committed copy (a test fails when it is stale).

use serde_json::{Map, Value, json};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use super::limits::{
    AVAILABILITY_MAX_MINUTES, AVAILABILITY_MIN_MINUTES, CONTROL_MESSAGES_PER_MINUTE,
    ERRORS_PER_MINUTE_BEFORE_CLOSE, HELLO_TIMEOUT_SECONDS, IDLE_TIMEOUT_SECONDS,
    LOCATION_MIN_INTERVAL_MS, MAX_FRAME_BYTES, MAX_HANDLE_BYTES, MAX_NESTING_DEPTH,
    MAX_OP_ID_BYTES, MAX_TOKEN_BYTES, PING_INTERVAL_SECONDS, SOCKETS_PER_ACCOUNT_PER_MINUTE,
    TRANSPORT_MAX_MESSAGE_BYTES,
};
use super::protocol_page::first_examples;
use super::{ClientMessage, CloseCode, ServerMessage, TYPE_TAG};

/// The AsyncAPI version the document follows.
const ASYNCAPI_VERSION: &str = "3.0.0";
/// The channel's key: the one socket every message crosses.
const CHANNEL: &str = "socket";

/// The whole document, as JSON.
pub(crate) fn asyncapi_document() -> Value {
    let client = messages_of(&ClientMessage::schema(), &first_examples("client"));
    let server = messages_of(&ServerMessage::schema(), &first_examples("server"));
    let mut components_messages = Map::new();
    let mut channel_messages = Map::new();
    let mut operations = Map::new();
    for (action, messages) in [("receive", client), ("send", server)] {
        for (name, message) in messages {
            // A type both sides send (`chat`) is two messages: the server's
            // gets its own key; its `name` stays the wire tag.
            let key = if components_messages.contains_key(&name) {
                format!("{name}_from_server")
            } else {
                name
            };
            channel_messages.insert(
                key.clone(),
                json!({ "$ref": format!("#/components/messages/{key}") }),
            );
            operations.insert(
                operation_id(action, &key),
                json!({
                    "action": action,
                    "channel": { "$ref": format!("#/channels/{CHANNEL}") },
                    "messages": [{ "$ref": format!("#/channels/{CHANNEL}/messages/{key}") }],
                }),
            );
            components_messages.insert(key, message);
        }
    }
    json!({
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Hey Blue! WebSocket protocol",
            "version": "1",
            "description": "One socket per signed-in person at `/v1/ws`. Every frame is one \
                message: a map whose `t` names its type. Text frames carry JSON, binary \
                frames MessagePack (subprotocols `heyblue.v1.json` and `heyblue.v1.msgpack`). \
                The operations are the server's: it receives what phones send and sends \
                them pushes. docs/protocol.md explains ordering, retries and each message \
                in prose; `x-close-codes` lists every close code and what a client does \
                next, `x-limits` the limits a client can rely on.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:8080",
                "protocol": "ws",
                "description": "`cargo run --release` with no configuration. A deployment \
                    serves `wss` behind its own host; `GET /v1/route` names the node to \
                    connect to.",
                "security": [{ "$ref": "#/components/securitySchemes/accessToken" }],
            }
        },
        "channels": {
            CHANNEL: {
                "address": "/v1/ws",
                "title": "The session socket",
                "description": "Authenticate with `Authorization: Bearer <access token>` on \
                    the upgrade, or with `hello` as the first frame. The server closes the \
                    socket with one of `x-close-codes`.",
                "messages": channel_messages,
                "x-close-codes": close_codes(),
                "x-limits": limits(),
            }
        },
        "operations": operations,
        "components": {
            "messages": components_messages,
            "schemas": component_schemas(),
            "securitySchemes": {
                "accessToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The access token from `POST /v1/auth/otp/verify` or \
                        `POST /v1/auth/refresh`, on the upgrade request or in `hello`.",
                }
            },
        },
    })
}

/// The operation id of a message: `receiveLocation`, `sendNearest`.
fn operation_id(action: &str, name: &str) -> String {
    let mut id = action.to_owned();
    for word in name.split('_') {
        let mut letters = word.chars();
        if let Some(first) = letters.next() {
            id.extend(first.to_uppercase());
            id.push_str(letters.as_str());
        }
    }
    id
}

/// One AsyncAPI message per variant of a tagged message enum, keyed by its `t`
/// value, with the example of that type.
fn messages_of(schema: &RefOr<Schema>, examples: &[Value]) -> Vec<(String, Value)> {
    let schema = serde_json::to_value(schema).unwrap_or(Value::Null);
    let variants = schema
        .get("oneOf")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    variants
        .into_iter()
        .filter_map(|mut payload| {
            let name = tag_of(&payload)?;
            let description = payload
                .as_object_mut()
                .and_then(|fields| fields.remove("description"))
                .and_then(|text| text.as_str().map(one_line));
            let example = examples
                .iter()
                .find(|example| example.get(TYPE_TAG).and_then(Value::as_str) == Some(&name));
            let mut message = json!({
                "name": name,
                "title": name,
                "contentType": "application/json",
                "payload": payload,
            });
            if let (Some(fields), Some(text)) = (message.as_object_mut(), description) {
                fields.insert("summary".to_owned(), Value::String(text));
            }
            if let (Some(fields), Some(example)) = (message.as_object_mut(), example) {
                fields.insert(
                    "examples".to_owned(),
                    json!([{ "name": name, "payload": example }]),
                );
            }
            Some((name, message))
        })
        .collect()
}

/// The `t` value a variant's schema pins, looking inside an `allOf` too.
fn tag_of(payload: &Value) -> Option<String> {
    let direct = payload
        .pointer(&format!("/properties/{TYPE_TAG}/enum/0"))
        .and_then(Value::as_str);
    direct
        .map(str::to_owned)
        .or_else(|| payload.get("allOf")?.as_array()?.iter().find_map(tag_of))
}

/// A doc comment's lines joined into one.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every schema the messages refer to by name.
fn component_schemas() -> Value {
    let mut named = Vec::new();
    ClientMessage::schemas(&mut named);
    ServerMessage::schemas(&mut named);
    let mut schemas = Map::new();
    for (name, schema) in named {
        schemas.insert(name, serde_json::to_value(schema).unwrap_or(Value::Null));
    }
    // Sorted, so the committed copy changes only where the protocol does.
    schemas.sort_keys();
    Value::Object(schemas)
}

/// What the client does after each close code.
fn close_codes() -> Value {
    CloseCode::ALL
        .iter()
        .map(|&code| {
            json!({
                "code": code.code(),
                "reason": code.reason(),
                "meaning": code.meaning(),
                "client_action": code.client_action().as_str(),
            })
        })
        .collect()
}

/// The limits table of docs/protocol.md, as numbers.
fn limits() -> Value {
    json!({
        "max_frame_bytes": MAX_FRAME_BYTES,
        "transport_max_message_bytes": TRANSPORT_MAX_MESSAGE_BYTES,
        "location_min_interval_ms": LOCATION_MIN_INTERVAL_MS,
        "control_messages_per_minute": CONTROL_MESSAGES_PER_MINUTE,
        "errors_per_minute_before_close": ERRORS_PER_MINUTE_BEFORE_CLOSE,
        "sockets_per_account_per_minute": SOCKETS_PER_ACCOUNT_PER_MINUTE,
        "hello_timeout_seconds": HELLO_TIMEOUT_SECONDS,
        "ping_interval_seconds": PING_INTERVAL_SECONDS,
        "idle_timeout_seconds": IDLE_TIMEOUT_SECONDS,
        "availability_min_minutes": AVAILABILITY_MIN_MINUTES,
        "availability_max_minutes": AVAILABILITY_MAX_MINUTES,
        "max_token_bytes": MAX_TOKEN_BYTES,
        "max_handle_bytes": MAX_HANDLE_BYTES,
        "max_op_id_bytes": MAX_OP_ID_BYTES,
        "max_nesting_depth": MAX_NESTING_DEPTH,
    })
}

#[cfg(test)]
#[path = "asyncapi_tests.rs"]
mod tests;
