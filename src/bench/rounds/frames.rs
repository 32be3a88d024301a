//! How a pair task reads what the server sends during rounds: which frames move
//! the round in flight forward (the citizen's `pending`, the officer's
//! `connection_requested` answered with `respond`, both `accepted` and both
//! `connection_established`), which end it as failed, and which are failures on
//! their own (stray requests, unknown connections, a lost nearest officer).

use tokio_tungstenite::tungstenite::{Bytes, Message};
use uuid::Uuid;

use super::{AcceptedRound, PairTask, SideOutcome, Who};
use crate::bench::plan::officer_name;
use crate::bench::session::{self, encode, unix_now_us};
use crate::bench::stats::{bump, record};
use crate::domain::connection::RewardWithheld;
use crate::proto::{
    ClientMessage, RequestState, Respond, ServerMessage, WireFormat, decode_server,
};

impl PairTask {
    pub(super) async fn on_frame(
        &mut self,
        from: Who,
        frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> Result<(), String> {
        let bytes = match frame {
            Some(Ok(Message::Binary(bytes))) => bytes,
            Some(Ok(Message::Text(text))) => Bytes::from(text.as_bytes().to_vec()),
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => return Ok(()),
            Some(Ok(Message::Close(close))) => {
                return Err(format!("the server closed the {from:?} socket: {close:?}"));
            }
            Some(Err(error)) => return Err(format!("the {from:?} socket failed: {error}")),
            None => return Err(format!("the {from:?} socket ended")),
        };
        let message = match decode_server(WireFormat::MessagePack, &bytes)
            .or_else(|_| decode_server(WireFormat::Json, &bytes))
        {
            Ok(message) => message,
            Err(error) => {
                self.stray("undecodable", &format!("undecodable frame: {error}"));
                return Ok(());
            }
        };
        match message {
            ServerMessage::RequestUpdate {
                request_id,
                state,
                op_id,
            } => self.on_update(from, request_id, state, op_id),
            ServerMessage::ConnectionRequested { request_id, .. } if from == Who::Officer => {
                self.on_requested(request_id).await?;
            }
            ServerMessage::ConnectionEstablished {
                connection_id,
                points,
                withheld,
                ..
            } => self.on_established(from, connection_id, points, withheld),
            ServerMessage::Error { code, message } => {
                let kind = format!("error:{}", code.as_str());
                self.fail_round_or_count(&kind, &format!("{from:?} got {kind}: {message}"));
            }
            ServerMessage::Nearest { officer } if from == Who::Citizen => match officer {
                Some(view) if *view.display_name == *officer_name(self.pair.index) => {
                    self.pair.handle = view.handle.to_string();
                }
                Some(_) | None => self.stray(
                    "lost_own_officer",
                    "the citizen's nearest is no longer its own officer",
                ),
            },
            ServerMessage::AvailabilityEnded { reason } if from == Who::Officer => {
                self.stray(
                    "availability_ended",
                    &format!("availability ended: {reason:?}"),
                );
            }
            ServerMessage::Points { .. }
            | ServerMessage::Trophy { .. }
            | ServerMessage::Nearby { .. }
            | ServerMessage::Cadence { .. }
            | ServerMessage::Availability { .. }
            | ServerMessage::TokenExpiring { .. }
            | ServerMessage::Reauthenticated { .. }
            | ServerMessage::Pong => {}
            ServerMessage::Welcome { .. }
            | ServerMessage::Chat { .. }
            | ServerMessage::ConnectionEnded { .. }
            | ServerMessage::Nearest { .. }
            | ServerMessage::ConnectionRequested { .. }
            | ServerMessage::AvailabilityEnded { .. }
            | ServerMessage::CitizenBlocked { .. } => self.stray(
                "unexpected_message",
                &format!("the {from:?} got an unexpected {}", message.type_name()),
            ),
        }
        self.complete_if_done();
        Ok(())
    }

    fn on_update(
        &mut self,
        from: Who,
        request_id: Uuid,
        state: RequestState,
        op_id: Option<String>,
    ) {
        let Some(round) = &mut self.in_flight else {
            if !self.known.contains(&request_id) {
                self.stray(
                    "unexpected_update",
                    "request_update with no round in flight",
                );
            }
            return;
        };
        let ours_by_op = op_id.as_deref() == Some(round.op_id.as_str());
        let ours = ours_by_op || round.request_id == Some(request_id);
        if !ours {
            if !self.known.contains(&request_id) {
                self.stray("unexpected_update", "request_update for another request");
            }
            return;
        }
        match state {
            RequestState::Pending => {
                if round.request_id.is_some_and(|named| named != request_id) {
                    self.fail_round(
                        "mismatched_request",
                        "the two sides name different requests",
                    );
                    return;
                }
                round.request_id = Some(request_id);
                self.known.insert(request_id);
            }
            RequestState::Accepted => match from {
                Who::Citizen => round.citizen_accepted = true,
                Who::Officer => round.officer_accepted = true,
            },
            RequestState::Declined
            | RequestState::Expired
            | RequestState::Cancelled
            | RequestState::OfficerBusy
            | RequestState::OfficerUnavailable
            | RequestState::OutOfRange => {
                if round.request_id.is_none() {
                    round.request_id = Some(request_id);
                    self.known.insert(request_id);
                }
                let kind = state.as_str();
                self.fail_round(kind, &format!("the {from:?} was told {kind}"));
            }
        }
    }

    async fn on_requested(&mut self, request_id: Uuid) -> Result<(), String> {
        let answerable = self.in_flight.as_ref().is_some_and(|round| {
            round.respond_written_us.is_none()
                && round.request_id.is_none_or(|named| named == request_id)
        });
        if !answerable {
            self.stray(
                "unexpected_request",
                "connection_requested that is not this round's",
            );
            return Ok(());
        }
        let frame = encode(&ClientMessage::Respond(Respond {
            request_id,
            accept: true,
        }))?;
        self.known.insert(request_id);
        if let Some(round) = &mut self.in_flight {
            round.request_id = Some(request_id);
            round.respond_written_us = Some(unix_now_us());
        }
        session::send(&mut self.pair.officer, frame).await
    }

    fn on_established(
        &mut self,
        from: Who,
        connection_id: Uuid,
        points: i64,
        withheld: Option<RewardWithheld>,
    ) {
        let side = SideOutcome {
            points,
            withheld,
            at_us: unix_now_us(),
        };
        match &mut self.in_flight {
            Some(round) if round.request_id == Some(connection_id) => match from {
                Who::Citizen => round.citizen_side = Some(side),
                Who::Officer => round.officer_side = Some(side),
            },
            // A round given up on was established after all: the credit check
            // counts it (at most once is still required).
            Some(_) | None if self.known.contains(&connection_id) => {}
            Some(_) | None => self.stray(
                "unexpected_connection",
                &format!("connection_established for unknown connection {connection_id}"),
            ),
        }
    }

    /// Ends the round in flight once both sides were told it is established.
    pub(super) fn complete_if_done(&mut self) {
        let done = self
            .in_flight
            .as_ref()
            .is_some_and(|round| round.citizen_side.is_some() && round.officer_side.is_some());
        if !done {
            return;
        }
        let Some(round) = self.in_flight.take() else {
            return;
        };
        let (Some(connection_id), Some(citizen), Some(officer)) =
            (round.request_id, round.citizen_side, round.officer_side)
        else {
            return;
        };
        if !(round.citizen_accepted && round.officer_accepted) {
            self.stray(
                "established_before_accepted",
                "connection_established arrived before request_update{accepted}",
            );
        }
        let last_us = citizen.at_us.max(officer.at_us);
        record(
            &self.context.latencies.handshake_us,
            last_us - round.written_us,
        );
        if let Some(respond_us) = round.respond_written_us {
            record(&self.context.latencies.accept_us, last_us - respond_us);
        }
        self.tally.established_at(last_us);
        for side in [citizen, officer] {
            if let Some(reason) = side.withheld {
                self.tally.withheld(reason.as_str());
                if self.context.expect_rewards {
                    self.stray(
                        &format!("withheld:{}", reason.as_str()),
                        "a reward was withheld though the server rewards every round",
                    );
                }
            }
        }
        bump(&self.context.counters.rounds_established);
        self.accepted.push(AcceptedRound {
            connection_id,
            citizen_points: citizen.points,
            officer_points: officer.points,
        });
    }
}
