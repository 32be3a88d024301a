//! The cluster: nodes joined with ractor_cluster (cookie-authenticated, full
//! mesh learned from seeds), each node's view of who owns which shard
//! (rendezvous hashing by region over the live nodes), the messages nodes send
//! each other and how they are sent (to the one network-capable actor per node,
//! the actors' `NodeRouter`), and the sharing of applied officer changes that
//! keeps every node's map whole. Transport only: no actor of presence lives here.

pub(crate) mod drain_request;
pub(crate) mod intake;
pub(crate) mod link;
pub(crate) mod membership;
pub(crate) mod node;
pub(crate) mod rendezvous;
pub(crate) mod replica;
pub(crate) mod wire;
