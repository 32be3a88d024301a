//! `SessionSupervisor`: one per node. Binds sockets to sessions (finding the
//! account's session or spawning it), retires sessions that have no socket left,
//! signs accounts out, and cleans up after sessions that die without doing it
//! themselves: its failure branch removes their presence at once and a periodic
//! sweep removes whatever a kill left in the index. Sent to by the session hub,
//! sessions and the HTTP logout; supervises `UserSession`s.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use ractor::{
    Actor, ActorId, ActorProcessingErr, ActorRef, ActorStatus, RpcReplyPort, SupervisionEvent,
};

use super::messages::{SessionAddr, SessionRef};
use super::officer_presence::{self, Sharing};
use super::user_session::{UserSession, UserSessionArgs, UserSessionMsg};
use crate::actors::services::PresenceServices;
use crate::domain::AccountId;
use crate::identity::Authenticated;
use crate::presence::hub::AttachError;
use crate::presence::index::OfficerChange;
use crate::presence::outbound::OutboundSender;

/// How long observed positions are kept (far beyond any freshness rule).
const LAST_SEEN_KEPT_MS: i64 = 10 * 60_000;
/// How long the supervisor waits for a session to confirm its retirement.
const RETIRE_CONFIRM_TIMEOUT_MS: u64 = 2_000;

/// The actor.
#[derive(Debug)]
pub(crate) struct SessionSupervisor;

/// What the supervisor starts with.
#[derive(Debug, Clone)]
pub(crate) struct SessionSupervisorArgs {
    /// Node services for new sessions.
    pub(crate) services: Arc<PresenceServices>,
    /// How often the index is swept for dead sessions.
    pub(crate) sweep_interval: Duration,
}

/// The supervisor's state.
#[derive(Debug)]
pub(crate) struct SessionSupervisorState {
    args: SessionSupervisorArgs,
    /// Live sessions by account (shared with the cluster router through the services).
    sessions: Arc<DashMap<AccountId, SessionRef>>,
    /// Account of each live session actor, for the failure branch.
    accounts: HashMap<ActorId, AccountId>,
    /// Index version at the previous sweep: tombstones older than it are dropped.
    previous_sweep_version: u64,
}

/// The supervisor's API.
#[derive(Debug, ractor_cluster::RactorMessage)]
pub(crate) enum SessionSupervisorMsg {
    /// Binds a new socket to `caller`'s session.
    Attach {
        /// The authenticated account.
        caller: Authenticated,
        /// The socket's outbound link.
        outbound: OutboundSender,
        /// Answered with the session.
        reply: RpcReplyPort<Result<SessionRef, AttachError>>,
    },
    /// From a session with no socket: retire it unless a socket arrived meanwhile.
    Retire {
        /// Its account.
        account_id: AccountId,
        /// The session.
        session: SessionRef,
    },
    /// A sign-in of the account was revoked (`None`: all of them).
    Revoked {
        /// The account.
        account_id: AccountId,
        /// The revoked sign-in.
        sign_in: Option<uuid::Uuid>,
    },
    /// Timer: sweep presence left by dead sessions.
    Sweep,
    /// Counts, for tests and metrics.
    Stats(RpcReplyPort<SupervisorStats>),
    /// The live session of an account (tests kill it to check the cleanup).
    #[cfg(test)]
    SessionOf {
        /// The account.
        account_id: AccountId,
        /// Answered with its session, if any.
        reply: RpcReplyPort<Option<SessionRef>>,
    },
}

/// What the supervisor reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SupervisorStats {
    /// Live sessions.
    pub(crate) sessions: usize,
}

impl Actor for SessionSupervisor {
    type Msg = SessionSupervisorMsg;
    type State = SessionSupervisorState;
    type Arguments = SessionSupervisorArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        myself.send_interval(args.sweep_interval, || SessionSupervisorMsg::Sweep);
        Ok(SessionSupervisorState {
            sessions: args.services.reach.sessions.clone(),
            args,
            accounts: HashMap::new(),
            previous_sweep_version: 0,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SessionSupervisorMsg::Attach {
                caller,
                outbound,
                reply,
            } => {
                let outcome = on_attach(&myself, state, caller, outbound).await;
                let _caller_gone = reply.send(outcome);
            }
            SessionSupervisorMsg::Retire {
                account_id,
                session,
            } => on_retire(state, account_id, session).await,
            SessionSupervisorMsg::Revoked {
                account_id,
                sign_in,
            } => {
                if let Some(session) = state.sessions.get(&account_id) {
                    let _already_stopped = session.cast(UserSessionMsg::Revoked { sign_in });
                }
            }
            SessionSupervisorMsg::Sweep => on_sweep(state),
            #[cfg(test)]
            SessionSupervisorMsg::SessionOf { account_id, reply } => {
                let session = state.sessions.get(&account_id).map(|entry| entry.clone());
                let _caller_gone = reply.send(session);
            }
            SessionSupervisorMsg::Stats(reply) => {
                let _caller_gone = reply.send(SupervisorStats {
                    sessions: state.sessions.len(),
                });
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        _myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorTerminated(session, _, _) => {
                // A stop runs post_stop, a kill does not: either way, whatever the
                // session left on the map goes.
                if let Some(account_id) = forget(state, session.get_id()) {
                    remove_presence(state, account_id, session.get_id());
                }
            }
            SupervisionEvent::ActorFailed(session, error) => {
                tracing::warn!(%error, "session failed; its presence is removed");
                crate::metrics::actor_failed("user_session");
                if let Some(account_id) = forget(state, session.get_id()) {
                    remove_presence(state, account_id, session.get_id());
                }
            }
            SupervisionEvent::ActorStarted(_)
            | SupervisionEvent::ProcessGroupChanged(_)
            | SupervisionEvent::PidLifecycleEvent(_) => {}
        }
        Ok(())
    }
}

async fn on_attach(
    myself: &ActorRef<SessionSupervisorMsg>,
    state: &mut SessionSupervisorState,
    caller: Authenticated,
    outbound: OutboundSender,
) -> Result<SessionRef, AttachError> {
    if let Some(existing) = state
        .sessions
        .get(&caller.account_id)
        .map(|entry| entry.clone())
        && existing
            .cast(UserSessionMsg::Attach {
                outbound: outbound.clone(),
                sign_in: caller.family_id,
            })
            .is_ok()
    {
        return Ok(existing);
    }
    let args = UserSessionArgs {
        account_id: caller.account_id,
        role: caller.role,
        outbound,
        sign_in: caller.family_id,
        services: state.args.services.clone(),
        supervisor: myself.clone(),
    };
    let (session, _handle) = Actor::spawn_linked(None, UserSession, args, myself.get_cell())
        .await
        .map_err(|error| AttachError::Failed(error.to_string()))?;
    state.sessions.insert(caller.account_id, session.clone());
    state.accounts.insert(session.get_id(), caller.account_id);
    Ok(session)
}

async fn on_retire(state: &mut SessionSupervisorState, account_id: AccountId, session: SessionRef) {
    let is_current = state
        .sessions
        .get(&account_id)
        .is_some_and(|current| current.get_id() == session.get_id());
    if !is_current {
        return;
    }
    // Attaches routed before this call are already in the session's mailbox.
    let retiring = ractor::call_t!(
        session,
        UserSessionMsg::RetireIfDetached,
        RETIRE_CONFIRM_TIMEOUT_MS
    )
    .unwrap_or(true);
    if retiring {
        state.sessions.remove_if(&account_id, |_, current| {
            current.get_id() == session.get_id()
        });
    }
}

fn on_sweep(state: &mut SessionSupervisorState) {
    let services = &state.args.services;
    services
        .last_seen
        .forget_older_than(services.clock.now_ms() - LAST_SEEN_KEPT_MS);
    let index = &state.args.services.index;
    let swept = index.sweep(
        SessionAddr::is_alive,
        services.config.nearest_max_radius_meters,
    );
    if swept.counts.officers + swept.counts.citizens > 0 {
        tracing::info!(
            officers = swept.counts.officers,
            citizens = swept.counts.citizens,
            "swept presence of dead sessions"
        );
    }
    officer_presence::notify(swept.recheck);
    state.sessions.retain(|_, session| {
        !matches!(
            session.get_status(),
            ActorStatus::Stopping | ActorStatus::Stopped
        )
    });
    index.forget_tombstones_before(state.previous_sweep_version);
    state.previous_sweep_version = index.next_version();
}

fn forget(state: &mut SessionSupervisorState, actor_id: ActorId) -> Option<AccountId> {
    let account_id = state.accounts.remove(&actor_id)?;
    state
        .sessions
        .remove_if(&account_id, |_, current| current.get_id() == actor_id);
    Some(account_id)
}

/// Removes what a session that stopped without cleaning up left on the map.
fn remove_presence(state: &SessionSupervisorState, account_id: AccountId, dead: ActorId) {
    let services = &state.args.services;
    let Some(version) = services
        .index
        .dead_entries_of(account_id, |session| session.is_actor(dead))
    else {
        return;
    };
    // Other nodes hold the officer too; this node is the one that saw it die.
    // A draining node's officers live on: they reconnect elsewhere in the grace.
    let sharing = if services.link.is_draining() {
        Sharing::LocalOnly
    } else {
        Sharing::WithPeers
    };
    let change = OfficerChange::Remove {
        account_id,
        version,
    };
    services.officers.apply(change, sharing);
}
