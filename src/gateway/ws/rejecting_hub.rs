//! [`RejectingHub`]: the session hub used until presence is wired into `serve()`.
//! Every socket is authenticated and then refused with 1001, so the gateway's
//! upgrade, authentication and close paths run in production while sessions do
//! not exist yet. Removed by the presence wiring commit.

use async_trait::async_trait;

use crate::identity::Authenticated;
use crate::presence::hub::{AttachError, SessionHub, SessionInbox};
use crate::presence::outbound::OutboundSender;

/// Answers every `attach` with [`AttachError::ShuttingDown`]. Used until presence
/// is wired; removed by the presence wiring commit.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RejectingHub;

#[async_trait]
impl SessionHub for RejectingHub {
    async fn attach(
        &self,
        _caller: Authenticated,
        _outbound: OutboundSender,
    ) -> Result<Box<dyn SessionInbox>, AttachError> {
        Err(AttachError::ShuttingDown)
    }
}
