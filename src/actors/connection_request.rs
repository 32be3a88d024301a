//! `ConnectionRequest`: one per pending request. Owns the request's state machine
//! (pending → accepted / declined / expired / cancelled / officer_unavailable) and
//! its timeout. Sent to by the `RequestRegistry` (the officer's answer, the
//! citizen's cancel, the officer going unavailable, a reconnect) and by its own
//! timer; emits every push through the registry, which knows each person's
//! current session. On accept it runs the exactly-once `Connections::establish`,
//! retrying a failed store a few times; whatever a failure leaves half done, the
//! recovery pass finishes.

use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef};
use uuid::Uuid;

use super::request_registry::{RequestContext, RequestRegistryMsg};
use crate::connections::{AcceptedRequest, Established, PartyOutcome};
use crate::domain::connection::ConnectionMode;
use crate::domain::{AccountId, Role};
use crate::proto::{CitizenView, ErrorCode, PeerView, PointsReason, RequestState, ServerMessage};

/// Attempts at establishing before both sides are told it failed.
const ESTABLISH_ATTEMPTS: u32 = 3;
/// Pause between establish attempts.
const ESTABLISH_RETRY_DELAY: Duration = Duration::from_millis(500);

/// The actor.
#[derive(Debug)]
pub(crate) struct ConnectionRequest;

/// What a request starts with.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionRequestArgs {
    /// The request id (and the connection id, if accepted).
    pub(crate) request_id: Uuid,
    /// The citizen who asked.
    pub(crate) citizen: AccountId,
    /// Shown to the officer.
    pub(crate) citizen_name: Arc<str>,
    /// The officer asked.
    pub(crate) officer: AccountId,
    /// Shown to the citizen once established.
    pub(crate) officer_name: Arc<str>,
    /// The citizen's idempotency key, echoed in the acknowledgement.
    pub(crate) op_id: String,
    /// In person or virtual.
    pub(crate) mode: ConnectionMode,
    /// Distance band between the two at request time, shown to the officer
    /// (between both people's shown positions).
    pub(crate) distance_band_m: u32,
    /// Rules, clock, positions and the connections service.
    pub(crate) context: Arc<RequestContext>,
    /// Routes pushes to sessions and learns when the request ends.
    pub(crate) registry: ActorRef<RequestRegistryMsg>,
}

/// A request's state.
#[derive(Debug)]
pub(crate) struct ConnectionRequestState {
    /// Who and what.
    args: ConnectionRequestArgs,
    /// Where the state machine is.
    state: RequestState,
    /// When the request expires unanswered (Unix ms).
    expires_at_ms: i64,
    /// When the officer accepted (Unix ms), once they did.
    accepted_at_ms: Option<i64>,
}

/// The request's API.
#[derive(Debug, ractor_cluster::RactorMessage)]
pub(crate) enum ConnectionRequestMsg {
    /// The officer answered.
    Respond {
        /// Accept (true) or decline.
        accept: bool,
    },
    /// The citizen withdrew the request.
    Cancel,
    /// Timer: the request timeout ran out.
    Expire,
    /// The officer's availability window ended.
    OfficerUnavailable,
    /// `account_id` has a new socket: tell it where the request stands.
    Reannounce {
        /// Which side reconnected.
        account_id: AccountId,
    },
    /// Timer: try establishing again.
    RetryEstablish {
        /// The attempt about to run, from 2.
        attempt: u32,
    },
}

impl Actor for ConnectionRequest {
    type Msg = ConnectionRequestMsg;
    type State = ConnectionRequestState;
    type Arguments = ConnectionRequestArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        let timeout = Duration::from_secs(args.context.config.request_timeout_seconds);
        let expires_at_ms =
            args.context.clock.now_ms() + i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
        myself.send_after(timeout, || ConnectionRequestMsg::Expire);
        let state = ConnectionRequestState {
            args,
            state: RequestState::Pending,
            expires_at_ms,
            accepted_at_ms: None,
        };
        announce_to_citizen(&state);
        announce_to_officer(&state);
        Ok(state)
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            ConnectionRequestMsg::Respond { accept: true } => on_accept(&myself, state).await,
            ConnectionRequestMsg::Respond { accept: false } => {
                end_pending(&myself, state, RequestState::Declined);
            }
            ConnectionRequestMsg::Cancel => end_pending(&myself, state, RequestState::Cancelled),
            ConnectionRequestMsg::Expire => end_pending(&myself, state, RequestState::Expired),
            ConnectionRequestMsg::OfficerUnavailable => {
                end_pending(&myself, state, RequestState::OfficerUnavailable);
            }
            ConnectionRequestMsg::Reannounce { account_id } => on_reannounce(state, account_id),
            ConnectionRequestMsg::RetryEstablish { attempt } => {
                establish(&myself, state, attempt).await;
            }
        }
        Ok(())
    }
}

async fn on_accept(myself: &ActorRef<ConnectionRequestMsg>, state: &mut ConnectionRequestState) {
    if state.state != RequestState::Pending {
        return;
    }
    state.state = RequestState::Accepted;
    state.accepted_at_ms = Some(state.args.context.clock.now_ms());
    update_both(state, RequestState::Accepted);
    establish(myself, state, 1).await;
}

async fn establish(
    myself: &ActorRef<ConnectionRequestMsg>,
    state: &mut ConnectionRequestState,
    attempt: u32,
) {
    let context = &state.args.context;
    let accepted = AcceptedRequest {
        request_id: state.args.request_id,
        citizen: state.args.citizen,
        officer: state.args.officer,
        mode: state.args.mode,
        accepted_at_ms: state
            .accepted_at_ms
            .unwrap_or_else(|| context.clock.now_ms()),
        citizen_seen: context.last_seen.get(state.args.citizen),
        officer_seen: context.last_seen.get(state.args.officer),
    };
    match context.connections.establish(&accepted).await {
        Ok(established) => {
            finish(myself, state);
            if state.args.mode == ConnectionMode::Virtual {
                // Before the pushes: a chat sent on `connection_established`
                // finds the connection open.
                let _registry_gone =
                    state
                        .args
                        .registry
                        .cast(RequestRegistryMsg::VirtualEstablished {
                            connection_id: established.record.connection_id,
                            citizen: state.args.citizen,
                            officer: state.args.officer,
                        });
            }
            push_established(state, &established);
        }
        Err(error) if attempt < ESTABLISH_ATTEMPTS => {
            tracing::warn!(%error, attempt, request_id = %state.args.request_id, "establishing a connection failed; retrying");
            myself.send_after(ESTABLISH_RETRY_DELAY, move || {
                ConnectionRequestMsg::RetryEstablish {
                    attempt: attempt + 1,
                }
            });
        }
        Err(error) => {
            tracing::error!(%error, request_id = %state.args.request_id, "establishing a connection failed; left to recovery");
            for account_id in [state.args.citizen, state.args.officer] {
                deliver(
                    state,
                    account_id,
                    ServerMessage::Error {
                        code: ErrorCode::Internal,
                        message:
                            "the connection could not be recorded yet; points follow once it is"
                                .to_owned(),
                    },
                );
            }
            finish(myself, state);
        }
    }
}

fn push_established(state: &ConnectionRequestState, established: &Established) {
    let quote = crate::domain::quotes::quote_for(established.record.connection_id);
    let sides = [
        (
            &established.citizen,
            &state.args.officer_name,
            Role::Officer,
        ),
        (
            &established.officer,
            &state.args.citizen_name,
            Role::Citizen,
        ),
    ];
    for (outcome, peer_name, peer_role) in sides {
        push_party(state, established, outcome, peer_name, peer_role, quote);
    }
}

fn push_party(
    state: &ConnectionRequestState,
    established: &Established,
    outcome: &PartyOutcome,
    peer_name: &Arc<str>,
    peer_role: Role,
    quote: &str,
) {
    deliver(
        state,
        outcome.account_id,
        ServerMessage::ConnectionEstablished {
            connection_id: established.record.connection_id,
            peer: PeerView {
                display_name: peer_name.to_string(),
                role: peer_role,
            },
            points: outcome.points,
            withheld: outcome.withheld,
            quote: Some(quote.to_owned()),
            mode: established.record.mode,
        },
    );
    if outcome.points > 0 {
        deliver(
            state,
            outcome.account_id,
            ServerMessage::Points {
                balance: outcome.balance,
                delta: outcome.points,
                reason: PointsReason::Connection,
            },
        );
    }
    for trophy in &outcome.new_trophies {
        deliver(
            state,
            outcome.account_id,
            ServerMessage::Trophy {
                trophy: trophy.as_str().to_owned(),
                title: trophy.title().to_owned(),
                description: trophy.description().to_owned(),
            },
        );
    }
}

/// Ends a pending request in `ending` (ignored once accepted or ended).
fn end_pending(
    myself: &ActorRef<ConnectionRequestMsg>,
    state: &mut ConnectionRequestState,
    ending: RequestState,
) {
    if state.state != RequestState::Pending {
        return;
    }
    state.state = ending;
    finish(myself, state);
    update_both(state, ending);
}

fn on_reannounce(state: &ConnectionRequestState, account_id: AccountId) {
    if state.state != RequestState::Pending {
        return;
    }
    if account_id == state.args.citizen {
        announce_to_citizen(state);
    }
    if account_id == state.args.officer {
        announce_to_officer(state);
    }
}

fn announce_to_citizen(state: &ConnectionRequestState) {
    deliver(
        state,
        state.args.citizen,
        ServerMessage::RequestUpdate {
            request_id: state.args.request_id,
            state: RequestState::Pending,
            op_id: Some(state.args.op_id.clone()),
        },
    );
}

fn announce_to_officer(state: &ConnectionRequestState) {
    deliver(
        state,
        state.args.officer,
        ServerMessage::ConnectionRequested {
            request_id: state.args.request_id,
            citizen: CitizenView {
                display_name: state.args.citizen_name.to_string(),
                distance_band_m: state.args.distance_band_m,
            },
            expires_at_ms: state.expires_at_ms,
        },
    );
}

fn update_both(state: &ConnectionRequestState, new_state: RequestState) {
    for account_id in [state.args.citizen, state.args.officer] {
        deliver(
            state,
            account_id,
            ServerMessage::RequestUpdate {
                request_id: state.args.request_id,
                state: new_state,
                op_id: None,
            },
        );
    }
}

fn deliver(state: &ConnectionRequestState, account_id: AccountId, message: ServerMessage) {
    if state
        .args
        .registry
        .cast(RequestRegistryMsg::Deliver {
            account_id,
            message,
        })
        .is_err()
    {
        tracing::warn!("request registry gone; push dropped");
    }
}

/// Tells the registry the request is over and stops (after the current
/// message). Called before the last pushes, which the registry relays after
/// `Finished`: whoever hears that the request ended and asks again at once is
/// never refused as still pending.
fn finish(myself: &ActorRef<ConnectionRequestMsg>, state: &ConnectionRequestState) {
    crate::metrics::connection_request_finished(state.state);
    if state.args.mode == ConnectionMode::Virtual {
        crate::metrics::virtual_request_finished(state.state);
    }
    let _registry_gone = state.args.registry.cast(RequestRegistryMsg::Finished {
        request_id: state.args.request_id,
        citizen: state.args.citizen,
        officer: state.args.officer,
        state: state.state,
    });
    myself.stop(Some("finished".to_owned()));
}
