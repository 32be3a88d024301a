//! Reaching a person's session wherever it lives: the node's live sessions by
//! account (kept by the `SessionSupervisor`), and a push that goes to a local
//! actor directly or through the cluster to the node holding the session.

use std::sync::Arc;

use dashmap::DashMap;

use super::messages::{SessionAddr, SessionRef};
use super::user_session::UserSessionMsg;
use crate::cluster::link::ClusterLink;
use crate::cluster::wire::Wire;
use crate::domain::AccountId;
use crate::proto::ServerMessage;

/// Live sessions of this node by account.
pub(crate) type LocalSessions = Arc<DashMap<AccountId, SessionRef>>;

/// The way to any session of the cluster.
#[derive(Debug, Clone)]
pub(crate) struct SessionReach {
    /// This node's link to the others.
    pub(crate) link: Arc<ClusterLink>,
    /// This node's live sessions.
    pub(crate) sessions: LocalSessions,
}

impl SessionReach {
    /// The live local session of an account.
    pub(crate) fn local_session(&self, account_id: AccountId) -> Option<SessionRef> {
        self.sessions.get(&account_id).map(|entry| entry.clone())
    }

    /// The address of a session living on `home`: the actor itself when `home`
    /// is this node and the session is live, otherwise the node.
    pub(crate) fn session_at(&self, home: &str, account_id: AccountId) -> SessionAddr {
        if home == &**self.link.node()
            && let Some(actor) = self.local_session(account_id)
        {
            return SessionAddr::Local(actor);
        }
        SessionAddr::Remote(Arc::from(home))
    }

    /// Pushes `message` to the account's session wherever it lives; false when
    /// it is known to be gone.
    pub(crate) fn push(
        &self,
        session: &SessionAddr,
        account_id: AccountId,
        message: ServerMessage,
    ) -> bool {
        let link = &self.link;
        match session {
            SessionAddr::Local(actor) => {
                actor.cast(UserSessionMsg::Push(Box::new(message))).is_ok()
            }
            SessionAddr::Remote(node) if **node == **link.node() => self
                .local_session(account_id)
                .is_some_and(|actor| actor.cast(UserSessionMsg::Push(Box::new(message))).is_ok()),
            SessionAddr::Remote(node) => link.send(
                node,
                &Wire::Push {
                    account_id,
                    message,
                    origin: link.node().to_string(),
                },
            ),
        }
    }
}
