//! Live presence on this node, outside the actors: the link between a socket and
//! its session, the hub that binds them, the node-local index of officers and
//! citizens that nearest lookups read directly, and the runtime that starts and
//! stops the actors.

mod grid;
pub(crate) mod hub;
pub(crate) mod index;
pub(crate) mod outbound;
pub(crate) mod runtime;
pub(crate) mod services;
