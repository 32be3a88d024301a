//! `GET /v1/ws`: the WebSocket gateway. The upgrade handler authenticates (header
//! or `hello`), the socket is attached to its session through the [`SessionHub`],
//! and two loops run per socket, side by side in the socket's one task: a reader
//! that decodes, rate-limits and coalesces client frames into the session's inbox,
//! and a writer that drains the socket's outbound link and sends the heartbeat
//! pings. Both are written against `futures::Sink`/`Stream` of axum messages, so
//! unit tests drive them with channels.
//!
//! - `upgrade`        the axum handler: header auth, subprotocol, buffer sizes, span
//! - `socket`         one socket from upgrade to close: auth → attach → welcome → loops → detach
//! - `hello`          the unauthenticated phase: a `hello` within 5 s, or a close
//! - `account_budgets` sockets, control messages and refused frames per account per minute
//! - `reader`         the reader loop: decode, rate limits, coalescing, idle timeout
//! - `writer`         the writer: outbound link → frames, pings, the Close frame
//! - `rate`           the sliding-window limiter and the location coalescer
//! - `auth`           the token check the socket loop needs (a seam for tests)
//! - `outcome`        how an upgrade and a socket ended (metrics labels)
//! - `lifecycle`      shutdown of open sockets: cancel, then wait with a grace
//!
//! [`SessionHub`]: crate::presence::hub::SessionHub

mod account_budgets;
mod auth;
mod expiry;
mod hello;
mod lifecycle;
mod origin;
mod outcome;
mod rate;
mod reader;
mod socket;
mod upgrade;
mod writer;

pub(crate) use account_budgets::AccountBudgets;
pub(crate) use lifecycle::SocketTasks;
pub(crate) use outcome::{ConnectionOutcome, SocketEnd};
pub(crate) use upgrade::upgrade;

#[cfg(test)]
mod hello_tests;
#[cfg(test)]
mod rate_tests;
#[cfg(test)]
mod reader_tests;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod writer_tests;
