//! A session's part in connection requests: it checks the sender's role, tells
//! the registry whether the citizen was shown the officer's handle, and forwards
//! `request_connection`, `respond`, `cancel_request` and `block` with itself as the place
//! to push answers, and `chat` / `end_connection` of virtual connections. The
//! registry does the rest.

use ractor::ActorRef;

use super::{UserSessionMsg, UserSessionState, push_error};
use crate::actors::messages::SessionAddr;
use crate::actors::request_registry::{NewRequest, RequestRegistryMsg};
use crate::domain::Role;
use crate::proto::{
    Block, CancelRequest, Chat, EndConnection, ErrorCode, RequestConnection, Respond,
};

/// Tells the registry this session is the person's current one (a new socket),
/// so pending requests are announced to it again.
pub(super) fn announce_session(myself: &ActorRef<UserSessionMsg>, state: &UserSessionState) {
    send(
        state,
        RequestRegistryMsg::SessionAttached {
            account_id: state.account_id,
            session: myself.clone(),
        },
    );
}

/// `request_connection{officer, op_id}` from a citizen.
pub(super) fn request_connection(
    myself: &ActorRef<UserSessionMsg>,
    state: &UserSessionState,
    request: RequestConnection,
) {
    if state.role != Role::Citizen {
        push_error(
            state,
            ErrorCode::Forbidden,
            "only citizens can request connections",
        );
        return;
    }
    let was_shown = state.answer.was_shown(&request.officer);
    send(
        state,
        RequestRegistryMsg::Request(NewRequest {
            citizen: state.account_id,
            citizen_name: state.display_name.clone(),
            handle: request.officer,
            op_id: request.op_id,
            was_shown,
            mode: request.mode,
            session: myself.clone(),
        }),
    );
}

/// `respond{request_id, accept}` (the registry checks it is this officer's).
pub(super) fn respond(
    myself: &ActorRef<UserSessionMsg>,
    state: &UserSessionState,
    respond: Respond,
) {
    send(
        state,
        RequestRegistryMsg::Respond {
            officer: state.account_id,
            request_id: respond.request_id,
            accept: respond.accept,
            session: SessionAddr::Local(myself.clone()),
        },
    );
}

/// `cancel_request{request_id}` (the registry checks it is this citizen's).
pub(super) fn cancel(
    myself: &ActorRef<UserSessionMsg>,
    state: &UserSessionState,
    cancel: CancelRequest,
) {
    send(
        state,
        RequestRegistryMsg::Cancel {
            citizen: state.account_id,
            request_id: cancel.request_id,
            session: myself.clone(),
        },
    );
}

/// `block{request_id}` from an officer (the registry checks it is this officer's).
pub(super) fn block(myself: &ActorRef<UserSessionMsg>, state: &UserSessionState, block: Block) {
    if state.role != Role::Officer {
        push_error(state, ErrorCode::Forbidden, "only officers can block");
        return;
    }
    send(
        state,
        RequestRegistryMsg::Block {
            officer: state.account_id,
            request_id: block.request_id,
            session: SessionAddr::Local(myself.clone()),
        },
    );
}

/// `chat{connection_id, text}` (the registry checks the connection is an open
/// virtual one of this person's).
pub(super) fn chat(myself: &ActorRef<UserSessionMsg>, state: &UserSessionState, chat: Chat) {
    send(
        state,
        RequestRegistryMsg::Chat {
            sender: state.account_id,
            connection_id: chat.connection_id,
            text: chat.text,
            session: myself.clone(),
        },
    );
}

/// `end_connection{connection_id}` from either person.
pub(super) fn end_connection(
    myself: &ActorRef<UserSessionMsg>,
    state: &UserSessionState,
    end: EndConnection,
) {
    send(
        state,
        RequestRegistryMsg::EndConnection {
            sender: state.account_id,
            connection_id: end.connection_id,
            session: myself.clone(),
        },
    );
}

fn send(state: &UserSessionState, message: RequestRegistryMsg) {
    if state.services.requests.cast(message).is_err() {
        push_error(
            state,
            ErrorCode::Internal,
            "connection requests are unavailable",
        );
    }
}
