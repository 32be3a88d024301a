//! `RequestRegistry`: one per node. Owns the pending connection requests of the
//! node: checks a new `request_connection` (one pending request per citizen; the
//! citizen's hourly cap; the handle was shown to the citizen and names an officer
//! available now who has not blocked them; no cooldown after an earlier request
//! to that officer; within `request_radius_meters` of the officer's shown
//! position; at most `max_pending_requests_per_officer` per officer), handles
//! officers' `block`,
//! spawns a `ConnectionRequest` actor per accepted request, routes `respond` and
//! `cancel_request` to it, and relays its pushes to each person's current session
//! (sessions announce themselves on every new socket, and pending requests are
//! announced again to them). A virtual request (`mode: virtual`) is admitted in
//! the citizen's 3-digit ZIP area or within `virtual_radius_meters` instead of the
//! request radius; once established, its chat runs here (`chat`). Sent to by
//! sessions and request actors.

mod chat;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use uuid::Uuid;

use self::chat::VirtualChats;
use super::connection_request::{ConnectionRequest, ConnectionRequestArgs, ConnectionRequestMsg};
use super::messages::{SessionAddr, SessionRef};
use super::reach::SessionReach;
use super::request_limits::{LimitRules, Refusal, RequestLimits};
use super::user_session::UserSessionMsg;
use crate::clock::Clock;
use crate::cluster::link::ClusterLink;
use crate::cluster::wire::{Wire, WireObserved};
use crate::config::ConnectionsConfig;
use crate::connections::Connections;
use crate::domain::AccountId;
use crate::domain::connection::ConnectionMode;
use crate::metrics::RequestLimit;
use crate::presence::index::{OfficerEntry, PresenceIndex};
use crate::presence::last_seen::LastSeen;
use crate::privacy;
use crate::proto::{ChatText, ErrorCode, RequestState, ServerMessage};

/// What requests need from the node.
#[derive(Debug)]
pub(crate) struct RequestContext {
    /// Request rules.
    pub(crate) config: ConnectionsConfig,
    /// Available officers, by handle.
    pub(crate) index: Arc<PresenceIndex<SessionAddr>>,
    /// Server-observed positions.
    pub(crate) last_seen: Arc<LastSeen>,
    /// Time source.
    pub(crate) clock: Clock,
    /// The exactly-once writer.
    pub(crate) connections: Connections,
    /// Reaches officers whose session lives on another node.
    pub(crate) link: Arc<ClusterLink>,
    /// Pushes to sessions wherever they live.
    pub(crate) reach: SessionReach,
}

/// The actor.
#[derive(Debug)]
pub(crate) struct RequestRegistry;

/// A pending request, as the registry tracks it.
#[derive(Debug)]
struct Pending {
    /// Its actor.
    actor: ActorRef<ConnectionRequestMsg>,
    /// Who asked.
    citizen: AccountId,
    /// Who was asked.
    officer: AccountId,
}

/// The registry's state.
#[derive(Debug)]
pub(crate) struct RequestRegistryState {
    /// What requests need.
    context: Arc<RequestContext>,
    /// Pending requests by id.
    pending: HashMap<Uuid, Pending>,
    /// Request id of each request actor, for the supervision branch.
    actors: HashMap<ActorId, Uuid>,
    /// The pending request of each citizen.
    by_citizen: HashMap<AccountId, Uuid>,
    /// The pending requests of each officer.
    by_officer: HashMap<AccountId, HashSet<Uuid>>,
    /// Each citizen's latest `op_id`, its request and that request's state, so a
    /// retried `request_connection` gets the same request back.
    last_op: HashMap<AccountId, (String, Uuid, RequestState)>,
    /// The current session of each person who had a request (an entry goes when
    /// a push to it fails: the session is gone).
    sessions: HashMap<AccountId, SessionAddr>,
    /// Hourly caps, cooldowns and blocks.
    limits: RequestLimits,
    /// Open virtual connections and their chat rate.
    chats: VirtualChats,
}

/// How often expired limits are swept.
const LIMITS_SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// A citizen's `request_connection`, as the session forwards it.
#[derive(Debug)]
pub(crate) struct NewRequest {
    /// The citizen.
    pub(crate) citizen: AccountId,
    /// Their display name, shown to the officer.
    pub(crate) citizen_name: Arc<str>,
    /// The officer's handle.
    pub(crate) handle: String,
    /// The client's idempotency key.
    pub(crate) op_id: String,
    /// Whether the session showed this handle to the citizen.
    pub(crate) was_shown: bool,
    /// In person or virtual.
    pub(crate) mode: ConnectionMode,
    /// The citizen's session.
    pub(crate) session: SessionRef,
}

/// Counts, for tests and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RegistryStats {
    /// Pending requests.
    pub(crate) pending: usize,
    /// Open virtual connections.
    pub(crate) open_virtual: usize,
}

/// The registry's API.
#[derive(Debug, ractor_cluster::RactorMessage)]
pub(crate) enum RequestRegistryMsg {
    /// A citizen asks for a connection.
    Request(NewRequest),
    /// An officer answers a request.
    Respond {
        /// The officer.
        officer: AccountId,
        /// Which request.
        request_id: Uuid,
        /// Accept or decline.
        accept: bool,
        /// The officer's session (on another node when the request lives here
        /// and the officer there).
        session: SessionAddr,
    },
    /// A citizen withdraws a request.
    Cancel {
        /// The citizen.
        citizen: AccountId,
        /// Which request.
        request_id: Uuid,
        /// The citizen's session.
        session: SessionRef,
    },
    /// A session has a new socket (or just started).
    SessionAttached {
        /// Whose.
        account_id: AccountId,
        /// The session.
        session: SessionRef,
    },
    /// An officer's availability window ended.
    OfficerUnavailable {
        /// The officer.
        officer: AccountId,
    },
    /// From a request: push `message` to the person's current session.
    Deliver {
        /// To whom.
        account_id: AccountId,
        /// What.
        message: ServerMessage,
    },
    /// From a request: it ended in `state`.
    Finished {
        /// Which request.
        request_id: Uuid,
        /// Its citizen.
        citizen: AccountId,
        /// Its officer.
        officer: AccountId,
        /// Its final state.
        state: RequestState,
    },
    /// An officer blocks the citizen behind a request.
    Block {
        /// The officer.
        officer: AccountId,
        /// The request naming the citizen.
        request_id: Uuid,
        /// The officer's session (on another node when the request lives here).
        session: SessionAddr,
    },
    /// From a request: a virtual connection was established; its chat opens.
    VirtualEstablished {
        /// The connection.
        connection_id: Uuid,
        /// Its citizen.
        citizen: AccountId,
        /// Its officer.
        officer: AccountId,
    },
    /// A person writes in an open virtual connection.
    Chat {
        /// Who writes.
        sender: AccountId,
        /// Where.
        connection_id: Uuid,
        /// What (relayed, never kept).
        text: ChatText,
        /// The writer's session, for refusals.
        session: SessionRef,
    },
    /// A person ends an open virtual connection.
    EndConnection {
        /// Who ends it.
        sender: AccountId,
        /// Which.
        connection_id: Uuid,
        /// Their session, for refusals.
        session: SessionRef,
    },
    /// Timer: a virtual connection's time is up.
    VirtualTimeUp {
        /// Which.
        connection_id: Uuid,
    },
    /// Timer: drop expired limits.
    SweepLimits,
    /// Counts.
    Stats(RpcReplyPort<RegistryStats>),
}

impl Actor for RequestRegistry {
    type Msg = RequestRegistryMsg;
    type State = RequestRegistryState;
    type Arguments = Arc<RequestContext>;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        context: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        let limits = RequestLimits::new(LimitRules {
            max_requests_per_hour: context.config.max_requests_per_hour,
            cooldown_ms: i64::try_from(context.config.request_cooldown_seconds)
                .unwrap_or(i64::MAX / 1_000)
                .saturating_mul(1_000),
        });
        myself.send_interval(LIMITS_SWEEP_INTERVAL, || RequestRegistryMsg::SweepLimits);
        Ok(RequestRegistryState {
            limits,
            chats: VirtualChats::new(context.config.chat_messages_per_minute),
            context,
            pending: HashMap::new(),
            actors: HashMap::new(),
            by_citizen: HashMap::new(),
            by_officer: HashMap::new(),
            last_op: HashMap::new(),
            sessions: HashMap::new(),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            RequestRegistryMsg::Request(request) => on_request(&myself, state, request).await,
            RequestRegistryMsg::Respond {
                officer,
                request_id,
                accept,
                session,
            } => {
                state.sessions.insert(officer, session.clone());
                match state.pending.get(&request_id) {
                    Some(pending) if pending.officer == officer => {
                        let _ended = pending.actor.cast(ConnectionRequestMsg::Respond { accept });
                    }
                    Some(_) | None => {
                        forward_or_refuse(state, officer, request_id, accept, &session)
                    }
                }
            }
            RequestRegistryMsg::Cancel {
                citizen,
                request_id,
                session,
            } => {
                state
                    .sessions
                    .insert(citizen, SessionAddr::Local(session.clone()));
                match state.pending.get(&request_id) {
                    Some(pending) if pending.citizen == citizen => {
                        let _ended = pending.actor.cast(ConnectionRequestMsg::Cancel);
                    }
                    Some(_) | None => unknown_request(&session),
                }
            }
            RequestRegistryMsg::SessionAttached {
                account_id,
                session,
            } => on_session_attached(state, account_id, session),
            RequestRegistryMsg::OfficerUnavailable { officer } => {
                for request_id in state.by_officer.get(&officer).into_iter().flatten() {
                    if let Some(pending) = state.pending.get(request_id) {
                        let _ended = pending.actor.cast(ConnectionRequestMsg::OfficerUnavailable);
                    }
                }
            }
            RequestRegistryMsg::Deliver {
                account_id,
                message,
            } => deliver(state, account_id, message),
            RequestRegistryMsg::Finished {
                request_id,
                citizen,
                officer,
                state: ended,
            } => {
                forget(state, request_id);
                record_end(state, citizen, request_id, ended);
                let now_ms = state.context.clock.now_ms();
                state
                    .limits
                    .request_ended(request_id, citizen, officer, ended, now_ms);
            }
            RequestRegistryMsg::Block {
                officer,
                request_id,
                session,
            } => on_block(state, officer, request_id, session),
            RequestRegistryMsg::VirtualEstablished {
                connection_id,
                citizen,
                officer,
            } => chat::on_virtual_established(&myself, state, connection_id, citizen, officer),
            RequestRegistryMsg::Chat {
                sender,
                connection_id,
                text,
                session,
            } => chat::on_chat(state, sender, connection_id, text, &session),
            RequestRegistryMsg::EndConnection {
                sender,
                connection_id,
                session,
            } => chat::on_end_connection(state, sender, connection_id, &session),
            RequestRegistryMsg::VirtualTimeUp { connection_id } => {
                chat::on_time_up(state, connection_id);
            }
            RequestRegistryMsg::SweepLimits => {
                let now_ms = state.context.clock.now_ms();
                state.limits.sweep(now_ms);
                state.chats.sweep(now_ms);
            }
            RequestRegistryMsg::Stats(reply) => {
                let _caller_gone = reply.send(RegistryStats {
                    pending: state.pending.len(),
                    open_virtual: state.chats.open_count(),
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
            // Supervision events overtake queued messages: the request's last
            // pushes and its `Finished` may still be in the mailbox, so only the
            // pending entry goes here.
            SupervisionEvent::ActorTerminated(actor, _, _) => {
                if let Some(request_id) = state.actors.remove(&actor.get_id()) {
                    forget(state, request_id);
                }
            }
            SupervisionEvent::ActorFailed(actor, error) => {
                tracing::warn!(%error, "connection request failed");
                crate::metrics::actor_failed("connection_request");
                if let Some(request_id) = state.actors.remove(&actor.get_id())
                    && let Some(pending) = forget(state, request_id)
                {
                    record_end(state, pending.citizen, request_id, RequestState::Expired);
                }
            }
            SupervisionEvent::ActorStarted(_)
            | SupervisionEvent::ProcessGroupChanged(_)
            | SupervisionEvent::PidLifecycleEvent(_) => {}
        }
        Ok(())
    }
}

async fn on_request(
    myself: &ActorRef<RequestRegistryMsg>,
    state: &mut RequestRegistryState,
    request: NewRequest,
) {
    let citizen = request.citizen;
    state
        .sessions
        .insert(citizen, SessionAddr::Local(request.session.clone()));
    if let Some((op_id, request_id, known)) = state.last_op.get(&citizen)
        && *op_id == request.op_id
    {
        let (request_id, known) = (*request_id, *known);
        if known == RequestState::Pending
            && let Some(pending) = state.pending.get(&request_id)
        {
            let _ended = pending.actor.cast(ConnectionRequestMsg::Reannounce {
                account_id: citizen,
            });
        } else {
            acknowledge(&request.session, request_id, known, &request.op_id);
        }
        return;
    }
    if state.by_citizen.contains_key(&citizen) {
        push(
            &request.session,
            ServerMessage::Error {
                code: ErrorCode::RequestPending,
                message: "cancel your pending request before asking again".to_owned(),
            },
        );
        return;
    }
    let request_id = Uuid::new_v4();
    let now_ms = state.context.clock.now_ms();
    if state.limits.count_request(citizen, now_ms).is_err() {
        crate::metrics::request_limited(RequestLimit::HourlyCap);
        push(
            &request.session,
            ServerMessage::Error {
                code: ErrorCode::RequestLimit,
                message: format!(
                    "at most {} connection requests an hour",
                    state.context.config.max_requests_per_hour
                ),
            },
        );
        return;
    }
    match admit(state, &request, now_ms) {
        Err(Refused::Cooldown) => {
            crate::metrics::request_limited(RequestLimit::Cooldown);
            push(
                &request.session,
                ServerMessage::Error {
                    code: ErrorCode::RequestCooldown,
                    message: "your last request to this officer ended too recently".to_owned(),
                },
            );
        }
        Err(Refused::State(refusal)) => {
            crate::metrics::connection_request_finished(refusal);
            if request.mode == ConnectionMode::Virtual {
                crate::metrics::virtual_request_finished(refusal);
            }
            state
                .last_op
                .insert(citizen, (request.op_id.clone(), request_id, refusal));
            acknowledge(&request.session, request_id, refusal, &request.op_id);
        }
        Ok((officer_entry, distance_band_m)) => {
            let officer = officer_entry.account_id;
            state
                .sessions
                .insert(officer, officer_entry.session.clone());
            let officer_name = officer_entry.display_name.clone();
            let args = ConnectionRequestArgs {
                request_id,
                citizen,
                citizen_name: request.citizen_name.clone(),
                officer,
                officer_name,
                op_id: request.op_id.clone(),
                mode: request.mode,
                distance_band_m,
                context: state.context.clone(),
                registry: myself.clone(),
            };
            match Actor::spawn_linked(None, ConnectionRequest, args, myself.get_cell()).await {
                Ok((actor, _handle)) => {
                    state.actors.insert(actor.get_id(), request_id);
                    state.pending.insert(
                        request_id,
                        Pending {
                            actor,
                            citizen,
                            officer,
                        },
                    );
                    state.by_citizen.insert(citizen, request_id);
                    state
                        .by_officer
                        .entry(officer)
                        .or_default()
                        .insert(request_id);
                    state.last_op.insert(
                        citizen,
                        (request.op_id.clone(), request_id, RequestState::Pending),
                    );
                }
                Err(error) => {
                    tracing::error!(%error, "connection request could not start");
                    push(
                        &request.session,
                        ServerMessage::Error {
                            code: ErrorCode::Internal,
                            message: "the request could not be started".to_owned(),
                        },
                    );
                }
            }
        }
    }
}

/// Why `admit` refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refused {
    /// Answered as a request state.
    State(RequestState),
    /// Answered as a `request_cooldown` error.
    Cooldown,
}

/// The officer's entry and the band the officer is shown, or why the request is
/// refused. Every answer is a function of what the citizen may know: the handle
/// it was shown, the officer's availability and shown position, its own limits.
fn admit(
    state: &RequestRegistryState,
    request: &NewRequest,
    now_ms: i64,
) -> Result<(OfficerEntry<SessionAddr>, u32), Refused> {
    let context = &state.context;
    let officer = request
        .was_shown
        .then(|| context.index.officer_by_handle(&request.handle))
        .flatten()
        .filter(|entry| entry.available_until_ms > now_ms)
        .ok_or(Refused::State(RequestState::OfficerUnavailable))?;
    match state
        .limits
        .check_officer(request.citizen, officer.account_id, now_ms)
    {
        Ok(()) => {}
        // A blocked citizen is told nothing more than that the officer is not
        // available to them.
        Err(Refusal::Blocked) => return Err(Refused::State(RequestState::OfficerUnavailable)),
        Err(Refusal::Cooldown) => return Err(Refused::Cooldown),
    }
    let citizen_at = context
        .last_seen
        .get(request.citizen)
        .ok_or(Refused::State(RequestState::OutOfRange))?;
    let distance = privacy::distance_to_officer_m(citizen_at.position, officer.position);
    let in_reach = match request.mode {
        ConnectionMode::InPerson => distance <= context.config.request_radius_meters,
        ConnectionMode::Virtual => {
            distance <= context.config.virtual_radius_meters
                || privacy::same_zip3_area(citizen_at.position, officer.position)
        }
    };
    if !in_reach {
        return Err(Refused::State(RequestState::OutOfRange));
    }
    let held = state
        .by_officer
        .get(&officer.account_id)
        .map_or(0, HashSet::len);
    if held >= context.config.max_pending_requests_per_officer as usize {
        return Err(Refused::State(RequestState::OfficerBusy));
    }
    let band = privacy::citizen_band_for_officer_m(citizen_at.position, officer.position);
    Ok((officer, band))
}

/// `block{request_id}` from an officer: blocks the citizen behind a pending
/// request here (and declines it) or one that ended here recently; a request
/// that lives on another node gets the block forwarded there.
fn on_block(
    state: &mut RequestRegistryState,
    officer: AccountId,
    request_id: Uuid,
    session: SessionAddr,
) {
    state.sessions.insert(officer, session.clone());
    let now_ms = state.context.clock.now_ms();
    let citizen = match state.pending.get(&request_id) {
        Some(pending) if pending.officer == officer => {
            let _ended = pending
                .actor
                .cast(ConnectionRequestMsg::Respond { accept: false });
            Some(pending.citizen)
        }
        Some(_) | None => state.limits.ended_citizen(request_id, officer, now_ms),
    };
    let Some(citizen) = citizen else {
        forward_block_or_refuse(state, officer, request_id, &session);
        return;
    };
    let until_ms = state.limits.block(officer, citizen, now_ms);
    crate::metrics::citizen_blocked();
    let _session_gone = state.context.reach.push(
        &session,
        officer,
        ServerMessage::CitizenBlocked {
            request_id,
            until_ms,
        },
    );
}

/// A block for a request this node does not know: forwarded to the node the
/// request came from, if any; otherwise `unknown_request`.
fn forward_block_or_refuse(
    state: &RequestRegistryState,
    officer: AccountId,
    request_id: Uuid,
    session: &SessionAddr,
) {
    let link = &state.context.link;
    if let SessionAddr::Local(_) = session
        && let Some(origin) = link.request_origin(request_id)
        && *origin != **link.node()
    {
        let sent = link.send(
            &origin,
            &Wire::Block {
                request_id,
                officer,
                home: link.node().to_string(),
            },
        );
        if sent {
            return;
        }
    }
    let _session_gone = state.context.reach.push(
        session,
        officer,
        ServerMessage::Error {
            code: ErrorCode::UnknownRequest,
            message: "no such recent request".to_owned(),
        },
    );
}

fn on_session_attached(
    state: &mut RequestRegistryState,
    account_id: AccountId,
    session: SessionRef,
) {
    let involved: Vec<Uuid> = state
        .pending
        .iter()
        .filter(|(_, pending)| pending.citizen == account_id || pending.officer == account_id)
        .map(|(request_id, _)| *request_id)
        .collect();
    if involved.is_empty() {
        return;
    }
    state
        .sessions
        .insert(account_id, SessionAddr::Local(session));
    for request_id in involved {
        if let Some(pending) = state.pending.get(&request_id) {
            let _ended = pending
                .actor
                .cast(ConnectionRequestMsg::Reannounce { account_id });
        }
    }
}

/// Drops a request that is no longer pending; returns it if it was.
fn forget(state: &mut RequestRegistryState, request_id: Uuid) -> Option<Pending> {
    let pending = state.pending.remove(&request_id)?;
    state.actors.remove(&pending.actor.get_id());
    state.by_citizen.remove_if_eq(pending.citizen, request_id);
    if let Some(requests) = state.by_officer.get_mut(&pending.officer) {
        requests.remove(&request_id);
        if requests.is_empty() {
            state.by_officer.remove(&pending.officer);
        }
    }
    Some(pending)
}

/// Remembers how the citizen's latest request ended, for a retried `op_id`.
fn record_end(
    state: &mut RequestRegistryState,
    citizen: AccountId,
    request_id: Uuid,
    ended: RequestState,
) {
    if let Some(last) = state.last_op.get_mut(&citizen)
        && last.1 == request_id
    {
        last.2 = ended;
    }
}

/// Removes a map entry only while it holds `value`.
trait RemoveIfEq {
    fn remove_if_eq(&mut self, key: AccountId, value: Uuid);
}

impl RemoveIfEq for HashMap<AccountId, Uuid> {
    fn remove_if_eq(&mut self, key: AccountId, value: Uuid) {
        if self.get(&key) == Some(&value) {
            self.remove(&key);
        }
    }
}

fn deliver(state: &mut RequestRegistryState, account_id: AccountId, message: ServerMessage) {
    // An officer who cannot be told on a socket is told through the push
    // gateway (the outbox's `notification.push`).
    let unreachable_request = if let ServerMessage::ConnectionRequested {
        request_id,
        expires_at_ms,
        ..
    } = &message
    {
        Some((*request_id, *expires_at_ms))
    } else {
        None
    };
    let delivered = match state.sessions.get(&account_id) {
        Some(session) => {
            let pushed = state.context.reach.push(session, account_id, message);
            if !pushed {
                state.sessions.remove(&account_id);
            }
            pushed
        }
        None => false,
    };
    if let (false, Some((request_id, expires_at_ms))) = (delivered, unreachable_request) {
        state
            .context
            .connections
            .push_unreachable_request(account_id, request_id, expires_at_ms);
    }
}

fn acknowledge(session: &SessionRef, request_id: Uuid, request_state: RequestState, op_id: &str) {
    push(
        session,
        ServerMessage::RequestUpdate {
            request_id,
            state: request_state,
            op_id: Some(op_id.to_owned()),
        },
    );
}

fn unknown_request(session: &SessionRef) {
    push(
        session,
        ServerMessage::Error {
            code: ErrorCode::UnknownRequest,
            message: "no such pending request".to_owned(),
        },
    );
}

/// An answer to a request this node does not hold: the request may live on the
/// node that pushed it to the officer; otherwise it is unknown.
fn forward_or_refuse(
    state: &RequestRegistryState,
    officer: AccountId,
    request_id: Uuid,
    accept: bool,
    session: &SessionAddr,
) {
    let link = &state.context.link;
    if let SessionAddr::Local(local) = session {
        if let Some(origin) = link.request_origin(request_id)
            && *origin != **link.node()
        {
            let officer_seen = state
                .context
                .last_seen
                .get(officer)
                .map(WireObserved::from_observed);
            let sent = link.send(
                &origin,
                &Wire::Respond {
                    request_id,
                    officer,
                    accept,
                    home: link.node().to_string(),
                    officer_seen,
                },
            );
            if sent {
                return;
            }
        }
        unknown_request(local);
        return;
    }
    state.context.reach.push(
        session,
        officer,
        ServerMessage::Error {
            code: ErrorCode::UnknownRequest,
            message: "no such pending request".to_owned(),
        },
    );
}

fn push(session: &SessionRef, message: ServerMessage) {
    let _session_gone = session.cast(UserSessionMsg::Push(Box::new(message)));
}
