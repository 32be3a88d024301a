//! `UserSession`: one per connected account (one device per account: a new socket
//! replaces the old one, which is closed with `replaced`). Owns the person's
//! identity and role, their precise last location (memory only), the cell it falls
//! in, an officer's availability window, and a citizen's last answer. Sent to by
//! its socket (through the hub), by cells (`RecheckNearest`), by timers and by the
//! `SessionSupervisor`, and by the `RequestRegistry` (pushes about connection
//! requests); emits cell commands (through ZIP shards), connection-request
//! messages to the registry, and pushes to its socket. A session whose socket is
//! gone asks the supervisor to retire it — at once for citizens, after
//! `disconnect_grace_seconds` for available officers.

mod availability;
mod cadence;
mod nearest;
mod placement;
mod requests;

use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use super::session_supervisor::SessionSupervisorMsg;
use crate::actors::services::PresenceServices;
use crate::domain::{AccountId, Role};
use crate::geo::LatLng;
use crate::presence::outbound::OutboundSender;
use crate::privacy::ShownPosition;
use crate::proto::{AvailabilityEndReason, ClientMessage, ErrorCode, ServerMessage};

pub(crate) use availability::AvailabilityWindow;
pub(crate) use nearest::CitizenAnswer;
pub(crate) use placement::Placed;

/// The actor.
#[derive(Debug)]
pub(crate) struct UserSession;

/// What a session starts with.
#[derive(Debug, Clone)]
pub(crate) struct UserSessionArgs {
    /// The account.
    pub(crate) account_id: AccountId,
    /// Its role at sign-in.
    pub(crate) role: Role,
    /// The first socket.
    pub(crate) outbound: OutboundSender,
    /// The sign-in (token family) the first socket authenticated with.
    pub(crate) sign_in: uuid::Uuid,
    /// Node services: config, index, shards, clock, profiles.
    pub(crate) services: Arc<PresenceServices>,
    /// Told when the session has no socket left.
    pub(crate) supervisor: ActorRef<SessionSupervisorMsg>,
}

/// A session's state.
#[derive(Debug)]
pub(crate) struct UserSessionState {
    /// The account.
    pub(crate) account_id: AccountId,
    /// Citizen or officer.
    pub(crate) role: Role,
    /// Name shown to others (from the profile).
    pub(crate) display_name: Arc<str>,
    /// Node services.
    pub(crate) services: Arc<PresenceServices>,
    /// The supervisor.
    pub(crate) supervisor: ActorRef<SessionSupervisorMsg>,
    /// The current socket, if connected.
    pub(crate) outbound: Option<OutboundSender>,
    /// The sign-in the current (or last) socket authenticated with: revoking it
    /// closes that socket.
    pub(crate) sign_in: uuid::Uuid,
    /// Bumped on every attach and detach, so a stale grace timer is ignored.
    pub(crate) attach_epoch: u64,
    /// Precise last position (memory only, never logged).
    pub(crate) position: Option<LatLng>,
    /// An officer's position as citizens see it (its cell's centre), last put on
    /// the map: a new fix inside the same cell sends nothing.
    pub(crate) shown: Option<ShownPosition>,
    /// The cell and shard the position falls in.
    pub(crate) placed: Option<Placed>,
    /// An officer's open availability window.
    pub(crate) window: Option<AvailabilityWindow>,
    /// Source of window ids, so a stale expiry timer is ignored.
    pub(crate) windows_opened: u64,
    /// A citizen's current answer and alert state.
    pub(crate) answer: CitizenAnswer,
    /// How often the phone is asked to report its position.
    pub(crate) cadence: cadence::SessionCadence,
}

/// The session's API.
#[derive(Debug, ractor_cluster::RactorMessage)]
pub(crate) enum UserSessionMsg {
    /// A new socket for this account (replaces the current one).
    Attach {
        /// The socket's outbound link.
        outbound: OutboundSender,
        /// The sign-in its token belongs to.
        sign_in: uuid::Uuid,
    },
    /// Socket `connection_id` is gone.
    Detach {
        /// Which socket.
        connection_id: u64,
    },
    /// A decoded client message.
    Client(ClientMessage),
    /// From a cell: an officer change may have changed this citizen's answer.
    RecheckNearest,
    /// Timer: availability window `window_id` ran out.
    WindowExpired {
        /// Which window.
        window_id: u64,
    },
    /// Timer: the grace after a detach ran out.
    GraceExpired {
        /// Attach epoch when the timer was set.
        attach_epoch: u64,
    },
    /// From the supervisor: stop if no socket is attached; answers whether it stops.
    RetireIfDetached(RpcReplyPort<bool>),
    /// A sign-in of the account was revoked (`None`: all of them): a socket of
    /// that sign-in closes with 4011, and the session ends.
    Revoked {
        /// The revoked sign-in, or every sign-in of the account.
        sign_in: Option<uuid::Uuid>,
    },
    /// A push from elsewhere (connection requests) for this person's socket.
    /// Boxed: the largest variant by far, and rare; unboxed it would size every
    /// message slot of the session's handler for the session's whole life.
    Push(Box<ServerMessage>),
    /// Shard owners changed: re-register presence with the new owner.
    OwnersChanged,
}

impl Actor for UserSession {
    type Msg = UserSessionMsg;
    type State = UserSessionState;
    type Arguments = UserSessionArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        crate::metrics::session_started(args.role);
        let fallback_name = match args.role {
            Role::Officer => "Officer",
            Role::Citizen => "Citizen",
        };
        Ok(UserSessionState {
            account_id: args.account_id,
            role: args.role,
            display_name: Arc::from(fallback_name),
            services: args.services,
            supervisor: args.supervisor,
            outbound: Some(args.outbound),
            sign_in: args.sign_in,
            attach_epoch: 0,
            position: None,
            shown: None,
            placed: None,
            window: None,
            windows_opened: 0,
            answer: CitizenAnswer::default(),
            cadence: cadence::SessionCadence::default(),
        })
    }

    async fn post_start(
        &self,
        myself: ActorRef<Self::Msg>,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        requests::announce_session(&myself, state);
        // Loaded here, not in pre_start, so spawning never waits on the store.
        match state.services.profiles.get(state.account_id).await {
            Ok(profile) => state.display_name = Arc::from(profile.display_name.as_str()),
            Err(error) => tracing::warn!(%error, "profile unavailable, using a generic name"),
        }
        availability::adopt_from_map(&myself, state).await;
        cadence::refresh(state);
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<Self::Msg>,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        availability::close_window_silently(state);
        placement::leave(state);
        cadence::leave(state);
        if let Some(outbound) = state.outbound.take() {
            let code = if state.services.link.is_draining() {
                crate::proto::CloseCode::ReconnectElsewhere
            } else {
                crate::proto::CloseCode::GoingAway
            };
            outbound.close(code);
        }
        crate::metrics::session_stopped(state.role);
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            UserSessionMsg::Attach { outbound, sign_in } => {
                state.sign_in = sign_in;
                on_attach(state, outbound);
                requests::announce_session(&myself, state);
            }
            UserSessionMsg::Push(message) => push(state, *message),
            // The two async handlers are boxed: unboxed, their futures would sit
            // inside the actor's processing loop, allocated for the session's whole
            // life (~1.3 KB per idle session), not only while a message runs.
            UserSessionMsg::OwnersChanged => {
                Box::pin(placement::on_owners_changed(&myself, state)).await;
            }
            UserSessionMsg::Detach { connection_id } => on_detach(&myself, state, connection_id),
            UserSessionMsg::Client(client) => Box::pin(on_client(&myself, state, client)).await,
            UserSessionMsg::RecheckNearest => nearest::recompute(state),
            UserSessionMsg::WindowExpired { window_id } => {
                if state
                    .window
                    .as_ref()
                    .is_some_and(|window| window.id == window_id)
                {
                    availability::end_window(state, AvailabilityEndReason::Expired);
                }
            }
            UserSessionMsg::GraceExpired { attach_epoch } => {
                if attach_epoch == state.attach_epoch && state.outbound.is_none() {
                    availability::end_window(state, AvailabilityEndReason::Disconnected);
                    ask_to_retire(&myself, state);
                }
            }
            UserSessionMsg::RetireIfDetached(reply) => {
                let retiring = state.outbound.is_none();
                let _supervisor_gone = reply.send(retiring);
                if retiring {
                    myself.stop(Some("detached".to_owned()));
                }
            }
            UserSessionMsg::Revoked { sign_in } => {
                // Every sign-in revoked ends the session; one sign-in, only the
                // socket it opened.
                let revoked_here = match sign_in {
                    None => true,
                    Some(revoked) => state.outbound.is_some() && revoked == state.sign_in,
                };
                if revoked_here {
                    logout(&myself, state);
                }
            }
        }
        // After every message: a window, an answer or a socket may have changed.
        cadence::refresh(state);
        Ok(())
    }
}

/// Ends the window, closes the socket with 4011 and stops (the sign-in is gone).
fn logout(myself: &ActorRef<UserSessionMsg>, state: &mut UserSessionState) {
    availability::end_window(state, AvailabilityEndReason::Logout);
    if let Some(outbound) = state.outbound.take() {
        outbound.close(crate::proto::CloseCode::TokenRevoked);
    }
    myself.stop(Some("logout".to_owned()));
}

fn on_attach(state: &mut UserSessionState, outbound: OutboundSender) {
    if let Some(previous) = state.outbound.replace(outbound) {
        previous.close(crate::proto::CloseCode::Replaced);
    }
    state.attach_epoch += 1;
    availability::announce(state);
    // A new socket gets the current answer and cadence again.
    state.answer.forget_pushed();
    cadence::forget_told(state);
    nearest::recompute(state);
}

fn on_detach(myself: &ActorRef<UserSessionMsg>, state: &mut UserSessionState, connection_id: u64) {
    let is_current = state
        .outbound
        .as_ref()
        .is_some_and(|outbound| outbound.connection_id() == connection_id);
    if !is_current {
        return;
    }
    state.outbound = None;
    state.attach_epoch += 1;
    if state.window.is_some() {
        let attach_epoch = state.attach_epoch;
        let grace = std::time::Duration::from_secs(state.services.config.disconnect_grace_seconds);
        myself.send_after(grace, move || UserSessionMsg::GraceExpired { attach_epoch });
    } else {
        ask_to_retire(myself, state);
    }
}

fn ask_to_retire(myself: &ActorRef<UserSessionMsg>, state: &UserSessionState) {
    let _supervisor_gone = state.supervisor.cast(SessionSupervisorMsg::Retire {
        account_id: state.account_id,
        session: myself.clone(),
    });
}

async fn on_client(
    myself: &ActorRef<UserSessionMsg>,
    state: &mut UserSessionState,
    client: ClientMessage,
) {
    match client {
        ClientMessage::Location(update) => match LatLng::new(update.lat, update.lng) {
            Ok(position) => placement::on_location(myself, state, position).await,
            Err(_) => push_error(
                state,
                ErrorCode::InvalidCoordinates,
                "coordinates out of range",
            ),
        },
        ClientMessage::GoAvailable(request) => {
            availability::go_available(myself, state, request.minutes_or_default());
        }
        ClientMessage::GoUnavailable => {
            if state.role == Role::Officer {
                availability::end_window(state, AvailabilityEndReason::WentUnavailable);
            } else {
                push_error(
                    state,
                    ErrorCode::Forbidden,
                    "only officers have availability",
                );
            }
        }
        ClientMessage::Ping => push(state, ServerMessage::Pong),
        ClientMessage::Hello(_) => push_error(
            state,
            ErrorCode::AlreadyAuthenticated,
            "this socket is already authenticated",
        ),
        ClientMessage::RequestConnection(request) => {
            requests::request_connection(myself, state, request);
        }
        ClientMessage::Respond(respond) => requests::respond(myself, state, respond),
        ClientMessage::CancelRequest(cancel) => requests::cancel(myself, state, cancel),
        ClientMessage::Block(block) => requests::block(myself, state, block),
        ClientMessage::Chat(chat) => requests::chat(myself, state, chat),
        ClientMessage::EndConnection(end) => requests::end_connection(myself, state, end),
        // The socket checks the token and moves its own expiry; nothing to do here.
        ClientMessage::Reauth(_) => {}
    }
}

/// Queues a message on the socket, if one is attached.
pub(super) fn push(state: &UserSessionState, message: ServerMessage) {
    let kind = message.type_name();
    let when_unheard = background_push(state, &message);
    let sent = state
        .outbound
        .as_ref()
        .is_some_and(|outbound| outbound.send(message).is_ok());
    if sent {
        crate::metrics::push_sent(kind);
        return;
    }
    // No socket to hand it to: an officer hears of a request, or of the
    // end of their window, through the push gateway.
    if let Some((push_kind, reference, expires_at_ms)) = when_unheard {
        crate::outbox::push::queue(
            state.services.profiles.store(),
            state.account_id,
            push_kind,
            reference,
            state.services.clock.now_ms(),
            expires_at_ms,
        );
    }
}

/// The push notification `message` becomes when no socket takes it: its
/// kind, what it is about and when it stops mattering.
fn background_push(
    state: &UserSessionState,
    message: &ServerMessage,
) -> Option<(crate::outbox::message::PushKind, uuid::Uuid, i64)> {
    use crate::outbox::message::PushKind;
    if state.role != Role::Officer {
        return None;
    }
    if let ServerMessage::ConnectionRequested {
        request_id,
        expires_at_ms,
        ..
    } = message
    {
        return Some((PushKind::ConnectionRequested, *request_id, *expires_at_ms));
    }
    if let ServerMessage::AvailabilityEnded { .. } = message {
        let now_ms = state.services.clock.now_ms();
        return Some((
            PushKind::AvailabilityEnded,
            uuid::Uuid::new_v4(),
            now_ms.saturating_add(crate::outbox::push::AVAILABILITY_PUSH_MS),
        ));
    }
    None
}

/// Offers a `nearest` answer to the socket, after those not yet written.
pub(super) fn push_nearest(state: &UserSessionState, message: ServerMessage) {
    let Some(outbound) = &state.outbound else {
        return;
    };
    if outbound.send_nearest(message).is_ok() {
        crate::metrics::push_sent("nearest");
    }
}

/// Answers a client message with an `error`.
pub(super) fn push_error(state: &UserSessionState, code: ErrorCode, message: &str) {
    push(
        state,
        ServerMessage::Error {
            code,
            message: message.to_owned(),
        },
    );
}

/// Applies an officer change where the session's cell's shard is owned.
pub(super) fn officer_change_here(
    state: &UserSessionState,
    change: crate::presence::index::OfficerChange<super::messages::SessionAddr>,
) {
    if let Some(placed) = &state.placed {
        placed.officer_change(&state.services, change);
    }
}
