//! What nodes say to each other, and how it crosses ractor_cluster: every
//! message is one [`Wire`] value encoded with MessagePack inside a [`WireFrame`]
//! (ractor_cluster moves bytes; serde keeps the shapes in one place). A frame
//! that does not decode is dropped and counted, never fatal. Adding variants is
//! compatible with older nodes (they drop what they do not know); renaming is not.

use std::sync::Arc;

use ractor::BytesConvertable;
use serde::{Deserialize, Serialize};

use crate::domain::AccountId;
use crate::domain::connection::Observed;
use crate::geo::{LatLng, ShardId};
use crate::presence::index::OfficerEntry;
use crate::privacy::ShownPosition;
use crate::proto::ServerMessage;

/// One cluster message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Wire {
    /// "I am alive": sent to every peer each heartbeat interval.
    Heartbeat(NodeStatus),
    /// A session's officer command for a cell of a shard the receiver owns.
    ToShard {
        /// The shard.
        shard: ShardId,
        /// The H3 cell (as its 64-bit index).
        cell: u64,
        /// The command.
        command: OfficerCommand,
    },
    /// From a shard's owner: an officer change every node applies to its map.
    Replica(OfficerReplica),
    /// A push for a session that lives on the receiver.
    Push {
        /// Whose session.
        account_id: AccountId,
        /// What to push.
        message: ServerMessage,
        /// The sending node (where a connection request it concerns lives).
        origin: String,
    },
    /// An officer's answer to a connection request that lives on the receiver.
    Respond {
        /// The request.
        request_id: uuid::Uuid,
        /// The officer.
        officer: AccountId,
        /// Accept or decline.
        accept: bool,
        /// The node of the officer's session.
        home: String,
        /// Where the officer's node last observed the officer: the co-location
        /// rule at accept needs a precise position, and only the officer's own
        /// node has one (absent from older nodes: the rule then finds none).
        #[serde(default)]
        officer_seen: Option<WireObserved>,
    },
    /// A sign-in of the account was revoked (`None`: all of them): the node
    /// holding its socket closes it.
    Revoked {
        /// The account.
        account_id: AccountId,
        /// The revoked sign-in.
        #[serde(default)]
        sign_in: Option<uuid::Uuid>,
    },
    /// An officer's `block` naming a request that lives on the receiver.
    Block {
        /// The request.
        request_id: uuid::Uuid,
        /// The officer.
        officer: AccountId,
        /// The node of the officer's session.
        home: String,
    },
}

/// A server-observed position crossing to the node that decides a connection
/// (memory only there, never stored or logged).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct WireObserved {
    /// Latitude.
    pub(crate) lat: f64,
    /// Longitude.
    pub(crate) lng: f64,
    /// When the officer's node received it (Unix ms).
    pub(crate) at_ms: i64,
}

impl WireObserved {
    /// The wire form of an observed position.
    pub(crate) fn from_observed(observed: Observed) -> Self {
        Self {
            lat: observed.position.lat(),
            lng: observed.position.lng(),
            at_ms: observed.at_ms,
        }
    }

    /// The observed position; `None` for coordinates out of range.
    pub(crate) fn into_observed(self) -> Option<Observed> {
        Some(Observed {
            position: LatLng::new(self.lat, self.lng).ok()?,
            at_ms: self.at_ms,
        })
    }
}

/// A node's heartbeat: who it is, how clients reach it, and its load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct NodeStatus {
    /// Node name (unique in the cluster).
    pub(crate) name: String,
    /// Region label.
    pub(crate) region: String,
    /// `ws(s)://host[:port]` clients use for this node.
    pub(crate) public_url: String,
    /// The node is handing its shards off before it stops.
    pub(crate) draining: bool,
    /// Live sessions on the node.
    pub(crate) sessions: u64,
    /// Shards with live actors on the node.
    pub(crate) shards: u64,
}

/// A session's command for the cell an officer is in (citizens never cross nodes).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum OfficerCommand {
    /// The officer is present and available here.
    Present(WireOfficer),
    /// The officer moved on to another cell.
    Departed {
        /// The officer.
        account_id: AccountId,
    },
    /// The officer is no longer available.
    Gone {
        /// The officer.
        account_id: AccountId,
        /// Presence version of the removal.
        version: u64,
    },
}

/// A change to the map every node keeps of available officers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum OfficerReplica {
    /// The officer is (still) available at this position.
    Upsert(WireOfficer),
    /// The officer is gone.
    Remove {
        /// The officer.
        account_id: AccountId,
        /// Presence version of the removal.
        version: u64,
    },
}

/// An available officer as it crosses nodes; `home` is the node of its session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct WireOfficer {
    /// The officer.
    pub(crate) account_id: AccountId,
    /// Handle citizens see.
    pub(crate) handle: String,
    /// Name citizens see.
    pub(crate) display_name: String,
    /// Latitude of the officer's shown position (its cell's centre): precise
    /// positions never leave the officer's own node.
    pub(crate) lat: f64,
    /// Longitude of the shown position.
    pub(crate) lng: f64,
    /// End of the availability window (Unix ms).
    pub(crate) available_until_ms: i64,
    /// Presence version.
    pub(crate) version: u64,
    /// Node of the officer's session.
    pub(crate) home: String,
}

impl WireOfficer {
    /// The wire form of an index entry whose session lives on `home`.
    pub(crate) fn from_entry<W>(entry: &OfficerEntry<W>, home: &str) -> Self {
        Self {
            account_id: entry.account_id,
            handle: entry.handle.to_string(),
            display_name: entry.display_name.to_string(),
            lat: entry.position.point().lat(),
            lng: entry.position.point().lng(),
            available_until_ms: entry.available_until_ms,
            version: entry.version,
            home: home.to_owned(),
        }
    }

    /// The index entry, with `session` as its session; `None` for coordinates
    /// out of range (a peer bug, dropped). The position is snapped again, so even
    /// a peer that sent a precise fix is only ever shown as a cell centre.
    pub(crate) fn into_entry<W>(self, session: W) -> Option<OfficerEntry<W>> {
        let position = ShownPosition::of(LatLng::new(self.lat, self.lng).ok()?);
        Some(OfficerEntry {
            account_id: self.account_id,
            handle: Arc::from(self.handle),
            display_name: Arc::from(self.display_name),
            position,
            available_until_ms: self.available_until_ms,
            version: self.version,
            session,
        })
    }
}

/// The only message of a node's router (the one network-capable actor): an
/// encoded [`Wire`] value from a peer.
#[derive(Debug, ractor_cluster::RactorClusterMessage)]
pub(crate) enum RouterMsg {
    /// One message.
    Frame(WireFrame),
}

/// Encoded [`Wire`] bytes, the one field of the router's cluster message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WireFrame(pub(crate) Vec<u8>);

impl WireFrame {
    /// Encodes a message.
    pub(crate) fn encode(wire: &Wire) -> Self {
        // Named fields: pushes skip absent optional fields, which a positional
        // encoding could not decode. Encoding plain data into a Vec cannot fail.
        Self(rmp_serde::to_vec_named(wire).unwrap_or_default())
    }

    /// Decodes the message, if it is one this node understands.
    pub(crate) fn decode(&self) -> Result<Wire, rmp_serde::decode::Error> {
        rmp_serde::from_slice(&self.0)
    }
}

impl BytesConvertable for WireFrame {
    fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn officer() -> WireOfficer {
        let shown = ShownPosition::of(LatLng::new(40.7411, -73.9897).unwrap()).point();
        WireOfficer {
            account_id: AccountId(uuid::Uuid::from_u128(7)),
            handle: "o_abc".to_owned(),
            display_name: "Officer Diaz".to_owned(),
            lat: shown.lat(),
            lng: shown.lng(),
            available_until_ms: 1_800_000_000_000,
            version: 42,
            home: "node-b".to_owned(),
        }
    }

    #[test]
    fn every_message_survives_the_wire() {
        let messages = vec![
            Wire::Heartbeat(NodeStatus {
                name: "node-a".to_owned(),
                region: "east".to_owned(),
                public_url: "ws://127.0.0.1:8080".to_owned(),
                draining: false,
                sessions: 12,
                shards: 3,
            }),
            Wire::ToShard {
                shard: ShardId::Zip3(100),
                cell: 0x0882_a107_2bff_ffff,
                command: OfficerCommand::Present(officer()),
            },
            Wire::Replica(OfficerReplica::Remove {
                account_id: AccountId(uuid::Uuid::from_u128(9)),
                version: 77,
            }),
            Wire::Push {
                account_id: AccountId(uuid::Uuid::from_u128(9)),
                message: ServerMessage::Error {
                    code: crate::proto::ErrorCode::UnknownRequest,
                    message: "no such pending request".to_owned(),
                },
                origin: "node-a".to_owned(),
            },
            Wire::Push {
                account_id: AccountId(uuid::Uuid::from_u128(9)),
                // Optional fields left out on the wire still decode.
                message: ServerMessage::RequestUpdate {
                    request_id: uuid::Uuid::from_u128(3),
                    state: crate::proto::RequestState::Accepted,
                    op_id: None,
                },
                origin: "node-a".to_owned(),
            },
            Wire::Respond {
                request_id: uuid::Uuid::from_u128(3),
                officer: AccountId(uuid::Uuid::from_u128(9)),
                accept: true,
                home: "node-b".to_owned(),
                officer_seen: Some(WireObserved {
                    lat: 40.7411,
                    lng: -73.9897,
                    at_ms: 1_800_000_000_000,
                }),
            },
            Wire::Revoked {
                account_id: AccountId(uuid::Uuid::from_u128(9)),
                sign_in: Some(uuid::Uuid::from_u128(4)),
            },
            Wire::Block {
                request_id: uuid::Uuid::from_u128(3),
                officer: AccountId(uuid::Uuid::from_u128(9)),
                home: "node-b".to_owned(),
            },
        ];
        for message in messages {
            let frame = WireFrame::from_bytes(WireFrame::encode(&message).into_bytes());
            let decoded = frame.decode().expect("decodes");
            assert_eq!(format!("{decoded:?}"), format!("{message:?}"));
        }
    }

    #[test]
    fn an_officer_round_trips_through_the_index_entry() {
        let entry = officer().into_entry(()).expect("valid coordinates");
        assert_eq!(WireOfficer::from_entry(&entry, "node-b"), officer());
    }

    #[test]
    fn a_precise_position_from_a_peer_is_shown_as_its_cell_centre() {
        let precise = WireOfficer {
            lat: 40.7411,
            lng: -73.9897,
            ..officer()
        };
        let entry = precise.into_entry(()).expect("valid coordinates");
        assert_eq!(entry.position.point().lat(), officer().lat);
        assert_eq!(entry.position.point().lng(), officer().lng);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(WireFrame(vec![0xc1, 0x00, 0xff]).decode().is_err());
        let out_of_range = WireOfficer {
            lat: 123.0,
            ..officer()
        };
        assert!(out_of_range.into_entry(()).is_none());
    }
}
