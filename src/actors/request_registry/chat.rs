//! The registry's open virtual connections and their chat: which connections
//! are open (from `connection_established` of a virtual request until either
//! side ends it or `connections.virtual_connection_max_minutes` pass), who may
//! write in them (their two people only), and how fast (a sliding minute per
//! account, `connections.chat_messages_per_minute`, kept by the registry, so a
//! new socket does not reset it). Texts are relayed to the other person's
//! session and kept nowhere: not in state, not in the store, not in logs.
//! Also the registry's handlers of `chat`, `end_connection` and the time limit.

use std::collections::{HashMap, VecDeque};

use ractor::ActorRef;
use uuid::Uuid;

use super::{RequestRegistryMsg, RequestRegistryState, deliver, push};
use crate::actors::messages::SessionRef;
use crate::domain::AccountId;
use crate::proto::{ChatText, ConnectionEndReason, ErrorCode, ServerMessage};

/// The window the chat rate is counted over (ms).
const RATE_WINDOW_MS: i64 = 60_000;

/// An open virtual connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OpenChat {
    /// Its citizen.
    citizen: AccountId,
    /// Its officer.
    officer: AccountId,
}

impl OpenChat {
    /// The other person of `sender`, if `sender` is one of the two.
    fn peer_of(&self, sender: AccountId) -> Option<AccountId> {
        if sender == self.citizen {
            Some(self.officer)
        } else if sender == self.officer {
            Some(self.citizen)
        } else {
            None
        }
    }
}

/// Why a `chat` or `end_connection` was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChatRefusal {
    /// No open virtual connection of the sender has this id.
    NotConnected,
    /// The sender wrote `chat_messages_per_minute` messages in the last minute.
    Limit,
}

/// Open virtual connections and each writer's recent message times.
#[derive(Debug)]
pub(crate) struct VirtualChats {
    /// Open connections by id.
    open: HashMap<Uuid, OpenChat>,
    /// Times (Unix ms) of each account's messages in the last minute, oldest first.
    recent: HashMap<AccountId, VecDeque<i64>>,
    /// Messages one account may send per minute.
    per_minute: usize,
}

impl VirtualChats {
    /// No open connections; `per_minute` messages per account per minute.
    pub(crate) fn new(per_minute: u32) -> Self {
        Self {
            open: HashMap::new(),
            recent: HashMap::new(),
            per_minute: usize::try_from(per_minute).unwrap_or(usize::MAX),
        }
    }

    /// Opens connection `connection_id` between the two (again: no change).
    pub(crate) fn open(&mut self, connection_id: Uuid, citizen: AccountId, officer: AccountId) {
        self.open
            .insert(connection_id, OpenChat { citizen, officer });
    }

    /// The person a `chat` from `sender` in `connection_id` goes to, counting
    /// it against the sender's minute; or why it is refused (a refused message
    /// is not counted).
    pub(crate) fn relay(
        &mut self,
        connection_id: Uuid,
        sender: AccountId,
        now_ms: i64,
    ) -> Result<AccountId, ChatRefusal> {
        let peer = self
            .open
            .get(&connection_id)
            .and_then(|chat| chat.peer_of(sender))
            .ok_or(ChatRefusal::NotConnected)?;
        let times = self.recent.entry(sender).or_default();
        while times
            .front()
            .is_some_and(|sent| now_ms - sent >= RATE_WINDOW_MS)
        {
            times.pop_front();
        }
        if times.len() >= self.per_minute {
            return Err(ChatRefusal::Limit);
        }
        times.push_back(now_ms);
        Ok(peer)
    }

    /// Ends `connection_id` at `sender`'s request: the two people, sender
    /// first, or `NotConnected` when it is not an open connection of theirs.
    pub(crate) fn end_by(
        &mut self,
        connection_id: Uuid,
        sender: AccountId,
    ) -> Result<(AccountId, AccountId), ChatRefusal> {
        let peer = self
            .open
            .get(&connection_id)
            .and_then(|chat| chat.peer_of(sender))
            .ok_or(ChatRefusal::NotConnected)?;
        self.open.remove(&connection_id);
        Ok((sender, peer))
    }

    /// Ends `connection_id` because its time is up: its two people, if it was
    /// still open.
    pub(crate) fn end_on_time(&mut self, connection_id: Uuid) -> Option<(AccountId, AccountId)> {
        self.open
            .remove(&connection_id)
            .map(|chat| (chat.citizen, chat.officer))
    }

    /// Drops message times older than the window (and accounts with none).
    pub(crate) fn sweep(&mut self, now_ms: i64) {
        self.recent.retain(|_, times| {
            times.retain(|sent| now_ms - sent < RATE_WINDOW_MS);
            !times.is_empty()
        });
    }

    /// Open connections, for stats.
    pub(crate) fn open_count(&self) -> usize {
        self.open.len()
    }
}

// The registry's handlers of the messages above.

/// A virtual connection was established: its chat opens until either side
/// ends it or its time is up.
pub(super) fn on_virtual_established(
    myself: &ActorRef<RequestRegistryMsg>,
    state: &mut RequestRegistryState,
    connection_id: Uuid,
    citizen: AccountId,
    officer: AccountId,
) {
    state.chats.open(connection_id, citizen, officer);
    let minutes = state.context.config.virtual_connection_max_minutes;
    myself.send_after(
        std::time::Duration::from_secs(minutes.saturating_mul(60)),
        move || RequestRegistryMsg::VirtualTimeUp { connection_id },
    );
}

/// `chat` from `sender`: relayed to the other person, or refused.
pub(super) fn on_chat(
    state: &mut RequestRegistryState,
    sender: AccountId,
    connection_id: Uuid,
    text: ChatText,
    session: &SessionRef,
) {
    let now_ms = state.context.clock.now_ms();
    match state.chats.relay(connection_id, sender, now_ms) {
        Ok(peer) => {
            crate::metrics::chat_message("relayed");
            deliver(
                state,
                peer,
                ServerMessage::Chat {
                    connection_id,
                    text,
                    sent_at_ms: now_ms,
                },
            );
        }
        Err(refusal) => refuse_chat(session, refusal),
    }
}

/// `end_connection` from `sender`: both people are told, or it is refused.
pub(super) fn on_end_connection(
    state: &mut RequestRegistryState,
    sender: AccountId,
    connection_id: Uuid,
    session: &SessionRef,
) {
    match state.chats.end_by(connection_id, sender) {
        Ok((ender, peer)) => {
            crate::metrics::virtual_connection_ended(ConnectionEndReason::EndedByYou);
            let told = [
                (ender, ConnectionEndReason::EndedByYou),
                (peer, ConnectionEndReason::EndedByPeer),
            ];
            for (account_id, reason) in told {
                deliver(
                    state,
                    account_id,
                    ServerMessage::ConnectionEnded {
                        connection_id,
                        reason,
                    },
                );
            }
        }
        Err(refusal) => refuse_chat(session, refusal),
    }
}

fn refuse_chat(session: &SessionRef, refusal: ChatRefusal) {
    let (code, message, outcome) = match refusal {
        ChatRefusal::NotConnected => (
            ErrorCode::NotConnected,
            "no open virtual connection of yours has this id",
            "not_connected",
        ),
        ChatRefusal::Limit => (
            ErrorCode::ChatLimit,
            "too many chat messages this minute",
            "chat_limit",
        ),
    };
    crate::metrics::chat_message(outcome);
    push(
        session,
        ServerMessage::Error {
            code,
            message: message.to_owned(),
        },
    );
}

/// A virtual connection's time is up: both people are told, if it was open.
pub(super) fn on_time_up(state: &mut RequestRegistryState, connection_id: Uuid) {
    let Some((citizen, officer)) = state.chats.end_on_time(connection_id) else {
        return;
    };
    crate::metrics::virtual_connection_ended(ConnectionEndReason::TimeLimit);
    for account_id in [citizen, officer] {
        deliver(
            state,
            account_id,
            ServerMessage::ConnectionEnded {
                connection_id,
                reason: ConnectionEndReason::TimeLimit,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_two_may_write_and_at_most_the_limit_a_minute() {
        let mut chats = VirtualChats::new(3);
        let (citizen, officer, stranger) = (
            AccountId::random(),
            AccountId::random(),
            AccountId::random(),
        );
        let id = Uuid::new_v4();
        assert_eq!(
            chats.relay(id, citizen, 0),
            Err(ChatRefusal::NotConnected),
            "not open yet"
        );
        chats.open(id, citizen, officer);
        assert_eq!(chats.relay(id, stranger, 0), Err(ChatRefusal::NotConnected));
        assert_eq!(chats.relay(id, citizen, 0), Ok(officer));
        assert_eq!(chats.relay(id, officer, 0), Ok(citizen));
        assert_eq!(chats.relay(id, citizen, 10), Ok(officer));
        assert_eq!(chats.relay(id, citizen, 20), Ok(officer));
        assert_eq!(chats.relay(id, citizen, 30), Err(ChatRefusal::Limit));
        assert_eq!(
            chats.relay(id, officer, 30),
            Ok(citizen),
            "the limit is per account"
        );
        assert_eq!(chats.relay(id, citizen, 60_000), Ok(officer), "a minute on");
        assert_eq!(chats.end_by(id, stranger), Err(ChatRefusal::NotConnected));
        assert_eq!(chats.end_by(id, officer), Ok((officer, citizen)));
        assert_eq!(
            chats.relay(id, citizen, 120_000),
            Err(ChatRefusal::NotConnected)
        );
        assert_eq!(chats.end_on_time(id), None, "ended once");
    }

    #[test]
    fn sweeping_forgets_old_times_only() {
        let mut chats = VirtualChats::new(1);
        let (citizen, officer) = (AccountId::random(), AccountId::random());
        let id = Uuid::new_v4();
        chats.open(id, citizen, officer);
        assert_eq!(chats.relay(id, citizen, 0), Ok(officer));
        chats.sweep(59_999);
        assert_eq!(chats.relay(id, citizen, 59_999), Err(ChatRefusal::Limit));
        chats.sweep(60_000);
        assert!(chats.recent.is_empty());
        assert_eq!(chats.relay(id, citizen, 60_000), Ok(officer));
    }
}
