//! The cluster: nodes joined with ractor_cluster (cookie-authenticated, full
//! mesh learned from seeds), each node's view of who owns which shard
//! (rendezvous hashing by region over the live nodes), the one network-capable
//! actor per node that carries messages between them, and the replicated map of
//! available officers that keeps nearest answers exact across nodes.

pub(crate) mod drain_request;
pub(crate) mod link;
pub(crate) mod membership;
pub(crate) mod node;
pub(crate) mod rendezvous;
pub(crate) mod replica;
pub(crate) mod router;
pub(crate) mod wire;
