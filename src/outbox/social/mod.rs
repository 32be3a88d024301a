//! Social posts: what a webhook may say about the people in a fact, decided
//! when it is sent.
//!
//! - `consent`   whether a person's fact may be shared, and under which name
//! - `templates` the post text per event type, in a sandboxed template engine
//! - `file`      the operator's social file: templates and place names
//! - `compose`   a delivery's body with its post, or why it is cancelled

pub(crate) mod compose;
pub(crate) mod consent;
pub(crate) mod file;
pub(crate) mod templates;
