//! Live presence on this node, outside the actors: the link between a socket and
//! its session, the hub that binds them, the node-local index of officers and
//! citizens that nearest lookups read directly, and the runtime that starts and
//! stops the actors.

pub(crate) mod hub;
pub(crate) mod outbound;
