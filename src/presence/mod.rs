//! Live presence on this node, outside the actors: the link between a socket and
//! its session, the hub that binds them, and the node-local index of officers and
//! citizens that nearest lookups read directly.

pub(crate) mod hub;
pub(crate) mod outbound;
